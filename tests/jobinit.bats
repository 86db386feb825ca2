#!/usr/bin/env bats
# jobinit: options, exit statuses, signal forwarding, restarts and their
# backoff, the sockets it passes, zombie reaping (as subreaper and as a
# real pid 1), and jobd kept reachable across a crash.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	SOCK=$T/jobd.sock
	JI_LOG=$T/jobinit.log
	JI_PID=
	NS_PID=
}

# stop_tree PID: SIGTERM to PID, SIGKILL to it after 10 s, then SIGKILL
# to whatever was below it and outlived it.
stop_tree() {
	local pid=$1 below
	below=$(descendants "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	wait_until "! alive $pid" 10 || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	# shellcheck disable=SC2086
	[ -z "$below" ] || kill -KILL $below 2>/dev/null || true
}

teardown() {
	[ -z "${JI_PID:-}" ] || stop_tree "$JI_PID"
	[ -z "${NS_PID:-}" ] || stop_tree "$NS_PID"
	reap_strays
}

# jobinit_start ARGS...: jobinit in the background, its log in $JI_LOG.
jobinit_start() {
	"$JOBINIT" "$@" </dev/null >>"$JI_LOG" 2>&1 3>&- &
	JI_PID=$!
}

# jobinit_wait [SECONDS]: until jobinit exits; its status in $status.
jobinit_wait() {
	if ! wait_until "! alive $JI_PID" "${1:-10}"; then
		cat "$JI_LOG" >&2
		fail "jobinit did not exit"
	fi
	status=0
	wait "$JI_PID" || status=$?
	JI_PID=
}

# answers SOCK: jobd answers GET / on the unix socket.
answers() {
	curl -s --max-time 1 --unix-socket "$1" http://localhost/ >/dev/null
}

starts() {
	grep -c ': started ' "$JI_LOG" || true
}

ppid() {
	awk '$1 == "PPid:" { print $2 }' "/proc/$1/status" 2>/dev/null
}

# zombies PID: how many zombie children PID has.
zombies() {
	ps --ppid "$1" -o stat= | grep -c '^Z' || true
}

# children PID: how many children PID has, zombies included.
children() {
	ps --ppid "$1" -o pid= | wc -l
}

# A script that double-forks 50 orphans of orphans (each ends 1 s
# later), writes $T/forked, then stays.
orphans_script() {
	printf '%s' "for i in \$(seq 50); do
		sh -c 'sh -c \"sleep 1 & exit 0\" & exit 0'
	done
	echo \$PPID > $T/forked
	exec sleep 60"
}

@test "--help and --version" {
	run -0 "$JOBINIT" --help
	assert_line --partial 'usage: jobinit [options] [--] PROGRAM'
	assert_line --partial '--listen ADDR'
	run -0 "$JOBINIT" -V
	assert_output --regexp '^jobinit [0-9]+\.[0-9]+'
	run -0 "$JOBINIT" --version
	assert_output --regexp '^jobinit [0-9]+\.[0-9]+'
}

@test "usage errors exit 2 with the reason on one line" {
	local bad
	run -2 "$JOBINIT"
	assert_line --index 0 'jobinit: no program to run'
	run -2 "$JOBINIT" --once
	assert_line --index 0 'jobinit: no program to run'
	run -2 "$JOBINIT" --bogus -- true
	assert_line --index 0 --partial "unrecognized option '--bogus'"
	run -2 "$JOBINIT" --listen nowhere -- true
	assert_line --index 0 --partial 'jobinit: nowhere: address must start with'
	run -2 "$JOBINIT" --listen unix:relative -- true
	assert_line --index 0 --partial 'must be absolute'
	run -2 "$JOBINIT" --listen tcp:127.0.0.1:99999 -- true
	assert_line --index 0 --partial 'bad port'
	run -2 "$JOBINIT" --listen tcp:0.0.0.0:0 -- true
	assert_line --index 0 --partial 'is not a loopback address'
	run -2 "$JOBINIT" --listen "tcp:[::]:0" -- true
	assert_line --index 0 --partial 'is not a loopback address'
	run -2 "$JOBINIT" --listen "unix:$T/s" --fdname a --fdname b -- true
	assert_line --index 0 'jobinit: 2 --fdname for 1 --listen'
	for bad in 'a:b' '' 'with space' jobinit "$(printf 'x%.0s' $(seq 256))"; do
		run -2 "$JOBINIT" --listen "unix:$T/s" --fdname "$bad" -- true
		assert_line --index 0 --partial 'jobinit: --fdname:'
	done
	for bad in 8 0778 1000 -1 '' abc; do
		run -2 "$JOBINIT" --socket-mode "$bad" -- true
		assert_line --index 0 --partial 'jobinit: --socket-mode:'
	done
	run -2 "$JOBINIT" --listen
	assert_line --index 0 --partial 'requires an argument'
	# Nothing was bound on the way out.
	[ ! -e "$T/s" ]
}

@test "--allow-remote lets a non-loopback address through" {
	run -0 timeout 10 "$JOBINIT" --allow-remote --listen tcp:0.0.0.0:0 \
	    --once -- sh -c 'test "$LISTEN_FDS" = 2'
	assert_line --regexp '^jobinit: listening on tcp:0\.0\.0\.0:[0-9]+ as fd 3'
}

@test "options stop at the program, with or without --" {
	run -0 timeout 10 "$JOBINIT" --once sh -c \
	    'printf "<%s>" "$@" > "$0"' "$T/args" --once --listen x -- y
	assert_equal "$(cat "$T/args")" '<--once><--listen><x><--><y>'
	run -0 timeout 10 "$JOBINIT" --once -- sh -c \
	    'printf "<%s>" "$@" > "$0"' "$T/args" -h --version
	assert_equal "$(cat "$T/args")" '<-h><--version>'
}

@test "exit status: the child's own code (--once)" {
	local c
	for c in 0 1 7 255; do
		run -"$c" timeout 10 "$JOBINIT" --once -- sh -c "exit $c"
		assert_line "jobinit: exiting with status $c"
	done
}

@test "exit status: 128 + the signal that killed the child (--once)" {
	run -143 timeout 10 "$JOBINIT" --once -- sh -c 'kill -TERM $$'
	assert_line --partial 'killed by signal 15'
	run -137 timeout 10 "$JOBINIT" --once -- sh -c 'kill -KILL $$'
	assert_line --partial 'killed by signal 9'
}

@test "exit status: 127 for a program not found, 126 for one not executable, never restarted" {
	run -127 timeout 10 "$JOBINIT" -- "$T/missing"
	assert_line --index 0 "jobinit: cannot find $T/missing: No such file or directory"
	refute_line --partial 'restarting'
	run -127 timeout 10 "$JOBINIT" -- no-such-program-anywhere
	assert_line --index 0 --partial 'cannot find no-such-program-anywhere'
	touch "$T/plain"
	run -126 timeout 10 "$JOBINIT" -- "$T/plain"
	assert_line --index 0 "jobinit: cannot execute $T/plain: Permission denied"
	refute_line --partial 'restarting'
	run -126 timeout 10 "$JOBINIT" --once -- "$T"
	assert_line --index 0 --partial "cannot execute $T:"
	# No socket file is left behind either.
	run -127 timeout 10 "$JOBINIT" --listen "unix:$T/s" -- "$T/missing"
	[ ! -e "$T/s" ]
}

@test "TERM is forwarded; jobinit exits with the child's status" {
	jobinit_start -- sh -c "echo \$\$ > $T/pid; exec sleep 60"
	wait_until "[ -s $T/pid ]"
	kill -TERM "$JI_PID"
	jobinit_wait
	assert_equal "$status" 143
	! alive "$(cat "$T/pid")"
	assert_equal "$(starts)" 1
	grep -q "forwarding signal 15 (Terminated) to pid $(cat "$T/pid")" \
	    "$JI_LOG"
}

@test "HUP, QUIT, USR1, USR2 and then TERM reach the child; exit with its status" {
	local s
	jobinit_start -- sh -c "
		for s in HUP QUIT USR1 USR2; do
			trap \"echo \$s >> $T/sigs\" \$s
		done
		trap 'echo TERM >> $T/sigs; exit 3' TERM
		echo \$\$ > $T/pid
		while :; do sleep 0.05; done"
	wait_until "[ -s $T/pid ]"
	for s in HUP QUIT USR1 USR2; do
		kill -"$s" "$JI_PID"
		wait_until "grep -qx $s $T/sigs" 5
	done
	alive "$JI_PID"
	kill -TERM "$JI_PID"
	jobinit_wait
	assert_equal "$status" 3
	assert_equal "$(cat "$T/sigs")" "$(printf 'HUP\nQUIT\nUSR1\nUSR2\nTERM')"
	assert_equal "$(starts)" 1
}

@test "INT is forwarded; jobinit exits with the child's status" {
	jobinit_start -- sh -c "
		trap 'echo INT >> $T/sigs; exit 4' INT
		echo \$\$ > $T/pid
		while :; do sleep 0.05; done"
	wait_until "[ -s $T/pid ]"
	kill -INT "$JI_PID"
	jobinit_wait
	assert_equal "$status" 4
	assert_equal "$(cat "$T/sigs")" INT
}

@test "the child runs in its own session and process group" {
	local pid pgid sid
	run -0 timeout 10 "$JOBINIT" --once -- sh -c \
	    "ps -o pid=,pgid=,sid= -p \$\$ > $T/ids"
	read -r pid pgid sid <"$T/ids"
	assert_equal "$pgid" "$pid"
	assert_equal "$sid" "$pid"
}

@test "--once: no restart, the child's status" {
	run -5 timeout 10 "$JOBINIT" --once -- sh -c "echo x >> $T/runs; exit 5"
	assert_equal "$(wc -l <"$T/runs")" 1
	refute_line --partial restarting
}

@test "a child that fails is started again with the same socket, at once the first time" {
	jobinit_start --listen "unix:$T/s" -- sh -c "
		echo \$\$ \$LISTEN_PID \$(readlink /proc/\$\$/fd/3) >> $T/runs
		[ \$(wc -l < $T/runs) -ge 3 ] && exec sleep 60
		exit 1"
	wait_until "[ \$(wc -l < $T/runs) -ge 3 ]"
	run -0 awk '$1 != $2 { print "LISTEN_PID " $2 " for pid " $1 }' \
	    "$T/runs"
	refute_output
	assert_equal "$(awk '{ print $1 }' "$T/runs" | sort -u | wc -l)" 3
	assert_equal "$(awk '{ print $3 }' "$T/runs" | sort -u | wc -l)" 1
	assert_regex "$(head -1 "$T/runs")" ' socket:\[[0-9]+\]$'
	run -0 grep -o 'restarting .*' "$JI_LOG"
	assert_output "$(printf '%s\n' 'restarting at once' \
	    'restarting in 100 ms')"
}

@test "a child that exits 0 is not restarted: jobinit exits 0" {
	run -0 timeout 10 "$JOBINIT" -- sh -c "echo x >> $T/runs; exit 0"
	assert_equal "$(wc -l <"$T/runs")" 1
	assert_line 'jobinit: not restarting a program that exited 0'
	refute_line --regexp 'restarting (at|in)'
	# Nor after a failure: the clean stop ends it.
	run -0 timeout 10 "$JOBINIT" -- sh -c "echo x >> $T/runs2
		[ \$(wc -l < $T/runs2) -ge 2 ] && exit 0; kill -KILL \$\$"
	assert_equal "$(wc -l <"$T/runs2")" 2
	assert_line 'jobinit: restarting at once'
}

@test "restart backoff: at once, then 100 ms doubling while the child dies young, reset after a second" {
	local -a d
	# Starts 1-5 die at once, 6 lives 1.3 s, 7 dies at once, 8 stays.
	jobinit_start -- sh -c "
		n=\$(( \$(cat $T/n 2>/dev/null || echo 0) + 1 ))
		echo \$n > $T/n
		echo start \$(date +%s%3N) >> $T/times
		[ \$n -eq 6 ] && sleep 1.3
		[ \$n -ge 8 ] && exec sleep 60
		echo end \$(date +%s%3N) >> $T/times
		exit 1"
	wait_until "[ \"\$(cat $T/n 2>/dev/null)\" = 8 ]" 20
	run -0 grep -o 'restarting .*' "$JI_LOG"
	assert_output "$(printf '%s\n' 'restarting at once' \
	    'restarting in 100 ms' 'restarting in 200 ms' \
	    'restarting in 400 ms' 'restarting in 800 ms' \
	    'restarting at once' 'restarting in 100 ms')"
	# The delays measured by the children: end of one to start of next.
	mapfile -t d < <(awk '$1 == "end" { e = $2 }
	    $1 == "start" && e { print $2 - e; e = 0 }' "$T/times")
	echo "delays: ${d[*]}" >&2
	assert_equal "${#d[@]}" 7
	[ "${d[1]}" -ge 95 ]
	[ "${d[2]}" -ge 195 ] && [ "${d[2]}" -gt "${d[1]}" ]
	[ "${d[3]}" -ge 395 ] && [ "${d[3]}" -gt "${d[2]}" ]
	[ "${d[4]}" -ge 795 ] && [ "${d[4]}" -gt "${d[3]}" ]
	[ "${d[6]}" -ge 95 ]
}

@test "TERM while waiting to restart: exit at once with the last child's status" {
	jobinit_start -- sh -c "echo x >> $T/runs; exit 6"
	wait_until "grep -q 'restarting in 1600 ms' $JI_LOG" 10
	kill -TERM "$JI_PID"
	jobinit_wait 1
	assert_equal "$status" 6
	assert_equal "$(wc -l <"$T/runs")" 6
	grep -q 'while waiting to restart: exiting with status 6' "$JI_LOG"
}

@test "HUP while waiting to restart is noted, not fatal" {
	jobinit_start -- sh -c "echo x >> $T/runs; exit 6"
	wait_until "grep -q 'restarting in 800 ms' $JI_LOG" 10
	kill -HUP "$JI_PID"
	wait_until "grep -q 'no child to forward it to' $JI_LOG" 5
	wait_until "grep -q 'restarting in 1600 ms' $JI_LOG" 10
	alive "$JI_PID"
}

# fds_of PID: "FD TARGET" per open fd of PID, by number.
fds_of() {
	local f
	for f in /proc/"$1"/fd/*; do
		echo "${f##*/} $(readlink "$f")"
	done | sort -n
}

# listen_env PID: the LISTEN_* variables PID was started with.
listen_env() {
	tr '\0' '\n' <"/proc/$1/environ" | grep '^LISTEN_' | sort || true
}

@test "sockets: fds 3.. with LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID = the child; nothing else open" {
	local port pid
	# fd 5 is open in jobinit: it must not reach the child.
	jobinit_start --listen "unix:$T/a.sock" --listen tcp:127.0.0.1:0 \
	    --fdname web -- sh -c "$PY -c '
import os, socket
for fd in (3, 4):
    s = socket.socket(fileno=fd)
    print(fd, s.family.name, s.getsockopt(socket.SOL_SOCKET,
          socket.SO_ACCEPTCONN), s.getsockname(), os.get_blocking(fd))
    s.detach()
' > $T/socks
		echo \$\$ > $T/pid
		exec sleep 60" 5<"$BATS_TEST_FILENAME"
	wait_until "[ -s $T/pid ]"
	pid=$(cat "$T/pid")
	port=$(sed -n 's/.*listening on tcp:127\.0\.0\.1:\([0-9]*\) as fd 4 (socket)$/\1/p' "$JI_LOG")
	[ -n "$port" ]
	grep -qx "jobinit: listening on unix:$T/a.sock as fd 3 (web)" "$JI_LOG"
	assert_equal "$(listen_env "$pid")" "$(printf '%s\n' \
	    LISTEN_FDNAMES=web:socket:jobinit LISTEN_FDS=3 "LISTEN_PID=$pid")"
	run -0 fds_of "$pid"
	assert_equal "${#lines[@]}" 6
	assert_line --index 0 '0 /dev/null'
	assert_line --index 1 "1 $JI_LOG"
	assert_line --index 2 "2 $JI_LOG"
	assert_line --index 3 --regexp '^3 socket:'
	assert_line --index 4 --regexp '^4 socket:'
	assert_line --index 5 --regexp '^5 socket:'
	assert_equal "$(sed -n 1p "$T/socks")" "3 AF_UNIX 1 $T/a.sock True"
	assert_equal "$(sed -n 2p "$T/socks")" "4 AF_INET 1 ('127.0.0.1', $port) True"
}

@test "no sockets: only the channel for the child, stale LISTEN_* not passed on" {
	local pid
	env LISTEN_PID=1 LISTEN_FDS=1 LISTEN_FDNAMES=x "$JOBINIT" -- \
	    sh -c "echo \$\$ > $T/pid; exec sleep 60" \
	    </dev/null >>"$JI_LOG" 2>&1 3<"$BATS_TEST_FILENAME" &
	JI_PID=$!
	wait_until "[ -s $T/pid ]"
	pid=$(cat "$T/pid")
	assert_equal "$(listen_env "$pid")" "$(printf '%s\n' \
	    LISTEN_FDNAMES=jobinit LISTEN_FDS=1 "LISTEN_PID=$pid")"
	run -0 fds_of "$pid"
	assert_equal "${#lines[@]}" 4
	assert_line --index 3 --regexp '^3 socket:'
	refute_line --regexp '^4 '
}

@test "sockets with stdin closed: fds 3.., the child's stdin is /dev/null" {
	local pid flags
	"$JOBINIT" --listen "unix:$T/s" -- sh -c "echo \$\$ > $T/pid
	    exec sleep 60" <&- >>"$JI_LOG" 2>&1 3>&- &
	JI_PID=$!
	wait_until "[ -s $T/pid ]"
	pid=$(cat "$T/pid")
	run -0 fds_of "$pid"
	assert_equal "${#lines[@]}" 5
	assert_line --index 0 '0 /dev/null'
	assert_line --index 3 --regexp '^3 socket:'
	assert_line --index 4 --regexp '^4 socket:'
	assert_equal "$(listen_env "$pid" | grep FDS)" LISTEN_FDS=2
	# jobinit opened that /dev/null itself (read-write; bash would not).
	flags=$(awk '$1 == "flags:" { print $2 }' "/proc/$JI_PID/fdinfo/0")
	assert_equal "$(( 8#$flags & 3 ))" 2
}

@test "unix sockets: mode 0600 or --socket-mode, unlinked at exit" {
	run -0 timeout 10 "$JOBINIT" --listen "unix:$T/a" --once -- \
	    stat -c %a "$T/a"
	assert_line 600
	[ ! -e "$T/a" ]
	run -0 timeout 10 "$JOBINIT" --listen "$T/b" --socket-mode 0660 \
	    --once -- stat -c %a "$T/b"
	assert_line 660
	[ ! -e "$T/b" ]
}

@test "unix sockets: a stale one is replaced, a live one refused" {
	$PY -c "import socket; socket.socket(socket.AF_UNIX).bind('$T/s')"
	[ -S "$T/s" ]
	run -0 timeout 10 "$JOBINIT" --listen "unix:$T/s" --once -- true
	jobinit_start --listen "unix:$T/s" -- sleep 60
	wait_until "grep -q 'started sleep' $JI_LOG"
	run -1 timeout 10 "$JOBINIT" --listen "unix:$T/s" --once -- true
	assert_line --index 0 "jobinit: $T/s: a running server is listening on it"
	refute_line --partial started
	# The refused one did not unlink the live one's socket.
	[ -S "$T/s" ]
	touch "$T/f"
	run -1 timeout 10 "$JOBINIT" --listen "unix:$T/f" --once -- true
	assert_line --index 0 "jobinit: $T/f: exists and is not a socket"
}

@test "zombies: 50 orphans of orphans reaped at once by jobinit as subreaper" {
	local n
	jobinit_start -- sh -c "$(orphans_script)"
	wait_until "[ -s $T/forked ]" 20
	# The orphans are jobinit's now (some still running).
	n=$(children "$JI_PID")
	echo "children of jobinit after the forks: $n" >&2
	[ "$n" -gt 1 ]
	# They end 1 s after they were forked: within another second, every
	# one is reaped, none left a zombie.
	wait_until "[ \$(children $JI_PID) -eq 1 ]" 3
	assert_equal "$(zombies "$JI_PID")" 0
	assert_equal "$(starts)" 1
}

ns_ok() {
	unshare --pid --fork --mount-proc true 2>/dev/null
}

@test "zombies: jobinit as pid 1 of a PID namespace reaps 50 orphans of orphans" {
	local ji n
	ns_ok || skip "cannot create a PID namespace here (unshare --pid needs root or user namespaces)"
	unshare --pid --fork --mount-proc --kill-child "$JOBINIT" -- \
	    sh -c "$(orphans_script)" </dev/null >>"$JI_LOG" 2>&1 3>&- &
	NS_PID=$!
	wait_until "[ -s $T/forked ]" 20
	# The child's parent is pid 1 of the namespace: jobinit.
	assert_equal "$(cat "$T/forked")" 1
	ji=$(pgrep -P "$NS_PID")
	comm_is "$ji" jobinit
	n=$(children "$ji")
	echo "children of jobinit after the forks: $n" >&2
	[ "$n" -gt 1 ]
	wait_until "[ \$(children $ji) -eq 1 ]" 3
	assert_equal "$(zombies "$ji")" 0
	grep -q 'started sh (pid 2)' "$JI_LOG"
	# SIGTERM from outside reaches pid 1 and is forwarded.
	kill -TERM "$ji"
	wait_until "! alive $NS_PID" 10
	status=0
	wait "$NS_PID" || status=$?
	NS_PID=
	assert_equal "$status" 143
}

@test "zombies: a jobd job's 50 orphans under jobinit as pid 1; none left under jobd or jobinit" {
	local ji jd
	ns_ok || skip "cannot create a PID namespace here (unshare --pid needs root or user namespaces)"
	unshare --pid --fork --mount-proc --kill-child "$JOBINIT" \
	    --listen "unix:$SOCK" -- "$JOBD" </dev/null >>"$JI_LOG" 2>&1 3>&- &
	NS_PID=$!
	wait_until "answers $SOCK" 10
	ji=$(pgrep -P "$NS_PID")
	jd=$(pgrep -P "$ji")
	put orphans "$(job "$(task /bin/sh -c "$(orphans_script)")")"
	assert_equal "$code" 201
	wait_until "[ -s $T/forked ]" 20
	wait_until "[ \$(children $jd) -eq 1 ]" 3
	assert_equal "$(zombies "$jd")" 0
	assert_equal "$(children "$ji")" 1
	assert_equal "$(zombies "$ji")" 0
	http DELETE /job/orphans
}

@test "a task orphaned by a kill -9 of jobd is reaped by jobinit" {
	local jd task
	jobinit_start --listen "unix:$SOCK" -- "$JOBD"
	wait_until "answers $SOCK" 10
	jd=$(pgrep -P "$JI_PID")
	put lone "$(sh_job "echo \$\$ > $T/task; sleep 1; exit 0")"
	assert_equal "$code" 201
	wait_until "[ -s $T/task ]"
	task=$(cat "$T/task")
	kill -KILL "$jd"
	wait_until "[ \$(ppid $task) = $JI_PID ]" 5
	# jobd comes back; the task ends and is reaped, not left a zombie.
	wait_until "answers $SOCK" 10
	wait_until "[ ! -e /proc/$task ]" 3
	assert_equal "$(zombies "$JI_PID")" 0
}

# requests SOCKURL N K PID: N sequential GET / (each bounded), the jobd
# of PID killed with -9 just before request K; every request must be
# answered.
requests_across_kill() {
	local n=$1 k=$2 victim=$3 i rc refused=0 failed=0 answered=0
	shift 3
	: >"$T/pids"
	for i in $(seq "$n"); do
		[ "$i" -eq "$k" ] && kill -KILL "$victim"
		rc=0
		curl -sS --max-time 10 "$@" -o "$T/out" || rc=$?
		case $rc in
		0)	answered=$((answered + 1))
			jq -r .pid "$T/out" >>"$T/pids" ;;
		7)	refused=$((refused + 1)) ;;
		*)	failed=$((failed + 1)) ;;
		esac
	done
	echo "answered $answered, refused $refused, failed $failed" >&2
	assert_equal "$refused" 0
	assert_equal "$failed" 0
	assert_equal "$answered" "$n"
	# Served by the first jobd, then by another one.
	assert_equal "$(head -1 "$T/pids")" "$victim"
	[ "$(tail -1 "$T/pids")" != "$victim" ]
	assert_equal "$(sort -u "$T/pids" | wc -l)" 2
}

@test "jobd under jobinit: 200 requests across a kill -9 of jobd, none refused (unix)" {
	local jd
	jobinit_start --listen "unix:$SOCK" -- "$JOBD"
	wait_until "answers $SOCK" 10
	jd=$(pgrep -P "$JI_PID")
	requests_across_kill 200 100 "$jd" --unix-socket "$SOCK" http://localhost/
	grep -q "pid $jd killed by signal 9" "$JI_LOG"
	assert_equal "$(starts)" 2
}

@test "jobd under jobinit: 200 requests across a kill -9 of jobd, none refused (tcp)" {
	local jd port
	jobinit_start --listen tcp:127.0.0.1:0 -- "$JOBD"
	wait_until "grep -q 'as fd 3' $JI_LOG" 10
	port=$(sed -n 's/.*listening on tcp:127\.0\.0\.1:\([0-9]*\) as fd 3.*/\1/p' "$JI_LOG")
	wait_until "curl -s --max-time 1 http://127.0.0.1:$port/ >/dev/null" 10
	jd=$(pgrep -P "$JI_PID")
	requests_across_kill 200 100 "$jd" "http://127.0.0.1:$port/"
}

@test "valgrind: no error and no leak through sockets, a restart and a forwarded TERM" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	if ldd "$JOBINIT" | grep -q libasan; then
		skip "jobinit is built with AddressSanitizer, which checks it already"
	fi
	"$JOBINIT" --version >/dev/null
	valgrind -q --error-exitcode=9 --leak-check=full "$JOBINIT" \
	    --listen "unix:$T/a" --listen tcp:127.0.0.1:0 --fdname a \
	    -- sh -c "echo x >> $T/runs
		[ \$(wc -l < $T/runs) -ge 2 ] && exec sleep 60
		exit 1" </dev/null >>"$JI_LOG" 2>&1 3>&- &
	JI_PID=$!
	wait_until "[ \$(wc -l < $T/runs 2>/dev/null || echo 0) -ge 2 ]" 30
	kill -TERM "$JI_PID"
	jobinit_wait 30
	cat "$JI_LOG" >&2
	assert_equal "$status" 143
	run -127 valgrind -q --error-exitcode=9 --leak-check=full "$JOBINIT" \
	    --listen "unix:$T/b" -- "$T/missing"
	run -2 valgrind -q --error-exitcode=9 --leak-check=full "$JOBINIT" \
	    --listen "unix:$T/b" --fdname a --fdname b -- true
}

# A child in Python that records every signal it gets in $T/sigs, one
# name a line, and notes its pid in $T/pid.
SIGREC='
import os, signal, sys
out = sys.argv[1]
def rec(sig, frame):
    with open(out + "/sigs", "a") as f:
        f.write(signal.Signals(sig).name if sig < signal.SIGRTMIN
                else "SIGRTMIN+%d" % (sig - signal.SIGRTMIN))
        f.write("\n")
for s in range(1, signal.SIGRTMAX + 1):
    if s not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
        try:
            signal.signal(s, rec)
        except (OSError, ValueError):
            pass
with open(out + "/pid", "w") as f:
    f.write("%d\n" % os.getpid())
while True:
    signal.pause()
'

@test "every signal one can send from outside is forwarded; jobinit neither dies nor stops" {
	local s
	jobinit_start -- "$PY" -c "$SIGREC" "$T"
	wait_until "[ -s $T/pid ]"
	for s in HUP QUIT USR1 USR2 ALRM TSTP TTIN TTOU CONT WINCH URG PIPE \
	    XCPU XFSZ VTALRM PROF IO PWR RTMIN RTMIN+1 RTMAX-1 RTMAX; do
		kill -s "$s" "$JI_PID"
		if [[ $s == RT* ]]; then
			s=${s/RTMAX-1/RTMIN+$(( $(kill -l RTMAX) - $(kill -l RTMIN) - 1 ))}
			s=${s/RTMAX/RTMIN+$(( $(kill -l RTMAX) - $(kill -l RTMIN) ))}
			s=${s/#RTMIN/SIGRTMIN}
			[ "$s" = SIGRTMIN ] && s=SIGRTMIN+0
		else
			s=SIG$s
			[ "$s" = SIGIO ] && s=SIGIO
		fi
		if ! wait_until "grep -qx '$s' $T/sigs" 5; then
			cat "$T/sigs" >&2
			fail "$s not forwarded"
		fi
		# jobinit is running, not stopped.
		alive "$JI_PID"
		[ "$(sed 's/.*) //' "/proc/$JI_PID/stat" | cut -c1)" != T ]
	done
	assert_equal "$(starts)" 1
	grep -q "forwarding signal 14 (Alarm clock) to pid $(cat "$T/pid")" \
	    "$JI_LOG"
}

@test "SIGCHLD left ignored by the parent: the child is still reaped, restarted, its status returned" {
	local ign='import os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
os.execv(sys.argv[1], sys.argv[1:])'
	run -5 timeout 10 "$PY" -c "$ign" "$JOBINIT" --once -- sh -c 'exit 5'
	assert_line 'jobinit: exiting with status 5'
	run -0 timeout 10 "$PY" -c "$ign" "$JOBINIT" -- sh -c "
		echo x >> $T/runs
		[ \$(wc -l < $T/runs) -ge 2 ] && exit 0
		exit 1"
	assert_equal "$(wc -l <"$T/runs")" 2
	# The orphans too are reaped (and relayed), not left to the kernel.
	run -0 timeout 10 "$PY" -c "$ign" "$JOBINIT" --once -- sh -c \
	    "sh -c 'sleep 0.2; exit 3' & exit 0"
}

@test "--group: a signal reaches every process of the child's group" {
	local script="
		trap 'echo child >> $T/sigs' USR1
		sh -c \"trap 'echo grandchild >> $T/sigs' USR1
			echo \\\$\\\$ > $T/gc; while :; do sleep 0.05; done\" &
		echo \$\$ > $T/pid
		while :; do sleep 0.05; done"
	jobinit_start --group -- sh -c "$script"
	wait_until "[ -s $T/pid ] && [ -s $T/gc ]"
	kill -USR1 "$JI_PID"
	wait_until "grep -qx child $T/sigs && grep -qx grandchild $T/sigs" 5
	grep -q "forwarding signal 10 (User defined signal 1) to process group $(cat "$T/pid")" "$JI_LOG"
	stop_tree "$JI_PID"
	JI_PID=
	# Without --group, the child alone.
	rm -f "$T/sigs" "$T/pid" "$T/gc"
	jobinit_start -- sh -c "$script"
	wait_until "[ -s $T/pid ] && [ -s $T/gc ]"
	kill -USR1 "$JI_PID"
	wait_until "grep -qx child $T/sigs" 5
	kill -USR1 "$(cat "$T/gc")"
	wait_until "grep -qx grandchild $T/sigs" 5
	assert_equal "$(grep -c . "$T/sigs")" 2
}

@test "-q: jobinit logs nothing of its own" {
	run -0 timeout 10 "$JOBINIT" -q --listen "unix:$T/s" -- sh -c "
		echo x >> $T/runs
		[ \$(wc -l < $T/runs) -ge 2 ] && exit 0
		kill -KILL \$\$"
	assert_equal "$(wc -l <"$T/runs")" 2
	refute_output
	run -7 timeout 10 "$JOBINIT" --quiet --once -- sh -c 'exit 7'
	refute_output
	# Errors are still told.
	run -127 timeout 10 "$JOBINIT" -q -- "$T/missing"
	assert_output --partial "cannot find $T/missing"
}

@test "a terminal on stdin becomes the child's controlling terminal" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	run -0 timeout 20 script -qec "$JOBINIT --once -- sh -c '
		ps -o tty= -p \$\$ > $T/tty
		if (exec 3</dev/tty) 2>/dev/null; then echo yes > $T/ctty; fi
		tty > $T/stdin'" /dev/null </dev/null
	[ -s "$T/stdin" ]
	assert_equal "$(cat "$T/ctty")" yes
	# ps names the terminal (pts/N), as tty does for stdin.
	assert_equal "/dev/$(tr -d ' ' <"$T/tty")" "$(cat "$T/stdin")"
	# jobinit not leading the terminal's session (a shell forked it):
	# the child leads a process group of that session, in the foreground.
	rm -f "$T/tty" "$T/ctty" "$T/stdin"
	run -0 timeout 20 env SHELL=/bin/sh script -qec "$JOBINIT --once -- sh -c '
		ps -o tty=,pgid=,tpgid= -p \$\$ > $T/tty
		if (exec 3</dev/tty) 2>/dev/null; then echo yes > $T/ctty; fi
		tty > $T/stdin'; true" /dev/null </dev/null
	assert_equal "$(cat "$T/ctty")" yes
	read -r t pg fg <"$T/tty"
	assert_equal "/dev/$t" "$(cat "$T/stdin")"
	assert_equal "$pg" "$fg"
	# With no terminal, there is none (and no error).
	run -0 timeout 10 "$JOBINIT" --once -- sh -c \
	    "if (exec 3</dev/tty) 2>/dev/null; then echo yes; else echo no; fi > $T/none" \
	    </dev/null
	assert_equal "$(cat "$T/none")" no
}

# The control channel, with tests/fakechild.py: life N runs $T/lifeN.py.
fakechild_start() {
	jobinit_start "$@" -- "$PY" "$BATS_TEST_DIRNAME/fakechild.py" "$T"
}

@test "channel: a STORE sent just before a kill -9 is kept; the next life reads through the fd" {
	cat >"$T/life1.py" <<-'PY'
	r, w = os.pipe()
	os.write(w, b"kept across a crash")
	store("pipe", r)
	a, b = socket.socketpair()
	b.send(b"through a socket")
	store("sock", a.fileno())
	os.kill(os.getpid(), signal.SIGKILL)
	PY
	cat >"$T/life2.py" <<-'PY'
	log("pipe", os.read(FDS["pipe"], 100).decode())
	s = socket.socket(fileno=FDS["sock"])
	log("sock", s.recv(100).decode())
	done()
	PY
	fakechild_start --listen "unix:$T/s"
	wait_until "[ -e $T/done2 ]" 20 || { cat "$JI_LOG" >&2; false; }
	assert_equal "$(cat "$T/names1")" socket:jobinit
	assert_equal "$(cat "$T/names2")" socket:jobinit:pipe:sock
	assert_equal "$(cat "$T/log2")" "$(printf '%s\n' \
	    'pipe kept across a crash' 'sock through a socket')"
	grep -q 'killed by signal 9' "$JI_LOG"
	run -0 listen_env "$(cat "$T/pid2")"
	assert_line LISTEN_FDS=4
}

# pipes_of PID: how many pipe fds PID holds.
pipes_of() {
	ls -l "/proc/$1/fd" | grep -c 'pipe:' || true
}

@test "channel: STORE replaces, REMOVE forgets; bad messages are logged and their fds closed" {
	cat >"$T/life1.py" <<-'PY'
	def pipe(data):
	    r, w = os.pipe()
	    os.write(w, data)
	    os.close(w)
	    return r
	store("a", pipe(b"one"))
	store("b", pipe(b"two"))
	store("c", pipe(b"three"))
	store("a", pipe(b"four"))
	remove("b")
	remove("never-stored")
	send("REMOVE b\n")
	store("jobinit", pipe(b"x"))
	store("bad:name", pipe(b"x"))
	send("STORE nofd")
	send("STORE two", [pipe(b"x"), pipe(b"x")])
	send("BOGUS", [pipe(b"x")])
	send("STORE " + "x" * 600, [pipe(b"x")])
	send("ACK -1")
	send("HELLO extra")
	send("REMOVE  a")
	hello()
	sys.exit(3)
	PY
	cat >"$T/life2.py" <<-'PY'
	for n in NAMES[1:]:
	    log(n, os.read(FDS[n], 100).decode())
	done()
	PY
	fakechild_start
	wait_until "[ -e $T/done2 ]" 20 || { cat "$JI_LOG" >&2; false; }
	assert_equal "$(cat "$T/names2")" jobinit:a:c
	assert_equal "$(cat "$T/log2")" "$(printf '%s\n' 'a four' 'c three')"
	# jobinit holds the two stored pipes, no more.
	assert_equal "$(pipes_of "$JI_PID")" 2
	run -0 grep -c 'control channel: bad message' "$JI_LOG"
	assert_output 9
	grep -qF 'bad message "STORE jobinit" with 1 fd' "$JI_LOG"
	grep -qF 'bad message "STORE two" with 2 fds' "$JI_LOG"
	grep -qF '(too long)' "$JI_LOG"
}

@test "channel: an exit before the child's death is relayed to the next life after HELLO, until ACKed" {
	cat >"$T/life1.py" <<-'PY'
	log(zombie(7))
	log(zombie(8))
	os._exit(1)
	PY
	cat >"$T/life2.py" <<-'PY'
	for e in hello():
	    log(*e)
	ack(1)
	os.kill(os.getpid(), signal.SIGKILL)
	PY
	cat >"$T/life3.py" <<-'PY'
	for e in hello():
	    log(*e)
	log("READY")
	done()
	PY
	fakechild_start
	wait_until "[ -e $T/done3 ]" 20
	# 7 << 8 = 1792, 8 << 8 = 2048: raw wait statuses.
	assert_equal "$(cat "$T/log2")" "$(printf '%s\n' \
	    "1 $(sed -n 1p "$T/log1") 1792" "2 $(sed -n 2p "$T/log1") 2048")"
	assert_equal "$(cat "$T/log3")" "$(printf '%s\n' \
	    "2 $(sed -n 2p "$T/log1") 2048" READY)"
}

@test "channel: an orphan's exit is sent live after READY, with its raw status" {
	cat >"$T/life1.py" <<-'PY'
	import subprocess
	p = subprocess.Popen(["sh", "-c", "while [ ! -e %s/go ]; do "
	    "sleep 0.02; done; kill -TERM $$" % D], start_new_session=True)
	log(p.pid)
	os._exit(2)
	PY
	cat >"$T/life2.py" <<-'PY'
	log("before", *hello())
	open(D + "/go", "w").close()
	orphan = int(open(D + "/log1").read())
	log(*live(orphan))
	done()
	PY
	fakechild_start
	wait_until "[ -e $T/done2 ]" 20 || { cat "$JI_LOG" >&2; false; }
	# Killed by SIGTERM: status 15.
	assert_equal "$(cat "$T/log2")" "$(printf '%s\n' before \
	    "1 $(cat "$T/log1") 15")"
	assert_equal "$(starts)" 2
}

@test "channel: a child that never reads does not block jobinit; the next life gets every exit" {
	cat >"$T/life1.py" <<-'PY'
	send("HELLO")
	for i in range(1500):
	    pid = os.fork()
	    if pid == 0:
	        if os.fork() == 0:
	            os._exit(i % 100)
	        os._exit(0)
	    os.waitpid(pid, 0)
	done()
	PY
	cat >"$T/life2.py" <<-'PY'
	exits = hello()
	log(len(exits), len(set(e[1] for e in exits)),
	    [e[0] for e in exits] == list(range(1, 1501)),
	    sorted(e[2] >> 8 for e in exits) == sorted(i % 100 for i in range(1500)))
	ack(exits[-1][0])
	done()
	PY
	fakechild_start
	wait_until "[ -e $T/done1 ]" 60
	# Every orphan is reaped while the child reads nothing...
	wait_until "[ \$(children $JI_PID) -eq 1 ]" 10
	assert_equal "$(zombies "$JI_PID")" 0
	# ... and jobinit still forwards signals.
	kill -KILL "$(cat "$T/pid1")"
	wait_until "[ -e $T/done2 ]" 30
	assert_equal "$(cat "$T/log2")" '1500 1500 True True'
	refute grep -q dropped "$JI_LOG"
}

@test "channel: jobd under jobinit ignores the channel and serves its socket" {
	jobinit_start --listen "unix:$SOCK" -- "$JOBD"
	wait_until "answers $SOCK" 10
	http GET /
	assert_equal "$(jb '.listen | length')" 1
	assert_equal "$(jb '.listen[0].name')" socket
	# It holds the channel (fd 4), CLOEXEC: no task of its gets it.
	[ "$(readlink "/proc/$(pgrep -P "$JI_PID")/fd/4")" != "" ]
	grep -q 'flags:.*2......$' "/proc/$(pgrep -P "$JI_PID")/fdinfo/4"
}
