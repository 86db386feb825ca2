/*
 * daemon.c: jobd itself across restarts. Its counters in the state
 * directory (restarts, whether the last stop was clean), and the live
 * re-exec: jobd execs its binary again, passing its listening sockets,
 * jobinit's channel and every fd it holds for jobs as LISTEN_FDS, so no
 * client is refused and every task stays its child.
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

#define REEXEC_GRACE	2.0	/* s: requests under way may finish */

static char		 self[PATH_MAX];
static char		**self_argv;
static int		 reexecing;
static ev_timer		 reexec_timer;

/*
 * At start: this binary's path (a new build at the same path is what a
 * re-exec runs) and the counters. A start that finds the last stop
 * unclean is a restart, unless the last jobd re-exec'd into this one.
 */
void
daemon_init(char **argv)
{
	ssize_t	 n;
	size_t	 len;
	char	*text, *s;
	int	 clean = 1, reexec;

	self_argv = argv;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0)
		self[n] = '\0';
	/* The kernel marks a binary replaced since: its path is the one. */
	if ((s = strstr(self, " (deleted)")) != NULL && s[10] == '\0')
		*s = '\0';
	reexec = getenv("JOBD_REEXEC") != NULL;
	unsetenv("JOBD_REEXEC");
	if ((text = store_read("daemon.json", &len)) != NULL) {
		if (json_load_daemon(text, len, &daemon_restarts, &clean) == -1)
			store_set_aside("daemon.json", "not a jobd daemon "
			    "state file");
		free(text);
	}
	if (!clean && !reexec) {
		daemon_restarts++;
		log_info("restarted after an unclean stop (restart %u)",
		    daemon_restarts);
	}
	daemon_save(0);
}

void
daemon_save(int clean)
{
	char	*s;

	if ((s = json_daemon_state(daemon_restarts, clean)) == NULL ||
	    store_save_daemon(s) == -1)
		log_warn("%s/daemon.json", store_dir());
	free(s);
}

/* Put fds[i] at 3 + i, inheritable; fds of ours may be anywhere. */
static int
place(int *fds, int n)
{
	int	 i, hi;

	for (i = 0; i < n; i++) {
		if ((hi = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n)) == -1)
			return -1;
		fds[i] = hi;
	}
	for (i = 0; i < n; i++)
		if (dup2(fds[i], 3 + i) == -1)
			return -1;
	return 0;
}

static void
reexec(void)
{
	int	*held, *fds;
	char	**names, *fdnames, buf[32];
	size_t	 nheld, i, n = 0, len = 0;

	/* What is not on disk yet goes there first: the next jobd reads it. */
	job_persist();
	events_flush();
	nheld = job_held_fds(&held, &names);
	if ((fds = calloc(nlisteners + nheld + 1, sizeof(int))) == NULL ||
	    (fdnames = malloc((nlisteners + nheld + 1) * 260)) == NULL)
		fatal("re-exec");
	fdnames[0] = '\0';
	for (i = 0; i < nlisteners; i++) {
		fds[n++] = listeners[i].ls.fd;
		len += (size_t)sprintf(fdnames + len, "%s%s", len ? ":" : "",
		    listeners[i].ls.name != NULL ? listeners[i].ls.name :
		    "socket");
	}
	if (ctl_fd() != -1) {
		fds[n++] = ctl_fd();
		len += (size_t)sprintf(fdnames + len, "%sjobinit",
		    len ? ":" : "");
	}
	for (i = 0; i < nheld; i++) {
		fds[n++] = held[i];
		len += (size_t)sprintf(fdnames + len, "%s%s", len ? ":" : "",
		    names[i]);
	}
	if (place(fds, (int)n) == -1)
		fatal("re-exec: moving fds");
	snprintf(buf, sizeof(buf), "%zu", n);
	setenv("LISTEN_FDS", buf, 1);
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	setenv("LISTEN_PID", buf, 1);
	setenv("LISTEN_FDNAMES", fdnames, 1);
	setenv("JOBD_REEXEC", "1", 1);
	job_persist();
	daemon_save(0);
	log_info("re-executing %s with %zu fds", self, n);
	execv(self, self_argv);
	/* The old image is gone from here on: let the parent restart us. */
	fatal("re-exec %s", self);
}

static void
reexec_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	if (conn_busy() && ev_now(loop) < reexecing + REEXEC_GRACE) {
		ev_timer_set(&reexec_timer, 0.01, 0.);
		ev_timer_start(loop, &reexec_timer);
		return;
	}
	conn_close_all();
	reexec();
}

/*
 * Re-exec soon: stop accepting (new clients wait in the backlog), let
 * the answers under way go out, then exec. 0, or -1 if jobd cannot.
 */
int
daemon_reexec(void)
{
	size_t	 i;

	if (access(self, X_OK) == -1) {
		log_warn("re-exec: %s", self);
		return -1;
	}
	if (reexecing)
		return 0;
	reexecing = (int)ev_now(loop);
	if (reexecing == 0)
		reexecing = 1;
	log_info("re-exec requested");
	for (i = 0; i < nlisteners; i++)
		conn_unlisten(&listeners[i]);
	ev_timer_init(&reexec_timer, reexec_cb, 0.01, 0.);
	ev_timer_start(loop, &reexec_timer);
	return 0;
}

const char *
daemon_self(void)
{
	return self;
}
