/*
 * fd.c: the fd types a task can ask for. The table below is the whole
 * list: a type not in it is "not implemented" (501) in one place, json.c.
 * Also binds the job's sockets and opens the far ends of its named pipes
 * at PUT, and holds them until the job ends.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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

static const struct fdtype {
	const char		*name;
	enum fd_kind		 kind;
	unsigned		 allowed;
	unsigned		 required;
	const struct fdmode	*modes;
	const char		*modelist;
} fdtypes[] = {
	{ "file", FD_FILE, FDF_PATH | FDF_MODE, FDF_PATH | FDF_MODE,
	    filemodes, "r, w, a or rw" },
	{ "pipe", FD_PIPE, FDF_PATH | FDF_MODE, FDF_PATH | FDF_MODE,
	    pipemodes, "r or w" },
	{ "unix socket", FD_UNIX, FDF_PATH | FDF_NAME, FDF_PATH, NULL, NULL },
	{ "network socket", FD_NET,
	    FDF_BIND | FDF_PORT | FDF_PROTOCOL | FDF_NAME,
	    FDF_BIND | FDF_PORT, NULL, NULL },
	{ "null", FD_NULL, 0, 0, NULL, NULL },
};

const char *
fd_kind_name(enum fd_kind kind)
{
	size_t	 i;

	for (i = 0; i < nitems(fdtypes); i++)
		if (fdtypes[i].kind == kind)
			return fdtypes[i].name;
	return "closed";
}

int
fd_kind_lookup(const char *name, enum fd_kind *kind)
{
	size_t	 i;

	for (i = 0; i < nitems(fdtypes); i++) {
		if (strcmp(fdtypes[i].name, name) == 0) {
			*kind = fdtypes[i].kind;
			return 0;
		}
	}
	return -1;
}

/* The supported types, for the 501 sentence. */
const char *
fd_supported(void)
{
	return "\"file\", \"pipe\", \"unix socket\", \"network socket\", "
	    "\"null\"";
}

unsigned
fd_fields(enum fd_kind kind, unsigned *required)
{
	size_t	 i;

	for (i = 0; i < nitems(fdtypes); i++) {
		if (fdtypes[i].kind == kind) {
			*required = fdtypes[i].required;
			return fdtypes[i].allowed;
		}
	}
	*required = 0;
	return 0;
}

#define fd_fail(e, path, field, ...) \
	jpath_fail((e), 400, &(const struct jpath){ (path), (field), 0 }, \
	    __VA_ARGS__)

/*
 * The checks that depend on the type, once json.c has the fields. mode
 * is the mode string as written (or NULL); path is the entry's JSON path.
 */
int
fd_check(struct fdspec *f, const char *mode, const struct jpath *path,
    struct jerr *e)
{
	const struct fdtype	*t = NULL;
	struct sockaddr_un	 sun;
	struct laddr		 la;
	size_t			 i;

	for (i = 0; i < nitems(fdtypes); i++)
		if (fdtypes[i].kind == f->kind)
			t = &fdtypes[i];
	if (t == NULL)
		return 0;
	if (t->modes != NULL) {
		for (i = 0; t->modes[i].name != NULL; i++)
			if (strcmp(t->modes[i].name, mode) == 0)
				break;
		if (t->modes[i].name == NULL)
			return fd_fail(e, path, "mode", "mode must be %s",
			    t->modelist);
		f->flags = t->modes[i].flags;
	}
	if (f->path != NULL && f->path[0] != '/')
		return fd_fail(e, path, "path", "path must be absolute, "
		    "not \"%s\"", f->path);
	if (f->kind == FD_UNIX && strlen(f->path) >= sizeof(sun.sun_path))
		return fd_fail(e, path, "path", "a unix socket path has "
		    "at most 107 bytes");
	if (f->kind == FD_NET) {
		if (f->socktype == 0)
			f->socktype = SOCK_STREAM;
		if (f->port < 0 || f->port > 65535)
			return fd_fail(e, path, "port", "port must be an "
			    "integer from 0 to 65535");
		if (listen_ip(f->bind, f->port, f->socktype, &la) == -1)
			return fd_fail(e, path, "bind", "bind must be an "
			    "IP address, not \"%s\"", f->bind);
	}
	if (f->name != NULL && !listen_valid_name(f->name))
		return fd_fail(e, path, "name", "name must be 1 to 255 "
		    "printable characters without spaces or ':'");
	return 0;
}

/* Entries for the same address in one job are one socket or pipe end. */
static struct jsock *
hold_find(struct job *j, const struct fdspec *f)
{
	struct jsock	*s;
	char		 addr[LISTEN_ADDRLEN];
	struct laddr	 la;
	int		 i;

	if (f->kind == FD_NET) {
		if (f->port == 0 ||
		    listen_ip(f->bind, f->port, f->socktype, &la) == -1)
			return NULL;
		listen_format((struct sockaddr *)&la.ss, la.sslen, la.socktype,
		    addr, sizeof(addr));
	}
	for (i = 0; i < j->nsocks; i++) {
		s = &j->socks[i];
		if (s->kind != f->kind || s->ls.address == NULL)
			continue;
		if (f->kind == FD_NET && strcmp(s->ls.address, addr) == 0)
			return s;
		if (f->kind == FD_UNIX && s->ls.path != NULL &&
		    strcmp(s->ls.path, f->path) == 0)
			return s;
		if (f->kind == FD_PIPE && s->mode == (f->flags & O_ACCMODE) &&
		    strcmp(s->ls.address + 5, f->path) == 0)
			return s;
	}
	return NULL;
}

/*
 * A named pipe: created 0600 (and given to the task's user) if missing,
 * and its far end opened here without blocking and held, so that the
 * task's own open never blocks, a writer never gets SIGPIPE while its
 * reader restarts and a reader never sees EOF while its writer does (the
 * way s6-svscan holds logger pipes).
 */
static int
hold_pipe(const struct task *t, const struct fdspec *f, struct jsock *s,
    char *err, size_t errlen)
{
	struct stat	 st;
	int		 tmp = -1, fd;

	if (mkfifo(f->path, 0600) == 0) {
		if (t->set_ids && chown(f->path, t->uid, t->gid) == -1) {
			snprintf(err, errlen, "chown %s: %s", f->path,
			    strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "mkfifo %s: %s", f->path,
		    strerror(errno));
		return -1;
	}
	if (stat(f->path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
		return -1;
	}
	if (!S_ISFIFO(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a named pipe",
		    f->path);
		return -1;
	}
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
		snprintf(err, errlen, "open %s: %s", f->path,
		    strerror(errno));
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
hold_one(const struct task *t, struct fdspec *f, struct jsock *s, char *err,
    size_t errlen)
{
	struct sockaddr_un	*sun;
	struct laddr		 la;
	mode_t			 mask;

	switch (f->kind) {
	case FD_PIPE:
		return hold_pipe(t, f, s, err, errlen);
	case FD_UNIX:
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
	case FD_NET:
		if (listen_ip(f->bind, f->port, f->socktype, &la) == -1) {
			snprintf(err, errlen, "bad address %s", f->bind);
			return -1;
		}
		return listen_bind(&la, 0, 0, &s->ls, err, errlen);
	default:
		return 0;
	}
}

/*
 * Bind every socket and open every pipe end that the job's tasks name,
 * before the first task starts. On failure, what was taken is given back.
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
			if (j->tasks[i].fds[k].kind == FD_PIPE ||
			    j->tasks[i].fds[k].kind == FD_UNIX ||
			    j->tasks[i].fds[k].kind == FD_NET)
				n++;
	if (n == 0)
		return 0;
	if ((j->socks = calloc((size_t)n, sizeof(*j->socks))) == NULL) {
		e->status = 500;
		snprintf(e->msg, sizeof(e->msg), "out of memory");
		return -1;
	}
	for (i = 0; i < j->ntasks; i++) {
		t = &j->tasks[i];
		for (k = 0; k < t->nfds; k++) {
			f = &t->fds[k];
			if (f->kind != FD_PIPE && f->kind != FD_UNIX &&
			    f->kind != FD_NET)
				continue;
			if ((f->sock = hold_find(j, f)) != NULL)
				continue;
			s = &j->socks[j->nsocks];
			s->ls.fd = -1;
			s->kind = f->kind;
			s->task = i;
			s->fdnum = k;
			if (hold_one(t, f, s, err, sizeof(err)) == -1) {
				e->status = 422;
				snprintf(e->path, sizeof(e->path),
				    "tasks[%d].fd[%d]", i, k);
				snprintf(e->msg, sizeof(e->msg), "%s: %s",
				    e->path, err);
				listen_close(&s->ls);
				fd_free(j);
				return -1;
			}
			if (f->name != NULL &&
			    (s->ls.name = strdup(f->name)) == NULL) {
				j->nsocks++;
				e->status = 500;
				snprintf(e->msg, sizeof(e->msg), "out of memory");
				fd_free(j);
				return -1;
			}
			f->sock = s;
			j->nsocks++;
		}
	}
	return 0;
}

/*
 * Close what the job holds when it ends; unix socket files it bound are
 * removed. The addresses stay for the job's status until fd_free.
 */
void
fd_release(struct job *j)
{
	int	 i;

	for (i = 0; i < j->nsocks; i++)
		listen_shut(&j->socks[i].ls);
}

void
fd_free(struct job *j)
{
	int	 i, k;

	for (i = 0; i < j->nsocks; i++)
		listen_close(&j->socks[i].ls);
	free(j->socks);
	j->socks = NULL;
	j->nsocks = 0;
	for (i = 0; i < j->ntasks; i++)
		for (k = 0; k < j->tasks[i].nfds; k++)
			j->tasks[i].fds[k].sock = NULL;
}
