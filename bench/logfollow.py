#!/usr/bin/python3
"""bench/logfollow.py SOCK JOB N OUT: N clients follow JOB's log
(format=raw) over the unix socket SOCK, reading as fast as they can, until
the job ends. Each line begins with the ns time of its write (see
logwrite.c): for the last whole line of every read, the delay from write
to receipt is a sample. Writes the samples (ms, one a line) to OUT and
prints the bytes each client got (the smallest)."""
import selectors
import socket
import sys
import time

sock, job, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sel = selectors.DefaultSelector()
got = {}
tails = {}
samples = []
req = ("GET /job/%s/log?follow=1&format=raw HTTP/1.0\r\n\r\n" % job).encode()
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(req)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    got[s] = 0
    tails[s] = b""
# Ready: the caller starts the job now.
print("ready", flush=True)
left = n
while left:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            d = s.recv(1 << 20)
        except BlockingIOError:
            continue
        if not d:
            sel.unregister(s)
            s.close()
            left -= 1
            continue
        now = time.time_ns()
        got[s] += len(d)
        end = d.rfind(b"\n")
        if end == -1:
            continue
        start = d.rfind(b"\n", 0, end) + 1
        line = d[start:end] if start > 0 else (tails[s] + d[:end])
        stamp = line[:19]
        if len(stamp) == 19 and stamp.isdigit():
            samples.append((now - int(stamp)) / 1e6)
        tails[s] = d[end + 1:]
with open(out, "w") as f:
    f.write("\n".join("%.3f" % x for x in samples) + "\n")
print(min(got.values()))
