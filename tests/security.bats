#!/usr/bin/env bats
# The socket is the boundary: its mode, its owner, who may use it, and
# what of jobd's a task can never hold.

load helpers

setup() {
	T=$BATS_TEST_TMPDIR
}

# As user nobody, GET / on $SOCK: sets $code and $body.
nobody_get() {
	local out
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    curl -sS --max-time 5 --unix-socket "$SOCK" -w '\n%{http_code}' \
	    "http://localhost${1:-/}") || true
	code=${out##*$'\n'}
	body=${out%$'\n'*}
}

@test "the socket gets exactly its mode whatever the umask; GET / shows mode and owner" {
	local mask
	mask=$(umask)
	umask 000
	jobd_start
	umask "$mask"
	assert_equal "$(stat -c %a "$SOCK")" 600
	http GET /
	assert_equal "$(jb '.listen[0].mode')" 0600
	assert_equal "$(jb '.listen[0].uid')" "$(id -u)"
	assert_equal "$(jb '.listen[0].gid')" "$(id -g)"
	jobd_stop
	umask 077
	jobd_start --socket-mode 0660
	umask "$mask"
	assert_equal "$(stat -c %a "$SOCK")" 660
}

@test "a client that cannot open the socket file cannot talk to jobd" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	world_dir
	SOCK=$W/jobd.sock
	jobd_start
	nobody_get
	assert_equal "$code" 000
	jobd_stop
	jobd_start --socket-mode 0666
	nobody_get
	assert_equal "$code" 200
}

@test "--allow-uid: other users are refused with 403 and a log line; jobd's own uid is served" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	world_dir
	SOCK=$W/jobd.sock
	jobd_start --socket-mode 0666 --allow-uid 4242 -v
	nobody_get /jobs
	assert_equal "$code" 403
	assert_equal "$(jb .error)" "this client may not use jobd (--allow-uid)"
	grep -q "refused uid=65534 pid=[0-9]*: not an --allow-uid client" "$JOBD_LOG"
	http GET /
	assert_equal "$code" 200
	assert_equal "$(jb '.allow_uids | join(",")')" 4242
	jobd_stop
	jobd_start --socket-mode 0666 --allow-uid nobody
	nobody_get
	assert_equal "$code" 200
}

@test "--allow-uid: a TCP client has no uid to show and is refused" {
	jobd_start --listen tcp:127.0.0.1:0 --allow-uid 4242
	http GET /
	local addr
	addr=$(jb '.listen[1].address')
	run curl -sS --max-time 5 -w '%{http_code}' -o /dev/null "http://${addr#tcp:}/"
	assert_output 403
	run "$JOBD" --allow-uid no-such-user-x 3>&-
	assert_equal "$status" 2
}

@test "-v logs every request with the peer's uid and pid, and escapes what it sends" {
	jobd_start -v
	http GET /jobs
	grep -q "GET /jobs 200 uid=$(id -u) pid=[0-9]* [0-9]*us" "$JOBD_LOG"
	printf 'GET /x\xff\xfe"\\ HTTP/1.1\r\nConnection: close\r\n\r\n' >"$T/req"
	$CLIENT --unix "$SOCK" <"$T/req" >/dev/null
	wait_until "grep -q 'GET /x' '$JOBD_LOG'"
	grep -q 'GET /x\\xff\\xfe\\x22\\x5c 404' "$JOBD_LOG"
	# a control character is refused before it could reach the log
	printf 'GET /y\x1b[31m HTTP/1.1\r\n\r\n' >"$T/req"
	run $CLIENT --unix "$SOCK" <"$T/req"
	assert_output --partial "HTTP/1.1 400"
	! grep -q $'\x1b' "$JOBD_LOG"
}

@test "tasks of two concurrent jobs hold only their own fds" {
	jobd_start --listen tcp:127.0.0.1:0
	local j
	for j in a b; do
		put "$j" "$(jq -c --arg p "$T/$j.sock" '.tasks[0].fd = [{type: "null"}, {type: "null"},
		    {type: "null"}, {type: "unix socket", path: $p}]' \
		    <<<"$(sh_job 'exec sleep 100')")"
		assert_equal "$code" 201
	done
	# an idle client connection is open too
	$PY -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(3)' "$SOCK" 3>&- &
	local holder=$! pa pb ia ib
	http GET /job/a
	pa=$(jb .pid)
	http GET /job/b
	pb=$(jb .pid)
	ia=$(stat -L -c %i "/proc/$pa/fd/3")
	ib=$(stat -L -c %i "/proc/$pb/fd/3")
	[ "$ia" != "$ib" ]
	for p in "$pa" "$pb"; do
		assert_equal "$(ls "/proc/$p/fd" | sort -n | tr '\n' ' ')" "0 1 2 3 "
	done
	kill "$holder"
	wait "$holder" || true
}

@test "control characters in names, paths and commands are refused" {
	jobd_start
	local f
	for f in '.tasks[0].exec = "/bin/\u001btrue"' '.tasks[0].cwd = "/tmp\n"' \
	    '.tasks[0].envs = {"A\u0007": "x"}' '.tasks[0].user = "ro\u0001ot"' \
	    '.tasks[0].fd = [{type: "file", path: "/tmp/a\tb", mode: "r"}]'; do
		put x "$(jq -c "$f" <<<"$(sh_job true)")"
		assert_equal "$code" 400
	done
	# in arguments and values they are data
	put ok "$(jq -c '.tasks[0].envs.V = "a\u0007b"' <<<"$(sh_job 'printf %s "$V" | od -An -tx1 > v')")"
	assert_equal "$code" 201
	wait_job ok
	assert_equal "$(tr -s ' ' <"$T/v")" " 61 07 62"
}

@test "what a client sent cannot forge a log line through an error message" {
	jobd_start
	# An environment value is data, but PATH is quoted when exec fails.
	put x "$(jq -cn '{tasks: [{exec: "nosuchprog", args: [], cwd: "/",
	    envs: {PATH: "/nonexistent\njobd: job admin: exited FORGED"},
	    fd: []}]}')"
	assert_equal "$code" 422
	assert_equal "$(jq -r .path <<<"$body")" "tasks[0].exec"
	wait_until "grep -q 'job x: ' '$JOBD_LOG'"
	cat "$JOBD_LOG" >&2
	grep -q 'nonexistent\\x0ajobd: job admin: exited FORGED' "$JOBD_LOG"
	! grep -q '^jobd: job admin' "$JOBD_LOG"
}
