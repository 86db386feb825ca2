#!/usr/bin/python3
"""crashsoak.py BUILDDIR [KILLS]: jobd under jobinit, killed with -9 at
random instants (KILLS times, default 200) during a storm of PUT, DELETE
and signals from several clients. Afterwards:

  * every job a client was told exists (201, and no DELETE answered
    since) exists, and is the incarnation that client created;
  * every state is consistent: a running job's pid is alive and its
    earlier tasks have ended, a finished job has no live process;
  * no task was started twice (each task appends "INCARNATION TASK PID"
    to a file as it starts: one line per start);
  * no task is lost (jobinit relays every exit);
  * after DELETE of everything, no task's process is left.

Prints the counts and exits 1 if any check fails."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

build = sys.argv[1]
kills_wanted = int(sys.argv[2]) if len(sys.argv) > 2 else 200
tmp = tempfile.mkdtemp(prefix="jobd-crashsoak.")
sock = os.path.join(tmp, "jobd.sock")
starts = os.path.join(tmp, "starts")
NAMES = ["j%d" % i for i in range(40)]
lock = threading.Lock()
# name -> (incarnation, "exists" | "deleted" | "unknown")
told = {}
counts = {"put": 0, "delete": 0, "signal": 0, "cut": 0, "refused": 0}


def request(method, path, body=None, timeout=30):
    """(status, parsed body); raises OSError when the connection is cut."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        data = body.encode() if body is not None else b""
        s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Content-Length: %d\r\n\r\n" % (method, path, len(data)))
                  .encode() + data)
        resp = b""
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            resp += d
    finally:
        s.close()
    head, sep, rest = resp.partition(b"\r\n\r\n")
    if not sep:
        raise OSError("cut: %r" % resp[:40])
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(rest) if rest else None
    except ValueError:
        raise OSError("cut body")


def job_body(inc):
    t0 = ("echo \"%s 0 $$\" >>%s; exec sleep %.2f"
          % (inc, starts, random.uniform(0, 2)))
    t1 = "echo \"%s 1 $$\" >>%s; exec sleep %.2f" % (
        inc, starts, random.uniform(0, 1))
    env = {"PATH": "/usr/bin:/bin", "JOBD_CRASHSOAK": tmp}
    return json.dumps({"tasks": [
        {"exec": "/bin/sh", "args": ["-c", t0], "envs": env, "cwd": "/",
         "fd": []},
        {"exec": "/bin/sh", "args": ["-c", t1], "envs": env, "cwd": "/",
         "fd": []}], "stop_timeout": 1})


stop = threading.Event()


def client(seed):
    rnd = random.Random(seed)
    # Each client has names of its own: what it was told stays true.
    mine = NAMES[seed::3]
    n = 0
    while not stop.is_set():
        name = rnd.choice(mine)
        op = rnd.random()
        n += 1
        try:
            if op < 0.5:
                inc = "%s.%d.%d" % (name, seed, n)
                with lock:
                    told[name] = (inc, "unknown")
                st, b = request("PUT", "/job/" + name, job_body(inc))
                with lock:
                    if st == 201:
                        told[name] = (inc, "exists")
                        counts["put"] += 1
                    elif st == 409:
                        told[name] = (None, "unknown")
            elif op < 0.8:
                with lock:
                    told[name] = (None, "unknown")
                st, b = request("DELETE", "/job/" + name)
                with lock:
                    if st in (200, 202, 404):
                        told[name] = (None, "deleted")
                        counts["delete"] += 1
            else:
                request("POST", "/job/%s/signal" % name,
                        '{"signal":"TERM"}')
                with lock:
                    counts["signal"] += 1
        except ConnectionRefusedError:
            with lock:
                counts["refused"] += 1
        except OSError as e:
            with lock:
                counts["cut"] += 1
            if os.environ.get("CRASHSOAK_DEBUG"):
                print("cut %.3f %s %s: %s" % (time.time(), op, name, e))
        time.sleep(rnd.uniform(0, 0.01))


def jobd_pid():
    for _ in range(600):
        try:
            st, b = request("GET", "/", timeout=10)
            if st == 200:
                return b["pid"]
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("jobd does not answer")


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def tagged():
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % p, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if ("JOBD_CRASHSOAK=" + tmp).encode() in env:
            out.append(int(p))
    return out


def main():
    env = dict(os.environ, JOBD_STATE_DIR=os.path.join(tmp, "state"))
    log = open(os.path.join(tmp, "jobinit.log"), "w")
    ji = subprocess.Popen([os.path.join(build, "src/jobinit"), "-q",
                           "--listen", "unix:" + sock, "--",
                           os.path.join(build, "src/jobd"), "-q"],
                          env=env, stdin=subprocess.DEVNULL, stdout=log,
                          stderr=log)
    fails = []
    try:
        jobd_pid()
        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(3)]
        for t in threads:
            t.start()
        kills = 0
        rnd = random.Random(7)
        while kills < kills_wanted:
            # A jobd that lived a second is restarted at once; one that
            # keeps dying sooner is jobinit's backoff, not the point here.
            pid = jobd_pid()
            time.sleep(rnd.uniform(1.0, 1.3))
            os.kill(pid, signal.SIGKILL)
            if os.environ.get("CRASHSOAK_DEBUG"):
                print("kill %.3f %d" % (time.time(), pid))
            kills += 1
        stop.set()
        for t in threads:
            t.join()
        jobd_pid()
        # Let the relayed exits and the 5 s wait for them play out.
        time.sleep(6)
        st, b = request("GET", "/jobs")
        jobs = {j["name"]: j for j in b["jobs"]}
        with open(starts) as f:
            lines = [l.split() for l in f if l.strip()]
        seen = {}
        for inc, task, pid in lines:
            seen.setdefault((inc, task), []).append(int(pid))
        twice = sum(1 for v in seen.values() if len(v) > 1)
        if twice:
            fails.append("%d tasks started twice: %s" % (twice, [
                k for k, v in seen.items() if len(v) > 1][:5]))
        lost = 0
        checked = 0
        for name, (inc, what) in told.items():
            if what == "exists":
                checked += 1
                j = jobs.get(name)
                if j is None:
                    fails.append("%s: told it exists, not listed" % name)
                    continue
                pids = [t["pid"] for t in j["tasks"] if t["pid"]]
                mine = {p for (i, _), v in seen.items() if i == inc
                        for p in v}
                if pids and not set(pids) <= mine:
                    fails.append("%s: pids %s are not of incarnation %s"
                                 % (name, pids, inc))
            elif what == "deleted" and name in jobs and \
                    jobs[name]["state"] in ("running",):
                fails.append("%s: deleted, still running" % name)
        for name, j in jobs.items():
            for i, t in enumerate(j["tasks"]):
                if t["state"] == "lost":
                    lost += 1
                if t["state"] == "running" and not alive(t["pid"]):
                    fails.append("%s: task %d running, pid %d gone"
                                 % (name, i, t["pid"]))
                if t["state"] == "running" and any(
                        u["state"] in ("running", "starting")
                        for u in j["tasks"][:i]):
                    fails.append("%s: two tasks running" % name)
            if j["state"] not in ("running", "stopping") and any(
                    t["pid"] and alive(t["pid"]) and t["state"] == "running"
                    for t in j["tasks"]):
                fails.append("%s: %s with a live task" % (name, j["state"]))
        if lost:
            fails.append("%d tasks lost under jobinit" % lost)
        for name in jobs:
            request("DELETE", "/job/" + name)
        deadline = time.time() + 15
        while tagged() and time.time() < deadline:
            time.sleep(0.1)
        orphans = tagged()
        if orphans:
            fails.append("%d processes left after DELETE of everything"
                         % len(orphans))
        print("kills %d, requests: %d PUT, %d DELETE, %d signals answered, "
              "%d cut by a kill, %d refused; jobs checked %d; task starts "
              "%d; started twice %d; lost %d; orphans %d"
              % (kills, counts["put"], counts["delete"], counts["signal"],
                 counts["cut"], counts["refused"], checked, len(lines),
                 twice, lost, len(orphans)))
        if counts["refused"]:
            fails.append("%d connections refused" % counts["refused"])
    finally:
        stop.set()
        ji.terminate()
        try:
            ji.wait(30)
        except subprocess.TimeoutExpired:
            ji.kill()
        for p in tagged():
            os.kill(p, signal.SIGKILL)
    for f in fails:
        print("FAIL:", f)
    if fails:
        print("kept for a look:", tmp)
        return 1
    subprocess.run(["rm", "-rf", tmp])
    return 0


sys.exit(main())
