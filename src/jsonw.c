/*
 * jsonw.c: the JSON writer. Job statuses, lists, errors and server info
 * are written straight into a buffer, never through cJSON (json.c parses;
 * this file only writes).
 */
#include "config.h"

#include <sys/stat.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobd.h"

/*
 * Output. Job statuses are written straight into a buffer: building a
 * cJSON tree for each answer cost a malloc per value, and cJSON prints
 * every number with printf and checks it back with sscanf.
 */

static const char hexdigits[] = "0123456789abcdef";

/*
 * The length of the UTF-8 character at s, 0 if there is none there: a
 * client's bytes need not be UTF-8, and a message cut to fit a buffer
 * may end inside a character. No overlong forms, surrogates or values
 * above U+10FFFF; the NUL stops a sequence like any other byte would.
 */
static size_t
utf8_len(const char *p)
{
	const unsigned char	*s = (const unsigned char *)p;
	unsigned long		 c = s[0], min;
	size_t			 n, i;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		min = 0x80;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		min = 0x800;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		min = 0x10000;
		c &= 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

void
w_null(struct buf *b)
{
	buf_add(b, "null", 4);
}

/*
 * A JSON string, escaped, or null for NULL. UTF-8 passes as it is; a byte
 * that is not part of a whole UTF-8 character becomes U+FFFD, for JSON
 * is UTF-8.
 */
void
w_str(struct buf *b, const char *s)
{
	const char	*run;
	unsigned char	 c;
	size_t		 n;
	char		 esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	if (s == NULL) {
		w_null(b);
		return;
	}
	buf_add(b, "\"", 1);
	for (run = s; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c >= 0x80 && (n = utf8_len(s)) > 0) {
			s += n - 1;
			continue;
		}
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\')
			continue;
		buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		if (c >= 0x80)
			buf_add(b, "\\ufffd", 6);
		else if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			buf_add(b, esc, 2);
			esc[1] = 'u';
		} else {
			esc[4] = hexdigits[c >> 4];
			esc[5] = hexdigits[c & 0xf];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, run, (size_t)(s - run));
	buf_add(b, "\"", 1);
}

/*
 * len bytes as a JSON string, when they are UTF-8 (a NUL included):
 * else -1 and nothing written, for the caller to send them in base64.
 */
int
w_strn(struct buf *b, const char *s, size_t len)
{
	const char	*p, *end = s + len, *run;
	unsigned char	 c;
	size_t		 n, need;
	char		 esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	for (p = s; p < end; p++) {
		c = (unsigned char)*p;
		if (c < 0x80)
			continue;
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if ((size_t)(end - p) < need || (n = utf8_len(p)) == 0)
			return -1;
		p += n - 1;
	}
	buf_add(b, "\"", 1);
	for (p = run = s; p < end; p++) {
		c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		buf_add(b, run, (size_t)(p - run));
		run = p + 1;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			buf_add(b, esc, 2);
			esc[1] = 'u';
		} else if (c == '\n')
			buf_add(b, "\\n", 2);
		else if (c == '\t')
			buf_add(b, "\\t", 2);
		else {
			esc[4] = hexdigits[c >> 4];
			esc[5] = hexdigits[c & 0xf];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, run, (size_t)(p - run));
	buf_add(b, "\"", 1);
	return 0;
}

/* len bytes as a base64 JSON string. */
void
w_b64(struct buf *b, const void *data, size_t len)
{
	static const char	 set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*d = data;
	char			 q[4];
	unsigned long		 v;
	size_t			 i;

	buf_add(b, "\"", 1);
	for (i = 0; i < len; i += 3) {
		v = (unsigned long)d[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long)d[i + 1] << 8;
		if (i + 2 < len)
			v |= d[i + 2];
		q[0] = set[v >> 18 & 63];
		q[1] = set[v >> 12 & 63];
		q[2] = i + 1 < len ? set[v >> 6 & 63] : '=';
		q[3] = i + 2 < len ? set[v & 63] : '=';
		buf_add(b, q, 4);
	}
	buf_add(b, "\"", 1);
}

/* ,"key": (the comma unless first) */
void
w_key(struct buf *b, const char *key, int first)
{
	if (!first)
		buf_add(b, ",", 1);
	w_str(b, key);
	buf_add(b, ":", 1);
}

void
w_int(struct buf *b, long long v)
{
	if (v < 0)
		buf_add(b, "-", 1);
	buf_add_uint(b, v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v);
}

/* Seconds as given: an integer when whole, else the shortest exact form. */
void
w_num(struct buf *b, double v)
{
	char	 d[32];

	if (v == floor(v) && fabs(v) < 1e15)
		w_int(b, (long long)v);
	else
		buf_add(b, d, (size_t)snprintf(d, sizeof(d), "%.15g", v));
}

/* v if there is one, else null. */
void
w_int_if(struct buf *b, int have, long long v)
{
	if (have)
		w_int(b, v);
	else
		w_null(b);
}

/*
 * UTC RFC 3339 with milliseconds. The date and time of the last second
 * asked for are kept: statuses ask for the same few seconds again and
 * again.
 */
void
json_time(int64_t ms, char *buf, size_t size)
{
	static time_t	 last = -1;
	static char	 cached[32];
	static size_t	 n;
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);
	int		 frac = (int)(ms % 1000);

	if (t != last) {
		gmtime_r(&t, &tm);
		n = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S.", &tm);
		last = t;
	}
	if (size < n + 5)
		return;
	memcpy(buf, cached, n);
	buf[n] = (char)('0' + frac / 100);
	buf[n + 1] = (char)('0' + frac / 10 % 10);
	buf[n + 2] = (char)('0' + frac % 10);
	buf[n + 3] = 'Z';
	buf[n + 4] = '\0';
}

void
w_time(struct buf *b, int64_t ms)
{
	char	 t[40];

	if (ms == 0) {
		w_null(b);
		return;
	}
	json_time(ms, t, sizeof(t));
	w_str(b, t);
}

static void
w_task(struct buf *b, const struct task *t)
{
	buf_add(b, "{", 1);
	w_key(b, "exec", 1);
	w_str(b, t->exec);
	w_key(b, "state", 0);
	w_str(b, task_state_name(t->state));
	w_key(b, "pid", 0);
	w_int_if(b, t->pid > 0, t->pid);
	w_key(b, "started", 0);
	w_time(b, t->started);
	w_key(b, "ended", 0);
	w_time(b, t->ended);
	w_key(b, "exit_code", 0);
	w_int_if(b, t->state == TASK_EXITED, t->exit_code);
	w_key(b, "signal", 0);
	w_str(b, t->state == TASK_KILLED ? sig_name(t->signal) : NULL);
	w_key(b, "error", 0);
	w_str(b, t->error);
	buf_add(b, "}", 1);
}

static void
w_job(struct buf *b, const struct job *j)
{
	const struct task	*cur = &j->tasks[j->cur];
	char			 path[4200];
	int			 i;

	buf_add(b, "{", 1);
	w_key(b, "name", 1);
	w_str(b, j->name);
	w_key(b, "state", 0);
	w_str(b, job_state_name(j->state));
	w_key(b, "task", 0);
	w_int(b, j->cur);
	w_key(b, "pid", 0);
	w_int_if(b, cur->state == TASK_RUNNING, cur->pid);
	w_key(b, "created", 0);
	w_time(b, j->created);
	w_key(b, "stop_timeout", 0);
	w_num(b, j->stop_timeout);
	w_key(b, "tasks", 0);
	buf_add(b, "[", 1);
	for (i = 0; i < j->ntasks; i++) {
		if (i > 0)
			buf_add(b, ",", 1);
		w_task(b, &j->tasks[i]);
	}
	buf_add(b, "]", 1);
	w_key(b, "sockets", 0);
	fd_describe(b, j);
	w_key(b, "cgroup", 0);
	w_str(b, cgroup_path(j, path, sizeof(path)) == 0 ? path : NULL);
	buf_add(b, "}", 1);
}

/* The buffer's text as a string of its own, or NULL if memory ran out. */
static char *
finish(struct buf *b)
{
	char	*s;

	if (b->err || buf_add(b, "", 0) == -1) {
		buf_free(b);
		return NULL;
	}
	s = b->data;
	memset(b, 0, sizeof(*b));
	return s;
}

char *
json_job(const struct job *j)
{
	struct buf	 b = { 0 };

	w_job(&b, j);
	return finish(&b);
}

char *
json_jobs(struct job **jobs, size_t n)
{
	struct buf	 b = { 0 };
	size_t		 i;

	buf_add(&b, "{\"jobs\":[", 9);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_add(&b, ",", 1);
		w_job(&b, jobs[i]);
	}
	buf_add(&b, "]}", 2);
	return finish(&b);
}

char *
json_error(const char *msg, const char *path)
{
	struct buf	 b = { 0 };

	buf_add(&b, "{", 1);
	w_key(&b, "error", 1);
	w_str(&b, msg);
	w_key(&b, "path", 0);
	w_str(&b, path);
	buf_add(&b, "}", 1);
	return finish(&b);
}

/* Who may use a unix socket: its mode and owner, as the file says now. */
static void
w_owner(struct buf *b, const char *address)
{
	struct stat	 st;
	char		 mode[8];

	if (strncmp(address, "unix:", 5) != 0 || stat(address + 5, &st) == -1)
		return;
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
	w_key(b, "mode", 0);
	w_str(b, mode);
	w_key(b, "uid", 0);
	w_int(b, st.st_uid);
	w_key(b, "gid", 0);
	w_int(b, st.st_gid);
}

char *
json_info(ev_tstamp uptime)
{
	struct buf	 b = { 0 };
	unsigned	 running, stopping, exited, failed;
	size_t		 i;

	buf_add(&b, "{", 1);
	w_key(&b, "name", 1);
	w_str(&b, PACKAGE_NAME);
	w_key(&b, "version", 0);
	w_str(&b, PACKAGE_VERSION);
	w_key(&b, "pid", 0);
	w_int(&b, getpid());
	w_key(&b, "uid", 0);
	w_int(&b, geteuid());
	w_key(&b, "gid", 0);
	w_int(&b, getegid());
	w_key(&b, "uptime", 0);
	w_num(&b, floor(uptime * 1000) / 1000);
	w_key(&b, "restarts", 0);
	w_int(&b, daemon_restarts);
	w_key(&b, "recovered", 0);
	w_int(&b, job_recovered());
	w_key(&b, "state_dir", 0);
	w_str(&b, store_dir());
	w_key(&b, "listen", 0);
	buf_add(&b, "[", 1);
	for (i = 0; i < nlisteners; i++) {
		buf_add(&b, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
		w_key(&b, "address", 1);
		w_str(&b, listeners[i].ls.address);
		w_key(&b, "name", 0);
		w_str(&b, listeners[i].ls.name);
		w_key(&b, "inherited", 0);
		buf_add(&b, listeners[i].ls.inherited ? "true" : "false",
		    listeners[i].ls.inherited ? 4 : 5);
		w_owner(&b, listeners[i].ls.address);
		buf_add(&b, "}", 1);
	}
	buf_add(&b, "]", 1);
	job_counts(&running, &stopping, &exited, &failed);
	w_key(&b, "jobs", 0);
	buf_add(&b, "{", 1);
	w_key(&b, "total", 1);
	w_int(&b, running + stopping + exited + failed);
	w_key(&b, "running", 0);
	w_int(&b, running);
	w_key(&b, "stopping", 0);
	w_int(&b, stopping);
	w_key(&b, "exited", 0);
	w_int(&b, exited);
	w_key(&b, "failed", 0);
	w_int(&b, failed);
	buf_add(&b, "}", 1);
	if (conf.nallow_uids > 0) {
		w_key(&b, "allow_uids", 0);
		buf_add(&b, "[", 1);
		for (i = 0; i < conf.nallow_uids; i++) {
			if (i > 0)
				buf_add(&b, ",", 1);
			w_int(&b, conf.allow_uids[i]);
		}
		buf_add(&b, "]", 1);
	}
	w_key(&b, "limits", 0);
	buf_add(&b, "{", 1);
	w_key(&b, "max_jobs", 1);
	w_int(&b, conf.max_jobs);
	w_key(&b, "max_connections", 0);
	w_int(&b, conf.max_connections);
	w_key(&b, "max_body", 0);
	w_int(&b, (long long)conf.max_body);
	w_key(&b, "keep_finished", 0);
	w_int(&b, conf.keep_finished);
	buf_add(&b, "}}", 2);
	return finish(&b);
}

/*
 * The job as the state directory keeps it: the PUT body while the job
 * runs (its later tasks still need their definitions), and everything
 * its status shows, with what adoption needs (start ticks).
 */
char *
json_job_state(const struct job *j)
{
	struct buf		 b = { 0 };
	const struct task	*t;
	const struct jsock	*s;
	int			 i;

	buf_add(&b, "{", 1);
	w_key(&b, "jobd_state", 1);
	w_int(&b, 1);
	w_key(&b, "name", 0);
	w_str(&b, j->name);
	w_key(&b, "state", 0);
	w_str(&b, job_state_name(j->state));
	w_key(&b, "cur", 0);
	w_int(&b, j->cur);
	w_key(&b, "created", 0);
	w_int(&b, j->created);
	w_key(&b, "stop_timeout", 0);
	w_num(&b, j->stop_timeout);
	w_key(&b, "forget", 0);
	w_int(&b, j->forget);
	w_key(&b, "body", 0);
	if (j->body != NULL)
		buf_add(&b, j->body, j->bodylen);
	else
		w_null(&b);
	w_key(&b, "tasks", 0);
	buf_add(&b, "[", 1);
	for (i = 0; i < j->ntasks; i++) {
		t = &j->tasks[i];
		buf_add(&b, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
		w_key(&b, "exec", 1);
		w_str(&b, t->exec);
		w_key(&b, "state", 0);
		w_str(&b, task_state_name(t->state));
		w_key(&b, "starting", 0);
		w_int(&b, t->starting);
		w_key(&b, "pid", 0);
		w_int(&b, t->pid);
		w_key(&b, "tick_lo", 0);
		w_int(&b, (long long)t->tick_lo);
		w_key(&b, "tick_hi", 0);
		w_int(&b, (long long)t->tick_hi);
		w_key(&b, "started", 0);
		w_int(&b, t->started);
		w_key(&b, "ended", 0);
		w_int(&b, t->ended);
		w_key(&b, "exit_code", 0);
		w_int(&b, t->exit_code);
		w_key(&b, "signal", 0);
		w_int(&b, t->signal);
		w_key(&b, "error", 0);
		w_str(&b, t->error);
		buf_add(&b, "}", 1);
	}
	buf_add(&b, "]", 1);
	w_key(&b, "socks", 0);
	buf_add(&b, "[", 1);
	for (i = 0; i < j->nsocks; i++) {
		s = &j->socks[i];
		buf_add(&b, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
		w_key(&b, "address", 1);
		w_str(&b, s->ls.address);
		w_key(&b, "path", 0);
		w_str(&b, s->ls.path);
		buf_add(&b, "}", 1);
	}
	buf_add(&b, "]}\n", 3);
	return finish(&b);
}

char *
json_daemon_state(unsigned restarts, int clean)
{
	struct buf	 b = { 0 };

	buf_add(&b, "{", 1);
	w_key(&b, "restarts", 1);
	w_int(&b, restarts);
	w_key(&b, "clean", 0);
	w_int(&b, clean);
	w_key(&b, "pid", 0);
	w_int(&b, getpid());
	buf_add(&b, "}\n", 2);
	return finish(&b);
}
