/*
 * job.c: jobs and their tasks. The job table (by name) and the task table
 * (by pid), the states and the one place where they change: a task
 * starts, a task ends, a job ends. Tasks of a job run one after another.
 */
#include "config.h"

#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobd.h"

static struct htab		 jobs_by_name;
static struct htab		 tasks_by_pid;
static TAILQ_HEAD(, job)	 alljobs = TAILQ_HEAD_INITIALIZER(alljobs);
static TAILQ_HEAD(, job)	 finished = TAILQ_HEAD_INITIALIZER(finished);
static TAILQ_HEAD(, job)	 dirty = TAILQ_HEAD_INITIALIZER(dirty);
static unsigned			 nfinished;
static unsigned			 counts[JOB_FAILED + 1];

static const char *const job_states[] = {
	"running", "stopping", "exited", "failed"
};
static const char *const task_states[] = {
	"pending", "running", "exited", "killed", "failed", "skipped",
	"cancelled", "lost"
};

static void	kill_cb(struct ev_loop *, ev_timer *, int);
static void	job_cgroup_done(struct job *);
static void	task_exited(struct task *, int);
static int	task_start(struct job *, int, struct jerr *, int);

static unsigned	 recovered;		/* jobs adopted at start */
static uint64_t	 tasks_started, tasks_failed;
/* Task ends: exit 0, exit other, killed by a signal, lost. */
static uint64_t	 exits[4];

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
	j->cgwd = -1;
	LIST_INIT(&j->watches);
	ev_init(&j->kill_timer, kill_cb);
	j->kill_timer.data = j;
	return j;
}

/* What a task needs to start, not what its status shows. */
static void
task_compact(struct task *t)
{
	char	**p;
	int	  i;

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
	for (i = 0; t->hide != NULL && t->hide[i] != NULL; i++)
		free(t->hide[i]);
	for (i = 0; t->readonly != NULL && t->readonly[i] != NULL; i++)
		free(t->readonly[i]);
	free(t->hide);
	free(t->readonly);
	t->hide = t->readonly = NULL;
	t->cwd = t->user = t->group = NULL;
	t->argv = t->envs = NULL;
	t->groups = NULL;
	t->fds = NULL;
	t->nfds = 0;
	t->nenvs = 0;
}

static void
task_clear(struct task *t)
{
	task_compact(t);
	if (t->pidfd != -1) {
		ev_io_stop(loop, &t->pidio);
		close(t->pidfd);
		t->pidfd = -1;
	}
	free(t->exec);
	free(t->error);
}

/* Frees a job that is in no table (see job_remove). */
void
job_free(struct job *j)
{
	int	 i;

	if (j == NULL)
		return;
	if (j->dirty)
		TAILQ_REMOVE(&dirty, j, dentry);
	ev_timer_stop(loop, &j->kill_timer);
	log_close(j);
	free(j->cg_memory_max);
	free(j->cg_pids_max);
	free(j->cg_cpu_max);
	fd_free(j);
	for (i = 0; i < j->ntasks; i++)
		task_clear(&j->tasks[i]);
	free(j->tasks);
	free(j->body);
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

static void	job_drop(struct job *);

/*
 * Forget a job that is not active: out of every table and the state
 * directory, then freed.
 */
void
job_remove(struct job *j)
{
	store_remove(j->name);
	log_remove(j);
	cgroup_remove(j);
	event_job(j, "forgotten");
	job_drop(j);
}

/* Out of every table and freed; its file stays (jobd is exiting). */
static void
job_drop(struct job *j)
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

/* The job's file, now: a change is on disk before anyone is told of it. */
static int
save(struct job *j)
{
	if (j->dirty) {
		TAILQ_REMOVE(&dirty, j, dentry);
		j->dirty = 0;
	}
	if (store_save(j) == -1) {
		log_warn("job %s: cannot save its state in %s", j->name,
		    store_dir());
		return -1;
	}
	return 0;
}

/* Clock ticks since boot, the unit of a process's start time in /proc. */
static uint64_t
now_ticks(void)
{
	static long	 hz;
	struct timespec	 ts;

	if (hz == 0 && (hz = sysconf(_SC_CLK_TCK)) <= 0)
		hz = 100;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) /
	    (1000000000ULL / (uint64_t)hz);
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
	int			 i;

	set_state(j, s);
	ev_timer_stop(loop, &j->kill_timer);
	/* An empty cgroup goes; one that holds leftovers stays till DELETE. */
	if (j->cgroup && !cgroup_populated(j))
		cgroup_remove(j);
	event_job(j, job_state_name(s));
	log_job_ended(j);
	fd_release(j);
	/*
	 * A finished job keeps what its status shows: the definitions of
	 * its tasks and its PUT body go (a finished job costs its status).
	 */
	for (i = 0; i < j->ntasks; i++)
		task_compact(&j->tasks[i]);
	free(j->body);
	j->body = NULL;
	j->bodylen = 0;
	if (!j->forget)
		save(j);
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
	for (i++; i < j->ntasks; i++) {
		j->tasks[i].state = s;
		event_task(&j->tasks[i], task_state_name(s));
	}
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
	tasks_failed++;
	event_task(t, "failed");
	for (i = 0; i < j->ntasks; i++)
		if (j->tasks[i].state == TASK_PENDING) {
			j->tasks[i].state = TASK_SKIPPED;
			event_task(&j->tasks[i], "skipped");
		}
	if (undo)
		fd_undo(j);
	job_end(j, JOB_FAILED);
	return -1;
}

/* The job could not be saved at PUT: it never existed. */
static void
job_discard(struct job *j)
{
	fd_undo(j);
	set_state(j, JOB_EXITED);
	TAILQ_INSERT_TAIL(&finished, j, fentry);
	nfinished++;
	job_remove(j);
}

/*
 * Start task i; if it cannot start, the job ends as failed. It is saved
 * as starting first and its child writes its pid in spawn.log before
 * exec, so a jobd killed at any instant knows whether it started. At PUT
 * a job that cannot be saved is refused (503) and forgotten.
 */
static int
task_start(struct job *j, int i, struct jerr *e, int put)
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
		else if (prev->state == TASK_LOST)
			snprintf(last, sizeof(last), "LOST");
		else
			snprintf(last, sizeof(last), "%d", prev->exit_code);
		lastp = last;
	}
	t->started = now_ms();
	t->starting = 1;
	t->tick_lo = now_ticks();
	if (save(j) == -1 && put) {
		err_set(e, 503, -1, -1, NULL, "cannot save the job in the "
		    "state directory %s: %s", store_dir(), strerror(errno));
		job_discard(j);
		return -1;
	}
	if (log_prepare(j, i, e) == -1) {
		t->starting = 0;
		return start_failed(j, i, e, put);
	}
	pid = spawn_task(t, lastp, e);
	t->starting = 0;
	log_spawned(j, i, pid);
	if (pid == -1)
		return start_failed(j, i, e, put);
	t->tick_hi = now_ticks();
	t->pid = pid;
	t->state = TASK_RUNNING;
	if (hash_insert(&tasks_by_pid, &t->pidnode, hash_int((uint64_t)pid))
	    == -1)
		fatal("task table");
	log_info("job %s: task %d started: %s (pid %d)", j->name, i, t->exec,
	    (int)pid);
	tasks_started++;
	event_task(t, "started");
	if (i == 0)
		event_job(j, "started");
	/*
	 * Saved as running at the end of this loop iteration (job_persist),
	 * with every other change of it: until then the spawn log holds its
	 * pid, and a jobd killed meanwhile finds it there.
	 */
	if (!j->dirty) {
		j->dirty = 1;
		TAILQ_INSERT_TAIL(&dirty, j, dentry);
	}
	return 0;
}

/*
 * Take what the job holds and start its first task. On failure the job
 * is failed (and stays visible as such) and e holds the 422 error; or,
 * if it cannot be saved, e holds a 503 and the job is gone.
 */
int
job_start(struct job *j, struct jerr *e)
{
	event_job(j, "created");
	if (cgroup_check(j, e) == -1 || fd_hold(j, e) == -1 ||
	    log_open(j, e) == -1 || cgroup_open(j, 1, e) == -1)
		return start_failed(j, e->task >= 0 ? e->task : 0, e, 1);
	fd_store(j);
	return task_start(j, 0, e, 1);
}

/* The task ended (or is lost): the next one starts, or the job ends. */
static void
task_done(struct task *t)
{
	struct job	*j = t->job;
	struct jerr	 e;

	log_task_ended(j, t->index);
	if (j->state == JOB_STOPPING) {
		/* Whatever the leader left in its group (and cgroup) goes. */
		if (t->pid > 0)
			kill(-t->pid, SIGKILL);
		rest(j, t->index, TASK_CANCELLED);
		cgroup_kill(j);
		if (cgroup_populated(j)) {
			/* It ends once nothing of it is left. */
			j->cgwait = 1;
			ev_timer_stop(loop, &j->kill_timer);
			ev_timer_set(&j->kill_timer, 0.2, 0.2);
			ev_timer_start(loop, &j->kill_timer);
			return;
		}
		job_end(j, JOB_EXITED);
	} else if (t->index + 1 < j->ntasks)
		task_start(j, t->index + 1, &e, 0);
	else
		job_end(j, JOB_EXITED);
}

static void
task_exited(struct task *t, int status)
{
	struct job	*j = t->job;

	hash_remove(&tasks_by_pid, &t->pidnode);
	t->ended = now_ms();
	if (WIFSIGNALED(status)) {
		t->state = TASK_KILLED;
		t->signal = WTERMSIG(status);
		log_info("job %s: task %d killed by SIG%s", j->name, t->index,
		    sig_name(t->signal));
		exits[2]++;
		event_task(t, "killed");
	} else {
		t->state = TASK_EXITED;
		t->exit_code = WEXITSTATUS(status);
		log_info("job %s: task %d exited with %d", j->name, t->index,
		    t->exit_code);
		exits[t->exit_code != 0]++;
		event_task(t, "exited");
	}
	task_done(t);
}

/*
 * Nobody can tell how the task ended: it is lost (the reason in its
 * error), and the chain goes on with _LAST_EXIT=LOST.
 */
static void
task_lost(struct task *t, const char *why)
{
	struct job	*j = t->job;

	if (t->state == TASK_RUNNING)
		hash_remove(&tasks_by_pid, &t->pidnode);
	t->state = TASK_LOST;
	t->ended = now_ms();
	free(t->error);
	t->error = strdup(why);
	log_warnx("job %s: task %d (pid %d) lost: %s", j->name, t->index,
	    (int)t->pid, why);
	exits[3]++;
	event_task(t, "lost");
	task_done(t);
}

/* The wait status a siginfo of waitid describes. */
static int
wstatus(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return (si->si_status & 0xff) << 8;
	return (si->si_status & 0x7f) | (si->si_code == CLD_DUMPED ? 0x80 : 0);
}

/*
 * A child has exited. Its status is read without reaping it (WNOWAIT),
 * recorded and saved, and only then reaped: a jobd killed in between
 * leaves a zombie that jobinit reaps and relays, so no exit is ever lost.
 */
static void
reaped(pid_t pid, const siginfo_t *si)
{
	struct task	*t;

	if ((t = task_find(pid)) != NULL && !t->adopted)
		task_exited(t, wstatus(si));
	while (waitpid(pid, NULL, WNOHANG) == -1 && errno == EINTR)
		;
}

/*
 * Reap the child a SIGCHLD named. waitpid(-1) walks every child of jobd's
 * in the kernel, which costs a millisecond with 10,000 of them; a pid is
 * found at once.
 */
void
job_reap_pid(pid_t pid)
{
	siginfo_t	 si;

	si.si_pid = 0;
	if (pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG |
	    WNOWAIT) == 0 && si.si_pid == pid)
		reaped(pid, &si);
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
	siginfo_t	 si;

	for (;;) {
		si.si_pid = 0;
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_warn("waitid");
			return;
		}
		if (si.si_pid == 0)
			return;
		reaped(si.si_pid, &si);
	}
}

/*
 * jobinit reaped pid (a task jobd adopted after a restart, or one whose
 * zombie a killed jobd left) and relays its status.
 */
void
job_relayed(pid_t pid, int status)
{
	struct task	*t;

	if ((t = task_find(pid)) != NULL && (t->adopted || t->awaiting)) {
		t->awaiting = 0;
		task_exited(t, status);
	}
}

static void
kill_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct job	*j = w->data;
	struct task	*t = &j->tasks[j->cur];

	if (j->cgwait) {
		/* Its cgroup still holds processes: until it is empty. */
		if (cgroup_populated(j))
			cgroup_kill(j);
		else
			job_cgroup_done(j);
		return;
	}
	if (t->state == TASK_RUNNING) {
		log_info("job %s: stop timeout, killing process group %d",
		    j->name, (int)t->pid);
		kill(-t->pid, SIGKILL);
		cgroup_kill(j);
	}
}

/* A stopped job's cgroup is empty at last: it has ended. */
static void
job_cgroup_done(struct job *j)
{
	j->cgwait = 0;
	ev_timer_stop(loop, &j->kill_timer);
	job_end(j, JOB_EXITED);
}

/* cgroup.c saw the cgroup.events of watch wd change. */
void
job_cgroup_changed(int wd)
{
	struct job	*j;

	TAILQ_FOREACH(j, &alljobs, entry)
		if (j->cgwd == wd) {
			if (j->cgwait && !cgroup_populated(j))
				job_cgroup_done(j);
			return;
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
	event_job(j, "stopping");
	log_info("job %s: stopping process group %d", j->name, (int)t->pid);
	kill(-t->pid, SIGTERM);
	kill(-t->pid, SIGCONT);
	ev_timer_set(&j->kill_timer, j->stop_timeout, 0.);
	ev_timer_start(loop, &j->kill_timer);
	save(j);
	return 1;
}

/* DELETE: the job is stopped if it runs, and forgotten. */
int
job_delete(struct job *j)
{
	if (!j->forget || !job_active(j))
		event_job(j, "deleted");
	return job_stop(j);
}

/* For the metrics: tasks started, failed to start, and exits by class. */
void
job_stats(uint64_t *nstarted, uint64_t *failed, uint64_t *ex)
{
	*nstarted = tasks_started;
	*failed = tasks_failed;
	memcpy(ex, exits, sizeof(exits));
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
			cgroup_kill(j);
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
		job_drop(j);
	}
	free(jobs_by_name.b);
	free(tasks_by_pid.b);
	memset(&jobs_by_name, 0, sizeof(jobs_by_name));
	memset(&tasks_by_pid, 0, sizeof(tasks_by_pid));
}

unsigned
job_recovered(void)
{
	return recovered;
}

/* A process's start time in clock ticks since boot (/proc/PID/stat). */
static int
proc_start(pid_t pid, uint64_t *ticks, pid_t *ppid)
{
	char		 path[64], buf[1024], *p;
	unsigned long long st;
	ssize_t		 n;
	int		 fd, i, pp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* After the command's ')': state ppid ... field 22 is starttime. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %d", &pp) != 1)
		return -1;
	for (i = 0; i < 20 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &st) != 1)
		return -1;
	*ticks = st;
	*ppid = pp;
	return 0;
}

/* An adopted task that nobody relays: its pidfd says when it is gone. */
static void
pidfd_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct task	*t = w->data;

	ev_io_stop(loop, &t->pidio);
	close(t->pidfd);
	t->pidfd = -1;
	task_lost(t, "it ended while jobd was not its parent and no jobinit "
	    "was there to tell its exit status");
	job_persist();
}

/*
 * Is task t's process still the one jobd started? Its pid must exist
 * (a pidfd holds it from here on) and have started when jobd started it:
 * a pid reused by another process is never adopted.
 */
static int
task_alive(struct task *t)
{
	uint64_t	 ticks, lo = t->tick_lo, hi = t->tick_hi;
	pid_t		 ppid;
	int		 fd;

	if (t->pid <= 0 ||
	    (fd = (int)syscall(SYS_pidfd_open, t->pid, 0)) == -1)
		return 0;
	if (hi < lo)
		hi = lo + 1000;	/* started from spawn.log: 10 s at most */
	if (proc_start(t->pid, &ticks, &ppid) == -1 || ticks + 1 < lo ||
	    ticks > hi + 1) {
		close(fd);
		return 0;
	}
	t->adopted = ppid != getpid();
	if (t->adopted && !ctl_active()) {
		t->pidfd = fd;
		ev_io_init(&t->pidio, pidfd_cb, fd, EV_READ);
		t->pidio.data = t;
		ev_io_start(loop, &t->pidio);
	} else
		close(fd);
	return 1;
}

static void
await_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct job	*j, *next;
	struct task	*t;

	TAILQ_FOREACH_SAFE(j, &alljobs, entry, next) {
		if (!job_active(j))
			continue;
		t = &j->tasks[j->cur];
		if (t->state == TASK_RUNNING && t->awaiting) {
			t->awaiting = 0;
			task_lost(t, "it ended while jobd was down and jobinit "
			    "did not relay its exit status");
		}
	}
	job_persist();
	free(w);
}

/*
 * At start: every job of the state directory again. Finished ones are
 * shown as they were; a running task still alive is adopted; one that
 * ended meanwhile gets the status jobinit relayed (exits, from ctl_open)
 * and its chain goes on; a task saved as starting is found by the pid
 * its child wrote, or never started and starts now. Tasks nobody can
 * account for are lost. Returns how many jobs were active.
 */
int
job_load(void)
{
	struct job	*j;
	char		**files, err[256];
	size_t		 nfiles, i, len;
	char		*text;

	if (store_list(&files, &nfiles) == -1) {
		log_warn("%s/jobs", store_dir());
		return -1;
	}
	for (i = 0; i < nfiles; i++) {
		if ((text = store_read(files[i], &len)) == NULL) {
			log_warn("%s/%s", store_dir(), files[i]);
			free(files[i]);
			continue;
		}
		if ((j = json_load_job(text, len, err, sizeof(err))) == NULL)
			store_set_aside(files[i], err);
		else if (job_find(j->name) != NULL) {
			store_set_aside(files[i], "a second file for its job");
			job_free(j);
		} else {
			if (hash_insert(&jobs_by_name, &j->namenode,
			    hash_str(j->name)) == -1)
				fatal("job table");
			TAILQ_INSERT_TAIL(&alljobs, j, entry);
			counts[j->state]++;
			if (!job_active(j)) {
				TAILQ_INSERT_TAIL(&finished, j, fentry);
				nfinished++;
			}
		}
		free(text);
		free(files[i]);
	}
	free(files);
	return 0;
}

/*
 * Then, once the held fds are back (job_take_fd), each active job's
 * current task is accounted for; rel holds the exits jobinit kept.
 */
unsigned
job_adopt(const struct relayed *rel, size_t nrel)
{
	struct job	*j, *next;
	struct task	*t;
	struct jerr	 e;
	size_t		 k;
	int		 waiting = 0, start;

	/*
	 * First every task saved as starting whose child got to exec (its
	 * pid is in the spawn log) is saved as running: the log is emptied
	 * by the next start, and must not take a record still needed.
	 */
	TAILQ_FOREACH(j, &alljobs, entry) {
		t = &j->tasks[j->cur];
		if (!job_active(j) || !t->starting ||
		    (t->pid = store_spawn_find(j->name, t->index)) <= 0)
			continue;
		t->starting = 0;
		t->state = TASK_RUNNING;
		(void)save(j);
	}
	TAILQ_FOREACH_SAFE(j, &alljobs, entry, next) {
		if (!job_active(j))
			continue;
		recovered++;
		if (job_prepare(j, &e) == -1)
			log_warnx("job %s: %s", j->name, e.msg);
		log_resume(j);
		(void)cgroup_open(j, 0, &e);
		t = &j->tasks[j->cur];
		start = 0;
		if (t->starting) {
			/* Saved as starting, its child never got to exec. */
			t->starting = 0;
			start = 1;
		}
		if (t->state == TASK_RUNNING && hash_insert(&tasks_by_pid,
		    &t->pidnode, hash_int((uint64_t)t->pid)) == -1)
			fatal("task table");
		if (start) {
			log_info("job %s: task %d never started: starting it",
			    j->name, t->index);
			task_start(j, t->index, &e, 0);
			continue;
		}
		if (t->state != TASK_RUNNING)
			continue;
		if (task_alive(t)) {
			log_info("job %s: task %d (pid %d) adopted", j->name,
			    t->index, (int)t->pid);
			if (j->state == JOB_STOPPING) {
				kill(-t->pid, SIGTERM);
				ev_timer_set(&j->kill_timer, j->stop_timeout,
				    0.);
				ev_timer_start(loop, &j->kill_timer);
			}
			continue;
		}
		for (k = nrel; k > 0; k--)
			if (rel[k - 1].pid == t->pid)
				break;
		if (k > 0) {
			t->adopted = 1;
			log_info("job %s: task %d (pid %d) ended while jobd was "
			    "down", j->name, t->index, (int)t->pid);
			job_relayed(t->pid, rel[k - 1].status);
		} else if (ctl_active()) {
			/* Its exit may be on its way from jobinit. */
			t->awaiting = 1;
			waiting = 1;
		} else
			task_lost(t, "it ended while jobd was down, and without "
			    "jobinit nobody kept its exit status");
	}
	if (waiting) {
		ev_timer	*w;

		if ((w = calloc(1, sizeof(*w))) != NULL) {
			ev_timer_init(w, await_cb, 5., 0.);
			ev_timer_start(loop, w);
		}
	}
	job_persist();
	return recovered;
}

/*
 * Once per loop iteration: the jobs whose tasks started are saved, then
 * the spawn log, whose records they now hold, is emptied.
 */
void
job_persist(void)
{
	struct job	*j;
	int		 ok = 1;

	while ((j = TAILQ_FIRST(&dirty)) != NULL)
		if (save(j) == -1)
			ok = 0;
	if (ok)
		store_spawn_done();
}

/* Held fd named name (from jobinit's store or a re-exec) back to its job. */
int
job_take_fd(const char *name, int fd)
{
	char		 jobname[JOBD_NAME_MAX + 1];
	struct job	*j;
	int		 k;

	if (sscanf(name, "s%d.%64s", &k, jobname) != 2 ||
	    (j = job_find(jobname)) == NULL || !job_active(j))
		return -1;
	fd_take(j, k, fd);
	return 0;
}

/* Re-exec: every fd jobd holds for jobs, with its store name. */
size_t
job_held_fds(int **fds, char ***names)
{
	struct job	*j;
	size_t		 n = 0, cap = 0;
	int		 i;
	char		 name[128];

	*fds = NULL;
	*names = NULL;
	TAILQ_FOREACH(j, &alljobs, entry) {
		for (i = 0; i < j->nsocks; i++) {
			if (j->socks[i].ls.fd == -1)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				*fds = reallocarray(*fds, cap, sizeof(int));
				*names = reallocarray(*names, cap,
				    sizeof(char *));
				if (*fds == NULL || *names == NULL)
					fatal("re-exec");
			}
			fd_store_name(j, i, name, sizeof(name));
			(*fds)[n] = j->socks[i].ls.fd;
			(*names)[n++] = strdup(name);
		}
	}
	return n;
}
