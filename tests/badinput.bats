#!/usr/bin/env bats
# Bad input of every kind gets a clear error (status, sentence, JSON path)
# and jobd keeps serving with the same number of fds it had before.

load helpers

setup() {
	jobd_start
	T=$BATS_TEST_TMPDIR
	http GET /
	FDS0=$(fd_count "$JOBD_PID")
}

# Afterwards: alive, answering, not one fd more than before.
check_intact() {
	alive "$JOBD_PID"
	http GET /
	assert_equal "$code" 200
	wait_until "[ \$(fd_count $JOBD_PID) -eq $FDS0 ]" 5 ||
		fail "fds: $FDS0 before, $(fd_count "$JOBD_PID") after: $(ls -l /proc/$JOBD_PID/fd)"
}

# bad STATUS PATH BODY: PUT /job/x with BODY gets STATUS naming PATH
# ("null" for none), and no job x exists after.
bad() {
	local want=$1 path=$2 data=$3
	put x "$data"
	if [ "$code" != "$want" ] || [ "$(jb .path)" != "$path" ]; then
		fail "body: $data
want: $want $path
got:  $code $(jb .path) $(jb .error)"
	fi
	[ -n "$(jb .error)" ] && [ "$(jb .error)" != null ]
	http GET /job/x
	assert_equal "$code" 404
}

# A valid task to break one piece of.
base() {
	jq -nc --arg cwd "$T" '{tasks: [{exec: "/bin/true", args: [], envs: {}, cwd: $cwd, fd: []}]}'
}

# mod 'jq expression': the base job with that change.
mod() {
	base | jq -c "$1"
}

@test "malformed bodies and JSON: 400" {
	bad 400 "" ''
	bad 400 "" 'hello'
	bad 400 "" '{"tasks":['
	bad 400 "" '{"tasks":[]}}'
	bad 400 "" '[]'
	bad 400 "" '"a string"'
	bad 400 "" '42'
	bad 400 "" 'null'
	bad 400 "" "$(printf '{"tasks": [\x01]}')"
	bad 400 "" '{"tasks":[{"exec":"/bin/true\u0000x","args":[],"envs":{},"cwd":"/","fd":[]}]}'
	check_intact
}

@test "the job object: missing, mistyped and unknown fields name their path" {
	bad 400 tasks '{}'
	bad 400 tasks '{"tasks": {}}'
	bad 400 tasks '{"tasks": "x"}'
	bad 400 tasks '{"tasks": []}'
	bad 400 tasks "$(mod '.tasks[0] as $t | .tasks = [range(65) | $t]')"
	bad 400 foo "$(mod '.foo = 1')"
	bad 400 stop_timeout "$(mod '.stop_timeout = "10"')"
	bad 400 stop_timeout "$(mod '.stop_timeout = -1')"
	bad 400 'tasks[0]' "$(mod '.tasks[0] = "sh"')"
	bad 400 'tasks[0]' "$(mod '.tasks[0] = null')"
	check_intact
}

@test "task fields: every missing one, wrong types, unknown ones" {
	local f
	for f in exec args envs cwd fd; do
		bad 400 "tasks[0].$f" "$(mod "del(.tasks[0].$f)")"
	done
	bad 400 'tasks[1].cwd' "$(mod '.tasks[1] = (.tasks[0] | del(.cwd))')"
	bad 400 'tasks[0].exec' "$(mod '.tasks[0].exec = 5')"
	bad 400 'tasks[0].exec' "$(mod '.tasks[0].exec = ""')"
	bad 400 'tasks[0].exec' "$(mod '.tasks[0].exec = "/bin/tr\nue"')"
	bad 400 'tasks[0].args' "$(mod '.tasks[0].args = "a b"')"
	bad 400 'tasks[0].args[1]' "$(mod '.tasks[0].args = ["a", 2]')"
	bad 400 'tasks[0].envs' "$(mod '.tasks[0].envs = ["A=1"]')"
	bad 400 'tasks[0].envs.N' "$(mod '.tasks[0].envs = {"N": 1}')"
	bad 400 'tasks[0].envs.A=B' "$(mod '.tasks[0].envs = {"A=B": "1"}')"
	bad 400 'tasks[0].envs.' "$(mod '.tasks[0].envs = {"": "1"}')"
	bad 400 'tasks[0].cwd' "$(mod '.tasks[0].cwd = "relative/dir"')"
	bad 400 'tasks[0].cwd' "$(mod '.tasks[0].cwd = false')"
	bad 400 'tasks[0].env' "$(mod '.tasks[0].env = {}')"
	bad 400 'tasks[0].fd' "$(mod '.tasks[0].fd = {}')"
	bad 400 'tasks[0].fd' "$(mod '.tasks[0].fd = [range(65) | null]')"
	bad 400 'tasks[0].user' "$(mod '.tasks[0].user = true')"
	bad 400 'tasks[0].user' "$(mod '.tasks[0].user = -1')"
	bad 400 'tasks[0].user' "$(mod '.tasks[0].user = 1.5')"
	bad 400 'tasks[0].user' "$(mod '.tasks[0].user = "no-such-user-anywhere"')"
	bad 400 'tasks[0].group' "$(mod '.tasks[0].group = []')"
	bad 400 'tasks[0].group' "$(mod '.tasks[0].group = "no-such-group-anywhere"')"
	bad 400 'tasks[0].exec' '{"tasks":[{"exec":"/bin/true","exec":"/bin/false","args":[],"envs":{},"cwd":"/","fd":[]}]}'
	check_intact
}

@test "fd entries: missing, mistyped and unknown fields; 501 for unknown types" {
	local fd='.tasks[0].fd'
	bad 400 'tasks[0].fd[0]' "$(mod "$fd = [\"/dev/null\"]")"
	bad 400 'tasks[0].fd[0]' "$(mod "$fd = [3]")"
	bad 400 'tasks[0].fd[0].type' "$(mod "$fd = [{}]")"
	bad 400 'tasks[0].fd[0].type' "$(mod "$fd = [{\"type\": 1}]")"
	bad 400 'tasks[0].fd[1].mode' "$(mod "$fd = [null, {type: \"file\", path: \"/tmp/x\"}]")"
	bad 400 'tasks[0].fd[1].path' "$(mod "$fd = [null, {type: \"file\", mode: \"w\"}]")"
	bad 400 'tasks[0].fd[1].mode' "$(mod "$fd = [null, {type: \"file\", path: \"/tmp/x\", mode: \"x\"}]")"
	bad 400 'tasks[0].fd[1].mode' "$(mod "$fd = [null, {type: \"file\", path: \"/tmp/x\", mode: 1}]")"
	bad 400 'tasks[0].fd[1].path' "$(mod "$fd = [null, {type: \"file\", path: \"x\", mode: \"w\"}]")"
	bad 400 'tasks[0].fd[1].port' "$(mod "$fd = [null, {type: \"file\", path: \"/x\", mode: \"w\", port: 1}]")"
	bad 400 'tasks[0].fd[1].mode' "$(mod "$fd = [null, {type: \"pipe\", path: \"/tmp/p\", mode: \"a\"}]")"
	bad 400 'tasks[0].fd[3].path' "$(mod "$fd = [null, null, null, {type: \"unix socket\"}]")"
	bad 400 'tasks[0].fd[3].path' "$(mod "$fd = [null, null, null, {type: \"unix socket\", path: \"rel.sock\"}]")"
	bad 400 'tasks[0].fd[3].path' "$(mod "$fd = [null, null, null, {type: \"unix socket\", path: (\"/\" + (\"a\" * 120))}]")"
	bad 400 'tasks[0].fd[3].port' "$(mod "$fd = [null, null, null, {type: \"network socket\", bind: \"127.0.0.1\"}]")"
	bad 400 'tasks[0].fd[3].bind' "$(mod "$fd = [null, null, null, {type: \"network socket\", port: 80}]")"
	bad 400 'tasks[0].fd[3].port' "$(mod "$fd = [null, null, null, {type: \"network socket\", bind: \"127.0.0.1\", port: 70000}]")"
	bad 400 'tasks[0].fd[3].port' "$(mod "$fd = [null, null, null, {type: \"network socket\", bind: \"127.0.0.1\", port: 80.5}]")"
	bad 400 'tasks[0].fd[3].port' "$(mod "$fd = [null, null, null, {type: \"network socket\", bind: \"127.0.0.1\", port: \"80\"}]")"
	bad 400 'tasks[0].fd[3].bind' "$(mod "$fd = [null, null, null, {type: \"network socket\", bind: \"localhost.example\", port: 80}]")"
	bad 400 'tasks[0].fd[3].protocol' "$(mod "$fd = [null, null, null, {type: \"network socket\", bind: \"127.0.0.1\", port: 80, protocol: \"sctp\"}]")"
	bad 400 'tasks[0].fd[3].name' "$(mod "$fd = [null, null, null, {type: \"network socket\", bind: \"127.0.0.1\", port: 0, name: \"a:b\"}]")"
	bad 400 'tasks[0].fd[0].path' "$(mod "$fd = [{type: \"null\", path: \"/dev/null\"}]")"
	bad 501 'tasks[0].fd[3]' "$(mod "$fd = [null, null, null, {type: \"tty\"}]")"
	bad 501 'tasks[0].fd[3]' "$(mod "$fd = [null, null, null, {type: \"socket\", bind: 1, port: \"x\"}]")"
	bad 501 'tasks[2].fd[0]' "$(mod '.tasks[1] = .tasks[0] | .tasks[2] = .tasks[0] | .tasks[2].fd = [{type: "eventfd"}]')"
	check_intact
}

@test "bad job names are 400 on every route" {
	local n
	for n in '' .hidden -dash 'a%20b' a%2Fb "$(head -c 65 /dev/zero | tr '\0' a)" '%C3%A9t%C3%A9' 'a*b' 'a%00b'; do
		http GET "/job/$n"
		assert_equal "$code" 400
		put "$n" "$(base)"
		assert_equal "$code" 400
		http DELETE "/job/$n"
		assert_equal "$code" 400
		http POST "/job/$n/signal" -d '{"signal":"HUP"}'
		assert_equal "$code" 400
	done
	# 64 characters is fine
	put "$(head -c 64 /dev/zero | tr '\0' a)" "$(base)"
	assert_equal "$code" 201
	check_intact
}

@test "bad queries and signals: 400" {
	put q "$(mod '.tasks[0].exec = "/bin/sleep" | .tasks[0].args = ["100"]')"
	local u
	for u in '/job/q?wait=abc' '/job/q?wait=-1' '/job/q?wait=1e9' '/job/q?wait=' '/job/q?foo=1' '/jobs?wait=1' '/?x'; do
		http GET "$u"
		assert_equal "$code" 400
	done
	for u in '{"signal": "NOPE"}' '{"signal": 0}' '{"signal": 99}' '{"signal": -9}' '{"signal": true}' '[]' 'x' ''; do
		http POST /job/q/signal -d "$u"
		assert_equal "$code" 400
	done
	check_intact
}

@test "malformed HTTP: 400 (or the matching status) and the connection is closed" {
	local req
	while IFS= read -r req; do
		printf "$req" >"$T/req"
		run $CLIENT --unix "$SOCK" --timeout 5 <"$T/req"
		assert_success
		[[ $output =~ ^HTTP/1\.1\ (400|405|413|417|505) ]] || fail "request: $req
reply: $output"
		assert_output --partial 'Connection: close'
		assert_output --partial '"error":'
	done <<'EOF2'
GARBAGE\r\n\r\n
GET\r\n\r\n
GET / HTTP/9.9\r\n\r\n
GET / HTTP/2.0\r\n\r\n
GET / FOO/1.1\r\n\r\n
GET / HTTP/1.1\r\nNo-Colon-Here\r\n\r\n
GET / HTTP/1.1\r\nBad Header: x\r\n\r\n
PUT /job/x HTTP/1.1\r\nContent-Length: abc\r\n\r\n
PUT /job/x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n12345
PUT /job/x HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n
PUT /job/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n
GET /\x00 HTTP/1.1\r\n\r\n
GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n
GET / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n
GET / HTTP/1.1\nHost: x\n\n
GET / HTTP/1.1\r\nHost: x\n\r\n
GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n
GET / HTTP/1.1\r\nX: a\rb\r\n\r\n
GET / HTTP/1.1\r\nX\x01: a\r\n\r\n
GET / HTTP/1.1\r\nContent-Length : 0\r\n\r\n
EOF2
	check_intact
}

@test "Transfer-Encoding: only a lone chunked is implemented, any other shape is 501" {
	local good te n=0
	good=$(base)
	# te HEADERS [CL]: PUT /job/tN with those header lines and a chunked
	# body (plus Content-Length: CL if given); the reply in $output.
	te() {
		n=$((n + 1))
		{
			printf 'PUT /job/t%d HTTP/1.1\r\n%s\r\n' "$n" "$1"
			[ -z "${2:-}" ] || printf 'Content-Length: %s\r\n' "$2"
			printf 'Connection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n' \
			    "${#good}" "$good"
		} >"$T/req"
		run $CLIENT --unix "$SOCK" --timeout 5 <"$T/req"
		assert_success
	}
	for h in 'Transfer-Encoding: gzip, chunked' \
	    'Transfer-Encoding: chunked, gzip' \
	    'Transfer-Encoding: identity' \
	    'Transfer-Encoding: gzip' \
	    $'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked' \
	    $'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked' \
	    'Transfer-Encoding: chunked, chunked' \
	    "Transfer-Encoding: $(printf 'x%.0s' $(seq 80)), chunked"; do
		te "$h"
		assert_line --index 0 --regexp '^HTTP/1\.1 501 '
		assert_output --partial '{"error":"Transfer-Encoding other than a lone \"chunked\" is not implemented"'
		http GET "/job/t$n"
		assert_equal "$code" 404
	done
	# With Content-Length too: 501 still for gzip, 400 for chunked.
	te 'Transfer-Encoding: gzip, chunked' 5
	assert_line --index 0 --regexp '^HTTP/1\.1 501 '
	te 'Transfer-Encoding: chunked' 5
	assert_line --index 0 --regexp '^HTTP/1\.1 400 '
	# Any case, spaces around: a lone chunked is taken.
	te 'Transfer-Encoding:   ChUnKeD  '
	assert_line --index 0 --regexp '^HTTP/1\.1 201 '
	te 'transfer-encoding: chunked'
	assert_line --index 0 --regexp '^HTTP/1\.1 201 '
	check_intact
}

@test "disconnects mid-request, mid-body and mid-response leave nothing behind" {
	local good
	good=$(base)
	printf 'PUT /job/d HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s' "${#good}" "$good" >"$T/req"
	local n
	for n in 1 5 17 30 40 60; do
		$CLIENT --unix "$SOCK" --send "$n" <"$T/req"
	done
	# whole request, client gone before reading the answer
	$CLIENT --unix "$SOCK" --no-read <"$T/req"
	# a long poll abandoned
	put w "$(mod '.tasks[0].exec = "/bin/sleep" | .tasks[0].args = ["100"]')"
	printf 'GET /job/w?wait=30 HTTP/1.1\r\n\r\n' >"$T/req2"
	run $CLIENT --unix "$SOCK" --timeout 0.5 <"$T/req2"
	assert_equal "$status" 3
	# many pipelined requests, nothing read
	for n in $(seq 200); do printf 'GET /jobs HTTP/1.1\r\n\r\n'; done >"$T/req3"
	$CLIENT --unix "$SOCK" --no-read <"$T/req3"
	check_intact
	http GET /job/w
	assert_equal "$(jb .state)" running
}

@test "answers are UTF-8 even when what the client sent is not" {
	printf 'GET /x\xff\xfe%s HTTP/1.1\r\nConnection: close\r\n\r\n' "$(printf 'a%.0s' $(seq 197))é" >"$T/req"
	run $CLIENT --unix "$SOCK" <"$T/req"
	assert_output --partial "HTTP/1.1 404"
	local b
	b=$(sed '1,/^\r$/d' <<<"$output")
	iconv -f UTF-8 -t UTF-8 <<<"$b" >/dev/null
	assert_regex "$(jq -r .error <<<"$b")" $'^no such resource: /x\ufffd\ufffd'
	put x "$(printf '{"tasks":[{"exec":"/bin/true","args":[],"envs":{},"cwd":"/","fd":[],"\xff":1}]}')"
	assert_equal "$code" 400
	iconv -f UTF-8 -t UTF-8 <<<"$body" >/dev/null
	assert_equal "$(jb .path)" $'tasks[0].\ufffd'
	check_intact
}

@test "garbage after a good request: the good one is answered, then 400 and close" {
	printf 'GET /jobs HTTP/1.1\r\nHost: x\r\n\r\n\x01\x02GARBAGE\r\n\r\nGET / HTTP/1.1\r\n\r\n' >"$T/req"
	run $CLIENT --unix "$SOCK" --timeout 5 <"$T/req"
	assert_success
	assert_equal "$(grep -a -c '^HTTP/1.1 ' <<<"$output")" 2
	assert_regex "$(grep -a '^HTTP/1.1 ' <<<"$output" | tr -d '\r' | tr '\n' ' ')" '^HTTP/1.1 200 OK HTTP/1.1 400 '
	check_intact
}

@test "a client that never reads its answers cannot make jobd buffer without bound" {
	local rss0
	rss0=$(awk '/^VmRSS:/ {print $2}' "/proc/$JOBD_PID/status")
	for n in $(seq 20000); do printf 'GET / HTTP/1.1\r\n\r\n'; done >"$T/req"
	$PY -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.setblocking(False)
data = open(sys.argv[2], "rb").read()
sent = 0
end = time.time() + 3
while time.time() < end and sent < len(data):
    try:
        sent += s.send(data[sent:])
    except BlockingIOError:
        time.sleep(0.01)
open(sys.argv[3], "w").write(str(sent))
time.sleep(1)' "$SOCK" "$T/req" "$T/sent"
	local rss
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$JOBD_PID/status")
	[ $((rss - rss0)) -lt 16384 ] || fail "jobd RSS grew from ${rss0} to ${rss} kB"
	check_intact
}
