#!/usr/bin/env bats
# Listening: own sockets (unix and TCP), the default path, stale and live
# sockets, loopback only, inherited sockets (LISTEN_FDS), exit codes.

load helpers

# get_info: GET / on whatever $SOCK is.
get_info() {
	http GET /
	assert_equal "$code" 200
}

# A small launcher: binds a listening socket, puts it on fd 3 and execs
# jobd with LISTEN_PID set to its own (unchanged) pid.
launch_activated() {
	local path=$1
	shift
	cat >"$BATS_TEST_TMPDIR/launch.py" <<'PY'
import os, socket, sys
path, argv = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()),
                  LISTEN_FDNAMES="control")
os.execv(argv[0], argv)
PY
	$PY "$BATS_TEST_TMPDIR/launch.py" "$path" "$JOBD" "$@" </dev/null \
	    >>"$BATS_TEST_TMPDIR/jobd.log" 2>&1 3>&- &
	JOBD_PID=$!
	JOBD_LOG=$BATS_TEST_TMPDIR/jobd.log
	SOCK=$path
	wait_until "curl -s --max-time 1 --unix-socket '$SOCK' http://localhost/ >/dev/null 2>&1" || fail "activated jobd did not answer"
}

@test "--listen unix: binds a socket of mode 0600, removed at exit" {
	jobd_start
	assert_equal "$(stat -c %a "$SOCK")" 600
	get_info
	assert_equal "$(jb '.listen[0].address')" "unix:$SOCK"
	assert_equal "$(jb '.pid')" "$JOBD_PID"
	jobd_stop
	[ ! -e "$SOCK" ]
}

@test "--socket-mode sets the socket's mode" {
	jobd_start --socket-mode 0660
	assert_equal "$(stat -c %a "$SOCK")" 660
}

@test "a bare absolute path is a unix address" {
	SOCK=$BATS_TEST_TMPDIR/bare.sock
	"$JOBD" --listen "$SOCK" </dev/null >"$BATS_TEST_TMPDIR/jobd.log" 2>&1 3>&- &
	JOBD_PID=$!
	JOBD_LOG=$BATS_TEST_TMPDIR/jobd.log
	wait_until "[ -S '$SOCK' ]"
	get_info
}

@test "a stale socket file is replaced" {
	SOCK=$BATS_TEST_TMPDIR/jobd.sock
	$PY -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
	[ -S "$SOCK" ]
	jobd_start
	get_info
}

@test "a live socket makes a second jobd refuse to start" {
	jobd_start
	run "$JOBD" --listen "unix:$SOCK" 3>&-
	assert_equal "$status" 1
	assert_output --partial "running server is listening"
	get_info
}

@test "a file that is not a socket is not replaced" {
	SOCK=$BATS_TEST_TMPDIR/file
	echo precious >"$SOCK"
	run "$JOBD" --listen "unix:$SOCK" 3>&-
	assert_equal "$status" 1
	assert_output --partial "not a socket"
	assert_equal "$(cat "$SOCK")" precious
}

@test "tcp: port 0 binds a free loopback port, served over TCP" {
	jobd_start --listen tcp:127.0.0.1:0
	get_info
	local addr
	addr=$(jb '.listen[] | select(.address | startswith("tcp:")) | .address')
	[[ $addr =~ ^tcp:127\.0\.0\.1:[0-9]+$ ]]
	run curl -sS --max-time 5 "http://${addr#tcp:}/"
	assert_success
	assert_equal "$(jq -r .name <<<"$output")" jobd
}

@test "tcp: IPv6 loopback in brackets" {
	$PY -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null ||
		skip "no IPv6 loopback on this machine"
	jobd_start --listen 'tcp:[::1]:0'
	get_info
	local addr
	addr=$(jb '.listen[] | select(.address | startswith("tcp:")) | .address')
	[[ $addr =~ ^tcp:\[::1\]:[0-9]+$ ]]
	run curl -sS --max-time 5 "http://${addr#tcp:}/"
	assert_success
}

@test "a TCP address that is not loopback is refused without --allow-remote" {
	run "$JOBD" --listen tcp:0.0.0.0:0 3>&-
	assert_equal "$status" 2
	assert_output --partial "not a loopback address"
	jobd_start --listen tcp:0.0.0.0:0 --allow-remote
	get_info
	assert_regex "$(jb '.listen[1].address')" '^tcp:0\.0\.0\.0:[0-9]+$'
}

@test "bad addresses and options are usage errors (exit 2)" {
	local a
	for a in "tcp:" "tcp:127.0.0.1" "tcp:127.0.0.1:99999" "tcp:host.example:80" \
	    "tcp:::1:80" "udp:127.0.0.1:80" "unix:relative" "relative"; do
		run "$JOBD" --listen "$a" 3>&-
		assert_equal "$status" 2
		[ "${#lines[@]}" -le 2 ]
	done
	run "$JOBD" --no-such-option 3>&-
	assert_equal "$status" 2
	run "$JOBD" --max-jobs abc 3>&-
	assert_equal "$status" 2
	run "$JOBD" --socket-mode 999 3>&-
	assert_equal "$status" 2
	run "$JOBD" extra-argument 3>&-
	assert_equal "$status" 2
}

@test "--version and --help exit 0" {
	run "$JOBD" --version
	assert_success
	assert_output --regexp '^jobd [0-9]+\.[0-9]+'
	run "$JOBD" --help
	assert_success
	assert_output --partial "--listen ADDR"
}

@test "default socket: \$JOBD_SOCKET" {
	SOCK=$BATS_TEST_TMPDIR/from-env.sock
	JOBD_SOCKET=$SOCK "$JOBD" </dev/null >"$BATS_TEST_TMPDIR/jobd.log" 2>&1 3>&- &
	JOBD_PID=$!
	JOBD_LOG=$BATS_TEST_TMPDIR/jobd.log
	wait_until "[ -S '$SOCK' ]" || fail "no socket at \$JOBD_SOCKET"
	get_info
}

@test "default socket: \$XDG_RUNTIME_DIR/jobd.sock" {
	SOCK=$BATS_TEST_TMPDIR/jobd.sock
	env -u JOBD_SOCKET XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR "$JOBD" </dev/null \
	    >"$BATS_TEST_TMPDIR/jobd.log" 2>&1 3>&- &
	JOBD_PID=$!
	JOBD_LOG=$BATS_TEST_TMPDIR/jobd.log
	wait_until "[ -S '$SOCK' ]" || fail "no socket in \$XDG_RUNTIME_DIR"
	get_info
}

@test "default socket: /tmp/jobd-\$UID/jobd.sock (directory 0700) for other users" {
	local uid
	uid=$(id -u nobody)
	SOCK=/tmp/jobd-$uid/jobd.sock
	[ ! -e "/tmp/jobd-$uid" ] || skip "/tmp/jobd-$uid exists already"
	chmod 755 "$BATS_TEST_TMPDIR"
	env -u JOBD_SOCKET -u XDG_RUNTIME_DIR -u JOBD_STATE_DIR setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups "$JOBD" </dev/null >"$BATS_TEST_TMPDIR/jobd.log" 2>&1 3>&- &
	JOBD_PID=$!
	JOBD_LOG=$BATS_TEST_TMPDIR/jobd.log
	wait_until "[ -S '$SOCK' ]" || { cat "$JOBD_LOG"; rm -rf "/tmp/jobd-$uid"; fail "no socket"; }
	assert_equal "$(stat -c '%a %u' "/tmp/jobd-$uid")" "700 $uid"
	get_info
	assert_equal "$(jb .uid)" "$uid"
	jobd_stop
	rm -rf "/tmp/jobd-$uid"
}

@test "inherited socket (LISTEN_FDS): served, CLOEXEC, O_NONBLOCK, not unlinked" {
	launch_activated "$BATS_TEST_TMPDIR/act.sock" -v
	get_info
	assert_equal "$(jb '.listen[0].inherited')" true
	assert_equal "$(jb '.listen[0].name')" control
	assert_equal "$(jb '.listen | length')" 1
	# flags are octal: O_CLOEXEC 02000000, O_NONBLOCK 04000
	local flags
	flags=$(awk '/^flags:/ {print $2}' "/proc/$JOBD_PID/fdinfo/3")
	(( (8#$flags & 8#2000000) != 0 ))
	(( (8#$flags & 8#4000) != 0 ))
	jobd_stop
	[ -S "$BATS_TEST_TMPDIR/act.sock" ]
}

@test "inherited sockets are used together with --listen" {
	launch_activated "$BATS_TEST_TMPDIR/act.sock" --listen "unix:$BATS_TEST_TMPDIR/own.sock"
	get_info
	assert_equal "$(jb '.listen | length')" 2
	SOCK=$BATS_TEST_TMPDIR/own.sock
	get_info
}

@test "LISTEN_PID of another process: fds ignored" {
	SOCK=$BATS_TEST_TMPDIR/jobd.sock
	LISTEN_PID=1 LISTEN_FDS=1 "$JOBD" --listen "unix:$SOCK" </dev/null \
	    >"$BATS_TEST_TMPDIR/jobd.log" 2>&1 3>&- &
	JOBD_PID=$!
	JOBD_LOG=$BATS_TEST_TMPDIR/jobd.log
	wait_until "[ -S '$SOCK' ]"
	get_info
	assert_equal "$(jb '.listen | length')" 1
	assert_equal "$(jb '.listen[0].inherited')" false
}

@test "an inherited fd that is not a listening socket is a clear error (exit 1)" {
	echo data >"$BATS_TEST_TMPDIR/file"
	run sh -c 'exec env LISTEN_PID=$$ LISTEN_FDS=1 "$0" 3<"$1"' "$JOBD" "$BATS_TEST_TMPDIR/file"
	assert_equal "$status" 1
	assert_output --partial "fd 3 is not a listening stream socket"
	# A socket that is not listening is refused too.
	run $PY -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.execv(sys.argv[1], sys.argv[1:])' "$JOBD"
	assert_equal "$status" 1
	assert_output --partial "not a listening stream socket"
}
