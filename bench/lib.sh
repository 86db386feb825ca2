# bench/lib.sh: what the benchmarks under bench/ share, sourced by each.
# Where things are, a temp dir, a trap that ends every process the
# benchmark started (even on failure), medians, memory readings, and
# starting jobd, supervisord and nginx on private sockets.
#
# Every process a benchmark starts carries JOBD_BENCH=<its temp dir> in
# its environment (jobs get it through their envs, nginx keeps it with
# its env directive); the trap ends the processes it knows by pid, then
# whatever is still tagged, so a crash leaves no orphan behind.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
name=$(basename "$0")
out=${BENCH_OUT:-$top/bench/out}
bin=$out/bin
runs=${RUNS:-${default_runs:-5}}
py=/usr/bin/python3
mkdir -p "$out" "$bin"

if [ -z "${BENCH_BUILD:-}" ]; then
	BENCH_BUILD=$("$top/scripts/build" "${BENCH_FLAVOUR:-default}")
fi
BENCH_BUILD=$(cd "$BENCH_BUILD" && pwd)
jobd=$BENCH_BUILD/src/jobd

tmp=$(mktemp -d "/tmp/jobd-bench-$name.XXXXXX")
tag=$tmp
pids=

# alive PID: running, not a zombie waiting for us.
alive() {
	[ -r "/proc/$1/stat" ] &&
	    [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

# halt PID [SECONDS]: SIGTERM, then SIGKILL if it still runs after
# SECONDS (default 15), and reap it.
halt() {
	kill -TERM "$1" 2>/dev/null || true
	_i=0
	while alive "$1" && [ $_i -lt $((${2:-15} * 20)) ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	_p=
	for _q in $pids; do
		[ "$_q" = "$1" ] || _p="$_p $_q"
	done
	pids=$_p
}

# Every pid whose environment holds our tag.
tagged() {
	grep -l -s -z -x -F "JOBD_BENCH=$tag" /proc/[0-9]*/environ 2>/dev/null |
	    cut -d/ -f3 | grep -v -x "$$" || true
}

bench_cleanup() {
	set +e
	for _q in $pids; do
		halt "$_q" 10
	done
	_t=$(tagged)
	# shellcheck disable=SC2086
	[ -n "$_t" ] && kill -KILL $_t 2>/dev/null
	rm -rf "$tmp"
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM HUP

# Start "$@" in the background, tagged and tracked; its pid in $last.
spawn_bg() {
	env JOBD_BENCH="$tag" "$@" </dev/null 3>&- &
	last=$!
	pids="$pids $last"
}

# The helpers in C, built once into bench/out/bin.
tools() {
	for _t in spawnloop jobload startup logwrite; do
		if [ ! -x "$bin/$_t" ] || [ "$top/bench/$_t.c" -nt "$bin/$_t" ]; then
			cc -O2 -Wall -o "$bin/$_t" "$top/bench/$_t.c"
		fi
	done
}
tools

# Numbers.
median() {
	sort -g | awk '{ a[NR] = $1 }
	    END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
	          else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Memory of a process, in kB: resident, and private (not shared with
# any other process: what it really costs the machine).
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
priv_kb() {
	awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' \
	    "/proc/$1/smaps_rollup"
}
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
fd_count() { ls "/proc/$1/fd" | wc -l; }

# Results: the rows of the summary table (markdown) and key-value pairs
# for the targets and the plot, in bench/out/NAME.rows and NAME.tsv.
: >"$out/$name.rows"
: >"$out/$name.tsv"
row() {
	printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" |
	    tee -a "$out/$name.rows"
}
val() { echo "$1 $2" >>"$out/$name.tsv"; }

# Job bodies. Tasks get the tag so that the trap finds them.
job_json() {	# job_json EXEC [ARG]
	printf '{"tasks":[{"exec":"%s","args":[%s],"envs":{"JOBD_BENCH":"%s"},"cwd":"/","fd":[]}]}' \
	    "$1" "${2:+\"$2\"}" "$tag"
}
job_json /bin/true >"$tmp/true.json"
job_json /bin/sleep 100000 >"$tmp/sleep.json"

# jget SOCK PATH: GET over a unix socket.
jget() { curl -sf --max-time 30 --unix-socket "$1" "http://localhost$2"; }

# start_jobd SOCK [ARGS...]: jobd on unix:SOCK, quiet; waits until it
# answers. Its pid in $jobd_pid.
start_jobd() {
	_s=$1
	shift
	spawn_bg "$jobd" -q --listen "unix:$_s" "$@"
	jobd_pid=$last
	_i=0
	until jget "$_s" / >/dev/null 2>&1; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ] || ! alive "$jobd_pid"; then
			echo "$name: jobd did not start" >&2
			exit 1
		fi
		sleep 0.05
	done
}

# jobd_count SOCK FIELD: a job count from GET / (total, running...).
jobd_count() {
	jget "$1" / | sed "s/.*\"$2\":\([0-9]*\).*/\1/"
}

# load_sleep SOCK N PREFIX: N running sleep jobs named PREFIX0.. (4
# clients), then check that they all run.
load_sleep() {
	_r0=$(jobd_count "$1" running)
	"$bin/jobload" -s "$1" -c 4 -n "$2" -m PUT -b "$tmp/sleep.json" \
	    "/job/$3%d" >/dev/null
	_r=$(jobd_count "$1" running)
	if [ "$_r" -ne $((_r0 + $2)) ]; then
		echo "$name: $_r jobs running, expected $((_r0 + $2))" >&2
		exit 1
	fi
}

# sup_conf DIR: a supervisord config of its own under DIR (never the
# system's): programs in DIR/conf.d, XML-RPC on DIR/supervisor.sock.
sup_conf() {
	mkdir -p "$1/conf.d" "$1/log"
	cat >"$1/supervisord.conf" <<EOF
[unix_http_server]
file=$1/supervisor.sock
chmod=0700

[supervisord]
nodaemon=true
user=root
logfile=$1/supervisord.log
loglevel=warn
pidfile=$1/supervisord.pid
childlogdir=$1/log
minfds=16384

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[include]
files = $1/conf.d/*.conf
EOF
}

# start_supervisord DIR: supervisord in the foreground with sup_conf's
# config; waits until it answers. Pid in $sup_pid.
start_supervisord() {
	sup_conf "$1"
	spawn_bg /usr/bin/supervisord -n -c "$1/supervisord.conf" \
	    >"$1/stdout.log" 2>&1
	sup_pid=$last
	"$py" "$top/bench/supervisor.py" wait "$1/supervisor.sock"
}
sup() { "$py" "$top/bench/supervisor.py" "$@"; }

# free_port: a loopback TCP port nobody listens on now.
free_port() {
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nginx DIR PORT FILE: nginx (one worker, no access log) serving
# FILE as /job.json on 127.0.0.1:PORT and on unix:DIR/nginx.sock, from
# its own config, in the foreground. Pid in $nginx_pid.
start_nginx() {
	mkdir -p "$1/html" "$1/logs"
	cp "$3" "$1/html/job.json"
	# Its worker runs as an unprivileged user: let it reach the file.
	chmod 0711 "$tmp" "$1"
	chmod 0755 "$1/html"
	chmod 0644 "$1/html/job.json"
	cat >"$1/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
env JOBD_BENCH;
events { worker_connections 4096; }
http {
	access_log off;
	default_type application/json;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	open_file_cache max=16;
	client_body_temp_path $1/tmp;
	server {
		listen 127.0.0.1:$2;
		listen unix:$1/nginx.sock;
		root $1/html;
	}
}
EOF
	spawn_bg /usr/sbin/nginx -p "$1" -c "$1/nginx.conf" -e "$1/logs/error.log"
	nginx_pid=$last
	_i=0
	until curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$2/job.json"; do
		_i=$((_i + 1))
		if [ $_i -gt 100 ] || ! alive "$nginx_pid"; then
			echo "$name: nginx did not start" >&2
			tail -n 3 "$1/logs/error.log" >&2
			exit 1
		fi
		sleep 0.05
	done
}
