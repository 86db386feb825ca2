/*
 * job.c: jobs and their tasks. The job table (by name) and the task table
 * (by pid), the states and the one place where they change: a task
 * starts, a task ends, a job ends. Tasks of a job run one after another.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobd.h"

static struct htab		 jobs_by_name;
static struct htab		 tasks_by_pid;
static TAILQ_HEAD(, job)	 alljobs = TAILQ_HEAD_INITIALIZER(alljobs);
static TAILQ_HEAD(, job)	 finished = TAILQ_HEAD_INITIALIZER(finished);
static unsigned			 nfinished;
static unsigned			 counts[JOB_FAILED + 1];

static const char *const job_states[] = {
	"running", "stopping", "exited", "failed"
};
static const char *const task_states[] = {
	"pending", "running", "exited", "killed", "failed", "skipped",
	"cancelled"
};

static void	kill_cb(struct ev_loop *, ev_timer *, int);

const char *
job_state_name(enum job_state s)
{
	return job_states[s];
}

const char *
task_state_name(enum task_state s)
{
	return task_states[s];
}

int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct job *
job_new(const char *name)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	if ((j->name = strdup(name)) == NULL) {
		free(j);
		return NULL;
	}
	j->stop_timeout = JOBD_STOP_TIMEOUT;
	j->created = now_ms();
	LIST_INIT(&j->watches);
	ev_init(&j->kill_timer, kill_cb);
	j->kill_timer.data = j;
	return j;
}

static void
task_clear(struct task *t)
{
	char	**p;
	int	  i;

	free(t->exec);
	free(t->cwd);
	if (t->argv != NULL)
		for (p = t->argv; *p != NULL; p++)
			free(*p);
	free(t->argv);
	if (t->envs != NULL)
		for (p = t->envs; *p != NULL; p++)
			free(*p);
	free(t->envs);
	for (i = 0; i < t->nfds && t->fds != NULL; i++)
		fd_spec_clear(&t->fds[i]);
	free(t->fds);
	free(t->user);
	free(t->group);
	free(t->groups);
	free(t->error);
}

/* Frees a job that is in no table (see job_remove). */
void
job_free(struct job *j)
{
	int	 i;

	if (j == NULL)
		return;
	ev_timer_stop(loop, &j->kill_timer);
	fd_free(j);
	for (i = 0; i < j->ntasks; i++)
		task_clear(&j->tasks[i]);
	free(j->tasks);
	free(j->name);
	free(j);
}

struct job *
job_find(const char *name)
{
	struct hnode	*n;
	struct job	*j;

	for (n = hash_first(&jobs_by_name, hash_str(name)); n != NULL;
	    n = hash_next(n)) {
		j = container_of(n, struct job, namenode);
		if (strcmp(j->name, name) == 0)
			return j;
	}
	return NULL;
}

static struct task *
task_find(pid_t pid)
{
	struct hnode	*n;
	struct task	*t;

	for (n = hash_first(&tasks_by_pid, hash_int((uint64_t)pid));
	    n != NULL; n = hash_next(n)) {
		t = container_of(n, struct task, pidnode);
		if (t->pid == pid)
			return t;
	}
	return NULL;
}

int
job_active(const struct job *j)
{
	return j->state == JOB_RUNNING || j->state == JOB_STOPPING;
}

unsigned
job_unfinished(void)
{
	return counts[JOB_RUNNING] + counts[JOB_STOPPING];
}

void
job_counts(unsigned *running, unsigned *stopping, unsigned *exited,
    unsigned *failed)
{
	*running = counts[JOB_RUNNING];
	*stopping = counts[JOB_STOPPING];
	*exited = counts[JOB_EXITED];
	*failed = counts[JOB_FAILED];
}

static void
set_state(struct job *j, enum job_state s)
{
	counts[j->state]--;
	j->state = s;
	counts[s]++;
}

/* Users and groups are looked up at PUT: before the job replaces any. */
int
job_prepare(struct job *j, struct jerr *e)
{
	int	 i;

	for (i = 0; i < j->ntasks; i++)
		if (spawn_resolve(&j->tasks[i], e) == -1)
			return -1;
	return 0;
}

void
job_insert(struct job *j)
{
	if (hash_insert(&jobs_by_name, &j->namenode, hash_str(j->name)) == -1)
		fatal("job table");
	TAILQ_INSERT_TAIL(&alljobs, j, entry);
	j->state = JOB_RUNNING;
	counts[JOB_RUNNING]++;
}

/* Forget a job that is not active: out of every table, then freed. */
void
job_remove(struct job *j)
{
	hash_remove(&jobs_by_name, &j->namenode);
	TAILQ_REMOVE(&alljobs, j, entry);
	if (!job_active(j)) {
		TAILQ_REMOVE(&finished, j, fentry);
		nfinished--;
	}
	counts[j->state]--;
	job_free(j);
}

/*
 * The job has run its course. Its held fds are closed, ?wait= requests
 * answered, and the oldest finished jobs forgotten beyond --keep-finished
 * (never this one, which a caller may still be answering about).
 */
static void
job_end(struct job *j, enum job_state s)
{
	struct job_watch	*w;
	struct job		*old;

	set_state(j, s);
	ev_timer_stop(loop, &j->kill_timer);
	fd_release(j);
	TAILQ_INSERT_TAIL(&finished, j, fentry);
	nfinished++;
	log_info("job %s: %s", j->name, job_state_name(s));
	/* Each watch fires once; a callback may unwatch others. */
	while ((w = LIST_FIRST(&j->watches)) != NULL) {
		LIST_REMOVE(w, entry);
		w->job = NULL;
		w->cb(j, w->arg);
	}
	if (j->forget) {
		job_remove(j);
	} else {
		while (nfinished > conf.keep_finished &&
		    (old = TAILQ_FIRST(&finished)) != j)
			job_remove(old);
	}
	if (shutting_down && job_unfinished() == 0)
		ev_break(loop, EVBREAK_ALL);
}

/*
 * Watch a job: cb(job, arg) runs once, when the job ends (the way tmux's
 * job.c calls its caller's completecb). The watch belongs to the caller.
 */
void
job_watch(struct job *j, struct job_watch *w, void (*cb)(struct job *,
    void *), void *arg)
{
	w->job = j;
	w->cb = cb;
	w->arg = arg;
	LIST_INSERT_HEAD(&j->watches, w, entry);
}

void
job_unwatch(struct job_watch *w)
{
	if (w->job == NULL)
		return;
	LIST_REMOVE(w, entry);
	w->job = NULL;
}

/* Job names: 1-64 of A-Z a-z 0-9 _ . @ -, not starting with . or -. */
int
job_valid_name(const char *s)
{
	size_t	 n;

	if (s[0] == '.' || s[0] == '-')
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '_' || s[n] == '.' || s[n] == '@' || s[n] == '-'))
			return 0;
	}
	return n >= 1 && n <= JOBD_NAME_MAX;
}

/* Tasks after i will never run. */
static void
rest(struct job *j, int i, enum task_state s)
{
	for (i++; i < j->ntasks; i++)
		j->tasks[i].state = s;
}

/*
 * Why a job could not start, in jobd's log. The message quotes what the
 * client sent (a program, a PATH, a path): escaped, so that it cannot
 * forge or split a log line.
 */
static void
log_failure(const struct job *j, const char *text)
{
	char	 msg[4096];

	log_escape(msg, sizeof(msg), text, strlen(text));
	log_warnx("job %s: %s", j->name, msg);
}

/*
 * Task i could not start: it failed with e, the rest are skipped and the
 * job ends as failed. At PUT (undo), what the PUT created is removed.
 */
static int
start_failed(struct job *j, int i, struct jerr *e, int undo)
{
	struct task	*t = &j->tasks[i];
	char		 text[sizeof(e->msg) + sizeof(e->path) + 2];

	err_text(e, text, sizeof(text));
	j->cur = i;
	t->state = TASK_FAILED;
	if (t->started == 0)
		t->started = now_ms();
	t->ended = t->started;
	free(t->error);
	t->error = strdup(text);
	log_failure(j, text);
	for (i = 0; i < j->ntasks; i++)
		if (j->tasks[i].state == TASK_PENDING)
			j->tasks[i].state = TASK_SKIPPED;
	if (undo)
		fd_undo(j);
	job_end(j, JOB_FAILED);
	return -1;
}

/* Start task i; if it cannot start, the job ends as failed. */
static int
task_start(struct job *j, int i, struct jerr *e)
{
	struct task	*t = &j->tasks[i], *prev;
	char		 last[32], *lastp = NULL;
	pid_t		 pid;

	j->cur = i;
	if (i > 0) {
		prev = &j->tasks[i - 1];
		if (prev->state == TASK_KILLED)
			snprintf(last, sizeof(last), "SIG%s",
			    sig_name(prev->signal));
		else
			snprintf(last, sizeof(last), "%d", prev->exit_code);
		lastp = last;
	}
	t->started = now_ms();
	if ((pid = spawn_task(t, lastp, e)) == -1)
		return start_failed(j, i, e, i == 0);
	t->pid = pid;
	t->state = TASK_RUNNING;
	if (hash_insert(&tasks_by_pid, &t->pidnode, hash_int((uint64_t)pid))
	    == -1)
		fatal("task table");
	log_info("job %s: task %d started: %s (pid %d)", j->name, i, t->exec,
	    (int)pid);
	return 0;
}

/*
 * Take what the job holds and start its first task. On failure the job
 * is failed (and stays visible as such) and e holds the 422 error.
 */
int
job_start(struct job *j, struct jerr *e)
{
	if (fd_hold(j, e) == -1)
		return start_failed(j, e->task >= 0 ? e->task : 0, e, 1);
	return task_start(j, 0, e);
}

static void
task_exited(struct task *t, int status)
{
	struct job	*j = t->job;
	struct jerr	 e;

	hash_remove(&tasks_by_pid, &t->pidnode);
	t->ended = now_ms();
	if (WIFSIGNALED(status)) {
		t->state = TASK_KILLED;
		t->signal = WTERMSIG(status);
		log_info("job %s: task %d killed by SIG%s", j->name, t->index,
		    sig_name(t->signal));
	} else {
		t->state = TASK_EXITED;
		t->exit_code = WEXITSTATUS(status);
		log_info("job %s: task %d exited with %d", j->name, t->index,
		    t->exit_code);
	}
	if (j->state == JOB_STOPPING) {
		/* Whatever the leader left in its group goes too. */
		kill(-t->pid, SIGKILL);
		rest(j, t->index, TASK_CANCELLED);
		job_end(j, JOB_EXITED);
	} else if (t->index + 1 < j->ntasks)
		task_start(j, t->index + 1, &e);
	else
		job_end(j, JOB_EXITED);
}

static void
reaped(pid_t pid, int status)
{
	struct task	*t;

	if ((WIFEXITED(status) || WIFSIGNALED(status)) &&
	    (t = task_find(pid)) != NULL)
		task_exited(t, status);
}

/*
 * Reap the child a SIGCHLD named. waitpid(-1) walks every child of jobd's
 * in the kernel, which costs a millisecond with 10,000 of them; a pid is
 * found at once.
 */
void
job_reap_pid(pid_t pid)
{
	int	 status;

	if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid)
		reaped(pid, status);
}

unsigned
job_running_tasks(void)
{
	return (unsigned)tasks_by_pid.n;
}

/*
 * Reap every child that has exited: those whose SIGCHLD merged with
 * another's while it was pending, and orphans adopted as subreaper.
 */
void
job_reap(void)
{
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		reaped(pid, status);
	if (pid == -1 && errno != ECHILD && errno != EINTR)
		log_warn("waitpid");
}

static void
kill_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct job	*j = w->data;
	struct task	*t = &j->tasks[j->cur];

	if (t->state == TASK_RUNNING) {
		log_info("job %s: stop timeout, killing process group %d",
		    j->name, (int)t->pid);
		kill(-t->pid, SIGKILL);
	}
}

/*
 * DELETE: SIGTERM to the running task's process group and SIGKILL after
 * stop_timeout; no further task starts and the job is forgotten once it
 * has ended. Returns 1 if it is stopping, 0 if it was forgotten at once.
 */
int
job_stop(struct job *j)
{
	struct task	*t = &j->tasks[j->cur];

	if (!job_active(j)) {
		job_remove(j);
		return 0;
	}
	j->forget = 1;
	if (j->state == JOB_STOPPING)
		return 1;
	set_state(j, JOB_STOPPING);
	log_info("job %s: stopping process group %d", j->name, (int)t->pid);
	kill(-t->pid, SIGTERM);
	kill(-t->pid, SIGCONT);
	ev_timer_set(&j->kill_timer, j->stop_timeout, 0.);
	ev_timer_start(loop, &j->kill_timer);
	return 1;
}

/* Signal the running task's process group; -1 if nothing runs. */
int
job_signal(struct job *j, int sig)
{
	struct task	*t = &j->tasks[j->cur];

	if (!job_active(j) || t->state != TASK_RUNNING) {
		errno = ESRCH;
		return -1;
	}
	log_info("job %s: SIG%s to process group %d", j->name, sig_name(sig),
	    (int)t->pid);
	return kill(-t->pid, sig);
}

/* Shutdown: stop every job as DELETE does; force sends SIGKILL. */
void
job_stop_all(int force)
{
	struct job	*j, *next;
	struct task	*t;

	TAILQ_FOREACH_SAFE(j, &alljobs, entry, next) {
		if (!job_active(j))
			continue;
		t = &j->tasks[j->cur];
		if (force) {
			if (t->state == TASK_RUNNING)
				kill(-t->pid, SIGKILL);
		} else if (j->state == JOB_RUNNING)
			job_stop(j);
	}
}

static int
byname(const void *a, const void *b)
{
	return strcmp((*(struct job *const *)a)->name,
	    (*(struct job *const *)b)->name);
}

/* Every job, sorted by name; the caller frees the array. */
size_t
job_list(struct job ***out)
{
	struct job	**v, *j;
	size_t		  n = 0;

	if ((v = calloc(jobs_by_name.n + 1, sizeof(*v))) == NULL) {
		*out = NULL;
		return 0;
	}
	TAILQ_FOREACH(j, &alljobs, entry)
		v[n++] = j;
	qsort(v, n, sizeof(*v), byname);
	*out = v;
	return n;
}

/* At exit, so that leak checkers see a clean heap. */
void
job_free_all(void)
{
	struct job	*j;

	while ((j = TAILQ_FIRST(&alljobs)) != NULL) {
		if (job_active(j)) {
			TAILQ_INSERT_TAIL(&finished, j, fentry);
			nfinished++;
			set_state(j, JOB_EXITED);
		}
		job_remove(j);
	}
	free(jobs_by_name.b);
	free(tasks_by_pid.b);
	memset(&jobs_by_name, 0, sizeof(jobs_by_name));
	memset(&tasks_by_pid, 0, sizeof(tasks_by_pid));
}
