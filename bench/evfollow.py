#!/usr/bin/python3
"""bench/evfollow.py SOCK N OUT [stall]: N clients follow GET /events
over the unix socket SOCK. Reading: for each task "exited" event that 20
of them get, the delay from the event's time (when jobd reaped the task,
in ms) to its receipt is a sample (ms), written to OUT when SIGTERM
comes. With "stall", the
clients never read. Prints "ready" once all are attached."""
import calendar
import json
import selectors
import signal
import socket
import sys
import time

sock, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stall = len(sys.argv) > 4
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    if stall:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(sock)
    s.sendall(b"GET /events?follow=1 HTTP/1.0\r\n\r\n")
    socks.append(s)
done = False


def stop(*a):
    global done
    done = True


signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
samples = []
t0 = time.time()
if stall:
    while not done:
        time.sleep(0.1)
else:
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    tails = {s: b"" for s in socks}
    # All read; 20 of them time their events (parsing JSON for all would
    # make this process the bottleneck, and its queue the delay).
    timed = set(socks[:20])
    while not done:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            try:
                d = s.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                continue
            if not d:
                sel.unregister(s)
                continue
            if s not in timed:
                continue
            now = time.time()
            buf = tails[s] + d
            lines = buf.split(b"\n")
            tails[s] = lines.pop()
            for line in lines:
                if b'"action":"exited","job"' not in line or b'"type":"task"' not in line:
                    continue
                t = json.loads(line)["time"]
                # 2026-12-02T16:06:44.965Z
                ts = calendar.timegm(time.strptime(t[:19],
                    "%Y-%m-%dT%H:%M:%S")) + int(t[20:23]) / 1000.0
                if ts >= t0:
                    samples.append((now - ts) * 1000)
with open(out, "w") as f:
    f.write("".join("%.3f\n" % x for x in samples))
