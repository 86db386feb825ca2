#!/usr/bin/env bats
# Jobs: the routes, task chains, states, the task's environment and
# process attributes, stopping, signals, ?wait=, limits and shutdown.

load helpers

setup() {
	jobd_start
	T=$BATS_TEST_TMPDIR
}

@test "PUT starts a job: 201, Location, status; GET shows it exited" {
	put hello "$(sh_job 'echo hello > out')"
	assert_equal "$code" 201
	assert_regex "$headers" $'Location: /job/hello\r'
	assert_regex "$headers" $'Content-Type: application/json\r'
	assert_equal "$(jb .name)" hello
	assert_equal "$(jb .state)" running
	assert_equal "$(jb .task)" 0
	assert_equal "$(jb .pid)" "$(jb .tasks[0].pid)"
	assert_regex "$(jb .created)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
	wait_job hello
	assert_equal "$(jb .state)" exited
	assert_equal "$(jb .pid)" null
	assert_equal "$(jb .tasks[0].state)" exited
	assert_equal "$(jb .tasks[0].exit_code)" 0
	assert_equal "$(jb .tasks[0].signal)" null
	assert_equal "$(jb .tasks[0].error)" null
	assert_regex "$(jb .tasks[0].ended)" 'Z$'
	assert_equal "$(cat "$T/out")" hello
}

@test "PUT of a finished job replaces it (200); of a running one is 409" {
	put j "$(sh_job 'exit 3')"
	assert_equal "$code" 201
	wait_job j
	put j "$(sh_job 'exec sleep 100')"
	assert_equal "$code" 200
	assert_regex "$headers" $'Location: /job/j\r'
	local pid
	pid=$(jb .pid)
	put j "$(sh_job 'true')"
	assert_equal "$code" 409
	assert_equal "$(jb .path)" null
	assert_regex "$(jb .error)" "running"
	# the running job is untouched
	http GET /job/j
	assert_equal "$(jb .pid)" "$pid"
	alive "$pid"
}

@test "GET of an unknown job is 404, of a bad name 400" {
	http GET /job/nosuch
	assert_equal "$code" 404
	assert_equal "$(jb .error)" "no such job: nosuch"
	http GET /job/.hidden
	assert_equal "$code" 400
}

@test "tasks run one after another whatever the exit status; _LAST_EXIT" {
	put chain "$(job "$(task /bin/sh -c 'echo "first $_LAST_EXIT" >> log; exit 3')" \
	    "$(task /bin/sh -c 'echo "second $_LAST_EXIT" >> log; kill -TERM $$')" \
	    "$(task /bin/sh -c 'echo "third $_LAST_EXIT" >> log; exit 0')")"
	assert_equal "$code" 201
	wait_job chain
	assert_equal "$(jb .state)" exited
	assert_equal "$(jb .task)" 2
	assert_equal "$(jb '[.tasks[].state] | join(",")')" exited,killed,exited
	assert_equal "$(jb .tasks[0].exit_code)" 3
	assert_equal "$(jb .tasks[1].signal)" TERM
	assert_equal "$(jb .tasks[1].exit_code)" null
	assert_equal "$(cat "$T/log")" "$(printf 'first \nsecond 3\nthird SIGTERM')"
	# strictly in sequence: each started after the previous ended
	local e0 s1 e1 s2
	e0=$(jb .tasks[0].ended); s1=$(jb .tasks[1].started)
	e1=$(jb .tasks[1].ended); s2=$(jb .tasks[2].started)
	[[ ! $s1 < $e0 ]] && [[ ! $s2 < $e1 ]]
}

@test "a task that cannot start fails the job; later tasks are skipped" {
	put f "$(job "$(task /bin/true)" "$(task /nonexistent/prog)" "$(task /bin/true)")"
	assert_equal "$code" 201
	wait_job f
	assert_equal "$(jb .state)" failed
	assert_equal "$(jb .task)" 1
	assert_equal "$(jb '[.tasks[].state] | join(",")')" exited,failed,skipped
	assert_regex "$(jb .tasks[1].error)" '^tasks\[1\]\.exec: exec /nonexistent/prog: No such file or directory'
}

@test "first task cannot start: 422 naming the field and the OS error; job stays failed" {
	put nf "$(job "$(task no-such-command-here)" "$(task /bin/true)")"
	assert_equal "$code" 422
	assert_equal "$(jb .path)" "tasks[0].exec"
	assert_regex "$(jb .error)" 'No such file or directory'
	assert_regex "$(jb .error)" 'PATH=/usr/bin:/bin'
	http GET /job/nf
	assert_equal "$code" 200
	assert_equal "$(jb .state)" failed
	assert_equal "$(jb '[.tasks[].state] | join(",")')" failed,skipped

	put cwd "$(jq -c '.tasks[0].cwd = "/nonexistent"' <<<"$(sh_job true)")"
	assert_equal "$code" 422
	assert_equal "$(jb .path)" "tasks[0].cwd"
	assert_regex "$(jb .error)" 'chdir /nonexistent: No such file or directory'

	printf '#!/bin/sh\n' >"$T/noexec"
	chmod 644 "$T/noexec"
	put perm "$(job "$(task "$T/noexec")")"
	assert_equal "$code" 422
	assert_regex "$(jb .error)" 'Permission denied'

	put nopath "$(jq -c '.tasks[0].envs = {}' <<<"$(job "$(task true)")")"
	assert_equal "$code" 422
	assert_regex "$(jb .error)" 'no PATH'
}

@test "exec without / is searched in the task's own PATH; relative with / from cwd" {
	mkdir -p "$T/bin" "$T/sub/bin"
	printf '#!/bin/sh\necho mine > "$1"\n' >"$T/bin/mytool"
	printf '#!/bin/sh\necho relative > "$1"\n' >"$T/sub/bin/rel"
	chmod +x "$T/bin/mytool" "$T/sub/bin/rel"
	put p "$(jq -c --arg p "/nonexistent:$T/bin:/bin" '.tasks[0].envs.PATH = $p' \
	    <<<"$(job "$(task mytool "$T/o1")")")"
	assert_equal "$code" 201
	put r "$(jq -c --arg c "$T/sub" '.tasks[0].cwd = $c' <<<"$(job "$(task ./bin/rel "$T/o2")")")"
	assert_equal "$code" 201
	wait_job p && wait_job r
	assert_equal "$(cat "$T/o1")" mine
	assert_equal "$(cat "$T/o2")" relative
}

@test "the task's environment is exactly envs (nothing leaks from jobd)" {
	put e "$(jq -c --arg o "$T/env" '.tasks[0].envs = {"PATH": "/bin", "FOO": "bar baz", "EMPTY": ""}
	    | .tasks[0].fd = [null, {"type": "file", "path": $o, "mode": "w"}]' \
	    <<<"$(job "$(task /usr/bin/env)")")"
	assert_equal "$code" 201
	wait_job e
	assert_equal "$(sort "$T/env")" "$(printf 'EMPTY=\nFOO=bar baz\nPATH=/bin')"
	put e2 "$(jq -c --arg o "$T/env2" '.tasks[0].envs = {}
	    | .tasks[0].fd = [null, {"type": "file", "path": $o, "mode": "w"}]' \
	    <<<"$(job "$(task /usr/bin/env)")")"
	wait_job e2
	[ ! -s "$T/env2" ]
}

@test "cwd, session and process group leader, default signals, empty mask" {
	put a "$(sh_job 'pwd > cwd; ps -o pid=,pgid=,sid= -p $$ > ids')"
	assert_equal "$code" 201
	local pid
	pid=$(jb .pid)
	wait_job a
	assert_equal "$(cat "$T/cwd")" "$T"
	read -r p g s <"$T/ids"
	assert_equal "$p" "$pid"
	assert_equal "$g" "$pid"
	assert_equal "$s" "$pid"
	# jobd itself ignores SIGPIPE and handles others: none of it crosses.
	put s "$(jq -c --arg o "$T/sig" '.tasks[0].fd = [null, {type: "file", path: $o, mode: "w"}]' \
	    <<<"$(job "$(task /bin/cat /proc/self/status)")")"
	wait_job s
	assert_equal "$(grep -E '^Sig(Blk|Ign|Cgt)' "$T/sig")" "$(printf 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000')"
}

@test "GET /jobs lists every job sorted by name" {
	put zeta "$(sh_job true)"
	put alpha "$(sh_job true)"
	put mid.dle@x "$(sh_job true)"
	http GET /jobs
	assert_equal "$code" 200
	assert_equal "$(jb '[.jobs[].name] | join(",")')" alpha,mid.dle@x,zeta
}

@test "DELETE of a finished job forgets it (200); of an unknown one 404" {
	put d "$(sh_job true)"
	wait_job d
	http DELETE /job/d
	assert_equal "$code" 200
	assert_equal "$(jb .state)" exited
	http GET /job/d
	assert_equal "$code" 404
	http DELETE /job/d
	assert_equal "$code" 404
}

@test "DELETE of a running job: 202, TERM to the whole process group, then forgotten" {
	put g "$(sh_job 'sleep 1000 & echo $! > child; trap "echo term >> got; exit 0" TERM; while :; do sleep 0.05; done')"
	assert_equal "$code" 201
	local pid child
	pid=$(jb .pid)
	wait_until "[ -s '$T/child' ]"
	child=$(cat "$T/child")
	alive "$child"
	put g.next "$(sh_job true)"
	http DELETE /job/g
	assert_equal "$code" 202
	assert_equal "$(jb .state)" stopping
	wait_until "! alive $pid && ! alive $child" 5 || fail "process group not stopped"
	assert_equal "$(cat "$T/got")" term
	wait_until 'http GET /job/g; [ "$code" = 404 ]' 5
}

@test "DELETE stops the chain: later tasks are cancelled and never run" {
	put c "$(job "$(task /bin/sleep 1000)" "$(task /bin/sh -c 'echo ran > ran')")"
	http DELETE /job/c
	assert_equal "$code" 202
	assert_equal "$(jb '.tasks[1].state')" pending
	wait_until 'http GET /job/c; [ "$code" = 404 ]' 5
	[ ! -e "$T/ran" ]
}

@test "stop_timeout: a task that ignores TERM is killed after it" {
	# The task notes the TERM and carries on; it is alive after it, and
	# killed once stop_timeout has passed (how soon is bench/'s matter).
	put s "$(jq -c '.stop_timeout = 5' <<<"$(sh_job 'trap "echo term >> got" TERM; echo ready > ready; while :; do sleep 0.05; done')")"
	assert_equal "$(jb .stop_timeout)" 5
	local pid
	pid=$(jb .pid)
	wait_until "[ -s '$T/ready' ]"
	http DELETE /job/s
	assert_equal "$code" 202
	wait_until "[ -s '$T/got' ]" || fail "TERM did not arrive"
	alive "$pid"
	! grep -q "job s: stop timeout, killing" "$JOBD_LOG"
	wait_until "! alive $pid" 20 || fail "not killed after stop_timeout"
	grep -q "job s: stop timeout, killing" "$JOBD_LOG"
}

@test "stop_timeout 0 kills at once" {
	put s "$(jq -c '.stop_timeout = 0' <<<"$(sh_job 'trap "" TERM; echo ready > ready; while :; do sleep 0.05; done')")"
	local pid
	pid=$(jb .pid)
	wait_until "[ -s '$T/ready' ]"
	http DELETE /job/s
	wait_until "! alive $pid" 3
}

@test "signals: POST /job/NAME/signal and PUT /job/NAME/sig/SIG reach the process group" {
	put sig "$(sh_job 'for s in HUP USR1 USR2 INT; do trap "echo $s >> got" $s; done; echo ready > ready; while :; do sleep 0.05; done')"
	wait_until "[ -s '$T/ready' ]"
	http POST /job/sig/signal -d '{"signal": "HUP"}'
	assert_equal "$code" 200
	assert_equal "$(jb .name)" sig
	wait_until "grep -q HUP '$T/got'"
	http POST /job/sig/signal -d '{"signal": "SIGUSR1"}'
	assert_equal "$code" 200
	wait_until "grep -q USR1 '$T/got'"
	http POST /job/sig/signal -d '{"signal": 12}'
	assert_equal "$code" 200
	wait_until "grep -q USR2 '$T/got'"
	http PUT /job/sig/sig/INT
	assert_equal "$code" 200
	wait_until "grep -q INT '$T/got'"
	http PUT /job/sig/sig/KILL
	assert_equal "$code" 200
	wait_job sig
	assert_equal "$(jb .tasks[0].signal)" KILL
	assert_equal "$(jb .tasks[0].state)" killed
}

@test "signal errors: 409 with nothing running, 404 unknown job, 400 unknown signal" {
	put done "$(sh_job true)"
	wait_job done
	http POST /job/done/signal -d '{"signal": "HUP"}'
	assert_equal "$code" 409
	http PUT /job/done/sig/HUP
	assert_equal "$code" 409
	http POST /job/nosuch/signal -d '{"signal": "HUP"}'
	assert_equal "$code" 404
	put run "$(sh_job 'exec sleep 100')"
	http POST /job/run/signal -d '{"signal": "NOPE"}'
	assert_equal "$code" 400
	assert_equal "$(jb .path)" signal
	http POST /job/run/signal -d '{"sig": "HUP"}'
	assert_equal "$code" 400
	assert_equal "$(jb .path)" sig
	http POST /job/run/signal -d '{}'
	assert_equal "$code" 400
	assert_equal "$(jb .path)" signal
	http PUT /job/run/sig/NOPE
	assert_equal "$code" 400
	http PUT /job/run/sig/0
	assert_equal "$code" 400
}

@test "?wait= answers when the job ends, or when the time is up" {
	put w "$(sh_job 'while [ ! -e go ]; do sleep 0.05; done')"
	http GET '/job/w?wait=0.3'
	assert_equal "$code" 200
	assert_equal "$(jb .state)" running
	( sleep 0.3; touch "$T/go" ) &
	http GET '/job/w?wait=20'
	assert_equal "$code" 200
	assert_equal "$(jb .state)" exited
	# a finished job answers at once
	http GET '/job/w?wait=20'
	assert_equal "$(jb .state)" exited
}

@test "PUT ?wait= answers once the job has ended: one round trip, 201 and Location" {
	http PUT '/job/pw?wait=20' --data-binary "$(sh_job 'exit 5')"
	assert_equal "$code" 201
	assert_equal "$(jb .state) $(jb .tasks[0].exit_code)" "exited 5"
	[[ $headers == *"Location: /job/pw"* ]] || fail "no Location: $headers"
	# Replacing a finished job: 200, and the new run's end.
	http PUT '/job/pw?wait=20' --data-binary "$(sh_job 'exit 6')"
	assert_equal "$code" 200
	assert_equal "$(jb .tasks[0].exit_code)" 6
	# The time passes first: the status as it is, still 201.
	http PUT '/job/pr?wait=0.3' --data-binary "$(sh_job "while [ ! -e $T/go ]; do sleep 0.05; done")"
	assert_equal "$code" 201
	assert_equal "$(jb .state)" running
	touch "$T/go"
	# Errors are the PUT's own, at once: a bad query, a bad job, a
	# running job of that name.
	http PUT '/job/pq?wait=x' --data-binary "$(sh_job true)"
	assert_equal "$code" 400
	assert_equal "$(jb .error)" 'wait must be a number of seconds from 0 to 86400, not "x"' 
	http PUT '/job/pq?wait=5' --data-binary '{"tasks": 3}'
	assert_equal "$code" 400
	put long "$(sh_job 'exec sleep 1000')"
	http PUT '/job/long?wait=5' --data-binary "$(sh_job true)"
	assert_equal "$code" 409
	http GET /job/pq
	assert_equal "$code" 404
}

@test "PUT ?wait=: requests pipelined behind it wait; a client that leaves cancels only the wait" {
	local body
	body=$(sh_job "while [ ! -e $T/go ]; do sleep 0.05; done; exit 3")
	run $PY -c '
import socket, sys, time
body = sys.argv[2].encode()
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"PUT /job/pp?wait=20 HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body)
          + body + b"GET /job/pp HTTP/1.1\r\n\r\n")
s.settimeout(1)
try:
    early = s.recv(65536)
except socket.timeout:
    early = b""
open(sys.argv[3] + "/go", "w").close()
data = early; s.settimeout(20)
while data.count(b"HTTP/1.1 ") < 2:
    b = s.recv(65536)
    if not b: break
    data += b
print("early %d" % len(early))
first, second = data.split(b"HTTP/1.1 ")[1:3]
print(first[:3].decode(), second[:3].decode())
print("first exited 3" if b"\"exit_code\":3" in first else "first: %r" % first[-300:])
print("second exited" if b"\"state\":\"exited\"" in second else "second: %r" % second[-300:])
' "$SOCK" "$body" "$T"
	echo "$output"
	assert_success
	assert_line --index 0 "early 0"
	assert_line --index 1 "201 200"
	assert_line --index 2 "first exited 3"
	assert_line --index 3 "second exited"
	# A client that leaves: the job goes on, jobd keeps serving.
	rm -f "$T/go"
	timeout 1 curl -s --unix-socket "$SOCK" -X PUT --data-binary "$body" \
	    'http://localhost/job/pl?wait=30' || true
	http GET /job/pl
	assert_equal "$(jb .state)" running
	touch "$T/go"
	wait_job pl 10
	assert_equal "$(jb .tasks[0].exit_code)" 3
}

@test "?wait= on a job being deleted answers with its final state" {
	put w "$(sh_job 'exec sleep 1000')"
	curl -s --max-time 15 --unix-socket "$SOCK" "http://localhost/job/w?wait=15" >"$T/waited" &
	local cpid=$!
	wait_until "grep -q 'GET /job/w' '$JOBD_LOG' || true; sleep 0.2; true" 1
	http DELETE /job/w
	assert_equal "$code" 202
	wait "$cpid"
	assert_equal "$(jq -r .tasks[0].signal "$T/waited")" TERM
}

@test "--keep-finished forgets the oldest finished jobs" {
	jobd_stop
	jobd_start --keep-finished 2
	local n
	for n in 1 2 3 4; do
		put "k$n" "$(sh_job true)"
		wait_job "k$n"
	done
	put running "$(sh_job 'exec sleep 100')"
	http GET /jobs
	assert_equal "$(jb '[.jobs[].name] | join(",")')" k3,k4,running
}

@test "--max-jobs: a job over the limit is refused with 503" {
	jobd_stop
	jobd_start --max-jobs 2
	put a "$(sh_job 'exec sleep 100')"
	put b "$(sh_job 'exec sleep 100')"
	put c "$(sh_job 'exec sleep 100')"
	assert_equal "$code" 503
	assert_regex "$(jb .error)" max-jobs
	http DELETE /job/a
	wait_until 'http GET /job/a; [ "$code" = 404 ]'
	put c "$(sh_job 'exec sleep 100')"
	assert_equal "$code" 201
}

@test "orphans of tasks are reaped by jobd (subreaper): no zombies" {
	put orphans "$(sh_job 'for i in $(seq 20); do (sleep 0.2 &) ; done; exec sleep 100')"
	assert_equal "$code" 201
	sleep 0.5
	wait_until "[ -z \"\$(ps --ppid $JOBD_PID -o stat= | grep Z)\" ]" 3 ||
		fail "zombies under jobd: $(ps --ppid "$JOBD_PID" -o pid=,stat=,comm=)"
}

@test "tasks that end all at once are all reaped, though their SIGCHLDs merge" {
	local i
	# Each task blocks reading one line from a FIFO the test holds open;
	# one write of 60 lines wakes them all together (no polling, which
	# would load the machine with 60 jobs).
	mkfifo "$T/gate"
	exec 5<>"$T/gate"
	for i in $(seq 60); do
		put "burst$i" "$(sh_job "read x <$T/gate")"
		assert_equal "$code" 201
	done
	printf '%060d' 0 | tr 0 '\n' >&5
	for i in $(seq 60); do
		wait_job "burst$i" 10 || fail "burst$i still $(jb .state)"
		assert_equal "$(jb .tasks[0].exit_code)" 0
	done
	[ -z "$(ps --ppid "$JOBD_PID" -o stat= | grep Z)" ]
	exec 5>&-
}

@test "user and group: by name and number, supplementary groups, created files are theirs" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	world_dir
	T=$W
	TASK_CWD=$W
	local ids='id -u > $0.u; id -g > $0.g; id -G > $0.G; touch $0.f'
	put u "$(jq -c '.tasks[0].user = "nobody"' <<<"$(job "$(task /bin/sh -c "$ids" "$T/a")")")"
	assert_equal "$code" 201
	put n "$(jq -c '.tasks[0].user = 65534 | .tasks[0].group = 100' <<<"$(job "$(task /bin/sh -c "$ids" "$T/b")")")"
	put g "$(jq -c '.tasks[0].group = "nogroup"' <<<"$(job "$(task /bin/sh -c "$ids" "$T/c")")")"
	put none "$(job "$(task /bin/sh -c "$ids" "$T/d")")"
	wait_job u && wait_job n && wait_job g && wait_job none
	assert_equal "$(cat "$T/a.u") $(cat "$T/a.g")" "65534 65534"
	assert_equal "$(cat "$T/a.G")" "$(id -G nobody)"
	assert_equal "$(stat -c '%u %g' "$T/a.f")" "65534 65534"
	assert_equal "$(cat "$T/b.u") $(cat "$T/b.g")" "65534 100"
	assert_equal "$(cat "$T/c.u") $(cat "$T/c.g")" "0 65534"
	assert_equal "$(cat "$T/c.G")" 65534
	# neither: jobd's ids, supplementary groups cleared
	assert_equal "$(cat "$T/d.u") $(cat "$T/d.g") $(cat "$T/d.G")" "0 0 0"
	put bad "$(jq -c '.tasks[0].user = "no-such-user-x"' <<<"$(job "$(task /bin/true)")")"
	assert_equal "$code" 400
	assert_equal "$(jb .path)" "tasks[0].user"
	put badg "$(jq -c '.tasks[0].group = "no-such-group-x"' <<<"$(job "$(task /bin/true)")")"
	assert_equal "$code" 400
	assert_equal "$(jb .path)" "tasks[0].group"
}

@test "jobd not root: a task for another user or group is 403; its own ids run" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	jobd_stop
	world_dir
	SOCK=$W/nobody.sock
	env -u JOBD_STATE_DIR setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$JOBD" --listen "unix:$SOCK" \
	    </dev/null >"$T/jobd.log" 2>&1 3>&- &
	JOBD_PID=$!
	JOBD_LOG=$T/jobd.log
	T=$W
	TASK_CWD=$W
	wait_until "[ -S '$SOCK' ]"
	put r "$(jq -c '.tasks[0].user = "root"' <<<"$(job "$(task /bin/true)")")"
	assert_equal "$code" 403
	assert_equal "$(jb .path)" "tasks[0].user"
	put r0 "$(jq -c '.tasks[0].user = 0' <<<"$(job "$(task /bin/true)")")"
	assert_equal "$code" 403
	put g "$(jq -c '.tasks[0].group = "root"' <<<"$(job "$(task /bin/true)")")"
	assert_equal "$code" 403
	assert_equal "$(jb .path)" "tasks[0].group"
	put own "$(jq -c '.tasks[0].user = "nobody" | .tasks[0].group = "nogroup"' \
	    <<<"$(job "$(task /bin/sh -c 'id -u > own')")")"
	assert_equal "$code" 201
	wait_job own
	assert_equal "$(cat "$T/own")" 65534
}

@test "SIGTERM stops every job as DELETE does, then jobd exits 0" {
	put a "$(sh_job 'trap "echo a >> stopped; exit 0" TERM; while :; do sleep 0.05; done')"
	local pa
	pa=$(jb .pid)
	put b "$(sh_job 'trap "echo b >> stopped; exit 0" TERM; while :; do sleep 0.05; done')"
	local pb
	pb=$(jb .pid)
	sleep 0.2
	jobd_stop
	! alive "$pa" && ! alive "$pb"
	assert_equal "$(sort "$T/stopped" | tr '\n' ' ')" "a b "
	[ ! -e "$SOCK" ]
}

@test "a second SIGTERM kills what the first could not stop" {
	put stubborn "$(jq -c '.stop_timeout = 100' <<<"$(sh_job 'trap "" TERM; echo ready > ready; while :; do sleep 0.05; done')")"
	local pid
	pid=$(jb .pid)
	wait_until "[ -s '$T/ready' ]"
	kill -TERM "$JOBD_PID"
	sleep 0.3
	alive "$JOBD_PID"
	alive "$pid"
	# no new job while shutting down
	put late "$(sh_job true)"
	[ "$code" = 503 ] || [ "$code" = 000 ]
	kill -TERM "$JOBD_PID"
	wait_until "! alive $JOBD_PID" 5
	! alive "$pid"
	local rc=0
	wait "$JOBD_PID" || rc=$?
	JOBD_PID=
	assert_equal "$rc" 0
}
