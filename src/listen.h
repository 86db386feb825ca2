/*
 * listen.h: listening addresses, their parsing and binding, inherited
 * sockets (LISTEN_FDS) and the default socket path. Shared by jobd,
 * jobinit and jobctl; depends on libc alone.
 */
#ifndef LISTEN_H
#define LISTEN_H

#include <sys/types.h>
#include <sys/socket.h>

#define LISTEN_ERRLEN	256
/* jobinit passes up to 65,536 stored fds besides its sockets. */
#define LISTEN_MAXFDS	(65536 + 4096)
#define LISTEN_ADDRLEN	160	/* "unix:" + sun_path, or tcp:[v6]:port */

/* Flags for listen_bind and listen_inherit. */
#define LISTEN_NONBLOCK	0x1	/* set O_NONBLOCK on the socket */
#define LISTEN_CHECK	0x2	/* inherited fds must be listening streams */
#define LISTEN_HELD	0x4	/* but "jobinit" and "sN.JOB" are held fds */
#define LISTEN_IS_HELD	2	/* lsock.inherited of such an fd */

struct laddr {
	int			family;		/* AF_UNIX, AF_INET, AF_INET6 */
	int			socktype;	/* SOCK_STREAM or SOCK_DGRAM */
	struct sockaddr_storage	ss;
	socklen_t		sslen;
};

struct lsock {
	int	 fd;
	int	 inherited;
	char	*address;	/* canonical text: unix:/p, tcp:127.0.0.1:80 */
	char	*name;
	char	*path;		/* unix socket file we bound; unlinked */
	dev_t	 dev;
	ino_t	 ino;
};

int	listen_parse(const char *, struct laddr *, char *, size_t);
int	listen_ip(const char *, int, int, struct laddr *);
int	listen_is_loopback(const struct laddr *);
int	listen_bind(const struct laddr *, mode_t, int, struct lsock *,
	    char *, size_t);
int	listen_inherit(int, struct lsock **, int *, char *, size_t);
void	listen_shut(struct lsock *);
void	listen_close(struct lsock *);
int	listen_format(const struct sockaddr *, socklen_t, int, char *,
	    size_t);
int	listen_add(struct laddr **, int *, const char *, char *, size_t);
int	listen_check_remote(const struct laddr *, int, char *, size_t);
int	listen_parse_mode(const char *, mode_t *);
int	listen_valid_name(const char *);
int	listen_default(char *, size_t);
int	listen_default_dir(const char *, char *, size_t);

#endif
