/*
 * jobctl.c: the command a person types. The command table, option
 * parsing and one function per command; building the job JSON is
 * ctl_job.c's, talking to jobd ctl_http.c's, printing ctl_out.c's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobctl.h"
#include "log.h"

static int	cmd_start(const struct cmd *, int, char **);
static int	cmd_run(const struct cmd *, int, char **);
static int	cmd_put(const struct cmd *, int, char **);
static int	cmd_status(const struct cmd *, int, char **);
static int	cmd_list(const struct cmd *, int, char **);
static int	cmd_logs(const struct cmd *, int, char **);
static int	cmd_events(const struct cmd *, int, char **);
static int	cmd_stop(const struct cmd *, int, char **);
static int	cmd_signal(const struct cmd *, int, char **);
static int	cmd_wait(const struct cmd *, int, char **);
static int	cmd_daemon(const struct cmd *, int, char **);
static int	cmd_version(const struct cmd *, int, char **);
static int	cmd_help(const struct cmd *, int, char **);

static const char main_help[] =
"usage: jobctl [-s ADDR] [--json] COMMAND [ARGS...]\n"
"\n"
"Start, watch and stop jobs run by jobd.\n"
"\n"
"Commands:\n"
"  start NAME [OPTIONS] [--] CMD [ARGS...]  start a job from flags\n"
"  run NAME [OPTIONS] [--] CMD [ARGS...]    start a job, print its output,\n"
"                             exit with its status\n"
"  put NAME [FILE|-]          start a job from its JSON\n"
"  status [NAME]              one job in detail, or every job\n"
"  list                       every job, one line each\n"
"  logs NAME [-f]             what a job wrote to its log\n"
"  events [-f] [NAME...]      what happened to jobs, one line an event\n"
"  stop NAME [--wait]         stop a job and forget it\n"
"  signal NAME SIG            send a signal to a job's running task\n"
"  wait NAME [--timeout S]    wait for a job to end, exit with its status\n"
"  daemon reexec              jobd execs itself again, keeping jobs, sockets\n"
"  version                    jobctl's and jobd's versions\n"
"  help [COMMAND]             this help, or a command's\n"
"\n"
"Options, before or after the command:\n"
"  -s, --socket ADDR  jobd's address: a socket path, unix:PATH or\n"
"                     tcp:HOST:PORT (default: $JOBD_SOCKET, else\n"
"                     $XDG_RUNTIME_DIR/jobd.sock, else /run/jobd.sock for\n"
"                     root, else /tmp/jobd-$UID/jobd.sock)\n"
"      --json         print jobd's JSON answer instead of text\n"
"  -h, --help         print help and exit\n"
"  -V, --version      print jobctl's version and exit\n"
"\n"
"Exit status: 0 done, 1 the request failed, 2 usage error, 3 jobd cannot\n"
"be reached; wait and run exit with the job's own status. See jobctl(1).\n";

static const char start_help[] =
"Define a job from flags and start it. jobd wants everything spelled out;\n"
"jobctl fills in what it can see from here:\n"
"\n"
"  --cwd DIR         the task's directory (default: the current one)\n"
"  --env K=V         set a variable (repeatable); --env K copies K from\n"
"                    here. PATH is copied from here unless given; nothing\n"
"                    else is passed on.\n"
"  --stdin FILE      read from FILE, or from a FIFO (default /dev/null)\n"
"  --stdout FILE     append to FILE, created if missing, or write to a FIFO\n"
"                    (default: the job's log, see 'jobctl logs')\n"
"  --stderr FILE     the same for stderr (default: where stdout goes)\n"
"  --listen ADDR[=NAME]\n"
"                    a socket jobd binds and holds for the job, passed as\n"
"                    fd 3, 4, ... with LISTEN_FDS: unix:PATH, tcp:HOST:PORT,\n"
"                    tcp:[::1]:PORT or udp:HOST:PORT; port 0 picks a free one\n"
"  --user USER       run as USER (name or number), with its groups\n"
"  --group GROUP     run with GROUP (name or number)\n"
"  --limit NAME=VALUE\n"
"                    an rlimit of every task (repeatable): NAME is nofile,\n"
"                    nproc, core, as, cpu, fsize, memlock or stack; VALUE\n"
"                    is N or unlimited (soft and hard), or SOFT:HARD\n"
"  --umask OCTAL     the tasks' umask, such as 022 (also for --stdout files)\n"
"  --no-new-privs    setuid programs and file capabilities give the tasks\n"
"                    nothing (PR_SET_NO_NEW_PRIVS)\n"
"  --then 'CMD ...'  a task to run after the previous one ends, with the\n"
"                    same directory, variables, fds, ids and limits, and\n"
"                    _LAST_EXIT set to the previous task's exit code or\n"
"                    signal (repeatable). Words are split as sh(1) would,\n"
"                    but nothing is expanded: write 'sh -c \"...\"' for\n"
"                    shell syntax.\n"
"  --stop-timeout S  seconds between SIGTERM and SIGKILL on stop\n"
"  --dry-run         print the job's JSON instead of sending it\n"
"  --wait            return once the job has ended (one round trip:\n"
"                    PUT ?wait=), exiting as 'jobctl wait' does\n"
"  --timeout S       with --wait: give up after S seconds (exit 124)\n"
"\n"
"Relative paths are taken from the current directory. The command starts\n"
"at the first word after NAME that is not an option, or after --.\n";

static const char run_help[] =
"Start a job as start does, print its output as it comes (its stdout to\n"
"stdout, its stderr to stderr), and exit with its status as wait does.\n"
"Ctrl-C (SIGINT) or SIGTERM stops the job as stop does; its output is\n"
"printed until it has ended. The options are those of start but\n"
"--dry-run, --wait and --timeout; output sent elsewhere with --stdout or\n"
"--stderr is not printed. With --json, the log's records as jobd sends\n"
"them (see logs).\n";

static const char put_help[] =
"Define a job from its JSON (jobd's PUT body), read from FILE or from\n"
"standard input, and start it.\n";

static const char status_help[] =
"Show one job in detail: its state, sockets and every task. Without NAME,\n"
"the same as list.\n";

static const char list_help[] =
"List every job, sorted by name: its state, current task (counted from 1),\n"
"pid, exit code or signal, age and command.\n";

static const char logs_help[] =
"Print a job's log: what its tasks wrote to their log fds (stdout and\n"
"stderr, unless start was told otherwise), each record's bytes as they\n"
"were written, the task's stdout to stdout and its stderr to stderr.\n"
"Records lost to the log's rotation are said on stderr.\n"
"\n"
"  -f, --follow      keep printing as the job writes, until it ends\n"
"  --tail N          only the last N records\n"
"  --since SEQ       only the records after number SEQ\n"
"  --raw             the bytes alone, all to stdout\n"
"\n"
"With --json, jobd's records as they come, one JSON object a line: seq,\n"
"time, task, stream and data (data_b64 for bytes that are not UTF-8).\n";

static const char events_help[] =
"Print jobd's events: every job created, started, stopping, exited,\n"
"failed, deleted or forgotten, every task started, exited, killed,\n"
"failed, skipped, cancelled or lost, and jobd's own start and recovery.\n"
"One line an event: its local time, its number (seq), the job, NAME[I]\n"
"for its task I (counted from 0) or jobd for jobd itself, the action,\n"
"then the exit code, signal, pid, error or jobd's note:\n"
"\n"
"  2026-12-02 16:06:44.965       5  web[0]        exited 3 (pid 1008)\n"
"\n"
"With NAME, only those jobs' events. jobd keeps at least the last 10,000\n"
"events; those asked for but no longer kept are said on stderr.\n"
"\n"
"  -f, --follow      print what there is, then the events as they\n"
"                    happen, until jobd closes (Ctrl-C ends it)\n"
"  --since SEQ       only the events after number SEQ (the second\n"
"                    column; without it, from the oldest kept)\n"
"\n"
"With --json, every line as jobd sends it: the events' JSON objects,\n"
"{\"gap\": [FROM, TO]} for events lost, and with -f {\"heartbeat\": SEQ}\n"
"every 15 seconds.\n";

static const char stop_help[] =
"Stop a job (SIGTERM to its task's process group, SIGKILL after its stop\n"
"timeout; later tasks do not run) and forget it.\n"
"\n"
"  --wait            return only once the job is gone\n"
"  --timeout S       with --wait: give up after S seconds, exit 124\n";

static const char signal_help[] =
"Send a signal (HUP, SIGHUP or 1) to the process group of the job's\n"
"running task.\n";

static const char wait_help[] =
"Wait until the job is no longer running and exit with its status: the\n"
"last task's exit code, 128 + the signal number if it was killed, 126 if\n"
"the task could not be started.\n"
"\n"
"  --timeout S       give up after S seconds and exit 124\n";

static const char daemon_help[] =
"Ask jobd about itself. The one action:\n"
"\n"
"  reexec            jobd execs its binary again (a new build at the same\n"
"                    path), keeping its listening sockets and its jobs,\n"
"                    whose tasks stay its children: a live upgrade.\n"
"                    Connections may close; no client is refused.\n";

static const char version_help[] =
"Print jobctl's version and that of the jobd it talks to.\n";

static const char help_help[] =
"Print help: the list of commands, or one command's options.\n";

static const struct cmd cmds[] = {
	{ "start", cmd_start, "start NAME [OPTIONS] [--] CMD [ARGS...]",
	    start_help },
	{ "run", cmd_run, "run NAME [OPTIONS] [--] CMD [ARGS...]", run_help },
	{ "put", cmd_put, "put NAME [FILE|-]", put_help },
	{ "status", cmd_status, "status [NAME]", status_help },
	{ "list", cmd_list, "list", list_help },
	{ "logs", cmd_logs, "logs NAME [-f] [--tail N] [--since SEQ] [--raw]",
	    logs_help },
	{ "events", cmd_events, "events [-f] [--since SEQ] [NAME...]",
	    events_help },
	{ "stop", cmd_stop, "stop NAME [--wait [--timeout S]]", stop_help },
	{ "signal", cmd_signal, "signal NAME SIG", signal_help },
	{ "wait", cmd_wait, "wait NAME [--timeout S]", wait_help },
	{ "daemon", cmd_daemon, "daemon reexec", daemon_help },
	{ "version", cmd_version, "version", version_help },
	{ "help", cmd_help, "help [COMMAND]", help_help },
};

enum {
	OPT_JSON = 256,
	OPT_STDIN,
	OPT_STDOUT,
	OPT_STDERR,
	OPT_LISTEN,
	OPT_CWD,
	OPT_ENV,
	OPT_USER,
	OPT_GROUP,
	OPT_LIMIT,
	OPT_UMASK,
	OPT_NO_NEW_PRIVS,
	OPT_THEN,
	OPT_STOP_TIMEOUT,
	OPT_DRY_RUN,
	OPT_WAIT,
	OPT_TIMEOUT,
	OPT_TAIL,
	OPT_SINCE,
	OPT_RAW
};

#define COMMON_OPTS							\
	{ "socket", required_argument, NULL, 's' },			\
	{ "json", no_argument, NULL, OPT_JSON },			\
	{ "help", no_argument, NULL, 'h' }

/* What start and run take alike. */
#define START_OPTS							\
	COMMON_OPTS,							\
	{ "stdin", required_argument, NULL, OPT_STDIN },		\
	{ "stdout", required_argument, NULL, OPT_STDOUT },		\
	{ "stderr", required_argument, NULL, OPT_STDERR },		\
	{ "listen", required_argument, NULL, OPT_LISTEN },		\
	{ "cwd", required_argument, NULL, OPT_CWD },			\
	{ "env", required_argument, NULL, OPT_ENV },			\
	{ "user", required_argument, NULL, OPT_USER },			\
	{ "group", required_argument, NULL, OPT_GROUP },		\
	{ "limit", required_argument, NULL, OPT_LIMIT },		\
	{ "umask", required_argument, NULL, OPT_UMASK },		\
	{ "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },	\
	{ "then", required_argument, NULL, OPT_THEN },			\
	{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT }

/* jobctl run: its calls in flight, and what came of them. */
struct run {
	const char	*name;
	struct logs	 lo;
	struct call	*log;		/* GET /log?follow=1 */
	struct call	*wait;		/* GET ?wait= until it ends */
	struct call	*stop;		/* DELETE, on a signal */
	struct reply	 logr;
	struct reply	 waitr;
	struct reply	 stopr;
	int		 stopping;
	int		 rc;		/* an error's status, or 0 */
};

const char	*opt_socket;
int		 opt_json;

static int	 sig_fds[2] = { -1, -1 };	/* SIGINT, SIGTERM: run */

/* A usage error: one line saying why, the synopsis, exit 2. */
void
usage(const struct cmd *c, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "jobctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c != NULL)
		fprintf(stderr, "\nusage: jobctl %s\nTry 'jobctl help %s' for "
		    "more information.\n", c->synopsis, c->name);
	else
		fprintf(stderr, "\nTry 'jobctl help' for more information.\n");
	exit(EXIT_USAGE);
}

static void
help(const struct cmd *c)
{
	printf("usage: jobctl %s\n\n%s", c->synopsis, c->help);
	printf("\nCommon options: -s ADDR, --json, --help. "
	    "See jobctl(1).\n");
}

/*
 * getopt_long for a command, with the options every command takes
 * handled here. Returns the next option of the command's own, or -1.
 * Messages are ours: getopt's would name the command as the program.
 */
static int
getopt_cmd(const struct cmd *c, int argc, char **argv, const char *shorts,
    const struct option *longs)
{
	int	 ch;

	for (;;) {
		ch = getopt_long(argc, argv, shorts, longs, NULL);
		switch (ch) {
		case 's':
			opt_socket = optarg;
			break;
		case OPT_JSON:
			opt_json = 1;
			break;
		case 'h':
			help(c);
			exit(0);
		case ':':
			usage(c, "option %s needs a value", argv[optind - 1]);
		case '?':
			if (optopt != 0)
				usage(c, "unknown option -%c", optopt);
			usage(c, "unknown option %s", argv[optind - 1]);
		default:
			return ch;
		}
	}
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		fatal("calloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

/*
 * A path made absolute against the current directory, with leading "./"
 * dropped: jobd takes only absolute paths, and runs elsewhere.
 */
int
absolute(const char *path, char *buf, size_t size)
{
	char	 cwd[PATH_MAX];
	int	 n;

	if (path[0] == '/')
		n = snprintf(buf, size, "%s", path);
	else {
		while (path[0] == '.' && path[1] == '/')
			path += 2 + strspn(path + 2, "/");
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			log_warn("getcwd");
			return -1;
		}
		if (path[0] == '\0' || strcmp(path, ".") == 0)
			n = snprintf(buf, size, "%s", cwd);
		else
			n = snprintf(buf, size, "%s%s%s", cwd,
			    strcmp(cwd, "/") == 0 ? "" : "/", path);
	}
	if (n < 0 || (size_t)n >= size) {
		log_warnx("%s: path too long", path);
		return -1;
	}
	return 0;
}

static double
now_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Hold GET ?wait= until the job is no longer running or stopping, at most
 * timeout seconds (< 0: for ever), in chunks so that no single request
 * outlives anybody's patience. Returns 0 with the last answer in r (a 404
 * if the job went away meanwhile), EXIT_TIMEOUT with it in r when the
 * time ran out, or EXIT_UNREACHABLE.
 */
static int
wait_job(const char *name, double timeout, struct reply *r)
{
	double	 start = now_mono(), left = 0, chunk;
	char	*path, suffix[64];
	int	 rc;

	for (;;) {
		chunk = WAIT_CHUNK;
		if (timeout >= 0) {
			left = timeout - (now_mono() - start);
			if (left < 0)
				left = 0;
			if (left < chunk)
				chunk = left;
		}
		snprintf(suffix, sizeof(suffix), "?wait=%.3f", chunk);
		path = http_job_path(name, suffix);
		rc = http_request("GET", path, NULL, 0, (long)chunk + 30, r);
		free(path);
		if (rc == -1)
			return EXIT_UNREACHABLE;
		if (r->status != 200 || !out_active(jstr(r->json, "state")))
			return 0;
		if (timeout >= 0 && chunk >= left)
			return EXIT_TIMEOUT;
		reply_free(r);
	}
}

static double
parse_seconds(const struct cmd *c, const char *opt, const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0)
		usage(c, "%s: \"%s\" is not a number of seconds", opt, s);
	return v;
}

/*
 * The options of start and run into s. They may come before and after
 * NAME; the command starts at the first word after NAME that is not an
 * option, or after "--". Returns NAME, with optind at the command.
 */
static const char *
start_args(const struct cmd *c, int argc, char **argv,
    const struct option *opts, struct start *s)
{
	const char	*name = NULL, *lastarg = NULL;
	int		 ch, dashdash;

	memset(s, 0, sizeof(*s));
	s->stop_timeout = -1;
	s->timeout = -1;
	s->listen = xcalloc((size_t)argc, sizeof(*s->listen));
	s->env = xcalloc((size_t)argc, sizeof(*s->env));
	s->then = xcalloc((size_t)argc, sizeof(*s->then));
	s->limit = xcalloc((size_t)argc, sizeof(*s->limit));
	for (;;) {
		while ((ch = getopt_cmd(c, argc, argv, "+:s:h", opts)) != -1) {
			lastarg = optarg;
			switch (ch) {
			case OPT_STDIN:
				s->in = optarg;
				break;
			case OPT_STDOUT:
				s->out = optarg;
				break;
			case OPT_STDERR:
				s->err = optarg;
				break;
			case OPT_LISTEN:
				s->listen[s->nlisten++] = optarg;
				break;
			case OPT_CWD:
				s->cwd = optarg;
				break;
			case OPT_ENV:
				s->env[s->nenv++] = optarg;
				break;
			case OPT_USER:
				s->user = optarg;
				break;
			case OPT_GROUP:
				s->group = optarg;
				break;
			case OPT_LIMIT:
				s->limit[s->nlimit++] = optarg;
				break;
			case OPT_UMASK:
				s->umask = optarg;
				break;
			case OPT_NO_NEW_PRIVS:
				s->no_new_privs = 1;
				break;
			case OPT_THEN:
				s->then[s->nthen++] = optarg;
				break;
			case OPT_STOP_TIMEOUT:
				s->stop_timeout = parse_seconds(c,
				    "--stop-timeout", optarg);
				break;
			case OPT_DRY_RUN:
				s->dry_run = 1;
				break;
			case OPT_WAIT:
				s->wait = 1;
				break;
			case OPT_TIMEOUT:
				s->timeout = parse_seconds(c, "--timeout",
				    optarg);
				break;
			}
		}
		dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0 &&
		    argv[optind - 1] != lastarg;
		if (optind >= argc)
			usage(c, name == NULL ? "no job name" :
			    "no command to run");
		if (name == NULL) {
			name = argv[optind++];
			if (!dashdash)
				continue;
			if (optind >= argc)
				usage(c, "no command to run");
		}
		break;
	}
	if ((s->in != NULL && *s->in == '\0') ||
	    (s->out != NULL && *s->out == '\0') ||
	    (s->err != NULL && *s->err == '\0'))
		usage(c, "--stdin, --stdout and --stderr need a path");
	if ((s->user != NULL && *s->user == '\0') ||
	    (s->group != NULL && *s->group == '\0'))
		usage(c, "--user and --group need a name or a number");
	/* jobd's own form, so that 022 and 0022 both pass as given. */
	if (s->umask != NULL && (*s->umask == '\0' || strlen(s->umask) > 4 ||
	    strspn(s->umask, "01234567") != strlen(s->umask)))
		usage(c, "--umask %s: expected 1 to 4 octal digits, such as 022",
		    s->umask);
	if (s->timeout >= 0 && !s->wait)
		usage(c, "--timeout goes with --wait");
	return name;
}

static void
start_free(struct start *s)
{
	free(s->listen);
	free(s->env);
	free(s->then);
	free(s->limit);
}

/*
 * PUT the job. Returns 0 with jobd's answer in r, or an exit status
 * having said why, with what on our command line an error came from.
 */
static int
start_put(const char *name, const struct start *s, const cJSON *job,
    const char *suffix, long timeout, struct reply *r)
{
	char	*body, *path, hint[PATH_MAX + 64];
	int	 rc = 0;

	if ((body = cJSON_PrintUnformatted(job)) == NULL)
		fatalx("out of memory");
	path = http_job_path(name, suffix);
	if (http_request("PUT", path, body, strlen(body), timeout, r) == -1)
		rc = EXIT_UNREACHABLE;
	else if (!reply_ok(r)) {
		job_hint(s, jstr(r->json, "path"), hint, sizeof(hint));
		rc = reply_fail(r, hint);
		reply_free(r);
	}
	free(path);
	free(body);
	return rc;
}

static int
cmd_start(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		START_OPTS,
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 }
	};
	struct start	 s;
	struct reply	 r;
	const char	*name;
	char		*body = NULL, suffix[64], buf[1024];
	cJSON		*job = NULL;
	double		 timeout, chunk = WAIT_CHUNK, t0 = now_mono();
	int		 rc;

	name = start_args(c, argc, argv, opts, &s);
	timeout = s.timeout;
	if ((rc = job_build(c, &s, argv + optind, &job)) != 0)
		goto done;
	if (s.dry_run) {
		body = opt_json ? cJSON_PrintUnformatted(job) :
		    cJSON_Print(job);
		if (body == NULL)
			fatalx("out of memory");
		printf("%s\n", body);
		goto done;
	}
	/* --wait: the PUT itself waits, then GET ?wait= if need be. */
	if (timeout >= 0 && timeout < chunk)
		chunk = timeout;
	snprintf(suffix, sizeof(suffix), s.wait ? "?wait=%.3f" : "", chunk);
	if ((rc = start_put(name, &s, job, suffix, s.wait ? (long)chunk + 30 :
	    REQUEST_TIMEOUT, &r)) != 0)
		goto done;
	if (!s.wait) {
		if (opt_json)
			out_raw(&r);
		else
			out_started(r.json);
	} else {
		if (out_active(jstr(r.json, "state")) &&
		    (timeout < 0 || now_mono() - t0 < timeout)) {
			reply_free(&r);
			rc = wait_job(name, timeout < 0 ? -1 :
			    timeout - (now_mono() - t0), &r);
			if (rc == EXIT_UNREACHABLE)
				goto done;
		}
		if (!reply_ok(&r))
			rc = reply_fail(&r, NULL);
		else if (out_active(jstr(r.json, "state"))) {
			log_warnx("%s: still %s after %gs", name,
			    jstr(r.json, "state"), timeout);
			rc = EXIT_TIMEOUT;
		} else {
			rc = out_code(r.json);
			if (opt_json)
				out_raw(&r);
			else {
				out_outcome(r.json, buf, sizeof(buf));
				printf("%s: %s\n", name, buf);
			}
		}
	}
	reply_free(&r);
done:
	cJSON_Delete(job);
	free(body);
	start_free(&s);
	return rc;
}

/* GET a job's log with query, its body to lo as it comes. */
static struct call *
logs_start(const char *name, const char *query, struct logs *lo,
    struct reply *r)
{
	struct call	*call;
	char		*path, suffix[256];

	snprintf(suffix, sizeof(suffix), "/log%s", query);
	path = http_job_path(name, suffix);
	call = http_start("GET", path, NULL, 0, 0L, r);
	free(path);
	if (call != NULL)
		http_sink(call, out_logs, lo);
	return call;
}

/*
 * The end of a log's call, or of the events': 0, or an exit status
 * having said why.
 */
static int
logs_finish(struct call *call, struct logs *lo, struct reply *r)
{
	int	 rc = 0;

	if (http_finish(call) == -1)
		rc = lo->failed ? EXIT_REQUEST : EXIT_UNREACHABLE;
	else if (!reply_ok(r))
		rc = reply_fail(r, NULL);
	if (out_logs_end(lo, rc == 0) == -1 && rc == 0)
		rc = EXIT_REQUEST;
	reply_free(r);
	return rc;
}

static void
sig_cb(int sig)
{
	int	 saved = errno;
	ssize_t	 n;

	n = write(sig_fds[1], "", 1);
	(void)n;
	errno = saved;
}

/* SIGINT and SIGTERM into a pipe, read where acting on them is safe. */
static void
sig_catch(void)
{
	struct sigaction	 sa;

	if (pipe2(sig_fds, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = sig_cb;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1)
		fatal("sigaction");
}

/* Empty the pipe: 1 if a signal had come. */
static int
sig_caught(void)
{
	char	 buf[16];
	int	 caught = 0;

	while (read(sig_fds[0], buf, sizeof(buf)) > 0)
		caught = 1;
	return caught;
}

static void
run_wait(struct run *ru)
{
	char	*path, suffix[64];

	snprintf(suffix, sizeof(suffix), "?wait=%.3f", WAIT_CHUNK);
	path = http_job_path(ru->name, suffix);
	ru->wait = http_start("GET", path, NULL, 0, (long)WAIT_CHUNK + 30,
	    &ru->waitr);
	free(path);
}

/*
 * Stop the job, as stop does: its log goes on to its end. Once the job
 * has ended (the wait is over), there is nothing to stop, and a DELETE
 * would forget it.
 */
static void
run_stop(struct run *ru)
{
	char	*path;

	if (ru->stopping || ru->wait == NULL)
		return;
	ru->stopping = 1;
	log_warnx("%s: stopping", ru->name);
	path = http_job_path(ru->name, "");
	ru->stop = http_start("DELETE", path, NULL, 0, REQUEST_TIMEOUT,
	    &ru->stopr);
	free(path);
}

/*
 * One of run's calls is over. The job's status comes from a GET ?wait=
 * held while it ends: once a stopped job has ended, jobd forgets it.
 */
static void
run_ended(struct run *ru, struct call *c)
{
	int	 rc = 0;

	if (c == ru->log) {
		ru->log = NULL;
		rc = logs_finish(c, &ru->lo, &ru->logr);
	} else if (c == ru->wait) {
		ru->wait = NULL;
		if (http_finish(c) == -1)
			rc = EXIT_UNREACHABLE;
		else if (!reply_ok(&ru->waitr))
			rc = reply_fail(&ru->waitr, NULL);
		else if (out_active(jstr(ru->waitr.json, "state"))) {
			reply_free(&ru->waitr);
			run_wait(ru);
		}
	} else if (c == ru->stop) {
		ru->stop = NULL;
		if (http_finish(c) == 0 && !reply_ok(&ru->stopr) &&
		    ru->stopr.status != 404)
			reply_fail(&ru->stopr, NULL);
		reply_free(&ru->stopr);
	}
	if (ru->rc == 0)
		ru->rc = rc;
}

static int
cmd_run(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		START_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct start	 s;
	struct run	 ru;
	struct reply	 r;
	struct call	*done;
	cJSON		*job = NULL;

	memset(&ru, 0, sizeof(ru));
	ru.name = start_args(c, argc, argv, opts, &s);
	ru.lo.mode = opt_json ? LOGS_COPY : LOGS_TEXT;
	if ((ru.rc = job_build(c, &s, argv + optind, &job)) != 0)
		goto done;
	/* From here a signal stops the job, once it has been started. */
	sig_catch();
	if ((ru.rc = start_put(ru.name, &s, job, "", REQUEST_TIMEOUT,
	    &r)) != 0)
		goto done;
	reply_free(&r);
	ru.log = logs_start(ru.name, "?follow=1", &ru.lo, &ru.logr);
	run_wait(&ru);
	while (ru.rc == 0 && (ru.log != NULL || ru.wait != NULL ||
	    ru.stop != NULL)) {
		if ((done = http_next(sig_fds[0])) != NULL)
			run_ended(&ru, done);
		else if (sig_caught())
			run_stop(&ru);
	}
	if (ru.log != NULL)
		out_logs_end(&ru.lo, 0);
	http_cancel(ru.log);
	http_cancel(ru.wait);
	http_cancel(ru.stop);
	if (ru.rc == 0)
		ru.rc = out_code(ru.waitr.json);
	reply_free(&ru.waitr);
done:
	cJSON_Delete(job);
	start_free(&s);
	return ru.rc;
}

/* The whole of a file, or of stdin for "-". */
static char *
read_all(const char *file, size_t *lenp)
{
	FILE	*f = stdin;
	char	*buf = NULL, *p;
	size_t	 len = 0, cap = 0, n;

	if (strcmp(file, "-") != 0 && (f = fopen(file, "re")) == NULL) {
		log_warn("%s", file);
		return NULL;
	}
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > BODY_MAX * 2 ||
			    (p = realloc(buf, cap)) == NULL) {
				log_warnx("%s: too large", file);
				goto fail;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		log_warn("%s", file);
		goto fail;
	}
	buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	*lenp = len;
	return buf;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

static int
cmd_put(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct reply	 r;
	const char	*file = "-";
	char		*body, *path;
	size_t		 len;
	int		 rc = 0;

	if (getopt_cmd(c, argc, argv, ":s:h", opts) != -1)
		usage(c, "unexpected option");
	if (optind >= argc)
		usage(c, "no job name");
	if (argc - optind > 2)
		usage(c, "unexpected argument \"%s\"", argv[optind + 2]);
	if (argc - optind == 2)
		file = argv[optind + 1];
	if ((body = read_all(file, &len)) == NULL)
		return EXIT_REQUEST;
	path = http_job_path(argv[optind], "");
	if (http_request("PUT", path, body, len, REQUEST_TIMEOUT, &r) == -1)
		rc = EXIT_UNREACHABLE;
	else if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		out_raw(&r);
	else
		out_started(r.json);
	reply_free(&r);
	free(path);
	free(body);
	return rc;
}

/* Parse the options of a command that takes only the common ones. */
static void
plain_opts(const struct cmd *c, int argc, char **argv, int min, int max)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ NULL, 0, NULL, 0 }
	};

	if (getopt_cmd(c, argc, argv, ":s:h", opts) != -1)
		usage(c, "unexpected option");
	if (argc - optind < min)
		usage(c, min == 1 ? "no job name" : "missing argument");
	if (argc - optind > max)
		usage(c, "unexpected argument \"%s\"", argv[optind + max]);
}

static int
list_jobs(void)
{
	struct reply	 r;
	int		 rc = 0;

	if (http_request("GET", "/jobs", NULL, 0, REQUEST_TIMEOUT, &r) == -1)
		return EXIT_UNREACHABLE;
	if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		out_raw(&r);
	else
		out_jobs(cJSON_GetObjectItemCaseSensitive(r.json, "jobs"));
	reply_free(&r);
	return rc;
}

static int
cmd_list(const struct cmd *c, int argc, char **argv)
{
	plain_opts(c, argc, argv, 0, 0);
	return list_jobs();
}

/* A count for a query, as jobd takes it: decimal digits. */
static const char *
parse_count(const struct cmd *c, const char *opt, const char *s)
{
	if (*s == '\0' || strspn(s, "0123456789") != strlen(s) ||
	    strlen(s) > 18)
		usage(c, "%s: \"%s\" is not a number", opt, s);
	return s;
}

static int
cmd_logs(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, OPT_TAIL },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ NULL, 0, NULL, 0 }
	};
	struct logs	 lo;
	struct reply	 r;
	struct call	*call;
	const char	*tail = NULL, *since = NULL;
	char		 query[128];
	int		 ch, follow = 0, raw = 0;

	while ((ch = getopt_cmd(c, argc, argv, ":s:hf", opts)) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		case OPT_TAIL:
			tail = parse_count(c, "--tail", optarg);
			break;
		case OPT_SINCE:
			since = parse_count(c, "--since", optarg);
			break;
		case OPT_RAW:
			raw = 1;
			break;
		}
	}
	if (raw && opt_json)
		usage(c, "--raw and --json do not go together");
	if (optind >= argc)
		usage(c, "no job name");
	if (argc - optind > 1)
		usage(c, "unexpected argument \"%s\"", argv[optind + 1]);
	memset(&lo, 0, sizeof(lo));
	lo.mode = raw || opt_json ? LOGS_COPY : LOGS_TEXT;
	snprintf(query, sizeof(query), "?format=%s%s%s%s%s%s",
	    raw ? "raw" : "ndjson", follow ? "&follow=1" : "",
	    tail ? "&tail=" : "", tail ? tail : "",
	    since ? "&since=" : "", since ? since : "");
	if ((call = logs_start(argv[optind], query, &lo, &r)) == NULL)
		return EXIT_UNREACHABLE;
	while (http_next(-1) != call)
		;
	return logs_finish(call, &lo, &r);
}

static int
cmd_events(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "follow", no_argument, NULL, 'f' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ NULL, 0, NULL, 0 }
	};
	struct logs	 lo;
	struct reply	 r;
	struct call	*call;
	const char	*since = NULL;
	char		*path;
	int		 ch, follow = 0;

	while ((ch = getopt_cmd(c, argc, argv, ":s:hf", opts)) != -1) {
		if (ch == 'f')
			follow = 1;
		else if (ch == OPT_SINCE)
			since = parse_count(c, "--since", optarg);
	}
	path = xstrdup("/events");
	if (since != NULL)
		http_query(&path, "since", since);
	if (follow)
		http_query(&path, "follow", "1");
	for (; optind < argc; optind++)
		http_query(&path, "job", argv[optind]);
	memset(&lo, 0, sizeof(lo));
	lo.mode = opt_json ? LOGS_COPY : LOGS_EVENTS;
	call = http_start("GET", path, NULL, 0, 0L, &r);
	free(path);
	if (call == NULL)
		return EXIT_UNREACHABLE;
	http_sink(call, out_logs, &lo);
	while (http_next(-1) != call)
		;
	return logs_finish(call, &lo, &r);
}

static int
cmd_status(const struct cmd *c, int argc, char **argv)
{
	struct reply	 r;
	char		*path;
	int		 rc = 0;

	plain_opts(c, argc, argv, 0, 1);
	if (optind == argc)
		return list_jobs();
	path = http_job_path(argv[optind], "");
	rc = http_request("GET", path, NULL, 0, REQUEST_TIMEOUT, &r);
	free(path);
	if (rc == -1)
		return EXIT_UNREACHABLE;
	if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		out_raw(&r);
	else
		out_job(r.json);
	reply_free(&r);
	return rc;
}

static int
cmd_stop(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 }
	};
	struct reply	 r, w;
	const char	*name;
	char		*path, buf[1024];
	double		 timeout = -1;
	int		 ch, wait = 0, rc = 0;

	while ((ch = getopt_cmd(c, argc, argv, ":s:h", opts)) != -1) {
		if (ch == OPT_WAIT)
			wait = 1;
		else if (ch == OPT_TIMEOUT)
			timeout = parse_seconds(c, "--timeout", optarg);
	}
	if (timeout >= 0 && !wait)
		usage(c, "--timeout goes with --wait");
	if (optind >= argc)
		usage(c, "no job name");
	if (argc - optind > 1)
		usage(c, "unexpected argument \"%s\"", argv[optind + 1]);
	name = argv[optind];
	path = http_job_path(name, "");
	rc = http_request("DELETE", path, NULL, 0, REQUEST_TIMEOUT, &r);
	free(path);
	if (rc == -1)
		return EXIT_UNREACHABLE;
	if (!reply_ok(&r)) {
		rc = reply_fail(&r, NULL);
		reply_free(&r);
		return rc;
	}
	if (r.status != 202 || !wait) {
		if (opt_json)
			out_raw(&r);
		else if (r.status == 202)
			printf("%s: stopping (SIGTERM now, SIGKILL after "
			    "%gs)\n", name, cJSON_GetNumberValue(
			    cJSON_GetObjectItemCaseSensitive(r.json,
			    "stop_timeout")));
		else {
			out_outcome(r.json, buf, sizeof(buf));
			printf("%s: removed (%s)\n", name, buf);
		}
		reply_free(&r);
		return 0;
	}
	rc = wait_job(name, timeout, &w);
	if (rc == EXIT_TIMEOUT)
		log_warnx("%s: still stopping after %gs", name, timeout);
	else if (rc == 0 && w.status != 200 && w.status != 404)
		rc = reply_fail(&w, NULL);
	else if (rc == 0 && opt_json)
		out_raw(&r);
	else if (rc == 0)
		printf("%s: stopped\n", name);
	reply_free(&w);
	reply_free(&r);
	return rc;
}

static int
cmd_signal(const struct cmd *c, int argc, char **argv)
{
	struct reply	 r;
	cJSON		*o;
	const char	*sig;
	char		*body, *path;
	int		 rc = 0;

	plain_opts(c, argc, argv, 2, 2);
	sig = argv[optind + 1];
	o = cJSON_CreateObject();
	if (*sig != '\0' && strspn(sig, "0123456789") == strlen(sig))
		cJSON_AddNumberToObject(o, "signal", atoi(sig));
	else
		cJSON_AddStringToObject(o, "signal", sig);
	if ((body = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("out of memory");
	cJSON_Delete(o);
	path = http_job_path(argv[optind], "/signal");
	if (http_request("POST", path, body, strlen(body), REQUEST_TIMEOUT,
	    &r) == -1)
		rc = EXIT_UNREACHABLE;
	else if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		out_raw(&r);
	else
		printf("%s: sent %s to pid %d\n", argv[optind], sig,
		    jint(r.json, "pid", 0));
	reply_free(&r);
	free(path);
	free(body);
	return rc;
}

static int
cmd_wait(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 }
	};
	struct reply	 r;
	const char	*name;
	char		 buf[1024];
	double		 timeout = -1;
	int		 ch, rc;

	while ((ch = getopt_cmd(c, argc, argv, ":s:h", opts)) != -1)
		if (ch == OPT_TIMEOUT)
			timeout = parse_seconds(c, "--timeout", optarg);
	if (optind >= argc)
		usage(c, "no job name");
	if (argc - optind > 1)
		usage(c, "unexpected argument \"%s\"", argv[optind + 1]);
	name = argv[optind];
	rc = wait_job(name, timeout, &r);
	if (rc == EXIT_UNREACHABLE)
		return rc;
	if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (rc == EXIT_TIMEOUT)
		log_warnx("%s: still %s after %gs", name, jstr(r.json,
		    "state") ? jstr(r.json, "state") : "running", timeout);
	else {
		rc = out_code(r.json);
		if (opt_json)
			out_raw(&r);
		else {
			out_outcome(r.json, buf, sizeof(buf));
			printf("%s: %s\n", name, buf);
		}
	}
	reply_free(&r);
	return rc;
}

static int
cmd_daemon(const struct cmd *c, int argc, char **argv)
{
	struct reply	 r;
	int		 rc = 0;

	plain_opts(c, argc, argv, 0, 1);
	if (optind == argc)
		usage(c, "no action (reexec)");
	if (strcmp(argv[optind], "reexec") != 0)
		usage(c, "unknown action \"%s\"", argv[optind]);
	if (http_request("POST", "/daemon/reexec", "", 0, REQUEST_TIMEOUT,
	    &r) == -1)
		return EXIT_UNREACHABLE;
	if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		out_raw(&r);
	else if (jint(r.json, "pid", 0) > 0)
		printf("jobd at %s: re-executing, pid %d\n", http_addr(),
		    jint(r.json, "pid", 0));
	else
		printf("jobd at %s: re-executing\n", http_addr());
	reply_free(&r);
	return rc;
}

static int
cmd_version(const struct cmd *c, int argc, char **argv)
{
	struct reply	 r;
	const cJSON	*l;
	char		 buf[64];
	int		 rc = 0;

	plain_opts(c, argc, argv, 0, 0);
	if (!opt_json)
		printf("jobctl %s\n", PACKAGE_VERSION);
	fflush(stdout);
	if (http_request("GET", "/", NULL, 0, REQUEST_TIMEOUT, &r) == -1)
		return EXIT_UNREACHABLE;
	if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		out_raw(&r);
	else {
		l = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json,
		    "listen"), 0);
		printf("%s %s, pid %d, uid %d, up %s, on %s\n",
		    jstr(r.json, "name") ? jstr(r.json, "name") : "jobd",
		    jstr(r.json, "version") ? jstr(r.json, "version") : "?",
		    jint(r.json, "pid", 0), jint(r.json, "uid", -1),
		    out_span(cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(r.json, "uptime")), buf,
		    sizeof(buf)), jstr(l, "address") ? jstr(l, "address") :
		    http_addr());
	}
	reply_free(&r);
	return rc;
}

static const struct cmd *
cmd_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(cmds); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static int
cmd_help(const struct cmd *c, int argc, char **argv)
{
	const struct cmd	*h;

	plain_opts(c, argc, argv, 0, 1);
	if (optind == argc) {
		fputs(main_help, stdout);
		return 0;
	}
	if ((h = cmd_find(argv[optind])) == NULL)
		usage(NULL, "unknown command \"%s\"", argv[optind]);
	help(h);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd	*c;
	const char		*term = getenv("TERM");
	int			 ch, rc;

	log_init("jobctl", LOG_NORMAL);
	while ((ch = getopt_long(argc, argv, "+:s:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			opt_socket = optarg;
			break;
		case OPT_JSON:
			opt_json = 1;
			break;
		case 'h':
			fputs(main_help, stdout);
			return 0;
		case 'V':
			printf("jobctl %s\n", PACKAGE_VERSION);
			return 0;
		case ':':
			usage(NULL, "option %s needs a value",
			    argv[optind - 1]);
		default:
			if (optopt != 0)
				usage(NULL, "unknown option -%c", optopt);
			usage(NULL, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage(NULL, "no command");
	if ((c = cmd_find(argv[optind])) == NULL)
		usage(NULL, "unknown command \"%s\"", argv[optind]);
	/* NO_COLOR (no-color.org) set, even empty, means no colour. */
	out_colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	http_init();
	argc -= optind;
	argv += optind;
	optind = 0;
	rc = c->fn(c, argc, argv);
	http_cleanup();
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (errno != EPIPE)
			log_warn("stdout");
		rc = rc ? rc : EXIT_REQUEST;
	}
	return rc;
}
