#!/usr/bin/env bats
# A short soak (scripts/soak runs the long one): jobd's fds, RSS and
# zombies do not grow over thousands of requests and jobs.

load helpers

@test "3,000 cycles of PUT, wait, DELETE, GETs and bad requests: no growth, no zombies" {
	jobd_start -q
	local slack=256
	! sanitized || slack=1000000
	run $PY "$BATS_TEST_DIRNAME/soak.py" "$SOCK" "$JOBD_PID" 3000 \
	    --checkpoint 1000 --rss-slack "$slack"
	echo "$output"
	assert_success
}
