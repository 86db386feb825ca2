/*
 * rlog.c: a record log on disk, bounded, that readers read by cursor.
 * The jobs' logs (logs.c) and the event log (events.c) are two of them.
 *
 * A log is a directory of segment files named by the seq of their first
 * record. It is kept in NSEGS segments of max / NSEGS: when the last one
 * is full a new one begins, and whole oldest segments go while the total
 * is over max (the way Docker's json-file driver rotates by max-size and
 * max-file). A record is a fixed header, a name (a job's log: the
 * stream; the events: the job) and the bytes.
 *
 * Records are added to a batch and written with one pwritev by
 * rlog_flush, followed by the owner's pending records (seq 0: what only
 * memory held, rewritten at each flush, given back to the owner by
 * rlog_load after a kill -9). Readers read the files, each at its own
 * cursor; the writer never waits for them and is told of none but the
 * ones waiting, by a callback.
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
#define NSEGS		4
#define NAME_MAX_	64

/* A record on disk, before its name and its bytes. */
struct rec {
	uint16_t	 magic;
	uint8_t		 flags;
	uint8_t		 task;
	uint8_t		 fdnum;
	uint8_t		 nlen;
	uint16_t	 zero;
	uint32_t	 len;
	uint32_t	 aux;
	uint64_t	 seq;
	int64_t		 time;
};

struct rlog_seg {
	uint64_t	 first;		/* seq of its first record */
	int		 fd;
	int64_t		 size;		/* bytes of whole records */
};

static char	 rbuf[sizeof(struct rec) + NAME_MAX_ + JOBD_LOG_LINE + 4096];
static char	 basepath[PATH_MAX];
static int	 basetmp;	/* --no-state: a directory of our own */

static void	 wake(struct rlog *);

/*
 * The directory sub (made if missing) of the state directory, or of a
 * temporary one of jobd's own without state. Returns an fd or -1.
 */
int
rlog_dir(const char *sub, char *path, size_t size)
{
	const char	*dir = store_dir();
	int		 fd;

	if (basepath[0] == '\0') {
		if (dir != NULL)
			snprintf(basepath, sizeof(basepath), "%s", dir);
		else {
			snprintf(basepath, sizeof(basepath), "%s/jobd.XXXXXX",
			    getenv("TMPDIR") && getenv("TMPDIR")[0] == '/' ?
			    getenv("TMPDIR") : "/tmp");
			if (mkdtemp(basepath) == NULL) {
				log_warn("%s", basepath);
				basepath[0] = '\0';
				return -1;
			}
			basetmp = 1;
		}
	}
	snprintf(path, size, "%s/%s", basepath, sub);
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		log_warn("%s", path);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		log_warn("%s", path);
	return fd;
}

/* At exit: the temporary directory goes, with what is left in it. */
void
rlog_cleanup(const char *const *subs)
{
	char	 path[PATH_MAX];
	size_t	 i;

	if (!basetmp)
		return;
	for (i = 0; subs[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", basepath, subs[i]);
		rlog_rmdir(AT_FDCWD, path);
	}
	if (rmdir(basepath) == -1)
		log_warn("%s", basepath);
}

/* Remove the directory name under dirfd and the files in it. */
void
rlog_rmdir(int dirfd, const char *name)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
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
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1)
		log_warn("%s", name);
}

void
rlog_init(struct rlog *rl, const char *what, int64_t max)
{
	memset(rl, 0, sizeof(*rl));
	snprintf(rl->what, sizeof(rl->what), "%s", what);
	rl->dirfd = -1;
	rl->next = 1;
	rl->max = max;
	LIST_INIT(&rl->waiters);
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct rlog_seg	*x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* The header at p, if it is one whose record fits in n bytes. */
static int
rec_parse(const char *p, size_t n, struct rec *r)
{
	if (n < sizeof(*r))
		return -1;
	memcpy(r, p, sizeof(*r));
	if (r->magic != REC_MAGIC || r->zero != 0 || r->nlen > NAME_MAX_ ||
	    r->len > JOBD_LOG_LINE + 4096 || (r->flags & ~7) != 0 ||
	    sizeof(*r) + r->nlen + r->len > n)
		return -1;
	return 0;
}

static size_t
rec_size(const struct rec *r)
{
	return sizeof(*r) + r->nlen + r->len;
}

/*
 * The last segment, read through: its whole records end where the next
 * goes; pending records after them are given to the owner. Anything else
 * ends it: cut there.
 */
static void
scan_last(struct rlog *rl, struct rlog_seg *sg, struct buf *pending)
{
	struct rec	 r;
	int64_t		 off = 0, good = 0, end = sg->size;
	uint64_t	 seq = sg->first;
	size_t		 k, mark = pending->len;
	ssize_t		 n;
	int		 bad = 0;

	while (off < end && !bad) {
		if ((n = pread(sg->fd, rbuf, sizeof(rbuf), off)) <= 0)
			break;
		for (k = 0; k < (size_t)n; k += rec_size(&r)) {
			if (rec_parse(rbuf + k, (size_t)n - k, &r) == -1)
				break;
			if (r.flags & RLOG_PENDING) {
				buf_add(pending, rbuf + k, rec_size(&r));
				continue;
			}
			if (pending->len > mark || r.seq != seq) {
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
		log_warnx("%s: segment %llu cut at byte %lld of %lld: what "
		    "follows is not a record", rl->what,
		    (unsigned long long)sg->first, (long long)good,
		    (long long)end);
		if (ftruncate(sg->fd, good) == -1)
			log_warn("%s", rl->what);
		pending->len = mark;
		end = good;
	}
	rl->fileend = end;
	rl->next = seq;
}

/*
 * The log in directory dirfd (now the log's): the segments there, in
 * order, the last one read through; its pending records into pending.
 */
int
rlog_load(struct rlog *rl, int dirfd, struct buf *pending)
{
	DIR			*d;
	struct dirent		*de;
	struct stat		 st;
	struct rlog_seg		*sg;
	char			*end, name[32];
	unsigned long long	 v;
	int			 fd;

	rl->dirfd = dirfd;
	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
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
			log_warnx("%s: %s is not a segment, left alone",
			    rl->what, de->d_name);
			continue;
		}
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode)) {
			log_warnx("%s: %s is not a segment file, left alone",
			    rl->what, de->d_name);
			continue;
		}
		if ((sg = reallocarray(rl->segs, rl->nsegs + 1,
		    sizeof(*sg))) == NULL) {
			closedir(d);
			return -1;
		}
		rl->segs = sg;
		sg = &rl->segs[rl->nsegs++];
		sg->first = v;
		sg->fd = -1;
		sg->size = st.st_size;
		rl->total += st.st_size;
	}
	closedir(d);
	if (rl->nsegs == 0)
		return rlog_rotate(rl);
	qsort(rl->segs, rl->nsegs, sizeof(*rl->segs), seg_cmp);
	/* Only the last segment is held open: it is the one written. */
	sg = &rl->segs[rl->nsegs - 1];
	snprintf(name, sizeof(name), "%llu", (unsigned long long)sg->first);
	if ((sg->fd = openat(dirfd, name, O_RDWR | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		log_warn("%s: %s", rl->what, name);
		rl->nsegs--;
		return rl->nsegs == 0 ? rlog_rotate(rl) : -1;
	}
	rl->total -= sg->size;
	scan_last(rl, sg, pending);
	rl->total += sg->size;
	return 0;
}

/* A new last segment, for records from seq rl->next on. */
int
rlog_rotate(struct rlog *rl)
{
	struct rlog_seg	*sg;
	char		 name[32];
	int		 fd;

	snprintf(name, sizeof(name), "%llu", (unsigned long long)rl->next);
	if ((fd = openat(rl->dirfd, name, O_RDWR | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		return -1;
	if ((sg = reallocarray(rl->segs, rl->nsegs + 1, sizeof(*sg))) ==
	    NULL) {
		close(fd);
		unlinkat(rl->dirfd, name, 0);
		return -1;
	}
	rl->segs = sg;
	/* The last one is written no more: readers open it as they need. */
	if (rl->nsegs > 0 && rl->segs[rl->nsegs - 1].fd != -1) {
		close(rl->segs[rl->nsegs - 1].fd);
		rl->segs[rl->nsegs - 1].fd = -1;
	}
	sg = &rl->segs[rl->nsegs++];
	sg->first = rl->next;
	sg->fd = fd;
	sg->size = 0;
	rl->fileend = 0;
	return 0;
}

/* The oldest segments go while the log is over its size. */
static void
trim(struct rlog *rl)
{
	struct rlog_seg	*sg;
	char		 name[32];

	while (rl->nsegs > 1 && rl->total > rl->max) {
		sg = &rl->segs[0];
		snprintf(name, sizeof(name), "%llu",
		    (unsigned long long)sg->first);
		unlinkat(rl->dirfd, name, 0);
		if (sg->fd != -1)
			close(sg->fd);
		rl->total -= sg->size;
		if (rl->dropped != NULL)
			*rl->dropped += (uint64_t)sg->size;
		memmove(rl->segs, rl->segs + 1, --rl->nsegs * sizeof(*sg));
	}
}

/* A record (seq 0 if pending) into b. */
void
rlog_rec(struct buf *b, uint64_t seq, int flags, int task, int fdnum,
    const char *name, uint32_t aux, const char *x, size_t xlen,
    const char *y, size_t ylen)
{
	struct rec	 r;
	size_t		 nlen = strlen(name);

	memset(&r, 0, sizeof(r));
	r.magic = REC_MAGIC;
	r.flags = (uint8_t)flags;
	r.task = (uint8_t)task;
	r.fdnum = (uint8_t)fdnum;
	r.nlen = (uint8_t)(nlen > NAME_MAX_ ? NAME_MAX_ : nlen);
	r.len = (uint32_t)(xlen + ylen);
	r.aux = aux;
	r.seq = seq;
	r.time = now_ms();
	buf_add(b, &r, sizeof(r));
	buf_add(b, name, r.nlen);
	buf_add(b, x, xlen);
	buf_add(b, y, ylen);
}

/* The pending record at p (from rlog_load): its parts. */
size_t
rlog_pending(const char *p, int *task, int *fdnum, const char **name,
    size_t *nlen, const char **data, size_t *len)
{
	struct rec	 r;

	memcpy(&r, p, sizeof(r));
	*task = r.task;
	*fdnum = r.fdnum;
	*name = p + sizeof(r);
	*nlen = r.nlen;
	*data = p + sizeof(r) + r.nlen;
	*len = r.len;
	return rec_size(&r);
}

/* A record into the batch, with the next seq; written by rlog_flush. */
void
rlog_add(struct rlog *rl, int flags, int task, int fdnum, const char *name,
    uint32_t aux, const char *x, size_t xlen, const char *y, size_t ylen)
{
	struct rlog_seg	*sg;
	size_t		 size;

	if (rl->nsegs == 0)
		return;
	sg = &rl->segs[rl->nsegs - 1];
	size = sizeof(struct rec) + strlen(name) + xlen + ylen;
	if (sg->size + (int64_t)(rl->w.len + size) > rl->max / NSEGS &&
	    sg->size + (int64_t)rl->w.len > 0) {
		rlog_flush(rl);
		if (rlog_rotate(rl) == -1)
			log_warn("%s: new segment", rl->what);
	}
	rlog_rec(&rl->w, rl->next++, flags, task, fdnum, name, aux, x, xlen,
	    y, ylen);
}

/*
 * The batch, then the owner's pending records, at the end of the last
 * segment: one write. The oldest segments go if the log is now too big;
 * the readers waiting hear of it.
 */
void
rlog_flush(struct rlog *rl)
{
	struct rlog_seg	*sg;
	struct buf	 pend;
	struct iovec	 iov[2];
	int64_t		 end;
	ssize_t		 n;
	int		 wrote = rl->w.len > 0;

	if (rl->nsegs == 0 || rl->dirfd == -1) {
		rl->w.len = 0;
		return;
	}
	sg = &rl->segs[rl->nsegs - 1];
	memset(&pend, 0, sizeof(pend));
	if (rl->pending != NULL)
		rl->pending(rl, &pend);
	iov[0].iov_base = rl->w.data;
	iov[0].iov_len = rl->w.len;
	iov[1].iov_base = pend.data;
	iov[1].iov_len = pend.len;
	end = sg->size + (int64_t)(rl->w.len + pend.len);
	if (rl->w.len + pend.len > 0 || end < rl->fileend) {
		n = pwritev(sg->fd, iov, 2, sg->size);
		if (n != (ssize_t)(rl->w.len + pend.len)) {
			/*
			 * Lost (a full disk): the records' seqs are used, so
			 * the next ones go to a segment of their own, and
			 * the numbering has a hole, never a reuse.
			 */
			log_warn("%s: write", rl->what);
			if (rl->dropped != NULL)
				*rl->dropped += rl->w.len;
			if (ftruncate(sg->fd, sg->size) == -1)
				log_warn("%s: truncate", rl->what);
			rl->fileend = sg->size;
			buf_free(&pend);
			rl->w.len = 0;
			(void)rlog_rotate(rl);
			return;
		} else {
			sg->size += (int64_t)rl->w.len;
			rl->total += (int64_t)rl->w.len;
			if (rl->written != NULL)
				*rl->written += rl->w.len;
		}
		if (end < rl->fileend && ftruncate(sg->fd, end) == -1)
			log_warn("%s: truncate", rl->what);
		rl->fileend = end;
	}
	buf_free(&pend);
	rl->w.len = 0;
	trim(rl);
	if (wrote && !rl->busy)
		wake(rl);
}

/* The readers waiting for more, told; none may end the log meanwhile. */
static void
wake(struct rlog *rl)
{
	struct log_waiter	*wt, *next;

	rl->busy = 1;
	for (wt = LIST_FIRST(&rl->waiters); wt != NULL; wt = next) {
		next = LIST_NEXT(wt, entry);
		wt->cb(wt->arg);
	}
	rl->busy = 0;
}

/* No more records will come: the readers hear it. */
void
rlog_end(struct rlog *rl)
{
	rl->ended = 1;
	wake(rl);
}

/* The log's memory and fds go (its files stay); its readers are ended. */
void
rlog_close(struct rlog *rl)
{
	struct log_waiter	*wt;
	size_t			 i;

	rl->ended = 1;
	while ((wt = LIST_FIRST(&rl->waiters)) != NULL) {
		LIST_REMOVE(wt, entry);
		wt->rl = NULL;
		wt->lost_to = rl->next;
		wt->cb(wt->arg);
	}
	for (i = 0; i < rl->nsegs; i++)
		if (rl->segs[i].fd != -1)
			close(rl->segs[i].fd);
	free(rl->segs);
	rl->segs = NULL;
	rl->nsegs = 0;
	if (rl->dirfd != -1)
		close(rl->dirfd);
	rl->dirfd = -1;
	buf_free(&rl->w);
}

int
rlog_idle(const struct rlog *rl)
{
	return rl->ended && !rl->busy && LIST_EMPTY(&rl->waiters);
}

/*
 * A reader: its cursor at since + 1 (or the first record kept); cb(arg)
 * when more may be read or the log ends.
 */
void
rlog_reader_start(struct rlog *rl, struct log_waiter *w, uint64_t since,
    void (*cb)(void *), void *arg)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->lost_to = 0;
	w->rl = rl;
	w->cb = cb;
	w->arg = arg;
	w->next = since + 1;
	if (since == 0 && rl->nsegs > 0)
		w->next = rl->segs[0].first;
	LIST_INSERT_HEAD(&rl->waiters, w, entry);
}

/* Returns the log if it has ended and has no other reader. */
struct rlog *
log_reader_stop(struct log_waiter *w)
{
	struct rlog	*rl = w->rl;

	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	if (rl == NULL)
		return NULL;
	LIST_REMOVE(w, entry);
	w->rl = NULL;
	return rlog_idle(rl) ? rl : NULL;
}

/* Will more come? Not once the log has ended. */
int
log_live(const struct log_waiter *w)
{
	return w->rl != NULL && !w->rl->ended;
}

/* The fd to read sg through: the log's for the last, else the reader's. */
static int
seg_fd(struct rlog *rl, struct log_waiter *w, struct rlog_seg *sg)
{
	char	 name[32];

	if (sg->fd != -1)
		return sg->fd;
	if (w->fd != -1 && w->fdseg == sg->first)
		return w->fd;
	if (w->fd != -1)
		close(w->fd);
	snprintf(name, sizeof(name), "%llu", (unsigned long long)sg->first);
	w->fdseg = sg->first;
	if ((w->fd = openat(rl->dirfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1 && errno != ENOENT)
		log_warn("%s: %s", rl->what, name);
	return w->fd;
}

/*
 * The records after the cursor, to fn, up to about budget bytes; a
 * cursor behind the oldest record kept gets a gap first. Returns the
 * bytes read, 0 once caught up.
 */
size_t
log_read(struct log_waiter *w, size_t budget,
    void (*fn)(const struct logrec *, void *), void *arg)
{
	struct rlog	*rl = w->rl;
	struct logrec	 lr;
	struct rec	 r;
	struct rlog_seg	*sg;
	size_t		 i, k, done = 0;
	int64_t		 end;
	ssize_t		 n;
	int		 fd;

	if (rl == NULL && w->next < w->lost_to) {
		/* Its log went before it read all: said, never silent. */
		memset(&lr, 0, sizeof(lr));
		lr.gap_from = w->next;
		lr.gap_to = w->lost_to - 1;
		w->next = w->lost_to;
		fn(&lr, arg);
		return 0;
	}
	if (rl == NULL || rl->nsegs == 0)
		return 0;
	while (done < budget) {
		if (w->next < rl->segs[0].first) {
			memset(&lr, 0, sizeof(lr));
			lr.gap_from = w->next;
			lr.gap_to = rl->segs[0].first - 1;
			fn(&lr, arg);
			w->next = rl->segs[0].first;
			w->seg = w->next;
			w->off = 0;
		}
		/* Its segment: the last one that begins at or before next. */
		for (i = rl->nsegs; i > 1; i--)
			if (rl->segs[i - 1].first <= w->next)
				break;
		sg = &rl->segs[i - 1];
		if (w->seg != sg->first) {
			w->seg = sg->first;
			w->off = 0;
		}
		end = sg->size;
		if (w->off >= end) {
			if (i == rl->nsegs || w->next < rl->segs[i].first)
				break;
			w->next = rl->segs[i].first;
			continue;
		}
		if ((fd = seg_fd(rl, w, sg)) == -1)
			n = -1;
		else
			n = pread(fd, rbuf, (size_t)(end - w->off) <
			    sizeof(rbuf) ? (size_t)(end - w->off) :
			    sizeof(rbuf), w->off);
		if (n <= 0) {
			/* Gone under it (rotated away): go on past it. */
			if (i == rl->nsegs)
				break;
			w->off = end;
			w->next = rl->segs[i].first;
			continue;
		}
		for (k = 0; k < (size_t)n; k += rec_size(&r)) {
			if (rec_parse(rbuf + k, (size_t)n - k, &r) == -1)
				break;
			if (r.seq < w->next)
				continue;
			memset(&lr, 0, sizeof(lr));
			lr.seq = r.seq;
			lr.time = r.time;
			lr.task = r.task;
			lr.flags = r.flags;
			lr.aux = r.aux;
			memcpy(lr.name, rbuf + k + sizeof(r), r.nlen);
			lr.name[r.nlen] = '\0';
			lr.data = rbuf + k + sizeof(r) + r.nlen;
			lr.len = r.len;
			fn(&lr, arg);
			w->next = r.seq + 1;
		}
		if (k == 0) {
			/* Not a record: the rest of this segment is lost. */
			log_warnx("%s: segment %llu: bad record at byte %lld",
			    rl->what, (unsigned long long)sg->first,
			    (long long)w->off);
			w->off = end;
			if (i < rl->nsegs)
				w->next = rl->segs[i].first;
			continue;
		}
		w->off += (int64_t)k;
		done += k;
	}
	return done;
}
