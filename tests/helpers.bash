# helpers.bash: one jobd per test, on a unix socket in the test's own
# temporary directory; curl to talk to it; teardown stops it and fails the
# test if it died or left a process behind.

bats_load_library bats-support
bats_load_library bats-assert

: "${BUILDDIR:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${SRCDIR:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
JOBD=${JOBD:-$BUILDDIR/src/jobd}
JOBINIT=${JOBINIT:-$BUILDDIR/src/jobinit}
JOBCTL=${JOBCTL:-$BUILDDIR/src/jobctl}
CLIENT="/usr/bin/python3 $BATS_TEST_DIRNAME/client.py"
PY=/usr/bin/python3
export PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin:$PATH"
# Each test's jobd keeps its state in the test's own directory, even one
# on TCP alone (whose default would be shared).
export JOBD_STATE_DIR="$BATS_TEST_TMPDIR/jobd.state"

# in_test_dir: T is the test's own directory (its jobd's socket there),
# and the working directory.
in_test_dir() {
	T=$BATS_TEST_TMPDIR
	SOCK=$T/jobd.sock
	cd "$T" || return 1
}

# wait_until 'shell condition' [seconds]: poll, bounded.
wait_until() {
	local cond=$1 limit=${2:-10} i=0
	local n=$((limit * 20))
	while ! eval "$cond"; do
		i=$((i + 1))
		[ "$i" -ge "$n" ] && return 1
		sleep 0.05
	done
}

# alive PID: exists and is not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# comm_is PID NAME: PID runs program NAME (under scripts/test --valgrind,
# valgrind's tool is what the kernel names).
comm_is() {
	local c
	c=$(cat "/proc/$1/comm")
	[ "$c" = "$2" ] || { [ -n "${VALGRIND:-}" ] && [[ $c == memcheck* ]]; } ||
		fail "process $1 is $c, not $2"
}

# sanitized: jobd runs under valgrind or is built with AddressSanitizer,
# whose quarantine of freed blocks counts in RSS; the tool itself answers
# for leaks there.
sanitized() {
	[ -n "${VALGRIND:-}" ] || ldd "$JOBD" | grep -q libasan
}

# descendants PID: every process below PID.
descendants() {
	local p
	for p in $(pgrep -P "$1"); do
		echo "$p"
		descendants "$p"
	done
}

# jobd_start [ARGS...]: start jobd on $SOCK, wait until it answers.
jobd_start() {
	SOCK=${SOCK:-$BATS_TEST_TMPDIR/jobd.sock}
	JOBD_LOG=$BATS_TEST_TMPDIR/jobd.log
	"$JOBD" --listen "unix:$SOCK" "$@" </dev/null >>"$JOBD_LOG" 2>&1 3>&- &
	JOBD_PID=$!
	if ! wait_until "curl -s --max-time 1 --unix-socket '$SOCK' \
	    http://localhost/ >/dev/null 2>&1" 10; then
		cat "$JOBD_LOG" >&2
		fail "jobd did not start"
	fi
}

# jobd_stop: SIGTERM, wait for a clean exit 0; fails if it had died.
jobd_stop() {
	local pid=${JOBD_PID:-} rc=0
	[ -n "$pid" ] || return 0
	JOBD_PID=
	if ! alive "$pid"; then
		wait "$pid" || rc=$?
		echo "jobd died (status $rc); its log:" >&2
		cat "$JOBD_LOG" >&2
		return 1
	fi
	kill -TERM "$pid"
	if ! wait_until "! alive $pid" 20; then
		kill -KILL "$pid"
		echo "jobd did not exit on SIGTERM; its log:" >&2
		cat "$JOBD_LOG" >&2
		return 1
	fi
	wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "jobd exited $rc; its log:" >&2
		cat "$JOBD_LOG" >&2
		return 1
	fi
}

# Kill whatever a test started that outlived it (matched by temp dir).
reap_strays() {
	pkill -KILL -f "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# world_dir: sets $W to a new directory every user may use, for tasks
# run as another user (the test's own temp dir is closed to them).
world_dir() {
	W=$(mktemp -d /tmp/jobd-test.XXXXXX)
	chmod 777 "$W"
	echo "$W" >>"$BATS_TEST_TMPDIR/.world_dirs"
}

teardown() {
	local rc=0 d
	jobd_stop || rc=1
	reap_strays
	if [ -f "$BATS_TEST_TMPDIR/.world_dirs" ]; then
		while read -r d; do
			pkill -KILL -f "$d" 2>/dev/null || true
			rm -rf "$d"
		done <"$BATS_TEST_TMPDIR/.world_dirs"
	fi
	[ "$rc" -eq 0 ]
}

# http METHOD PATH [curl args...]: sets $code, $body and $headers.
http() {
	local method=$1 path=$2
	shift 2
	local hdr=$BATS_TEST_TMPDIR/.headers out=$BATS_TEST_TMPDIR/.body
	local head=
	[ "$method" = HEAD ] && head=-I
	code=$(curl -sS --max-time 15 --unix-socket "$SOCK" ${head:+"$head"} \
	    ${head:-"-X"} ${head:-"$method"} -D "$hdr" -o "$out" \
	    -w '%{http_code}' "$@" "http://localhost$path") || code=000
	body=$(cat "$out" 2>/dev/null || true)
	headers=$(cat "$hdr" 2>/dev/null || true)
}

# put NAME JSON: PUT /job/NAME with the JSON as body.
put() {
	http PUT "/job/$1" --data-binary "$2"
}

# jq over the last body.
jb() {
	jq -r "$1" <<<"$body"
}

# task EXEC [ARGS...]: the JSON of one task with PATH, cwd the temp dir
# (or $TASK_CWD) and no fds (all /dev/null).
task() {
	local exec=$1
	shift
	jq -cn --arg exec "$exec" --arg cwd "${TASK_CWD:-$BATS_TEST_TMPDIR}" \
	    --argjson args "$(json_array "$@")" \
	    '{exec: $exec, args: $args,
	      envs: {PATH: "/usr/bin:/bin"}, cwd: $cwd, fd: []}'
}

# json_array ARGS...: a JSON array of strings (jq would take "-c" as its
# own option after --args).
json_array() {
	local a
	for a in "$@"; do
		jq -n --arg a "$a" '$a'
	done | jq -cs .
}

# job TASKJSON...: a job of those tasks.
job() {
	local t
	for t in "$@"; do
		printf '%s\n' "$t"
	done | jq -cs '{tasks: .}'
}

# sh_job 'script': a job of one task running /bin/sh -c script.
sh_job() {
	job "$(task /bin/sh -c "$1")"
}

# wait_job NAME [SECONDS]: until the job is no longer running.
wait_job() {
	http GET "/job/$1?wait=${2:-10}"
	[ "$code" = 200 ] || return 1
	local st
	st=$(jb .state)
	[ "$st" != running ] && [ "$st" != stopping ]
}

fd_count() {
	ls "/proc/$1/fd" | wc -l
}
