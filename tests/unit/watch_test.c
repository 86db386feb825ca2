/*
 * watch_test.c: job watchers, linked against the core alone (no HTTP): a
 * watch fires exactly once when its job ends, and never after
 * job_unwatch.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd.h"
#include "tap.h"

static int	 fired_a, fired_b;

static void
count_a(struct job *j, void *arg)
{
	fired_a++;
	ok(arg == &fired_a && !job_active(j), "the watch gets its job, "
	    "ended, and its argument");
}

static void
count_b(struct job *j, void *arg)
{
	fired_b++;
}

static struct job *
start(const char *name, const char *exec)
{
	char		 body[512];
	struct jerr	 e;
	struct job	*j;

	snprintf(body, sizeof(body), "{\"tasks\":[{\"exec\":\"%s\","
	    "\"args\":[],\"envs\":{},\"cwd\":\"/\",\"fd\":[]}]}", exec);
	err_init(&e);
	if ((j = json_parse_job(body, strlen(body), name, &e)) == NULL ||
	    job_prepare(j, &e) == -1) {
		ok(0, "job %s: %s", name, e.msg);
		exit(1);
	}
	job_insert(j);
	return j;
}

/* Reap until the job has ended (jobd does this from SIGCHLD). */
static void
run(struct job *j)
{
	int	 i;

	for (i = 0; i < 1000 && job_active(j); i++) {
		job_reap();
		if (job_active(j))
			ev_sleep(0.01);
	}
}

int
main(void)
{
	struct job_watch	 wa, wb;
	struct rlimit		 rl;
	struct job		*j;
	struct jerr		 e;

	loop = ev_default_loop(0);
	getrlimit(RLIMIT_NOFILE, &rl);
	spawn_init(&rl);

	j = start("a", "/bin/true");
	job_watch(j, &wa, count_a, &fired_a);
	job_watch(j, &wb, count_b, NULL);
	job_unwatch(&wb);
	err_init(&e);
	ok(job_start(j, &e) == 0, "the job starts");
	ok(fired_a == 0, "no watch fires while the job runs");
	run(j);
	ok(!job_active(j), "the job ends");
	ok(fired_a == 1, "the watch fired exactly once (%d)", fired_a);
	ok(fired_b == 0, "an unwatched watch never fires");
	job_unwatch(&wa);
	ok(wa.job == NULL, "unwatching a fired watch is harmless");

	/* A job that fails to start ends at once: its watch fires too. */
	fired_a = 0;
	j = start("b", "/nonexistent/x");
	job_watch(j, &wa, count_a, &fired_a);
	ok(job_start(j, &e) == -1 && e.status == 422 && e.task == 0 &&
	    strcmp(e.field, "exec") == 0, "a failed start reports the task "
	    "and field as numbers and name");
	ok(fired_a == 1, "the watch of a job that failed to start fired once");
	run(j);
	ok(fired_a == 1, "and never again");

	job_free_all();
	ev_loop_destroy(loop);
	return tap_done();
}
