#!/usr/bin/env bats
# The example jobs of examples/: each is PUT exactly as the file is,
# checked to really do what examples/README says, then deleted. The
# examples use fixed paths under /tmp and fixed ports; what the tests
# create there is removed afterwards, what was there before is left alone.

load helpers

EX=$SRCDIR/examples

setup() {
	jobd_start
	T=$BATS_TEST_TMPDIR
}

teardown() {
	local rc=0 p
	# Stopping jobd stops every job it still runs, as DELETE does.
	jobd_stop || rc=1
	# runsv and all it started (the runit test)
	runsv_gone || rc=1
	sysv_cleanup || rc=1
	reap_strays
	if [ -f "$T/.own_tmp" ]; then
		while read -r p; do
			rm -rf "$p"
		done <"$T/.own_tmp"
	fi
	[ "$rc" -eq 0 ]
}

# own_tmp PATH...: remove these after the test unless they exist already.
own_tmp() {
	local p
	for p in "$@"; do
		[ -e "$p" ] || echo "$p" >>"$T/.own_tmp"
	done
}

# put_example NAME FILE: PUT the example file as it is.
put_example() {
	http PUT "/job/$1" --data-binary "@$EX/$2"
}

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() {
	$PY -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# get_url URL: the HTTP status of a GET, 000 if nothing answered.
get_url() {
	curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1" || true
}

# stop_job NAME PID...: DELETE the job, wait until it is forgotten and
# until every PID is gone.
stop_job() {
	local name=$1 pid
	shift
	http DELETE "/job/$name"
	assert_equal "$code" 202
	wait_until 'http GET "/job/$name"; [ "$code" = 404 ]' 10 ||
		fail "job $name was not forgotten after DELETE"
	for pid in "$@"; do
		wait_until "! alive $pid" 5 || fail "pid $pid of job $name is still alive"
	done
}

@test "every example is valid JSON" {
	local f
	for f in web-with-restart socket-activated-http fifo-writer fifo-reader; do
		jq -e . "$EX/$f.json" >/dev/null || fail "$f.json is not valid JSON"
	done
}

@test "web-with-restart.json: serves on 8080; the restart task logs _LAST_EXIT and serves again" {
	port_free 8080 || skip "127.0.0.1:8080 is in use on this machine: the web example cannot bind it"
	own_tmp /tmp/jobd-web /tmp/jobd-web.log /tmp/web-restarts.log
	local before=0 pid0 pid1
	[ -e /tmp/web-restarts.log ] && before=$(wc -l </tmp/web-restarts.log)
	put_example web "web-with-restart.json"
	assert_equal "$code" 201
	assert_equal "$(jb '[.tasks[].state] | join(",")')" running,pending
	pid0=$(jb .pid)
	wait_until '[ "$(get_url http://127.0.0.1:8080/)" = 200 ]' 10 ||
		fail "the web server does not answer on 8080: $(cat /tmp/jobd-web.log)"
	[ -f /tmp/jobd-web/index.html ]

	# The server dies (here by SIGTERM): the restart task runs after it.
	http POST /job/web/signal -d '{"signal": "TERM"}'
	assert_equal "$code" 200
	wait_until '[ "$(wc -l 2>/dev/null </tmp/web-restarts.log || echo 0)" -gt "$before" ]' 10 ||
		fail "the restart task wrote nothing to /tmp/web-restarts.log"
	assert_regex "$(tail -n 1 /tmp/web-restarts.log)" 'web server ended \(SIGTERM\), restarting it$'
	wait_until '[ "$(get_url http://127.0.0.1:8080/)" = 200 ]' 10 ||
		fail "the restarted web server does not answer on 8080"
	http GET /job/web
	assert_equal "$(jb .task)" 1
	assert_equal "$(jb .tasks[0].signal)" TERM
	assert_equal "$(jb .tasks[1].state)" running
	pid1=$(jb .pid)
	if alive "$pid0"; then fail "the first task (pid $pid0) is still alive"; fi

	stop_job web "$pid1"
	[ "$(get_url http://127.0.0.1:8080/)" = 000 ]
}

@test "socket-activated-http.json: served on the held socket; no client refused across the task change" {
	port_free 8081 || skip "127.0.0.1:8081 is in use on this machine: the socket-activated example cannot bind it"
	own_tmp /tmp/jobd-activated.log
	local pid0 pid1 client
	put_example activated "socket-activated-http.json"
	assert_equal "$code" 201
	assert_equal "$(jb '.sockets | length')" 1
	assert_equal "$(jb '.sockets[0].address')" tcp:127.0.0.1:8081
	assert_equal "$(jb '.sockets[0].name')" http
	pid0=$(jb .pid)
	run curl -sS --max-time 5 http://127.0.0.1:8081/
	assert_success
	assert_output "hello from the first task, pid $pid0"

	# Clients keep coming while SIGHUP hands over to the second task.
	$PY -c '
import http.client, sys, time
out = open(sys.argv[1], "w")
end = time.time() + 15
second = 0
while time.time() < end and second < 20:
    try:
        c = http.client.HTTPConnection("127.0.0.1", 8081, timeout=5)
        c.request("GET", "/")
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        out.write("%d %s" % (r.status, body))
        second += "second" in body
    except Exception as e:
        out.write("error %r\n" % e)
    out.flush()' "$T/answers" 3>&- &
	client=$!
	wait_until "[ \$(wc -l 2>/dev/null <'$T/answers' || echo 0) -ge 5 ]" 10
	http POST /job/activated/signal -d '{"signal": "HUP"}'
	assert_equal "$code" 200
	wait_until "! alive $client" 20 || { kill "$client"; fail "the client loop did not finish"; }
	wait "$client"
	if grep -v '^200 hello from the ' "$T/answers"; then
		fail "some clients were not served"
	fi
	grep -q '^200 hello from the first task' "$T/answers"
	grep -q '^200 hello from the second task' "$T/answers"
	# The change is not instant (a request after the HUP may still be
	# the first task's), but once the second answers, the first is gone.
	awk '/second task/ { s = 1 } s && /first task/ { print "after the second: " $0; bad = 1 }
	    END { exit bad }' "$T/answers"

	http GET /job/activated
	assert_equal "$(jb .task)" 1
	assert_equal "$(jb .tasks[0].exit_code)" 0
	assert_equal "$(jb .tasks[1].state)" running
	pid1=$(jb .pid)
	if alive "$pid0"; then fail "the first task (pid $pid0) is still alive"; fi
	stop_job activated "$pid1"
	[ "$(get_url http://127.0.0.1:8081/)" = 000 ]
}

@test "fifo-writer.json and fifo-reader.json: lines arrive, none lost while the reader restarts" {
	own_tmp /tmp/jobd-example.fifo /tmp/jobd-example.out
	local off=0 wpid rpid n
	[ -f /tmp/jobd-example.out ] && off=$(stat -c %s /tmp/jobd-example.out)
	# new_lines: what the reader wrote during this test.
	new_lines() { tail -c +"$((off + 1))" /tmp/jobd-example.out 2>/dev/null; }

	# The writer first: its lines wait in the pipe until a reader comes.
	put_example fifo-writer "fifo-writer.json"
	assert_equal "$code" 201
	wpid=$(jb .pid)
	[ -p /tmp/jobd-example.fifo ]
	sleep 0.5
	put_example fifo-reader "fifo-reader.json"
	assert_equal "$code" 201
	rpid=$(jb .pid)
	wait_until 'new_lines | grep -q "^line 2 at "' 10 || fail "no lines arrived: $(new_lines)"
	assert_regex "$(new_lines | head -n 1)" '^line 1 at [0-9:]+$'

	# The reader goes away and comes back: the writer goes on unharmed.
	stop_job fifo-reader "$rpid"
	n=$(new_lines | wc -l)
	sleep 1.5
	http GET /job/fifo-writer
	assert_equal "$(jb .state)" running
	alive "$wpid"
	put_example fifo-reader "fifo-reader.json"
	assert_equal "$code" 201
	rpid=$(jb .pid)
	wait_until "[ \$(new_lines | wc -l) -ge $((n + 3)) ]" 10 ||
		fail "no lines after the reader restarted: $(new_lines)"
	# numbered 1, 2, 3... with none missing
	new_lines | awk '$1 != "line" || $2 != NR { print "line " NR ": " $0; bad = 1 } END { exit bad }'

	stop_job fifo-writer "$wpid"
	stop_job fifo-reader "$rpid"
}

@test "doc/jobd.8: a null fd entry is a closed fd (EBADF), {\"type\": \"null\"} is /dev/null" {
	local doc
	doc=$(tr '\n' ' ' <"$SRCDIR/doc/jobd.8")
	assert_regex "$doc" 'JSON literal .B null .*leaves that fd closed'
	assert_regex "$doc" 'writes to a closed fd 1 gets .B EBADF'
	assert_regex "$doc" '.B \{\\\(dqtype\\\(dq:\\ \\\(dqnull\\\(dq\} opens .I /dev/null'

	# What the document says, on real tasks: fd 1 given as null, then
	# as {"type": "null"}; each task reports on fd 2, a file.
	local script='if /bin/echo x; then echo "write ok" >&2; else echo "write failed" >&2; fi
[ -e /proc/self/fd/1 ] && echo "fd1 $(readlink /proc/$$/fd/1)" >&2 || echo "fd1 closed" >&2'
	local t
	for t in closed devnull; do
		local fd1=null
		[ $t = devnull ] && fd1='{"type": "null"}'
		put "$t" "$(jq -cn --arg s "$script" --arg err "$T/$t.err" \
		    --arg cwd "$T" --argjson fd1 "$fd1" \
		    '{tasks: [{exec: "/bin/sh", args: ["-c", $s],
		      envs: {PATH: "/usr/bin:/bin"}, cwd: $cwd,
		      fd: [{type: "null"}, $fd1,
		           {type: "file", path: $err, mode: "w"}]}]}')"
		assert_equal "$code" 201
		wait_job "$t"
		assert_equal "$(jb .tasks[0].exit_code)" 0
	done
	cat "$T/closed.err"
	grep -q 'Bad file descriptor' "$T/closed.err"
	grep -qx 'write failed' "$T/closed.err"
	grep -qx 'fd1 closed' "$T/closed.err"
	cat "$T/devnull.err"
	[ "$(cat "$T/devnull.err")" = "write ok
fd1 /dev/null" ]
}

# runsv_gone: runsv and everything it started are gone (teardown of the
# runit test); kills what is left and fails if anything was.
runsv_gone() {
	local pid=${RUNSV_PID:-} p left=
	[ -n "$pid" ] || return 0
	RUNSV_PID=
	sv exit "$SV" >/dev/null 2>&1 || true
	wait_until "! alive $pid" 10 || left="runsv $pid"
	for p in $(descendants "$pid") $RUNSV_KIDS; do
		alive "$p" && left="$left $p($(cat /proc/$p/comm 2>/dev/null))"
	done
	if [ -n "$left" ]; then
		kill -KILL $(descendants "$pid") $RUNSV_KIDS "$pid" 2>/dev/null
		echo "left running after sv exit: $left" >&2
		return 1
	fi
	wait "$pid" 2>/dev/null || true
}

@test "runit/jobd: runsv runs jobinit and jobd, svlogd logs, jobs run, sv down stops them all" {
	command -v runsv >/dev/null || skip "runit is not installed (scripts/bootstrap installs it)"
	# Its own state, apart from the jobd of setup.
	export JOBD_STATE_DIR=$T/svc.state
	SV=$T/sv/jobd
	mkdir -p "$T/sv"
	cp -R "$EX/runit/jobd" "$SV"
	local rsock=$T/r.sock
	cat >"$SV/conf" <<-CONF
		PATH=$BUILDDIR/src:\$PATH
		JOBD_SOCKET=$rsock
		JOBD_LOGDIR=$T/log
	CONF
	[ -n "${VALGRIND:-}" ] && echo "PATH=$BUILDDIR/vg:\$PATH" >>"$SV/conf"
	runsv "$SV" </dev/null >"$T/runsv.out" 2>&1 3>&- &
	RUNSV_PID=$!
	RUNSV_KIDS=
	wait_until "curl -s --max-time 1 --unix-socket '$rsock' http://localhost/ >/dev/null" 15 ||
		fail "jobd does not answer on $rsock: $(sv status "$SV"; cat "$T/log/current" "$T/runsv.out" 2>/dev/null)"
	run sv status "$SV"
	assert_success
	assert_output --regexp "^run: $SV: \(pid [0-9]+\) [0-9]+s; run: log: \(pid [0-9]+\)"
	local init
	init=$(sed -n 's/^run: [^(]*(pid \([0-9]*\)).*/\1/p' <<<"$output")
	comm_is "$init" jobinit

	# a job through curl, on the service's socket
	local jpid
	code=$(curl -sS --max-time 15 --unix-socket "$rsock" -o "$T/put" -w '%{http_code}' \
	    -X PUT http://localhost/job/sleeper --data-binary "$(sh_job 'exec sleep 1000')")
	assert_equal "$code" 201
	jpid=$(jq -r .pid "$T/put")
	alive "$jpid"
	comm_is "$jpid" sleep
	RUNSV_KIDS="$(descendants "$RUNSV_PID")"

	# what jobinit and jobd said went through svlogd, timestamped
	wait_until "grep -q 'jobd' '$T/log/current' 2>/dev/null" 10 ||
		fail "nothing from jobd in $T/log/current"
	assert_regex "$(head -n 1 "$T/log/current")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9:.]+ '

	# sv down: TERM to jobinit, forwarded to jobd, which stops the job
	run sv down "$SV"
	assert_success
	wait_until "! alive $jpid" 20 || fail "the job's process $jpid outlived sv down"
	wait_until "! alive $init" 20 || fail "jobinit $init outlived sv down"
	wait_until "sv status '$SV' | grep -q '^down: '" 10
	run sv status "$SV"
	assert_output --regexp "^down: $SV: [0-9]+s, normally up; run: log: "
	local p
	for p in $RUNSV_KIDS; do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = svlogd ] && continue
		if alive "$p"; then fail "process $p ($(cat /proc/$p/comm)) outlived sv down"; fi
	done
	run curl -s --max-time 2 --unix-socket "$rsock" http://localhost/
	assert_failure
}

# sysv_cleanup: kill what the init script started, if a test left it.
sysv_cleanup() {
	local p left=
	for p in ${SYSV_PIDS:-}; do
		alive "$p" || continue
		left="$left $p"
		kill -KILL $(descendants "$p") "$p" 2>/dev/null
	done
	SYSV_PIDS=
	[ -z "$left" ] || { echo "left running by the init script:$left" >&2; return 1; }
}

# sysv ARGS: run the init script with the test's defaults file.
sysv() {
	run env JOBD_DEFAULTS="$T/defaults" "$EX/sysvinit/jobd" "$@"
}

# sysv_pid: jobinit's pid from the pidfile; remembered for teardown.
sysv_pid() {
	pid=$(cat "$T/jobd.pid")
	SYSV_PIDS="${SYSV_PIDS:-} $pid $(descendants "$pid")"
}

@test "sysvinit/jobd: start, status, restart, stop with start-stop-daemon, jobs stopped with jobd" {
	local rsock=$T/r.sock pid pid2 jpid
	export JOBD_STATE_DIR=$T/svc.state
	cat >"$T/defaults" <<-CONF
		JOBINIT=$BUILDDIR/src/jobinit
		JOBD=$BUILDDIR/src/jobd
		JOBD_SOCKET=$rsock
		JOBD_OPTS=-v
		PIDFILE=$T/jobd.pid
		LOGFILE=$T/jobd.out
	CONF
	sysv status
	assert_equal "$status" 3
	assert_output "jobd is not running"

	sysv start
	assert_success
	sysv_pid
	comm_is "$pid" jobinit
	wait_until "curl -s --max-time 1 --unix-socket '$rsock' http://localhost/ >/dev/null" 15 ||
		fail "jobd does not answer: $(cat "$T/jobd.out")"
	sysv status
	assert_success
	assert_output "jobd is running (pid $pid)"
	# what jobd logs (-v: every request) goes to LOGFILE
	wait_until "grep -q 'GET /' '$T/jobd.out'" 10

	code=$(curl -sS --max-time 15 --unix-socket "$rsock" -o "$T/put" -w '%{http_code}' \
	    -X PUT http://localhost/job/sleeper --data-binary "$(sh_job 'exec sleep 1000')")
	assert_equal "$code" 201
	jpid=$(jq -r .pid "$T/put")
	comm_is "$jpid" sleep
	sysv_pid

	# start again: already running, nothing new
	sysv start
	assert_success
	assert_equal "$(cat "$T/jobd.pid")" "$pid"

	# restart: jobd stops its jobs, a new jobinit and jobd serve
	sysv restart
	assert_success
	if alive "$pid"; then fail "the old jobinit $pid outlived restart"; fi
	if alive "$jpid"; then fail "the job's process $jpid outlived restart"; fi
	pid2=$pid
	sysv_pid
	[ "$pid" != "$pid2" ]
	comm_is "$pid" jobinit
	wait_until "curl -s --max-time 1 --unix-socket '$rsock' http://localhost/ >/dev/null" 15 ||
		fail "jobd does not answer after restart: $(cat "$T/jobd.out")"
	code=$(curl -sS --max-time 15 --unix-socket "$rsock" -o "$T/put" -w '%{http_code}' \
	    -X PUT http://localhost/job/sleeper --data-binary "$(sh_job 'exec sleep 1000')")
	assert_equal "$code" 201
	jpid=$(jq -r .pid "$T/put")
	sysv_pid

	sysv stop
	assert_success
	if alive "$pid"; then fail "jobinit $pid outlived stop"; fi
	if alive "$jpid"; then fail "the job's process $jpid outlived stop"; fi
	[ ! -e "$T/jobd.pid" ]
	sysv status
	assert_equal "$status" 3
	sysv stop
	assert_success
	run curl -s --max-time 2 --unix-socket "$rsock" http://localhost/
	assert_failure
}

# orc ARGS: the openrc example, copied to $T/init.d/jobd (its settings
# in $T/conf.d/jobd, where openrc-run looks beside the script), run by
# openrc-run in a mount namespace of its own whose /run/openrc is $T/rc:
# the machine's own openrc state (if any) is left alone.
orc() {
	run unshare --mount --propagation private sh -c '
	    mount --bind "$1/rc" /run/openrc || exit 99
	    shift; exec "$@"' sh "$T" "$T/init.d/jobd" --nodeps "$@"
}

@test "openrc/jobd: sh -n, depend(), then start, status, stop under openrc-run" {
	sh -n "$EX/openrc/jobd"
	# depend() with stubs: what it asks of the boot
	run sh -c 'need() { echo "need $*"; }; use() { echo "use $*"; }
	    after() { echo "after $*"; }; . "$1"; depend' sh "$EX/openrc/jobd"
	assert_success
	assert_output $'need localmount\nuse logger\nafter bootmisc'
	# the command line, pidfile and log it builds from conf.d
	run sh -c 'JOBD_SOCKET=/s.sock JOBD_OPTS=-v; . "$1"
	    echo "$command $command_args"; echo "$command_background $pidfile $retry"
	    echo "${output_log:-}${start_stop_daemon_args:-}"' \
	    sh "$EX/openrc/jobd"
	assert_success
	assert_line --index 0 "/usr/local/sbin/jobinit --listen unix:/s.sock -- /usr/local/sbin/jobd -v"
	assert_line --index 1 "true /run/jobd.pid TERM/30/KILL/5"
	assert_regex "${lines[2]}" '^(--output )?/var/log/jobd.log$'

	command -v openrc-run >/dev/null || skip "openrc is not installed (scripts/bootstrap installs it)"
	[ -d /run/openrc ] || skip "no /run/openrc to hide the machine's openrc state behind"
	unshare --mount true 2>/dev/null || skip "no mount namespaces here"
	local rsock=$T/r.sock pid jpid
	mkdir -p "$T/init.d" "$T/conf.d" "$T/rc"
	(cd "$T/rc" && mkdir daemons exclusive failed hotplugged inactive options \
	    scheduled started starting stopping wasinactive tmp && touch softlevel)
	cp "$EX/openrc/jobd" "$T/init.d/jobd"
	cat >"$T/conf.d/jobd" <<-CONF
		JOBINIT=$BUILDDIR/src/jobinit
		JOBD=$BUILDDIR/src/jobd
		JOBD_SOCKET=$rsock
		JOBD_OPTS=-v
		JOBD_PIDFILE=$T/jobd.pid
		JOBD_LOGFILE=$T/jobd.out
	CONF
	orc status
	assert_equal "$status" 3
	orc start
	assert_success
	pid=$(cat "$T/jobd.pid")
	SYSV_PIDS="$pid"
	comm_is "$pid" jobinit
	wait_until "curl -s --max-time 1 --unix-socket '$rsock' http://localhost/ >/dev/null" 15 ||
		fail "jobd does not answer: $(cat "$T/jobd.out")"
	wait_until "grep -q 'GET /' '$T/jobd.out'" 10 ||
		fail "jobd's log is not in JOBD_LOGFILE"
	orc status
	assert_success
	assert_output --partial started
	code=$(curl -sS --max-time 15 --unix-socket "$rsock" -o "$T/put" -w '%{http_code}' \
	    -X PUT http://localhost/job/sleeper --data-binary "$(sh_job 'exec sleep 1000')")
	assert_equal "$code" 201
	jpid=$(jq -r .pid "$T/put")
	comm_is "$jpid" sleep
	SYSV_PIDS="$pid $(descendants "$pid")"

	orc stop
	assert_success
	if alive "$pid"; then fail "jobinit $pid outlived stop"; fi
	if alive "$jpid"; then fail "the job's process $jpid outlived stop"; fi
	orc status
	assert_equal "$status" 3
}

# tour_part N: the Nth paragraph (from 1) of the README's tour, the
# commands as a user pastes them, in $T/tour.N.
tour_part() {
	awk -v n="$1" -v out="$T/tour.$1" '
	    /^A 30-second tour/ { on = 1; next }
	    on && /^The same with jobctl/ { exit }
	    on && /^    / { started = 1
	        if (prev_blank) p++; prev_blank = 0
	        if (p + 1 == n) print substr($0, 5) > out; next }
	    on && started && /^$/ { prev_blank = 1 }' "$SRCDIR/README"
	[ -s "$T/tour.$1" ] || fail "no part $1 in the README tour"
}

# tour N: run part N of the tour against the test's jobd.
tour() {
	tour_part "$1"
	# (curl's progress meter goes to stderr: kept out of $output)
	run env S="$SOCK" bash -c "exec 2>>'$T/tour.err'; set -e
$(grep -v '^S=' "$T/tour.$1")"
}

# listening_on PORT: the local addresses listening on TCP PORT.
listening_on() {
	awk -v p="$(printf ':%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { print $2 }' \
	    /proc/net/tcp /proc/net/tcp6
}

@test "README tour: web on 127.0.0.1 only, the restart task runs with _LAST_EXIT, DELETE cancels the rest" {
	port_free 8080 || skip "127.0.0.1:8080 is in use on this machine: the tour cannot bind it"
	own_tmp /tmp/web-restarts.log
	local before=0 pid0 pid1
	[ -e /tmp/web-restarts.log ] && before=$(wc -l </tmp/web-restarts.log)
	tour_part 1
	assert_equal "$(cat "$T/tour.1")" "S=/run/jobd.sock"

	tour 2
	assert_success
	assert_equal "$(jq -r .state <<<"$output")" running
	pid0=$(jq -r .pid <<<"$output")
	wait_until '[ "$(get_url http://127.0.0.1:8080/)" = 200 ]' 10 ||
		fail "the tour's web server does not answer on 127.0.0.1:8080"
	# loopback only: not on every address of the machine
	assert_equal "$(listening_on 8080)" "0100007F:1F90"

	tour 3
	assert_success
	assert_equal "$(jq -r '[.state, .tasks[0].state, .tasks[1].state] | join(" ")' <<<"$output")" \
	    "running running pending"

	# the server is killed: the restart task runs, tells how, serves
	tour 4
	assert_success
	wait_until '[ "$(wc -l 2>/dev/null </tmp/web-restarts.log || echo 0)" -gt "$before" ]' 10 ||
		fail "the restart task wrote nothing to /tmp/web-restarts.log"
	tour 5
	assert_success
	local said
	said=$(sed -n 's/^cat [^#]*# *//p' "$T/tour.5")
	assert_equal "$said" "web ended (SIGKILL), restarting"
	assert_equal "${lines[-1]}" "$said"
	wait_until '[ "$(get_url http://127.0.0.1:8080/)" = 200 ]' 10 ||
		fail "the restarted web server does not answer"
	http GET /job/web
	assert_equal "$(jb '[.task, .tasks[0].signal, .tasks[1].state] | join(" ")')" "1 KILL running"
	pid1=$(jb .pid)
	if alive "$pid0"; then fail "the first server $pid0 is still alive"; fi

	tour 6
	assert_success
	wait_until 'http GET /job/web; [ "$code" = 404 ]' 10 || fail "web was not forgotten"
	wait_until "! alive $pid1" 5 || fail "the restarted server $pid1 outlived DELETE"

	# DELETE while the first task runs: the restart task never runs
	before=$(wc -l </tmp/web-restarts.log)
	tour 2
	assert_success
	pid0=$(jq -r .pid <<<"$output")
	wait_until '[ "$(get_url http://127.0.0.1:8080/)" = 200 ]' 10
	http DELETE /job/web
	assert_equal "$code" 202
	wait_until 'http GET /job/web; [ "$code" = 404 ]' 10 || fail "web was not forgotten"
	wait_until "! alive $pid0" 5 || fail "the server $pid0 outlived DELETE"
	assert_equal "$(wc -l </tmp/web-restarts.log)" "$before"
	[ "$(get_url http://127.0.0.1:8080/)" = 000 ]
}
