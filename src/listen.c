/*
 * listen.c: the addresses jobd serves on. Parses --listen syntax, binds
 * unix and inet sockets (replacing stale unix sockets, refusing live
 * ones), takes over sockets passed by a parent with the LISTEN_FDS
 * protocol, and knows the default socket path. Used by all three programs.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * An IP literal and a port to a socket address. IPv6 may be written with
 * or without brackets. Returns -1 for anything that is not a literal.
 */
int
listen_ip(const char *host, int port, int socktype, struct laddr *la)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&la->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&la->ss;
	char			 buf[INET6_ADDRSTRLEN + 2];
	size_t			 len = strlen(host);

	memset(la, 0, sizeof(*la));
	la->socktype = socktype;
	if (port < 0 || port > 65535)
		return -1;
	/* The one name taken everywhere an address is: IPv4 loopback. */
	if (strcmp(host, "localhost") == 0) {
		host = "127.0.0.1";
		len = strlen(host);
	}
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		if (len - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		host = buf;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
	} else if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		la->family = AF_INET;
		la->sslen = sizeof(*sin);
		return 0;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return -1;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	la->family = AF_INET6;
	la->sslen = sizeof(*sin6);
	return 0;
}

/*
 * Parse "unix:/abs/path", "/abs/path", "tcp:HOST:PORT" or
 * "tcp:[V6]:PORT". HOST is an IP literal or "localhost". Pure: no
 * system state is read or changed.
 */
int
listen_parse(const char *spec, struct laddr *la, char *err, size_t errlen)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&la->ss;
	char			 host[INET6_ADDRSTRLEN + 3];
	const char		*p, *colon;
	unsigned long		 port;
	size_t			 len;

	memset(la, 0, sizeof(*la));
	la->socktype = SOCK_STREAM;
	if (strncmp(spec, "unix:", 5) == 0 || spec[0] == '/') {
		p = spec[0] == '/' ? spec : spec + 5;
		if (p[0] != '/') {
			snprintf(err, errlen, "%s: unix socket path must be "
			    "absolute", spec);
			return -1;
		}
		len = strlen(p);
		if (len >= sizeof(sun->sun_path)) {
			snprintf(err, errlen, "%s: unix socket path longer "
			    "than %zu bytes", spec, sizeof(sun->sun_path) - 1);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, p, len + 1);
		la->family = AF_UNIX;
		la->sslen = offsetof(struct sockaddr_un, sun_path) + len + 1;
		return 0;
	}
	if (strncmp(spec, "tcp:", 4) != 0) {
		snprintf(err, errlen, "%s: address must start with unix:, "
		    "tcp: or /", spec);
		return -1;
	}
	p = spec + 4;
	if ((colon = strrchr(p, ':')) == NULL || colon == p) {
		snprintf(err, errlen, "%s: expected tcp:HOST:PORT", spec);
		return -1;
	}
	if (parse_uint(colon + 1, 65535, &port) == -1) {
		snprintf(err, errlen, "%s: bad port \"%s\"", spec, colon + 1);
		return -1;
	}
	len = (size_t)(colon - p);
	if (len >= sizeof(host)) {
		snprintf(err, errlen, "%s: bad host", spec);
		return -1;
	}
	memcpy(host, p, len);
	host[len] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (strchr(host, ':') != NULL && host[0] != '[') {
		snprintf(err, errlen, "%s: IPv6 addresses are written in "
		    "brackets, tcp:[::1]:PORT", spec);
		return -1;
	}
	if (listen_ip(host, (int)port, SOCK_STREAM, la) == -1) {
		snprintf(err, errlen, "%s: host must be an IP address or "
		    "localhost", spec);
		return -1;
	}
	return 0;
}

/* Parse one more --listen ADDR onto a growing array. */
int
listen_add(struct laddr **v, int *n, const char *spec, char *err,
    size_t errlen)
{
	struct laddr	*p;

	if ((p = reallocarray(*v, (size_t)*n + 1, sizeof(**v))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	*v = p;
	if (listen_parse(spec, &p[*n], err, errlen) == -1)
		return -1;
	(*n)++;
	return 0;
}

/*
 * Without --allow-remote, every TCP address must be loopback: whoever
 * reaches the socket controls every job.
 */
int
listen_check_remote(const struct laddr *v, int n, char *err, size_t errlen)
{
	char	 addr[LISTEN_ADDRLEN];
	int	 i;

	for (i = 0; i < n; i++) {
		if (listen_is_loopback(&v[i]))
			continue;
		listen_format((const struct sockaddr *)&v[i].ss, v[i].sslen,
		    SOCK_STREAM, addr, sizeof(addr));
		snprintf(err, errlen, "%s is not a loopback address: anyone "
		    "who can reach it controls every job (use --allow-remote "
		    "to insist)", addr);
		return -1;
	}
	return 0;
}

/* --socket-mode: an octal mode, at most 0777. */
int
listen_parse_mode(const char *s, mode_t *mode)
{
	unsigned long	 v;
	char		*end;

	if (*s < '0' || *s > '7')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (*end != '\0' || errno != 0 || v > 0777)
		return -1;
	*mode = (mode_t)v;
	return 0;
}

/* A name in LISTEN_FDNAMES: printable, no space, no ':' (the separator). */
int
listen_valid_name(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if (*s <= ' ' || *s >= 0x7f || *s == ':')
			return 0;
	return n > 0 && n <= 255;
}

int
listen_is_loopback(const struct laddr *la)
{
	const struct sockaddr_in	*sin = (const void *)&la->ss;
	const struct sockaddr_in6	*sin6 = (const void *)&la->ss;
	const uint8_t			*b;

	switch (la->family) {
	case AF_UNIX:
		return 1;
	case AF_INET:
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		b = sin6->sin6_addr.s6_addr;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127;
	}
	return 0;
}

int
listen_format(const struct sockaddr *sa, socklen_t len, int socktype,
    char *buf, size_t size)
{
	const struct sockaddr_un	*sun = (const void *)sa;
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;
	const char			*proto;
	char				 ip[INET6_ADDRSTRLEN];
	size_t				 plen;
	int				 n;

	proto = socktype == SOCK_DGRAM ? "udp" : "tcp";
	switch (sa->sa_family) {
	case AF_UNIX:
		plen = len > offsetof(struct sockaddr_un, sun_path) ?
		    len - offsetof(struct sockaddr_un, sun_path) : 0;
		plen = strnlen(sun->sun_path, plen);
		n = snprintf(buf, size, "unix:%.*s", (int)plen, sun->sun_path);
		break;
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		n = snprintf(buf, size, "%s:%s:%u", proto, ip,
		    ntohs(sin->sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		n = snprintf(buf, size, "%s:[%s]:%u", proto, ip,
		    ntohs(sin6->sin6_port));
		break;
	default:
		n = snprintf(buf, size, "family-%d", sa->sa_family);
		break;
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int
sock_address(int fd, int socktype, char *buf, size_t size)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	return listen_format((struct sockaddr *)&ss, len, socktype, buf, size);
}

/*
 * A unix socket file already at the path: replace it if nobody accepts
 * on it (a stale socket left by a crash), refuse if somebody does or if
 * it is not a socket at all.
 */
static int
unix_clear(const struct laddr *la, char *err, size_t errlen)
{
	const struct sockaddr_un	*sun = (const void *)&la->ss;
	struct stat			 st;
	int				 fd, r, saved;

	if (lstat(sun->sun_path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", sun->sun_path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket",
		    sun->sun_path);
		return -1;
	}
	/* Never blocking: a live server whose backlog is full is EAGAIN. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)&la->ss, la->sslen);
	saved = errno;
	close(fd);
	if (r == 0 || saved == EAGAIN) {
		snprintf(err, errlen, "%s: a running server is listening on "
		    "it", sun->sun_path);
		return -1;
	}
	if (saved != ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s", sun->sun_path,
		    strerror(saved));
		return -1;
	}
	if (unlink(sun->sun_path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "unlink %s: %s", sun->sun_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Bind (and, for streams, listen on) an address. A unix socket file gets
 * exactly the given mode: the umask is set around bind(2) so the file is
 * never more open than asked, even for an instant.
 */
int
listen_bind(const struct laddr *la, mode_t mode, int flags, struct lsock *ls,
    char *err, size_t errlen)
{
	const struct sockaddr_un	*sun = (const void *)&la->ss;
	char				 addr[LISTEN_ADDRLEN];
	struct stat			 st;
	mode_t				 mask;
	int				 fd = -1, one = 1, type, r;

	memset(ls, 0, sizeof(*ls));
	ls->fd = -1;
	listen_format((const struct sockaddr *)&la->ss, la->sslen,
	    la->socktype, addr, sizeof(addr));
	if (la->family == AF_UNIX && unix_clear(la, err, errlen) == -1)
		return -1;
	type = la->socktype | SOCK_CLOEXEC;
	if (flags & LISTEN_NONBLOCK)
		type |= SOCK_NONBLOCK;
	if ((fd = socket(la->family, type, 0)) == -1) {
		snprintf(err, errlen, "socket %s: %s", addr, strerror(errno));
		goto fail;
	}
	if (la->family != AF_UNIX && la->socktype == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) {
		snprintf(err, errlen, "SO_REUSEADDR %s: %s", addr,
		    strerror(errno));
		goto fail;
	}
	if (la->family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (la->family == AF_UNIX) {
		mask = umask(~mode & 0777);
		r = bind(fd, (const struct sockaddr *)&la->ss, la->sslen);
		umask(mask);
	} else
		r = bind(fd, (const struct sockaddr *)&la->ss, la->sslen);
	if (r == -1) {
		snprintf(err, errlen, "bind %s: %s", addr, strerror(errno));
		goto fail;
	}
	if (la->family == AF_UNIX) {
		ls->path = strdup(sun->sun_path);
		if (ls->path == NULL || chmod(sun->sun_path, mode) == -1 ||
		    stat(sun->sun_path, &st) == -1) {
			snprintf(err, errlen, "%s: %s", sun->sun_path,
			    strerror(errno));
			goto fail;
		}
		ls->dev = st.st_dev;
		ls->ino = st.st_ino;
	}
	if (la->socktype == SOCK_STREAM && listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
		goto fail;
	}
	/* Port 0 asked for any free port: show the one we got. */
	if (sock_address(fd, la->socktype, addr, sizeof(addr)) == -1 ||
	    (ls->address = strdup(addr)) == NULL) {
		snprintf(err, errlen, "%s: %s", addr, strerror(errno));
		goto fail;
	}
	ls->fd = fd;
	return 0;
fail:
	if (ls->path != NULL) {
		unlink(ls->path);
		free(ls->path);
		ls->path = NULL;
	}
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Close a socket and unlink its file if we bound it and it is still ours;
 * the address and name stay for whoever shows them.
 */
void
listen_shut(struct lsock *ls)
{
	struct stat	 st;

	if (ls->fd != -1)
		close(ls->fd);
	ls->fd = -1;
	if (ls->path != NULL && stat(ls->path, &st) == 0 &&
	    st.st_dev == ls->dev && st.st_ino == ls->ino)
		unlink(ls->path);
	free(ls->path);
	ls->path = NULL;
}

/* listen_shut, then free everything. */
void
listen_close(struct lsock *ls)
{
	listen_shut(ls);
	free(ls->address);
	free(ls->name);
	ls->path = ls->address = ls->name = NULL;
}

/*
 * Sockets passed by the parent (the LISTEN_FDS protocol, as in nbdkit's
 * socket-activation.c): taken only when LISTEN_PID is ours. The three
 * variables are removed from the environment in every case, so nothing
 * started later sees them. jobinit passes its control channel, named
 * "jobinit", after the listening sockets, and its stored fds after that:
 * those are not sockets to serve. They are left open, CLOEXEC, and not
 * returned.
 */
int
listen_inherit(int flags, struct lsock **out, int *nout, char *err,
    size_t errlen)
{
	struct lsock	*ls = NULL;
	const char	*spid, *sfds, *snames;
	char		*names = NULL, *name, *rest;
	char		 addr[LISTEN_ADDRLEN];
	unsigned long	 pid, n, i;
	struct stat	 st;
	socklen_t	 len;
	int		 fd, v, fl, held;

	*out = NULL;
	*nout = 0;
	spid = getenv("LISTEN_PID");
	sfds = getenv("LISTEN_FDS");
	snames = getenv("LISTEN_FDNAMES");
	if (spid == NULL || sfds == NULL ||
	    parse_uint(spid, INT_MAX, &pid) == -1 || (pid_t)pid != getpid() ||
	    parse_uint(sfds, LISTEN_MAXFDS, &n) == -1 || n == 0) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		return 0;
	}
	if (snames != NULL && (names = strdup(snames)) == NULL)
		goto nomem;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if ((ls = calloc(n, sizeof(*ls))) == NULL)
		goto nomem;
	/* strsep, not strtok: "a::b" names the second fd "" (then socket). */
	rest = names;
	name = rest != NULL ? strsep(&rest, ":") : NULL;
	for (i = 0; i < n; i++) {
		fd = 3 + (int)i;
		if (!(flags & LISTEN_HELD) && name != NULL &&
		    strcmp(name, "jobinit") == 0)
			break;
		ls[i].fd = fd;
		ls[i].inherited = 1;
		if (fstat(fd, &st) == -1) {
			snprintf(err, errlen, "LISTEN_FDS: fd %d: %s", fd,
			    strerror(errno));
			goto fail;
		}
		held = (flags & LISTEN_HELD) && name != NULL &&
		    (strcmp(name, "jobinit") == 0 || (name[0] == 's' &&
		    name[1] >= '0' && name[1] <= '9'));
		if (held)
			ls[i].inherited = LISTEN_IS_HELD;
		if ((flags & LISTEN_CHECK) && !held) {
			len = sizeof(v);
			if (!S_ISSOCK(st.st_mode) ||
			    getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == -1 ||
			    v != SOCK_STREAM ||
			    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v,
			    &len) == -1 || v != 1) {
				snprintf(err, errlen, "LISTEN_FDS: fd %d is "
				    "not a listening stream socket", fd);
				goto fail;
			}
		}
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
		    (fl = fcntl(fd, F_GETFL)) == -1 ||
		    ((flags & LISTEN_NONBLOCK) && !held &&
		    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)) {
			snprintf(err, errlen, "LISTEN_FDS: fd %d: %s", fd,
			    strerror(errno));
			goto fail;
		}
		if (!S_ISSOCK(st.st_mode) ||
		    sock_address(fd, SOCK_STREAM, addr, sizeof(addr)) == -1)
			snprintf(addr, sizeof(addr), "fd:%d", fd);
		if ((ls[i].address = strdup(addr)) == NULL ||
		    (ls[i].name = strdup(name != NULL && *name != '\0' ?
		    name : "socket")) == NULL)
			goto nomem;
		name = rest != NULL ? strsep(&rest, ":") : NULL;
	}
	for (fd = 3 + (int)i; fd < 3 + (int)n; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	free(names);
	if (i == 0) {
		free(ls);
		ls = NULL;
	}
	*out = ls;
	*nout = (int)i;
	return 0;
nomem:
	snprintf(err, errlen, "LISTEN_FDS: %s", strerror(ENOMEM));
fail:
	if (ls != NULL) {
		for (i = 0; i < n; i++) {
			free(ls[i].address);
			free(ls[i].name);
		}
	}
	free(ls);
	free(names);
	return -1;
}

/*
 * The default socket: $JOBD_SOCKET, else $XDG_RUNTIME_DIR/jobd.sock,
 * else /run/jobd.sock for root, else /tmp/jobd-$UID/jobd.sock.
 */
int
listen_default(char *buf, size_t size)
{
	const char	*s;
	int		 n;

	if ((s = getenv("JOBD_SOCKET")) != NULL && *s != '\0')
		n = snprintf(buf, size, "%s", s);
	else if ((s = getenv("XDG_RUNTIME_DIR")) != NULL && s[0] == '/')
		n = snprintf(buf, size, "%s/jobd.sock", s);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/run/jobd.sock");
	else
		n = snprintf(buf, size, "/tmp/jobd-%u/jobd.sock",
		    (unsigned)geteuid());
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * For the /tmp/jobd-$UID fallback: the directory must be ours and closed
 * to others, or another user could put his own socket in our way.
 */
int
listen_default_dir(const char *path, char *err, size_t errlen)
{
	char		 dir[PATH_MAX];
	struct stat	 st;
	int		 n;

	n = snprintf(dir, sizeof(dir), "/tmp/jobd-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= sizeof(dir) ||
	    strncmp(path, dir, (size_t)n) != 0 || path[n] != '/')
		return 0;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: not a directory of ours with mode "
		    "0700", dir);
		return -1;
	}
	return 0;
}
