/*
 * fd.c: the fd types a task can ask for, as a table of behaviour. Each row
 * is a type: its name, its fields, and what it does at each stage: check
 * at PUT, hold (bind a socket, open a pipe's far end) for the job's life,
 * open in the child, describe in the status, release at the end. A type
 * not in the table is "not implemented" (501); adding one is a row and
 * its functions, here.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "jobd.h"

struct fdmode {
	const char	*name;
	int		 flags;
};

static const struct fdmode filemodes[] = {
	{ "r", O_RDONLY },
	{ "w", O_WRONLY | O_CREAT | O_TRUNC },
	{ "a", O_WRONLY | O_CREAT | O_APPEND },
	{ "rw", O_RDWR | O_CREAT },
	{ NULL, 0 }
};

static const struct fdmode pipemodes[] = {
	{ "r", O_RDONLY },
	{ "w", O_WRONLY },
	{ NULL, 0 }
};

/* Every field an fd entry may have, besides "type". */
static const struct fdfield fdfields[] = {
	{ "path",	0, offsetof(struct fdspec, path) },
	{ "mode",	0, offsetof(struct fdspec, mode) },
	{ "bind",	0, offsetof(struct fdspec, bind) },
	{ "port",	1, offsetof(struct fdspec, port) },
	{ "protocol",	0, offsetof(struct fdspec, protocol) },
	{ "name",	0, offsetof(struct fdspec, name) },
	{ "stream",	0, offsetof(struct fdspec, stream) },
};

#define F(name)	(1U << FDF_##name)
enum { FDF_PATH, FDF_MODE, FDF_BIND, FDF_PORT, FDF_PROTOCOL, FDF_NAME,
    FDF_STREAM };

static int	 devnull = -1;	/* every null entry's source */

static int	 file_check(struct fdspec *, const struct jpath *,
		    struct jerr *);
static int	 file_open(const struct fdspec *, int);
static int	 pipe_hold(const struct task *, struct fdspec *,
		    struct jsock *, char *, size_t);
static int	 pipe_same(const struct jsock *, const struct fdspec *);
static int	 pipe_open(const struct fdspec *, int);
static int	 unix_check(struct fdspec *, const struct jpath *,
		    struct jerr *);
static int	 unix_hold(const struct task *, struct fdspec *,
		    struct jsock *, char *, size_t);
static int	 unix_same(const struct jsock *, const struct fdspec *);
static int	 net_check(struct fdspec *, const struct jpath *,
		    struct jerr *);
static int	 net_hold(const struct task *, struct fdspec *,
		    struct jsock *, char *, size_t);
static int	 net_same(const struct jsock *, const struct fdspec *);
static int	 held_open(const struct fdspec *, int);
static int	 null_open(const struct fdspec *, int);
static int	 log_check(struct fdspec *, const struct jpath *,
		    struct jerr *);
static int	 log_hold(const struct task *, struct fdspec *,
		    struct jsock *, char *, size_t);
static int	 log_same(const struct jsock *, const struct fdspec *);
static void	 sock_describe(struct buf *, const struct jsock *);
static void	 unstore(const struct job *);

/*
 * The types, indexed by enum fd_kind. check runs at PUT after the fields
 * are read; hold, if any, takes a held fd (same finds one an earlier
 * entry of the job took for the same address); open runs in the child
 * (async-signal-safe: it gets the held fd, if any); describe writes the
 * entry in the status's "sockets"; a listen type counts in LISTEN_FDS.
 */
static const struct fdtype {
	const char		*name;
	unsigned		 allowed;
	unsigned		 required;
	const struct fdmode	*modes;
	const char		*modelist;
	int			 listen;
	int			(*check)(struct fdspec *, const struct jpath *,
				    struct jerr *);
	int			(*hold)(const struct task *, struct fdspec *,
				    struct jsock *, char *, size_t);
	int			(*same)(const struct jsock *,
				    const struct fdspec *);
	int			(*open)(const struct fdspec *, int);
	void			(*describe)(struct buf *,
				    const struct jsock *);
} fdtypes[] = {
	[FD_FILE] = { "file", F(PATH) | F(MODE), F(PATH) | F(MODE),
	    filemodes, "r, w, a or rw", 0, file_check, NULL, NULL,
	    file_open, NULL },
	[FD_PIPE] = { "pipe", F(PATH) | F(MODE), F(PATH) | F(MODE),
	    pipemodes, "r or w", 0, file_check, pipe_hold, pipe_same,
	    pipe_open, NULL },
	[FD_UNIX] = { "unix socket", F(PATH) | F(NAME), F(PATH), NULL, NULL,
	    1, unix_check, unix_hold, unix_same, held_open, sock_describe },
	[FD_NET] = { "network socket",
	    F(BIND) | F(PORT) | F(PROTOCOL) | F(NAME), F(BIND) | F(PORT),
	    NULL, NULL, 1, net_check, net_hold, net_same, held_open,
	    sock_describe },
	[FD_NULL] = { "null", 0, 0, NULL, NULL, 0, NULL, NULL, NULL,
	    null_open, NULL },
	[FD_LOG] = { "log", F(STREAM), 0, NULL, NULL, 0, log_check, log_hold,
	    log_same, held_open, NULL },
};

#define fd_fail(e, path, field, ...) \
	jpath_fail((e), 400, &(const struct jpath){ (path), (field), 0 }, \
	    __VA_ARGS__)

void
fd_init(void)
{
	if (devnull == -1 &&
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		log_warn("/dev/null");
}

const char *
fd_kind_name(enum fd_kind kind)
{
	return kind < nitems(fdtypes) ? fdtypes[kind].name : "closed";
}

int
fd_kind_lookup(const char *name, enum fd_kind *kind)
{
	size_t	 i;

	for (i = 0; i < nitems(fdtypes); i++) {
		if (strcmp(fdtypes[i].name, name) == 0) {
			*kind = (enum fd_kind)i;
			return 0;
		}
	}
	return -1;
}

/* The supported types, for the 501 sentence, from the table. */
const char *
fd_supported(void)
{
	static char	 list[256];
	size_t		 i, n = 0;

	if (list[0] != '\0')
		return list;
	for (i = 0; i < nitems(fdtypes); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
		    i == 0 ? "" : i + 1 == nitems(fdtypes) ? " or " : ", ",
		    fdtypes[i].name);
	return list;
}

/* A field any type has, or NULL: then the key is unknown. */
const struct fdfield *
fd_field(const char *key, int *index)
{
	size_t	 i;

	for (i = 0; i < nitems(fdfields); i++) {
		if (strcmp(fdfields[i].key, key) == 0) {
			*index = (int)i;
			return &fdfields[i];
		}
	}
	return NULL;
}

int
fd_field_allowed(enum fd_kind kind, int index)
{
	return (fdtypes[kind].allowed >> index) & 1;
}

/* The first required field of the type that seen lacks, or NULL. */
const char *
fd_field_missing(enum fd_kind kind, unsigned seen)
{
	size_t	 i;

	for (i = 0; i < nitems(fdfields); i++)
		if ((fdtypes[kind].required >> i & 1) && !(seen >> i & 1))
			return fdfields[i].key;
	return NULL;
}

int
fd_is_listen(const struct fdspec *f)
{
	return f->kind < nitems(fdtypes) && fdtypes[f->kind].listen;
}

/*
 * The checks that depend on the type, once json.c has the fields; path
 * is the entry's JSON path.
 */
int
fd_check(struct fdspec *f, const struct jpath *path, struct jerr *e)
{
	const struct fdtype	*t = &fdtypes[f->kind];
	size_t			 i;

	if (t->modes != NULL) {
		for (i = 0; t->modes[i].name != NULL; i++)
			if (strcmp(t->modes[i].name, f->mode) == 0)
				break;
		if (t->modes[i].name == NULL)
			return fd_fail(e, path, "mode", "mode must be %s",
			    t->modelist);
		f->flags = t->modes[i].flags;
	}
	if (f->name != NULL && !listen_valid_name(f->name))
		return fd_fail(e, path, "name", "name must be 1 to 255 "
		    "printable characters without spaces or ':'");
	return t->check != NULL ? t->check(f, path, e) : 0;
}

static int
file_check(struct fdspec *f, const struct jpath *path, struct jerr *e)
{
	if (f->path[0] != '/')
		return fd_fail(e, path, "path", "path must be absolute, "
		    "not \"%s\"", f->path);
	return 0;
}

static int
unix_check(struct fdspec *f, const struct jpath *path, struct jerr *e)
{
	struct sockaddr_un	 sun;

	if (file_check(f, path, e) == -1)
		return -1;
	if (strlen(f->path) >= sizeof(sun.sun_path))
		return fd_fail(e, path, "path", "a unix socket path has "
		    "at most 107 bytes");
	return 0;
}

static int
net_check(struct fdspec *f, const struct jpath *path, struct jerr *e)
{
	struct laddr	 la;

	f->socktype = SOCK_STREAM;
	if (f->protocol != NULL) {
		if (strcmp(f->protocol, "udp") == 0)
			f->socktype = SOCK_DGRAM;
		else if (strcmp(f->protocol, "tcp") != 0)
			return fd_fail(e, path, "protocol", "protocol must "
			    "be \"tcp\" or \"udp\"");
	}
	if (f->port < 0 || f->port > 65535)
		return fd_fail(e, path, "port", "port must be an "
		    "integer from 0 to 65535");
	if (listen_ip(f->bind, f->port, f->socktype, &la) == -1)
		return fd_fail(e, path, "bind", "bind must be an "
		    "IP address or localhost, not \"%s\"", f->bind);
	return 0;
}

/*
 * A log entry: not on fd 0; its stream named stdout, stderr or fdN by
 * default, else by a name that can be a query value.
 */
static int
log_check(struct fdspec *f, const struct jpath *path, struct jerr *e)
{
	char	 def[16];

	/* Its path is tasks[i].fds[N]: the index is the fd. */
	if (path->index == 0)
		return fd_fail(e, path, "type", "a log is written: it cannot "
		    "be fd 0");
	if (f->stream == NULL) {
		if (path->index <= 2)
			snprintf(def, sizeof(def), "%s", path->index == 1 ?
			    "stdout" : "stderr");
		else
			snprintf(def, sizeof(def), "fd%d", path->index);
		if ((f->stream = strdup(def)) == NULL)
			return err_set(e, 500, -1, -1, NULL, "out of memory");
		return 0;
	}
	if (!log_stream_valid(f->stream))
		return fd_fail(e, path, "stream", "stream must be 1 to 32 of "
		    "A-Z a-z 0-9 _ - .");
	return 0;
}

/* Each log entry is a pipe of its own. */
static int
log_same(const struct jsock *s, const struct fdspec *f)
{
	return 0;
}

/* The pipe, made now: jobd holds its read end for the job's life. */
static int
log_hold(const struct task *t, struct fdspec *f, struct jsock *s,
    char *err, size_t errlen)
{
	if (log_pipe(s, err, errlen) == -1)
		return -1;
	if (asprintf(&s->ls.address, "log:%d.%d:%s", s->task, s->fdnum,
	    f->stream) == -1) {
		s->ls.address = NULL;
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

static int
net_same(const struct jsock *s, const struct fdspec *f)
{
	char		 addr[LISTEN_ADDRLEN];
	struct laddr	 la;

	if (f->port == 0 ||
	    listen_ip(f->bind, f->port, f->socktype, &la) == -1)
		return 0;
	listen_format((struct sockaddr *)&la.ss, la.sslen, la.socktype,
	    addr, sizeof(addr));
	return strcmp(s->ls.address, addr) == 0;
}

static int
unix_same(const struct jsock *s, const struct fdspec *f)
{
	return s->ls.path != NULL && strcmp(s->ls.path, f->path) == 0;
}

static int
pipe_same(const struct jsock *s, const struct fdspec *f)
{
	return s->mode == (f->flags & O_ACCMODE) &&
	    strcmp(s->ls.address + 5, f->path) == 0;
}

/* Entries for the same address in one job are one socket or pipe end. */
static struct jsock *
hold_find(struct job *j, const struct fdspec *f)
{
	const struct fdtype	*t = &fdtypes[f->kind];
	struct jsock		*s;
	int			 i;

	for (i = 0; i < j->nsocks; i++) {
		s = &j->socks[i];
		if (s->kind == f->kind && s->ls.address != NULL &&
		    t->same(s, f))
			return s;
	}
	return NULL;
}

/*
 * A named pipe: created 0600 (and given to the task's user) if missing,
 * and its far end opened here without blocking and held, so that the
 * task's own open never blocks, a writer never gets SIGPIPE while its
 * reader restarts and a reader never sees EOF while its writer does (the
 * way s6-svscan holds logger pipes). A pipe jobd created is removed if
 * the PUT fails.
 */
static int
pipe_hold(const struct task *t, struct fdspec *f, struct jsock *s,
    char *err, size_t errlen)
{
	struct stat	 st;
	char		 v[128];
	int		 tmp = -1, fd;

	err_value(f->path, v, sizeof(v));
	if (mkfifo(f->path, 0600) == 0) {
		if ((s->ls.path = strdup(f->path)) == NULL) {
			unlink(f->path);
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			return -1;
		}
		if (t->set_ids && chown(f->path, t->uid, t->gid) == -1) {
			snprintf(err, errlen, "chown %s: %s", v,
			    strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "mkfifo %s: %s", v, strerror(errno));
		return -1;
	}
	if (stat(f->path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", v, strerror(errno));
		return -1;
	}
	if (!S_ISFIFO(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a named pipe", v);
		return -1;
	}
	s->ls.dev = st.st_dev;
	s->ls.ino = st.st_ino;
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	else {
		/* A writer may only open once a reader exists. */
		tmp = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		fd = tmp == -1 ? -1 :
		    open(f->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (tmp != -1)
			close(tmp);
	}
	if (fd == -1) {
		snprintf(err, errlen, "open %s: %s", v, strerror(errno));
		return -1;
	}
	s->ls.fd = fd;
	s->mode = f->flags & O_ACCMODE;
	if (asprintf(&s->ls.address, "pipe:%s", f->path) == -1) {
		s->ls.address = NULL;
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

static int
unix_hold(const struct task *t, struct fdspec *f, struct jsock *s,
    char *err, size_t errlen)
{
	struct sockaddr_un	*sun;
	struct laddr		 la;
	mode_t			 mask;

	memset(&la, 0, sizeof(la));
	sun = (struct sockaddr_un *)&la.ss;
	sun->sun_family = AF_UNIX;
	strncpy(sun->sun_path, f->path, sizeof(sun->sun_path) - 1);
	la.family = AF_UNIX;
	la.socktype = SOCK_STREAM;
	la.sslen = sizeof(*sun);
	mask = umask(0);
	umask(mask);
	return listen_bind(&la, 0666 & ~mask, 0, &s->ls, err, errlen);
}

static int
net_hold(const struct task *t, struct fdspec *f, struct jsock *s,
    char *err, size_t errlen)
{
	struct laddr	 la;

	if (listen_ip(f->bind, f->port, f->socktype, &la) == -1) {
		snprintf(err, errlen, "bad address %s", f->bind);
		return -1;
	}
	return listen_bind(&la, 0, 0, &s->ls, err, errlen);
}

/*
 * Bind every socket and open every pipe end that the job's tasks name,
 * before the first task starts. On failure, what was taken is given back
 * and the failing task and entry are in e.
 */
int
fd_hold(struct job *j, struct jerr *e)
{
	struct task	*t;
	struct fdspec	*f;
	struct jsock	*s;
	char		 err[LISTEN_ERRLEN];
	int		 i, k, n = 0;

	for (i = 0; i < j->ntasks; i++)
		for (k = 0; k < j->tasks[i].nfds; k++)
			if (j->tasks[i].fds[k].kind < nitems(fdtypes) &&
			    fdtypes[j->tasks[i].fds[k].kind].hold != NULL)
				n++;
	if (n == 0)
		return 0;
	if ((j->socks = calloc((size_t)n, sizeof(*j->socks))) == NULL)
		return err_set(e, 500, -1, -1, NULL, "out of memory");
	for (i = 0; i < j->ntasks; i++) {
		t = &j->tasks[i];
		for (k = 0; k < t->nfds; k++) {
			f = &t->fds[k];
			if (f->kind >= nitems(fdtypes) ||
			    fdtypes[f->kind].hold == NULL)
				continue;
			if ((f->sock = hold_find(j, f)) != NULL)
				continue;
			s = &j->socks[j->nsocks++];
			s->ls.fd = -1;
			s->wfd = -1;
			s->kind = f->kind;
			s->task = i;
			s->fdnum = k;
			if (fdtypes[f->kind].hold(t, f, s, err,
			    sizeof(err)) == -1) {
				err_set(e, 422, i, k, NULL, "%s", err);
				fd_undo(j);
				return -1;
			}
			if (f->name != NULL &&
			    (s->ls.name = strdup(f->name)) == NULL) {
				err_set(e, 500, i, k, NULL, "out of memory");
				fd_undo(j);
				return -1;
			}
			f->sock = s;
		}
	}
	return 0;
}

/*
 * In the child, between clone and exec: the fd entry f opened as the
 * task's user, or the held fd given. Async-signal-safe; -1 with errno.
 */
__attribute__((no_sanitize("address", "undefined")))
int
fd_open_child(const struct fdspec *f, int held)
{
	return fdtypes[f->kind].open(f, held);
}

__attribute__((no_sanitize("address", "undefined")))
static int
blocking(int fd)
{
	int	 fl;

	if (fd == -1)
		return -1;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		fl = errno;
		close(fd);
		errno = fl;
		return -1;
	}
	return fd;
}

/* Opened without blocking on a FIFO or device, then made blocking. */
__attribute__((no_sanitize("address", "undefined")))
static int
file_open(const struct fdspec *f, int held)
{
	return blocking(open(f->path, f->flags | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK, 0644));
}

__attribute__((no_sanitize("address", "undefined")))
static int
pipe_open(const struct fdspec *f, int held)
{
	return blocking(open(f->path, (f->flags & O_ACCMODE) | O_CLOEXEC |
	    O_NONBLOCK));
}

__attribute__((no_sanitize("address", "undefined")))
static int
held_open(const struct fdspec *f, int held)
{
	return held;
}

__attribute__((no_sanitize("address", "undefined")))
static int
null_open(const struct fdspec *f, int held)
{
	return devnull != -1 ? devnull : open("/dev/null",
	    O_RDWR | O_CLOEXEC | O_NOCTTY);
}

/* Does the child close what fd_open_child gave it once it is in place? */
int
fd_child_owned(int fd, int held)
{
	return fd != held && fd != devnull;
}

static void
sock_describe(struct buf *b, const struct jsock *s)
{
	w_key(b, "fd", 1);
	w_int(b, s->fdnum);
	w_key(b, "task", 0);
	w_int(b, s->task);
	w_key(b, "address", 0);
	w_str(b, s->ls.address);
	w_key(b, "name", 0);
	w_str(b, s->ls.name != NULL ? s->ls.name : "socket");
}

/* The status's "sockets": what the job holds that its types describe. */
void
fd_describe(struct buf *b, const struct job *j)
{
	const struct jsock	*s;
	int			 i, first = 1;

	buf_add(b, "[", 1);
	for (i = 0; i < j->nsocks; i++) {
		s = &j->socks[i];
		if (fdtypes[s->kind].describe == NULL || s->ls.address == NULL)
			continue;
		buf_add(b, first ? "{" : ",{", first ? 1 : 2);
		first = 0;
		fdtypes[s->kind].describe(b, s);
		buf_add(b, "}", 1);
	}
	buf_add(b, "]", 1);
}

/*
 * Close what the job holds when it ends; unix socket files it bound are
 * removed. The addresses stay for the job's status until fd_free.
 */
void
fd_release(struct job *j)
{
	int	 i;

	unstore(j);
	for (i = 0; i < j->nsocks; i++) {
		log_free_pipe(&j->socks[i]);
		if (j->socks[i].kind == FD_PIPE) {
			/* A FIFO stays: it is the user's file, not jobd's. */
			free(j->socks[i].ls.path);
			j->socks[i].ls.path = NULL;
		}
		listen_shut(&j->socks[i].ls);
	}
}

/*
 * A PUT that failed: what it created goes too. Socket files and the
 * FIFOs jobd made keep their path (only those), so closing removes them.
 */
void
fd_undo(struct job *j)
{
	int	 i;

	unstore(j);
	for (i = 0; i < j->nsocks; i++) {
		log_free_pipe(&j->socks[i]);
		listen_shut(&j->socks[i].ls);
	}
}

void
fd_free(struct job *j)
{
	int	 i, k;

	for (i = 0; i < j->nsocks; i++) {
		log_free_pipe(&j->socks[i]);
		listen_close(&j->socks[i].ls);
	}
	free(j->socks);
	j->socks = NULL;
	j->nsocks = 0;
	for (i = 0; i < j->ntasks; i++)
		for (k = 0; k < j->tasks[i].nfds; k++)
			j->tasks[i].fds[k].sock = NULL;
}

void
fd_spec_clear(struct fdspec *f)
{
	free(f->path);
	free(f->mode);
	free(f->bind);
	free(f->protocol);
	free(f->name);
	free(f->stream);
}

static struct jsock *
next_unset(struct job *j)
{
	int	 i;

	for (i = 0; i < j->nsocks; i++)
		if (j->socks[i].kind == FD_NULL)
			return &j->socks[i];
	return NULL;
}

/*
 * A job loaded from the state directory: its held fds as they were, in
 * the order fd_hold took them, with their addresses, and no fd yet
 * (fd_take gives each back from jobinit's store or a re-exec). A job
 * without its definitions (finished) keeps the addresses alone.
 */
int
fd_restore(struct job *j, int n, const char *const *addr,
    const char *const *path)
{
	struct fdspec	*f;
	struct jsock	*s;
	int		 i, k;

	if ((j->socks = calloc((size_t)n, sizeof(*j->socks))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		s = &j->socks[i];
		s->ls.fd = -1;
		s->wfd = -1;
		if ((addr[i] != NULL &&
		    (s->ls.address = strdup(addr[i])) == NULL) ||
		    (path[i] != NULL && (s->ls.path = strdup(path[i])) == NULL))
			return -1;
		s->kind = FD_NULL;
	}
	j->nsocks = n;
	for (i = 0; i < j->ntasks; i++) {
		for (k = 0; k < j->tasks[i].nfds; k++) {
			f = &j->tasks[i].fds[k];
			if (f->kind >= nitems(fdtypes) ||
			    fdtypes[f->kind].hold == NULL)
				continue;
			if ((f->sock = hold_find(j, f)) != NULL)
				continue;
			if ((s = next_unset(j)) == NULL)
				return -1;
			s->kind = f->kind;
			s->task = i;
			s->fdnum = k;
			s->mode = f->flags & O_ACCMODE;
			if (f->name != NULL &&
			    (s->ls.name = strdup(f->name)) == NULL)
				return -1;
			f->sock = s;
		}
	}
	/* Without definitions: the addresses tell the kinds, for the status. */
	for (i = 0; i < n; i++)
		if (j->socks[i].kind == FD_NULL && j->socks[i].ls.address &&
		    strncmp(j->socks[i].ls.address, "log:", 4) == 0)
			j->socks[i].kind = FD_LOG;
		else if (j->socks[i].kind == FD_NULL &&
		    j->socks[i].ls.address &&
		    strncmp(j->socks[i].ls.address, "pipe:", 5) != 0)
			j->socks[i].kind = FD_NET;
		else if (j->socks[i].kind == FD_NULL)
			j->socks[i].kind = FD_PIPE;
	return 0;
}

/* The name of held fd k of job j in jobinit's store: "s<k>.<job>". */
void
fd_store_name(const struct job *j, int k, char *out, size_t size)
{
	snprintf(out, size, "s%d.%s", k, j->name);
}

/* Held fd k of a loaded job, given back. */
void
fd_take(struct job *j, int k, int fd)
{
	struct jsock	*s;
	struct stat	 st;

	if (k < 0 || k >= j->nsocks || j->socks[k].ls.fd != -1) {
		close(fd);
		return;
	}
	s = &j->socks[k];
	s->ls.fd = fd;
	/* The file to remove at the end is the one there now. */
	if (s->ls.path != NULL && stat(s->ls.path, &st) == 0) {
		s->ls.dev = st.st_dev;
		s->ls.ino = st.st_ino;
	}
}

/* Every fd the job holds, into jobinit's store (or out of it). */
static void
store_all(const struct job *j, int keep)
{
	char	 name[128];
	int	 i;

	for (i = 0; i < j->nsocks; i++) {
		if (j->socks[i].ls.fd == -1)
			continue;
		fd_store_name(j, i, name, sizeof(name));
		if (keep)
			ctl_store(name, j->socks[i].ls.fd);
		else
			ctl_remove(name);
	}
}

/* For the next jobd: what the job holds, in jobinit's hands too. */
void
fd_store(const struct job *j)
{
	store_all(j, 1);
}

static void
unstore(const struct job *j)
{
	store_all(j, 0);
}
