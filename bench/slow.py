#!/usr/bin/python3
"""Hold N slow connections to a unix socket: each sends one byte of a
request head every half second and never finishes. Touches READY once all
are connected; runs until killed."""

import socket
import sys
import time

path, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conns = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"G")
    conns.append(s)
open(ready, "w").close()
head = b"ET / HTTP/1.1\r\nX-Slow: " + b"a" * 10000
i = 0
while True:
    time.sleep(0.5)
    for s in conns:
        try:
            s.send(head[i:i + 1])
        except OSError:
            pass
    i += 1
