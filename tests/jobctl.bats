#!/usr/bin/env bats
# jobctl: every command against a real jobd, what start infers from the
# caller (cwd, PATH, files, FIFOs, sockets, --then chains), exit statuses,
# --json, colour and terminal width.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	jobd_start
	export JOBD_SOCKET=$SOCK
	unset NO_COLOR XDG_RUNTIME_DIR
	cd "$BATS_TEST_TMPDIR"
}

jc() {
	"$JOBCTL" "$@"
}

# The job's status as JSON, through jobctl itself.
jstate() {
	jc --json status "$1" | jq -r "${2:-.state}"
}

# Ages and running times tick between two runs (and may widen their
# column); nothing else may differ.
mask_times() {
	sed -E 's/\b[0-9]+[smhd]\b/T/g; s/ +/ /g'
}

# write_fake DIR: DIR/fake.py, a stand-in for jobd on a unix socket that
# answers every request with 200 and DIR/answer (or {}), and appends a line per
# connection to a record: the number of bytes it received, then the
# request line. Connections are taken one at a time, so once a later one
# is answered every earlier one is on record.
write_fake() {
	cat >"$1/fake.py" <<'EOF'
import os, socket, sys
path, record = sys.argv[1], sys.argv[2]
try:
    answer = open(os.path.join(os.path.dirname(record), 'answer'), 'rb').read()
except OSError:
    answer = b'{}'
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path + '.new')
os.chmod(path + '.new', 0o777)
s.listen(16)
os.rename(path + '.new', path)
while True:
    c, _ = s.accept()
    c.settimeout(10)
    data = b''
    try:
        while True:
            head, sep, rest = data.partition(b'\r\n\r\n')
            if sep:
                n = 0
                for l in head.split(b'\r\n')[1:]:
                    k, _, v = l.partition(b':')
                    if k.strip().lower() == b'content-length':
                        n = int(v)
                if len(rest) >= n:
                    break
            d = c.recv(65536)
            if not d:
                break
            data += d
        if data:
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json'
                      b'\r\nContent-Length: %d\r\nConnection: close\r\n\r\n'
                      % len(answer) + answer)
    except OSError:
        pass
    with open(record, 'a') as f:
        f.write('%d %s\n' % (len(data),
                             data.split(b'\r\n', 1)[0].decode('latin-1')))
    c.close()
EOF
}

# fake_start DIR SOCKET [PREFIX...]: the stand-in of DIR/fake.py on
# SOCKET, recording to DIR/record, run under PREFIX (setpriv ...).
fake_start() {
	local dir=$1 sock=$2
	shift 2
	"$@" "$PY" "$dir/fake.py" "$sock" "$dir/record" \
	    </dev/null >/dev/null 2>&1 3>&- &
	wait_until "[ -S '$sock' ]" || fail "the stand-in did not start"
}

# fake_nothing_sent DIR SOCKET: every connection the stand-in had before
# now (but a probe of ours) brought it no byte.
fake_nothing_sent() {
	curl -s --max-time 10 --unix-socket "$2" http://localhost/probe \
	    >/dev/null || fail "the stand-in does not answer"
	touch "$1/record"
	run grep -v ' GET /probe ' "$1/record"
	refute_output --regexp '^[1-9]'
}

# "${NOBODY[@]}" CMD...: CMD run as nobody, without our socket settings.
NOBODY=(setpriv --reuid nobody --regid nogroup --clear-groups
    env -u JOBD_SOCKET -u XDG_RUNTIME_DIR)

# with_tmp DIR CMD...: CMD run with DIR mounted on /tmp, in a mount
# namespace of its own (so that /tmp/jobd-$UID is the test's).
with_tmp() {
	unshare --mount --propagation private sh -c \
	    'mount --bind "$1" /tmp && shift && exec "$@"' sh "$@"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
	unshare --mount --propagation private true 2>/dev/null ||
		skip "cannot create a mount namespace here"
}

# A program that serves on its inherited sockets: writes LISTEN_* to
# fds.out, then answers one client on each socket with its fd and name.
write_server() {
	cat >server.py <<'EOF'
import os, socket
n = int(os.environ["LISTEN_FDS"])
names = os.environ["LISTEN_FDNAMES"].split(":")
with open("fds.out", "w") as f:
    f.write("%d %s %s\n" % (n, ":".join(names),
                            os.environ["LISTEN_PID"] == str(os.getpid())))
for i in range(n):
    s = socket.socket(fileno=3 + i)
    c, _ = s.accept()
    c.sendall(("fd %d %s\n" % (3 + i, names[i])).encode())
    c.close()
EOF
}

@test "start: cwd and PATH come from the caller, a new output file is created" {
	mkdir -p bin work
	printf '#!/bin/sh\necho "hello $1 from $(pwd)"\necho oops >&2\n' \
	    >bin/hello-jobctl
	chmod +x bin/hello-jobctl
	cd work
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run jc start h --stdout out.log -- \
	    hello-jobctl world
	assert_success
	assert_output --regexp '^h: started, pid [0-9]+$'
	run jc wait h
	assert_success
	# Relative to the caller's directory; stderr goes where stdout goes.
	assert_equal "$(cat "$BATS_TEST_TMPDIR/work/out.log")" \
	    "hello world from $BATS_TEST_TMPDIR/work"$'\n'oops
	assert_equal "$(jstate h '.tasks[0].exec')" hello-jobctl
}

@test "start: an existing output file is appended to, --stderr apart" {
	echo before >out.log
	jc start a --stdout out.log --stderr err.log -- \
	    /bin/sh -c 'echo after; echo bad >&2'
	run jc wait a
	assert_success
	assert_equal "$(cat out.log)" $'before\nafter'
	assert_equal "$(cat err.log)" bad
}

@test "start: --stdin reads a file; a missing one is an error" {
	printf 'one\ntwo\n' >in.txt
	jc start r --stdin in.txt --stdout out.txt -- /usr/bin/wc -l
	jc wait r
	assert_equal "$(tr -d ' ' <out.txt)" 2
	run jc start r2 --stdin missing.txt -- /bin/cat
	assert_failure 1
	assert_output --partial "--stdin missing.txt: No such file or directory"
	run jc status r2
	assert_failure 1
}

@test "start: a FIFO given as --stdout or --stdin is a pipe" {
	mkfifo out.fifo in.fifo
	timeout 10 cat "$BATS_TEST_TMPDIR/out.fifo" >got.txt 3>&- &
	local reader=$!
	jc start w --stdout out.fifo -- /bin/echo through the fifo
	wait_until "! alive $reader" 10
	wait "$reader"
	assert_equal "$(cat got.txt)" "through the fifo"
	assert_equal "$(jc start x --dry-run --json --stdout out.fifo -- true |
	    jq -r '.tasks[0].fd[1].type + " " + .tasks[0].fd[1].mode')" "pipe w"

	jc start r --stdin in.fifo --stdout line.txt -- /usr/bin/head -n 1
	# Opening a FIFO to write blocks until it has a reader: bounded.
	timeout 10 sh -c 'echo "into the fifo" >in.fifo'
	run jc wait r --timeout 10
	assert_success
	assert_equal "$(cat line.txt)" "into the fifo"
}

@test "start: a unix socket as --stdout is an error that says what to do" {
	$PY -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])' "$BATS_TEST_TMPDIR/app.sock"
	run jc start s --stdout app.sock -- /bin/true
	assert_failure 1
	assert_output --partial "--stdout app.sock: is a unix socket"
	assert_output --partial "--listen unix:$BATS_TEST_TMPDIR/app.sock"
	run jc status s
	assert_failure 1
	assert_output --partial "no such job"
	run jc start d --stdout . -- /bin/true
	assert_failure 1
	assert_output --partial "is a directory"
}

@test "start: --listen gives sockets as fds 3.. with LISTEN_FDS and names" {
	write_server
	run jc start srv --listen unix:srv.sock=app \
	    --listen tcp:127.0.0.1:0=http -- /usr/bin/python3 server.py
	assert_success
	assert_line --regexp "^  fd 3  unix:$BATS_TEST_TMPDIR/srv.sock  app$"
	assert_line --regexp '^  fd 4  tcp:127\.0\.0\.1:[0-9]+  http$'
	local addr
	addr=$(jstate srv '.sockets[] | select(.fd == 4) | .address')
	assert_equal "$($CLIENT --unix "$BATS_TEST_TMPDIR/srv.sock" \
	    </dev/null 2>/dev/null)" "fd 3 app"
	assert_equal "$($CLIENT --tcp "${addr#tcp:}" </dev/null 2>/dev/null)" \
	    "fd 4 http"
	run jc wait srv --timeout 10
	assert_success
	assert_equal "$(cat fds.out)" "2 app:http True"
	run jc start x --dry-run --json --listen 'tcp:[::1]:8080' \
	    --listen udp:127.0.0.1:5353=dns --listen unix:/run/a=b/s.sock -- true
	assert_success
	echo "$output" | jq -e '.tasks[0].fd[3:] == [
	    {"type": "network socket", "bind": "::1", "port": 8080},
	    {"type": "network socket", "bind": "127.0.0.1", "port": 5353,
	     "protocol": "udp", "name": "dns"},
	    {"type": "unix socket", "path": "/run/a=b/s.sock"}]'
	run jc start x --listen 'tcp:example.com:80' -- true
	assert_failure 2
}

@test "start: --then tasks run in turn with _LAST_EXIT, words split as sh does" {
	run jc start c \
	    --then 'sh -c "echo then1 \$_LAST_EXIT >> chain.txt; exit 5"' \
	    --then "/usr/bin/python3 -c 'import sys, os; print(sys.argv[1:], os.environ[\"_LAST_EXIT\"])' 'a b' \"c \\\"d\" e\\ f" \
	    --stdout chain.txt -- /bin/sh -c 'echo first; exit 3'
	assert_success
	run jc wait c
	assert_success
	assert_equal "$(cat chain.txt)" \
	    "first"$'\n'"then1 3"$'\n'"['a b', 'c \"d', 'e f'] 5"
	assert_equal "$(jstate c '[.tasks[].exit_code] | join(" ")')" "3 5 0"
}

@test "start: a --then task learns the signal that killed the one before" {
	jc start k --then 'sh -c "echo \$_LAST_EXIT > last.txt"' -- /bin/sleep 100
	run jc signal k KILL
	assert_success
	run jc wait k --timeout 10
	assert_success
	assert_equal "$(cat last.txt)" SIGKILL
}

@test "start: --then refuses shell syntax it cannot honour, and port 0" {
	run jc start t --then 'echo a > b' -- /bin/true
	assert_failure 2
	assert_output --partial "'>' means something to a shell"
	run jc start t --then 'echo "a' -- /bin/true
	assert_failure 2
	assert_output --partial "quote is not closed"
	run jc start t --then '' -- /bin/true
	assert_failure 2
	run jc start t --listen tcp:127.0.0.1:0 --then true -- /bin/true
	assert_failure 2
	assert_output --partial "give a port"
	run jc status t
	assert_failure 1
}

@test "start: --cwd, --env, --user; nothing else leaks from the caller" {
	mkdir -p sub
	export JOBCTL_SECRET=hidden COPY_ME=copied
	jc start e --cwd sub --env A=1 --env 'B=x y' --env COPY_ME \
	    --user "$(id -u)" --stdout env.txt -- /bin/sh -c 'env; pwd; id -u'
	jc wait e
	run cat env.txt
	assert_line A=1
	assert_line "B=x y"
	assert_line COPY_ME=copied
	assert_line "PATH=$PATH"
	assert_line "$BATS_TEST_TMPDIR/sub"
	assert_line "$(id -u)"
	refute_output --partial JOBCTL_SECRET
	jc start p --env PATH=/bin --stdout path.txt -- sh -c 'echo $PATH'
	jc wait p
	assert_equal "$(cat path.txt)" /bin
	run jc start x --env NOT_SET_HERE_AT_ALL -- /bin/true
	assert_failure 2
	run jc start x --dry-run --json --user 0 --group root \
	    --stop-timeout 2.5 -- /bin/true
	echo "$output" | jq -e '.tasks[0].user == 0 and
	    .tasks[0].group == "root" and .stop_timeout == 2.5'
	run jc status x
	assert_failure 1
}

@test "start: --limit, --umask, --no-new-privs in the JSON, for --then tasks too" {
	run jc start x --dry-run --json --limit nofile=1024 \
	    --limit core=0:unlimited --limit stack=unlimited \
	    --limit cpu=5:7 --limit cpu=10 --umask 027 --no-new-privs \
	    --then true -- /bin/true
	assert_success
	# A NAME given again replaces its value, as --env does.
	echo "$output" | jq -e '.tasks | length == 2 and all(.[];
	    .limits == {nofile: 1024, core: [0, "unlimited"],
	        stack: "unlimited", cpu: 10} and
	    .umask == "027" and .no_new_privs == true)'
	# Without them, nothing is sent: jobd's own are kept.
	run jc start x --dry-run --json -- /bin/true
	assert_success
	echo "$output" | jq -e '.tasks[0] | has("limits") or has("umask") or
	    has("no_new_privs") | not'
	run jc status x
	assert_failure 1
}

@test "start: --limit reaches the task and the --then task, soft and hard" {
	jc start l --limit nofile=100 --stdout n.txt \
	    --then 'sh -c "ulimit -Sn; ulimit -Hn"' -- sh -c 'ulimit -n'
	run jc wait l --timeout 10
	assert_success
	assert_equal "$(cat n.txt)" $'100\n100\n100'
	jc start s --limit nofile=50:100 --limit core=0:unlimited \
	    --stdout s.txt -- sh -c 'ulimit -Sn; ulimit -Hn; ulimit -Sc'
	run jc wait s --timeout 10
	assert_success
	assert_equal "$(cat s.txt)" $'50\n100\n0'
	# A value only jobd can judge: its error names the flag.
	run jc start b --limit nofile=5:1 -- /bin/true
	assert_failure 1
	assert_output --partial "tasks[0].limits.nofile"
	assert_output --partial "(from --limit nofile=5:1)"
}

@test "start: --umask applies to files the task creates and to --stdout" {
	jc start u --umask 077 --stdout out.txt -- \
	    sh -c 'umask; touch made; stat -c %a made'
	run jc wait u --timeout 10
	assert_success
	assert_equal "$(cat out.txt)" $'0077\n600'
	assert_equal "$(stat -c %a out.txt)" 600
	run jc start b --umask 7777 -- /bin/true
	assert_failure 1
	assert_output --partial "(from --umask 7777)"
}

@test "start: --no-new-privs sets NoNewPrivs for every task" {
	jc start n --no-new-privs --stdout nnp.txt \
	    --then 'grep NoNewPrivs /proc/self/status' -- \
	    grep NoNewPrivs /proc/self/status
	run jc wait n --timeout 10
	assert_success
	assert_equal "$(cat nnp.txt)" $'NoNewPrivs:\t1\nNoNewPrivs:\t1'
	# Without it, the task has what jobd has.
	jc start o --stdout own.txt -- grep NoNewPrivs /proc/self/status
	run jc wait o --timeout 10
	assert_success
	assert_equal "$(cat own.txt)" "$(grep NoNewPrivs "/proc/$JOBD_PID/status")"
}

@test "start: bad --limit and --umask forms are usage errors; nothing is sent" {
	local a
	for a in nofile nofile= =10 bogus=10 NOFILE=10 nofile=abc nofile=-1 \
	    nofile=1.5 nofile=1e3 nofile=:10 nofile=10: nofile=1:2:3 \
	    nofile=unlimited:x 'nofile= 10'; do
		run jc start x --limit "$a" -- /bin/true
		assert_failure 2
		assert_output --partial "--limit $a:"
	done
	run jc start x --limit bogus=1 -- /bin/true
	assert_output --partial "known are nofile, nproc, core"
	for a in '' 8 0x7 -022 01234 'a'; do
		run jc start x --umask "$a" -- /bin/true
		assert_failure 2
		assert_output --partial "--umask $a: expected 1 to 4 octal digits"
	done
	run jc run x --limit core -- /bin/true
	assert_failure 2
	run jc start x --umask
	assert_failure 2
	run jc status x
	assert_failure 1
}

@test "start: jobd's error names the flag it came from; 1 for a refused request" {
	run jc start e --stdout /nonexistent-dir/x.log -- /bin/true
	assert_failure 1
	assert_output --partial "tasks[0].fd[1]"
	assert_output --partial "(from --stdout /nonexistent-dir/x.log)"
	run jc start e2 --then /nonexistent/cleanup -- /bin/true
	assert_success
	run jc wait e2
	assert_failure 126
	assert_output --partial "failed (task 2/2)"
	run jc start e3 -- /nonexistent/prog
	assert_failure 1
	assert_output --partial "(from the command)"
	run jc start 'bad/name' -- /bin/true
	assert_failure 1
	assert_output --partial "invalid job name"
	run jc start e4 --cwd /nonexistent-dir -- /bin/true
	assert_failure 1
	assert_output --partial "(from --cwd /nonexistent-dir)"
}

@test "put: a job from a file, from stdin; jobd's error sentence and path" {
	sh_job 'echo from file > put1.txt' >job1.json
	run jc put p1 job1.json
	assert_success
	assert_output --regexp '^p1: started, pid [0-9]+$'
	sh_job 'echo from stdin > put2.txt' | jc put p2
	sh_job 'echo from dash > put3.txt' | jc put p3 -
	jc wait p1
	jc wait p2
	jc wait p3
	assert_equal "$(cat put1.txt put2.txt put3.txt)" \
	    $'from file\nfrom stdin\nfrom dash'
	run jc put bad <<<'{"tasks": [{"exec": "x", "args": [], "envs": {},
	    "cwd": "/", "fd": [], "env": {}}]}'
	assert_failure 1
	assert_output --partial 'tasks[0].env: unknown field "env"'
	run jc put bad2 <<<'{"tasks": [{"exec": "x", "args": [], "envs": {},
	    "cwd": "/", "fd": [{"type": "file", "path": "/x"}]}]}'
	assert_failure 1
	assert_output --partial "tasks[0].fd[0].mode"
	run jc put bad3 no-such-file.json
	assert_failure 1
}

@test "status: a readable block; without NAME the same as list" {
	jc start s --then 'sh -c "exit 4"' -- /bin/sh -c 'exit 0'
	jc wait s || true
	run jc status s
	assert_success
	assert_line "name:         s"
	assert_line "state:        exited"
	assert_line "task:         2 of 2"
	assert_line --regexp '^  #  STATE +PID +EXIT +STARTED +RAN +COMMAND$'
	assert_line --regexp '^  1  exited +[0-9]+ +0 .* /bin/sh$'
	assert_line --regexp '^  2  exited +[0-9]+ +4 .* sh$'
	jc start f -- /nonexistent/prog || true
	run jc status f
	assert_line "state:        failed"
	assert_line --regexp '^      error: tasks\[0\]\.exec: .*/nonexistent/prog'
	assert_equal "$(jc status | mask_times)" "$(jc list | mask_times)"
	run jc status nope
	assert_failure 1
	assert_output "jobctl: no such job: nope"
}

@test "list: an aligned table, sorted by name" {
	run jc list
	assert_success
	assert_output "NAME  STATE  TASK  PID  EXIT  AGE  COMMAND"
	jc start b -- /bin/sleep 100
	jc start a-longer-name -- /bin/sh -c 'exit 2'
	jc wait a-longer-name || true
	local pid
	pid=$(jstate b .pid)
	run jc list
	assert_success
	assert_line -n 0 --regexp '^NAME +STATE +TASK +PID +EXIT +AGE +COMMAND$'
	assert_line -n 1 --regexp '^a-longer-name  exited +1/1 +- +2 +[0-9]+s +/bin/sh$'
	assert_line -n 2 --regexp "^b +running +1/1 +$pid +- +[0-9]+s +/bin/sleep$"
	# Aligned: every column starts where its header does.
	local col
	col=$(awk 'NR == 1 { print index($0, "STATE") }' <<<"$output")
	assert_equal "$(awk '{ print index($0, $2) }' <<<"$output" | sort -u)" \
	    "$col"
}

@test "stop: SIGTERM and forget; --wait returns once the job is gone" {
	jc start s -- /bin/sleep 100
	local pid
	pid=$(jstate s .pid)
	run jc stop s --wait
	assert_success
	assert_output "s: stopped"
	run alive "$pid"
	assert_failure
	run jc status s
	assert_failure 1
	jc start done -- /bin/true
	jc wait done
	run jc stop done
	assert_success
	assert_output "done: removed (exited 0)"
	run jc stop done
	assert_failure 1
	assert_output --partial "no such job"
}

@test "stop: answers while the job is stopping; --wait --timeout gives up" {
	# The script's path names the test's directory: reaped if all fails.
	cat >ignore-term.py <<'EOF'
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open("ready", "w").close()
time.sleep(100)
EOF
	jc start s --stop-timeout 15 -- \
	    /usr/bin/python3 "$BATS_TEST_TMPDIR/ignore-term.py"
	wait_until '[ -e ready ]'
	run jc stop s --wait --timeout 0.5
	assert_failure 124
	assert_output "jobctl: s: still stopping after 0.5s"
	assert_equal "$(jstate s)" stopping
	run jc stop s
	assert_success
	assert_output "s: stopping (SIGTERM now, SIGKILL after 15s)"
	run jc signal s KILL
	assert_success
	wait_until "! jc status s >/dev/null 2>&1"
}

@test "signal: reaches the task; unknown signals and ended jobs are errors" {
	jc start s -- /usr/bin/python3 -c '
import signal, time
signal.signal(signal.SIGUSR1, lambda s, f: open("usr1", "w").close())
open("ready", "w").close()
while True:
    time.sleep(1)'
	wait_until '[ -e ready ]'
	local pid
	pid=$(jstate s .pid)
	run jc signal s USR1
	assert_success
	assert_output "s: sent USR1 to pid $pid"
	wait_until '[ -e usr1 ]'
	run jc signal s NOSUCHSIG
	assert_failure 1
	assert_output --partial "unknown signal"
	run jc signal s 15
	assert_success
	jc wait s --timeout 10 || true
	run jc signal s HUP
	assert_failure 1
	assert_output --partial "no running task"
	run jc signal s
	assert_failure 2
}

@test "wait: exits with the job's code, 128+signal, 126, 124 on timeout" {
	jc start e -- /bin/sh -c 'exit 7'
	run jc wait e
	assert_failure 7
	assert_output "e: exited 7"
	jc start z -- /bin/true
	run jc wait z
	assert_success
	jc start k -- /bin/sleep 100
	jc signal k TERM
	run jc wait k
	assert_failure 143
	assert_output "k: killed by SIGTERM"
	jc start f -- /nonexistent/prog || true
	run jc wait f
	assert_failure 126
	jc start slow -- /bin/sleep 100
	SECONDS=0
	run jc wait slow --timeout 0.5
	assert_failure 124
	assert_output "jobctl: slow: still running after 0.5s"
	[ "$SECONDS" -lt 5 ]
	run jc wait nope
	assert_failure 1
	run jc wait slow --timeout soon
	assert_failure 2
}

@test "start --wait: one PUT ?wait= round trip, the job's exit status, --timeout" {
	run jc start --wait w7 -- /bin/sh -c 'exit 7'
	assert_failure 7
	assert_output "w7: exited 7"
	# One request: the PUT itself waited.
	jobd_stop
	jobd_start -v
	run jc start --wait wt -- /bin/true
	assert_success
	run grep -c 'PUT /job/wt?wait=' "$JOBD_LOG"
	assert_output 1
	run grep -c 'GET /job/wt' "$JOBD_LOG"
	assert_output 0
	run jc start --wait ws --timeout 0.5 -- /bin/sleep 100
	assert_failure 124
	assert_output "jobctl: ws: still running after 0.5s"
	run jc --json start --wait wj -- /bin/sh -c 'exit 3'
	assert_failure 3
	assert_equal "$(jq -r .tasks[0].exit_code <<<"$output")" 3
	run jc start wx --timeout 3 -- /bin/true
	assert_failure 2
	assert_output --partial "--timeout goes with --wait"
}

@test "wait: composes in a shell script" {
	jc start ok -- /bin/true
	jc start bad -- /bin/false
	run sh -c '"$1" wait ok && ! "$1" wait bad && echo composed' sh "$JOBCTL"
	assert_success
	assert_line composed
}

@test "--json prints jobd's JSON for every command" {
	jc --json start j --stdout out.txt -- /bin/sleep 100 |
	    jq -e '.name == "j" and .tasks[0].exec == "/bin/sleep"'
	jc status j --json | jq -e '.state == "running" and (.pid | type) == "number"'
	jc list --json | jq -e '.jobs | map(.name) == ["j"]'
	jc --json status | jq -e '.jobs | length == 1'
	jc --json signal j TERM | jq -e '.name == "j"'
	jc --json wait j | jq -e '.tasks[0].signal == "TERM"'
	jc --json stop j | jq -e '.name == "j" and .state == "exited"'
	jc start k -- /bin/sleep 100
	jc --json stop k --wait | jq -e '.name == "k"'
	run jc status k
	assert_failure 1
	jc --json version | jq -e '.name == "jobd" and (.version | type) == "string"'
	run --separate-stderr jc --json status gone
	assert_failure 1
	assert_equal "$output" ""
	assert_equal "$stderr" "jobctl: no such job: gone"
}

@test "start: without --stdout and --stderr, both go to the job's log" {
	run jc start x --dry-run --json -- /bin/true
	assert_success
	echo "$output" | jq -e '.tasks[0].fd == [{"type": "null"},
	    {"type": "log"}, {"type": "log"}]'
	# --stderr alone: stdout still to the log; --stdout alone: both there.
	run jc start x --dry-run --json --stderr err.txt -- /bin/true
	echo "$output" | jq -e '.tasks[0].fd[1] == {"type": "log"} and
	    .tasks[0].fd[2].path == "'"$BATS_TEST_TMPDIR"'/err.txt"'
	run jc start x --dry-run --json --stdout out.txt -- /bin/true
	echo "$output" | jq -e '[.tasks[0].fd[1:][].path] ==
	    ["'"$BATS_TEST_TMPDIR"'/out.txt", "'"$BATS_TEST_TMPDIR"'/out.txt"]'
	# jobd is told so: the task writes into the log.
	jc start l --then 'sh -c "echo then"' -- /bin/sh -c 'echo first'
	jc wait l
	run jc logs l
	assert_success
	assert_output $'first\nthen'
}

@test "logs: stdout's records to stdout, stderr's to stderr, bytes as written" {
	jc start s -- /bin/sh -c 'echo out1; echo err1 >&2; echo out2
	    printf "no newline"; printf "\377\376 not UTF-8\n" >&2'
	jc wait s
	run --separate-stderr jc logs s
	assert_success
	assert_equal "$output" $'out1\nout2\nno newline'
	assert_equal "$stderr" $'err1\n\377\376 not UTF-8'
	# Exactly the bytes: no newline added where the task wrote none.
	jc logs s 2>/dev/null >got.out
	printf 'out1\nout2\nno newline' >want.out
	cmp got.out want.out
	jc logs s 2>got.err >/dev/null
	printf 'err1\n\377\376 not UTF-8\n' >want.err
	cmp got.err want.err
	# NUL bytes too, in UTF-8 lines.
	jc start n -- /bin/sh -c 'printf "a\0b\\\\u0000c\0\n\0"'
	jc wait n
	jc logs n >got.out
	printf 'a\0b\\u0000c\0\n\0' >want.out
	cmp got.out want.out
	# --json: jobd's records, one a line, as they came.
	run jc --json logs s
	assert_success
	assert_equal "$(jq -rs 'map(select(.stream == "stdout") | .data) |
	    join("")' <<<"$output")" $'out1\nout2\nno newline'
	assert_equal "$(jq -rs 'map(select(.data_b64) | .data_b64) | .[]' \
	    <<<"$output")" "$(printf '\377\376 not UTF-8\n' | base64)"
	jq -se 'map(select(.seq) | .seq) | . == sort' <<<"$output"
}

@test "logs: --tail, --since and --raw" {
	jc start t -- /bin/sh -c 'for i in 1 2 3 4 5; do echo $i; done'
	jc start r -- /bin/sh -c 'echo out; echo err >&2'
	jc wait t
	jc wait r
	run jc logs t --tail 2
	assert_success
	assert_output $'4\n5'
	run jc logs t --tail 0
	assert_success
	assert_output ""
	local seq
	seq=$(jc --json logs t | jq -r 'select(.data == "3\n") | .seq')
	[ -n "$seq" ]
	run jc logs t --since "$seq"
	assert_success
	assert_output $'4\n5'
	run jc logs t --since "$seq" --tail 1
	assert_output 5
	# --raw: the bytes alone, every stream on stdout.
	jc logs t --raw --tail 2 >raw.out
	printf '4\n5\n' >want.out
	cmp raw.out want.out
	run --separate-stderr jc logs r --raw
	assert_success
	assert_equal "$stderr" ""
	# Two pipes: jobd reads them in no set order.
	assert_equal "$(sort <<<"$output")" $'err\nout'
}

@test "logs: records lost to rotation are said on stderr" {
	jc start g --dry-run --json -- /bin/sh -c \
	    'i=0; while [ $i -lt 500 ]; do echo line $i; i=$((i + 1)); done' |
	    jq -c '.log = {"max_bytes": 4096}' | jc put g
	jc wait g
	local from to
	from=$(jc --json logs g --since 1 | jq -r 'select(.gap) | .gap[0]')
	to=$(jc --json logs g --since 1 | jq -r 'select(.gap) | .gap[1]')
	assert_equal "$from" 2
	(( to > 100 ))
	run --separate-stderr jc logs g --since 1
	assert_success
	assert_equal "$stderr" \
	    "jobctl: $((to - from + 1)) records lost to rotation (seq $from-$to)"
	assert_equal "$(tail -n 1 <<<"$output")" "line 499"
	# From the oldest record kept, nothing is lost.
	run --separate-stderr jc logs g
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(tail -n 1 <<<"$output")" "line 499"
}

@test "logs -f: follows the job while it runs, ends when it ends" {
	jc start f -- /bin/sh -c 'echo one; while [ ! -e go ]; do sleep 0.05
	    done; echo two >&2; echo three'
	timeout 20 "$JOBCTL" logs -f f >out.txt 2>err.txt 3>&- &
	local pid=$! rc=0
	wait_until 'grep -qx one out.txt' || fail "no output: $(cat err.txt)"
	sleep 0.3
	alive "$pid" || fail "logs -f ended while the job ran"
	touch go
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	assert_equal "$(cat out.txt)" $'one\nthree'
	assert_equal "$(cat err.txt)" two
	# An ended job: what there is, and done (stdout and stderr are two
	# pipes: their lines keep their order within each stream only).
	run timeout 10 "$JOBCTL" logs --follow f
	assert_success
	assert_equal "$(sort <<<"$output")" $'one\nthree\ntwo'
	run timeout 10 "$JOBCTL" logs -f f --json
	assert_success
	assert_line --index 0 --regexp '^\{.*"started":'
	assert_equal "$(tail -n 1 <<<"$output" | jq -c .)" \
	    '{"end":true,"state":"exited"}'
}

@test "logs: an unknown job, bad values and usage errors" {
	run --separate-stderr jc logs nope
	assert_failure 1
	assert_equal "$output" ""
	assert_equal "$stderr" "jobctl: no such job: nope"
	run jc logs -f nope
	assert_failure 1
	run jc logs
	assert_failure 2
	assert_output --partial "no job name"
	run jc logs x --tail many
	assert_failure 2
	assert_output --partial '--tail: "many" is not a number'
	run jc logs x --since -1
	assert_failure 2
	run jc logs x --raw --json
	assert_failure 2
	run jc -s "$BATS_TEST_TMPDIR/none.sock" logs x
	assert_failure 3
}

@test "run: prints the job's output as it comes and exits with its status" {
	run --separate-stderr jc run r -- /bin/sh -c 'echo out; echo err >&2
	    exit 7'
	assert_failure 7
	assert_equal "$output" out
	assert_equal "$stderr" err
	# The job stays, as start leaves it.
	assert_equal "$(jstate r '.tasks[0].exit_code')" 7
	run jc run z -- /bin/true
	assert_success
	assert_output ""
	# Output sent elsewhere is not printed.
	run --separate-stderr jc run f --stdout f.txt -- /bin/sh -c \
	    'echo to file; echo to file too >&2'
	assert_success
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	assert_equal "$(cat f.txt)" $'to file\nto file too'
	run --separate-stderr jc run g --stderr g.txt -- /bin/sh -c \
	    'echo to log; echo to file >&2'
	assert_equal "$output" "to log"
	assert_equal "$stderr" ""
	assert_equal "$(cat g.txt)" "to file"
	# --then tasks too, and their ends.
	run jc run t --then 'sh -c "echo then; exit 4"' -- /bin/echo first
	assert_failure 4
	assert_output $'first\nthen'
	run jc --json run j -- /bin/echo hi
	assert_success
	assert_equal "$(jq -rs 'map(.data // empty) | join("")' <<<"$output")" \
	    hi
	# Start errors are start's.
	run jc run e -- /nonexistent/prog
	assert_failure 1
	assert_output --partial "(from the command)"
	jc start busy -- /bin/sleep 100
	run jc run busy -- /bin/true
	assert_failure 1
	assert_equal "$(jstate busy)" running
	run jc run w --wait -- /bin/true
	assert_failure 2
	run jc run
	assert_failure 2
	assert_output --partial "no job name"
	run jc run w
	assert_failure 2
	assert_output --partial "no command to run"
}

@test "run: a task killed by a signal exits as jobctl wait does" {
	run jc run k -- /bin/sh -c 'echo dying; kill -TERM $$'
	assert_failure 143
	assert_output dying
	run jc wait k
	assert_failure 143
	run jc run q -- /bin/sh -c 'kill -KILL $$'
	assert_failure 137
	run jc run n --then /nonexistent/prog -- /bin/true
	assert_failure 126
}

@test "run: Ctrl-C stops the job, its output goes on to its end, then its status" {
	"$JOBCTL" run r -- /usr/bin/python3 -u -c '
import signal, sys, time
def term(sig, frame):
    print("got TERM")
    sys.exit(3)
signal.signal(signal.SIGTERM, term)
print("ready")
while True:
    time.sleep(1)' >out.txt 2>err.txt 3>&- &
	local pid=$! rc=0
	wait_until 'grep -qx ready out.txt' || fail "no output: $(cat err.txt)"
	kill -INT "$pid"
	wait_until "! alive $pid" 20 || {
		kill -KILL "$pid"
		fail "jobctl run went on after SIGINT"
	}
	wait "$pid" || rc=$?
	assert_equal "$rc" 3
	assert_equal "$(cat out.txt)" $'ready\ngot TERM'
	assert_equal "$(cat err.txt)" "jobctl: r: stopping"
	# Stopped as jobctl stop does: jobd has forgotten it.
	run jc status r
	assert_failure 1
	# SIGTERM the same; a task that SIGTERM kills: 128 + 15.
	"$JOBCTL" run s -- /bin/sh -c 'echo ready; exec sleep 100' \
	    >out.txt 2>err.txt 3>&- &
	pid=$!
	rc=0
	wait_until 'grep -qx ready out.txt' || fail "no output: $(cat err.txt)"
	kill -TERM "$pid"
	wait_until "! alive $pid" 20 || {
		kill -KILL "$pid"
		fail "jobctl run went on after SIGTERM"
	}
	wait "$pid" || rc=$?
	assert_equal "$rc" 143
	run jc status s
	assert_failure 1
}

# events_text: jobctl events' lines without their time and seq.
events_text() {
	sed -E 's/^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} +[0-9]+  //'
}

@test "events: one line an event, in order; a failed task, those after it skipped" {
	jc start e --then /nonexistent/prog --then /bin/true -- /bin/sh -c 'exit 3'
	run jc wait e
	assert_failure 126
	local pid
	pid=$(jstate e '.tasks[0].pid')
	run --separate-stderr jc events e
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(events_text <<<"$output")" "e             created
e[0]          started (pid $pid)
e             started (pid $pid)
e[0]          exited 3 (pid $pid)
e[1]          failed: tasks[1].exec: exec /nonexistent/prog: No such file or directory
e[2]          skipped
e             failed"
	# Time (local, to the millisecond) and seq are jobd's; aligned.
	local t seq
	t=$(jc --json events e | jq -r 'select(.action == "exited") | .time')
	seq=$(jc --json events e | jq -r 'select(.action == "exited") | .seq')
	run env TZ=UTC "$JOBCTL" events e
	assert_line --index 3 "$(printf '%s %7d  %-12s  %s' \
	    "$(sed 's/T/ /; s/Z$//' <<<"$t")" "$seq" 'e[0]' \
	    "exited 3 (pid $pid)")"
	run env TZ=XYZ-2 "$JOBCTL" events e
	assert_line --index 3 --regexp \
	    "^$(TZ=XYZ-2 date -d "$t" '+%Y-%m-%d %H:%M:%S\.%3N') +$seq  e\[0\] "
	# Every job's, and jobd's own; a task killed by a signal; a stop.
	jc start k -- /bin/sleep 100
	pid=$(jstate k '.tasks[0].pid')
	jc signal k KILL
	run jc wait k
	assert_failure 137
	jc start s --then /bin/true -- /bin/sleep 100
	jc stop s --wait
	run jc events
	assert_success
	assert_line --index 0 --regexp \
	    "^[0-9 :.-]{23} +1  jobd {10}started \(pid $JOBD_PID\)$"
	assert_equal "$(events_text <<<"$output" | grep '^k[ []')" \
	    "k             created
k[0]          started (pid $pid)
k             started (pid $pid)
k[0]          killed by SIGKILL (pid $pid)
k             exited"
	assert_equal "$(events_text <<<"$output" | grep '^s[ []' |
	    sed -E 's/\(pid [0-9]+\)/(pid P)/')" \
	    "s             created
s[0]          started (pid P)
s             started (pid P)
s             deleted (pid P)
s             stopping (pid P)
s[0]          killed by SIGTERM (pid P)
s[1]          cancelled
s             exited
s             forgotten"
	# jobd's note: a reexec recovers the running job.
	jc start keep -- /bin/sleep 100
	jc daemon reexec
	wait_until '[ "$(curl -s --unix-socket "$SOCK" http://localhost/ |
	    jq .recovered)" = 1 ]' || fail "jobd did not come back"
	wait_until 'jc events | grep -q recovered' || fail "no recovered event"
	run jc events --since "$(jc --json events | jq -s '.[-1].seq - 2')"
	assert_success
	assert_line --index 0 --regexp "  jobd {10}started \(pid $JOBD_PID\)$"
	assert_line --index 1 --regexp \
	    "  jobd {10}recovered \(pid $JOBD_PID\): 1 jobs recovered$"
}

@test "events: --since SEQ and NAME... choose; jobd judges the names" {
	local j seq
	for j in a b c; do
		jc start "$j" -- /bin/true
		jc wait "$j"
	done
	seq=$(jc --json events b | jq -s '.[0].seq')
	run jc events --since "$seq"
	assert_success
	# Only the events after SEQ: b's created is not there.
	assert_equal "$(events_text <<<"$output" | cut -c1 | uniq | tr -d '\n')" bc
	refute_line --regexp "  b +created$"
	assert_line --regexp "  b\[0\] +started "
	assert_equal "$(jc --json events --since "$seq" | jq -s '.[0].seq')" \
	    "$((seq + 1))"
	# NAME...: those jobs', in jobd's order.
	run jc events c a
	assert_success
	assert_equal "$(events_text <<<"$output" | cut -c1 | uniq | tr -d '\n')" ac
	assert_equal "${#lines[@]}" 10
	run jc events --since "$seq" a c
	assert_equal "$(events_text <<<"$output" | cut -c1 | uniq)" c
	# Options after names too. A job jobd never had: nothing, and fine.
	run jc events a --since "$seq"
	assert_success
	assert_output ""
	run --separate-stderr jc events nosuch
	assert_success
	assert_equal "$output" ""
	assert_equal "$stderr" ""
	# Past the end: nothing yet.
	run jc events --since 999999
	assert_success
	assert_output ""
	# A name jobd cannot have: its sentence, 1.
	run --separate-stderr jc events a 'no good'
	assert_failure 1
	assert_equal "$output" ""
	assert_equal "$stderr" 'jobctl: job must be a job name, not "no good"'
}

@test "events -f: a new job's events as they happen, until jobctl is stopped" {
	jobd_stop
	jobd_start --heartbeat 1
	"$JOBCTL" events -f >out.txt 2>err.txt 3>&- &
	local pid=$! jpid rc=0
	# A Ctrl-C reaches this one: background commands ignore SIGINT.
	env --default-signal=INT "$JOBCTL" --json events -f >json.txt \
	    2>jerr.txt 3>&- &
	jpid=$!
	# What there is, then what happens next.
	wait_until 'grep -q "  jobd  *started" out.txt' ||
		fail "no history: $(cat err.txt)"
	jc start f -- /bin/sh -c 'while [ ! -e go ]; do sleep 0.05; done
	    exit 5'
	wait_until 'grep -qE "  f\[0\] +started" out.txt' ||
		fail "no event of the new job: $(cat err.txt)"
	run grep exited out.txt
	assert_failure
	touch go
	wait_until 'grep -qE "  f +exited$" out.txt' ||
		fail "the job's end did not come: $(cat err.txt)"
	# Heartbeats: in --json alone, each with the last seq.
	wait_until '[ "$(jq -s "(map(.seq // empty) | max) ==
	    .[-1].heartbeat" json.txt 2>/dev/null)" = true ]' 10 ||
		fail "no heartbeat after the last event: $(cat json.txt jerr.txt)"
	alive "$pid" || fail "events -f ended"
	alive "$jpid" || fail "--json events -f ended"
	kill -TERM "$pid"
	kill -INT "$jpid"
	wait_until "! alive $pid && ! alive $jpid" 10 || {
		kill -KILL "$pid" "$jpid"
		fail "events -f went on after a signal"
	}
	wait "$pid" || rc=$?
	assert_equal "$rc" 143
	rc=0
	wait "$jpid" || rc=$?
	assert_equal "$rc" 130
	assert_equal "$(cat err.txt jerr.txt)" ""
	assert_equal "$(events_text <out.txt | grep -v '^jobd ' |
	    sed -E 's/\(pid [0-9]+\)/(pid P)/')" \
	    "f             created
f[0]          started (pid P)
f             started (pid P)
f[0]          exited 5 (pid P)
f             exited"
	# jobd started twice (before the restart, after it): no other line.
	assert_equal "$(grep -c '  jobd  *started' out.txt)" 2
	assert_equal "$(wc -l <out.txt)" 7
	# --json: every line JSON, the events in order, seq increasing.
	jq -se 'map(select(.seq) | .seq) | . == unique and length == 7' json.txt
	jq -se 'map(select(.heartbeat)) | length >= 1' json.txt
	jq -se 'map(select(.seq and .job == "f") | [.type, .action]) ==
	    [["job", "created"], ["task", "started"], ["job", "started"],
	     ["task", "exited"], ["job", "exited"]]' json.txt
	jq -se 'map(select(.action == "exited" and .type == "task")) |
	    .[0].exit_code == 5 and .[0].task == 0' json.txt
}

@test "events: lost events said on stderr, heartbeats unseen; --json as jobd sent it" {
	# A stand-in sends what a real gap takes 40,000 events to bring.
	local f=$BATS_TEST_TMPDIR/f.sock
	write_fake "$BATS_TEST_TMPDIR"
	cat >answer <<'EOF'
{"gap":[2,4180]}
{"seq":4181,"time":"2026-12-02T16:06:44.965Z","type":"task","action":"lost","job":"web","task":1,"pid":1008,"exit_code":null,"signal":null,"state":"lost","error":"no exit status from jobinit"}
{"heartbeat":4181}
{"something":"to come"}
{"gap":[4182,4182]}
{"seq":4183,"time":"2026-12-02T16:06:45.001Z","type":"daemon","action":"recovered","job":null,"task":null,"pid":77,"exit_code":null,"signal":null,"state":null,"error":"3 jobs recovered"}
{"seq":1234567,"time":"2026-12-02T16:06:45.002Z","type":"job","action":"created","job":"a-long-name-of-a-job","task":null,"pid":null,"exit_code":null,"signal":null,"state":"running","error":null}
EOF
	printf '%s' '{"seq":1234568,"time":"2026-12-02T16:06:45.100Z","type":"task","action":"exited","job":"a@b","task":12,"pid":9,"exit_code":0,"signal":null,"state":"exited","error":null}' >>answer
	fake_start "$BATS_TEST_TMPDIR" "$f"
	local fpid=$!
	run --separate-stderr env TZ=UTC "$JOBCTL" -s "$f" events -f --since 1 \
	    web a@b
	assert_success
	assert_equal "$output" \
"2026-12-02 16:06:44.965    4181  web[1]        lost (pid 1008): no exit status from jobinit
2026-12-02 16:06:45.001    4183  jobd          recovered (pid 77): 3 jobs recovered
2026-12-02 16:06:45.002  1234567  a-long-name-of-a-job  created
2026-12-02 16:06:45.100  1234568  a@b[12]       exited 0 (pid 9)"
	assert_equal "$stderr" \
"jobctl: events 2-4180 were lost (older than jobd's history)
jobctl: event 4182 was lost (older than jobd's history)"
	"$JOBCTL" -s "$f" --json events >got.json
	cmp got.json answer
	wait_until '[ "$(wc -l <record)" -ge 2 ]' || fail "nothing on record"
	run cat record
	assert_line --index 0 --regexp \
	    '^[0-9]+ GET /events\?since=1&follow=1&job=web&job=a%40b HTTP/1\.1$'
	assert_line --index 1 --regexp '^[0-9]+ GET /events HTTP/1\.1$'
	kill "$fpid"
	{ wait "$fpid" || true; } 2>/dev/null
}

@test "events: usage errors, and jobd out of reach" {
	run jc events --since x
	assert_failure 2
	assert_output --partial '--since: "x" is not a number'
	assert_output --partial "usage: jobctl events [-f] [--since SEQ] [NAME...]"
	run jc events --since -1
	assert_failure 2
	run jc events --since
	assert_failure 2
	assert_output --partial "needs a value"
	run jc events --tail 3
	assert_failure 2
	assert_output --partial "unknown option --tail"
	run jc events -x
	assert_failure 2
	run jc events --raw
	assert_failure 2
	run --separate-stderr jc -s "$BATS_TEST_TMPDIR/none.sock" events -f
	assert_failure 3
	assert_equal "$output" ""
	assert_equal "$stderr" "jobctl: cannot reach jobd at unix:$BATS_TEST_TMPDIR/none.sock: No such file or directory (is it running? -s or JOBD_SOCKET choose another address)"
}

@test "version: jobctl's and jobd's" {
	run jc version
	assert_success
	assert_line -n 0 --regexp '^jobctl [0-9]+\.[0-9]+\.[0-9]+$'
	assert_line -n 1 --regexp "^jobd [0-9.]+, pid $JOBD_PID, uid [0-9]+, up [0-9]+s, on unix:$SOCK$"
	run jc --version
	assert_success
	assert_output --regexp '^jobctl [0-9.]+$'
}

@test "the server: -s, JOBD_SOCKET, then XDG_RUNTIME_DIR, as jobd finds it" {
	jobd_stop
	mkdir -m 700 xdg
	SOCK=$BATS_TEST_TMPDIR/xdg/jobd.sock
	jobd_start
	unset JOBD_SOCKET
	XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/xdg run jc version
	assert_success
	assert_line --partial "on unix:$SOCK"
	JOBD_SOCKET=$BATS_TEST_TMPDIR/none.sock \
	    XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/xdg run jc list
	assert_failure 3
	assert_output --partial "unix:$BATS_TEST_TMPDIR/none.sock"
	JOBD_SOCKET=$BATS_TEST_TMPDIR/none.sock run jc -s "$SOCK" list
	assert_success
	JOBD_SOCKET=$BATS_TEST_TMPDIR/none.sock run jc list -s xdg/jobd.sock
	assert_success
	JOBD_SOCKET=$BATS_TEST_TMPDIR/none.sock run jc list -s unix:xdg/jobd.sock
	assert_success
}

@test "the server over TCP: -s tcp:HOST:PORT and JOBD_SOCKET" {
	jobd_stop
	jobd_start --listen tcp:127.0.0.1:0
	local addr
	addr=$(curl -s --max-time 5 --unix-socket "$SOCK" http://localhost/ |
	    jq -r '.listen[].address | select(startswith("tcp:"))')
	run jc -s "$addr" start t --stdout t.txt -- /bin/echo over tcp
	assert_success
	JOBD_SOCKET=$addr run jc wait t
	assert_success
	assert_equal "$(cat t.txt)" "over tcp"
	http_proxy=http://127.0.0.1:1 run jc -s "$addr" list
	assert_success
	assert_line --regexp '^t +exited'
}

@test "exit status 3 when jobd cannot be reached, with the address" {
	run jc -s "$BATS_TEST_TMPDIR/nothing.sock" list
	assert_failure 3
	assert_output --partial "cannot reach jobd at unix:$BATS_TEST_TMPDIR/nothing.sock"
	$PY -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])' "$BATS_TEST_TMPDIR/stale.sock"
	JOBD_SOCKET=$BATS_TEST_TMPDIR/stale.sock run jc start x -- /bin/true
	assert_failure 3
	assert_output --partial "stale.sock"
	run jc -s tcp:127.0.0.1:1 version
	assert_failure 3
	assert_output --partial "tcp:127.0.0.1:1"
	run jc -s "$BATS_TEST_TMPDIR/nothing.sock" wait x
	assert_failure 3
}

@test "the /tmp default: a directory of another user, or open to others, is refused" {
	need_root
	local t=$BATS_TEST_TMPDIR/t uid d
	uid=$(id -u nobody)
	mkdir "$t"
	chmod 1777 "$t"
	d=$t/jobd-$uid
	mkdir "$d"
	chmod 755 "$d"
	write_fake "$BATS_TEST_TMPDIR"
	fake_start "$BATS_TEST_TMPDIR" "$d/jobd.sock"
	# Taken by root, not by us: a server there is not ours to trust.
	run with_tmp "$t" "${NOBODY[@]}" "$JOBCTL" start x --env SECRET=s \
	    -- /bin/true
	assert_failure 3
	assert_output --partial "/tmp/jobd-$uid"
	assert_output --partial "0700"
	fake_nothing_sent "$BATS_TEST_TMPDIR" "$d/jobd.sock"
	# Ours, but open to others: another user may have put his socket in.
	chown nobody:nogroup "$d"
	run with_tmp "$t" "${NOBODY[@]}" "$JOBCTL" list
	assert_failure 3
	assert_output --partial "/tmp/jobd-$uid"
	fake_nothing_sent "$BATS_TEST_TMPDIR" "$d/jobd.sock"
	# A symbolic link to a directory of ours is not the directory.
	mv "$d" "$t/real"
	chmod 700 "$t/real"
	ln -s real "$d"
	chown -h nobody:nogroup "$d"
	run with_tmp "$t" "${NOBODY[@]}" "$JOBCTL" list
	assert_failure 3
	fake_nothing_sent "$BATS_TEST_TMPDIR" "$t/real/jobd.sock"
	# Ours and closed, with a server run by root: that one is used.
	rm "$d"
	mv "$t/real" "$d"
	run with_tmp "$t" "${NOBODY[@]}" "$JOBCTL" list
	assert_success
	run grep -c ' GET /jobs HTTP/1.1$' "$BATS_TEST_TMPDIR/record"
	assert_output 1
}

@test "a server run as another user is refused before anything is sent" {
	need_root
	world_dir
	chown nobody:nogroup "$W"
	chmod 755 "$W"
	write_fake "$W"
	fake_start "$W" "$W/s.sock" setpriv --reuid nobody --regid nogroup \
	    --clear-groups
	run jc -s "$W/s.sock" start x --env SECRET=s -- /bin/true
	assert_failure 3
	assert_output --partial "unix:$W/s.sock"
	assert_output --partial "uid $(id -u nobody)"
	JOBD_SOCKET=$W/s.sock run jc list
	assert_failure 3
	fake_nothing_sent "$W" "$W/s.sock"
	# The same server is trusted by its own user.
	run "${NOBODY[@]}" "$JOBCTL" -s "$W/s.sock" list
	assert_success
	run grep -c ' GET /jobs HTTP/1.1$' "$W/record"
	assert_output 1
}

@test "a server run as root is trusted by root" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	write_fake "$BATS_TEST_TMPDIR"
	fake_start "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR/f.sock"
	run jc -s "$BATS_TEST_TMPDIR/f.sock" list
	assert_success
	run cat "$BATS_TEST_TMPDIR/record"
	assert_output --regexp '^[0-9]+ GET /jobs HTTP/1.1$'
	# And so is the real jobd, run by root.
	run jc version
	assert_success
}

@test "daemon reexec: POST /daemon/reexec, and the answer" {
	# jobd's side of it is not there yet: a stand-in records the request.
	local f=$BATS_TEST_TMPDIR/f.sock
	write_fake "$BATS_TEST_TMPDIR"
	printf '{"pid":4242}' >answer
	fake_start "$BATS_TEST_TMPDIR" "$f"
	run jc -s "$f" daemon reexec
	assert_success
	assert_output "jobd at unix:$f: re-executing, pid 4242"
	run jc -s "$f" --json daemon reexec
	assert_success
	assert_output '{"pid":4242}'
	wait_until '[ "$(wc -l <record)" -ge 2 ]' || fail "nothing on record"
	run cat record
	assert_line --index 0 --regexp '^[0-9]+ POST /daemon/reexec HTTP/1.1$'
	assert_line --index 1 --regexp '^[0-9]+ POST /daemon/reexec HTTP/1.1$'
	run jc -s "$f" daemon
	assert_failure 2
	assert_output --partial "usage: jobctl daemon reexec"
	run jc -s "$f" daemon restart
	assert_failure 2
	assert_output --partial 'unknown action "restart"'
	run jc help daemon
	assert_success
	assert_output --partial "reexec"
	run jc help
	assert_output --partial "daemon reexec"
	# The real jobd: it answers with its pid, execs itself again in
	# the same process, and still knows the running job.
	jc start keep sleep 100
	local pid
	pid=$(jstate keep '.tasks[0].pid')
	run jc daemon reexec
	assert_success
	assert_output "jobd at unix:$SOCK: re-executing, pid $JOBD_PID"
	wait_until '[ "$(curl -s --unix-socket "$SOCK" http://localhost/ |
	    jq .recovered)" = 1 ]' || fail "jobd did not come back"
	alive "$JOBD_PID"
	assert_equal "$(jstate keep)" running
	assert_equal "$(jstate keep '.tasks[0].pid')" "$pid"
}

# comp WORDS...: what _jobctl offers for the last word, one a line.
comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_jobctl "$JOBCTL" "${COMP_WORDS[COMP_CWORD]}" \
	    "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}"
}

@test "bash completion: commands, options, and jobd's job names" {
	source "$SRCDIR/completion/jobctl"
	run comp "$JOBCTL" st
	assert_output $'start\nstatus\nstop'
	run comp "$JOBCTL" --json d
	assert_output daemon
	run comp "$JOBCTL" daemon ""
	assert_output reexec
	run comp "$JOBCTL" help wa
	assert_output wait
	run comp "$JOBCTL" stop --w
	assert_output --wait
	run comp "$JOBCTL" start --std
	assert_output $'--stdin\n--stdout\n--stderr'
	run comp "$JOBCTL" start --cwd /tmp web --then 'x' --dr
	assert_output --dry-run
	run comp "$JOBCTL" start --li
	assert_output $'--listen\n--limit'
	run comp "$JOBCTL" start --limit n
	assert_output $'nofile=\nnproc='
	run comp "$JOBCTL" start --limit core=
	assert_output ""
	# --limit and --umask take a value: web is NAME, and --no ours.
	run comp "$JOBCTL" start --limit core=0 --umask 077 web --no
	assert_output --no-new-privs
	run comp "$JOBCTL" run --um
	assert_output --umask
	run comp "$JOBCTL" signal web T
	assert_output $'TERM\nTSTP'
	mkdir dir.d
	touch dir.d/log.txt
	run comp "$JOBCTL" start web --stdout dir.d/l
	assert_output dir.d/log.txt
	# Past NAME, the words are the task's: a command, then its files.
	run comp "$JOBCTL" start web --listen tcp:127.0.0.1:0 sleep
	assert_line sleep
	run comp "$JOBCTL" start web -- cat dir.d/
	assert_output dir.d/log.txt
	run comp "$JOBCTL" start web -- cat --std
	assert_output ""
	run comp "$JOBCTL" lo
	assert_output logs
	run comp "$JOBCTL" logs --
	assert_output $'--socket\n--json\n--help\n--follow\n--tail\n--since\n--raw'
	run comp "$JOBCTL" ev
	assert_output events
	run comp "$JOBCTL" events --
	assert_output $'--socket\n--json\n--help\n--follow\n--since'
	run comp "$JOBCTL" run --std
	assert_output $'--stdin\n--stdout\n--stderr'
	run comp "$JOBCTL" run web --cwd dir.d -- cat dir.d/
	assert_output dir.d/log.txt
	# Job names come from the jobd that jobctl would talk to.
	jc start web -- sleep 100
	jc start worker -- sleep 100
	jc start other -- /bin/true
	run comp "$JOBCTL" stop w
	assert_output $'web\nworker'
	run comp "$JOBCTL" status ""
	assert_output $'other\nweb\nworker'
	run comp "$JOBCTL" wait --timeout 3 o
	assert_output other
	run comp "$JOBCTL" logs --tail 3 w
	assert_output $'web\nworker'
	run comp "$JOBCTL" run o
	assert_output other
	# events: any number of names.
	run comp "$JOBCTL" events -f --since 3 web w
	assert_output $'web\nworker'
	run comp "$JOBCTL" stop web ""
	assert_output ""
	# ... the one -s names, wherever it is on the line.
	JOBD_SOCKET=$BATS_TEST_TMPDIR/none.sock run comp "$JOBCTL" signal ""
	assert_output ""
	JOBD_SOCKET=$BATS_TEST_TMPDIR/none.sock run comp "$JOBCTL" \
	    -s "$SOCK" signal ""
	assert_output $'other\nweb\nworker'
	JOBD_SOCKET=$BATS_TEST_TMPDIR/none.sock run comp "$JOBCTL" \
	    stop --socket="$SOCK" wo
	assert_output worker
}

@test "usage errors exit 2; help for each command" {
	run jc
	assert_failure 2
	run jc frobnicate
	assert_failure 2
	assert_output --partial 'unknown command "frobnicate"'
	run jc list --frob
	assert_failure 2
	assert_output --partial "unknown option --frob"
	run jc start
	assert_failure 2
	assert_output --partial "no job name"
	run jc start j
	assert_failure 2
	assert_output --partial "no command to run"
	run jc stop
	assert_failure 2
	run jc list extra
	assert_failure 2
	run jc -s tcp:nohost:80 list
	assert_failure 2
	run jc help
	assert_success
	for c in start run put status list logs events stop signal wait version \
	    help; do
		assert_line --regexp "^  $c "
		assert_equal "$(jc help "$c")" "$(jc "$c" --help)"
		jc help "$c" | grep -q "^usage: jobctl $c"
	done
	run jc start --help
	assert_success
	assert_output --partial "--then 'CMD ...'"
	run jc help nope
	assert_failure 2
}

@test "colour only on a terminal, and never with NO_COLOR" {
	jc start c -- /bin/sh -c 'exit 1'
	jc wait c || true
	export TERM=xterm
	run script -qec "'$JOBCTL' list" /dev/null
	assert_success
	assert_output --partial $'\033['
	NO_COLOR=1 run script -qec "'$JOBCTL' list" /dev/null
	refute_output --partial $'\033['
	NO_COLOR= run script -qec "'$JOBCTL' status c" /dev/null
	refute_output --partial $'\033['
	run jc list
	refute_output --partial $'\033['
	run jc status c
	refute_output --partial $'\033['
	# events: a failure's code in red, and only there.
	run script -qec "'$JOBCTL' events c" /dev/null
	assert_output --partial $'exited \033[31m1\033[0m'
	NO_COLOR=1 run script -qec "'$JOBCTL' events c" /dev/null
	refute_output --partial $'\033['
	run jc events c
	refute_output --partial $'\033['
}

@test "off a terminal nothing depends on its width" {
	local long cmd
	long=job-$(printf 'x%.0s' {1..60})
	cmd=$BATS_TEST_TMPDIR/a-command-with-a-name-far-too-long-for-a-narrow-terminal
	ln -s /bin/true "$cmd"
	jc start short -- "$cmd"
	jc wait short
	# On a narrow terminal, and only there, the command is cut.
	NO_COLOR=1 run script -qec "stty cols 60; '$JOBCTL' list" /dev/null
	assert_success
	assert_output --partial "short"
	refute_output --partial "$cmd"
	jc start "$long" --then "$cmd" -- /bin/sh -c 'exit 3'
	jc wait "$long"
	assert_equal "$(COLUMNS=20 jc list | mask_times)" \
	    "$(COLUMNS=200 jc list | mask_times)"
	assert_equal "$(COLUMNS=20 jc status "$long" | mask_times)" \
	    "$(COLUMNS=200 jc status "$long" | mask_times)"
	run env COLUMNS=20 "$JOBCTL" list
	assert_line --regexp "^$long +exited +2/2 .* $cmd$"
	assert_line --regexp "^short +exited +1/1 .* $cmd$"
}

@test "a command cut for a narrow terminal is never cut inside a character" {
	local cmd cols cut=0
	world_dir
	cmd=$W/$(printf '\303\251%.0s' {1..60})
	ln -s /bin/true "$cmd"
	jc start u -- "$cmd"
	jc wait u
	# Widths a byte apart: with two-byte characters, every other one
	# would cut through a character.
	for cols in $(seq 50 70); do
		NO_COLOR=1 run script -qec "stty cols $cols; '$JOBCTL' list" /dev/null
		assert_success
		iconv -f UTF-8 -t UTF-8 <<<"$output" >/dev/null
		[[ $output == *"$W/"$'\303\251'* ]] && [[ $output != *"$cmd"* ]] &&
			cut=$((cut + 1))
	done
	echo "widths with the command cut among its characters: $cut" >&2
	(( cut >= 10 ))
}

@test "valgrind: no leak or error in a few commands" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	if ldd "$JOBCTL" | grep -q libasan; then
		skip "jobctl is built with AddressSanitizer, which checks it already"
	fi
	local vg="valgrind -q --leak-check=full --error-exitcode=9"
	run $vg "$JOBCTL" start v --stdout v.txt --listen unix:v.sock \
	    --then 'sh -c "exit 1"' -- /bin/echo hi
	assert_success
	run $vg "$JOBCTL" wait v
	assert_failure 1
	run $vg "$JOBCTL" list
	assert_success
	run $vg "$JOBCTL" status v
	assert_success
	run $vg "$JOBCTL" --json stop v --wait
	assert_success
	run $vg "$JOBCTL" run vr -- /bin/sh -c 'echo out; echo err >&2; exit 2'
	assert_failure 2
	run $vg "$JOBCTL" logs vr --tail 1
	assert_success
	run $vg "$JOBCTL" logs nope
	assert_failure 1
	run $vg "$JOBCTL" events
	assert_success
	run $vg "$JOBCTL" --json events --since 2 vr v
	assert_success
	run $vg "$JOBCTL" events 'no good'
	assert_failure 1
	run $vg "$JOBCTL" start w --then 'unclosed "' -- /bin/true
	assert_failure 2
	run $vg "$JOBCTL" start vd --dry-run --limit nofile=64:128 \
	    --limit core=0 --limit nofile=100 --umask 022 --no-new-privs \
	    --then true -- /bin/true
	assert_success
	run $vg "$JOBCTL" start vb --limit nofile=5:1 -- /bin/true
	assert_failure 1
	assert_output --partial "(from --limit nofile=5:1)"
	run $vg "$JOBCTL" start vb --limit nofile=x -- /bin/true
	assert_failure 2
	run $vg "$JOBCTL" -s "$BATS_TEST_TMPDIR/none.sock" list
	assert_failure 3
}
