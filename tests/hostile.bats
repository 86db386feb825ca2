#!/usr/bin/env bats
# Hostile and careless clients: many slow connections, more connections
# than allowed, running out of fds. jobd keeps serving through all of it.

load helpers

setup() {
	T=$BATS_TEST_TMPDIR
}

cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

@test "1,000 slow connections: a normal client is still served, the slow ones time out" {
	jobd_start --max-connections 1100 --request-timeout 3
	$PY - "$SOCK" "$T/slow" <<'PY' 3>&- &
import socket, sys, time
path, out = sys.argv[1], sys.argv[2]
conns = []
for i in range(1000):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b"G")
    conns.append(s)
open(out + ".open", "w").close()
# one header byte every second, until jobd closes them
req = b"ET / HTTP/1.1\r\nX-Slow: " + b"a" * 100
closed = 0
for i in range(len(req)):
    time.sleep(1)
    for s in conns:
        if s is None:
            continue
        try:
            s.send(req[i:i + 1])
        except OSError:
            pass
    alive = 0
    for k, s in enumerate(conns):
        if s is None:
            continue
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                conns[k] = None
                closed += 1
                continue
        except BlockingIOError:
            pass
        except OSError:
            conns[k] = None
            closed += 1
            continue
        alive += 1
    if alive == 0:
        break
open(out, "w").write(str(closed))
PY
	local slow=$!
	wait_until "[ -e '$T/slow.open' ]" 30
	# a normal client, while the slow ones hold 1,000 connections
	put normal "$(sh_job 'echo served > served')"
	assert_equal "$code" 201
	wait_job normal
	assert_equal "$(cat "$T/served")" served
	http GET /jobs
	assert_equal "$code" 200
	# the slow ones are closed by the request timeout, not served
	wait "$slow"
	assert_equal "$(cat "$T/slow")" 1000
	http GET /
	assert_equal "$code" 200
}

@test "--max-connections + 100 connections: the extra ones are refused, jobd stays up" {
	jobd_start --max-connections 20
	$PY - "$SOCK" "$T/res" <<'PY'
import socket, sys, time
conns, refused = [], 0
for i in range(120):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    conns.append(s)
time.sleep(0.5)
for s in conns[20:]:
    s.settimeout(3)
    try:
        data = s.recv(4096)
        if data.startswith(b"HTTP/1.1 503") or data == b"":
            refused += 1
    except (socket.timeout, OSError):
        pass
open(sys.argv[2], "w").write(str(refused))
for s in conns:
    s.close()
PY
	assert_equal "$(cat "$T/res")" 100
	wait_until 'http GET /; [ "$code" = 200 ]' 5
}

@test "out of fds: accepting pauses without spinning and resumes when fds free up" {
	SOCK=$T/jobd.sock
	JOBD_LOG=$T/jobd.log
	sh -c 'ulimit -n 32 && exec "$0" --listen "unix:$1" --max-connections 1000' \
	    "$JOBD" "$SOCK" </dev/null >"$JOBD_LOG" 2>&1 3>&- &
	JOBD_PID=$!
	wait_until "[ -S '$SOCK' ]"
	$PY - "$SOCK" "$T/held" "$T/release" <<'PY' 3>&- &
import os, socket, sys, time
conns = []
for i in range(60):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    conns.append(s)
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
for s in conns:
    s.close()
PY
	local holder=$!
	wait_until "[ -e '$T/held' ]"
	wait_until "grep -q 'accept (pausing for a second)' '$JOBD_LOG'" 5
	local t0 t1
	t0=$(cpu_ticks "$JOBD_PID")
	sleep 2
	t1=$(cpu_ticks "$JOBD_PID")
	# clock ticks are 1/100 s: 2 s of a busy loop would be about 200
	[ $((t1 - t0)) -le 20 ] || fail "jobd used $((t1 - t0)) ticks while out of fds"
	touch "$T/release"
	wait "$holder"
	wait_until 'http GET /; [ "$code" = 200 ]' 10
}
