#!/usr/bin/env bats
# Jobs outlive jobd (the contract's section 7): jobd killed with -9 under
# jobinit comes back knowing every job, with the exits that happened
# while it was down, the sockets and FIFO ends its jobs hold, and no task
# started twice; without jobinit it adopts what still runs and calls
# lost what nobody can tell; a corrupt file, a foreign directory and a
# full disk are clear errors; a re-exec refuses nobody.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	SOCK=$T/jobd.sock
	JI_LOG=$T/jobinit.log
	JI_PID=
	MNT=
	cd "$T"
	# jobd through a wrapper that, once $T/slow exists, waits that many
	# seconds before the exec: jobd stays down while tasks end.
	cat >"$T/jd" <<EOF
#!/bin/sh
if [ -e "$T/slow" ]; then sleep "\$(cat "$T/slow")"; fi
exec "$JOBD" "\$@"
EOF
	chmod +x "$T/jd"
}

teardown() {
	local rc=0
	if [ -n "$JI_PID" ]; then
		# jobinit forwards TERM; jobd stops every job and exits 0.
		kill -TERM "$JI_PID" 2>/dev/null || true
		if ! wait_until "! alive $JI_PID" 20; then
			kill -KILL "$JI_PID" 2>/dev/null || true
			echo "jobinit did not exit on SIGTERM" >&2
			rc=1
		fi
		wait "$JI_PID" 2>/dev/null || rc=$?
		[ "$rc" -eq 0 ] || cat "$JI_LOG" >&2
	fi
	jobd_stop || rc=1
	reap_strays
	[ -z "$MNT" ] || umount "$MNT" 2>/dev/null || true
	[ "$rc" -eq 0 ]
}

# jobd_kill: kill -9 the jobd of jobd_start, as a crash would.
jobd_kill() {
	kill -KILL "$JOBD_PID"
	wait "$JOBD_PID" || true
	JOBD_PID=
}

answers() {
	curl -s --max-time 1 --unix-socket "$SOCK" http://localhost/ >/dev/null
}

# under_jobinit: jobinit on $SOCK running jobd (through $T/jd).
under_jobinit() {
	"$JOBINIT" --listen "unix:$SOCK" -- "$T/jd" </dev/null >>"$JI_LOG" \
	    2>&1 3>&- &
	JI_PID=$!
	wait_until answers 10 || { cat "$JI_LOG" >&2; fail "jobd did not start"; }
}

jobd_pid() {
	curl -s --max-time 5 --unix-socket "$SOCK" http://localhost/ | jq -r .pid
}

# crash: kill -9 the jobd under jobinit, then run "$@" (while jobd is
# down if $T/slow exists), then wait for the next jobd to answer.
crash() {
	local old
	old=$(jobd_pid)
	kill -KILL "$old"
	"$@"
	wait_until '[ "$(jobd_pid)" != "$old" ] && [ -n "$(jobd_pid)" ]' 20 ||
		{ cat "$JI_LOG" >&2; fail "no new jobd"; }
	rm -f "$T/slow"
}

# waits for a file to appear, at most 10 s.
file_exists() {
	wait_until "[ -s '$1' ]" 10 || fail "$1 never appeared"
}

@test "kill -9 under jobinit: running jobs come back, same pids; signals and DELETE work on them" {
	local a b c
	under_jobinit
	put a "$(sh_job 'exec sleep 1000')"
	put b "$(sh_job 'exec sleep 1001')"
	put c "$(sh_job "trap 'echo term >>$T/c.term' TERM; sleep 1002 & echo \$! >$T/c.child; while :; do sleep 0.05; done" |
	    jq -c '.stop_timeout = 0.5')"
	assert_equal "$code" 201
	file_exists "$T/c.child"
	http GET /job/a; a=$(jb .pid)
	http GET /job/b; b=$(jb .pid)
	http GET /job/c; c=$(jb .pid)
	crash true
	http GET /
	assert_equal "$(jb .restarts)" 1
	assert_equal "$(jb .recovered)" 3
	http GET /jobs
	assert_equal "$(jb '[.jobs[] | .name + " " + .state + " " + (.pid|tostring)] | join(",")')" \
	    "a running $a,b running $b,c running $c"
	# A signal reaches the adopted task; DELETE kills the whole group
	# after stop_timeout, the child that ignored nothing included.
	http POST /job/b/signal --data '{"signal":"TERM"}'
	assert_equal "$code" 200
	wait_job b 10
	assert_equal "$(jb .tasks[0].signal)" TERM
	http DELETE /job/c
	assert_equal "$code" 202
	wait_until "! alive $c && ! alive $(cat "$T/c.child")" 10 ||
		fail "job c's group is not dead"
	file_exists "$T/c.term"
	wait_until '[ "$(curl -s --unix-socket "$SOCK" -o /dev/null -w "%{http_code}" http://localhost/job/c)" = 404 ]' 10
	alive "$a"
}

@test "a task that exits while jobd is down: the next task gets that exact _LAST_EXIT, nothing runs twice" {
	under_jobinit
	echo 1 >"$T/slow"
	put x "$(job "$(task /bin/sh -c "echo 0 >>$T/starts; while [ ! -e $T/go ]; do sleep 0.02; done; exit 7")" \
	    "$(task /bin/sh -c "echo 1 >>$T/starts; echo \"\$_LAST_EXIT\" >$T/last")")"
	assert_equal "$code" 201
	file_exists "$T/starts"
	crash touch "$T/go"
	wait_job x 10
	assert_equal "$(jb .state)" exited
	assert_equal "$(jb .tasks[0].exit_code)" 7
	assert_equal "$(jb .tasks[0].state)" exited
	assert_equal "$(cat "$T/last")" 7
	assert_equal "$(cat "$T/starts")" $'0\n1'
	grep -q "killed by signal 9" "$JI_LOG"
}

@test "a job's TCP socket is held during the outage: clients are served, the next task gets the same socket" {
	under_jobinit
	echo 1 >"$T/slow"
	cat >"$T/serve.py" <<'EOF'
import os, socket, sys
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[1].encode())
    c.close()
    if os.path.exists(sys.argv[2]):
        sys.exit(3)
EOF
	# One fixed port for both tasks (port 0 would give each its own).
	local port
	port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	put web "$(jq -cn --arg t "$T" --argjson port "$port" '{tasks: [
	    {exec: "/usr/bin/python3", args: [($t + "/serve.py"), "A", ($t + "/quit")],
	     cwd: $t, envs: {}, fd: [null, null, null, {type: "network socket", bind: "127.0.0.1", port: $port}]},
	    {exec: "/usr/bin/python3", args: [($t + "/serve.py"), "B", ($t + "/never")],
	     cwd: $t, envs: {}, fd: [null, null, null, {type: "network socket", bind: "127.0.0.1", port: $port}]}]}')"
	assert_equal "$code" 201
	fetch() {
		/usr/bin/python3 -c 'import socket,sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
print(s.recv(16).decode())' "$port"
	}
	run -0 fetch
	assert_output A
	# During the outage (1 s), the task still answers on the socket.
	crash eval 'run -0 fetch; assert_output A; [ -e "$T/slow" ]'
	touch "$T/quit"
	run -0 fetch
	assert_output A
	wait_until '[ "$(curl -s --unix-socket "$SOCK" http://localhost/job/web | jq .task)" = 1 ]' 10
	run -0 fetch
	assert_output B
	http GET /job/web
	assert_equal "$(jb .tasks[0].exit_code)" 3
	assert_equal "$(jb '[.sockets[].address] | unique | join(",")')" "tcp:127.0.0.1:$port"
}

@test "a FIFO pair across kill -9: the reader never sees end-of-file, the writer's next task reaches it" {
	under_jobinit
	echo 1 >"$T/slow"
	put r "$(jq -cn --arg t "$T" '{tasks: [{exec: "/bin/cat", args: [], envs: {}, cwd: $t,
	    fd: [{type: "pipe", path: ($t + "/p"), mode: "r"},
	         {type: "file", path: ($t + "/out"), mode: "a"}]}]}')"
	assert_equal "$code" 201
	put w "$(jq -cn --arg t "$T" '{tasks: [
	    {exec: "/bin/sh", args: ["-c", ("echo before; while [ ! -e " + $t + "/go ]; do sleep 0.02; done")],
	     cwd: $t, envs: {}, fd: [null, {type: "pipe", path: ($t + "/p"), mode: "w"}]},
	    {exec: "/bin/sh", args: ["-c", "echo after"],
	     cwd: $t, envs: {}, fd: [null, {type: "pipe", path: ($t + "/p"), mode: "w"}]}]}')"
	assert_equal "$code" 201
	file_exists "$T/out"
	crash touch "$T/go"
	wait_job w 10
	assert_equal "$(jb .state)" exited
	wait_until '[ "$(cat "$T/out")" = "$(printf "before\nafter")" ]' 10 ||
		fail "out holds: $(cat "$T/out")"
	http GET /job/r
	assert_equal "$(jb .state)" running
}

@test "a ?wait= in flight when jobd dies: the client sees the connection end and asks again" {
	under_jobinit
	put x "$(sh_job "while [ ! -e $T/go ]; do sleep 0.02; done; exit 4")"
	curl -s --max-time 30 --unix-socket "$SOCK" -o "$T/w1" \
	    -w '%{http_code}' 'http://localhost/job/x?wait=30' >"$T/w1.code" 3>&- &
	local cpid=$!
	sleep 0.3
	crash true
	wait_until "! alive $cpid" 10 || fail "the waiting client hangs"
	wait "$cpid" || true
	assert_equal "$(cat "$T/w1.code")" 000
	curl -s --max-time 30 --unix-socket "$SOCK" -o "$T/w2" \
	    'http://localhost/job/x?wait=30' 3>&- &
	cpid=$!
	sleep 0.3
	touch "$T/go"
	wait "$cpid"
	assert_equal "$(jq -r .state "$T/w2")" exited
	assert_equal "$(jq -r .tasks[0].exit_code "$T/w2")" 4
}

@test "without jobinit: a live task is adopted; a pid now used by another process is never adopted, but lost" {
	local a b decoy
	jobd_start
	put a "$(sh_job 'exec sleep 1000')"
	put b "$(job "$(task /bin/sh -c 'exec sleep 1001')" \
	    "$(task /bin/sh -c "echo \"\$_LAST_EXIT\" >$T/b.last")")"
	http GET /job/a; a=$(jb .pid)
	http GET /job/b; b=$(jb .pid)
	jobd_kill
	# b's task ends with jobd down, and another process takes its pid
	# in the state file: the same pid number, another start time.
	kill -KILL "$b"
	sleep 1000 &
	decoy=$!
	jq --argjson p "$decoy" '.tasks[0].pid = $p | .pid = $p' \
	    "$JOBD_STATE_DIR/jobs/b.json" >"$T/b.json"
	grep -q "$decoy" "$T/b.json" || skip "the state file's shape is not the one this test edits"
	mv "$T/b.json" "$JOBD_STATE_DIR/jobs/b.json"
	jobd_start
	http GET /job/a
	assert_equal "$(jb .state) $(jb .pid)" "running $a"
	wait_job b 10
	assert_equal "$(jb .tasks[0].state)" lost
	assert_equal "$(jb .tasks[1].state)" exited
	assert_equal "$(cat "$T/b.last")" LOST
	alive "$decoy"
	# DELETE of the adopted job kills it, and only it.
	http DELETE /job/a
	wait_until "! alive $a" 10
	alive "$decoy"
	kill "$decoy"
	wait "$decoy" || true
}

@test "a corrupt state file is moved aside with the reason; the other jobs load" {
	jobd_start
	put good "$(sh_job 'exit 3')"
	wait_job good
	# A clean stop forgets the jobs it stops; a finished one stays.
	jobd_stop
	printf '{"jobd_state": 1, "name": "bad", "tasks": [' \
	    >"$JOBD_STATE_DIR/jobs/bad.json"
	echo '{"some": "other file"}' >"$JOBD_STATE_DIR/jobs/other.json"
	jobd_start
	http GET /jobs
	assert_equal "$(jb '[.jobs[] | .name + " " + .state] | join(",")')" "good exited"
	run -0 ls "$JOBD_STATE_DIR/jobs"
	assert_line --regexp '^bad\.json\.bad-'
	assert_line --regexp '^other\.json\.bad-'
	refute_line bad.json
	grep -q 'bad.json' "$JOBD_LOG"
	grep -q 'other.json' "$JOBD_LOG"
}

@test "a state directory of another owner, or open to others, is refused at start" {
	local d=$T/foreign rc=0
	[ "$(id -u)" = 0 ] || skip "needs root to give a directory away"
	mkdir -m 0700 "$d"
	chown nobody "$d"
	run -1 "$JOBD" --listen "unix:$SOCK" --state-dir "$d" 3>&-
	assert_output --partial "$d"
	assert_output --partial "belongs to uid"
	chown root "$d"
	chmod 0777 "$d"
	run -1 "$JOBD" --listen "unix:$SOCK" --state-dir "$d" 3>&-
	assert_output --partial "$d is writable by others (mode 0777)"
	[ ! -e "$SOCK" ] || rc=1
	assert_equal "$rc" 0
	# Only read by others: jobd takes it and closes it.
	chmod 0755 "$d"
	jobd_start --state-dir "$d"
	assert_equal "$(stat -c %a "$d")" 700
}

@test "a full disk for the state: PUT is 503 with a clear error, nothing started or half-written" {
	[ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs"
	mkdir "$T/small"
	mount -t tmpfs -o size=64k,mode=0700 tmpfs "$T/small" 2>/dev/null ||
		skip "cannot mount a tmpfs here"
	MNT=$T/small
	JOBD_STATE_DIR=$T/small/state jobd_start
	dd if=/dev/zero of="$T/small/fill" bs=4k 2>/dev/null || true
	put full "$(job "$(task /bin/sh -c "echo ran >$T/ran; exec sleep 1000")" |
	    jq -c --arg p "$(head -c 4000 /dev/zero | tr '\0' x)" '.tasks[0].args += [$p]')"
	assert_equal "$code" 503
	assert_equal "$(jb .error | grep -c 'state')" 1
	http GET /job/full
	assert_equal "$code" 404
	[ ! -e "$T/ran" ]
	run -0 ls -A "$T/small/state/jobs"
	assert_output ""
	rm "$T/small/fill"
	put full "$(sh_job "echo ran >$T/ran; exec sleep 1000")"
	assert_equal "$code" 201
	file_exists "$T/ran"
	jobd_stop
	umount "$T/small"
	MNT=
}

@test "re-exec under load: 1,000 requests across jobctl daemon reexec, none refused, jobs untouched" {
	local a
	jobd_start
	put a "$(sh_job 'exec sleep 1000')"
	a=$(jb .pid)
	/usr/bin/python3 - "$SOCK" 1000 500 "$JOBCTL" >"$T/load" 2>&1 <<'EOF' || { cat "$T/load"; fail "requests failed"; }
import socket, subprocess, sys
path, n, k, jobctl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
pids, bad = set(), 0
for i in range(n):
    if i == k:
        subprocess.run([jobctl, "-s", path, "daemon", "reexec"], check=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        if not data.startswith(b"HTTP/1.1 200"):
            raise OSError("answer: %r" % data[:80])
        pids.add(data.split(b'"pid":', 1)[1].split(b",", 1)[0])
    except OSError as e:
        bad += 1
        print("request %d: %s" % (i, e))
    s.close()
print("bad", bad, "pids", len(pids))
sys.exit(1 if bad else 0)
EOF
	assert_equal "$(tail -1 "$T/load")" "bad 0 pids 1"
	http GET /
	assert_equal "$(jb .pid)" "$JOBD_PID"
	assert_equal "$(jb .recovered)" 1
	http GET /job/a
	assert_equal "$(jb .state) $(jb .pid)" "running $a"
}

@test "tasks saved as starting: one whose child reached exec is adopted, one whose did not starts, each once, across two crashes" {
	local x y
	jobd_start
	put x "$(sh_job "echo x \$\$ >>$T/starts; exec sleep 1000")"
	put y "$(sh_job "echo y \$\$ >>$T/starts; exec sleep 1001")"
	wait_until '[ "$(wc -l <"$T/starts")" = 2 ]'
	http GET /job/x; x=$(jb .pid)
	http GET /job/y; y=$(jb .pid)
	jobd_kill
	# As jobd left them when killed mid-start: both saved as starting;
	# x's child got to exec (its record is in the spawn log), y's not.
	kill -KILL "$y"
	local f
	for f in x y; do
		jq -c '.tasks[0].starting = 1 | .tasks[0].pid = 0' \
		    "$JOBD_STATE_DIR/jobs/$f.json" >"$T/$f.json"
		mv "$T/$f.json" "$JOBD_STATE_DIR/jobs/$f.json"
	done
	echo "x 0 $x" >"$JOBD_STATE_DIR/spawn.log"
	jobd_start
	http GET /job/x
	assert_equal "$(jb .state) $(jb .pid)" "running $x"
	wait_until '[ "$(grep -c ^y "$T/starts")" = 2 ]' || fail "y did not start"
	# Killed again at once: what it learnt is on disk.
	jobd_kill
	jobd_start
	http GET /job/x
	assert_equal "$(jb .state) $(jb .pid)" "running $x"
	http GET /job/y
	assert_equal "$(jb .state)" running
	sleep 0.5
	assert_equal "$(grep -c ^x "$T/starts")" 1
	assert_equal "$(grep -c ^y "$T/starts")" 2
	http DELETE /job/x
	http DELETE /job/y
	wait_until "! alive $x" 10
}
