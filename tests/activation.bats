#!/usr/bin/env bats
# Socket activation (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES) of jobd by
# each parent it may have: jobinit, systemd-socket-activate, the two
# chained; what jobd does with fds that are not for it or not sockets;
# what its tasks inherit; and the examples under examples/.

bats_require_minimum_version 1.5.0

load helpers

SSA=/usr/bin/systemd-socket-activate

setup() {
	T=$BATS_TEST_TMPDIR
	SOCK=$T/jobd.sock
	LOG=$T/parent.log
	PARENT=
}

# parent_stop: SIGTERM to the parent (jobinit, or jobd exec'd by
# systemd-socket-activate), wait for its exit; $status is its status.
parent_stop() {
	local pid=$PARENT below
	PARENT=
	below=$(descendants "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_until "! alive $pid" 20; then
		kill -KILL "$pid" 2>/dev/null || true
		cat "$LOG" >&2
	fi
	status=0
	wait "$pid" || status=$?
	# shellcheck disable=SC2086
	[ -z "$below" ] || kill -KILL $below 2>/dev/null || true
}

teardown() {
	local rc=0
	[ -z "${PARENT:-}" ] || parent_stop
	jobd_stop || rc=1
	reap_strays
	[ "$rc" -eq 0 ]
}

# background CMD...: start a parent in the background, log in $LOG.
background() {
	"$@" </dev/null >>"$LOG" 2>&1 3>&- &
	PARENT=$!
}

answers() {
	curl -s --max-time 1 --unix-socket "$1" http://localhost/ >/dev/null
}

# jc FILTER: jq -c over the last body.
jc() {
	jq -c "$1" <<<"$body"
}

# info SOCK: GET / through the unix socket, into $body (bounded).
info() {
	body=$(curl -sS --max-time 10 --unix-socket "$1" http://localhost/)
}

need_ssa() {
	[ -x "$SSA" ] || skip "$SSA is not installed (Debian package systemd)"
}

@test "jobinit activates jobd: its sockets, named, inherited, LISTEN_PID = jobd" {
	local port jd flags
	background "$JOBINIT" --listen "unix:$SOCK" --fdname api \
	    --listen tcp:127.0.0.1:0 -- "$JOBD"
	wait_until "answers $SOCK" 10
	port=$(sed -n 's/.*listening on tcp:127\.0\.0\.1:\([0-9]*\) as fd 4.*/\1/p' "$LOG")
	jd=$(pgrep -P "$PARENT")
	info "$SOCK"
	assert_equal "$(jb .pid)" "$jd"
	assert_equal "$(jc "[.listen[] | {address, name, inherited}]")" "$(jq -cn --arg u "unix:$SOCK" \
	    --arg t "tcp:127.0.0.1:$port" '[
	    {address: $u, name: "api", inherited: true},
	    {address: $t, name: "socket", inherited: true}]')"
	run -0 curl -sS --max-time 10 "http://127.0.0.1:$port/"
	assert_equal "$(jq .pid <<<"$output")" "$jd"
	grep -q "jobd: listening on unix:$SOCK (inherited)" "$LOG"
	# jobd sets O_NONBLOCK and FD_CLOEXEC on what it inherited.
	flags=$(awk '$1 == "flags:" { print $2 }' "/proc/$jd/fdinfo/3")
	(( 8#$flags & 04000 )) && (( 8#$flags & 02000000 ))
	parent_stop
	assert_equal "$status" 0
	# jobinit bound it, jobinit removes it.
	[ ! -e "$SOCK" ]
}

@test "systemd-socket-activate activates jobd on the first connection" {
	need_ssa
	background "$SSA" -l "$SOCK" --fdname=api -- "$JOBD"
	wait_until "grep -q 'Listening on' $LOG" 10
	# Until a client comes, nothing but systemd-socket-activate runs.
	[ -S "$SOCK" ]
	comm_is "$PARENT" systemd-socket-
	# The first request waits in the backlog while jobd starts.
	info "$SOCK"
	assert_equal "$(jb .pid)" "$PARENT"
	assert_equal "$(jc "[.listen[] | {address, name, inherited}]")" "$(jq -cn --arg u "unix:$SOCK" \
	    '[{address: $u, name: "api", inherited: true}]')"
	comm_is "$PARENT" jobd
	parent_stop
	assert_equal "$status" 0
	# An inherited socket is not jobd's to remove.
	[ -S "$SOCK" ]
}

@test "systemd-socket-activate -> jobinit -> jobd: inherited and own sockets pass through, LISTEN_PID rewritten" {
	local ji jd jd2 s
	need_ssa
	background "$SSA" -l "$SOCK" --fdname=outer -- \
	    "$JOBINIT" --listen "unix:$T/inner.sock" --fdname inner -- "$JOBD"
	wait_until "grep -q 'Listening on' $LOG" 10
	info "$SOCK"
	ji=$PARENT
	jd=$(pgrep -P "$ji")
	comm_is "$ji" jobinit
	assert_equal "$(jb .pid)" "$jd"
	assert_equal "$(jc "[.listen[] | {address, name, inherited}]")" "$(jq -cn --arg o "unix:$SOCK" \
	    --arg i "unix:$T/inner.sock" '[
	    {address: $o, name: "outer", inherited: true},
	    {address: $i, name: "inner", inherited: true}]')"
	grep -q "jobinit: inherited unix:$SOCK as fd 3 (outer)" "$LOG"
	grep -q "jobinit: listening on unix:$T/inner.sock as fd 4 (inner)" "$LOG"
	# jobd dies: both sockets are still held, both still answer.
	kill -KILL "$jd"
	for s in "$SOCK" "$T/inner.sock"; do
		info "$s"
		jd2=$(jb .pid)
		[ "$jd2" != "$jd" ]
	done
	assert_equal "$(pgrep -P "$ji")" "$jd2"
	parent_stop
	assert_equal "$status" 0
	[ -S "$SOCK" ]
	[ ! -e "$T/inner.sock" ]
}

# jobd_env ENV... -- ARGS...: jobd with that environment and a regular
# file on fd 3, as jobd_start would start it otherwise.
jobd_env() {
	local -a envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	JOBD_LOG=$T/jobd.log
	env "${envs[@]}" "$JOBD" "$@" </dev/null >>"$JOBD_LOG" 2>&1 \
	    3<"$BATS_TEST_FILENAME" &
	JOBD_PID=$!
}

@test "LISTEN_PID of another process: the fds are not jobd's, it serves on --listen" {
	jobd_env LISTEN_PID=1 LISTEN_FDS=1 LISTEN_FDNAMES=x -- \
	    --listen "unix:$SOCK"
	wait_until "answers $SOCK" 10
	info "$SOCK"
	assert_equal "$(jc "[.listen[] | {address, name, inherited}]")" "$(jq -cn --arg u "unix:$SOCK" \
	    '[{address: $u, name: null, inherited: false}]')"
}

@test "LISTEN_PID of another process: without --listen, jobd serves on the default socket" {
	jobd_env LISTEN_PID=1 LISTEN_FDS=1 "JOBD_SOCKET=$T/default.sock" --
	wait_until "answers $T/default.sock" 10
	info "$T/default.sock"
	assert_equal "$(jc '[.listen[].address]')" \
	    "$(jq -cn --arg u "unix:$T/default.sock" '[$u]')"
}

@test "a regular file on fd 3 with LISTEN_PID = jobd: exit 1 with a clear error" {
	run -1 timeout 10 sh -c 'exec env LISTEN_PID=$$ LISTEN_FDS=1 "$0" \
	    --listen "unix:$1"' "$JOBD" "$T/never.sock" 3<"$BATS_TEST_FILENAME"
	assert_line 'jobd: LISTEN_FDS: fd 3 is not a listening stream socket'
	[ ! -e "$T/never.sock" ]
}

# activate_jobd SETUP ARGS...: jobd exec'd by python with LISTEN_PID
# right, after SETUP (python) has arranged fds 3 and 4.
activate_jobd() {
	timeout 10 "$PY" -c '
import os, socket, sys
exec(sys.argv[1])
env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS="2")
os.execve(sys.argv[2], sys.argv[2:], env)' "$@"
}

@test "a socket that does not listen, or a missing fd 4: exit 1 with a clear error" {
	run -1 activate_jobd '
l = socket.socket(socket.AF_UNIX); l.bind(sys.argv[-1][5:]); l.listen()
os.dup2(l.fileno(), 3)
u = socket.socket(); os.dup2(u.fileno(), 4)' "$JOBD" --listen "unix:$T/n.sock"
	assert_line 'jobd: LISTEN_FDS: fd 4 is not a listening stream socket'
	run -1 activate_jobd '
l = socket.socket(socket.AF_UNIX); l.bind(sys.argv[-1][5:]); l.listen()
os.dup2(l.fileno(), 3)
os.closerange(4, 5)' "$JOBD" --listen "unix:$T/m.sock"
	assert_line 'jobd: LISTEN_FDS: fd 4: Bad file descriptor'
}

# fds_of PID: "FD TARGET" per open fd of PID, by number.
fds_of() {
	local f
	for f in /proc/"$1"/fd/*; do
		echo "${f##*/} $(readlink "$f")"
	done | sort -n
}

@test "a task of jobd under jobinit has no fd of jobinit's or jobd's, no LISTEN_*" {
	local pid
	background "$JOBINIT" --listen "unix:$SOCK" --listen tcp:127.0.0.1:0 \
	    -- "$JOBD"
	wait_until "answers $SOCK" 10
	put fds "$(sh_job "echo \$\$ > $T/pid; exec sleep 60")"
	assert_equal "$code" 201
	wait_until "[ -s $T/pid ]"
	pid=$(cat "$T/pid")
	run -0 fds_of "$pid"
	assert_output "$(printf '%s /dev/null\n' 0 1 2)"
	run -1 grep '^LISTEN_' <(tr '\0' '\n' <"/proc/$pid/environ")
	refute_output
	http DELETE /job/fds
	assert_equal "$code" 202
}

@test "jobd activates its own tasks the same way: LISTEN_PID = the task" {
	local j pid
	background "$JOBINIT" --listen "unix:$SOCK" -- "$JOBD"
	wait_until "answers $SOCK" 10
	j=$(task /bin/sh -c "echo \$\$ > $T/pid; exec sleep 60")
	j=$(jq -c --arg p "$T/task.sock" '.fd = [{type: "null"},
	    {type: "null"}, {type: "null"},
	    {type: "unix socket", path: $p, name: "web"}]' <<<"$j")
	put act "$(job "$j")"
	assert_equal "$code" 201
	wait_until "[ -s $T/pid ]"
	pid=$(cat "$T/pid")
	run -0 grep '^LISTEN_' <(tr '\0' '\n' <"/proc/$pid/environ" | sort)
	assert_output "$(printf '%s\n' LISTEN_FDNAMES=web LISTEN_FDS=1 \
	    "LISTEN_PID=$pid")"
	run -0 fds_of "$pid"
	assert_line --index 2 '2 /dev/null'
	assert_line --index 3 --regexp '^3 socket:\[[0-9]+\]$'
	assert_equal "${#lines[@]}" 4
	http DELETE /job/act
	assert_equal "$code" 202
}

# --- the examples ---------------------------------------------------------

@test "examples: the systemd unit pair passes systemd-analyze verify" {
	command -v systemd-analyze >/dev/null ||
	    skip "systemd-analyze is not installed"
	# verify needs no running systemd, but does check that ExecStart
	# exists: point it at the jobd just built, in a copy.
	cp "$SRCDIR/examples/systemd/jobd.socket" "$T/"
	sed "s|^ExecStart=/usr/local/sbin/jobd|ExecStart=$JOBD|" \
	    "$SRCDIR/examples/systemd/jobd.service" >"$T/jobd.service"
	grep -q "^ExecStart=$JOBD\$" "$T/jobd.service"
	# Its unknown keys and bad values are warnings, not errors: the
	# test is silence as much as the status.
	run -0 timeout 60 systemd-analyze verify --man=no \
	    "$T/jobd.socket" "$T/jobd.service"
	refute_output
	# And it does catch a mistake.
	sed 's/^KillMode=.*/KillMode=bogus/' "$T/jobd.service" >"$T/bad.service"
	run timeout 60 systemd-analyze verify --man=no "$T/bad.service"
	assert_output --partial 'kill mode'
}

@test "examples: the jobd.socket pair does what systemd would: systemd-socket-activate with its settings" {
	local listen name
	need_ssa
	listen=$(sed -n 's/^ListenStream=//p' "$SRCDIR/examples/systemd/jobd.socket")
	name=$(sed -n 's/^FileDescriptorName=//p' "$SRCDIR/examples/systemd/jobd.socket")
	assert_equal "$listen" /run/jobd.sock
	background "$SSA" -l "$SOCK" --fdname="$name" -- "$JOBD"
	wait_until "[ -S $SOCK ]" 10
	info "$SOCK"
	assert_equal "$(jb '.listen[0].name')" "$name"
	parent_stop
	assert_equal "$status" 0
}

@test "examples: the shell scripts parse (sh -n, shellcheck if present)" {
	local f
	for f in "$SRCDIR/examples/s6/jobd/run" \
	    "$SRCDIR/examples/per-user/put-user-jobd" \
	    "$SRCDIR/bench/jobinit-restart"; do
		sh -n "$f"
		[ -x "$f" ]
		if command -v shellcheck >/dev/null; then
			shellcheck "$f"
		fi
	done
}

@test "examples: the JSON parses (jq -e)" {
	local f
	for f in "$SRCDIR"/examples/per-user/*.json; do
		jq -e . "$f" >/dev/null
	done
	jq -e '.tasks[0].user == 1000 and
	    .tasks[0].args == ["--listen", "unix:/run/user/1000/jobd.sock"]' \
	    "$SRCDIR/examples/per-user/jobd-user.json"
}

@test "examples: the s6 run script starts jobinit and jobd, stops on SIGTERM" {
	sed -e "s|/run/jobd.sock|$SOCK|" -e "s|^PATH=|PATH=$BUILDDIR/src:|" \
	    "$SRCDIR/examples/s6/jobd/run" >"$T/run"
	grep -q "^PATH=$BUILDDIR/src:" "$T/run"
	background sh "$T/run"
	wait_until "answers $SOCK" 10
	comm_is "$PARENT" jobinit
	parent_stop
	assert_equal "$status" 0
}

@test "examples: the Dockerfile ENTRYPOINT is exec form and runs as written" {
	local -a cmd
	run -0 sed -n 's/^ENTRYPOINT //p' "$SRCDIR/examples/Dockerfile"
	jq -e '. == ["jobinit", "--listen", "unix:/run/jobd.sock", "--", "jobd"]' \
	    <<<"$output"
	mapfile -t cmd < <(jq -r --arg s "unix:$SOCK" \
	    '.[] | if . == "unix:/run/jobd.sock" then $s else . end' <<<"$output")
	run -0 sed -n 's/^CMD //p' "$SRCDIR/examples/Dockerfile"
	jq -e 'type == "array"' <<<"$output"
	background env "PATH=$BUILDDIR/src:$PATH" "${cmd[@]}"
	wait_until "answers $SOCK" 10
	info "$SOCK"
	assert_equal "$(jb '.listen[0].inherited')" true
	parent_stop
	assert_equal "$status" 0
}

@test "examples: put-user-jobd runs a jobd of the user's own under the root jobd" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run a jobd as another user"
	getent passwd 65534 >/dev/null || skip "no user 65534 (nobody)"
	# nobody must be able to reach its directory under ours.
	chmod 0711 "$BATS_RUN_TMPDIR" "$BATS_RUN_TMPDIR/test" "$T"
	jobd_start
	run -0 env "JOBD_SOCKET=$SOCK" "JOBD=$JOBD" "USER_RUNTIME=$T/user" \
	    "$SRCDIR/examples/per-user/put-user-jobd" 65534
	assert_equal "$(jq -r .name <<<"$output")" 'jobd@65534'
	wait_until "answers $T/user/jobd.sock" 10
	info "$T/user/jobd.sock"
	assert_equal "$(jb .uid)" 65534
	assert_equal "$(stat -c '%u %a' "$T/user")" '65534 700'
	assert_equal "$(stat -c %u "$T/user/jobd.sock")" 65534
	run -2 "$SRCDIR/examples/per-user/put-user-jobd" nobody
	assert_output --partial 'not a numeric uid'
	http DELETE '/job/jobd@65534'
	wait_until "[ ! -e $T/user/jobd.sock ]" 10
}
