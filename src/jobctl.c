/*
 * jobctl.c: the command a person types. Builds the job JSON that jobd
 * wants spelled out (cwd, PATH, file, FIFO or socket) from flags and from
 * what it finds on disk, sends it over jobd's socket with libcurl, and
 * prints the answers as aligned text or as the server's own JSON.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "listen.h"
#include "log.h"
#include "signame.h"

#define EXIT_REQUEST		1	/* jobd said no, or a file is no good */
#define EXIT_USAGE		2
#define EXIT_UNREACHABLE	3	/* nobody answers on the socket */
#define EXIT_TIMEOUT		124	/* --timeout ran out, as timeout(1) */
#define EXIT_NOSTART		126	/* the task could not be started */

#define WAIT_CHUNK	30.0	/* seconds one GET ?wait= is held */
#define REQUEST_TIMEOUT	60L	/* seconds for any other request */
#define BODY_MAX	(64 * 1024 * 1024)
#define TABLE_COLS	8

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define SGR_BOLD	"1"
#define SGR_DIM		"2"
#define SGR_RED		"31"
#define SGR_GREEN	"32"
#define SGR_YELLOW	"33"

struct cmd {
	const char	*name;
	int		(*fn)(const struct cmd *, int, char **);
	const char	*synopsis;
	const char	*help;
};

/* An answer from jobd: its status and body, parsed when it is JSON. */
struct reply {
	long	 status;
	char	*body;
	size_t	 len;
	cJSON	*json;
};

/* What jobctl start was told, kept to name the flag behind an error. */
struct start {
	const char	 *in;
	const char	 *out;
	const char	 *err;
	const char	**listen;
	int		  nlisten;
	const char	**env;
	int		  nenv;
	const char	**then;
	int		  nthen;
	const char	 *cwd;
	const char	 *user;
	const char	 *group;
	double		  stop_timeout;	/* < 0: jobd's default */
	int		  dry_run;
};

struct row {
	char		*cell[TABLE_COLS];
	const char	*sgr[TABLE_COLS];
	char		*note;		/* a line of its own under the row */
};

struct table {
	const char	*head[TABLE_COLS];
	int		 ncols;
	int		 indent;
	struct row	*rows;
	size_t		 nrows;
};

static int	cmd_start(const struct cmd *, int, char **);
static int	cmd_put(const struct cmd *, int, char **);
static int	cmd_status(const struct cmd *, int, char **);
static int	cmd_list(const struct cmd *, int, char **);
static int	cmd_stop(const struct cmd *, int, char **);
static int	cmd_signal(const struct cmd *, int, char **);
static int	cmd_wait(const struct cmd *, int, char **);
static int	cmd_version(const struct cmd *, int, char **);
static int	cmd_help(const struct cmd *, int, char **);

static void	usage(const struct cmd *, const char *, ...)
		    __attribute__((format(printf, 2, 3), noreturn));
static void	cell(struct row *, int, const char *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	print_field(const char *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static const char main_help[] =
"usage: jobctl [-s ADDR] [--json] COMMAND [ARGS...]\n"
"\n"
"Start, watch and stop jobs run by jobd.\n"
"\n"
"Commands:\n"
"  start NAME [OPTIONS] [--] CMD [ARGS...]  start a job from flags\n"
"  put NAME [FILE|-]          start a job from its JSON\n"
"  status [NAME]              one job in detail, or every job\n"
"  list                       every job, one line each\n"
"  stop NAME [--wait]         stop a job and forget it\n"
"  signal NAME SIG            send a signal to a job's running task\n"
"  wait NAME [--timeout S]    wait for a job to end, exit with its status\n"
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
"be reached; wait exits with the job's own status. See jobctl(1).\n";

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
"                    (default /dev/null)\n"
"  --stderr FILE     the same for stderr (default: where stdout goes)\n"
"  --listen ADDR[=NAME]\n"
"                    a socket jobd binds and holds for the job, passed as\n"
"                    fd 3, 4, ... with LISTEN_FDS: unix:PATH, tcp:HOST:PORT,\n"
"                    tcp:[::1]:PORT or udp:HOST:PORT; port 0 picks a free one\n"
"  --user USER       run as USER (name or number), with its groups\n"
"  --group GROUP     run with GROUP (name or number)\n"
"  --then 'CMD ...'  a task to run after the previous one ends, with the\n"
"                    same directory, variables, fds and ids, and\n"
"                    _LAST_EXIT set to the previous task's exit code or\n"
"                    signal (repeatable). Words are split as sh(1) would,\n"
"                    but nothing is expanded: write 'sh -c \"...\"' for\n"
"                    shell syntax.\n"
"  --stop-timeout S  seconds between SIGTERM and SIGKILL on stop\n"
"  --dry-run         print the job's JSON instead of sending it\n"
"\n"
"Relative paths are taken from the current directory. The command starts\n"
"at the first word after NAME that is not an option, or after --.\n";

static const char put_help[] =
"Define a job from its JSON (jobd's PUT body), read from FILE or from\n"
"standard input, and start it.\n";

static const char status_help[] =
"Show one job in detail: its state, sockets and every task. Without NAME,\n"
"the same as list.\n";

static const char list_help[] =
"List every job, sorted by name: its state, current task (counted from 1),\n"
"pid, exit code or signal, age and command.\n";

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

static const char version_help[] =
"Print jobctl's version and that of the jobd it talks to.\n";

static const char help_help[] =
"Print help: the list of commands, or one command's options.\n";

static const struct cmd cmds[] = {
	{ "start", cmd_start, "start NAME [OPTIONS] [--] CMD [ARGS...]",
	    start_help },
	{ "put", cmd_put, "put NAME [FILE|-]", put_help },
	{ "status", cmd_status, "status [NAME]", status_help },
	{ "list", cmd_list, "list", list_help },
	{ "stop", cmd_stop, "stop NAME [--wait [--timeout S]]", stop_help },
	{ "signal", cmd_signal, "signal NAME SIG", signal_help },
	{ "wait", cmd_wait, "wait NAME [--timeout S]", wait_help },
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
	OPT_THEN,
	OPT_STOP_TIMEOUT,
	OPT_DRY_RUN,
	OPT_WAIT,
	OPT_TIMEOUT
};

#define COMMON_OPTS							\
	{ "socket", required_argument, NULL, 's' },			\
	{ "json", no_argument, NULL, OPT_JSON },			\
	{ "help", no_argument, NULL, 'h' }

static const char	*opt_socket;	/* -s, or NULL for the default */
static int		 opt_json;
static int		 colour;
static CURL		*curl;
static char		 srv_addr[LISTEN_ADDRLEN];	/* for messages */
static char		 srv_url[LISTEN_ADDRLEN];
static char		 srv_unix[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* A usage error: one line saying why, the synopsis, exit 2. */
static void
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

static void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		fatal("calloc");
	return p;
}

static char *
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
static int
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

/*
 * Where jobd listens: -s, else the default path jobd itself would use
 * (listen_default, so both agree). A relative -s is taken from here.
 */
static void
server_setup(void)
{
	const struct sockaddr_un	*sun;
	struct laddr			 la;
	char				 spec[PATH_MAX + 8], path[PATH_MAX];
	char				 err[LISTEN_ERRLEN];
	const char			*s = opt_socket;

	if (s == NULL) {
		if (listen_default(spec, sizeof(spec)) == -1)
			usage(NULL, "the default socket path is too long");
	} else if (strncmp(s, "tcp:", 4) == 0 || s[0] == '/' ||
	    (strncmp(s, "unix:", 5) == 0 && s[5] == '/'))
		snprintf(spec, sizeof(spec), "%s", s);
	else {
		if (absolute(strncmp(s, "unix:", 5) == 0 ? s + 5 : s, path,
		    sizeof(path)) == -1)
			exit(EXIT_USAGE);
		snprintf(spec, sizeof(spec), "unix:%s", path);
	}
	if (listen_parse(spec, &la, err, sizeof(err)) == -1)
		usage(NULL, "%s%s", opt_socket == NULL &&
		    getenv("JOBD_SOCKET") != NULL ? "JOBD_SOCKET: " : "", err);
	if (la.family == AF_UNIX) {
		sun = (const struct sockaddr_un *)&la.ss;
		snprintf(srv_unix, sizeof(srv_unix), "%s", sun->sun_path);
		snprintf(srv_addr, sizeof(srv_addr), "unix:%s", sun->sun_path);
		snprintf(srv_url, sizeof(srv_url), "http://localhost");
	} else {
		listen_format((const struct sockaddr *)&la.ss, la.sslen,
		    SOCK_STREAM, srv_addr, sizeof(srv_addr));
		snprintf(srv_url, sizeof(srv_url), "http://%s", srv_addr + 4);
	}
}

static size_t
reply_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct reply	*r = arg;
	size_t		 len = size * n;
	char		*p;

	if (r->len + len > BODY_MAX ||
	    (p = realloc(r->body, r->len + len + 1)) == NULL)
		return 0;
	memcpy(p + r->len, data, len);
	r->body = p;
	r->len += len;
	p[r->len] = '\0';
	return len;
}

static void
reply_free(struct reply *r)
{
	free(r->body);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

/*
 * One HTTP request to jobd. Returns 0 with the answer in r, whatever its
 * status, or -1 having said why when jobd could not be reached or the
 * exchange broke off.
 */
static int
request(const char *method, const char *path, const char *body, size_t len,
    long timeout, struct reply *r)
{
	struct curl_slist	*hdrs = NULL;
	char			 url[sizeof(srv_url) + 512];
	char			 errbuf[CURL_ERROR_SIZE];
	const char		*why;
	CURLcode		 rc;
	long			 oserr = 0;

	memset(r, 0, sizeof(*r));
	if (srv_url[0] == '\0')
		server_setup();
	snprintf(url, sizeof(url), "%s%s", srv_url, path);
	errbuf[0] = '\0';
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	if (srv_unix[0] != '\0')
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, srv_unix);
	/* An http_proxy in the environment must not catch a loopback port. */
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, reply_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "jobctl/" PACKAGE_VERSION);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		hdrs = curl_slist_append(NULL,
		    "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	}
	rc = curl_easy_perform(curl);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &oserr);
		why = oserr != 0 ? strerror((int)oserr) :
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
		if (rc == CURLE_COULDNT_CONNECT)
			log_warnx("cannot reach jobd at %s: %s (is it running? "
			    "-s or JOBD_SOCKET choose another address)",
			    srv_addr, why);
		else
			log_warnx("jobd at %s: %s", srv_addr, why);
		reply_free(r);
		return -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body != NULL)
		r->json = cJSON_ParseWithLength(r->body, r->len);
	return 0;
}

static int
reply_ok(const struct reply *r)
{
	return r->status >= 200 && r->status < 300;
}

static const char *
jstr(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
jint(const cJSON *o, const char *key, int dflt)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valueint : dflt;
}

/*
 * jobd's error sentence, its JSON path when the sentence does not
 * already name it, and what on our command line it came from.
 */
static int
reply_fail(const struct reply *r, const char *hint)
{
	const char	*msg = jstr(r->json, "error");
	const char	*path = jstr(r->json, "path");
	char		 at[300] = "", from[PATH_MAX + 64] = "";

	if (msg == NULL) {
		log_warnx("jobd answered %ld%s%.200s", r->status,
		    r->len > 0 ? ": " : "", r->len > 0 ? r->body : "");
		return EXIT_REQUEST;
	}
	if (path != NULL && strstr(msg, path) == NULL)
		snprintf(at, sizeof(at), " (at %s)", path);
	if (hint != NULL && *hint != '\0')
		snprintf(from, sizeof(from), " (from %s)", hint);
	log_warnx("%s%s%s", msg, at, from);
	return EXIT_REQUEST;
}

/* The server's answer as it is, one JSON document per line. */
static void
print_raw(const struct reply *r)
{
	if (r->len == 0)
		return;
	fwrite(r->body, 1, r->len, stdout);
	if (r->body[r->len - 1] != '\n')
		putchar('\n');
}

static int
active(const char *state)
{
	return state != NULL && (strcmp(state, "running") == 0 ||
	    strcmp(state, "stopping") == 0);
}

/* The task running, or the last one that ran. */
static const cJSON *
job_task(const cJSON *job)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(job,
	    "tasks"), jint(job, "task", 0));
}

static int
job_ntasks(const cJSON *job)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(job,
	    "tasks"));
}

/* What a shell would make of the job's last task: $? of wait. */
static int
job_code(const cJSON *job)
{
	const cJSON	*t = job_task(job);
	const char	*st = jstr(t, "state");
	int		 sig;

	if (st != NULL && strcmp(st, "exited") == 0)
		return jint(t, "exit_code", 0) & 0xff;
	if (st != NULL && strcmp(st, "killed") == 0) {
		sig = jstr(t, "signal") != NULL ?
		    sig_parse(jstr(t, "signal")) : -1;
		return sig > 0 && sig < 128 ? 128 + sig : 255;
	}
	return EXIT_NOSTART;
}

/* A task's end in a column: its exit code, SIGTERM, or "-". */
static const char *
task_end(const cJSON *t, char *buf, size_t size, const char **sgr)
{
	const char	*st = jstr(t, "state"), *sig;
	int		 code;

	*sgr = NULL;
	if (st != NULL && strcmp(st, "exited") == 0) {
		code = jint(t, "exit_code", 0);
		if (code != 0)
			*sgr = SGR_RED;
		snprintf(buf, size, "%d", code);
	} else if (st != NULL && strcmp(st, "killed") == 0 &&
	    (sig = jstr(t, "signal")) != NULL) {
		*sgr = SGR_RED;
		snprintf(buf, size, "SIG%s", sig);
	} else
		snprintf(buf, size, "-");
	return buf;
}

static const char *
state_sgr(const char *state)
{
	static const struct {
		const char	*state;
		const char	*sgr;
	} tab[] = {
		{ "running", SGR_GREEN }, { "stopping", SGR_YELLOW },
		{ "failed", SGR_RED }, { "killed", SGR_RED },
		{ "skipped", SGR_DIM }, { "cancelled", SGR_DIM },
		{ "pending", SGR_DIM },
	};
	size_t	 i;

	for (i = 0; state != NULL && i < nitems(tab); i++)
		if (strcmp(tab[i].state, state) == 0)
			return tab[i].sgr;
	return NULL;
}

/* "exited 3", "killed by SIGTERM", "failed: why", for wait and stop. */
static void
outcome(const cJSON *job, char *buf, size_t size)
{
	const cJSON	*t = job_task(job);
	const char	*st = jstr(t, "state"), *err;
	char		 which[64] = "";
	int		 n = job_ntasks(job);

	if (n > 1)
		snprintf(which, sizeof(which), " (task %d/%d)",
		    jint(job, "task", 0) + 1, n);
	if (st != NULL && strcmp(st, "exited") == 0)
		snprintf(buf, size, "exited %d%s", jint(t, "exit_code", 0),
		    which);
	else if (st != NULL && strcmp(st, "killed") == 0)
		snprintf(buf, size, "killed by SIG%s%s", jstr(t, "signal") ?
		    jstr(t, "signal") : "?", which);
	else if ((err = jstr(t, "error")) != NULL)
		snprintf(buf, size, "failed%s: %s", which, err);
	else
		snprintf(buf, size, "%s%s", st != NULL ? st : "?", which);
}

/* jobd's times, UTC RFC 3339 with milliseconds, to epoch seconds. */
static int
parse_time(const char *s, double *t)
{
	struct tm	 tm;
	int		 ms = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &ms) < 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = (double)timegm(&tm) + ms / 1000.0;
	return 0;
}

static double
now_real(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
now_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A duration in its largest unit, as ps and docker show ages: 5m, 3d. */
static const char *
fmt_span(double secs, char *buf, size_t size)
{
	long	 s = secs < 0 ? 0 : (long)secs;

	if (s < 60)
		snprintf(buf, size, "%lds", s);
	else if (s < 3600)
		snprintf(buf, size, "%ldm", s / 60);
	else if (s < 86400)
		snprintf(buf, size, "%ldh", s / 3600);
	else
		snprintf(buf, size, "%ldd", s / 86400);
	return buf;
}

static const char *
fmt_local(double t, char *buf, size_t size)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	localtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

static struct row *
table_row(struct table *t)
{
	struct row	*r;

	r = reallocarray(t->rows, t->nrows + 1, sizeof(*t->rows));
	if (r == NULL)
		fatal("reallocarray");
	t->rows = r;
	r = &t->rows[t->nrows++];
	memset(r, 0, sizeof(*r));
	return r;
}

static void
cell(struct row *r, int col, const char *sgr, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	if (vasprintf(&r->cell[col], fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	r->sgr[col] = sgr;
}

static void
put_cell(const char *s, size_t len, const char *sgr)
{
	if (colour && sgr != NULL)
		printf("\033[%sm%.*s\033[0m", sgr, (int)len, s);
	else
		printf("%.*s", (int)len, s);
}

/* Columns of a terminal on stdout, 0 when stdout is not one. */
static size_t
term_width(void)
{
	struct winsize	 ws;

	if (!isatty(STDOUT_FILENO) ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == -1)
		return 0;
	return ws.ws_col;
}

/*
 * Columns as wide as their widest cell. Only on a terminal is the last
 * column cut to fit; piped output is the same whatever the width.
 */
static void
table_print(struct table *t)
{
	size_t		 w[TABLE_COLS], used, width, len, i;
	struct row	*r;
	const char	*s;
	int		 c;

	for (c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->head[c]);
		for (i = 0; i < t->nrows; i++)
			if (t->rows[i].cell[c] != NULL &&
			    strlen(t->rows[i].cell[c]) > w[c])
				w[c] = strlen(t->rows[i].cell[c]);
	}
	used = (size_t)t->indent;
	for (c = 0; c < t->ncols - 1; c++)
		used += w[c] + 2;
	width = term_width();
	for (i = 0; i <= t->nrows; i++) {
		r = i > 0 ? &t->rows[i - 1] : NULL;
		printf("%*s", t->indent, "");
		for (c = 0; c < t->ncols; c++) {
			if ((s = r ? r->cell[c] : t->head[c]) == NULL)
				s = "";
			len = strlen(s);
			if (c == t->ncols - 1) {
				if (width > used + 8 && len > width - used) {
					len = width - used;
					/* Not inside a character. */
					while (len > 0 && ((unsigned char)
					    s[len] & 0xc0) == 0x80)
						len--;
				}
				put_cell(s, len, r ? r->sgr[c] : SGR_BOLD);
				break;
			}
			put_cell(s, len, r ? r->sgr[c] : SGR_BOLD);
			printf("%*s", (int)(w[c] + 2 - len), "");
		}
		putchar('\n');
		if (r != NULL && r->note != NULL)
			printf("%*s    %s\n", t->indent, "", r->note);
	}
}

static void
table_free(struct table *t)
{
	size_t	 i;
	int	 c;

	for (i = 0; i < t->nrows; i++) {
		for (c = 0; c < TABLE_COLS; c++)
			free(t->rows[i].cell[c]);
		free(t->rows[i].note);
	}
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

static void
print_jobs(const cJSON *jobs)
{
	struct table	 t = { .head = { "NAME", "STATE", "TASK", "PID",
			    "EXIT", "AGE", "COMMAND" }, .ncols = 7 };
	const cJSON	*j, *task;
	const char	*state, *sgr;
	struct row	*r;
	char		 buf[64];
	double		 created;

	cJSON_ArrayForEach(j, jobs) {
		r = table_row(&t);
		task = job_task(j);
		state = jstr(j, "state");
		cell(r, 0, NULL, "%s", jstr(j, "name") ? jstr(j, "name") : "?");
		cell(r, 1, state_sgr(state), "%s", state ? state : "?");
		cell(r, 2, NULL, "%d/%d", jint(j, "task", 0) + 1,
		    job_ntasks(j));
		if (jint(j, "pid", 0) > 0)
			cell(r, 3, NULL, "%d", jint(j, "pid", 0));
		else
			cell(r, 3, NULL, "-");
		task_end(task, buf, sizeof(buf), &sgr);
		cell(r, 4, sgr, "%s", buf);
		if (parse_time(jstr(j, "created"), &created) == 0)
			cell(r, 5, NULL, "%s", fmt_span(now_real() - created,
			    buf, sizeof(buf)));
		else
			cell(r, 5, NULL, "-");
		cell(r, 6, NULL, "%s", jstr(task, "exec") ?
		    jstr(task, "exec") : "");
	}
	table_print(&t);
	table_free(&t);
}

static void
print_field(const char *key, const char *sgr, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	printf("%-14s", key);
	put_cell(s, strlen(s), sgr);
	putchar('\n');
	free(s);
}

/* One job as a block: its fields, its sockets, a table of its tasks. */
static void
print_job(const cJSON *j)
{
	struct table	 t = { .head = { "#", "STATE", "PID", "EXIT",
			    "STARTED", "RAN", "COMMAND" }, .ncols = 7,
			    .indent = 2 };
	const cJSON	*task, *s;
	const char	*state, *sgr, *err;
	struct row	*r;
	char		 buf[64], buf2[64];
	double		 t0, t1;
	int		 i = 0;

	state = jstr(j, "state");
	print_field("name:", NULL, "%s", jstr(j, "name") ? jstr(j, "name") :
	    "?");
	print_field("state:", state_sgr(state), "%s", state ? state : "?");
	print_field("task:", NULL, "%d of %d", jint(j, "task", 0) + 1,
	    job_ntasks(j));
	if (jint(j, "pid", 0) > 0)
		print_field("pid:", NULL, "%d", jint(j, "pid", 0));
	if (parse_time(jstr(j, "created"), &t0) == 0)
		print_field("created:", NULL, "%s (%s ago)",
		    fmt_local(t0, buf, sizeof(buf)),
		    fmt_span(now_real() - t0, buf2, sizeof(buf2)));
	print_field("stop timeout:", NULL, "%gs", cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(j, "stop_timeout")));
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(j,
	    "sockets")) {
		print_field(i++ == 0 ? "sockets:" : "", NULL, "fd %d  %s  %s",
		    jint(s, "fd", -1), jstr(s, "address") ?
		    jstr(s, "address") : "?", jstr(s, "name") ?
		    jstr(s, "name") : "socket");
	}
	printf("tasks:\n");
	i = 0;
	cJSON_ArrayForEach(task, cJSON_GetObjectItemCaseSensitive(j,
	    "tasks")) {
		r = table_row(&t);
		state = jstr(task, "state");
		cell(r, 0, NULL, "%d", ++i);
		cell(r, 1, state_sgr(state), "%s", state ? state : "?");
		if (jint(task, "pid", 0) > 0)
			cell(r, 2, NULL, "%d", jint(task, "pid", 0));
		else
			cell(r, 2, NULL, "-");
		task_end(task, buf, sizeof(buf), &sgr);
		cell(r, 3, sgr, "%s", buf);
		if (parse_time(jstr(task, "started"), &t0) == 0) {
			cell(r, 4, NULL, "%s", fmt_local(t0, buf,
			    sizeof(buf)));
			if (parse_time(jstr(task, "ended"), &t1) == -1)
				t1 = now_real();
			cell(r, 5, NULL, "%s", fmt_span(t1 - t0, buf,
			    sizeof(buf)));
		} else {
			cell(r, 4, NULL, "-");
			cell(r, 5, NULL, "-");
		}
		cell(r, 6, NULL, "%s", jstr(task, "exec") ?
		    jstr(task, "exec") : "");
		if ((err = jstr(task, "error")) != NULL &&
		    asprintf(&r->note, "error: %s", err) == -1)
			fatal("asprintf");
	}
	table_print(&t);
	table_free(&t);
}

/* A job just PUT: its name, pid and the sockets jobd bound for it. */
static void
print_started(const cJSON *j)
{
	const cJSON	*s;

	printf("%s: started", jstr(j, "name") ? jstr(j, "name") : "?");
	if (jint(j, "pid", 0) > 0)
		printf(", pid %d", jint(j, "pid", 0));
	putchar('\n');
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(j, "sockets"))
		printf("  fd %d  %s  %s\n", jint(s, "fd", -1),
		    jstr(s, "address") ? jstr(s, "address") : "?",
		    jstr(s, "name") ? jstr(s, "name") : "socket");
}

/* The job name as a path segment: jobd decodes it, and judges it. */
static char *
job_path(const char *name, const char *suffix)
{
	char	*e, *p;

	if ((e = curl_easy_escape(curl, name, 0)) == NULL)
		fatalx("out of memory");
	if (asprintf(&p, "/job/%s%s", e, suffix) == -1)
		fatal("asprintf");
	curl_free(e);
	return p;
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
		path = job_path(name, suffix);
		rc = request("GET", path, NULL, 0, (long)chunk + 30, r);
		free(path);
		if (rc == -1)
			return EXIT_UNREACHABLE;
		if (r->status != 200 || !active(jstr(r->json, "state")))
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

/* A user or group as jobd takes it: a number, or a name to look up. */
static cJSON *
id_value(const char *s)
{
	if (*s != '\0' && strspn(s, "0123456789") == strlen(s))
		return cJSON_CreateNumber(strtod(s, NULL));
	return cJSON_CreateString(s);
}

/*
 * --stdin, --stdout, --stderr: what is at the path decides the type. An
 * output file that does not exist yet is created by jobd, as the task's
 * user so that it is theirs, and appended to (what one wants of a log);
 * a FIFO is a pipe; a socket or a directory cannot be opened at all, so
 * say so here rather than let the task fail.
 */
static cJSON *
stdio_entry(const char *opt, const char *arg, int out)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	const char	*type = "file";
	cJSON		*o;

	if (arg == NULL) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "null");
		return o;
	}
	if (absolute(arg, path, sizeof(path)) == -1)
		return NULL;
	if (stat(path, &st) == 0) {
		if (S_ISSOCK(st.st_mode)) {
			log_warnx("%s %s: is a unix socket, which jobd cannot "
			    "open as a file; to give the job a listening "
			    "socket, use --listen unix:%s", opt, arg, path);
			return NULL;
		}
		if (S_ISDIR(st.st_mode)) {
			log_warnx("%s %s: is a directory", opt, arg);
			return NULL;
		}
		if (S_ISFIFO(st.st_mode))
			type = "pipe";
	} else if (errno == ENOENT && !out) {
		log_warn("%s %s", opt, arg);
		return NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "mode", !out ? "r" :
	    strcmp(type, "pipe") == 0 ? "w" : "a");
	return o;
}

/*
 * --listen ADDR[=NAME]: the address syntax of jobd's own --listen, plus
 * udp:HOST:PORT. A name is what follows the last '=' when that holds no
 * '/' or ':' (so a path may still contain '=').
 */
static cJSON *
listen_entry(const char *arg)
{
	struct laddr			 la;
	const struct sockaddr_in	*sin = (const void *)&la.ss;
	const struct sockaddr_in6	*sin6 = (const void *)&la.ss;
	const struct sockaddr_un	*sun = (const void *)&la.ss;
	char				 spec[PATH_MAX + 16], path[PATH_MAX];
	char				 err[LISTEN_ERRLEN];
	char				 ip[INET6_ADDRSTRLEN];
	char				 name[64], *eq;
	int				 udp = 0, port;
	cJSON				*o;

	if (strlen(arg) >= sizeof(spec) - 8) {
		log_warnx("--listen %s: address too long", arg);
		return NULL;
	}
	snprintf(spec, sizeof(spec), "%s", arg);
	name[0] = '\0';
	if ((eq = strrchr(spec, '=')) != NULL && eq[1] != '\0' &&
	    strpbrk(eq + 1, "/:") == NULL) {
		if (strlen(eq + 1) >= sizeof(name)) {
			log_warnx("--listen %s: name too long", arg);
			return NULL;
		}
		*eq = '\0';
		snprintf(name, sizeof(name), "%s", eq + 1);
	}
	if (strncmp(spec, "udp:", 4) == 0) {
		udp = 1;
		memcpy(spec, "tcp:", 4);
	} else if (strncmp(spec, "unix:", 5) == 0 && spec[5] != '/') {
		if (absolute(spec + 5, path, sizeof(path)) == -1)
			return NULL;
		snprintf(spec, sizeof(spec), "unix:%s", path);
	}
	if (listen_parse(spec, &la, err, sizeof(err)) == -1) {
		log_warnx("--listen %s", udp ? arg : err);
		if (udp)
			log_warnx("--listen: expected udp:HOST:PORT");
		return NULL;
	}
	o = cJSON_CreateObject();
	if (la.family == AF_UNIX) {
		cJSON_AddStringToObject(o, "type", "unix socket");
		cJSON_AddStringToObject(o, "path", sun->sun_path);
	} else {
		if (la.family == AF_INET) {
			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			port = ntohs(sin->sin_port);
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			port = ntohs(sin6->sin6_port);
		}
		cJSON_AddStringToObject(o, "type", "network socket");
		cJSON_AddStringToObject(o, "bind", ip);
		cJSON_AddNumberToObject(o, "port", port);
		if (udp)
			cJSON_AddStringToObject(o, "protocol", "udp");
	}
	if (name[0] != '\0')
		cJSON_AddStringToObject(o, "name", name);
	return o;
}

static void
free_words(char **v)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * A --then command to words, the way sh(1) splits them but expanding
 * nothing: blanks separate words; '...' and "..." keep their text (in
 * "..." a backslash escapes " \ $ `); outside quotes a backslash keeps
 * the next character. So 'sh -c "echo $_LAST_EXIT"' hands $_LAST_EXIT
 * to the task's own shell. Unquoted operators and expansions are
 * refused: the task would get them as plain words, which is not what
 * they mean in a shell.
 */
static char **
split_words(const char *s, char *err, size_t errlen)
{
	const char	*p;
	char		**v, *w, *o;
	size_t		 n = 0, len = strlen(s);
	int		 inword = 0;
	char		 q = 0;

	v = xcalloc(len / 2 + 2, sizeof(*v));
	w = xcalloc(len + 1, 1);
	o = w;
	for (p = s; *p != '\0'; p++) {
		if (q == '\'') {
			if (*p == '\'')
				q = 0;
			else
				*o++ = *p;
			continue;
		}
		if (q == '"') {
			if (*p == '"')
				q = 0;
			else if (*p == '\\' && p[1] != '\0' &&
			    strchr("\"\\$`", p[1]) != NULL)
				*o++ = *++p;
			else
				*o++ = *p;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\n') {
			if (inword) {
				*o = '\0';
				v[n++] = xstrdup(w);
				o = w;
				inword = 0;
			}
			continue;
		}
		inword = 1;
		if (*p == '\'' || *p == '"')
			q = *p;
		else if (*p == '\\') {
			if (p[1] == '\0') {
				snprintf(err, errlen, "a backslash ends it");
				goto fail;
			}
			*o++ = *++p;
		} else if (strchr("|&;<>()$`", *p) != NULL) {
			snprintf(err, errlen, "'%c' means something to a "
			    "shell, and no shell runs it; quote it, or write "
			    "sh -c \"...\"", *p);
			goto fail;
		} else
			*o++ = *p;
	}
	if (q != 0) {
		snprintf(err, errlen, "a %c quote is not closed", q);
		goto fail;
	}
	if (inword) {
		*o = '\0';
		v[n++] = xstrdup(w);
	}
	if (n == 0) {
		snprintf(err, errlen, "no command");
		goto fail;
	}
	free(w);
	return v;
fail:
	free(w);
	free_words(v);
	return NULL;
}

static cJSON *
task_object(char *const *argv, const char *cwd, const cJSON *envs,
    const cJSON *fds, const struct start *s)
{
	cJSON	*t, *args;
	int	 i;

	if ((t = cJSON_CreateObject()) == NULL)
		fatalx("out of memory");
	cJSON_AddStringToObject(t, "exec", argv[0]);
	args = cJSON_AddArrayToObject(t, "args");
	for (i = 1; argv[i] != NULL; i++)
		cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
	cJSON_AddItemToObject(t, "envs", cJSON_Duplicate(envs, 1));
	cJSON_AddStringToObject(t, "cwd", cwd);
	cJSON_AddItemToObject(t, "fd", cJSON_Duplicate(fds, 1));
	if (s->user != NULL)
		cJSON_AddItemToObject(t, "user", id_value(s->user));
	if (s->group != NULL)
		cJSON_AddItemToObject(t, "group", id_value(s->group));
	return t;
}

/*
 * The job JSON of jobctl start. Every task gets the same directory,
 * variables, fds and ids: a --then task is there to restart or clean up
 * after the one before, with the same sockets. Returns an exit status,
 * with *out set on success.
 */
static int
start_build(const struct cmd *c, const struct start *s, char **argv,
    cJSON **out)
{
	cJSON		*root = NULL, *envs = NULL, *fds = NULL, *tasks, *e;
	char		 cwd[PATH_MAX], err[256], **words;
	const char	*v, *eq;
	char		*key;
	int		 i, rc = EXIT_REQUEST;

	*out = NULL;
	if (s->cwd != NULL) {
		if (*s->cwd == '\0')
			usage(c, "--cwd needs a directory");
		if (absolute(s->cwd, cwd, sizeof(cwd)) == -1)
			return EXIT_REQUEST;
	} else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		log_warn("getcwd");
		return EXIT_REQUEST;
	}
	if ((root = cJSON_CreateObject()) == NULL ||
	    (envs = cJSON_CreateObject()) == NULL ||
	    (fds = cJSON_CreateArray()) == NULL)
		fatalx("out of memory");
	if ((v = getenv("PATH")) != NULL)
		cJSON_AddStringToObject(envs, "PATH", v);
	for (i = 0; i < s->nenv; i++) {
		if ((eq = strchr(s->env[i], '=')) == NULL) {
			if ((v = getenv(s->env[i])) == NULL)
				usage(c, "--env %s: %s is not set here, so "
				    "there is no value to pass on", s->env[i],
				    s->env[i]);
			key = xstrdup(s->env[i]);
		} else {
			key = strndup(s->env[i], (size_t)(eq - s->env[i]));
			if (key == NULL)
				fatal("strndup");
			v = eq + 1;
		}
		if (*key == '\0')
			usage(c, "--env %s: expected NAME=VALUE", s->env[i]);
		cJSON_DeleteItemFromObjectCaseSensitive(envs, key);
		cJSON_AddStringToObject(envs, key, v);
		free(key);
	}
	if ((e = stdio_entry("--stdin", s->in, 0)) == NULL)
		goto fail;
	cJSON_AddItemToArray(fds, e);
	if ((e = stdio_entry("--stdout", s->out, 1)) == NULL)
		goto fail;
	cJSON_AddItemToArray(fds, e);
	if ((e = stdio_entry(s->err ? "--stderr" : "--stdout",
	    s->err ? s->err : s->out, 1)) == NULL)
		goto fail;
	cJSON_AddItemToArray(fds, e);
	for (i = 0; i < s->nlisten; i++) {
		if ((e = listen_entry(s->listen[i])) == NULL) {
			rc = EXIT_USAGE;
			goto fail;
		}
		cJSON_AddItemToArray(fds, e);
		/*
		 * jobd shares a socket between tasks by its address, and
		 * "any free port" is no address: each task would get a
		 * port of its own, and the restart task not the socket
		 * clients are waiting on.
		 */
		if (s->nthen > 0 && jint(e, "port", -1) == 0)
			usage(c, "--listen %s: with --then, give a port: "
			    "jobd would bind a different free port for each "
			    "task", s->listen[i]);
	}
	tasks = cJSON_AddArrayToObject(root, "tasks");
	cJSON_AddItemToArray(tasks, task_object(argv, cwd, envs, fds, s));
	for (i = 0; i < s->nthen; i++) {
		if ((words = split_words(s->then[i], err, sizeof(err))) ==
		    NULL)
			usage(c, "--then '%s': %s", s->then[i], err);
		cJSON_AddItemToArray(tasks, task_object(words, cwd, envs, fds,
		    s));
		free_words(words);
	}
	if (s->stop_timeout >= 0)
		cJSON_AddNumberToObject(root, "stop_timeout", s->stop_timeout);
	*out = root;
	root = NULL;
	rc = 0;
fail:
	cJSON_Delete(root);
	cJSON_Delete(envs);
	cJSON_Delete(fds);
	return rc;
}

/*
 * The flag behind a JSON path of jobd's error, so that "tasks[0].fd[1]"
 * reads as "--stdout log".
 */
static void
start_hint(const struct start *s, const char *path, char *buf, size_t size)
{
	const char	*rest;
	int		 t, fd, n = 0;

	*buf = '\0';
	if (path == NULL || sscanf(path, "tasks[%d]%n", &t, &n) != 1 ||
	    n == 0 || t < 0 || t > s->nthen)
		return;
	rest = path + n;
	if (sscanf(rest, ".fd[%d]", &fd) == 1) {
		if (fd == 0 && s->in != NULL)
			snprintf(buf, size, "--stdin %s", s->in);
		else if ((fd == 1 || (fd == 2 && s->err == NULL)) &&
		    s->out != NULL)
			snprintf(buf, size, "--stdout %s", s->out);
		else if (fd == 2 && s->err != NULL)
			snprintf(buf, size, "--stderr %s", s->err);
		else if (fd >= 3 && fd - 3 < s->nlisten)
			snprintf(buf, size, "--listen %s", s->listen[fd - 3]);
	} else if (strncmp(rest, ".exec", 5) == 0 ||
	    strncmp(rest, ".args", 5) == 0) {
		if (t == 0)
			snprintf(buf, size, "the command");
		else
			snprintf(buf, size, "--then '%s'", s->then[t - 1]);
	} else if (strcmp(rest, ".cwd") == 0)
		snprintf(buf, size, "--cwd %s", s->cwd ? s->cwd :
		    "(the current directory)");
	else if (strcmp(rest, ".user") == 0 && s->user != NULL)
		snprintf(buf, size, "--user %s", s->user);
	else if (strcmp(rest, ".group") == 0 && s->group != NULL)
		snprintf(buf, size, "--group %s", s->group);
	else if (strncmp(rest, ".envs.", 6) == 0)
		snprintf(buf, size, "--env %s", rest + 6);
}

static int
cmd_start(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "stdin", required_argument, NULL, OPT_STDIN },
		{ "stdout", required_argument, NULL, OPT_STDOUT },
		{ "stderr", required_argument, NULL, OPT_STDERR },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "cwd", required_argument, NULL, OPT_CWD },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "user", required_argument, NULL, OPT_USER },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "then", required_argument, NULL, OPT_THEN },
		{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ NULL, 0, NULL, 0 }
	};
	struct start	 s;
	struct reply	 r;
	const char	*name = NULL, *lastarg = NULL;
	char		*body = NULL, *path = NULL, hint[PATH_MAX + 64];
	cJSON		*job = NULL;
	int		 ch, dashdash, rc;

	memset(&s, 0, sizeof(s));
	s.stop_timeout = -1;
	s.listen = xcalloc((size_t)argc, sizeof(*s.listen));
	s.env = xcalloc((size_t)argc, sizeof(*s.env));
	s.then = xcalloc((size_t)argc, sizeof(*s.then));
	/*
	 * Options may come before and after NAME; the command starts at
	 * the first word after NAME that is not an option, or after "--".
	 */
	for (;;) {
		while ((ch = getopt_cmd(c, argc, argv, "+:s:h", opts)) != -1) {
			lastarg = optarg;
			switch (ch) {
			case OPT_STDIN:
				s.in = optarg;
				break;
			case OPT_STDOUT:
				s.out = optarg;
				break;
			case OPT_STDERR:
				s.err = optarg;
				break;
			case OPT_LISTEN:
				s.listen[s.nlisten++] = optarg;
				break;
			case OPT_CWD:
				s.cwd = optarg;
				break;
			case OPT_ENV:
				s.env[s.nenv++] = optarg;
				break;
			case OPT_USER:
				s.user = optarg;
				break;
			case OPT_GROUP:
				s.group = optarg;
				break;
			case OPT_THEN:
				s.then[s.nthen++] = optarg;
				break;
			case OPT_STOP_TIMEOUT:
				s.stop_timeout = parse_seconds(c,
				    "--stop-timeout", optarg);
				break;
			case OPT_DRY_RUN:
				s.dry_run = 1;
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
	if ((s.in != NULL && *s.in == '\0') ||
	    (s.out != NULL && *s.out == '\0') ||
	    (s.err != NULL && *s.err == '\0'))
		usage(c, "--stdin, --stdout and --stderr need a path");
	if ((s.user != NULL && *s.user == '\0') ||
	    (s.group != NULL && *s.group == '\0'))
		usage(c, "--user and --group need a name or a number");
	if ((rc = start_build(c, &s, argv + optind, &job)) != 0)
		goto done;
	if (s.dry_run) {
		body = opt_json ? cJSON_PrintUnformatted(job) :
		    cJSON_Print(job);
		if (body == NULL)
			fatalx("out of memory");
		printf("%s\n", body);
		goto done;
	}
	if ((body = cJSON_PrintUnformatted(job)) == NULL)
		fatalx("out of memory");
	path = job_path(name, "");
	if (request("PUT", path, body, strlen(body), REQUEST_TIMEOUT,
	    &r) == -1) {
		rc = EXIT_UNREACHABLE;
		goto done;
	}
	if (!reply_ok(&r)) {
		start_hint(&s, jstr(r.json, "path"), hint, sizeof(hint));
		rc = reply_fail(&r, hint);
	} else if (opt_json)
		print_raw(&r);
	else
		print_started(r.json);
	reply_free(&r);
done:
	cJSON_Delete(job);
	free(body);
	free(path);
	free(s.listen);
	free(s.env);
	free(s.then);
	return rc;
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
	path = job_path(argv[optind], "");
	if (request("PUT", path, body, len, REQUEST_TIMEOUT, &r) == -1)
		rc = EXIT_UNREACHABLE;
	else if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		print_raw(&r);
	else
		print_started(r.json);
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

	if (request("GET", "/jobs", NULL, 0, REQUEST_TIMEOUT, &r) == -1)
		return EXIT_UNREACHABLE;
	if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		print_raw(&r);
	else
		print_jobs(cJSON_GetObjectItemCaseSensitive(r.json, "jobs"));
	reply_free(&r);
	return rc;
}

static int
cmd_list(const struct cmd *c, int argc, char **argv)
{
	plain_opts(c, argc, argv, 0, 0);
	return list_jobs();
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
	path = job_path(argv[optind], "");
	rc = request("GET", path, NULL, 0, REQUEST_TIMEOUT, &r);
	free(path);
	if (rc == -1)
		return EXIT_UNREACHABLE;
	if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		print_raw(&r);
	else
		print_job(r.json);
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
	path = job_path(name, "");
	rc = request("DELETE", path, NULL, 0, REQUEST_TIMEOUT, &r);
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
			print_raw(&r);
		else if (r.status == 202)
			printf("%s: stopping (SIGTERM now, SIGKILL after "
			    "%gs)\n", name, cJSON_GetNumberValue(
			    cJSON_GetObjectItemCaseSensitive(r.json,
			    "stop_timeout")));
		else {
			outcome(r.json, buf, sizeof(buf));
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
		print_raw(&r);
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
	path = job_path(argv[optind], "/signal");
	if (request("POST", path, body, strlen(body), REQUEST_TIMEOUT,
	    &r) == -1)
		rc = EXIT_UNREACHABLE;
	else if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		print_raw(&r);
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
		rc = job_code(r.json);
		if (opt_json)
			print_raw(&r);
		else {
			outcome(r.json, buf, sizeof(buf));
			printf("%s: %s\n", name, buf);
		}
	}
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
	if (request("GET", "/", NULL, 0, REQUEST_TIMEOUT, &r) == -1)
		return EXIT_UNREACHABLE;
	if (!reply_ok(&r))
		rc = reply_fail(&r, NULL);
	else if (opt_json)
		print_raw(&r);
	else {
		l = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json,
		    "listen"), 0);
		printf("%s %s, pid %d, uid %d, up %s, on %s\n",
		    jstr(r.json, "name") ? jstr(r.json, "name") : "jobd",
		    jstr(r.json, "version") ? jstr(r.json, "version") : "?",
		    jint(r.json, "pid", 0), jint(r.json, "uid", -1),
		    fmt_span(cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(r.json, "uptime")), buf,
		    sizeof(buf)), jstr(l, "address") ? jstr(l, "address") :
		    srv_addr);
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
	colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	if (curl_global_init(CURL_GLOBAL_NOTHING) != 0 ||
	    (curl = curl_easy_init()) == NULL)
		fatalx("cannot initialise libcurl");
	argc -= optind;
	argv += optind;
	optind = 0;
	rc = c->fn(c, argc, argv);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (errno != EPIPE)
			log_warn("stdout");
		rc = rc ? rc : EXIT_REQUEST;
	}
	return rc;
}
