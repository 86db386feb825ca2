/*
 * jobinit.c: a minimal init in the manner of tini. It binds and holds
 * listening sockets, starts one program with them (the LISTEN_FDS
 * protocol), forwards signals to it, reaps every zombie, and starts the
 * program again when it dies on its own. Depends on libc alone.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"

#define DELAY_MIN	100	/* ms before the second quick restart */
#define DELAY_MAX	10000	/* ms: the delay doubles up to this */
#define QUICK_DEATH	1000	/* ms: a child that dies sooner backs off */
#define PID_VAR		"LISTEN_PID="
#define CHAN_NAME	"jobinit"	/* the channel's name in LISTEN_FDNAMES */
#define MSG_MAX		512	/* bytes in a message of the channel */
#define MSG_FDS		8	/* fds read with one message (one is valid) */
#define STORE_MAX	65536	/* stored fds */
#define EXITS_MAX	65536	/* exits kept until acknowledged */
#define NAMES_MAX	131072	/* one environment string (MAX_ARG_STRLEN) */

extern char	**environ;

/* An fd the child stored, handed back to it at each start. */
struct stored {
	char	*name;
	int	 fd;
};

/* A process jobinit reaped that was not the child: relayed to it. */
struct exit {
	uint64_t	 seq;
	pid_t		 pid;
	int		 status;	/* as waitpid gave it */
};

static struct lsock	*socks;		/* become fds 3.. of the child */
static int		 nsocks;
static char		**child_argv;
static char		**child_env;
static size_t		 nenv;		/* jobinit's own variables in it */
static char		*fds_var, *names_var;
/* The child writes its own pid after the '=' (see child_exec). */
static char		 pid_var[32] = PID_VAR;
static sigset_t		 waitset;
static int		 sigfd = -1;
static struct rlimit	 nofile;	/* as jobinit was started: the child's */
static int		 once, group;
/* A terminal on stdin: none, given to the child's session, or shared. */
static enum { TTY_NONE, TTY_GIVE, TTY_SHARE } tty;

static pid_t		 child = -1;
static int		 stopping;	/* TERM or INT was forwarded */
static int		 last;		/* the last child's exit status */
static long		 delay = -1;	/* ms, the last restart delay */
static struct timespec	 started, restart_at;

static struct stored	*store;		/* in the order stored */
static size_t		 nstored, store_size;
static size_t		 names_len;	/* of the stored names, ':' included */

/* A ring, oldest at exit_head; their seqs follow one another. */
static struct exit	 exits[EXITS_MAX];
static size_t		 exit_head, nexits;
static uint64_t		 next_seq = 1;

static int		 chan = -1;	/* jobinit's end, the current child's */
static int		 hello;		/* HELLO heard: exits are sent live */
static uint64_t		 send_seq;	/* the next exit to send */
static int		 ready_due;	/* READY follows the exits up to: */
static uint64_t		 ready_after;
static int		 want_out;	/* a send would have blocked */

static const char usage_text[] =
"usage: jobinit [options] [--] PROGRAM [ARGS...]\n"
"\n"
"Run PROGRAM, reap every zombie, forward signals to PROGRAM and start it\n"
"again when it fails. Sockets given with --listen, and any that jobinit\n"
"inherited itself, are passed to PROGRAM as fds 3.. (LISTEN_FDS), then\n"
"jobinit's control channel and the fds PROGRAM stored on it.\n"
"\n"
"      --listen ADDR        bind ADDR and pass it on (repeatable):\n"
"                           unix:/abs/path, /abs/path, tcp:HOST:PORT or\n"
"                           tcp:[::1]:PORT\n"
"      --fdname NAME        name the sockets of --listen, in order, in\n"
"                           LISTEN_FDNAMES (repeatable; default \"socket\")\n"
"      --socket-mode OCTAL  mode of unix sockets jobinit binds (default 0600)\n"
"      --allow-remote       allow TCP addresses that are not loopback\n"
"      --once               do not restart PROGRAM: exit when it exits\n"
"      --group              send signals to PROGRAM's whole process group\n"
"  -q, --quiet              log nothing but errors\n"
"  -V, --version            print the version and exit\n"
"  -h, --help               print this help and exit\n"
"\n"
"jobinit exits with PROGRAM's status (128 + signal number if it was\n"
"killed), 127 or 126 if PROGRAM cannot be found or executed. See\n"
"jobinit(8).\n";

static void	child_exec(int, int) __attribute__((noreturn));
static void	chan_flush(void);

static long
ms_since(const struct timespec *t)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* A signal anyone may send jobinit, as opposed to a fault of its own. */
static int
forwardable(int sig)
{
	switch (sig) {
	case SIGKILL:
	case SIGSTOP:
	case SIGCHLD:
	case SIGSEGV:
	case SIGBUS:
	case SIGILL:
	case SIGFPE:
	case SIGABRT:
	case SIGTRAP:
	case SIGSYS:
		return 0;
	}
	return 1;
}

/*
 * Make sure fds 0, 1 and 2 are open, or the first socket would land on
 * one of them and the child would take it for stdin.
 */
static void
std_fds(void)
{
	int	 fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			fatal("/dev/null");
	}
}

/*
 * Take over inherited sockets (they stay at fds 3..), close whatever
 * else jobinit was given so the child cannot inherit it, then bind: each
 * new socket gets the lowest free fd, so they follow in order.
 */
static void
sockets(struct laddr *addrs, int naddrs, char **names, int nnames,
    mode_t mode)
{
	struct lsock	*inh, *s;
	char		 err[LISTEN_ERRLEN];
	int		 ninh, i;

	if (listen_inherit(0, &inh, &ninh, err, sizeof(err)) == -1)
		fatalx("%s", err);
	closefrom(3 + ninh);
	if (ninh + naddrs == 0)
		return;
	if ((socks = reallocarray(inh, (size_t)(ninh + naddrs),
	    sizeof(*socks))) == NULL)
		fatal("sockets");
	for (i = 0; i < ninh; i++)
		log_info("inherited %s as fd %d (%s)", socks[i].address,
		    socks[i].fd, socks[i].name);
	for (i = 0; i < naddrs; i++) {
		s = &socks[ninh + i];
		if (listen_bind(&addrs[i], mode, 0, s, err, sizeof(err)) == -1)
			fatalx("%s", err);
		if (s->fd != 3 + ninh + i)
			fatalx("%s is fd %d, not %d", s->address, s->fd,
			    3 + ninh + i);
		if ((s->name = strdup(i < nnames ? names[i] : "socket")) ==
		    NULL)
			fatal("sockets");
		log_info("listening on %s as fd %d (%s)", s->address, s->fd,
		    s->name);
	}
	nsocks = ninh + naddrs;
}

/*
 * The child's environment: jobinit's own (listen_inherit has removed
 * any LISTEN_* from it) and the three LISTEN_* variables, which name the
 * sockets, the channel and the stored fds. Built before each fork, so
 * the child has nothing to allocate.
 */
static void
env_build(void)
{
	size_t	 len, i;
	char	*p;

	if (child_env == NULL) {
		for (nenv = 0; environ[nenv] != NULL; nenv++)
			;
		if ((child_env = calloc(nenv + 4, sizeof(*child_env))) ==
		    NULL)
			fatal("environment");
		memcpy(child_env, environ, nenv * sizeof(*child_env));
	}
	free(fds_var);
	free(names_var);
	if (asprintf(&fds_var, "LISTEN_FDS=%zu", (size_t)nsocks + 1 +
	    nstored) == -1)
		fatal("environment");
	len = sizeof("LISTEN_FDNAMES=" CHAN_NAME) + names_len;
	for (i = 0; i < (size_t)nsocks; i++)
		len += strlen(socks[i].name) + 1;
	if ((names_var = malloc(len)) == NULL)
		fatal("environment");
	p = stpcpy(names_var, "LISTEN_FDNAMES=");
	for (i = 0; i < (size_t)nsocks; i++) {
		p = stpcpy(p, socks[i].name);
		*p++ = ':';
	}
	p = stpcpy(p, CHAN_NAME);
	for (i = 0; i < nstored; i++) {
		*p++ = ':';
		p = stpcpy(p, store[i].name);
	}
	child_env[nenv] = fds_var;
	child_env[nenv + 1] = names_var;
	child_env[nenv + 2] = pid_var;
}

/*
 * In the child, between fork and exec. Only async-signal-safe calls, but
 * for execvpe: it is not on that list (it walks PATH), yet jobinit has a
 * single thread, so no lock can be held across the fork and it is safe
 * here. On failure the step and the errno go to the parent through the
 * CLOEXEC pipe: [0, errno] if the fds could not be set up, [1, errno]
 * if the exec failed.
 */
static void
child_exec(int errfd, int cfd)
{
	struct sigaction	 sa;
	sigset_t		 none;
	char			 digits[16], *p;
	pid_t			 pid;
	int			 i, base, e[2] = { 0, 0 };
	size_t			 j;
	ssize_t			 n;

	/* Defaults for all, whatever jobinit's own parent ignored. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		(void)sigaction(i, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/*
	 * Its own session: a Ctrl-C on jobinit's terminal reaches jobinit
	 * alone, which forwards it, so the child never gets it twice. When
	 * jobinit's stdin is a terminal that jobinit could let go of, it
	 * becomes the child's controlling terminal: job control works. A
	 * terminal that belongs to a session jobinit does not lead cannot
	 * be passed on: the child then stays in that session, leading its
	 * own process group, which takes the terminal's foreground (so a
	 * Ctrl-C still reaches the child once, and jobinit not at all).
	 */
	if (tty == TTY_SHARE) {
		if (setpgid(0, 0) == -1)
			goto fail;
		/* From the background, with SIGTTOU blocked, as shells do. */
		sigaddset(&none, SIGTTOU);
		sigprocmask(SIG_SETMASK, &none, NULL);
		(void)tcsetpgrp(0, getpid());
		sigdelset(&none, SIGTTOU);
		sigprocmask(SIG_SETMASK, &none, NULL);
	} else {
		if (setsid() == -1)
			goto fail;
		if (tty == TTY_GIVE)
			(void)ioctl(0, TIOCSCTTY, 0);
	}

	/*
	 * The channel goes to fd 3 + nsocks, the stored fds after it. Any
	 * of them, or the error pipe, that sits where another must go is
	 * first moved above the whole range.
	 */
	base = 3 + nsocks + 1 + (int)nstored;
	if (errfd < base &&
	    (errfd = fcntl(errfd, F_DUPFD_CLOEXEC, base)) == -1)
		goto fail;
	if (cfd < base && (cfd = fcntl(cfd, F_DUPFD_CLOEXEC, base)) == -1)
		goto fail;
	for (j = 0; j < nstored; j++)
		if (store[j].fd < base && (store[j].fd = fcntl(store[j].fd,
		    F_DUPFD_CLOEXEC, base)) == -1)
			goto fail;
	for (i = 0; i < nsocks; i++)
		if (fcntl(3 + i, F_SETFD, 0) == -1)
			goto fail;
	if (dup2(cfd, 3 + nsocks) == -1)
		goto fail;
	for (j = 0; j < nstored; j++)
		if (dup2(store[j].fd, 3 + nsocks + 1 + (int)j) == -1)
			goto fail;
	(void)setrlimit(RLIMIT_NOFILE, &nofile);

	pid = getpid();
	p = digits + sizeof(digits);
	*--p = '\0';
	do
		*--p = '0' + pid % 10;
	while ((pid /= 10) > 0);
	memcpy(pid_var + sizeof(PID_VAR) - 1, p,
	    (size_t)(digits + sizeof(digits) - p));
	e[0] = 1;
	execvpe(child_argv[0], child_argv, child_env);
fail:
	e[1] = errno;
	n = write(errfd, e, sizeof(e));
	(void)n;
	_exit(e[1] == ENOENT || e[1] == ENOTDIR ? 127 : 126);
}

static void
chan_close(void)
{
	if (chan != -1)
		close(chan);
	chan = -1;
	hello = ready_due = want_out = 0;
}

/*
 * Start the child with a new channel. Returns 0 once it has exec'd, -1
 * if it could not be started (try again later), or 127 / 126 if the
 * program cannot be found or executed: a configuration error that
 * restarting cannot mend.
 */
static int
spawn(void)
{
	int	 p[2], sv[2], e[2];
	ssize_t	 n;
	pid_t	 pid;

	clock_gettime(CLOCK_MONOTONIC, &started);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		return -1;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1 ||
	    pipe2(p, O_CLOEXEC) == -1) {
		log_warn("control channel");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	env_build();
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(p[0]);
		close(p[1]);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		child_exec(p[1], sv[1]);
	close(p[1]);
	close(sv[1]);
	/* EOF when exec succeeded: the pipe closed with the child's fds. */
	do
		n = read(p[0], e, sizeof(e));
	while (n == -1 && errno == EINTR);
	close(p[0]);
	if (n == sizeof(e)) {
		close(sv[0]);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		if (e[0] == 0) {
			log_warnx("cannot set up the fds of %s: %s",
			    child_argv[0], strerror(e[1]));
			return -1;
		}
		log_warnx("cannot %s %s: %s", e[1] == ENOENT ||
		    e[1] == ENOTDIR ? "find" : "execute", child_argv[0],
		    strerror(e[1]));
		return e[1] == ENOENT || e[1] == ENOTDIR ? 127 : 126;
	}
	child = pid;
	chan = sv[0];
	log_info("started %s (pid %ld)", child_argv[0], (long)pid);
	return 0;
}

/* Index in store of the fd stored as name, or -1. */
static ssize_t
store_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < nstored; i++)
		if (strcmp(store[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/*
 * STORE: keep fd as name, in place of any fd of that name. The child
 * must get them all back through one exec: no more than STORE_MAX, no
 * more than half of what the fd limit allows (child_exec may need two
 * of each), names that fit in one environment string.
 */
static void
store_put(const char *name, int fd)
{
	struct stored	*ns;
	ssize_t		 i;
	size_t		 len = strlen(name) + 1;
	char		*copy;

	if ((i = store_find(name)) != -1) {
		close(store[i].fd);
		store[i].fd = fd;
		return;
	}
	if (nstored >= STORE_MAX || 2 * (4 + (rlim_t)nsocks + nstored) + 64 >
	    nofile.rlim_max || names_len + len > NAMES_MAX / 2) {
		log_warnx("control channel: STORE %s: too many stored fds "
		    "(%zu)", name, nstored);
		close(fd);
		return;
	}
	if (nstored == store_size) {
		if ((ns = reallocarray(store, store_size ? 2 * store_size : 16,
		    sizeof(*store))) == NULL)
			goto nomem;
		store = ns;
		store_size = store_size ? 2 * store_size : 16;
	}
	if ((copy = strdup(name)) == NULL)
		goto nomem;
	store[nstored].name = copy;
	store[nstored].fd = fd;
	nstored++;
	names_len += len;
	return;
nomem:
	log_warn("control channel: STORE %s", name);
	close(fd);
}

/* REMOVE: close and forget; an unknown name is no error. */
static void
store_remove(const char *name)
{
	ssize_t	 i;

	if ((i = store_find(name)) == -1)
		return;
	close(store[i].fd);
	names_len -= strlen(store[i].name) + 1;
	free(store[i].name);
	memmove(&store[i], &store[i + 1], (nstored - (size_t)i - 1) *
	    sizeof(*store));
	nstored--;
}

/* A process that was not the child ended: keep it for the child. */
static void
exit_add(pid_t pid, int status)
{
	struct exit	*e;

	if (nexits == EXITS_MAX) {
		log_warnx("%d exits not acknowledged: the exit of pid %ld "
		    "(seq %" PRIu64 ") is dropped", EXITS_MAX,
		    (long)exits[exit_head].pid, exits[exit_head].seq);
		exit_head = (exit_head + 1) % EXITS_MAX;
		nexits--;
	}
	e = &exits[(exit_head + nexits) % EXITS_MAX];
	e->seq = next_seq++;
	e->pid = pid;
	e->status = status;
	nexits++;
	chan_flush();
}

/* ACK: every exit up to seq is known to the child. */
static void
exit_ack(uint64_t seq)
{
	while (nexits > 0 && exits[exit_head].seq <= seq) {
		exit_head = (exit_head + 1) % EXITS_MAX;
		nexits--;
	}
}

/*
 * One message to the child. Returns 0 when sent, -1 when it was not: a
 * full socket (chan_flush goes on once it is writable) or a child that
 * closed its end (nothing more is sent to it).
 */
static int
chan_send(const char *msg, size_t len)
{
	ssize_t	 n;

	do
		n = send(chan, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n >= 0)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		want_out = 1;
	else {
		if (errno != EPIPE && errno != ECONNRESET)
			log_warn("control channel: send");
		hello = ready_due = 0;
	}
	return -1;
}

/*
 * Send what the child is owed, in order: after a HELLO every exit not
 * acknowledged, then READY, then each new exit. Never blocks.
 */
static void
chan_flush(void)
{
	char		 msg[64];
	uint64_t	 first;
	struct exit	*e;
	int		 len;

	while (chan != -1 && hello && !want_out) {
		first = nexits > 0 ? exits[exit_head].seq : next_seq;
		if (send_seq < first)
			send_seq = first;
		if (ready_due && send_seq > ready_after) {
			if (chan_send("READY", 5) == -1)
				break;
			ready_due = 0;
			continue;
		}
		if (send_seq >= next_seq)
			break;
		e = &exits[(exit_head + (send_seq - first)) % EXITS_MAX];
		len = snprintf(msg, sizeof(msg), "EXIT %" PRIu64 " %ld %d",
		    e->seq, (long)e->pid, e->status);
		if (chan_send(msg, (size_t)len) == -1)
			break;
		send_seq++;
	}
}

/* A decimal number of 1 to 20 digits that fits in 64 bits. */
static int
parse_seq(const char *s, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 n = 0;

	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s != '\0' || n == 0)
		return -1;
	*out = v;
	return 0;
}

static int
valid_name(const char *s)
{
	return listen_valid_name(s) && strcmp(s, CHAN_NAME) != 0;
}

/*
 * One message from the child, with the fds that came with it: each one
 * is stored or closed here.
 */
static void
chan_message(char *buf, size_t len, int flags, int *fds, int nfds)
{
	char		 esc[4 * 64 + 1], *arg = NULL;
	uint64_t	 seq;
	int		 i;

	if (flags & (MSG_TRUNC | MSG_CTRUNC))
		goto bad;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL)
		goto bad;
	if ((arg = strchr(buf, ' ')) != NULL)
		*arg++ = '\0';
	if (strcmp(buf, "STORE") == 0 && arg != NULL && valid_name(arg) &&
	    nfds == 1) {
		store_put(arg, fds[0]);
		return;
	}
	if (nfds > 0)
		goto bad;
	if (strcmp(buf, "REMOVE") == 0 && arg != NULL && valid_name(arg))
		store_remove(arg);
	else if (strcmp(buf, "ACK") == 0 && arg != NULL &&
	    parse_seq(arg, &seq) == 0)
		exit_ack(seq);
	else if (strcmp(buf, "HELLO") == 0 && arg == NULL) {
		hello = ready_due = 1;
		send_seq = 0;
		ready_after = next_seq - 1;
		chan_flush();
	} else
		goto bad;
	return;
bad:
	if (arg != NULL)
		arg[-1] = ' ';
	log_escape(esc, sizeof(esc), buf, len > 64 ? 64 : len);
	log_warnx("control channel: bad message \"%s%s\"%s with %d fd%s",
	    esc, len > 64 ? "..." : "", flags & MSG_TRUNC ? " (too long)" :
	    "", nfds, nfds == 1 ? "" : "s");
	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

/* Whether the child's end of the channel is closed. */
static int
chan_hup(void)
{
	struct pollfd	 pfd = { .fd = chan, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP);
}

/*
 * Read every message there is, without waiting. The channel is closed
 * when the child closed its end.
 */
static void
chan_read(void)
{
	union {
		struct cmsghdr	 h;
		char		 b[CMSG_SPACE(MSG_FDS * sizeof(int))];
	}		 cbuf;
	char		 buf[MSG_MAX + 1];
	struct iovec	 iov;
	struct msghdr	 mh;
	struct cmsghdr	*c;
	int		 fds[MSG_FDS], nfds, k;
	size_t		 i;
	ssize_t		 n;

	while (chan != -1) {
		iov.iov_base = buf;
		iov.iov_len = MSG_MAX;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf.b;
		mh.msg_controllen = sizeof(cbuf.b);
		n = recvmsg(chan, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			log_warn("control channel: recvmsg");
			chan_close();
			return;
		}
		nfds = 0;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL;
		    c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			i = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (k = 0; k < (int)i && nfds < MSG_FDS; k++)
				memcpy(&fds[nfds++], CMSG_DATA(c) +
				    (size_t)k * sizeof(int), sizeof(int));
		}
		/* An empty message and the end look alike: ask poll. */
		if (n == 0 && nfds == 0 && chan_hup()) {
			chan_close();
			return;
		}
		chan_message(buf, (size_t)n, mh.msg_flags, fds, nfds);
	}
}

/*
 * The child is gone: honour what it sent before it died, drop its
 * channel, and return the status to exit with, or -1 after scheduling
 * the restart.
 */
static int
died(int status)
{
	long	 ran;

	ran = ms_since(&started);
	child = -1;
	last = status;
	chan_read();
	chan_close();
	if (once || stopping)
		return status;
	if (status == 0) {
		log_info("not restarting a program that exited 0");
		return 0;
	}
	if (ran >= QUICK_DEATH || delay == -1)
		delay = 0;
	else if (delay == 0)
		delay = DELAY_MIN;
	else if ((delay *= 2) > DELAY_MAX)
		delay = DELAY_MAX;
	clock_gettime(CLOCK_MONOTONIC, &restart_at);
	restart_at.tv_sec += delay / 1000;
	restart_at.tv_nsec += (delay % 1000) * 1000000;
	if (restart_at.tv_nsec >= 1000000000) {
		restart_at.tv_sec++;
		restart_at.tv_nsec -= 1000000000;
	}
	if (delay == 0)
		log_info("restarting at once");
	else
		log_info("restarting in %ld ms", delay);
	return -1;
}

/*
 * spawn, counting a child that could not be started as one that failed
 * at once. Returns the status to exit with, or -1 to carry on.
 */
static int
start(void)
{
	int	 code;

	if ((code = spawn()) == -1)
		return died(1);
	return code == 0 ? -1 : code;
}

/*
 * Reap every zombie there is: the child, and the orphans that were
 * reparented to jobinit as pid 1 or subreaper, which are relayed to the
 * child. Returns what died does for the child, -1 if it is still
 * running.
 */
static int
reap(void)
{
	pid_t	 pid;
	int	 st, code = -1;

	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid == -1 && errno != ECHILD)
			log_warn("waitpid");
		if (pid <= 0)
			break;
		if (pid != child) {
			log_debug("reaped orphan %ld", (long)pid);
			exit_add(pid, st);
			continue;
		}
		/* A shared terminal's foreground comes back to jobinit. */
		if (tty == TTY_SHARE)
			(void)tcsetpgrp(0, getpgrp());
		if (WIFSIGNALED(st)) {
			log_info("pid %ld killed by signal %d (%s)",
			    (long)pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
			code = died(128 + WTERMSIG(st));
		} else {
			log_info("pid %ld exited with status %d", (long)pid,
			    WEXITSTATUS(st));
			code = died(WEXITSTATUS(st));
		}
	}
	return code;
}

/*
 * Pass a signal on to the child (or its process group). TERM and INT
 * mean "stop": jobinit exits when the child does, or at once, with the
 * last child's status, if it is waiting to restart one. Returns the
 * status to exit with, or -1.
 */
static int
forward(int sig)
{
	int	 stop = sig == SIGTERM || sig == SIGINT;

	if (child == -1) {
		if (stop) {
			log_info("signal %d (%s) while waiting to restart: "
			    "exiting with status %d", sig, strsignal(sig),
			    last);
			return last;
		}
		log_info("signal %d (%s): no child to forward it to", sig,
		    strsignal(sig));
		return -1;
	}
	log_info("forwarding signal %d (%s) to %s %ld", sig, strsignal(sig),
	    group ? "process group" : "pid", (long)child);
	if (kill(group ? -child : child, sig) == -1)
		log_warn("kill %ld", (long)(group ? -child : child));
	if (stop)
		stopping = 1;
	return -1;
}

/*
 * Every signal that is pending. A SIGPIPE that jobinit raised itself
 * (its log's reader went away) is not the child's business.
 */
static int
signals(void)
{
	struct signalfd_siginfo	 si[16];
	ssize_t			 n;
	size_t			 i;
	int			 code;

	for (;;) {
		n = read(sigfd, si, sizeof(si));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -1;
		if (n <= 0)
			fatal("signalfd");
		for (i = 0; i < (size_t)n / sizeof(si[0]); i++) {
			if (si[i].ssi_signo == SIGCHLD)
				code = reap();
			else if (si[i].ssi_signo == SIGPIPE &&
			    si[i].ssi_code == SI_USER &&
			    (pid_t)si[i].ssi_pid == getpid())
				code = -1;
			else
				code = forward((int)si[i].ssi_signo);
			if (code != -1)
				return code;
		}
	}
}

/*
 * Wait for a signal, the channel, or the restart time. No timer
 * otherwise: jobinit sleeps until something happens.
 */
static int
loop(void)
{
	struct pollfd	 pfd[2];
	long		 left;
	int		 n, timeout, code;

	for (;;) {
		timeout = -1;
		if (child == -1) {
			if ((left = -ms_since(&restart_at)) <= 0) {
				if ((code = start()) != -1)
					return code;
				continue;
			}
			timeout = (int)left;
		}
		pfd[0].fd = sigfd;
		pfd[0].events = POLLIN;
		n = 1;
		if (chan != -1) {
			pfd[1].fd = chan;
			pfd[1].events = POLLIN | (want_out ? POLLOUT : 0);
			pfd[1].revents = 0;
			n = 2;
		}
		if (poll(pfd, (nfds_t)n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (n == 2 && (pfd[1].revents & POLLOUT)) {
			want_out = 0;
			chan_flush();
		}
		if (n == 2 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			chan_read();
		if ((pfd[0].revents & POLLIN) && (code = signals()) != -1)
			return code;
	}
}

/*
 * Signals as jobinit needs them, whatever its parent left: all to their
 * defaults (an ignored SIGCHLD would leave no zombie to reap, and no
 * status), and those jobinit handles blocked and read from a signalfd.
 * As pid 1, a blocked signal is still delivered. A terminal on stdin is
 * let go of, for the child to take.
 */
static void
signals_init(void)
{
	struct sigaction	 sa;
	int			 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (tty == TTY_GIVE && tcgetsid(0) == getsid(0)) {
		if (getsid(0) == getpid()) {
			/* A session leader letting go sends HUP to its group. */
			(void)sigaction(SIGHUP, &sa, NULL);
			(void)ioctl(0, TIOCNOTTY);
		} else
			tty = TTY_SHARE;
	}
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			(void)sigaction(i, &sa, NULL);
	sigemptyset(&waitset);
	/* glibc keeps two real-time signals for itself: sigaddset fails. */
	for (i = 1; i < NSIG; i++)
		if (forwardable(i))
			(void)sigaddset(&waitset, i);
	sigaddset(&waitset, SIGCHLD);
	if (sigprocmask(SIG_SETMASK, &waitset, NULL) == -1)
		fatal("sigprocmask");
	if ((sigfd = signalfd(-1, &waitset, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	    -1)
		fatal("signalfd");
}

static void
cleanup(void)
{
	size_t	 i;
	int	 j;

	for (j = 0; j < nsocks; j++)
		listen_close(&socks[j]);
	free(socks);
	for (i = 0; i < nstored; i++) {
		close(store[i].fd);
		free(store[i].name);
	}
	free(store);
	chan_close();
	close(sigfd);
	free(child_env);
	free(fds_var);
	free(names_var);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "fdname", required_argument, NULL, 'n' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "allow-remote", no_argument, NULL, 'R' },
		{ "once", no_argument, NULL, 'o' },
		{ "group", no_argument, NULL, 'g' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	/* static: still reachable when a usage error exits mid-parse */
	static struct laddr	 *addrs;
	static char		**names;
	struct rlimit	 rl;
	char		**np, err[LISTEN_ERRLEN];
	int		 ch, naddrs = 0, nnames = 0, remote = 0, code;
	mode_t		 mode = 0600;

	log_init("jobinit", LOG_NORMAL);
	/* '+': options end at PROGRAM, whose own options are its own. */
	while ((ch = getopt_long(argc, argv, "+hqV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (listen_add(&addrs, &naddrs, optarg, err,
			    sizeof(err)) == -1)
				usage_error("%s", err);
			break;
		case 'n':
			if (!valid_name(optarg))
				usage_error("--fdname: \"%s\" is not 1-255 "
				    "printable characters without spaces or "
				    "':', other than \"" CHAN_NAME "\"",
				    optarg);
			np = reallocarray(names, (size_t)nnames + 1,
			    sizeof(*names));
			if (np == NULL)
				fatal("options");
			names = np;
			names[nnames++] = optarg;
			break;
		case 'm':
			if (listen_parse_mode(optarg, &mode) == -1)
				usage_error("--socket-mode: \"%s\" is not an "
				    "octal mode", optarg);
			break;
		case 'R':
			remote = 1;
			break;
		case 'o':
			once = 1;
			break;
		case 'g':
			group = 1;
			break;
		case 'q':
			log_init("jobinit", LOG_QUIET);
			break;
		case 'V':
			printf("jobinit %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			usage_error(NULL);
		}
	}
	if (optind >= argc)
		usage_error("no program to run");
	if (nnames > naddrs)
		usage_error("%d --fdname for %d --listen", nnames, naddrs);
	if (!remote && listen_check_remote(addrs, naddrs, err,
	    sizeof(err)) == -1)
		usage_error("%s", err);
	child_argv = argv + optind;
	std_fds();
	sockets(addrs, naddrs, names, nnames, mode);
	free(addrs);
	free(names);
	tty = isatty(0) ? TTY_GIVE : TTY_NONE;
	signals_init();
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");
	/* Room for the fds the child stores; the child gets the old limit. */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == -1)
		fatal("getrlimit");
	rl = nofile;
	rl.rlim_cur = rl.rlim_max;
	if (rl.rlim_cur > nofile.rlim_cur && setrlimit(RLIMIT_NOFILE,
	    &rl) == -1)
		log_warn("setrlimit");


	if ((code = start()) == -1)
		code = loop();
	log_info("exiting with status %d", code);
	cleanup();
	return code;
}
