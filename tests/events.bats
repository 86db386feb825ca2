#!/usr/bin/env bats
# The event stream (the contract's section 9): every state change once
# and in order, since= replays, a stalled reader gets a gap and goes on,
# list-then-follow misses nothing, heartbeats, seq across restarts, bad
# queries, and GET /metrics in the Prometheus text format.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	in_test_dir
}

# events [QUERY]: the history into $body.
events() {
	http GET "/events${1:+?$1}"
}

# jev FILTER: jq -c over every event line of $body.
jev() {
	jq -c "$1" <<<"$body"
}

@test "a chain's every state change, once and in order: a task failing mid-chain, skipped and cancelled ones" {
	jobd_start
	# Task 1 exits 3, task 2 cannot start: failed, task 3 skipped.
	put a "$(job "$(task /bin/sh -c 'exit 3')" "$(task "$T/missing")" "$(task /bin/true)")"
	assert_equal "$code" 201
	wait_job a
	# b: stopped while its first task runs: the rest are cancelled.
	put b "$(job "$(task /bin/sleep 100)" "$(task /bin/true)")"
	http GET /job/b
	local pid
	pid=$(jb .pid)
	http DELETE /job/b
	assert_equal "$code" 202
	wait_until "! alive $pid"
	wait_until "curl -s --unix-socket $SOCK http://localhost/events?job=b | grep -q forgotten"
	events "job=a"
	assert_equal "$(jev '[.type, .action, .task, .exit_code, .state]')" "$(cat <<'EOF'
["job","created",null,null,"running"]
["task","started",0,null,"running"]
["job","started",null,null,"running"]
["task","exited",0,3,"exited"]
["task","failed",1,null,"failed"]
["task","skipped",2,null,"skipped"]
["job","failed",null,null,"failed"]
EOF
)"
	jev 'select(.action == "failed" and .type == "task") | .error' | grep -q "missing"
	events "job=b"
	assert_equal "$(jev '[.type, .action, .task, .signal]')" "$(cat <<'EOF'
["job","created",null,null]
["task","started",0,null]
["job","started",null,null]
["job","deleted",null,null]
["job","stopping",null,null]
["task","killed",0,"TERM"]
["task","cancelled",1,null]
["job","exited",null,null]
["job","forgotten",null,null]
EOF
)"
	# The started task's pid, as the status had it.
	assert_equal "$(jev 'select(.action == "started" and .type == "task") | .pid')" "$pid"
	# Every event: seq increasing by one, a time, all the fields.
	events
	assert_equal "$(jq -s '[.[].seq] == [range(.[0].seq; .[0].seq + length)]' <<<"$body")" true
	assert_equal "$(jq -s 'map(keys) | unique | length' <<<"$body")" 1
	assert_equal "$(jq -sc '.[0] | keys' <<<"$body")" \
	    '["action","error","exit_code","job","pid","seq","signal","state","task","time","type"]'
	assert_equal "$(jq -sc '.[0] | [.type, .action]' <<<"$body")" '["daemon","started"]'
}

@test "since replays exactly what followed; a list's X-Jobd-Seq and the events after it agree" {
	jobd_start
	put a "$(sh_job 'exit 0')"
	wait_job a
	http GET /jobs
	local seq
	seq=$(grep -i '^X-Jobd-Seq:' <<<"$headers" | tr -d '\r' | awk '{print $2}')
	[ -n "$seq" ]
	events
	assert_equal "$(jq -s '.[-1].seq' <<<"$body")" "$seq"
	put b "$(sh_job 'exit 0')"
	wait_job b
	events "since=$seq"
	assert_equal "$(jq -s '.[0].seq' <<<"$body")" $((seq + 1))
	assert_equal "$(jev 'select(.job == "a")')" ""
	assert_equal "$(jev 'select(.job == "b") | .action' | tr -d '"' | tr '\n' ' ')" \
	    "created started started exited exited "
	# since at the end: nothing; since past the end: nothing yet.
	events "since=$(jq -s '.[-1].seq' <<<"$body")"
	assert_equal "$body" ""
	events "since=999999"
	assert_equal "$code" 200
	assert_equal "$body" ""
}

@test "a follower that stalls while 90,000 events happen gets a gap record, then goes on" {
	jobd_start --keep-finished 10
	# A job whose first task cannot start: 66 events and no process.
	local j
	j=$(job "$(task "$T/missing")" $(for i in $(seq 63); do task /bin/true; done))
	printf '%s' "$j" >"$T/job.json"
	/usr/bin/python3 - "$SOCK" "$T" <<'EOF' &
import socket, sys, os, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(b"GET /events?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n")
got = s.recv(4096)
open(sys.argv[2] + "/attached", "w").close()
while not os.path.exists(sys.argv[2] + "/storm.done"):
    time.sleep(0.05)
s.settimeout(10)
while b'"action":"created","job":"last"' not in got:
    d = s.recv(1 << 20)
    if not d:
        break
    got += d
open(sys.argv[2] + "/got", "wb").write(got)
EOF
	local cpid=$!
	wait_until "[ -e $T/attached ]" 10
	curl -s --unix-socket "$SOCK" -X PUT --data-binary @"$T/job.json" \
	    -o /dev/null "http://localhost/job/s[1-1400]"
	touch "$T/storm.done"
	put last "$(sh_job 'exit 0')"
	wait_until "! alive $cpid" 30
	wait "$cpid"
	grep -q '{"gap":\[' "$T/got" || fail "no gap record"
	grep -q '"action":"created","job":"last"' "$T/got"
	# Not a stalled reader: the history keeps at least 10,000 events.
	events
	[ "$(jq -s length <<<"$body")" -ge 10000 ]
	assert_equal "$(jq -s '[.[].seq] == [range(.[0].seq; .[0].seq + length)]' <<<"$body")" true
	# A reader from an older seq than kept: the gap first.
	events "since=1"
	assert_equal "$(head -1 <<<"$body" | jq -c '.gap[0]')" 2
}

@test "list then follow under a concurrent PUT storm: each job is in the list or its created event follows, never both or neither" {
	jobd_start --keep-finished 1000
	put x "$(sh_job 'exit 0')"
	printf '%s' "$(sh_job 'exit 0')" >"$T/job.json"
	curl -s --unix-socket "$SOCK" -X PUT --data-binary @"$T/job.json" \
	    -o /dev/null "http://localhost/job/p[1-300]" &
	local storm=$!
	sleep 0.1
	http GET /jobs
	local seq
	seq=$(grep -i '^X-Jobd-Seq:' <<<"$headers" | tr -d '\r' | awk '{print $2}')
	jb '.jobs[].name' | sort >"$T/listed"
	curl -sN --unix-socket "$SOCK" "http://localhost/events?follow=1&since=$seq" >"$T/follow" &
	local fpid=$!
	wait "$storm"
	put end "$(sh_job 'exit 0')"
	wait_until "grep -q '\"job\":\"end\"' $T/follow" 10
	kill "$fpid"
	wait "$fpid" || true
	grep -c . "$T/listed" >/dev/null
	jq -r 'select(.action == "created") | .job' "$T/follow" | sort >"$T/created"
	# Every storm job: in exactly one of the two.
	local n both
	n=$(cat "$T/listed" "$T/created" | grep -c '^p')
	both=$(comm -12 "$T/listed" "$T/created" | grep -c '^p' || true)
	assert_equal "$n" 300
	assert_equal "$both" 0
	# And the list was taken during the storm, not before or after it.
	[ "$(grep -c '^p' "$T/created")" -gt 0 ] || [ "$(grep -c '^p' "$T/listed")" -lt 300 ] ||
	    skip "the storm ended before the list was taken"
}

@test "heartbeats on an idle stream; a follower ends when jobd stops" {
	jobd_start --heartbeat 0.3
	curl -sN --unix-socket "$SOCK" "http://localhost/events?follow=1" >"$T/follow" &
	local fpid=$!
	wait_until "[ \$(grep -c heartbeat $T/follow) -ge 2 ]" 10
	local seq
	seq=$(jq -s '[.[] | select(.seq)][-1].seq' "$T/follow")
	assert_equal "$(grep heartbeat "$T/follow" | head -1)" "{\"heartbeat\":$seq}"
	jobd_stop
	wait_until "! alive $fpid" 10
	wait "$fpid"
}

@test "seq goes on across restarts of jobd, and the history with it" {
	jobd_start
	put a "$(sh_job 'exit 0')"
	wait_job a
	events
	local last
	last=$(jq -s '.[-1].seq' <<<"$body")
	jobd_stop
	jobd_start
	events "since=$last"
	assert_equal "$(jq -s '.[0] | [.seq, .type, .action] | @text' <<<"$body")" "\"[$((last + 1)),\\\"daemon\\\",\\\"started\\\"]\""
	events
	assert_equal "$(jq -s '.[0].seq' <<<"$body")" 1
	# kill -9: the events written before it are there, seq goes on.
	put b "$(sh_job 'exit 0')"
	wait_job b
	events
	last=$(jq -s '.[-1].seq' <<<"$body")
	kill -KILL "$JOBD_PID"
	wait "$JOBD_PID" || true
	JOBD_PID=
	jobd_start
	events "since=$((last - 1))"
	assert_equal "$(jq -sc '[.[] | .seq]' <<<"$body")" "[$last,$((last + 1))]"
}

@test "bad queries are 400 naming what is wrong; ?wait= still answers" {
	jobd_start
	local q
	for q in since=x since=-1 follow=2 "job=a%2Fb" job= bogus=1 tail=1; do
		events "$q"
		assert_equal "$code" 400
		jb .error | grep -q . || fail "no error for $q"
	done
	events "follow=yes"
	assert_equal "$(jb .error)" 'follow must be 1 or 0, not "yes"'
	http POST /events
	assert_equal "$code" 405
	put w "$(sh_job 'sleep 0.2; exit 4')"
	http GET "/job/w?wait=10"
	assert_equal "$(jb .tasks[0].exit_code)" 4
}

@test "GET /metrics: the Prometheus text format, with what jobd counts" {
	jobd_start
	put a "$(sh_job 'exit 0')"
	put b "$(sh_job 'exit 5')"
	put c "$(job "$(task "$T/missing")")"
	put d "$(job "$(task /bin/sh -c 'kill -KILL $$')")"
	wait_job a; wait_job b; wait_job d
	http GET /metrics
	assert_equal "$code" 200
	[[ $headers == *"Content-Type: text/plain; version=0.0.4"* ]]
	# Parse it: HELP and TYPE before each family's samples, names and
	# labels well formed, numbers for values, counters end in _total.
	run -0 /usr/bin/python3 -c '
import re, sys
types = {}
helps = set()
vals = {}
for line in sys.stdin.read().splitlines():
    m = re.match(r"# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$", line)
    if m:
        helps.add(m.group(1)); continue
    m = re.match(r"# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$", line)
    if m:
        types[m.group(1)] = m.group(2); continue
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\})? (-?[0-9.e+]+)$", line)
    assert m, "bad line: " + line
    name = m.group(1)
    assert name in types and name in helps, "no TYPE/HELP for " + name
    assert types[name] != "counter" or name.endswith("_total"), name
    vals[name + (m.group(2) or "")] = float(m.group(4))
for k in sorted(vals):
    print("%s %g" % (k, vals[k]))
' <<<"$body"
	assert_line 'jobd_tasks_started_total 3'
	assert_line 'jobd_tasks_failed_total 1'
	assert_line 'jobd_task_exits_total{class="0"} 1'
	assert_line 'jobd_task_exits_total{class="nonzero"} 1'
	assert_line 'jobd_task_exits_total{class="signal"} 1'
	assert_line 'jobd_jobs{state="failed"} 1'
	assert_line 'jobd_jobs{state="exited"} 3'
	assert_line 'jobd_connections 1'
	assert_line 'jobd_event_readers 0'
}
