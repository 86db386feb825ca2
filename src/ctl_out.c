/*
 * ctl_out.c: what jobctl shows of jobd's answers: aligned tables of jobs
 * and tasks, coloured only on a terminal, one job as a block, outcomes in
 * words, the answer's JSON as it came, and a job's log and jobd's events
 * as they come.
 */
#include "config.h"

#include <sys/ioctl.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobctl.h"
#include "log.h"
#include "signame.h"

#define TABLE_COLS	8
#define LOGS_LINE_MAX	(4 * 1024 * 1024)	/* a record, in JSON */

#define SGR_BOLD	"1"
#define SGR_DIM		"2"
#define SGR_RED		"31"
#define SGR_GREEN	"32"
#define SGR_YELLOW	"33"

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

int	out_colour;

static void	cell(struct row *, int, const char *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	print_field(const char *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* The server's answer as it is, one JSON document per line. */
void
out_raw(const struct reply *r)
{
	if (r->len == 0)
		return;
	fwrite(r->body, 1, r->len, stdout);
	if (r->body[r->len - 1] != '\n')
		putchar('\n');
}

int
out_active(const char *state)
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
int
out_code(const cJSON *job)
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
		{ "pending", SGR_DIM }, { "lost", SGR_RED },
	};
	size_t	 i;

	for (i = 0; state != NULL && i < nitems(tab); i++)
		if (strcmp(tab[i].state, state) == 0)
			return tab[i].sgr;
	return NULL;
}

/* "exited 3", "killed by SIGTERM", "failed: why", for wait and stop. */
void
out_outcome(const cJSON *job, char *buf, size_t size)
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

/* A duration in its largest unit, as ps and docker show ages: 5m, 3d. */
const char *
out_span(double secs, char *buf, size_t size)
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

/* jobd's time as local time to the millisecond, or as it came. */
static const char *
fmt_local_ms(const char *s, char *buf, size_t size)
{
	double	 t;
	size_t	 n;

	if (parse_time(s, &t) == -1) {
		snprintf(buf, size, "%s", s != NULL ? s : "-");
		return buf;
	}
	fmt_local(t, buf, size);
	n = strlen(buf);
	snprintf(buf + n, size - n, ".%03d",
	    (int)((t - (double)(time_t)t) * 1000 + 0.5));
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
	if (out_colour && sgr != NULL)
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

void
out_jobs(const cJSON *jobs)
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
			cell(r, 5, NULL, "%s", out_span(now_real() - created,
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
void
out_job(const cJSON *j)
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
		    out_span(now_real() - t0, buf2, sizeof(buf2)));
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
			cell(r, 5, NULL, "%s", out_span(t1 - t0, buf,
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
void
out_started(const cJSON *j)
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

/* RFC 4648 base64 to bytes, as jobd sends those that are not UTF-8. */
static ssize_t
b64_decode(const char *s, unsigned char *out)
{
	static const char	 tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*p;
	unsigned int		 acc = 0;
	int			 bits = 0;
	ssize_t			 n = 0;

	for (; *s != '\0' && *s != '='; s++) {
		if ((p = strchr(tab, *s)) == NULL)
			return -1;
		acc = acc << 6 | (unsigned int)(p - tab);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

static int
logs_failed(struct logs *lo)
{
	lo->failed = 1;
	return -1;
}

/*
 * A record's bytes as the task wrote them: its stderr to ours, anything
 * else to stdout, which is flushed first so that the two keep their
 * order on a terminal.
 */
static int
logs_write(struct logs *lo, const char *stream, const void *data,
    size_t len)
{
	FILE	*f = stdout;

	if (stream != NULL && strcmp(stream, "stderr") == 0) {
		if (fflush(stdout) == EOF)
			return logs_failed(lo);
		f = stderr;
	}
	if (fwrite(data, 1, len, f) != len)
		return logs_failed(lo);
	return 0;
}

static int
logs_write_b64(struct logs *lo, const char *stream, const char *b64)
{
	unsigned char	*buf;
	ssize_t		 n;
	int		 rc = 0;

	buf = xcalloc(strlen(b64) / 4 * 3 + 3, 1);
	if ((n = b64_decode(b64, buf)) == -1)
		log_warnx("jobd sent a log record whose data_b64 is not "
		    "base64");
	else
		rc = logs_write(lo, stream, buf, (size_t)n);
	free(buf);
	return rc;
}

/* A {"gap": [from, to]}'s bounds; what was printed goes out before. */
static void
gap_bounds(const cJSON *gap, double *from, double *to)
{
	*from = cJSON_GetNumberValue(cJSON_GetArrayItem(gap, 0));
	*to = cJSON_GetNumberValue(cJSON_GetArrayItem(gap, 1));
	fflush(stdout);
}

static void
logs_gap(const cJSON *gap)
{
	double	 from, to;

	gap_bounds(gap, &from, &to);
	log_warnx("%.0f records lost to rotation (seq %.0f-%.0f)",
	    to - from + 1, from, to);
}

/*
 * The length of a record's data. cJSON ends its strings at a NUL, and a
 * task's line may hold some, which jobd sends as \u0000: the data is as
 * many strings end to end as its text in the line has of those.
 */
static size_t
logs_data_len(const char *line, size_t len, const char *data)
{
	const char	*p, *end = line + len;
	size_t		 n = 0, nuls = 0;

	if (memmem(line, len, "\\u0000", 6) == NULL ||
	    (p = memmem(line, len, "\"data\":\"", 8)) == NULL)
		return strlen(data);
	for (p += 8; p < end && *p != '"'; p++) {
		if (*p != '\\' || ++p == end)
			continue;
		if (end - p >= 5 && memcmp(p, "u0000", 5) == 0)
			nuls++;
	}
	while (nuls-- > 0)
		n += strlen(data + n) + 1;
	return n + strlen(data + n);
}

/*
 * One line of ndjson: output is shown, a gap said on stderr; task
 * boundaries, the end and what jobctl does not know show nothing.
 */
static int
logs_record(struct logs *lo, const char *line, size_t len)
{
	cJSON		*o;
	const cJSON	*gap;
	const char	*s;
	int		 rc = 0;

	if ((o = cJSON_ParseWithLength(line, len)) == NULL) {
		log_warnx("jobd sent a log line that is not JSON: %.*s",
		    (int)(len < 80 ? len : 80), line);
		return 0;
	}
	gap = cJSON_GetObjectItemCaseSensitive(o, "gap");
	if (cJSON_GetArraySize(gap) == 2)
		logs_gap(gap);
	else if ((s = jstr(o, "data")) != NULL)
		rc = logs_write(lo, jstr(o, "stream"), s,
		    logs_data_len(line, len, s));
	else if ((s = jstr(o, "data_b64")) != NULL)
		rc = logs_write_b64(lo, jstr(o, "stream"), s);
	cJSON_Delete(o);
	return rc;
}

static void
event_gap(const cJSON *gap)
{
	double	 from, to;

	gap_bounds(gap, &from, &to);
	if (from == to)
		log_warnx("event %.0f was lost (older than jobd's history)",
		    from);
	else
		log_warnx("events %.0f-%.0f were lost (older than jobd's "
		    "history)", from, to);
}

/*
 * One event, one line: its time, seq, who (a job, a job's task as
 * NAME[I] counted from 0, or jobd itself), the action and what goes
 * with it: exit code, signal, pid, error or jobd's note. Columns are
 * aligned while seqs and names fit their width: a stream cannot wait to
 * learn the widest.
 */
static void
event_print(const cJSON *o)
{
	const cJSON	*task = cJSON_GetObjectItemCaseSensitive(o, "task");
	const char	*type = jstr(o, "type"), *action = jstr(o, "action");
	const char	*job = jstr(o, "job"), *s;
	char		 when[64], who[128], code[16];
	int		 n;

	if (type != NULL && strcmp(type, "daemon") == 0)
		snprintf(who, sizeof(who), "jobd");
	else if (cJSON_IsNumber(task))
		snprintf(who, sizeof(who), "%s[%d]", job ? job : "?",
		    task->valueint);
	else
		snprintf(who, sizeof(who), "%s", job ? job : "?");
	printf("%s  %6.0f  %-12s  ", fmt_local_ms(jstr(o, "time"), when,
	    sizeof(when)), cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(o, "seq")), who);
	if (action == NULL)
		action = "?";
	put_cell(action, strlen(action), state_sgr(action));
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o,
	    "exit_code"))) {
		n = snprintf(code, sizeof(code), "%d", jint(o, "exit_code", 0));
		putchar(' ');
		put_cell(code, (size_t)n, strcmp(code, "0") != 0 ? SGR_RED :
		    NULL);
	}
	if ((s = jstr(o, "signal")) != NULL)
		printf(" by SIG%s", s);
	if (jint(o, "pid", 0) > 0)
		printf(" (pid %d)", jint(o, "pid", 0));
	if ((s = jstr(o, "error")) != NULL)
		printf(": %s", s);
	putchar('\n');
}

/*
 * One line of jobd's events: an event is shown, a gap said on stderr;
 * heartbeats and what jobctl does not know show nothing.
 */
static int
event_record(struct logs *lo, const char *line, size_t len)
{
	cJSON		*o;
	const cJSON	*gap;

	if ((o = cJSON_ParseWithLength(line, len)) == NULL) {
		log_warnx("jobd sent an event line that is not JSON: %.*s",
		    (int)(len < 80 ? len : 80), line);
		return 0;
	}
	gap = cJSON_GetObjectItemCaseSensitive(o, "gap");
	if (cJSON_GetArraySize(gap) == 2)
		event_gap(gap);
	else if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "seq")))
		event_print(o);
	cJSON_Delete(o);
	if (ferror(stdout))
		return logs_failed(lo);
	return 0;
}

/* A whole line of ndjson, as the mode has it shown. */
static int
stream_record(struct logs *lo, const char *line, size_t len)
{
	if (lo->mode == LOGS_EVENTS)
		return event_record(lo, line, len);
	return logs_record(lo, line, len);
}

static int
logs_add(struct logs *lo, const char *data, size_t len)
{
	char	*p;
	size_t	 cap;

	if (lo->len + len > LOGS_LINE_MAX) {
		log_warnx("jobd sent a log line of over %d bytes",
		    LOGS_LINE_MAX);
		return logs_failed(lo);
	}
	if (lo->len + len > lo->cap) {
		cap = lo->cap ? lo->cap : 16384;
		while (cap < lo->len + len)
			cap *= 2;
		if ((p = realloc(lo->line, cap)) == NULL)
			fatal("realloc");
		lo->line = p;
		lo->cap = cap;
	}
	memcpy(lo->line + lo->len, data, len);
	lo->len += len;
	return 0;
}

/*
 * The sink of a job's log or of jobd's events (http_sink): in LOGS_COPY
 * the body as it comes, else its records, whose lines may come in pieces.
 */
int
out_logs(const char *data, size_t len, void *arg)
{
	struct logs	*lo = arg;
	const char	*nl;
	size_t		 n;

	if (lo->mode == LOGS_COPY && fwrite(data, 1, len, stdout) != len)
		return logs_failed(lo);
	while (lo->mode != LOGS_COPY && len > 0) {
		nl = memchr(data, '\n', len);
		n = nl != NULL ? (size_t)(nl - data) + 1 : len;
		if (logs_add(lo, data, n) == -1)
			return -1;
		if (nl != NULL) {
			if (stream_record(lo, lo->line, lo->len) == -1)
				return -1;
			lo->len = 0;
		}
		data += n;
		len -= n;
	}
	/* What came is shown at once: this may follow a running job. */
	if (fflush(stdout) == EOF)
		return logs_failed(lo);
	return 0;
}

/*
 * The log's or the events' call is over. If its body came whole, a last
 * line without a newline is a record too. Returns -1 if writing out
 * failed.
 */
int
out_logs_end(struct logs *lo, int whole)
{
	if (whole && !lo->failed && lo->len > 0)
		stream_record(lo, lo->line, lo->len);
	free(lo->line);
	lo->line = NULL;
	lo->len = lo->cap = 0;
	if (fflush(stdout) == EOF)
		lo->failed = 1;
	return lo->failed ? -1 : 0;
}
