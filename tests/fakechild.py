# fakechild.py DIR: a child for jobinit that speaks its control channel.
# Each start is a "life": life N runs the Python code in DIR/lifeN.py
# (if any) with the helpers below, then waits for signals. It notes its
# pid in DIR/pidN and the names of its fds in DIR/namesN.
import os
import signal
import socket
import sys
import time

D = sys.argv[1]
N = len([f for f in os.listdir(D) if f.startswith("pid")]) + 1
NAMES = os.environ.get("LISTEN_FDNAMES", "").split(":")
FDS = {name: 3 + i for i, name in enumerate(NAMES)}
CHAN = socket.socket(fileno=FDS["jobinit"])


def log(*words):
    with open(os.path.join(D, "log%d" % N), "a") as f:
        f.write(" ".join(str(w) for w in words) + "\n")


def send(msg, fds=()):
    socket.send_fds(CHAN, [msg.encode()], list(fds))


def store(name, fd):
    send("STORE " + name, [fd])


def remove(name):
    send("REMOVE " + name)


def ack(seq):
    send("ACK %d" % seq)


def recv():
    msg, _, _, _ = socket.recv_fds(CHAN, 600, 4)
    return msg.decode()


def hello():
    """HELLO, then the exits up to READY as (seq, pid, status)."""
    send("HELLO")
    exits = []
    while True:
        m = recv().split()
        if m == ["READY"]:
            return exits
        assert m[0] == "EXIT" and len(m) == 4, m
        exits.append(tuple(int(x) for x in m[1:]))


def live(pid):
    """Exits sent live until the one of pid: (seq, pid, status)."""
    while True:
        m = recv().split()
        assert m[0] == "EXIT" and len(m) == 4, m
        e = tuple(int(x) for x in m[1:])
        if e[1] == pid:
            return e


def zombie(code):
    """A child that exits with code at once and is never waited for."""
    pid = os.fork()
    if pid == 0:
        os._exit(code)
    while True:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return pid
        time.sleep(0.01)


def wait_for(path, limit=20):
    end = time.monotonic() + limit
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise SystemExit("no " + path)
        time.sleep(0.02)


def done():
    with open(os.path.join(D, "done%d" % N), "w"):
        pass


with open(os.path.join(D, "names%d" % N), "w") as f:
    f.write(os.environ.get("LISTEN_FDNAMES", "") + "\n")
with open(os.path.join(D, "pid%d" % N), "w") as f:
    f.write("%d\n" % os.getpid())
script = os.path.join(D, "life%d.py" % N)
if os.path.exists(script):
    with open(script) as f:
        exec(f.read())
while True:
    signal.pause()
