/*
 * logs.c: what tasks write on their log fds, kept per job under the state
 * directory and read back in order.
 *
 * Each log fd is a pipe whose read end jobd holds (non-blocking, in
 * jobinit's store like the job's other fds, so a restarted jobd reads on
 * where the last one stopped). Lines become records, appended to the
 * job's log: logs/<job>/<seq>, segment files named by the seq of their
 * first record. The log is kept in NSEGS segments of max_bytes / NSEGS;
 * when a new one would pass max_bytes, the oldest goes whole, the way
 * Docker's json-file driver rotates by max-size and max-file.
 *
 * A record is a fixed header, the stream's name and the bytes. A line not
 * yet ended is written after the last record as a pending record (seq 0):
 * rewritten at each append, it is what a jobd killed at that instant
 * would have lost, and the next jobd takes it back. Writes are batched:
 * one pwritev per drain of a pipe (or per rotation). Readers read the
 * files, each at its own cursor; the writer never waits for them.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd.h"

#define REC_MAGIC	0x4c4a		/* "JL" */
#define REC_PARTIAL	0x01		/* a piece of a longer line */
#define REC_START	0x02		/* a task started: pid in aux */
#define REC_PENDING	0x04		/* a line not yet ended */
#define NSEGS		4
#define DRAIN_MAX	(256 * 1024)	/* per pipe and loop iteration */
#define PIPE_SIZE	(1024 * 1024)
#define STREAM_MAX	32

/* A record on disk, before its stream's name and its bytes. */
struct rec {
	uint16_t	 magic;
	uint8_t		 flags;
	uint8_t		 task;
	uint8_t		 fdnum;
	uint8_t		 slen;
	uint16_t	 zero;
	uint32_t	 len;
	uint32_t	 aux;
	uint64_t	 seq;
	int64_t		 time;
};

struct seg {
	uint64_t	 first;		/* seq of its first record */
	int		 fd;
	int64_t		 size;		/* bytes of whole records */
};

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
	struct job		*job;
	int			 dirfd;		/* -1: nothing on disk */
	struct seg		*segs;
	size_t			 nsegs;
	uint64_t		 next;		/* seq of the next record */
	int64_t			 max;
	int64_t			 total;		/* bytes of all segments */
	int64_t			 fileend;	/* last segment, pending too */
	struct buf		 w;		/* records not yet written */
	int			 ended;
	int			 busy;		/* telling its readers */
	LIST_HEAD(, logpipe)	 pipes;
	LIST_HEAD(, log_waiter)	 waiters;
};

static int	 rootfd = -1;
static char	 rootpath[PATH_MAX];
static int	 roottmp;	/* --no-state: a directory of our own */
static char	 rbuf[sizeof(struct rec) + STREAM_MAX + JOBD_LOG_LINE + 4096];

uint64_t	 log_bytes_written;
uint64_t	 log_bytes_dropped;

static void	 pipe_cb(struct ev_loop *, ev_io *, int);
static void	 flush(struct joblog *);
static void	 wake(struct joblog *);

/* logs/ in the state directory, or a temporary one without state. */
static int
root(void)
{
	const char	*dir = store_dir();

	if (rootfd != -1)
		return rootfd;
	if (dir != NULL) {
		snprintf(rootpath, sizeof(rootpath), "%s/logs", dir);
		if (mkdir(rootpath, 0700) == -1 && errno != EEXIST) {
			log_warn("%s", rootpath);
			return -1;
		}
	} else {
		snprintf(rootpath, sizeof(rootpath), "%s/jobd-logs.XXXXXX",
		    getenv("TMPDIR") && getenv("TMPDIR")[0] == '/' ?
		    getenv("TMPDIR") : "/tmp");
		if (mkdtemp(rootpath) == NULL) {
			log_warn("%s", rootpath);
			return -1;
		}
		roottmp = 1;
	}
	if ((rootfd = open(rootpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		log_warn("%s", rootpath);
	return rootfd;
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct seg	*x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* The header at p, if it is one whose record fits in n bytes. */
static int
rec_parse(const char *p, size_t n, struct rec *r)
{
	if (n < sizeof(*r))
		return -1;
	memcpy(r, p, sizeof(*r));
	if (r->magic != REC_MAGIC || r->zero != 0 || r->slen > STREAM_MAX ||
	    r->len > JOBD_LOG_LINE || (r->flags & ~7) != 0 ||
	    sizeof(*r) + r->slen + r->len > n)
		return -1;
	return 0;
}

static size_t
rec_size(const struct rec *r)
{
	return sizeof(*r) + r->slen + r->len;
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

/*
 * The last segment, read through: its whole records end where the next
 * goes; pending records after them are lines a killed jobd had not
 * ended, given back to their pipes. Anything else ends it: cut there.
 */
static void
scan_last(struct joblog *lg, struct seg *sg, struct buf *pending)
{
	struct rec	 r;
	int64_t		 off = 0, good = 0, end = sg->size;
	uint64_t	 seq = sg->first;
	ssize_t		 n;
	size_t		 k;
	int		 bad = 0;

	while (off < end && !bad) {
		if ((n = pread(sg->fd, rbuf, sizeof(rbuf), off)) <= 0)
			break;
		for (k = 0; k < (size_t)n; k += rec_size(&r)) {
			if (rec_parse(rbuf + k, (size_t)n - k, &r) == -1)
				break;
			if (r.flags & REC_PENDING) {
				buf_add(pending, rbuf + k, rec_size(&r));
				continue;
			}
			if (pending->len > 0 || r.seq != seq) {
				bad = 1;
				break;
			}
			seq++;
			good = off + (int64_t)(k + rec_size(&r));
		}
		if (k == 0)
			break;
		off += (int64_t)k;
	}
	sg->size = good;
	if (bad || off != end) {
		log_warnx("log of job %s: segment %llu cut at byte %lld of "
		    "%lld: what follows is not a record", lg->job->name,
		    (unsigned long long)sg->first, (long long)good,
		    (long long)end);
		if (ftruncate(sg->fd, good) == -1)
			log_warn("log of job %s", lg->job->name);
		pending->len = 0;
		end = good;
	}
	lg->fileend = end;
	lg->next = seq;
}

/* The segments already there, in order; the last one read through. */
static int
load(struct joblog *lg, struct buf *pending)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	struct seg	*sg;
	char		*end;
	unsigned long long v;
	int		 fd;

	if ((fd = dup(lg->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		errno = 0;
		v = strtoull(de->d_name, &end, 10);
		if (*end != '\0' || errno != 0 || v == 0) {
			log_warnx("log of job %s: %s is not a segment, left "
			    "alone", lg->job->name, de->d_name);
			continue;
		}
		if ((fd = openat(lg->dirfd, de->d_name, O_RDWR | O_CLOEXEC |
		    O_NOFOLLOW)) == -1 || fstat(fd, &st) == -1) {
			log_warn("log of job %s: %s", lg->job->name,
			    de->d_name);
			if (fd != -1)
				close(fd);
			continue;
		}
		sg = reallocarray(lg->segs, lg->nsegs + 1, sizeof(*sg));
		if (sg == NULL) {
			close(fd);
			closedir(d);
			return -1;
		}
		lg->segs = sg;
		sg = &lg->segs[lg->nsegs++];
		sg->first = v;
		sg->fd = fd;
		sg->size = st.st_size;
		lg->total += st.st_size;
	}
	closedir(d);
	if (lg->nsegs == 0)
		return 0;
	qsort(lg->segs, lg->nsegs, sizeof(*lg->segs), seg_cmp);
	sg = &lg->segs[lg->nsegs - 1];
	lg->total -= sg->size;
	scan_last(lg, sg, pending);
	lg->total += sg->size;
	return 0;
}

/* A new last segment, for records from seq lg->next on. */
static int
rotate(struct joblog *lg)
{
	struct seg	*sg;
	char		 name[32];
	int		 fd;

	snprintf(name, sizeof(name), "%llu", (unsigned long long)lg->next);
	if ((fd = openat(lg->dirfd, name, O_RDWR | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		return -1;
	if ((sg = reallocarray(lg->segs, lg->nsegs + 1, sizeof(*sg))) ==
	    NULL) {
		close(fd);
		unlinkat(lg->dirfd, name, 0);
		return -1;
	}
	lg->segs = sg;
	sg = &lg->segs[lg->nsegs++];
	sg->first = lg->next;
	sg->fd = fd;
	sg->size = 0;
	lg->fileend = 0;
	return 0;
}

/* The oldest segments go while the log is over its size. */
static void
trim(struct joblog *lg)
{
	struct seg	*sg;
	char		 name[32];

	while (lg->nsegs > 1 && lg->total > lg->max) {
		sg = &lg->segs[0];
		snprintf(name, sizeof(name), "%llu",
		    (unsigned long long)sg->first);
		unlinkat(lg->dirfd, name, 0);
		close(sg->fd);
		lg->total -= sg->size;
		log_bytes_dropped += (uint64_t)sg->size;
		memmove(lg->segs, lg->segs + 1, --lg->nsegs * sizeof(*sg));
	}
}

static struct joblog *
joblog_new(struct job *j)
{
	struct joblog	*lg;

	if ((lg = calloc(1, sizeof(*lg))) == NULL)
		return NULL;
	lg->job = j;
	lg->dirfd = -1;
	lg->next = 1;
	lg->max = j->log_max > 0 ? j->log_max : JOBD_LOG_DEFAULT;
	LIST_INIT(&lg->pipes);
	LIST_INIT(&lg->waiters);
	j->log = lg;
	return lg;
}

/*
 * The job's log, opened (and made, if make) with what is on disk; a job
 * without one has an empty log in memory, for readers to wait on.
 * Pending lines found go to pending.
 */
static struct joblog *
joblog_get(struct job *j, int make, struct buf *pending)
{
	struct joblog	*lg;
	struct buf	 none;
	int		 r;

	if (j->log != NULL)
		return j->log;
	if ((lg = joblog_new(j)) == NULL)
		return NULL;
	memset(&none, 0, sizeof(none));
	if ((r = root()) == -1)
		return lg;
	if (make && mkdirat(r, j->name, 0700) == -1 && errno != EEXIST)
		log_warn("%s/%s", rootpath, j->name);
	if ((lg->dirfd = openat(r, j->name, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT)
			log_warn("%s/%s", rootpath, j->name);
		return lg;
	}
	if (load(lg, pending != NULL ? pending : &none) == -1)
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
	if ((lg = joblog_get(j, 1, NULL)) == NULL)
		return err_set(e, 500, -1, -1, NULL, "out of memory");
	if (lg->dirfd == -1)
		return err_set(e, 503, -1, -1, NULL, "cannot keep the job's "
		    "log in %s/%s: %s", rootpath, j->name, strerror(errno));
	if (lg->nsegs == 0 && rotate(lg) == -1)
		return err_set(e, 503, -1, -1, NULL, "cannot keep the job's "
		    "log in %s/%s: %s", rootpath, j->name, strerror(errno));
	return 0;
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

/* A record into the batch; written by flush. */
static void
rec_add(struct joblog *lg, int flags, int task, int fdnum,
    const char *stream, uint32_t aux, const char *a, size_t alen,
    const char *b, size_t blen)
{
	struct rec	 r;
	struct seg	*sg;
	size_t		 size, slen = strlen(stream);

	if (lg->nsegs == 0)
		return;
	sg = &lg->segs[lg->nsegs - 1];
	size = sizeof(r) + slen + alen + blen;
	if (sg->size + (int64_t)(lg->w.len + size) > lg->max / NSEGS &&
	    sg->size + (int64_t)lg->w.len > 0) {
		flush(lg);
		if (rotate(lg) == -1)
			log_warn("log of job %s: new segment", lg->job->name);
		sg = &lg->segs[lg->nsegs - 1];
	}
	memset(&r, 0, sizeof(r));
	r.magic = REC_MAGIC;
	r.flags = (uint8_t)flags;
	r.task = (uint8_t)task;
	r.fdnum = (uint8_t)fdnum;
	r.slen = (uint8_t)slen;
	r.len = (uint32_t)(alen + blen);
	r.aux = aux;
	r.seq = flags & REC_PENDING ? 0 : lg->next++;
	r.time = now_ms();
	buf_add(&lg->w, &r, sizeof(r));
	buf_add(&lg->w, stream, slen);
	buf_add(&lg->w, a, alen);
	buf_add(&lg->w, b, blen);
}

/*
 * The batch, then every pending line, at the end of the last segment:
 * one write. The oldest segments go if the log is now too big; the
 * readers waiting hear of it.
 */
static void
flush(struct joblog *lg)
{
	struct logpipe		*lp;
	struct seg		*sg;
	struct buf		 pend;
	struct iovec		 iov[2];
	int64_t			 end;
	ssize_t			 n;
	int			 wrote = lg->w.len > 0;

	if (lg->nsegs == 0 || lg->dirfd == -1) {
		lg->w.len = 0;
		return;
	}
	sg = &lg->segs[lg->nsegs - 1];
	memset(&pend, 0, sizeof(pend));
	LIST_FOREACH(lp, &lg->pipes, entry) {
		struct rec	 r;

		if (lp->taillen == 0)
			continue;
		memset(&r, 0, sizeof(r));
		r.magic = REC_MAGIC;
		r.flags = REC_PENDING;
		r.task = (uint8_t)lp->task;
		r.fdnum = (uint8_t)lp->fdnum;
		r.slen = (uint8_t)strlen(lp->stream);
		r.len = (uint32_t)lp->taillen;
		r.time = now_ms();
		buf_add(&pend, &r, sizeof(r));
		buf_add(&pend, lp->stream, r.slen);
		buf_add(&pend, lp->tail, lp->taillen);
	}
	iov[0].iov_base = lg->w.data;
	iov[0].iov_len = lg->w.len;
	iov[1].iov_base = pend.data;
	iov[1].iov_len = pend.len;
	end = sg->size + (int64_t)(lg->w.len + pend.len);
	if (lg->w.len + pend.len > 0 || end < lg->fileend) {
		n = pwritev(sg->fd, iov, 2, sg->size);
		if (n != (ssize_t)(lg->w.len + pend.len)) {
			log_warn("log of job %s: write", lg->job->name);
			log_bytes_dropped += lg->w.len;
			end = sg->size;
			wrote = 0;
		} else {
			sg->size += (int64_t)lg->w.len;
			lg->total += (int64_t)lg->w.len;
			log_bytes_written += lg->w.len;
		}
		if (end < lg->fileend && ftruncate(sg->fd, end) == -1)
			log_warn("log of job %s: truncate", lg->job->name);
		lg->fileend = end;
	}
	buf_free(&pend);
	lg->w.len = 0;
	trim(lg);
	if (wrote && !lg->busy)
		wake(lg);
}

/* The readers waiting for more, told; none may end the log meanwhile. */
static void
wake(struct joblog *lg)
{
	struct log_waiter	*wt, *next;

	lg->busy = 1;
	for (wt = LIST_FIRST(&lg->waiters); wt != NULL; wt = next) {
		next = LIST_NEXT(wt, entry);
		wt->cb(wt->arg);
	}
	lg->busy = 0;
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
			rec_add(lg, 0, lp->task, lp->fdnum, lp->stream, 0,
			    lp->tail, lp->taillen, p, k);
			lp->taillen = 0;
		} else if (n >= room) {
			k = room;
			rec_add(lg, REC_PARTIAL, lp->task, lp->fdnum,
			    lp->stream, 0, lp->tail, lp->taillen, p, k);
			lp->taillen = 0;
		} else {
			k = n;
			if (tail_add(lp, p, k) == -1) {
				/* No memory for it: the line goes as it is. */
				rec_add(lg, REC_PARTIAL, lp->task, lp->fdnum,
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
	rec_add(lp->lg, 0, lp->task, lp->fdnum, lp->stream, 0, lp->tail,
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
	flush(lg);
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
	if (j->log == NULL || j->log->dirfd == -1 || pid == -1)
		return;
	rec_add(j->log, REC_START, i, 0, "", (uint32_t)pid, NULL, 0, NULL, 0);
	for (k = 0; k < j->nsocks; k++)
		if (j->socks[k].kind == FD_LOG && j->socks[k].task == i)
			pipe_attach(j->log, &j->socks[k], NULL, 0);
	flush(j->log);
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
	flush(j->log);
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
	flush(lg);
	lg->ended = 1;
	wake(lg);
	if (LIST_EMPTY(&lg->waiters))
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
	struct buf	 pending;
	struct rec	 r;
	struct jsock	*s;
	size_t		 k;
	int		 i, found;

	if (!j->has_log)
		return;
	memset(&pending, 0, sizeof(pending));
	if ((lg = joblog_get(j, 1, &pending)) == NULL ||
	    (lg->nsegs == 0 && lg->dirfd != -1 && rotate(lg) == -1)) {
		log_warn("log of job %s", j->name);
		buf_free(&pending);
		return;
	}
	for (i = 0; i < j->nsocks; i++) {
		s = &j->socks[i];
		if (s->kind != FD_LOG || s->task > j->cur || s->ls.fd == -1)
			continue;
		found = 0;
		for (k = 0; k < pending.len; k += rec_size(&r)) {
			memcpy(&r, pending.data + k, sizeof(r));
			if (r.task == s->task && r.fdnum == s->fdnum) {
				pipe_attach(lg, s, pending.data + k +
				    sizeof(r) + r.slen, r.len);
				found = 1;
			}
		}
		if (!found)
			pipe_attach(lg, s, NULL, 0);
	}
	/* A pending line whose pipe is gone is what there is of it. */
	for (k = 0; k < pending.len; k += rec_size(&r)) {
		memcpy(&r, pending.data + k, sizeof(r));
		if (lg->dirfd != -1 && pipe_find(lg, r.task, r.fdnum) == NULL)
			rec_add(lg, 0, r.task, r.fdnum, pending.data + k +
			    sizeof(r), 0, pending.data + k + sizeof(r) +
			    r.slen, r.len, NULL, 0);
	}
	buf_free(&pending);
	flush(lg);
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
	struct joblog		*lg = j->log;
	struct log_waiter	*wt;
	size_t			 i;

	if (lg == NULL)
		return;
	lg->ended = 1;
	while ((wt = LIST_FIRST(&lg->waiters)) != NULL) {
		LIST_REMOVE(wt, entry);
		wt->job = NULL;
		wt->cb(wt->arg);
	}
	while (!LIST_EMPTY(&lg->pipes))
		log_free_pipe(LIST_FIRST(&lg->pipes)->s);
	for (i = 0; i < lg->nsegs; i++)
		close(lg->segs[i].fd);
	free(lg->segs);
	if (lg->dirfd != -1)
		close(lg->dirfd);
	buf_free(&lg->w);
	free(lg);
	j->log = NULL;
}

/* The job is forgotten: its log too. */
void
log_remove(struct job *j)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, r;

	log_close(j);
	if ((r = root()) == -1 ||
	    (fd = openat(r, j->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			unlinkat(fd, de->d_name, 0);
	closedir(d);
	if (unlinkat(r, j->name, AT_REMOVEDIR) == -1)
		log_warn("%s/%s", rootpath, j->name);
}

/* At exit: a temporary directory of logs goes (they died with the jobs). */
void
log_cleanup(void)
{
	if (rootfd != -1)
		close(rootfd);
	rootfd = -1;
	if (roottmp && rmdir(rootpath) == -1)
		log_warn("%s", rootpath);
}

/*
 * Readers. A cursor starts at since + 1 (or the first record kept);
 * log_read calls fn with each record up to about budget bytes and
 * returns how many it read, 0 when it has caught up.
 */
int
log_reader_start(struct job *j, struct log_waiter *w, uint64_t since,
    void (*cb)(void *), void *arg)
{
	struct joblog	*lg;

	if ((lg = joblog_get(j, 0, NULL)) == NULL)
		return -1;
	if (!job_active(j))
		lg->ended = 1;
	memset(w, 0, sizeof(*w));
	w->job = j;
	w->cb = cb;
	w->arg = arg;
	w->next = since + 1;
	if (since == 0 && lg->nsegs > 0)
		w->next = lg->segs[0].first;
	LIST_INSERT_HEAD(&lg->waiters, w, entry);
	return 0;
}

void
log_reader_stop(struct log_waiter *w)
{
	struct job	*j = w->job;

	if (j == NULL)
		return;
	LIST_REMOVE(w, entry);
	w->job = NULL;
	if (j->log != NULL && j->log->ended && !j->log->busy &&
	    LIST_EMPTY(&j->log->waiters))
		log_close(j);
}

/* Will more come? Not once the job has ended. */
int
log_live(const struct log_waiter *w)
{
	return w->job != NULL && w->job->log != NULL && !w->job->log->ended;
}

size_t
log_read(struct log_waiter *w, size_t budget,
    void (*fn)(const struct logrec *, void *), void *arg)
{
	struct joblog	*lg;
	struct logrec	 lr;
	struct rec	 r;
	struct seg	*sg;
	size_t		 i, k, done = 0;
	int64_t		 end;
	ssize_t		 n;

	if (w->job == NULL || (lg = w->job->log) == NULL || lg->nsegs == 0)
		return 0;
	while (done < budget) {
		if (w->next < lg->segs[0].first) {
			memset(&lr, 0, sizeof(lr));
			lr.gap_from = w->next;
			lr.gap_to = lg->segs[0].first - 1;
			fn(&lr, arg);
			w->next = lg->segs[0].first;
			w->seg = w->next;
			w->off = 0;
		}
		/* Its segment: the last one that begins at or before next. */
		for (i = lg->nsegs; i > 1; i--)
			if (lg->segs[i - 1].first <= w->next)
				break;
		sg = &lg->segs[i - 1];
		if (w->seg != sg->first) {
			w->seg = sg->first;
			w->off = 0;
		}
		end = sg->size;
		if (w->off >= end) {
			if (i == lg->nsegs || w->next < lg->segs[i].first)
				break;
			w->next = lg->segs[i].first;
			continue;
		}
		n = pread(sg->fd, rbuf, (size_t)(end - w->off) < sizeof(rbuf) ?
		    (size_t)(end - w->off) : sizeof(rbuf), w->off);
		if (n <= 0)
			break;
		for (k = 0; k < (size_t)n; k += rec_size(&r)) {
			if (rec_parse(rbuf + k, (size_t)n - k, &r) == -1)
				break;
			if (r.seq < w->next)
				continue;
			memset(&lr, 0, sizeof(lr));
			lr.seq = r.seq;
			lr.time = r.time;
			lr.task = r.task;
			lr.partial = (r.flags & REC_PARTIAL) != 0;
			lr.started = r.flags & REC_START ? (pid_t)r.aux : 0;
			memcpy(lr.stream, rbuf + k + sizeof(r), r.slen);
			lr.stream[r.slen] = '\0';
			lr.data = rbuf + k + sizeof(r) + r.slen;
			lr.len = r.len;
			fn(&lr, arg);
			w->next = r.seq + 1;
		}
		if (k == 0) {
			/* Not a record: the rest of this segment is lost. */
			log_warnx("log of job %s: segment %llu: bad record at "
			    "byte %lld", w->job->name,
			    (unsigned long long)sg->first, (long long)w->off);
			w->off = end;
			if (i < lg->nsegs)
				w->next = lg->segs[i].first;
			continue;
		}
		w->off += (int64_t)k;
		done += k;
	}
	return done;
}
