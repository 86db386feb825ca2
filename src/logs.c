/*
 * logs.c: what tasks write on their log fds, kept per job as a record
 * log (rlog.c) in logs/<job> under the state directory.
 *
 * Each log fd is a pipe whose read end jobd holds (non-blocking, in
 * jobinit's store like the job's other fds, so a restarted jobd reads on
 * where the last one stopped). Lines become records of the job's log,
 * named by their stream. A line not yet ended is written after the last
 * record as a pending record at each flush: it is what a jobd killed at
 * that instant would have lost, and the next jobd gives it back to its
 * pipe. Records are batched: one write per drain of a pipe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd.h"

#define DRAIN_MAX	(256 * 1024)	/* per pipe and loop iteration */
#define PIPE_SIZE	(1024 * 1024)
#define STREAM_MAX	32

/* A log fd's read end, drained into its job's log. */
struct logpipe {
	struct joblog		*lg;
	struct jsock		*s;
	int			 task;
	int			 fdnum;
	char			 stream[STREAM_MAX + 1];
	ev_io			 io;
	char			*tail;		/* a line not yet ended */
	size_t			 taillen;
	LIST_ENTRY(logpipe)	 entry;
};

struct joblog {
	struct rlog		 rl;
	struct job		*job;
	LIST_HEAD(, logpipe)	 pipes;
};

static int	 rootfd = -1;
static char	 rootpath[PATH_MAX];
static uint64_t	 written, dropped;	/* by logs now closed */

static void	 pipe_cb(struct ev_loop *, ev_io *, int);

/* logs/ in the state directory (or jobd's own without one). */
static int
root(void)
{
	if (rootfd == -1)
		rootfd = rlog_dir("logs", rootpath, sizeof(rootpath));
	return rootfd;
}

static struct logpipe *
pipe_find(struct joblog *lg, int task, int fdnum)
{
	struct logpipe	*lp;

	LIST_FOREACH(lp, &lg->pipes, entry)
		if (lp->task == task && lp->fdnum == fdnum)
			return lp;
	return NULL;
}

static int
tail_add(struct logpipe *lp, const char *p, size_t n)
{
	if (lp->tail == NULL && (lp->tail = malloc(JOBD_LOG_LINE)) == NULL)
		return -1;
	if (n > JOBD_LOG_LINE - lp->taillen)
		n = JOBD_LOG_LINE - lp->taillen;
	memcpy(lp->tail + lp->taillen, p, n);
	lp->taillen += n;
	return 0;
}

/* Each pipe's line not yet ended, as a pending record: at every flush. */
static void
pending(struct rlog *rl, struct buf *b)
{
	struct joblog	*lg = container_of(rl, struct joblog, rl);
	struct logpipe	*lp;

	LIST_FOREACH(lp, &lg->pipes, entry)
		if (lp->taillen > 0)
			rlog_rec(b, 0, RLOG_PENDING, lp->task, lp->fdnum,
			    lp->stream, 0, lp->tail, lp->taillen, NULL, 0);
}

/*
 * The job's log, opened (and made, if make) with what is on disk; a job
 * without one has an empty log in memory, for readers to wait on.
 * Pending lines found go to pend.
 */
static struct joblog *
joblog_get(struct job *j, int make, struct buf *pend)
{
	struct joblog	*lg;
	struct buf	 none;
	char		 what[96];
	int		 r, fd;

	if (j->log != NULL)
		return j->log;
	if ((lg = calloc(1, sizeof(*lg))) == NULL)
		return NULL;
	snprintf(what, sizeof(what), "log of job %s", j->name);
	rlog_init(&lg->rl, what, j->log_max > 0 ? j->log_max :
	    JOBD_LOG_DEFAULT);
	lg->rl.pending = pending;
	lg->rl.written = &written;
	lg->rl.dropped = &dropped;
	lg->job = j;
	LIST_INIT(&lg->pipes);
	j->log = lg;
	if ((r = root()) == -1)
		return lg;
	if (make && mkdirat(r, j->name, 0700) == -1 && errno != EEXIST)
		log_warn("%s/%s", rootpath, j->name);
	if ((fd = openat(r, j->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		if (errno != ENOENT)
			log_warn("%s/%s", rootpath, j->name);
		return lg;
	}
	memset(&none, 0, sizeof(none));
	if (rlog_load(&lg->rl, fd, pend != NULL ? pend : &none) == -1)
		log_warn("log of job %s", j->name);
	buf_free(&none);
	return lg;
}

/* The job starts: its log begins empty (a job of the same name is gone). */
int
log_open(struct job *j, struct jerr *e)
{
	struct joblog	*lg;

	if (!j->has_log)
		return 0;
	/* What a jobd killed while it forgot a job of that name left. */
	if (j->log == NULL && root() != -1)
		rlog_rmdir(rootfd, j->name);
	if ((lg = joblog_get(j, 1, NULL)) == NULL)
		return err_set(e, 500, -1, -1, NULL, "out of memory");
	if (lg->rl.nsegs == 0)
		return err_set(e, 503, -1, -1, NULL, "cannot keep the job's "
		    "log in %s/%s: %s", rootpath, j->name, strerror(errno));
	return 0;
}

/* A stream's name: 1 to 32 of A-Z a-z 0-9 _ - . (a query value as is). */
int
log_stream_valid(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == STREAM_MAX || !((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return i > 0;
}

/* A log entry's pipe: the task gets wfd, jobd reads ls.fd. */
int
log_pipe(struct jsock *s, char *err, size_t errlen)
{
	int	 p[2];

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	/* Room for bursts while jobd is busy or restarting; best effort. */
	(void)fcntl(p[0], F_SETPIPE_SZ, PIPE_SIZE);
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	s->ls.fd = p[0];
	s->wfd = p[1];
	return 0;
}

/* Bytes read from a log pipe, cut into lines (64 KiB at most each). */
static void
take(struct logpipe *lp, const char *p, size_t n)
{
	struct joblog	*lg = lp->lg;
	const char	*nl;
	size_t		 room, k;

	while (n > 0) {
		room = JOBD_LOG_LINE - lp->taillen;
		if ((nl = memchr(p, '\n', n < room ? n : room)) != NULL) {
			k = (size_t)(nl - p) + 1;
			rlog_add(&lg->rl, 0, lp->task, lp->fdnum, lp->stream, 0,
			    lp->tail, lp->taillen, p, k);
			lp->taillen = 0;
		} else if (n >= room) {
			k = room;
			rlog_add(&lg->rl, RLOG_PARTIAL, lp->task, lp->fdnum,
			    lp->stream, 0, lp->tail, lp->taillen, p, k);
			lp->taillen = 0;
		} else {
			k = n;
			if (tail_add(lp, p, k) == -1) {
				/* No memory for it: the line goes as it is. */
				rlog_add(&lg->rl, RLOG_PARTIAL, lp->task, lp->fdnum,
				    lp->stream, 0, lp->tail, lp->taillen, p,
				    k);
				lp->taillen = 0;
			}
		}
		p += k;
		n -= k;
	}
}

/* A line the task did not end is a record when its pipe is done. */
static void
tail_out(struct logpipe *lp)
{
	if (lp->taillen == 0)
		return;
	rlog_add(&lp->lg->rl, 0, lp->task, lp->fdnum, lp->stream, 0, lp->tail,
	    lp->taillen, NULL, 0);
	lp->taillen = 0;
}

static void
pipe_stop(struct logpipe *lp)
{
	char	 name[128];
	int	 k;

	ev_io_stop(loop, &lp->io);
	LIST_REMOVE(lp, entry);
	if (lp->s != NULL) {
		lp->s->lp = NULL;
		if (lp->s->ls.fd != -1) {
			k = (int)(lp->s - lp->lg->job->socks);
			fd_store_name(lp->lg->job, k, name, sizeof(name));
			ctl_remove(name);
			close(lp->s->ls.fd);
			lp->s->ls.fd = -1;
		}
	}
	free(lp->tail);
	free(lp);
}

/*
 * Read what the pipe holds, up to max bytes; at its end (every writer
 * gone) the last line is a record and the pipe is closed. Returns -1
 * once closed.
 */
static int
drain(struct logpipe *lp, size_t max)
{
	static char	 in[65536];
	size_t		 got = 0;
	ssize_t		 n;

	while (got < max) {
		n = read(lp->s->ls.fd, in, sizeof(in));
		if (n > 0) {
			take(lp, in, (size_t)n);
			got += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n == -1)
			log_warn("log of job %s", lp->lg->job->name);
		tail_out(lp);
		pipe_stop(lp);
		return -1;
	}
	return 0;
}

static void
pipe_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct logpipe	*lp = w->data;
	struct joblog	*lg = lp->lg;

	(void)drain(lp, DRAIN_MAX);
	rlog_flush(&lg->rl);
}

/* Read the log pipe of held fd s from now on; tail: its pending line. */
static void
pipe_attach(struct joblog *lg, struct jsock *s, const char *tail,
    size_t taillen)
{
	struct logpipe	*lp;
	const char	*stream;

	if (s->lp != NULL || s->ls.fd == -1 || s->ls.address == NULL)
		return;
	if ((lp = calloc(1, sizeof(*lp))) == NULL) {
		log_warn("log of job %s", lg->job->name);
		return;
	}
	lp->lg = lg;
	lp->s = s;
	lp->task = s->task;
	lp->fdnum = s->fdnum;
	stream = strchr(s->ls.address + 4, ':');
	snprintf(lp->stream, sizeof(lp->stream), "%s",
	    stream != NULL ? stream + 1 : "fd");
	if (taillen > 0 && tail_add(lp, tail, taillen) == -1)
		log_warn("log of job %s", lg->job->name);
	s->lp = lp;
	LIST_INSERT_HEAD(&lg->pipes, lp, entry);
	ev_io_init(&lp->io, pipe_cb, s->ls.fd, EV_READ);
	lp->io.data = lp;
	ev_io_start(loop, &lp->io);
}

/*
 * Task i was spawned (pid) or not (-1): jobd lets go of the write ends
 * of its log pipes, writes where the task begins and reads them.
 */
void
log_spawned(struct job *j, int i, pid_t pid)
{
	struct jsock	*s;
	int		 k;

	for (k = 0; k < j->nsocks; k++) {
		s = &j->socks[k];
		if (s->kind != FD_LOG || s->task != i || s->wfd == -1)
			continue;
		close(s->wfd);
		s->wfd = -1;
	}
	if (j->log == NULL || j->log->rl.nsegs == 0 || pid == -1)
		return;
	rlog_add(&j->log->rl, RLOG_START, i, 0, "", (uint32_t)pid, NULL, 0,
	    NULL, 0);
	for (k = 0; k < j->nsocks; k++)
		if (j->socks[k].kind == FD_LOG && j->socks[k].task == i)
			pipe_attach(j->log, &j->socks[k], NULL, 0);
	rlog_flush(&j->log->rl);
}

/*
 * Before task i starts: each of its log pipes has a write end (one a
 * restarted jobd got back has none: it gets a new pipe).
 */
int
log_prepare(struct job *j, int i, struct jerr *e)
{
	struct jsock	*s;
	char		 err[128], name[128];
	int		 k;

	for (k = 0; k < j->nsocks; k++) {
		s = &j->socks[k];
		if (s->kind != FD_LOG || s->task != i || s->wfd != -1)
			continue;
		if (s->lp != NULL)
			pipe_stop(s->lp);
		if (s->ls.fd != -1)
			close(s->ls.fd);
		s->ls.fd = -1;
		if (log_pipe(s, err, sizeof(err)) == -1)
			return err_set(e, 503, i, s->fdnum, NULL, "%s", err);
		fd_store_name(j, k, name, sizeof(name));
		ctl_store(name, s->ls.fd);
	}
	return 0;
}

/* Task i ended: what its pipes hold now is its output. */
void
log_task_ended(struct job *j, int i)
{
	struct logpipe	*lp, *next;

	if (j->log == NULL)
		return;
	for (lp = LIST_FIRST(&j->log->pipes); lp != NULL; lp = next) {
		next = LIST_NEXT(lp, entry);
		if (lp->task == i && drain(lp, PIPE_SIZE) == 0)
			tail_out(lp);
	}
	rlog_flush(&j->log->rl);
}

/* The job ended: the last of its output, and its readers told. */
void
log_job_ended(struct job *j)
{
	struct joblog		*lg = j->log;
	struct logpipe		*lp;

	if (lg == NULL)
		return;
	while ((lp = LIST_FIRST(&lg->pipes)) != NULL) {
		if (drain(lp, PIPE_SIZE) == 0) {
			tail_out(lp);
			pipe_stop(lp);
		}
	}
	rlog_flush(&lg->rl);
	rlog_end(&lg->rl);
	if (rlog_idle(&lg->rl))
		log_close(j);
}

/*
 * A restarted jobd: the log of an active job opened again, its pending
 * lines given back to the pipes that jobinit kept.
 */
void
log_resume(struct job *j)
{
	struct joblog	*lg;
	struct buf	 pend;
	struct jsock	*s;
	const char	*name, *data;
	size_t		 k, n, nlen, len;
	int		 i, task, fdnum, found;
	char		 stream[STREAM_MAX + 1];

	if (!j->has_log)
		return;
	memset(&pend, 0, sizeof(pend));
	if ((lg = joblog_get(j, 1, &pend)) == NULL || lg->rl.nsegs == 0) {
		log_warn("log of job %s", j->name);
		buf_free(&pend);
		return;
	}
	for (i = 0; i < j->nsocks; i++) {
		s = &j->socks[i];
		if (s->kind != FD_LOG || s->task > j->cur || s->ls.fd == -1)
			continue;
		found = 0;
		for (k = 0; k < pend.len; k += n) {
			n = rlog_pending(pend.data + k, &task, &fdnum, &name,
			    &nlen, &data, &len);
			if (task == s->task && fdnum == s->fdnum) {
				pipe_attach(lg, s, data, len);
				found = 1;
			}
		}
		if (!found)
			pipe_attach(lg, s, NULL, 0);
	}
	/* A pending line whose pipe is gone is what there is of it. */
	for (k = 0; k < pend.len; k += n) {
		n = rlog_pending(pend.data + k, &task, &fdnum, &name, &nlen,
		    &data, &len);
		if (pipe_find(lg, task, fdnum) != NULL)
			continue;
		snprintf(stream, sizeof(stream), "%.*s", (int)nlen, name);
		rlog_add(&lg->rl, 0, task, fdnum, stream, 0, data, len, NULL,
		    0);
	}
	buf_free(&pend);
	rlog_flush(&lg->rl);
}

/* The pipe of a held fd, no longer read (its fd is closed by fd.c). */
void
log_free_pipe(struct jsock *s)
{
	if (s->wfd != -1 && s->kind == FD_LOG) {
		close(s->wfd);
		s->wfd = -1;
	}
	if (s->lp == NULL)
		return;
	ev_io_stop(loop, &s->lp->io);
	LIST_REMOVE(s->lp, entry);
	free(s->lp->tail);
	free(s->lp);
	s->lp = NULL;
}

/* The log's memory and fds go; its files stay. Readers are ended. */
void
log_close(struct job *j)
{
	struct joblog	*lg = j->log;

	if (lg == NULL)
		return;
	while (!LIST_EMPTY(&lg->pipes))
		log_free_pipe(LIST_FIRST(&lg->pipes)->s);
	rlog_close(&lg->rl);
	free(lg);
	j->log = NULL;
}

/* The job is forgotten: its log too. */
void
log_remove(struct job *j)
{
	log_close(j);
	if (root() != -1)
		rlog_rmdir(rootfd, j->name);
}

void
log_cleanup(void)
{
	if (rootfd != -1)
		close(rootfd);
	rootfd = -1;
}

uint64_t
log_written(void)
{
	return written;
}

uint64_t
log_dropped(void)
{
	return dropped;
}

/* A reader of the job's log (see rlog_reader_start). */
int
log_reader_start(struct job *j, struct log_waiter *w, uint64_t since,
    void (*cb)(void *), void *arg)
{
	struct joblog	*lg;

	if ((lg = joblog_get(j, 0, NULL)) == NULL)
		return -1;
	if (!job_active(j))
		lg->rl.ended = 1;
	rlog_reader_start(&lg->rl, w, since, cb, arg);
	return 0;
}

/* The reader is done; the log of an ended job is closed with its last. */
void
log_reader_done(struct log_waiter *w)
{
	struct rlog	*rl;

	if ((rl = log_reader_stop(w)) != NULL)
		log_close(container_of(rl, struct joblog, rl)->job);
}
