#!/usr/bin/env bats
# Output capture (the contract's section 8): the log fd type, the job's
# bounded log on disk, GET /job/:name/log and what it promises: every
# line once and in order per stream, follow, rotation told as a gap,
# long lines cut and joined, any bytes, a reader that does not read
# slowing nothing, and the log across a kill -9 of jobd.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	in_test_dir
	JI_PID=
}

teardown() {
	local rc=0
	if [ -n "$JI_PID" ]; then
		kill -TERM "$JI_PID" 2>/dev/null || true
		wait_until "! alive $JI_PID" 20 || { kill -KILL "$JI_PID"; rc=1; }
		wait "$JI_PID" 2>/dev/null || rc=$?
		[ "$rc" -eq 0 ] || cat "$T/jobinit.log" >&2
	fi
	jobd_stop || rc=1
	reap_strays
	[ "$rc" -eq 0 ]
}

# log_task EXEC ARGS...: a task whose fds 1 and 2 go to the log.
log_task() {
	task "$@" | jq -c '.fd = [null, {type: "log"}, {type: "log"}]'
}

# getlog NAME [QUERY]: the log into $body.
getlog() {
	http GET "/job/$1/log${2:+?$2}"
}

@test "a task's stdout and stderr lines, in the log with seq, time, task and stream; boundaries and a last unended line" {
	jobd_start
	put a "$(job "$(log_task /bin/sh -c 'echo out; echo err >&2; printf tail; exit 7')" \
	    "$(log_task /bin/echo second)")"
	assert_equal "$code" 201
	wait_job a
	getlog a
	assert_equal "$code" 200
	[[ $headers == *"Transfer-Encoding: chunked"* ]]
	[[ $headers == *"Content-Type: application/x-ndjson"* ]]
	# seq runs 1, 2, 3... over every record.
	assert_equal "$(jq -s '[.[].seq] == [range(1; length + 1)]' <<<"$body")" true
	assert_equal "$(jq -sc '[.[] | select(.started) | .task]' <<<"$body")" "[0,1]"
	assert_equal "$(jq -sc '[.[] | select(.started == null) | [.task, .stream, .data]] | sort' <<<"$body")" \
	    '[[0,"stderr","err\n"],[0,"stdout","out\n"],[0,"stdout","tail"],[1,"stdout","second\n"]]'
	# The boundary carries the task's pid, as the job's status does.
	http GET /job/a
	local pid
	pid=$(jb .tasks[1].pid)
	getlog a "task=1"
	assert_equal "$(jq -sc '[.[] | .started // .data]' <<<"$body")" "[$pid,\"second\\n\"]"
	jq -e 'select(.data) | .time | test("^20[0-9-]+T[0-9:.]+Z$")' <<<"$body" >/dev/null
	getlog a "stream=stderr&format=raw"
	assert_equal "$body" err
	[[ $headers == *"Content-Type: application/octet-stream"* ]]
	getlog a "tail=2&format=raw"
	assert_equal "$body" $'tailsecond'
	getlog a "since=4"
	assert_equal "$(jq -sc '[.[].seq]' <<<"$body")" "[5,6]"
}

@test "order and completeness: 100,000 numbered lines on fd 1 and 2 each are in the log once, in order per stream" {
	jobd_start
	put a "$(job "$(log_task /usr/bin/python3 -c '
import os
out = "".join("out %d\n" % i for i in range(100000)).encode()
err = "".join("err %d\n" % i for i in range(100000)).encode()
# Interleaved, in pieces of every size, as a busy program writes.
o = e = 0
step = 1
while o < len(out) or e < len(err):
    if o < len(out):
        o += os.write(1, out[o:o + step])
    if e < len(err):
        e += os.write(2, err[e:e + 3 * step])
    step = step % 9000 + 7
')" | jq -c '.log = {max_bytes: 33554432}')"
	assert_equal "$code" 201
	wait_job a 60
	assert_equal "$(jb .tasks[0].exit_code)" 0
	curl -s --unix-socket "$SOCK" "http://localhost/job/a/log?stream=stdout&format=raw" >"$T/out"
	curl -s --unix-socket "$SOCK" "http://localhost/job/a/log?stream=stderr&format=raw" >"$T/err"
	/usr/bin/python3 -c 'import sys; sys.stdout.write("".join("out %d\n" % i for i in range(100000)))' >"$T/out.want"
	/usr/bin/python3 -c 'import sys; sys.stdout.write("".join("err %d\n" % i for i in range(100000)))' >"$T/err.want"
	cmp "$T/out" "$T/out.want"
	cmp "$T/err" "$T/err.want"
	# One record a line, none partial.
	curl -s --unix-socket "$SOCK" "http://localhost/job/a/log" |
	    jq -s '[.[] | select(.data)] | [length, (map(select(.partial)) | length)]' -c >"$T/n"
	assert_equal "$(cat "$T/n")" "[200000,0]"
}

@test "follow: lines arrive while the task runs; the body ends with the job, with an end record" {
	jobd_start
	put f "$(job "$(log_task /bin/sh -c "echo first; while [ ! -e $T/go ]; do sleep 0.02; done; echo second")")"
	curl -sN --unix-socket "$SOCK" "http://localhost/job/f/log?follow=1" >"$T/follow" &
	local cpid=$!
	wait_until "grep -q first $T/follow" 10
	run ! grep -q second "$T/follow"
	alive "$cpid"
	touch "$T/go"
	wait_until "! alive $cpid" 10
	wait "$cpid"
	assert_equal "$(jq -sc '[.[] | .data // (if .end then "end " + .state else "start" end)]' <"$T/follow")" \
	    '["start","first\n","second\n","end exited"]'
	# A finished job: everything, then the end record at once.
	run -0 curl -s --max-time 5 --unix-socket "$SOCK" "http://localhost/job/f/log?follow=1&format=raw"
	assert_output $'first\nsecond'
	# Without log fds: no records; follow waits for the job's end.
	put n "$(sh_job "while [ ! -e $T/go2 ]; do sleep 0.02; done")"
	curl -sN --unix-socket "$SOCK" "http://localhost/job/n/log?follow=1" >"$T/fn" &
	cpid=$!
	sleep 0.3
	alive "$cpid"
	touch "$T/go2"
	wait_until "! alive $cpid" 10
	assert_equal "$(cat "$T/fn")" '{"end":true,"state":"exited"}'
}

@test "rotation: the oldest records go first, the log stays under max_bytes; a reader behind gets a gap record" {
	jobd_start
	put r "$(job "$(log_task /bin/sh -c "i=0; while [ \$i -lt 2000 ]; do echo line \$i; i=\$((i+1)); done")" |
	    jq -c '.log = {max_bytes: 8192}')"
	assert_equal "$code" 201
	wait_job r
	local size
	size=$(du -sb "$JOBD_STATE_DIR/logs/r" | cut -f1)
	[ "$size" -lt 16384 ] || fail "log directory holds $size bytes"
	getlog r
	local first last
	first=$(jq -s '[.[] | select(.data)][0].data' <<<"$body")
	last=$(jq -s '[.[] | select(.data)][-1].data' <<<"$body")
	assert_equal "$last" '"line 1999\n"'
	[ "$first" != '"line 0\n"' ]
	# No gap for a reader who asked from the start: the log begins later.
	run ! grep -q gap <<<"$body"
	# A reader who had seq 5 missed the rest up to the first kept.
	local kept
	kept=$(jq -s '[.[] | .seq][0]' <<<"$body")
	getlog r "since=5"
	assert_equal "$(head -1 <<<"$body")" "{\"gap\":[6,$((kept - 1))]}"
	assert_equal "$(sed -n 2p <<<"$body" | jq .seq)" "$kept"
	# The lines kept are the newest, whole and in order.
	assert_equal "$(jq -rs '[.[] | select(.data) | .data | ltrimstr("line ") | rtrimstr("\n") | tonumber] |
	    . == [range(.[0]; 2000)]' <<<"$body")" true
}

@test "a follower that falls behind rotation gets a gap, then goes on" {
	jobd_start
	# More than the client's socket and jobd's buffer for it hold.
	put g "$(job "$(log_task /bin/sh -c "echo one; while [ ! -e $T/go ]; do sleep 0.02; done; seq 0 29999 | sed 's/^/line /'; touch $T/done; while [ ! -e $T/end ]; do sleep 0.02; done")" |
	    jq -c '.log = {max_bytes: 4096}')"
	# A client that reads the first record, then stops reading while
	# the log turns over many times, then reads on.
	/usr/bin/python3 - "$SOCK" "$T" <<'EOF' &
import socket, sys, os, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(b"GET /job/g/log?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n")
got = b""
while b"one" not in got:
    got += s.recv(65536)
open(sys.argv[2] + "/go", "w").close()
while not os.path.exists(sys.argv[2] + "/done"):
    time.sleep(0.02)
open(sys.argv[2] + "/end", "w").close()
while not got.endswith(b"0\r\n\r\n"):
    d = s.recv(65536)
    if not d:
        break
    got += d
open(sys.argv[2] + "/got", "wb").write(got)
EOF
	local cpid=$!
	wait_until "! alive $cpid" 30
	wait "$cpid"
	# The chunked body, ungrouped: a gap, and the last line at the end.
	grep -q '"gap":\[' "$T/got"
	grep -q '"data":"line 29999\\n"' "$T/got"
	grep -q '"end":true' "$T/got"
}

@test "a 1 MB line is cut into 64 KiB partial records, joined again by format=raw" {
	jobd_start
	put l "$(job "$(log_task /usr/bin/python3 -c '
import sys
sys.stdout.write("x" * 1048576 + "\nshort\n")')" | jq -c '.log = {max_bytes: 4194304}')"
	wait_job l
	getlog l
	assert_equal "$(jq -sc '[.[] | select(.data) | [(.data | length), (.partial // false)]] |
	    [length, .[0], .[-2], .[-1]]' <<<"$body")" '[18,[65536,true],[1,false],[6,false]]'
	curl -s --unix-socket "$SOCK" "http://localhost/job/l/log?format=raw" >"$T/raw"
	assert_equal "$(wc -c <"$T/raw")" $((1048576 + 7))
	assert_equal "$(head -c 1048576 "$T/raw" | tr -d x | wc -c)" 0
}

@test "bytes that are not UTF-8 come back exactly: data_b64 in ndjson, as they are in raw" {
	jobd_start
	put b "$(job "$(log_task /usr/bin/printf 'ok \303\251\n\377\376 bad \000 nul\n')")"
	wait_job b
	getlog b
	assert_equal "$(jq -sc '[.[] | select(.started == null)] | map(.data // ("b64:" + .data_b64))' <<<"$body")" \
	    '["ok é\n","b64://4gYmFkIAAgbnVsCg=="]'
	curl -s --unix-socket "$SOCK" "http://localhost/job/b/log?format=raw" >"$T/raw"
	printf 'ok \303\251\n\377\376 bad \000 nul\n' >"$T/want"
	cmp "$T/raw" "$T/want"
}

@test "a reader that never reads slows neither a flooding task nor other clients" {
	jobd_start
	# Two clients follow the log and never read a byte.
	local i pids=
	for i in 1 2; do
		/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(b"GET /job/flood/log?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(60)' "$SOCK" "$T" 3>&- &
		pids="$pids $!"
	done
	# 64 MB of output through a 1 MiB log: the task ends, jobd answers.
	put flood "$(job "$(log_task /usr/bin/python3 -c '
import os
line = b"y" * 99 + b"\n"
block = line * 10000
for i in range(64):
    os.write(1, block)')")"
	assert_equal "$code" 201
	wait_job flood 60
	assert_equal "$(jb .tasks[0].exit_code)" 0
	http GET /
	assert_equal "$code" 200
	getlog flood "tail=1&format=raw"
	assert_equal "$body" "$(printf 'y%.0s' $(seq 99))"
	local size
	size=$(du -sb "$JOBD_STATE_DIR/logs/flood" | cut -f1)
	[ "$size" -le $((1024 * 1024 + 65536)) ] || fail "log holds $size bytes"
	# jobd's memory is buffers, not output: well under the 64 MB.
	local rss
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$JOBD_PID/status")
	sanitized || [ "$rss" -lt 32768 ] || fail "jobd RSS is $rss kB"
	kill $pids
	wait $pids 2>/dev/null || true
}

@test "the log survives a kill -9 of jobd under jobinit: no line lost or doubled, the task never blocked for good" {
	"$JOBINIT" --listen "unix:$SOCK" -- "$JOBD" </dev/null >>"$T/jobinit.log" 2>&1 3>&- &
	JI_PID=$!
	wait_until "curl -s --max-time 1 --unix-socket $SOCK http://localhost/ >/dev/null" 10
	# Numbered lines, written in two pieces each, so that a kill can
	# fall inside a line.
	put k "$(job "$(log_task /bin/sh -c "i=0; while [ \$i -lt 3000 ]; do printf 'line '; echo \$i; i=\$((i+1)); [ \$((i % 500)) = 0 ] && sleep 0.2; done")" |
	    jq -c '.log = {max_bytes: 4194304}')"
	assert_equal "$code" 201
	local n pid
	for n in 1 2 3; do
		sleep 0.3
		pid=$(curl -s --unix-socket "$SOCK" http://localhost/ | jq -r .pid)
		kill -KILL "$pid"
		wait_until "[ \"\$(curl -s --max-time 1 --unix-socket $SOCK http://localhost/ | jq -r .pid)\" != $pid ]" 20
	done
	http GET "/job/k?wait=30"
	assert_equal "$(jb .state)" exited
	curl -s --unix-socket "$SOCK" "http://localhost/job/k/log?format=raw" >"$T/raw"
	seq 0 2999 | sed 's/^/line /' >"$T/want"
	cmp "$T/raw" "$T/want"
	http GET /
	assert_equal "$(jb .restarts)" 3
}

@test "the log stays with a finished job across a jobd restart, and goes when the job is forgotten" {
	jobd_start
	put a "$(job "$(log_task /bin/echo kept)")"
	wait_job a
	jobd_stop
	jobd_start
	getlog a "format=raw"
	assert_equal "$body" kept
	[ -d "$JOBD_STATE_DIR/logs/a" ]
	http DELETE /job/a
	assert_equal "$code" 200
	[ ! -e "$JOBD_STATE_DIR/logs/a" ]
	# A job of the same name starts a log of its own.
	put a "$(job "$(log_task /bin/echo new)")"
	wait_job a
	getlog a
	assert_equal "$(jq -sc '[.[] | .seq]' <<<"$body")" "[1,2]"
	assert_equal "$(jq -sc '[.[] | .data // empty]' <<<"$body")" '["new\n"]'
}

@test "bad input: unknown query values are 400, log on fd 0 is 400, max_bytes over --max-log is 400, unknown job 404" {
	jobd_start --max-log 65536
	put a "$(job "$(log_task /bin/true)")"
	local q
	for q in follow=2 format=json since=-1 since=x tail=1.5 task=64 \
	    task=a "stream=a%20b" stream= bogus=1; do
		getlog a "$q"
		assert_equal "$code" 400
		jb .error | grep -q . || fail "no error for $q"
	done
	getlog a "format=yaml"
	assert_equal "$(jb .error)" 'format must be ndjson or raw, not "yaml"'
	getlog nope
	assert_equal "$code" 404
	assert_equal "$(jb .error)" "no such job: nope"
	put b "$(job "$(task /bin/true | jq -c '.fd = [{type: "log"}]')")"
	assert_equal "$code" 400
	assert_equal "$(jb .path)" "tasks[0].fd[0].type"
	put b "$(job "$(log_task /bin/true)" | jq -c '.log = {max_bytes: 65537}')"
	assert_equal "$code" 400
	assert_equal "$(jb .path)" "log.max_bytes"
	jb .error | grep -q -- --max-log
	put b "$(job "$(log_task /bin/true)" | jq -c '.log = {max_bytes: 100}')"
	assert_equal "$code" 400
	put b "$(job "$(log_task /bin/true)" | jq -c '.log = {max: 1}')"
	assert_equal "$code" 400
	put b "$(job "$(task /bin/true | jq -c '.fd = [null, {type: "log", stream: "a b"}]')")"
	assert_equal "$code" 400
	assert_equal "$(jb .path)" "tasks[0].fd[1].stream"
	put b "$(job "$(task /bin/true | jq -c '.fd = [null, {type: "log", path: "/x"}]')")"
	assert_equal "$code" 400
	# jobd still serves, and a custom stream name is used.
	put c "$(job "$(task /bin/sh -c 'echo hi >&3' | jq -c '.fd = [null, null, null, {type: "log", stream: "audit"}]')")"
	assert_equal "$code" 201
	wait_job c
	getlog c "stream=audit&format=raw"
	assert_equal "$body" hi
}

@test "HEAD of a log: the head alone; HTTP/1.0: the body until close" {
	jobd_start
	put a "$(job "$(log_task /bin/echo hi)")"
	wait_job a
	http HEAD /job/a/log
	assert_equal "$code" 200
	[[ $headers == *"Content-Type: application/x-ndjson"* ]]
	[[ $body != *hi* ]]
	run -0 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /job/a/log?format=raw HTTP/1.0\r\n\r\n")
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
sys.stdout.write(got.decode().split("\r\n\r\n", 1)[1])' "$SOCK"
	assert_output hi
}
