#!/usr/bin/python3
"""A raw HTTP client for tests: sends stdin's bytes as they are (or one
byte at a time, or only part of them) to a unix or TCP socket and prints
what comes back until the server closes or the time runs out.

Exit status: 0 the server closed, 3 timed out still open, 4 refused or
failed to connect."""

import argparse
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--unix")
    p.add_argument("--tcp")
    p.add_argument("--bytewise", action="store_true",
                   help="send one byte at a time")
    p.add_argument("--delay", type=float, default=0.0,
                   help="seconds between sends")
    p.add_argument("--send", type=int, default=-1,
                   help="send only the first N bytes, then close")
    p.add_argument("--no-read", action="store_true",
                   help="close right after sending")
    p.add_argument("--shutdown", action="store_true",
                   help="half-close after sending")
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()

    data = sys.stdin.buffer.read()
    if a.send >= 0:
        data = data[:a.send]
    try:
        if a.unix:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(a.timeout)
            s.connect(a.unix)
        else:
            host, port = a.tcp.rsplit(":", 1)
            s = socket.create_connection((host.strip("[]"), int(port)),
                                         timeout=a.timeout)
    except OSError as e:
        print("connect: %s" % e, file=sys.stderr)
        return 4
    try:
        if a.bytewise:
            for i in range(len(data)):
                s.sendall(data[i:i + 1])
                if a.delay:
                    time.sleep(a.delay)
        elif data:
            s.sendall(data)
    except OSError as e:
        print("send: %s" % e, file=sys.stderr)
    if a.send >= 0 or a.no_read:
        s.close()
        return 0
    if a.shutdown:
        s.shutdown(socket.SHUT_WR)
    deadline = time.time() + a.timeout
    out = sys.stdout.buffer
    while True:
        left = deadline - time.time()
        if left <= 0:
            out.flush()
            return 3
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            out.flush()
            return 3
        except OSError:
            break
        if not b:
            break
        out.write(b)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
