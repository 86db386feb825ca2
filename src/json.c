/*
 * json.c: JSON in and out. The only file that includes cJSON.h, which
 * parses PUT bodies: each field is checked and the offending one named
 * by its JSON path (tasks[0].fd[1].mode). Answers are written directly.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "jobd.h"

/*
 * A JSON path is a chain of (key or index) on the stack of the parse, and
 * becomes text only when an error names it: a good job, the common case,
 * costs no formatting at all.
 */
void
jpath_format(const struct jpath *p, char *out, size_t size)
{
	size_t	 n;

	if (size == 0)
		return;
	out[0] = '\0';
	if (p == NULL)
		return;
	jpath_format(p->up, out, size);
	n = strlen(out);
	if (p->key != NULL)
		snprintf(out + n, size - n, "%s%s", n > 0 ? "." : "", p->key);
	else
		snprintf(out + n, size - n, "[%d]", p->index);
}

int
jpath_fail(struct jerr *e, int status, const struct jpath *path,
    const char *fmt, ...)
{
	char	 msg[sizeof(e->msg)];
	va_list	 ap;

	e->status = status;
	jpath_format(path, e->path, sizeof(e->path));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->path[0] != '\0')
		snprintf(e->msg, sizeof(e->msg), "%s: %s", e->path, msg);
	else
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	return -1;
}

#define fail	jpath_fail
#define KEY(up, k)	(&(const struct jpath){ (up), (k), 0 })
#define INDEX(up, i)	(&(const struct jpath){ (up), NULL, (i) })

static const char *
type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "invalid";
}

/*
 * What cJSON lets through and JSON does not: control characters, which
 * it takes for white space or keeps inside strings, and \u0000, which it
 * turns into a NUL that would silently cut a string short. Assumes
 * nothing of the input: only escapes inside strings are looked at.
 */
static int
has_control(const char *s, size_t len)
{
	size_t	 i;
	int	 instr = 0;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t' &&
		    s[i] != '\n' && s[i] != '\r')
			return 1;
		if (instr && (unsigned char)s[i] < 0x20)
			return 1;
		if (!instr) {
			if (s[i] == '"')
				instr = 1;
			continue;
		}
		if (s[i] == '"')
			instr = 0;
		else if (s[i] == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u' && i + 5 < len &&
			    memcmp(s + i + 2, "0000", 4) == 0)
				return 1;
			i++;
		}
	}
	return 0;
}

/* One JSON value and nothing after it but white space. */
static cJSON *
parse(const char *body, size_t len)
{
	const char	*end = NULL;
	cJSON		*v;

	if ((v = cJSON_ParseWithLengthOpts(body, len, &end, 0)) == NULL)
		return NULL;
	for (; end < body + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
			cJSON_Delete(v);
			return NULL;
		}
	}
	return v;
}

/* Where parsing stopped, for the error sentence. */
static size_t
json_error_at(const char *body, size_t len)
{
	const char	*at = cJSON_GetErrorPtr();

	return at != NULL && at >= body && at <= body + len ?
	    (size_t)(at - body) : len;
}

/* Control characters have no business in a path, a name or a command. */
static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Every key of an object once, and only known ones. */
static int
check_keys(const cJSON *o, const struct jpath *base, const char *const *known,
    struct jerr *e)
{
	const cJSON	*a, *b;
	const struct jpath	*path;
	size_t		 i;

	for (a = o->child; a != NULL; a = a->next) {
		path = KEY(base, a->string);
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(known[i], a->string) == 0)
				break;
		if (known[i] == NULL)
			return fail(e, 400, path, "unknown field \"%s\"",
			    a->string);
		for (b = o->child; b != a; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return fail(e, 400, path, "field given twice");
	}
	return 0;
}

static const cJSON *
get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int
want_string(const cJSON *v, const struct jpath *path, int ctl_ok, char **out,
    struct jerr *e)
{
	if (!cJSON_IsString(v))
		return fail(e, 400, path, "must be a string, not %s",
		    type_name(v));
	if (!ctl_ok && has_ctl(v->valuestring))
		return fail(e, 400, path, "must not contain control "
		    "characters");
	if ((*out = strdup(v->valuestring)) == NULL)
		return fail(e, 500, path, "out of memory");
	return 0;
}

static int
want_int(const cJSON *v, const struct jpath *path, double min, double max, int *out,
    struct jerr *e)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < min || v->valuedouble > max)
		return fail(e, 400, path, "must be an integer from %.0f to %.0f",
		    min, max);
	*out = (int)v->valuedouble;
	return 0;
}

/* user and group: a number, or a name looked up at PUT. */
static int
want_id(const cJSON *v, const struct jpath *path, char **out, struct jerr *e)
{
	char	 buf[32];

	if (cJSON_IsNumber(v)) {
		if (v->valuedouble != floor(v->valuedouble) ||
		    v->valuedouble < 0 || v->valuedouble >= 4294967295.0)
			return fail(e, 400, path, "must be a name or an "
			    "integer from 0 to 4294967294");
		snprintf(buf, sizeof(buf), "#%.0f", v->valuedouble);
		if ((*out = strdup(buf)) == NULL)
			return fail(e, 500, path, "out of memory");
		return 0;
	}
	if (!cJSON_IsString(v))
		return fail(e, 400, path, "must be a name or a number, not %s",
		    type_name(v));
	if (v->valuestring[0] == '\0' || v->valuestring[0] == '#' ||
	    strlen(v->valuestring) > 255 || has_ctl(v->valuestring))
		return fail(e, 400, path, "\"%s\" is not a valid name",
		    v->valuestring);
	if ((*out = strdup(v->valuestring)) == NULL)
		return fail(e, 500, path, "out of memory");
	return 0;
}

static const char *const fd_keys[] = {
	"type", "path", "mode", "bind", "port", "protocol", "name", NULL
};

static const struct {
	const char	*key;
	unsigned	 bit;
} fd_bits[] = {
	{ "path", FDF_PATH }, { "mode", FDF_MODE }, { "bind", FDF_BIND },
	{ "port", FDF_PORT }, { "protocol", FDF_PROTOCOL },
	{ "name", FDF_NAME },
};

static int
parse_fd(const cJSON *v, const struct jpath *path, struct fdspec *f, struct jerr *e)
{
	const cJSON	*type, *a;
	const struct jpath	*p;
	char		*mode = NULL, *proto = NULL;
	unsigned	 allowed, required, seen = 0;
	size_t		 i;
	int		 r = -1;

	if (cJSON_IsNull(v)) {
		f->kind = FD_CLOSED;
		return 0;
	}
	if (!cJSON_IsObject(v))
		return fail(e, 400, path, "must be an object or null, not %s",
		    type_name(v));
	p = KEY(path, "type");
	if ((type = get(v, "type")) == NULL)
		return fail(e, 400, p, "missing required field \"type\"");
	if (!cJSON_IsString(type))
		return fail(e, 400, p, "must be a string, not %s",
		    type_name(type));
	/* Unknown types are 501 whatever else the entry holds. */
	if (fd_kind_lookup(type->valuestring, &f->kind) == -1)
		return fail(e, 501, path, "fd type \"%.64s\" is not "
		    "implemented; supported types are %s", type->valuestring,
		    fd_supported());
	if (check_keys(v, path, fd_keys, e) == -1)
		return -1;
	allowed = fd_fields(f->kind, &required);
	for (a = v->child; a != NULL; a = a->next) {
		if (strcmp(a->string, "type") == 0)
			continue;
		p = KEY(path, a->string);
		for (i = 0; i < nitems(fd_bits); i++)
			if (strcmp(fd_bits[i].key, a->string) == 0)
				break;
		if (!(allowed & fd_bits[i].bit)) {
			fail(e, 400, p, "unknown field \"%s\" for type \"%s\"",
			    a->string, type->valuestring);
			goto done;
		}
		seen |= fd_bits[i].bit;
		switch (fd_bits[i].bit) {
		case FDF_PATH:
			if (want_string(a, p, 0, &f->path, e) == -1)
				goto done;
			break;
		case FDF_MODE:
			if (want_string(a, p, 0, &mode, e) == -1)
				goto done;
			break;
		case FDF_BIND:
			if (want_string(a, p, 0, &f->bind, e) == -1)
				goto done;
			break;
		case FDF_PORT:
			if (want_int(a, p, 0, 65535, &f->port, e) == -1)
				goto done;
			break;
		case FDF_PROTOCOL:
			if (want_string(a, p, 0, &proto, e) == -1)
				goto done;
			if (strcmp(proto, "tcp") == 0)
				f->socktype = SOCK_STREAM;
			else if (strcmp(proto, "udp") == 0)
				f->socktype = SOCK_DGRAM;
			else {
				fail(e, 400, p, "protocol must be \"tcp\" or "
				    "\"udp\"");
				goto done;
			}
			break;
		case FDF_NAME:
			if (want_string(a, p, 0, &f->name, e) == -1)
				goto done;
			break;
		}
	}
	for (i = 0; i < nitems(fd_bits); i++) {
		if ((required & fd_bits[i].bit) && !(seen & fd_bits[i].bit)) {
			p = KEY(path, fd_bits[i].key);
			fail(e, 400, p, "missing required field \"%s\" for "
			    "type \"%s\"", fd_bits[i].key, type->valuestring);
			goto done;
		}
	}
	r = fd_check(f, mode, path, e);
done:
	free(mode);
	free(proto);
	return r;
}

/* Order "NAME=VALUE" strings by NAME alone. */
static int
env_cmp(const void *x, const void *y)
{
	const unsigned char	*a = *(const unsigned char *const *)x;
	const unsigned char	*b = *(const unsigned char *const *)y;

	for (; *a == *b && *a != '='; a++, b++)
		;
	return (*a == '=' ? 0 : *a) - (*b == '=' ? 0 : *b);
}

/*
 * A name given twice in envs: found by sorting a copy, so that a body
 * of many thousands of variables costs n log n, not n squared.
 */
static int
envs_unique(const cJSON *v, const struct jpath *path, struct task *t,
    struct jerr *e)
{
	const cJSON	*a;
	char		**sorted;
	size_t		 i, len;

	if (t->nenvs < 2)
		return 0;
	if ((sorted = reallocarray(NULL, t->nenvs, sizeof(*sorted))) == NULL)
		return fail(e, 500, path, "out of memory");
	memcpy(sorted, t->envs, t->nenvs * sizeof(*sorted));
	qsort(sorted, t->nenvs, sizeof(*sorted), env_cmp);
	for (i = 1; i < t->nenvs; i++)
		if (env_cmp(&sorted[i - 1], &sorted[i]) == 0)
			break;
	if (i == t->nenvs) {
		free(sorted);
		return 0;
	}
	len = (size_t)(strchr(sorted[i], '=') - sorted[i]);
	for (a = v->child; a != NULL; a = a->next)
		if (strncmp(a->string, sorted[i], len) == 0 &&
		    a->string[len] == '\0')
			break;
	free(sorted);
	return fail(e, 400, KEY(path, a != NULL ? a->string : ""),
	    "field given twice");
}

static int
parse_envs(const cJSON *v, const struct jpath *path, struct task *t, struct jerr *e)
{
	const cJSON	*a;
	const struct jpath	*p;
	size_t		 n = 0;

	if (!cJSON_IsObject(v))
		return fail(e, 400, path, "must be an object of strings, not %s",
		    type_name(v));
	for (a = v->child; a != NULL; a = a->next)
		n++;
	if ((t->envs = calloc(n + 1, sizeof(char *))) == NULL)
		return fail(e, 500, path, "out of memory");
	for (a = v->child; a != NULL; a = a->next) {
		p = KEY(path, a->string);
		if (a->string[0] == '\0' || strchr(a->string, '=') != NULL ||
		    has_ctl(a->string))
			return fail(e, 400, p, "\"%s\" is not a valid variable "
			    "name", a->string);
		if (!cJSON_IsString(a))
			return fail(e, 400, p, "must be a string, not %s",
			    type_name(a));
		if (asprintf(&t->envs[t->nenvs], "%s=%s", a->string,
		    a->valuestring) == -1) {
			t->envs[t->nenvs] = NULL;
			return fail(e, 500, p, "out of memory");
		}
		t->nenvs++;
	}
	return envs_unique(v, path, t, e);
}

static const char *const task_keys[] = {
	"exec", "args", "envs", "cwd", "fd", "user", "group", NULL
};

static int
parse_task(const cJSON *v, const struct jpath *path, struct task *t, struct jerr *e)
{
	const cJSON	*a, *x;
	const struct jpath	*p, *q;
	const char	*const *k;
	int		 n, i;

	if (!cJSON_IsObject(v))
		return fail(e, 400, path, "a task must be an object, not %s",
		    type_name(v));
	if (check_keys(v, path, task_keys, e) == -1)
		return -1;
	for (k = task_keys; k < task_keys + 5; k++) {
		p = KEY(path, *k);
		if (get(v, *k) == NULL)
			return fail(e, 400, p, "missing required field \"%s\"",
			    *k);
	}
	p = KEY(path, "exec");
	if (want_string(get(v, "exec"), p, 0, &t->exec, e) == -1)
		return -1;
	if (t->exec[0] == '\0')
		return fail(e, 400, p, "must not be empty");
	p = KEY(path, "cwd");
	if (want_string(get(v, "cwd"), p, 0, &t->cwd, e) == -1)
		return -1;
	if (t->cwd[0] != '/')
		return fail(e, 400, p, "must be an absolute path");
	p = KEY(path, "args");
	a = get(v, "args");
	if (!cJSON_IsArray(a))
		return fail(e, 400, p, "must be an array of strings, not %s",
		    type_name(a));
	n = cJSON_GetArraySize(a);
	if ((t->argv = calloc((size_t)n + 2, sizeof(char *))) == NULL)
		return fail(e, 500, p, "out of memory");
	if ((t->argv[0] = strdup(t->exec)) == NULL)
		return fail(e, 500, p, "out of memory");
	i = 1;
	cJSON_ArrayForEach(x, a) {
		q = INDEX(p, i - 1);
		if (want_string(x, q, 1, &t->argv[i], e) == -1)
			return -1;
		i++;
	}
	p = KEY(path, "envs");
	if (parse_envs(get(v, "envs"), p, t, e) == -1)
		return -1;
	p = KEY(path, "fd");
	a = get(v, "fd");
	if (!cJSON_IsArray(a))
		return fail(e, 400, p, "must be an array, not %s",
		    type_name(a));
	n = cJSON_GetArraySize(a);
	if (n > JOBD_MAX_FDS)
		return fail(e, 400, p, "at most %d entries", JOBD_MAX_FDS);
	/* 0, 1 and 2 are always there: /dev/null unless given. */
	t->nfds = n < 3 ? 3 : n;
	if ((t->fds = calloc((size_t)t->nfds, sizeof(*t->fds))) == NULL)
		return fail(e, 500, p, "out of memory");
	for (i = 0; i < t->nfds; i++)
		t->fds[i].kind = FD_NULL;
	i = 0;
	cJSON_ArrayForEach(x, a) {
		q = INDEX(p, i);
		if (parse_fd(x, q, &t->fds[i], e) == -1)
			return -1;
		i++;
	}
	if ((x = get(v, "user")) != NULL) {
		p = KEY(path, "user");
		if (want_id(x, p, &t->user, e) == -1)
			return -1;
	}
	if ((x = get(v, "group")) != NULL) {
		p = KEY(path, "group");
		if (want_id(x, p, &t->group, e) == -1)
			return -1;
	}
	return 0;
}

static const char *const job_keys[] = { "tasks", "stop_timeout", NULL };

/*
 * A PUT body to a job named name. On error returns NULL with e filled:
 * 400 for what is malformed, 501 for an fd type not implemented.
 */
struct job *
json_parse_job(const char *body, size_t len, const char *name,
    struct jerr *e)
{
	cJSON		*root = NULL;
	const cJSON	*tasks, *x;
	struct job	*j = NULL;
	const struct jpath	*p;
	int		 n, i;

	if (len == 0) {
		fail(e, 400, NULL, "the body must be a job: a JSON object with "
		    "\"tasks\"");
		return NULL;
	}
	if (has_control(body, len)) {
		fail(e, 400, NULL, "the body is not valid JSON: control "
		    "characters or \\u0000");
		return NULL;
	}
	if ((root = parse(body, len)) == NULL) {
		fail(e, 400, NULL, "the body is not valid JSON (at byte %zu)",
		    json_error_at(body, len));
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		fail(e, 400, NULL, "a job must be a JSON object, not %s",
		    type_name(root));
		goto fail;
	}
	if (check_keys(root, NULL, job_keys, e) == -1)
		goto fail;
	if ((j = job_new(name)) == NULL) {
		fail(e, 500, NULL, "out of memory");
		goto fail;
	}
	if ((x = get(root, "stop_timeout")) != NULL) {
		if (!cJSON_IsNumber(x) || x->valuedouble < 0 ||
		    x->valuedouble > 31536000 || isnan(x->valuedouble)) {
			fail(e, 400, KEY(NULL, "stop_timeout"), "must be a number of "
			    "seconds from 0 to 31536000");
			goto fail;
		}
		j->stop_timeout = x->valuedouble;
	}
	if ((tasks = get(root, "tasks")) == NULL) {
		fail(e, 400, KEY(NULL, "tasks"), "missing required field \"tasks\"");
		goto fail;
	}
	if (!cJSON_IsArray(tasks)) {
		fail(e, 400, KEY(NULL, "tasks"), "must be an array of tasks, not %s",
		    type_name(tasks));
		goto fail;
	}
	n = cJSON_GetArraySize(tasks);
	if (n < 1 || n > JOBD_MAX_TASKS) {
		fail(e, 400, KEY(NULL, "tasks"), "a job has 1 to %d tasks, not %d",
		    JOBD_MAX_TASKS, n);
		goto fail;
	}
	if ((j->tasks = calloc((size_t)n, sizeof(*j->tasks))) == NULL) {
		fail(e, 500, KEY(NULL, "tasks"), "out of memory");
		goto fail;
	}
	j->ntasks = n;
	for (i = 0; i < n; i++) {
		j->tasks[i].job = j;
		j->tasks[i].index = i;
	}
	i = 0;
	cJSON_ArrayForEach(x, tasks) {
		p = INDEX(KEY(NULL, "tasks"), i);
		if (parse_task(x, p, &j->tasks[i], e) == -1)
			goto fail;
		i++;
	}
	cJSON_Delete(root);
	return j;
fail:
	cJSON_Delete(root);
	job_free(j);
	return NULL;
}

/* The body of POST /job/:name/signal: {"signal": "HUP"} or a number. */
int
json_parse_signal(const char *body, size_t len, int *sig, struct jerr *e)
{
	static const char *const keys[] = { "signal", NULL };
	cJSON		*root;
	const cJSON	*v;
	char		 buf[32];
	int		 r = -1;

	if (has_control(body, len) || (root = parse(body, len)) == NULL)
		return fail(e, 400, NULL, "the body must be JSON: "
		    "{\"signal\": \"HUP\"}");
	if (!cJSON_IsObject(root)) {
		fail(e, 400, NULL, "the body must be a JSON object, not %s",
		    type_name(root));
		goto done;
	}
	if (check_keys(root, NULL, keys, e) == -1)
		goto done;
	if ((v = get(root, "signal")) == NULL) {
		fail(e, 400, KEY(NULL, "signal"), "missing required field \"signal\"");
		goto done;
	}
	if (cJSON_IsNumber(v))
		snprintf(buf, sizeof(buf), "%.0f", v->valuedouble >= 0 &&
		    v->valuedouble < 1000 && v->valuedouble ==
		    floor(v->valuedouble) ? v->valuedouble : -1.0);
	else if (cJSON_IsString(v))
		snprintf(buf, sizeof(buf), "%s", v->valuestring);
	else {
		fail(e, 400, KEY(NULL, "signal"), "must be a name or a number, not %s",
		    type_name(v));
		goto done;
	}
	if ((*sig = sig_parse(buf)) == -1) {
		fail(e, 400, KEY(NULL, "signal"), "unknown signal \"%s\"", buf);
		goto done;
	}
	r = 0;
done:
	cJSON_Delete(root);
	return r;
}

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

static void
w_null(struct buf *b)
{
	buf_add(b, "null", 4);
}

/*
 * A JSON string, escaped, or null for NULL. UTF-8 passes as it is; a byte
 * that is not part of a whole UTF-8 character becomes U+FFFD, for JSON
 * is UTF-8.
 */
static void
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

/* ,"key": (the comma unless first) */
static void
w_key(struct buf *b, const char *key, int first)
{
	if (!first)
		buf_add(b, ",", 1);
	w_str(b, key);
	buf_add(b, ":", 1);
}

static void
w_int(struct buf *b, long long v)
{
	if (v < 0)
		buf_add(b, "-", 1);
	buf_add_uint(b, v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v);
}

/* Seconds as given: an integer when whole, else the shortest exact form. */
static void
w_num(struct buf *b, double v)
{
	char	 d[32];

	if (v == floor(v) && fabs(v) < 1e15)
		w_int(b, (long long)v);
	else
		buf_add(b, d, (size_t)snprintf(d, sizeof(d), "%.15g", v));
}

/* v if there is one, else null. */
static void
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

static void
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
	const struct jsock	*s;
	int			 i, first = 1;

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
	buf_add(b, "[", 1);
	for (i = 0; i < j->nsocks; i++) {
		s = &j->socks[i];
		if (s->kind == FD_PIPE || s->ls.address == NULL)
			continue;
		buf_add(b, first ? "{" : ",{", first ? 1 : 2);
		first = 0;
		w_key(b, "fd", 1);
		w_int(b, s->fdnum);
		w_key(b, "task", 0);
		w_int(b, s->task);
		w_key(b, "address", 0);
		w_str(b, s->ls.address);
		w_key(b, "name", 0);
		w_str(b, s->ls.name != NULL ? s->ls.name : "socket");
		buf_add(b, "}", 1);
	}
	buf_add(b, "]}", 2);
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
