#!/usr/bin/env bats
# Jobs: the routes, task chains, states, stopping and signals.

load helpers

setup() {
	jobd_start
}

@test "PUT starts a job: 201, Location, status; GET shows it exited" {
	put hello "$(sh_job 'echo hello > out')"
	assert_equal "$code" 201
	assert_regex "$headers" $'Location: /job/hello\r'
	assert_equal "$(jb .name)" hello
	assert_equal "$(jb .tasks[0].state)" running
	wait_job hello
	assert_equal "$(jb .state)" exited
	assert_equal "$(jb .tasks[0].exit_code)" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" hello
}
