/*
 * jobinit.c: a minimal init in the manner of tini. It binds and holds
 * listening sockets, starts one program with them (the LISTEN_FDS
 * protocol), forwards signals to it, reaps every zombie, and starts the
 * program again when it dies on its own. Depends on libc alone.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"

#define DELAY_MIN	100	/* ms before a restart */
#define DELAY_MAX	10000	/* ms: the delay doubles up to this */
#define QUICK_DEATH	1000	/* ms: a child that dies sooner backs off */
#define PID_VAR		"LISTEN_PID="

extern char	**environ;

/* The signals passed on to the child; SIGCHLD is jobinit's own. */
static const int	 forwarded[] = {
	SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2
};

static struct lsock	*socks;		/* become fds 3.. of the child */
static int		 nsocks;
static char		**child_argv;
static char		**child_env;
static char		*fds_var, *names_var;
/* The child writes its own pid after the '=' (see child_exec). */
static char		 pid_var[32] = PID_VAR;
static sigset_t		 waitset;
static int		 once;

static pid_t		 child = -1;
static int		 stopping;	/* TERM or INT was forwarded */
static int		 last;		/* the last child's exit status */
static long		 delay;		/* ms, the current restart delay */
static struct timespec	 started, restart_at;

static const char usage_text[] =
"usage: jobinit [options] [--] PROGRAM [ARGS...]\n"
"\n"
"Run PROGRAM, reap every zombie, forward signals to PROGRAM and start it\n"
"again when it dies. Sockets given with --listen, and any that jobinit\n"
"inherited itself, are passed to PROGRAM as fds 3.. (LISTEN_FDS).\n"
"\n"
"      --listen ADDR        bind ADDR and pass it on (repeatable):\n"
"                           unix:/abs/path, /abs/path, tcp:HOST:PORT or\n"
"                           tcp:[::1]:PORT\n"
"      --fdname NAME        name the sockets of --listen, in order, in\n"
"                           LISTEN_FDNAMES (repeatable; default \"socket\")\n"
"      --socket-mode OCTAL  mode of unix sockets jobinit binds (default 0600)\n"
"      --allow-remote       allow TCP addresses that are not loopback\n"
"      --once               do not restart PROGRAM: exit when it exits\n"
"  -V, --version            print the version and exit\n"
"  -h, --help               print this help and exit\n"
"\n"
"jobinit exits with PROGRAM's status (128 + signal number if it was\n"
"killed), 127 or 126 if PROGRAM cannot be found or executed. See\n"
"jobinit(8).\n";

static void	child_exec(int) __attribute__((noreturn));

static long
ms_since(const struct timespec *t)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
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
 * any LISTEN_* from it) and, when there are sockets, the three LISTEN_*
 * variables. Built once, here, so the child has nothing to allocate.
 */
static void
env_build(void)
{
	size_t	 n, len, i;
	char	*p;

	if (nsocks == 0) {
		child_env = environ;
		return;
	}
	for (n = 0; environ[n] != NULL; n++)
		;
	if ((child_env = calloc(n + 4, sizeof(*child_env))) == NULL)
		fatal("environment");
	memcpy(child_env, environ, n * sizeof(*child_env));
	if (asprintf(&fds_var, "LISTEN_FDS=%d", nsocks) == -1)
		fatal("environment");
	len = sizeof("LISTEN_FDNAMES=");
	for (i = 0; i < (size_t)nsocks; i++)
		len += strlen(socks[i].name) + 1;
	if ((names_var = malloc(len)) == NULL)
		fatal("environment");
	p = stpcpy(names_var, "LISTEN_FDNAMES=");
	for (i = 0; i < (size_t)nsocks; i++) {
		if (i > 0)
			*p++ = ':';
		p = stpcpy(p, socks[i].name);
	}
	child_env[n++] = fds_var;
	child_env[n++] = names_var;
	child_env[n++] = pid_var;
}

/*
 * In the child, between fork and exec. Only async-signal-safe calls, but
 * for execvpe: it is not on that list (it walks PATH), yet jobinit has a
 * single thread, so no lock can be held across the fork and it is safe
 * here. On failure the errno goes to the parent through the CLOEXEC pipe.
 */
static void
child_exec(int errfd)
{
	struct sigaction	 sa;
	sigset_t		 none;
	char			 digits[16], *p;
	pid_t			 pid;
	int			 i, e;
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
	 * alone, which forwards it, so the child never gets it twice.
	 */
	if (setsid() == -1)
		goto fail;
	for (i = 0; i < nsocks; i++)
		if (fcntl(3 + i, F_SETFD, 0) == -1)
			goto fail;
	if (nsocks > 0) {
		pid = getpid();
		p = digits + sizeof(digits);
		*--p = '\0';
		do
			*--p = '0' + pid % 10;
		while ((pid /= 10) > 0);
		memcpy(pid_var + sizeof(PID_VAR) - 1, p,
		    (size_t)(digits + sizeof(digits) - p));
	}
	execvpe(child_argv[0], child_argv, child_env);
fail:
	e = errno;
	n = write(errfd, &e, sizeof(e));
	(void)n;
	_exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

/*
 * Start the child. Returns 0 once it has exec'd, -1 if it could not be
 * forked (try again later), or 127 / 126 if the program cannot be found
 * or executed: a configuration error that restarting cannot mend.
 */
static int
spawn(void)
{
	int	 p[2], e;
	ssize_t	 n;
	pid_t	 pid;

	clock_gettime(CLOCK_MONOTONIC, &started);
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("pipe2");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0)
		child_exec(p[1]);
	close(p[1]);
	/* EOF when exec succeeded: the pipe closed with the child's fds. */
	do
		n = read(p[0], &e, sizeof(e));
	while (n == -1 && errno == EINTR);
	close(p[0]);
	if (n == sizeof(e)) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		log_warnx("cannot %s %s: %s", e == ENOENT || e == ENOTDIR ?
		    "find" : "execute", child_argv[0], strerror(e));
		return e == ENOENT || e == ENOTDIR ? 127 : 126;
	}
	child = pid;
	log_info("started %s (pid %ld)", child_argv[0], (long)pid);
	return 0;
}

/*
 * The child is gone: returns the status to exit with, or -1 after
 * scheduling the restart.
 */
static int
died(int status)
{
	long	 ran;

	ran = ms_since(&started);
	child = -1;
	last = status;
	if (once || stopping)
		return status;
	if (ran >= QUICK_DEATH || delay == 0)
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
	log_info("restarting in %ld ms", delay);
	return -1;
}

/*
 * spawn, counting a failed fork as a child that died at once. Returns
 * the status to exit with, or -1 to carry on.
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
 * reparented to jobinit as pid 1 or subreaper. Returns what died does
 * for the child, -1 if it is still running.
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
			continue;
		}
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
 * Pass a signal on to the child. TERM and INT mean "stop": jobinit exits
 * when the child does, or at once, with the last child's status, if it
 * is waiting to restart one. Returns the status to exit with, or -1.
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
	log_info("forwarding signal %d (%s) to pid %ld", sig, strsignal(sig),
	    (long)child);
	if (kill(child, sig) == -1)
		log_warn("kill %ld", (long)child);
	if (stop)
		stopping = 1;
	return -1;
}

/*
 * The next signal, or 0 when the restart delay has passed. No timer
 * otherwise: jobinit sleeps until something happens.
 */
static int
next_signal(void)
{
	struct timespec	 ts;
	long		 left;
	int		 sig;

	for (;;) {
		if (child != -1)
			sig = sigwaitinfo(&waitset, NULL);
		else {
			left = -ms_since(&restart_at);
			if (left <= 0)
				return 0;
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (left % 1000) * 1000000;
			sig = sigtimedwait(&waitset, NULL, &ts);
		}
		if (sig > 0)
			return sig;
		if (errno != EAGAIN && errno != EINTR)
			fatal("sigtimedwait");
	}
}

static void
cleanup(void)
{
	int	 i;

	for (i = 0; i < nsocks; i++)
		listen_close(&socks[i]);
	free(socks);
	if (child_env != environ)
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
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	/* static: still reachable when a usage error exits mid-parse */
	static struct laddr	 *addrs;
	static char		**names;
	sigset_t	 blocked;
	char		**np, err[LISTEN_ERRLEN];
	int		 ch, naddrs = 0, nnames = 0, remote = 0, code, sig;
	mode_t		 mode = 0600;
	size_t		 i;

	log_init("jobinit", LOG_NORMAL);
	/* '+': options end at PROGRAM, whose own options are its own. */
	while ((ch = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (listen_add(&addrs, &naddrs, optarg, err,
			    sizeof(err)) == -1)
				usage_error("%s", err);
			break;
		case 'n':
			if (!listen_valid_name(optarg))
				usage_error("--fdname: \"%s\" is not 1-255 "
				    "printable characters without spaces or ':'",
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

	/*
	 * Every signal jobinit acts on stays blocked and is taken with
	 * sigwaitinfo: no handler, no race, and as pid 1 a blocked signal
	 * is still delivered. SIGPIPE is blocked so that a reader of the
	 * log going away cannot kill jobinit.
	 */
	sigemptyset(&waitset);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&waitset, forwarded[i]);
	sigaddset(&waitset, SIGCHLD);
	blocked = waitset;
	sigaddset(&blocked, SIGPIPE);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");

	sockets(addrs, naddrs, names, nnames, mode);
	free(addrs);
	free(names);
	env_build();

	code = start();
	while (code == -1) {
		if ((sig = next_signal()) == 0)
			code = start();
		else if (sig == SIGCHLD)
			code = reap();
		else
			code = forward(sig);
	}
	log_info("exiting with status %d", code);
	cleanup();
	return code;
}
