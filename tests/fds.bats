#!/usr/bin/env bats
# fd entries: file modes, named pipes, unix and network sockets held for
# the job's life, null, closed fds, and nothing else in the task.

load helpers

setup() {
	jobd_start
	T=$BATS_TEST_TMPDIR
}

# fdjob NAME 'FD-JSON-ARRAY' EXEC ARGS...: PUT a one-task job with those fds.
fdjob() {
	local name=$1 fds=$2
	shift 2
	put "$name" "$(jq -c --argjson fd "$fds" '.tasks[0].fd = $fd' <<<"$(job "$(task "$@")")")"
}

@test "file modes: r reads, w truncates, a appends, rw keeps and writes" {
	echo input >"$T/in"
	echo old-content-long >"$T/w"
	echo old >"$T/a"
	echo 0123456789 >"$T/rw"
	fdjob f "[{\"type\":\"file\",\"path\":\"$T/in\",\"mode\":\"r\"},
	    {\"type\":\"file\",\"path\":\"$T/w\",\"mode\":\"w\"},
	    {\"type\":\"file\",\"path\":\"$T/a\",\"mode\":\"a\"},
	    {\"type\":\"file\",\"path\":\"$T/rw\",\"mode\":\"rw\"}]" \
	    /bin/sh -c 'cat; echo new >&2; printf AB >&3; echo "$(cat <&3)" > rwrest'
	assert_equal "$code" 201
	wait_job f
	assert_equal "$(jb .tasks[0].exit_code)" 0
	assert_equal "$(cat "$T/w")" input
	assert_equal "$(cat "$T/a")" "$(printf 'old\nnew')"
	assert_equal "$(cat "$T/rw")" AB23456789
	assert_equal "$(cat "$T/rwrest")" 23456789
}

@test "files are created 0644 less the umask" {
	fdjob c "[null, {\"type\":\"file\",\"path\":\"$T/created\",\"mode\":\"a\"}]" /bin/true
	wait_job c
	local mask
	mask=$(awk '/^Umask:/ {print $2}' "/proc/$JOBD_PID/status")
	assert_equal "$(stat -c %a "$T/created")" "$(printf '%o' $((8#644 & ~8#$mask)))"
}

@test "files are opened as the task's user: permissions apply, 422 names the fd" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	world_dir
	TASK_CWD=$W
	echo secret >"$W/secret"
	chmod 600 "$W/secret"
	fdjob u "[{\"type\":\"file\",\"path\":\"$W/secret\",\"mode\":\"r\"}]" /bin/cat
	assert_equal "$code" 201
	put u2 "$(jq -c --arg p "$W/secret" '.tasks[0].user = "nobody" |
	    .tasks[0].fd = [{type: "file", path: $p, mode: "r"}]' <<<"$(job "$(task /bin/cat)")")"
	assert_equal "$code" 422
	assert_equal "$(jb .path)" "tasks[0].fd[0].path"
	assert_regex "$(jb .error)" "open $W/secret: Permission denied"
}

@test "a missing directory for a file is 422 with the OS error" {
	fdjob m "[null, {\"type\":\"file\",\"path\":\"$T/no/such/dir/f\",\"mode\":\"w\"}]" /bin/true
	assert_equal "$code" 422
	assert_equal "$(jb .path)" "tasks[0].fd[1].path"
	assert_regex "$(jb .error)" 'No such file or directory'
}

@test "missing 0, 1, 2 are /dev/null; a null entry is closed; no other fd is open" {
	fdjob n "[null, {\"type\":\"file\",\"path\":\"$T/fds\",\"mode\":\"w\"}]" \
	    /bin/ls -l /proc/self/fd/
	wait_job n
	# ls itself opens the directory (fd 3): everything else is ours
	run grep -c -- '->' "$T/fds"
	assert_output 3
	grep -q " 1 -> $T/fds" "$T/fds"
	grep -q " 2 -> /dev/null" "$T/fds"
	! grep -q " 0 -> " "$T/fds"
	fdjob d "[]" /bin/sh -c 'ls -l /proc/self/fd/ > fds2'
	wait_job d
	grep -q " 0 -> /dev/null" "$T/fds2"
	grep -q " 2 -> /dev/null" "$T/fds2"
}

@test "null type is /dev/null read-write" {
	fdjob nl "[{\"type\":\"null\"}, {\"type\":\"file\",\"path\":\"$T/o\",\"mode\":\"w\"}]" \
	    /bin/sh -c 'cat /proc/self/fdinfo/0 | grep flags; readlink /proc/self/fd/0'
	wait_job nl
	grep -q /dev/null "$T/o"
	local flags
	flags=$(awk '/^flags:/ {print $2}' "$T/o")
	(( (8#$flags & 3) == 2 ))
}

@test "no fd of jobd's (listening socket, connections, other jobs) reaches a task" {
	jobd_stop
	jobd_start --listen tcp:127.0.0.1:0
	put holder "$(jq -c '.tasks[0].fd = [null, null, null, {type: "network socket", bind: "127.0.0.1", port: 0}]' \
	    <<<"$(sh_job 'exec sleep 100')")"
	assert_equal "$code" 201
	# ls opens the directory it lists as fd 3: 0 to 3, nothing more.
	fdjob lister "[{\"type\":\"null\"}, {\"type\":\"file\",\"path\":\"$T/fds\",\"mode\":\"w\"}]" \
	    /bin/ls -l /proc/self/fd/
	wait_job lister
	run grep -c -- '->' "$T/fds"
	assert_output 4
	! grep -q socket "$T/fds"
}

@test "pipe: a writer and a reader job meet through a FIFO created 0600" {
	fdjob reader "[{\"type\":\"pipe\",\"path\":\"$T/fifo\",\"mode\":\"r\"},
	    {\"type\":\"file\",\"path\":\"$T/got\",\"mode\":\"a\"}]" \
	    /bin/sh -c 'while read -r line; do echo "got $line"; [ "$line" = last ] && exit 0; done'
	assert_equal "$code" 201
	[ -p "$T/fifo" ]
	assert_equal "$(stat -c %a "$T/fifo")" 600
	fdjob writer "[null, {\"type\":\"pipe\",\"path\":\"$T/fifo\",\"mode\":\"w\"}]" \
	    /bin/sh -c 'echo one; echo two; echo last'
	assert_equal "$code" 201
	wait_job reader
	assert_equal "$(cat "$T/got")" "$(printf 'got one\ngot two\ngot last')"
}

@test "pipe: opening never blocks, whichever side comes first, and PUT answers at once" {
	mkfifo "$T/f2"
	# a writer with no reader yet: the start does not hang
	fdjob w "[null, {\"type\":\"pipe\",\"path\":\"$T/f2\",\"mode\":\"w\"}]" \
	    /bin/sh -c 'echo early; echo done > wrote; exec sleep 100'
	assert_equal "$code" 201
	wait_until "[ -e '$T/wrote' ]"
	# the reader comes later and still gets the data
	fdjob r "[{\"type\":\"pipe\",\"path\":\"$T/f2\",\"mode\":\"r\"},
	    {\"type\":\"file\",\"path\":\"$T/late\",\"mode\":\"w\"}]" /usr/bin/head -n 1
	assert_equal "$code" 201
	wait_job r
	assert_equal "$(cat "$T/late")" early
}

@test "pipe: a path that is not a FIFO is 422" {
	echo x >"$T/plain"
	fdjob p "[{\"type\":\"pipe\",\"path\":\"$T/plain\",\"mode\":\"r\"}]" /bin/true
	assert_equal "$code" 422
	assert_equal "$(jb .path)" "tasks[0].fd[0]"
	assert_regex "$(jb .error)" 'not a named pipe'
}

@test "unix socket: bound at PUT, LISTEN_* set, removed when the job ends" {
	fdjob u "[null, {\"type\":\"file\",\"path\":\"$T/env\",\"mode\":\"w\"}, null,
	    {\"type\":\"unix socket\",\"path\":\"$T/app.sock\",\"name\":\"app\"}]" \
	    /bin/sh -c 'echo "$LISTEN_FDS $LISTEN_PID $LISTEN_FDNAMES $$"; exec /usr/bin/python3 -c "
import socket
s = socket.socket(fileno=3)
c, _ = s.accept()
c.sendall(b\"hello from the task\")
c.close()"'
	assert_equal "$code" 201
	assert_equal "$(jb '.sockets[0].address')" "unix:$T/app.sock"
	assert_equal "$(jb '.sockets[0].name')" app
	assert_equal "$(jb '.sockets[0].fd')" 3
	[ -S "$T/app.sock" ]
	run $CLIENT --unix "$T/app.sock" </dev/null
	assert_output "hello from the task"
	wait_job u
	read -r n pid names shpid <"$T/env"
	assert_equal "$n $names" "1 app"
	assert_equal "$pid" "$shpid"
	[ ! -e "$T/app.sock" ]
}

@test "network socket: port 0 is shown; LISTEN_FDNAMES defaults to socket; envs overridden" {
	put n "$(jq -c --arg o "$T/env" '.tasks[0].envs.LISTEN_FDS = "9" |
	    .tasks[0].fd = [null, {type: "file", path: $o, mode: "w"}, null,
	    {type: "network socket", bind: "127.0.0.1", port: 0},
	    {type: "network socket", bind: "127.0.0.1", port: 0, protocol: "udp", name: "dns"}]' \
	    <<<"$(job "$(task /bin/sh -c 'echo "$LISTEN_FDS $LISTEN_FDNAMES"; exec /usr/bin/python3 -c "
import socket
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept()
    c.sendall(b\"served\")
    c.close()"')")")"
	assert_equal "$code" 201
	local addr udp
	addr=$(jb '.sockets[0].address')
	udp=$(jb '.sockets[1].address')
	[[ $addr =~ ^tcp:127\.0\.0\.1:[1-9][0-9]*$ ]]
	[[ $udp =~ ^udp:127\.0\.0\.1:[1-9][0-9]*$ ]]
	assert_equal "$(jb '.sockets[1].name')" dns
	run $CLIENT --tcp "${addr#tcp:}" </dev/null
	assert_output served
	wait_until "[ -s '$T/env' ]"
	assert_equal "$(cat "$T/env")" "2 socket:dns"
}

@test "a bind failure is 422 naming the fd; the job stays visible as failed" {
	put a "$(jq -c '.tasks[0].fd = [null, null, null, {type: "network socket", bind: "127.0.0.1", port: 0}]' \
	    <<<"$(sh_job 'exec sleep 100')")"
	local port
	port=$(jb '.sockets[0].address' | sed 's/.*://')
	put b "$(jq -c --argjson p "$port" '.tasks[1].fd = [null, null, null, {type: "network socket", bind: "127.0.0.1", port: $p}]' \
	    <<<"$(job "$(task /bin/true)" "$(task /bin/true)")")"
	assert_equal "$code" 422
	assert_equal "$(jb .path)" "tasks[1].fd[3]"
	assert_regex "$(jb .error)" 'Address already in use'
	http GET /job/b
	assert_equal "$(jb .state)" failed
	assert_equal "$(jb '[.tasks[].state] | join(",")')" skipped,failed
}

@test "a unix socket path a live server holds is 422, at once even when its backlog is full" {
	# A listener that never accepts, its backlog filled by a connection
	/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(0)
c = [socket.socket(socket.AF_UNIX) for i in range(3)]
for x in c:
    x.setblocking(False)
    try: x.connect(sys.argv[1])
    except OSError: pass
open(sys.argv[2], "w").close()
time.sleep(60)' "$T/live.sock" "$T/ready" 3>&- &
	local py=$!
	wait_until "[ -e $T/ready ]"
	put x "$(jq -c --arg p "$T/live.sock" '.tasks[0].fd = [null, null, null, {type: "unix socket", path: $p}]' \
	    <<<"$(sh_job true)")"
	kill "$py"
	wait "$py" || true
	assert_equal "$code" 422
	assert_equal "$(jb .path)" "tasks[0].fd[3]"
	assert_regex "$(jb .error)" 'running server is listening'
	http GET /
	assert_equal "$code" 200
}

@test "sockets are held across tasks: a restart task gets the same socket, no client refused" {
	# Each task serves 20 connections on the held socket, then exits; the
	# next task serves the next ones. A client loop runs across the change.
	local serve='exec /usr/bin/python3 -c "
import os, socket, sys
s = socket.socket(fileno=3)
ino = os.stat(\"/proc/self/fd/3\").st_ino
for i in range(20):
    c, _ = s.accept()
    c.sendall(b\"%s %d\" % (sys.argv[1].encode(), ino))
    c.close()
" '
	local port
	port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	put r "$(jq -c --argjson p "$port" '.tasks[].fd = [null, null, null, {type: "network socket", bind: "127.0.0.1", port: $p, name: "web"}]' \
	    <<<"$(job "$(task /bin/sh -c "$serve first")" "$(task /bin/sh -c "sleep 0.3; $serve second")")")"
	assert_equal "$code" 201
	assert_equal "$(jb '.sockets | length')" 1
	assert_equal "$(jb '.sockets[0].address')" "tcp:127.0.0.1:$port"
	local addr i refused=0
	addr=$(jb '.sockets[0].address')
	: >"$T/answers"
	for i in $(seq 40); do
		if ! $CLIENT --tcp "${addr#tcp:}" --timeout 5 </dev/null >>"$T/answers"; then
			refused=$((refused + 1))
		fi
		echo >>"$T/answers"
	done
	assert_equal "$refused" 0
	assert_equal "$(grep -c '^first ' "$T/answers")" 20
	assert_equal "$(grep -c '^second ' "$T/answers")" 20
	# the very same socket (inode) in both tasks
	assert_equal "$(awk '{print $2}' "$T/answers" | sort -u | wc -l)" 1
	wait_job r
	assert_equal "$(jb '[.tasks[].exit_code] | join(",")')" 0,0
}

@test "entries of different tasks with one unix path are one socket; port 0 ones are not" {
	put s "$(jq -c --arg p "$T/one.sock" '.tasks[].fd = [null, null, null,
	    {type: "unix socket", path: $p}, {type: "network socket", bind: "127.0.0.1", port: 0}]' \
	    <<<"$(job "$(task /bin/sh -c 'exec sleep 100')" "$(task /bin/true)")")"
	assert_equal "$code" 201
	assert_equal "$(jb '[.sockets[] | .address | split(":")[0]] | join(",")')" unix,tcp,tcp
	assert_equal "$(jb '[.sockets[] | .task] | join(",")')" 0,0,1
}

@test "unsupported fd types are 501, naming the type, the entry and what is supported" {
	local t
	for t in tty socketpair memfd "file descriptor" ""; do
		fdjob x "[null, null, null, {\"type\":\"$t\", \"anything\": [1,2]}]" /bin/true
		assert_equal "$code" 501
		assert_equal "$(jb .path)" "tasks[0].fd[3]"
		assert_regex "$(jb .error)" "\"$t\" is not implemented"
		assert_regex "$(jb .error)" '"network socket"'
	done
	http GET /job/x
	assert_equal "$code" 404
}
