#!/usr/bin/env bats
# A cgroup v2 directory per job (the contract's section 10): every
# process of the job is in it, DELETE kills what left the process group,
# an empty one goes when the job ends, controller limits the host cannot
# honour are 422 naming the controller, bad values are 400, and an
# adopted job keeps its cgroup.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	in_test_dir
	[ "$(id -u)" -eq 0 ] || skip "jobd makes cgroups as root"
	MNT=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
	[ -n "$MNT" ] || skip "no cgroup2 file system is mounted"
	[ "$(grep '^0::' /proc/self/cgroup)" = "0::/" ] ||
	    skip "the tests run in a cgroup of their own, not the root"
}

# cg JOB: the job's cgroup from its status.
cg() {
	curl -s --unix-socket "$SOCK" "http://localhost/job/$1" | jq -r .cgroup
}

@test "every process of a job is in its cgroup; DELETE kills the ones that left its process group" {
	jobd_start
	put d "$(sh_job "setsid sleep 1000 & echo \$! >$T/daemon; sleep 1000")"
	assert_equal "$code" 201
	wait_until "[ -s $T/daemon ]"
	local dir pid
	dir=$(cg d)
	[[ $dir == "$MNT"/jobd-*/d ]] || fail "cgroup $dir"
	pid=$(cat "$T/daemon")
	# The setsid one is in another session, and in the job's cgroup.
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ]
	assert_equal "$(grep '^0::' "/proc/$pid/cgroup" | cut -d: -f3)" "${dir#"$MNT"}"
	grep -qx "$pid" "$dir/cgroup.procs"
	http DELETE /job/d
	assert_equal "$code" 202
	# Once it has ended, nothing of it is left: the cgroup is gone.
	wait_until "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --unix-socket $SOCK http://localhost/job/d)\" = 404 ]" 20
	run ! alive "$pid"
	[ ! -e "$dir" ]
}

@test "an empty cgroup goes when its job ends; leftovers keep it until DELETE kills them" {
	jobd_start
	put e "$(sh_job 'exit 0')"
	wait_job e
	assert_equal "$(jb .cgroup)" null
	ls -d "$MNT"/jobd-*/ >/dev/null
	put l "$(sh_job "setsid sleep 1000 & echo \$! >$T/left")"
	wait_job l
	local dir pid
	dir=$(jb .cgroup)
	pid=$(cat "$T/left")
	[ -d "$dir" ]
	alive "$pid"
	http DELETE /job/l
	assert_equal "$code" 200
	wait_until "! alive $pid" 10
	wait_until "[ ! -e $dir ]" 10
}

@test "a cgroup limit whose controller is not enabled is 422 naming it; bad values are 400 with their path" {
	jobd_start
	local base c field
	put s "$(sh_job 'sleep 100')"
	base=$(dirname "$(cg s)")
	for field in memory_max:memory pids_max:pids 'cpu_max:cpu'; do
		c=${field#*:}
		field=${field%:*}
		local v=1048576
		[ "$field" = cpu_max ] && v='"50000 100000"'
		put x "$(sh_job 'exit 0' | jq -c ".cgroup = {$field: $v}")"
		if grep -qw "$c" "$base/cgroup.subtree_control"; then
			assert_equal "$code" 201
			wait_job x
		else
			assert_equal "$code" 422
			jb .error | grep -q "the $c controller"
			jb .error | grep -qF "$base"
		fi
		http DELETE /job/x
	done
	local spec path
	while IFS='|' read -r spec path; do
		put y "$(sh_job 'exit 0' | jq -c "$spec")"
		assert_equal "$code" 400
		assert_equal "$(jb .path)" "$path"
	done <<'EOF'
.cgroup = {memory_max: -1}|cgroup.memory_max
.cgroup = {memory_max: "lots"}|cgroup.memory_max
.cgroup = {pids_max: 0}|cgroup.pids_max
.cgroup = {cpu_max: 50000}|cgroup.cpu_max
.cgroup = {cpu_max: "50 100000"}|cgroup.cpu_max
.cgroup = {cpu_max: "50000 x"}|cgroup.cpu_max
.cgroup = {io_max: 1}|cgroup.io_max
.cgroup = 1|cgroup
EOF
}

@test "a job adopted after a kill -9 of jobd keeps its cgroup: DELETE still kills its daemons" {
	jobd_start
	put a "$(sh_job "setsid sleep 1000 & echo \$! >$T/daemon; exec sleep 1001")"
	wait_until "[ -s $T/daemon ]"
	local dir pid
	dir=$(cg a)
	pid=$(cat "$T/daemon")
	kill -KILL "$JOBD_PID"
	wait "$JOBD_PID" || true
	JOBD_PID=
	jobd_start
	http GET /job/a
	assert_equal "$(jb .state)" running
	assert_equal "$(jb .cgroup)" "$dir"
	http DELETE /job/a
	wait_until "! alive $pid" 20
	wait_until "[ ! -e $dir ]" 10
}

@test "two jobds never share a cgroup, and a clean exit leaves none behind" {
	jobd_start
	SOCK=$T/two.sock JOBD_STATE_DIR=$T/two.state "$JOBD" --listen "unix:$T/two.sock" \
	    </dev/null >>"$T/two.log" 2>&1 3>&- &
	local two=$!
	wait_until "curl -s --unix-socket $T/two.sock http://localhost/ >/dev/null" 10
	curl -s --unix-socket "$T/two.sock" -X PUT --data-binary "$(sh_job 'sleep 100')" \
	    http://localhost/job/a >/dev/null
	put a "$(sh_job 'sleep 100')"
	local c1 c2
	c1=$(cg a)
	c2=$(curl -s --unix-socket "$T/two.sock" http://localhost/job/a | jq -r .cgroup)
	[ "$c1" != "$c2" ] || fail "both jobs in $c1"
	kill -TERM "$two"
	wait "$two"
	[ ! -e "$(dirname "$c2")" ]
}

@test "--no-cgroup: no cgroup for a job, and a cgroup limit is 422 saying so" {
	jobd_start --no-cgroup
	put a "$(sh_job 'sleep 100')"
	assert_equal "$code" 201
	assert_equal "$(jb .cgroup)" null
	put b "$(sh_job 'exit 0' | jq -c '.cgroup = {pids_max: 10}')"
	assert_equal "$code" 422
	jb .error | grep -q -- '--no-cgroup'
}
