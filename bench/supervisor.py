#!/usr/bin/python3
"""bench/supervisor.py: supervisord as the peer of jobd's benchmarks.

Drives a supervisord (started by bench/lib.sh with its own config, in
the foreground) over its XML-RPC unix socket, the way a client would
define and start programs at run time: write a [program:x] section into
the include dir, supervisor.reloadConfig(), supervisor.addProcessGroup(x).
Programs have startsecs=0 and autorestart=false, so that /bin/true that
exits 0 ends as EXITED, a success.

  supervisor.py wait SOCK
  supervisor.py spawn SOCK CONFDIR PREFIX N CLIENTS
      define+start N /bin/true programs, each waited for until EXITED and
      then removed (removeProcessGroup, file unlinked) so that the config
      does not grow; CLIENTS threads, one connection each. Prints seconds.
  supervisor.py start SOCK CONFDIR PREFIX N
      N /bin/sleep 100000 programs: all sections written, one
      reloadConfig, one addProcessGroup each, until all are RUNNING.
      Prints seconds.
  supervisor.py status SOCK NAME COUNT
      getProcessInfo(NAME) COUNT times: prints p50 and p99 in ms.
  supervisor.py list SOCK COUNT
      getAllProcessInfo() COUNT times: prints the median in ms and the
      number of processes.
  supervisor.py stop SOCK
      stopAllProcesses(): prints the seconds until all have stopped.
"""
import http.client
import os
import socket
import statistics
import sys
import threading
import time
import xmlrpc.client

SECTION = """[program:{name}]
command={command}
autostart=true
autorestart=false
startsecs=0
startretries=0
stdout_logfile=NONE
stderr_logfile=NONE
"""


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=600)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(600)
        s.connect(self.unix_path)
        self.sock = s


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        self._connection = host, UnixConnection(self.unix_path)
        return self._connection[1]


def proxy(path):
    return xmlrpc.client.ServerProxy(
        "http://localhost/RPC2", transport=UnixTransport(path)).supervisor


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def cmd_wait(path):
    deadline = time.monotonic() + 30
    while True:
        try:
            if proxy(path).getState()["statename"] == "RUNNING":
                return
        except (OSError, xmlrpc.client.Error, http.client.HTTPException):
            pass
        if time.monotonic() > deadline:
            sys.exit("supervisord did not answer on %s" % path)
        time.sleep(0.02)


def define(confdir, name, command):
    tmp = os.path.join(confdir, ".%s.tmp" % name)
    with open(tmp, "w") as f:
        f.write(SECTION.format(name=name, command=command))
    os.rename(tmp, os.path.join(confdir, name + ".conf"))


def cmd_spawn(path, confdir, prefix, n, clients):
    nums = list(range(n))
    lock = threading.Lock()
    errors = []

    def worker():
        s = proxy(path)
        while True:
            with lock:
                if not nums or errors:
                    return
                i = nums.pop(0)
            name = "%s%d" % (prefix, i)
            try:
                define(confdir, name, "/bin/true")
                s.reloadConfig()
                s.addProcessGroup(name)
                while True:
                    state = s.getProcessInfo(name)["statename"]
                    if state == "EXITED":
                        break
                    if state in ("FATAL", "BACKOFF", "UNKNOWN"):
                        raise RuntimeError("%s: %s" % (name, state))
                    time.sleep(0.002)
                s.removeProcessGroup(name)
                os.unlink(os.path.join(confdir, name + ".conf"))
            except Exception as e:  # noqa: BLE001 (reported, then exit 1)
                with lock:
                    errors.append("%s: %r" % (name, e))
                return

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t1 = time.monotonic()
    if errors:
        sys.exit("supervisor.py spawn: " + errors[0])
    print("%.6f" % (t1 - t0))


def cmd_start(path, confdir, prefix, n):
    s = proxy(path)
    names = ["%s%d" % (prefix, i) for i in range(n)]
    t0 = time.monotonic()
    for name in names:
        define(confdir, name, "/bin/sleep 100000")
    s.reloadConfig()
    for name in names:
        s.addProcessGroup(name)
    while True:
        info = s.getAllProcessInfo()
        running = sum(1 for p in info if p["statename"] == "RUNNING")
        bad = [p for p in info if p["statename"] in ("FATAL", "BACKOFF")]
        if bad:
            sys.exit("supervisor.py start: %s is %s" %
                     (bad[0]["name"], bad[0]["statename"]))
        if running >= n:
            break
        time.sleep(0.005)
    t1 = time.monotonic()
    print("%.6f" % (t1 - t0))


def cmd_status(path, name, count):
    s = proxy(path)
    s.getProcessInfo(name)
    lat = []
    for _ in range(count):
        t0 = time.monotonic()
        s.getProcessInfo(name)
        lat.append(time.monotonic() - t0)
    print("%.3f %.3f" % (percentile(lat, 0.5) * 1e3, percentile(lat, 0.99) * 1e3))


def cmd_list(path, count):
    s = proxy(path)
    lat = []
    n = 0
    for _ in range(count):
        t0 = time.monotonic()
        n = len(s.getAllProcessInfo())
        lat.append(time.monotonic() - t0)
    print("%.3f %d" % (statistics.median(lat) * 1e3, n))


def cmd_stop(path):
    s = proxy(path)
    t0 = time.monotonic()
    s.stopAllProcesses(True)
    while any(p["statename"] not in ("STOPPED", "EXITED", "FATAL")
              for p in s.getAllProcessInfo()):
        time.sleep(0.005)
    t1 = time.monotonic()
    print("%.6f" % (t1 - t0))


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, path = argv[1], argv[2]
    a = argv[3:]
    if cmd == "wait":
        cmd_wait(path)
    elif cmd == "spawn":
        cmd_spawn(path, a[0], a[1], int(a[2]), int(a[3]))
    elif cmd == "start":
        cmd_start(path, a[0], a[1], int(a[2]))
    elif cmd == "status":
        cmd_status(path, a[0], int(a[1]))
    elif cmd == "list":
        cmd_list(path, int(a[0]))
    elif cmd == "stop":
        cmd_stop(path)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
