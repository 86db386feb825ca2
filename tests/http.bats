#!/usr/bin/env bats
# HTTP: versions, keep-alive, pipelining, chunked bodies, 100-continue,
# limits, timeouts, errors as JSON, connection limits.

load helpers

setup() {
	jobd_start
	T=$BATS_TEST_TMPDIR
}

# raw [client args...]: send the file $T/req as is; $output is the reply.
raw() {
	run $CLIENT --unix "$SOCK" "$@" <"$T/req"
}

# statuses: the status codes in $output, in order.
statuses() {
	grep -a -o -E '^HTTP/1\.1 [0-9]{3}' <<<"$output" | awk '{print $2}' | tr '\n' ' '
}

@test "GET / tells name, version, pid, uid, uptime, listen addresses, job counts" {
	put a "$(sh_job 'exec sleep 100')"
	put b "$(sh_job 'true')"
	wait_job b
	http GET /
	assert_equal "$code" 200
	assert_equal "$(jb .name)" jobd
	assert_regex "$(jb .version)" '^[0-9]+\.[0-9]+\.[0-9]+'
	assert_equal "$(jb .pid)" "$JOBD_PID"
	assert_equal "$(jb .uid)" "$(id -u)"
	assert_regex "$(jb .uptime)" '^[0-9.]+$'
	assert_equal "$(jb '.listen[0].address')" "unix:$SOCK"
	assert_equal "$(jb '.jobs | "\(.total) \(.running) \(.exited) \(.failed)"')" "2 1 1 0"
}

@test "every answer is JSON with Content-Type application/json, errors included" {
	local p
	for p in / /jobs /job/nosuch /nope /job/a/b/c; do
		http GET "$p"
		assert_regex "$headers" $'Content-Type: application/json\r'
		jq -e . <<<"$body" >/dev/null
	done
	http GET /nope
	assert_equal "$code" 404
	assert_equal "$(jb .error)" "no such resource: /nope"
	assert_equal "$(jb .path)" null
}

@test "405 with an Allow header; HEAD is GET without a body" {
	http POST /jobs
	assert_equal "$code" 405
	assert_regex "$headers" $'Allow: GET, HEAD\r'
	http PATCH /job/x
	assert_equal "$code" 405
	assert_regex "$headers" $'Allow: GET, HEAD, PUT, DELETE\r'
	http GET /job/x/signal
	assert_equal "$code" 405
	assert_regex "$headers" $'Allow: POST\r'
	printf 'HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n' >"$T/req"
	raw
	assert_equal "$(statuses)" "200 "
	assert_output --regexp $'Content-Length: [1-9][0-9]*\r'
	refute_output --partial '"name"'
}

@test "HTTP/1.0: answered then closed; with keep-alive kept open" {
	printf 'GET / HTTP/1.0\r\n\r\n' >"$T/req"
	raw
	assert_success
	assert_equal "$(statuses)" "200 "
	assert_output --partial $'Connection: close\r'
	printf 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /jobs HTTP/1.0\r\n\r\n' >"$T/req"
	raw
	assert_success
	assert_equal "$(statuses)" "200 200 "
	assert_output --partial $'Connection: keep-alive\r'
}

@test "keep-alive and pipelining: requests in one write are answered in order" {
	local body
	body=$(sh_job 'exit 7')
	{
		printf 'GET /job/p HTTP/1.1\r\nHost: x\r\n\r\n'
		printf 'PUT /job/p HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s' "${#body}" "$body"
		printf 'GET /job/p?wait=5 HTTP/1.1\r\nHost: x\r\n\r\n'
		printf 'DELETE /job/p HTTP/1.1\r\nHost: x\r\n\r\n'
		printf 'GET /job/p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	} >"$T/req"
	raw
	assert_success
	assert_equal "$(statuses)" "404 201 200 200 404 "
	assert_output --partial '"exit_code":7'
}

@test "curl reuses one connection for several requests" {
	put k "$(sh_job true)"
	run curl -sS -v --max-time 10 --unix-socket "$SOCK" http://localhost/ http://localhost/jobs http://localhost/job/k
	assert_success
	assert_output --partial "Re-using existing connection"
}

@test "chunked request bodies" {
	run curl -sS --max-time 10 --unix-socket "$SOCK" -X PUT -H 'Transfer-Encoding: chunked' \
	    --data-binary "$(sh_job true)" -w '%{http_code}' -o /dev/null http://localhost/job/c
	assert_output 201
	local b
	b=$(sh_job true)
	printf 'PUT /job/c2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n' \
	    "${b:0:5}" "$((${#b} - 5))" "${b:5}" >"$T/req"
	raw
	assert_equal "$(statuses)" "201 "
}

@test "Expect: 100-continue is answered, then the request" {
	run curl -sS -v --max-time 10 --unix-socket "$SOCK" -X PUT -H 'Expect: 100-continue' \
	    --data-binary "$(sh_job true)" http://localhost/job/e
	assert_success
	assert_output --partial "HTTP/1.1 100 Continue"
	assert_output --partial "HTTP/1.1 201 Created"
	printf 'PUT /job/e2 HTTP/1.1\r\nExpect: something-else\r\nContent-Length: 2\r\n\r\n{}' >"$T/req"
	raw
	assert_equal "$(statuses)" "417 "
}

@test "413: body over --max-body, by Content-Length or chunked; connection closed" {
	jobd_stop
	jobd_start --max-body 1000
	local big
	big=$(head -c 2000 /dev/zero | tr '\0' ' ')
	http PUT /job/big --data-binary "{$big}"
	assert_equal "$code" 413
	assert_regex "$(jb .error)" max-body
	http PUT /job/big -H 'Transfer-Encoding: chunked' --data-binary "{$big}"
	assert_equal "$code" 413
	# with 100-continue, the body is refused before it is sent
	run curl -sS -v --max-time 10 --unix-socket "$SOCK" -X PUT -H 'Expect: 100-continue' \
	    --data-binary "{$big}" http://localhost/job/big
	assert_output --partial "HTTP/1.1 413"
	refute_output --partial "100 Continue"
	# just under the limit is fine (and is a 400: not a job)
	http PUT /job/ok --data-binary "{$(head -c 900 /dev/zero | tr '\0' ' ')}"
	assert_equal "$code" 400
}

@test "414: request line too long; 431: headers too large or too many" {
	local long
	long=$(head -c 9000 /dev/zero | tr '\0' a)
	http GET "/job/$long"
	assert_equal "$code" 414
	http GET / -H "X-Big: $(head -c 17000 /dev/zero | tr '\0' b)"
	assert_equal "$code" 431
	local args=() i
	for i in $(seq 101); do args+=(-H "X-H$i: v"); done
	http GET / "${args[@]}"
	assert_equal "$code" 431
	# 100 small headers are fine
	http GET / "${args[@]:0:190}"
	assert_equal "$code" 200
}

@test "a request sent one byte at a time is answered" {
	printf 'GET /jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$T/req"
	raw --bytewise --delay 0.005
	assert_success
	assert_equal "$(statuses)" "200 "
}

@test "request timeout: a connection that does not finish its request is closed" {
	jobd_stop
	jobd_start --request-timeout 1 --idle-timeout 2
	printf 'GET / HTTP/1.1\r\nHost: x\r\n' >"$T/req"
	raw --timeout 5
	assert_success
	assert_output ""
	# an idle keep-alive connection is closed after --idle-timeout
	local t0=$SECONDS
	printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/req"
	raw --timeout 8
	assert_success
	assert_equal "$(statuses)" "200 "
	(( SECONDS - t0 >= 1 ))
	# a connection that sends nothing at all is closed too
	printf '' >"$T/req"
	raw --timeout 5
	assert_success
}

@test "blank lines are no request: they do not keep a connection open" {
	jobd_stop
	jobd_start --request-timeout 1 --idle-timeout 2
	# CRLF every 50 ms for up to 20 s: jobd closes at its request timeout
	for i in $(seq 200); do printf '\r\n'; done >"$T/req"
	raw --bytewise --delay 0.05 --timeout 5
	assert_success
	assert_output --partial "send:"
}

@test "a ?wait= answer is due when asked, even behind answers the client has not read" {
	jobd_stop
	jobd_start --idle-timeout 60
	put a "$(sh_job 'exec sleep 100')"
	# 1,500 pipelined answers fill the socket; the client reads them
	# slowly. The wait answer is due 1 s after jobd reads its request:
	# it comes, the job still running, and the connection stays open.
	# How long the reading takes is the machine's business (bench/),
	# not this test's: a loaded machine only makes it slower.
	run $PY -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"GET / HTTP/1.1\r\n\r\n" * 1500 +
          b"GET /job/a?wait=1 HTTP/1.1\r\n\r\n")
data = b""; s.settimeout(50)
while data.count(b"HTTP/1.1 ") < 1501:
    b = s.recv(2048)
    if not b: break
    data += b
    time.sleep(0.01)
last = data[data.rfind(b"HTTP/1.1 "):]
print("answers %d" % data.count(b"HTTP/1.1 "))
print("running" if b"\"state\":\"running\"" in last else "last: %r" % last[:300])
' "$SOCK"
	echo "$output"
	assert_success
	assert_line --index 0 "answers 1501"
	assert_line --index 1 running
}

@test "a slow request within the time limit is served" {
	jobd_stop
	# about 1 s of sending, one byte every 20 ms, well within 30 s
	jobd_start --request-timeout 30
	printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$T/req"
	raw --bytewise --delay 0.02
	assert_equal "$(statuses)" "200 "
}

@test "--max-connections: one more connection gets 503, then room again" {
	jobd_stop
	jobd_start --max-connections 2
	# two idle clients hold both places
	$PY -c '
import socket, sys, time
ss = []
for i in range(2):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); ss.append(s)
open(sys.argv[2], "w").close()
time.sleep(3)' "$SOCK" "$T/held" 3>&- &
	local holder=$!
	wait_until "[ -e '$T/held' ]"
	http GET /
	assert_equal "$code" 503
	assert_regex "$(jb .error)" max-connections
	wait "$holder"
	wait_until 'http GET /; [ "$code" = 200 ]' 5
}

@test "a ?wait= long poll does not hold up other clients" {
	put w "$(sh_job 'exec sleep 100')"
	curl -s --max-time 20 --unix-socket "$SOCK" 'http://localhost/job/w?wait=10' >/dev/null 3>&- &
	local waiter=$!
	http GET /jobs
	assert_equal "$code" 200
	http GET /job/w
	assert_equal "$(jb .state)" running
	kill "$waiter"
	wait "$waiter" || true
}

@test "URL forms: percent-encoding, absolute URI, trailing garbage" {
	put 'a.b' "$(sh_job true)"
	http GET /job/a%2Eb
	assert_equal "$code" 200
	assert_equal "$(jb .name)" a.b
	printf 'GET http://localhost/job/a.b HTTP/1.1\r\nConnection: close\r\n\r\n' >"$T/req"
	raw
	assert_equal "$(statuses)" "200 "
	http GET /job/a%2Fb
	assert_equal "$code" 400
	http GET /job/a%zz
	assert_equal "$code" 400
	http GET /job/a.b/
	assert_equal "$code" 404
}
