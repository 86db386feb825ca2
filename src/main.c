/*
 * main.c: jobd's entry point. Options, the listening sockets (inherited
 * through LISTEN_FDS, given with --listen, or the default), the event
 * loop and its signal watchers, and a graceful shutdown.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd.h"

static ev_signal	 sig_term, sig_int, sig_hup, sig_usr2;
static struct relayed	*relays;
static size_t		 nrelays;
static ev_io		 sigfd_io;
static ev_timer		 reap_timer;
static ev_prepare	 reaper;

static const char usage_text[] =
"usage: jobd [options]\n"
"\n"
"Run jobs (chains of processes) on behalf of clients that talk HTTP to it.\n"
"\n"
"  -l, --listen ADDR          serve on ADDR (repeatable): unix:/abs/path,\n"
"                             /abs/path, tcp:HOST:PORT or tcp:[::1]:PORT\n"
"      --socket-mode OCTAL    mode of unix sockets jobd binds (default 0600)\n"
"      --allow-remote         allow TCP addresses that are not loopback\n"
"      --allow-uid UID        serve only clients of this uid on unix\n"
"                             sockets (repeatable; jobd's own uid always)\n"
"      --max-body BYTES       largest request body (default 1048576)\n"
"      --max-jobs N           most jobs running at once, 0 = no limit\n"
"                             (default 10000)\n"
"      --keep-finished N      finished jobs kept for GET (default 1000)\n"
"      --no-cgroup            no cgroup per job, even where jobd could\n"
"      --heartbeat SECS       a line to GET /events followers every SECS\n"
"                             (default 15)\n"
"      --max-log BYTES        largest log a job may ask for (default\n"
"                             67108864; each job's default is 1048576)\n"
"      --max-connections N    most client connections (default 1024)\n"
"      --request-timeout SECS close a connection that has not sent a whole\n"
"                             request in SECS (default 30)\n"
"      --idle-timeout SECS    close an idle keep-alive connection after\n"
"                             SECS (default 60)\n"
"      --state-dir DIR        keep the jobs in DIR, so that they outlive\n"
"                             jobd (default $JOBD_STATE_DIR, else beside\n"
"                             the first unix socket as SOCKET.state)\n"
"      --no-state             keep nothing: jobs die with jobd's memory\n"
"  -v, --verbose              log every request\n"
"  -q, --quiet                log only warnings and errors\n"
"  -V, --version              print the version and exit\n"
"  -h, --help                 print this help and exit\n"
"\n"
"Without --listen or inherited sockets (LISTEN_FDS), jobd serves on\n"
"$JOBD_SOCKET, else $XDG_RUNTIME_DIR/jobd.sock, else /run/jobd.sock for\n"
"root, else /tmp/jobd-$UID/jobd.sock. See jobd(8).\n";

static unsigned long
number(const char *opt, const char *s, unsigned long max)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v > max)
		usage_error("%s: \"%s\" is not a number from 0 to %lu", opt, s,
		    max);
	return v;
}

static double
seconds(const char *opt, const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !(v > 0) ||
	    v > 86400)
		usage_error("%s: \"%s\" is not a number of seconds above 0 and "
		    "at most 86400", opt, s);
	return v;
}

/* --allow-uid: a number or a user name. */
static void
allow_uid(const char *s)
{
	struct passwd	*pw;
	uid_t		*v;
	unsigned long	 uid;
	char		*end;

	errno = 0;
	uid = strtoul(s, &end, 10);
	if (*s >= '0' && *s <= '9' && *end == '\0' && errno == 0 &&
	    uid < 4294967295UL)
		;
	else if ((pw = getpwnam(s)) != NULL)
		uid = pw->pw_uid;
	else
		usage_error("--allow-uid: \"%s\" is neither a uid nor a "
		    "user", s);
	v = reallocarray(conf.allow_uids, conf.nallow_uids + 1, sizeof(*v));
	if (v == NULL)
		fatal("options");
	conf.allow_uids = v;
	conf.allow_uids[conf.nallow_uids++] = (uid_t)uid;
}

static void
add_listener(const struct lsock *ls)
{
	struct listener	*l;

	l = reallocarray(listeners, nlisteners + 1, sizeof(*listeners));
	if (l == NULL)
		fatal("listeners");
	listeners = l;
	memset(&listeners[nlisteners], 0, sizeof(*listeners));
	listeners[nlisteners++].ls = *ls;
}

/*
 * An address given with --listen that is already among the inherited
 * sockets is not bound twice: jobd re-exec'd itself with the same
 * arguments, or the parent bound it for us. After a re-exec the socket
 * file is still ours, to unlink at exit as the first jobd would have.
 */
static int
already_inherited(const struct laddr *la, int reexec)
{
	struct stat	 st;
	struct lsock	*ls;
	char		 addr[LISTEN_ERRLEN];
	size_t		 i;

	if (listen_format((const struct sockaddr *)&la->ss, la->sslen,
	    la->socktype, addr, sizeof(addr)) == -1)
		return 0;
	for (i = 0; i < nlisteners; i++) {
		ls = &listeners[i].ls;
		if (strcmp(ls->address, addr) != 0)
			continue;
		if (reexec && la->family == AF_UNIX && ls->path == NULL &&
		    stat(addr + 5, &st) == 0) {
			ls->path = strdup(addr + 5);
			ls->dev = st.st_dev;
			ls->ino = st.st_ino;
		}
		return 1;
	}
	return 0;
}

static void
bind_or_die(const struct laddr *la)
{
	struct lsock	 ls;
	char		 err[LISTEN_ERRLEN];

	if (listen_bind(la, conf.socket_mode, LISTEN_NONBLOCK, &ls, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	add_listener(&ls);
}

/*
 * A first SIGTERM or SIGINT stops accepting and stops every job as DELETE
 * does; jobd exits when all are reaped. A second one kills what is left.
 */
static void
shutdown_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	size_t	 i;

	if (shutting_down) {
		log_info("SIG%s again: killing every job", sig_name(w->signum));
		job_stop_all(1);
		return;
	}
	shutting_down = 1;
	log_info("SIG%s: stopping %u jobs", sig_name(w->signum),
	    job_unfinished());
	for (i = 0; i < nlisteners; i++)
		conn_unlisten(&listeners[i]);
	job_stop_all(0);
	if (job_unfinished() == 0)
		ev_break(loop, EVBREAK_ALL);
}

static void
hup_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	log_info("SIGHUP: nothing to reload");
}

/*
 * SIGCHLD, read from a signalfd, names the child it is about: that one is
 * reaped at once. SIGCHLD does not queue, so children that exited while
 * one was pending went unnamed; a full scan finds them. The scan walks
 * every child in the kernel (about 0.1 us each), so it waits 50 times
 * its cost, 5 us per running task, at most 50 ms: a few tasks are reaped
 * at once, 10,000 cost under 2% of a core.
 */
static void
sigfd_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct signalfd_siginfo	 si[64];
	ssize_t			 n;
	size_t			 i;
	double			 delay;

	while ((n = read(w->fd, si, sizeof(si))) > 0)
		for (i = 0; i < (size_t)n / sizeof(si[0]); i++)
			job_reap_pid((pid_t)si[i].ssi_pid);
	if (!ev_is_active(&reap_timer)) {
		delay = 5e-6 * job_running_tasks();
		ev_timer_set(&reap_timer, delay < 0.05 ? delay : 0.05, 0.);
		ev_timer_start(loop, &reap_timer);
	}
}

static void
reap_timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	job_reap();
}

static int
sigfd_open(void)
{
	sigset_t	 set;
	int		 fd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	return fd;
}

static void
usr2_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	log_info("SIGUSR2: re-executing");
	daemon_reexec();
}

static void
relay_cb(pid_t pid, int status)
{
	struct relayed	*r;

	if ((r = reallocarray(relays, nrelays + 1, sizeof(*r))) == NULL) {
		log_warn("relayed exits");
		return;
	}
	relays = r;
	relays[nrelays].pid = pid;
	relays[nrelays++].status = status;
}

/*
 * The jobs of the state directory again (job.c), with what a restart
 * left: jobinit's channel and the exits it kept, and the fds it or the
 * last jobd held for jobs. Then live exits come from the channel.
 */
static void
recover(struct lsock *held, int nheld)
{
	char		 note[64];
	unsigned	 n;
	int		 i;

	for (i = 0; i < nheld; i++)
		if (strcmp(held[i].name, "jobinit") == 0 && !ctl_active())
			ctl_open(held[i].fd, relay_cb);
	job_load();
	for (i = 0; i < nheld; i++) {
		if (held[i].fd == ctl_fd())
			continue;
		if (job_take_fd(held[i].name, held[i].fd) == -1) {
			/* Its job is gone: nothing holds it any longer. */
			close(held[i].fd);
			ctl_remove(held[i].name);
		}
	}
	n = job_adopt(relays, nrelays);
	free(relays);
	relays = NULL;
	ctl_ack();
	ctl_start();
	if (n > 0) {
		log_info("recovered %u jobs from %s", n, store_dir());
		snprintf(note, sizeof(note), "%u jobs recovered", n);
		event_daemon("recovered", note);
	}
	for (i = 0; i < nheld; i++) {
		free(held[i].address);
		free(held[i].name);
	}
	free(held);
}

static void
reaper_cb(struct ev_loop *l, ev_prepare *w, int revents)
{
	events_flush();
	job_persist();
	api_prepare();
	conn_prepare();
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "allow-remote", no_argument, NULL, 'R' },
		{ "allow-uid", required_argument, NULL, 'U' },
		{ "max-body", required_argument, NULL, 'B' },
		{ "max-jobs", required_argument, NULL, 'J' },
		{ "keep-finished", required_argument, NULL, 'K' },
		{ "max-log", required_argument, NULL, 'G' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "no-cgroup", no_argument, NULL, 'X' },
		{ "max-connections", required_argument, NULL, 'C' },
		{ "request-timeout", required_argument, NULL, 'T' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "no-state", no_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	/* static: still reachable when a usage error exits mid-parse */
	static struct laddr	*addrs;
	struct laddr	 dla;
	struct lsock	*inh;
	struct rlimit	 rl, orig;
	char		 err[LISTEN_ERRLEN], path[PATH_MAX];
	const char	*state_dir = NULL;
	struct lsock	*held = NULL;
	int		 nheld = 0;
	int		 ch, naddrs = 0, ninh, verbosity = LOG_NORMAL, i;
	int		 no_state = 0;

	while ((ch = getopt_long(argc, argv, "l:vqVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (listen_add(&addrs, &naddrs, optarg, err,
			    sizeof(err)) == -1)
				usage_error("%s", err);
			break;
		case 'm':
			if (listen_parse_mode(optarg, &conf.socket_mode) == -1)
				usage_error("--socket-mode: \"%s\" is not an octal "
				    "mode", optarg);
			break;
		case 'R':
			conf.allow_remote = 1;
			break;
		case 'U':
			allow_uid(optarg);
			break;
		case 'B':
			conf.max_body = number("--max-body", optarg,
			    1UL << 30);
			break;
		case 'X':
			conf.no_cgroup = 1;
			break;
		case 'H':
			conf.heartbeat = seconds("--heartbeat", optarg);
			break;
		case 'G':
			conf.max_log = (int64_t)number("--max-log", optarg,
			    1UL << 40);
			if (conf.max_log < JOBD_LOG_MIN)
				usage_error("--max-log: at least %d bytes",
				    JOBD_LOG_MIN);
			break;
		case 'J':
			conf.max_jobs = number("--max-jobs", optarg, 1000000);
			break;
		case 'K':
			conf.keep_finished = number("--keep-finished", optarg,
			    1000000);
			break;
		case 'C':
			conf.max_connections = number("--max-connections",
			    optarg, 1000000);
			if (conf.max_connections == 0)
				usage_error("--max-connections must be at least 1");
			break;
		case 'T':
			conf.request_timeout = seconds("--request-timeout",
			    optarg);
			break;
		case 'I':
			conf.idle_timeout = seconds("--idle-timeout", optarg);
			break;
		case 'S':
			if (optarg[0] != '/')
				usage_error("--state-dir must be an absolute "
				    "path, not \"%s\"", optarg);
			state_dir = optarg;
			break;
		case 'N':
			no_state = 1;
			break;
		case 'v':
			verbosity = LOG_VERBOSE;
			break;
		case 'q':
			verbosity = LOG_QUIET;
			break;
		case 'V':
			printf("jobd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			usage_error(NULL);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument \"%s\"", argv[optind]);
	if (no_state && state_dir != NULL)
		usage_error("--state-dir and --no-state exclude each other");
	if (!conf.allow_remote &&
	    listen_check_remote(addrs, naddrs, err, sizeof(err)) == -1)
		usage_error("%s", err);
	log_init("jobd", verbosity);

	/*
	 * Many clients and jobs need many fds: raise the soft limit. Tasks
	 * get the limit jobd was started with.
	 */
	if (getrlimit(RLIMIT_NOFILE, &orig) == -1)
		fatal("getrlimit");
	rl = orig;
	rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
	if (rl.rlim_cur > orig.rlim_cur && setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit");

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");
	if (listen_inherit(LISTEN_CHECK | LISTEN_NONBLOCK | LISTEN_HELD, &inh,
	    &ninh, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((held = calloc((size_t)ninh + 1, sizeof(*held))) == NULL)
		fatal("held fds");
	for (i = 0; i < ninh; i++) {
		if (inh[i].inherited == LISTEN_IS_HELD)
			held[nheld++] = inh[i];
		else
			add_listener(&inh[i]);
	}
	free(inh);
	for (i = 0; i < naddrs; i++)
		if (!already_inherited(&addrs[i],
		    getenv("JOBD_REEXEC") != NULL))
			bind_or_die(&addrs[i]);
	free(addrs);
	if (nlisteners == 0) {
		if (listen_default(path, sizeof(path)) == -1)
			fatalx("default socket path too long");
		if (listen_default_dir(path, err, sizeof(err)) == -1)
			fatalx("%s", err);
		if (listen_parse(path, &dla, err, sizeof(err)) == -1)
			fatalx("%s", err);
		bind_or_die(&dla);
	}

	if (!no_state && state_dir == NULL) {
		if (store_default(path, sizeof(path)) == -1)
			fatalx("default state directory path too long");
		state_dir = path;
	}
	if (!no_state && store_open(state_dir, err, sizeof(err)) == -1) {
		/* No socket file of ours is left behind to look alive. */
		for (i = 0; i < (int)nlisteners; i++)
			listen_close(&listeners[i].ls);
		fatalx("%s", err);
	}
	daemon_init(argv);

	signal(SIGPIPE, SIG_IGN);
	if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		fatalx("cannot create the event loop");
	started = ev_time();
	conn_init();
	ev_signal_init(&sig_term, shutdown_cb, SIGTERM);
	ev_signal_init(&sig_int, shutdown_cb, SIGINT);
	ev_signal_init(&sig_hup, hup_cb, SIGHUP);
	ev_io_init(&sigfd_io, sigfd_cb, sigfd_open(), EV_READ);
	ev_init(&reap_timer, reap_timer_cb);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_hup);
	ev_io_start(loop, &sigfd_io);
	ev_prepare_init(&reaper, reaper_cb);
	ev_prepare_start(loop, &reaper);
	spawn_init(&orig);
	http_serve(api_dispatch);
	events_open();
	cgroup_init();
	event_daemon("started", NULL);
	recover(held, nheld);
	ev_signal_init(&sig_usr2, usr2_cb, SIGUSR2);
	ev_signal_start(loop, &sig_usr2);
	for (i = 0; i < (int)nlisteners; i++) {
		conn_listen(&listeners[i]);
		log_info("listening on %s%s", listeners[i].ls.address,
		    listeners[i].ls.inherited ? " (inherited)" : "");
	}

	ev_run(loop, 0);

	log_info("all jobs stopped, exiting");
	daemon_save(1);
	/* Followers of the events get the end of their stream. */
	events_close();
	conn_close_all();
	job_free_all();
	cgroup_close();
	log_cleanup();
	rlog_cleanup((const char *const[]){ "logs", "events", NULL });
	for (i = 0; i < (int)nlisteners; i++)
		listen_close(&listeners[i].ls);
	free(listeners);
	free(conf.allow_uids);
	close(sigfd_io.fd);
	ctl_close();
	store_close();
	ev_loop_destroy(loop);
	return 0;
}
