#!/usr/bin/python3
"""Soak a running jobd: N cycles of PUT (a /bin/true job), wait, DELETE,
mixed with GETs, bad requests and new connections. Reads jobd's fd count,
RSS and zombie children after CHECKPOINT cycles and at the end, prints
both and exits 1 if the fds or zombies differ or RSS grew more than
--rss-slack kB.

usage: soak.py SOCKET JOBD_PID CYCLES [--checkpoint K] [--rss-slack KB]
"""

import argparse
import json
import os
import socket
import sys
import time

JOB = json.dumps({"tasks": [{"exec": "/bin/true", "args": [], "envs": {},
                             "cwd": "/", "fd": []}]}).encode()
BAD = [
    (b"PUT", b"/job/bad", b"{nope}}"),
    (b"GET", b"/no/such/route", b""),
    (b"PUT", b"/job/.bad", b"{}"),
    (b"PUT", b"/job/bad", b"{\"tasks\": 1}\n"),
    (b"POST", b"/job/nosuch/signal", b"{}"),
    (b"PUT", b"/job/x", b"{\"tasks\":[{\"exec\":1,\"args\":[],\"envs\":{}}]}"),
    (b"PUT", b"/job/x", b"{\"tasks\":[{\"exec\":\"/bin/true\",\"args\":[],"
     b"\"envs\":{},\"cwd\":\"/\",\"fd\":[{\"type\":\"tty\"}]}]}"),
    (b"PUT", b"/job/x", b"{\"tasks\":[{\"exec\":\"/nonexistent\",\"args\":[],"
     b"\"envs\":{},\"cwd\":\"/\",\"fd\":[]}]}"),
]
GARBAGE = b"\x01\x02 not http\r\n\r\n"


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)
        self.s.connect(path)
        self.buf = b""

    def request(self, raw):
        self.s.sendall(raw)
        while b"\r\n\r\n" not in self.buf:
            self.more()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(rest) < length:
            self.more()
            head, _, rest = self.buf.partition(b"\r\n\r\n")
        self.buf = rest[length:]
        status = int(head.split(b" ")[1])
        closed = b"connection: close" in head.lower()
        return status, rest[:length], closed

    def more(self):
        b = self.s.recv(65536)
        if not b:
            raise ConnectionError("jobd closed the connection")
        self.buf += b

    def close(self):
        self.s.close()


def req(method, path, body=b""):
    return (b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
            % (method, path, len(body))) + body


def figures(pid):
    fds = len(os.listdir("/proc/%d/fd" % pid))
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    zombies = 0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(st[1]) == pid and st[0] == "Z":
            zombies += 1
    return fds, rss, zombies


def settled(pid):
    """The figures once jobd has closed what the client closed."""
    prev = figures(pid)
    for _ in range(50):
        time.sleep(0.1)
        cur = figures(pid)
        if cur[0] == prev[0]:
            return cur
        prev = cur
    return prev


def main():
    a = argparse.ArgumentParser()
    a.add_argument("socket")
    a.add_argument("pid", type=int)
    a.add_argument("cycles", type=int)
    a.add_argument("--checkpoint", type=int, default=1000)
    a.add_argument("--rss-slack", type=int, default=256)
    o = a.parse_args()

    c = Conn(o.socket)
    first = None
    t0 = time.time()
    for i in range(1, o.cycles + 1):
        name = b"/job/soak-%d" % (i % 50)
        st, body, _ = c.request(req(b"PUT", name, JOB))
        if st not in (200, 201):
            sys.exit("cycle %d: PUT %d %s" % (i, st, body))
        st, body, _ = c.request(req(b"GET", name + b"?wait=30"))
        if st != 200 or json.loads(body)["state"] != "exited":
            sys.exit("cycle %d: wait %d %s" % (i, st, body))
        st, body, _ = c.request(req(b"DELETE", name))
        if st != 200:
            sys.exit("cycle %d: DELETE %d %s" % (i, st, body))
        if i % 5 == 0:
            st, _, _ = c.request(req(b"GET", b"/jobs"))
        if i % 7 == 0:
            st, _, closed = c.request(req(*BAD[i % len(BAD)]))
            if st < 400:
                sys.exit("cycle %d: bad request got %d" % (i, st))
            if closed:
                c.close()
                c = Conn(o.socket)
        if i % 13 == 0:
            st, _, _ = c.request(GARBAGE)
            if st != 400:
                sys.exit("cycle %d: garbage got %d" % (i, st))
            c.close()
            c = Conn(o.socket)
        if i % 11 == 0:
            c.close()
            c = Conn(o.socket)
        if i == o.checkpoint:
            c.close()
            first = settled(o.pid)
            c = Conn(o.socket)
    c.close()
    last = settled(o.pid)
    secs = time.time() - t0
    if first is None:
        first = last
    print("cycles %d in %.1f s (%.0f/s)" % (o.cycles, secs, o.cycles / secs))
    print("after %d cycles: fds %d, RSS %d kB, zombies %d"
          % ((o.checkpoint,) + first))
    print("after %d cycles: fds %d, RSS %d kB, zombies %d"
          % ((o.cycles,) + last))
    bad = last[0] != first[0] or last[2] != 0 or first[2] != 0 or \
        last[1] - first[1] > o.rss_slack
    if bad:
        print("FAIL: jobd grew or left zombies")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
