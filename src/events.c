/*
 * events.c: one event log per jobd, a record log (rlog.c) in events/
 * under the state directory: every state change of a job or task, and
 * the daemon's start and recovery, each with a seq that goes on across
 * restarts. A record's name is its job, its bytes the event's fields as
 * JSON, after seq and time. Events are batched and written once per loop
 * iteration (events_flush), so readers see them in order and in whole
 * iterations; GET /events reads them by cursor.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jobd.h"

#define EVENTS_MAX	(8 * 1024 * 1024)	/* >= 10,000 events kept */

static struct rlog	 ev;
static struct buf	 frag;
static int		 evopen;
static unsigned		 nreaders;

/* The event log, from the state directory (or jobd's own without one). */
void
events_open(void)
{
	struct buf	 pend;
	char		 path[4096];
	int		 fd;

	rlog_init(&ev, "events", EVENTS_MAX);
	evopen = 1;
	if ((fd = rlog_dir("events", path, sizeof(path))) == -1)
		return;
	memset(&pend, 0, sizeof(pend));
	if (rlog_load(&ev, fd, &pend) == -1)
		log_warn("%s", path);
	buf_free(&pend);
}

void
events_close(void)
{
	if (!evopen)
		return;
	rlog_flush(&ev);
	rlog_close(&ev);
	buf_free(&frag);
	evopen = 0;
}

/*
 * An event: type "job", "task" or "daemon", its action, and what is
 * known (a job, a task index >= 0, a pid > 0, an exit code >= 0, a
 * signal, a state, an error); the rest is null.
 */
static void
emit(const char *type, const char *action, const char *job, int task,
    pid_t pid, int code, int sig, const char *state, const char *error)
{
	struct buf	*b = &frag;

	if (!evopen)
		return;
	b->len = 0;
	w_key(b, "type", 1);
	w_str(b, type);
	w_key(b, "action", 0);
	w_str(b, action);
	w_key(b, "job", 0);
	w_str(b, job);
	w_key(b, "task", 0);
	w_int_if(b, task >= 0, task);
	w_key(b, "pid", 0);
	w_int_if(b, pid > 0, pid);
	w_key(b, "exit_code", 0);
	w_int_if(b, code >= 0, code);
	w_key(b, "signal", 0);
	w_str(b, sig > 0 ? sig_name(sig) : NULL);
	w_key(b, "state", 0);
	w_str(b, state);
	w_key(b, "error", 0);
	w_str(b, error);
	if (b->err) {
		b->err = 0;
		return;
	}
	rlog_add(&ev, 0, task >= 0 ? task : 0, 0, job != NULL ? job : "", 0,
	    b->data, b->len, NULL, 0);
}

void
event_job(const struct job *j, const char *action)
{
	const struct task	*t = &j->tasks[j->cur];

	emit("job", action, j->name, -1, t->state == TASK_RUNNING ? t->pid : 0,
	    -1, 0, job_state_name(j->state), NULL);
}

void
event_task(const struct task *t, const char *action)
{
	emit("task", action, t->job->name, t->index, t->pid,
	    t->state == TASK_EXITED ? t->exit_code : -1,
	    t->state == TASK_KILLED ? t->signal : 0,
	    task_state_name(t->state), t->error);
}

void
event_daemon(const char *action, const char *note)
{
	emit("daemon", action, NULL, -1, getpid(), -1, 0, NULL, note);
}

/* Once per loop iteration: the events of this one, written, told. */
void
events_flush(void)
{
	if (evopen && ev.w.len > 0)
		rlog_flush(&ev);
}

/* The seq of the last event: what GET /jobs has seen (X-Jobd-Seq). */
uint64_t
events_seq(void)
{
	return ev.next - 1;
}

void
events_reader_start(struct log_waiter *w, uint64_t since, void (*cb)(void *),
    void *arg)
{
	rlog_reader_start(&ev, w, since, cb, arg);
	nreaders++;
}

void
events_reader_stop(struct log_waiter *w)
{
	(void)log_reader_stop(w);
	nreaders--;
}

unsigned
events_readers(void)
{
	return nreaders;
}
