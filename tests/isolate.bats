#!/usr/bin/env bats
# Task "isolate" (the contract's section 10): a network namespace with
# only lo where held sockets still serve; ipc and uts namespaces; a mount
# namespace where jobd's socket directory (or "hide") is covered and
# "readonly" paths cannot be written; bad values are 400.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	in_test_dir
	[ "$(id -u)" -eq 0 ] || skip "namespaces need jobd to be root"
}

# iso JQ SCRIPT: a job of one sh task running SCRIPT, JQ applied to it.
iso() {
	sh_job "$2" | jq -c ".tasks[0] |= ($1)"
}

@test "isolate net: only lo, up; a held socket still serves the outside" {
	jobd_start
	local port
	port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	# Interfaces seen from inside, then serve HTTP on the held fd 3.
	put n "$(iso ".isolate = [\"net\"] | .fd = [null, null, null,
	    {type: \"network socket\", bind: \"127.0.0.1\", port: $port}]" "
	    tail -n +3 /proc/self/net/dev | cut -d: -f1 | tr -d ' ' >$T/ifs
	    cat /sys/class/net/lo/operstate >/dev/null 2>&1
	    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.connect((\"127.0.0.1\", $port))' 2>$T/inside || echo refused >>$T/inside
	    exec /usr/bin/python3 -c '
import socket
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept()
    c.recv(1024)
    c.sendall(b\"HTTP/1.0 200 OK\\r\\n\\r\\nfrom the namespace\")
    c.close()'")"
	assert_equal "$code" 201
	wait_until "[ -s $T/ifs ]"
	assert_equal "$(cat "$T/ifs")" lo
	# Inside, 127.0.0.1:port is another lo: nobody listens there.
	wait_until "grep -q refused $T/inside"
	run -0 curl -s --max-time 5 "http://127.0.0.1:$port/"
	assert_output "from the namespace"
}

@test "isolate ipc and uts: a hostname of its own, System V IPC apart" {
	jobd_start
	put u "$(iso '.isolate = ["uts", "ipc"]' "hostname jobd-task; hostname >$T/h
	    readlink /proc/self/ns/ipc >$T/ipc; readlink /proc/self/ns/uts >$T/uts")"
	assert_equal "$code" 201
	wait_job u
	assert_equal "$(jb .tasks[0].exit_code)" 0
	assert_equal "$(cat "$T/h")" jobd-task
	[ "$(hostname)" != jobd-task ]
	[ "$(cat "$T/ipc")" != "$(readlink /proc/self/ns/ipc)" ]
	[ "$(cat "$T/uts")" != "$(readlink /proc/self/ns/uts)" ]
}

@test "isolate mount: jobd's socket directory is hidden by default, so the task cannot reach jobd" {
	jobd_start
	world_dir
	put m "$(iso ".isolate = [\"mount\"] | .cwd = \"$W\"" "
	    ls -A $T >$W/listing 2>&1; echo \$? >>$W/listing
	    curl -s --max-time 2 --unix-socket $SOCK http://localhost/ >$W/curl 2>&1; echo \$? >$W/rc")"
	assert_equal "$code" 201
	wait_job m
	# The directory is there, empty; the socket is not.
	assert_equal "$(cat "$W/listing")" 0
	[ "$(cat "$W/rc")" != 0 ]
	# Outside, nothing changed.
	[ -S "$SOCK" ]
	# Without isolate, the same task reaches jobd.
	put o "$(iso ".cwd = \"$W\"" "curl -s --max-time 2 --unix-socket $SOCK http://localhost/ >/dev/null; echo \$? >$W/rc2")"
	wait_job o
	assert_equal "$(cat "$W/rc2")" 0
}

@test "hide and readonly: paths covered, paths read-only, for the task alone" {
	jobd_start
	world_dir
	mkdir -p "$W/secret" "$W/ro"
	echo s >"$W/secret/key"
	echo r >"$W/ro/file"
	put h "$(iso ".isolate = [\"mount\"] | .cwd = \"$W\" | .hide = [\"$W/secret\"] | .readonly = [\"$W/ro\"]" "
	    cat $W/secret/key >$W/out 2>&1; echo \$? >>$W/out
	    { echo x >>$W/ro/file; } 2>>$W/out; echo \$? >>$W/out
	    cat $W/ro/file >>$W/out")"
	assert_equal "$code" 201
	wait_job h
	assert_equal "$(sed -n 2p "$W/out")" 1
	grep -q 'Read-only file system' "$W/out"
	assert_equal "$(tail -n 1 "$W/out")" r
	# Outside, both as they were.
	assert_equal "$(cat "$W/secret/key")" s
	echo y >>"$W/ro/file"
	# hide: [] hides nothing, not even jobd's socket.
	put e "$(iso ".isolate = [\"mount\"] | .cwd = \"$W\" | .hide = []" "[ -S $SOCK ]; echo \$? >$W/e")"
	wait_job e
	assert_equal "$(cat "$W/e")" 0
}

@test "bad isolate, hide and readonly are 400 with their path" {
	jobd_start
	local spec path
	while IFS=@ read -r spec path; do
		put x "$(iso "$spec" true)"
		assert_equal "$code" 400
		assert_equal "$(jb .path)" "$path"
	done <<'EOF'
.isolate = "net"@tasks[0].isolate
.isolate = ["pid"]@tasks[0].isolate[0]
.isolate = ["net", "net"]@tasks[0].isolate[1]
.isolate = [1]@tasks[0].isolate[0]
.hide = ["/x"]@tasks[0].hide
.isolate = ["mount"] | .hide = ["x"]@tasks[0].hide[0]
.isolate = ["mount"] | .readonly = "/x"@tasks[0].readonly
.isolate = ["mount"] | .readonly = [1]@tasks[0].readonly[0]
EOF
	http GET /job/x
	assert_equal "$code" 404
}
