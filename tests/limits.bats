#!/usr/bin/env bats
# Task limits (the contract's section 10): rlimits by name, umask,
# no_new_privs, seen by the task itself; a numeric user without passwd
# entry and group is 422; bad values are 400 with their path.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	in_test_dir
}

# limited JQ SCRIPT: a job of one sh task running SCRIPT, with JQ applied
# to the task.
limited() {
	sh_job "$2" | jq -c ".tasks[0] |= ($1)"
}

@test "every rlimit by name is what the task sees in /proc/self/limits" {
	jobd_start
	put a "$(limited '.limits = {nofile: 256, nproc: [500, 1000], core: 0,
	    as: "unlimited", cpu: [100, 200], fsize: 1048576, memlock: [65536, 65536],
	    stack: [8388608, "unlimited"]}' "cat /proc/self/limits >$T/limits")"
	assert_equal "$code" 201
	wait_job a
	assert_equal "$(jb .tasks[0].exit_code)" 0
	row() { grep "^$1" "$T/limits" | awk '{ print $(NF-2), $(NF-1) }'; }
	assert_equal "$(row 'Max open files')" "256 256"
	assert_equal "$(row 'Max processes')" "500 1000"
	assert_equal "$(row 'Max core file size')" "0 0"
	assert_equal "$(row 'Max address space')" "unlimited unlimited"
	assert_equal "$(row 'Max cpu time')" "100 200"
	assert_equal "$(row 'Max file size')" "1048576 1048576"
	assert_equal "$(row 'Max locked memory')" "65536 65536"
	assert_equal "$(row 'Max stack size')" "8388608 unlimited"
	# ulimit agrees; without limits, the defaults jobd found.
	put b "$(limited '.limits = {nofile: 100}' "ulimit -n >$T/n")"
	wait_job b
	assert_equal "$(cat "$T/n")" 100
	put c "$(sh_job "ulimit -n >$T/n2")"
	wait_job c
	[ "$(cat "$T/n2")" -gt 100 ]
	# fsize 0: the task starts (jobd's own records are written before
	# the limit), and cannot write a byte.
	put f "$(limited '.limits = {fsize: 0}' "ulimit -f >$T/f 2>/dev/null; echo x >>$T/f")"
	wait_job f
	assert_equal "$(jb .tasks[0].signal)" XFSZ
	assert_equal "$(wc -c <"$T/f")" 0
}

@test "umask: files a task creates, and the file fds jobd opens for it" {
	jobd_start
	put a "$(limited '.umask = "077" | .fd = [null, {type: "file", path: "'"$T"'/out", mode: "w"}]' \
	    "touch $T/made; echo hi")"
	wait_job a
	assert_equal "$(stat -c %a "$T/made")" 600
	assert_equal "$(stat -c %a "$T/out")" 600
	put b "$(limited '.umask = "0"' "umask >$T/u")"
	wait_job b
	assert_equal "$(cat "$T/u")" 0000
}

@test "no_new_privs: set in the task, not without it" {
	jobd_start
	put a "$(limited '.no_new_privs = true' "grep NoNewPrivs /proc/self/status >$T/nnp")"
	wait_job a
	assert_equal "$(awk '{print $2}' "$T/nnp")" 1
	put b "$(limited '.no_new_privs = false' "grep NoNewPrivs /proc/self/status >$T/nnp2")"
	wait_job b
	assert_equal "$(awk '{print $2}' "$T/nnp2")" 0
}

@test "a limit the task may not have is 422 naming it; a hard limit raised as root works" {
	jobd_start
	# As root a hard limit may go up; over the kernel's nr_open it may not.
	local max
	max=$(cat /proc/sys/fs/nr_open)
	put a "$(limited ".limits = {nofile: $((max + 1))}" 'true')"
	assert_equal "$code" 422
	assert_equal "$(jb .path)" "tasks[0].limits.nofile"
	jb .error | grep -q "setrlimit nofile"
	http GET /job/a
	assert_equal "$(jb .state)" failed
}

@test "a numeric user with no passwd entry and no group is 422; with a group it runs" {
	[ "$(id -u)" -eq 0 ] || skip "jobd must be root to change users"
	! getent passwd 54321 >/dev/null || skip "uid 54321 exists here"
	jobd_start
	put a "$(limited '.user = 54321' "id -g >$T/g")"
	assert_equal "$code" 422
	assert_equal "$(jb .path)" "tasks[0].user"
	jb .error | grep -q 'no passwd entry'
	[ ! -e "$T/g" ]
	world_dir
	put b "$(limited '.user = 54321 | .group = 54321 | .cwd = "'"$W"'"' "id -u >$W/u; id -g >$W/g")"
	assert_equal "$code" 201
	wait_job b
	assert_equal "$(cat "$W/u") $(cat "$W/g")" "54321 54321"
}

@test "bad values of limits, umask and no_new_privs are 400 with their path" {
	jobd_start
	local spec path
	while IFS='|' read -r spec path; do
		put x "$(limited "$spec" true)"
		assert_equal "$code" 400
		assert_equal "$(jb .path)" "$path"
	done <<'EOF'
.limits = {bogus: 1}|tasks[0].limits.bogus
.limits = {nofile: -1}|tasks[0].limits.nofile
.limits = {nofile: 1.5}|tasks[0].limits.nofile
.limits = {nofile: "many"}|tasks[0].limits.nofile
.limits = {nofile: [1]}|tasks[0].limits.nofile
.limits = {nofile: [10, 5]}|tasks[0].limits.nofile
.limits = {nofile: [1, "x"]}|tasks[0].limits.nofile[1]
.limits = [1]|tasks[0].limits
.umask = 22|tasks[0].umask
.umask = "089"|tasks[0].umask
.umask = "1777"|tasks[0].umask
.umask = ""|tasks[0].umask
.no_new_privs = 1|tasks[0].no_new_privs
.no_new_privs = "yes"|tasks[0].no_new_privs
EOF
	http GET /job/x
	assert_equal "$code" 404
	put x "$(limited '.limits = {bogus: 1}' true)"
	jb .error | grep -q 'known are nofile, nproc'
}
