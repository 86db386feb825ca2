/*
 * json.c: the JSON parser of job bodies. The only file that includes
 * cJSON.h: each field is checked and the offending one named by its JSON
 * path (tasks[0].fd[1].mode). Answers are written by jsonw.c.
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
	va_list	 ap;

	err_init(e);
	e->status = status;
	jpath_format(path, e->path, sizeof(e->path));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
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

/*
 * An fd entry: its type picks the row of fd.c's table, which says which
 * fields it takes; each field is read as fd.c describes it (a string or
 * an int, and where it goes), then the type checks the whole entry.
 */
static int
parse_fd(const cJSON *v, const struct jpath *path, struct fdspec *f,
    struct jerr *e)
{
	const struct fdfield	*fld;
	const cJSON		*type, *a, *b;
	const struct jpath	*p;
	const char		*missing;
	unsigned		 seen = 0;
	int			 k;

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
	for (a = v->child; a != NULL; a = a->next) {
		p = KEY(path, a->string);
		for (b = v->child; b != a; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return fail(e, 400, p, "field given twice");
		if (strcmp(a->string, "type") == 0)
			continue;
		if ((fld = fd_field(a->string, &k)) == NULL)
			return fail(e, 400, p, "unknown field \"%s\"",
			    a->string);
		if (!fd_field_allowed(f->kind, k))
			return fail(e, 400, p, "unknown field \"%s\" for "
			    "type \"%s\"", a->string, type->valuestring);
		seen |= 1U << k;
		if (fld->isint) {
			if (want_int(a, p, 0, 65535,
			    (int *)(void *)((char *)f + fld->off), e) == -1)
				return -1;
		} else if (want_string(a, p, 0,
		    (char **)(void *)((char *)f + fld->off), e) == -1)
			return -1;
	}
	if ((missing = fd_field_missing(f->kind, seen)) != NULL)
		return fail(e, 400, KEY(path, missing), "missing required "
		    "field \"%s\" for type \"%s\"", missing,
		    type->valuestring);
	return fd_check(f, path, e);
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
	"exec", "args", "envs", "cwd", "fd", "user", "group", "limits",
	"no_new_privs", "umask", "isolate", "hide", "readonly", NULL
};

/* "isolate": ["net", "ipc", "uts", "mount"], each at most once. */
static int
parse_isolate(const cJSON *v, const struct jpath *path, struct task *t,
    struct jerr *e)
{
	static const char *const names[] = { "net", "ipc", "uts", "mount" };
	const cJSON	*a;
	size_t		 k;
	int		 i = 0;

	if (!cJSON_IsArray(v))
		return fail(e, 400, path, "must be an array of \"net\", "
		    "\"ipc\", \"uts\", \"mount\", not %s", type_name(v));
	cJSON_ArrayForEach(a, v) {
		for (k = 0; k < nitems(names); k++)
			if (cJSON_IsString(a) &&
			    strcmp(a->valuestring, names[k]) == 0)
				break;
		if (k == nitems(names))
			return fail(e, 400, INDEX(path, i), "must be \"net\", "
			    "\"ipc\", \"uts\" or \"mount\"");
		if (t->isolate & (1 << k))
			return fail(e, 400, INDEX(path, i), "given twice");
		t->isolate |= 1 << k;
		i++;
	}
	return 0;
}

/* "hide", "readonly": absolute paths, for a task with its own mounts. */
static int
parse_paths(const cJSON *v, const struct jpath *path, const struct task *t,
    char ***out, struct jerr *e)
{
	const cJSON	*a;
	int		 i = 0, n;

	if (!(t->isolate & ISOLATE_MOUNT))
		return fail(e, 400, path, "needs \"mount\" in \"isolate\"");
	if (!cJSON_IsArray(v))
		return fail(e, 400, path, "must be an array of absolute "
		    "paths, not %s", type_name(v));
	n = cJSON_GetArraySize(v);
	if (n > 64)
		return fail(e, 400, path, "at most 64 paths");
	if ((*out = calloc((size_t)n + 1, sizeof(char *))) == NULL)
		return fail(e, 500, path, "out of memory");
	cJSON_ArrayForEach(a, v) {
		if (want_string(a, INDEX(path, i), 0, &(*out)[i], e) == -1)
			return -1;
		if ((*out)[i][0] != '/')
			return fail(e, 400, INDEX(path, i), "must be an "
			    "absolute path");
		i++;
	}
	return 0;
}

/* An rlimit value: a whole number from 0, or "unlimited". */
static int
want_rlim(const cJSON *v, const struct jpath *p, rlim_t *out,
    struct jerr *e)
{
	if (cJSON_IsString(v) && strcmp(v->valuestring, "unlimited") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble >= 9007199254740992.0)
		return fail(e, 400, p, "must be a whole number from 0, or "
		    "\"unlimited\"");
	*out = (rlim_t)v->valuedouble;
	return 0;
}

/*
 * "limits": {"nofile": 1024, "core": [0, "unlimited"], ...}: a number is
 * soft and hard at once; a soft limit above its hard one is 400.
 */
static int
parse_limits(const cJSON *v, const struct jpath *path, struct task *t,
    struct jerr *e)
{
	const cJSON		*a;
	const struct jpath	*p;
	struct rlimit		*rl;
	int			 i;

	if (!cJSON_IsObject(v))
		return fail(e, 400, path, "must be an object of limits, not %s",
		    type_name(v));
	cJSON_ArrayForEach(a, v) {
		p = KEY(path, a->string);
		if ((i = spawn_rlimit_index(a->string)) == -1)
			return fail(e, 400, p, "unknown limit \"%.32s\": known "
			    "are %s", a->string, spawn_rlimit_names());
		if (t->limits_set & (1U << i))
			return fail(e, 400, p, "field given twice");
		rl = &t->limits[i];
		if (cJSON_IsArray(a)) {
			if (cJSON_GetArraySize(a) != 2)
				return fail(e, 400, p, "must be a number or "
				    "[soft, hard]");
			if (want_rlim(cJSON_GetArrayItem(a, 0), INDEX(p, 0),
			    &rl->rlim_cur, e) == -1 ||
			    want_rlim(cJSON_GetArrayItem(a, 1), INDEX(p, 1),
			    &rl->rlim_max, e) == -1)
				return -1;
			if (rl->rlim_cur > rl->rlim_max)
				return fail(e, 400, p, "the soft limit is above "
				    "the hard one");
		} else {
			if (want_rlim(a, p, &rl->rlim_cur, e) == -1)
				return -1;
			rl->rlim_max = rl->rlim_cur;
		}
		t->limits_set |= 1U << i;
	}
	return 0;
}

/* "umask": an octal string, "022" or "0077". */
static int
parse_umask(const cJSON *v, const struct jpath *p, struct task *t,
    struct jerr *e)
{
	const char	*s;
	int		 m = 0;

	if (!cJSON_IsString(v))
		return fail(e, 400, p, "must be an octal string such as "
		    "\"022\", not %s", type_name(v));
	for (s = v->valuestring; *s >= '0' && *s <= '7' && m <= 0777; s++)
		m = m * 8 + (*s - '0');
	if (*s != '\0' || s == v->valuestring || m > 0777 ||
	    strlen(v->valuestring) > 4)
		return fail(e, 400, p, "must be an octal string from \"000\" "
		    "to \"777\"");
	t->umask = m;
	return 0;
}

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
	t->umask = -1;
	if ((x = get(v, "limits")) != NULL &&
	    parse_limits(x, KEY(path, "limits"), t, e) == -1)
		return -1;
	if ((x = get(v, "umask")) != NULL &&
	    parse_umask(x, KEY(path, "umask"), t, e) == -1)
		return -1;
	if ((x = get(v, "isolate")) != NULL &&
	    parse_isolate(x, KEY(path, "isolate"), t, e) == -1)
		return -1;
	if ((x = get(v, "hide")) != NULL &&
	    parse_paths(x, KEY(path, "hide"), t, &t->hide, e) == -1)
		return -1;
	if ((x = get(v, "readonly")) != NULL &&
	    parse_paths(x, KEY(path, "readonly"), t, &t->readonly, e) == -1)
		return -1;
	if ((x = get(v, "no_new_privs")) != NULL) {
		if (!cJSON_IsBool(x))
			return fail(e, 400, KEY(path, "no_new_privs"), "must be "
			    "true or false, not %s", type_name(x));
		t->no_new_privs = cJSON_IsTrue(x);
	}
	return 0;
}

static const char *const job_keys[] = { "tasks", "stop_timeout", "log",
    "cgroup", NULL };
static const char *const cgroup_keys[] = { "memory_max", "pids_max",
    "cpu_max", NULL };

/* A cgroup limit: "max", or a whole number from min; kept as text. */
static int
cg_value(const cJSON *v, const struct jpath *p, double min, char **out,
    struct jerr *e)
{
	char	 num[32];

	if (cJSON_IsString(v) && strcmp(v->valuestring, "max") == 0)
		snprintf(num, sizeof(num), "max");
	else if (cJSON_IsNumber(v) && v->valuedouble >= min &&
	    v->valuedouble == floor(v->valuedouble) &&
	    v->valuedouble < 9007199254740992.0)
		snprintf(num, sizeof(num), "%.0f", v->valuedouble);
	else
		return fail(e, 400, p, "must be \"max\" or a whole number "
		    "from %.0f", min);
	if ((*out = strdup(num)) == NULL)
		return fail(e, 500, p, "out of memory");
	return 0;
}

/*
 * "cgroup": {"memory_max": BYTES, "pids_max": N, "cpu_max": "QUOTA
 * PERIOD"}: the job's cgroup's controller limits.
 */
static int
parse_cgroup(const cJSON *v, struct job *j, struct jerr *e)
{
	const struct jpath	*p = KEY(NULL, "cgroup");
	const cJSON		*x;
	const char		*s;
	char			*end;
	unsigned long		 q, per;

	if (!cJSON_IsObject(v))
		return fail(e, 400, p, "must be an object, not %s",
		    type_name(v));
	if (check_keys(v, p, cgroup_keys, e) == -1)
		return -1;
	if ((x = get(v, "memory_max")) != NULL &&
	    cg_value(x, KEY(p, "memory_max"), 0, &j->cg_memory_max, e) == -1)
		return -1;
	if ((x = get(v, "pids_max")) != NULL &&
	    cg_value(x, KEY(p, "pids_max"), 1, &j->cg_pids_max, e) == -1)
		return -1;
	if ((x = get(v, "cpu_max")) != NULL) {
		/* "QUOTA PERIOD" or "max PERIOD", microseconds, as the file. */
		s = cJSON_IsString(x) ? x->valuestring : "";
		if (strncmp(s, "max", 3) == 0) {
			end = (char *)s + 3;
			q = 1000;
		} else
			q = strtoul(s, &end, 10);
		per = 100000;
		if (*end == ' ')
			per = strtoul(end + 1, &end, 10);
		if (!cJSON_IsString(x) || s[0] == '\0' || *end != '\0' ||
		    q < 1000 || per < 1000 || per > 1000000 ||
		    (s[0] < '0' && strncmp(s, "max", 3) != 0) ||
		    s[0] == '+' || s[0] == '-' || s[0] == ' ')
			return fail(e, 400, KEY(p, "cpu_max"), "must be "
			    "\"QUOTA PERIOD\" or \"max PERIOD\" in microseconds "
			    "(quota at least 1000, period 1000 to 1000000), or "
			    "\"QUOTA\"");
		if ((j->cg_cpu_max = strdup(s)) == NULL)
			return fail(e, 500, p, "out of memory");
	}
	return 0;
}
static const char *const log_keys[] = { "max_bytes", NULL };

/* "log": {"max_bytes": N}, at most --max-log. */
static int
parse_log(const cJSON *v, struct job *j, struct jerr *e)
{
	const struct jpath	*p = KEY(NULL, "log");
	const cJSON		*x;

	if (!cJSON_IsObject(v))
		return fail(e, 400, p, "must be an object, not %s",
		    type_name(v));
	if (check_keys(v, p, log_keys, e) == -1)
		return -1;
	if ((x = get(v, "max_bytes")) == NULL)
		return 0;
	p = KEY(p, "max_bytes");
	if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) ||
	    x->valuedouble < JOBD_LOG_MIN)
		return fail(e, 400, p, "must be an integer of at least %d",
		    JOBD_LOG_MIN);
	if (x->valuedouble > (double)conf.max_log)
		return fail(e, 400, p, "%.0f is over this jobd's limit of %lld "
		    "bytes (--max-log)", x->valuedouble,
		    (long long)conf.max_log);
	j->log_max = (int64_t)x->valuedouble;
	return 0;
}


static struct job *
parse_job(const cJSON *root, const char *name, struct jerr *e)
{
	const cJSON	*tasks, *x;
	struct job	*j = NULL;
	const struct jpath	*p;
	int		 n, i, k;

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
	if ((x = get(root, "log")) != NULL && parse_log(x, j, e) == -1)
		goto fail;
	if ((x = get(root, "cgroup")) != NULL && parse_cgroup(x, j, e) == -1)
		goto fail;
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
		j->tasks[i].pidfd = -1;
	}
	i = 0;
	cJSON_ArrayForEach(x, tasks) {
		p = INDEX(KEY(NULL, "tasks"), i);
		if (parse_task(x, p, &j->tasks[i], e) == -1)
			goto fail;
		for (k = 0; k < j->tasks[i].nfds; k++)
			if (j->tasks[i].fds[k].kind == FD_LOG)
				j->has_log = 1;
		i++;
	}
	return j;
fail:
	job_free(j);
	return NULL;
}

/*
 * A PUT body to a job named name. On error returns NULL with e filled:
 * 400 for what is malformed, 501 for an fd type not implemented.
 */
struct job *
json_parse_job(const char *body, size_t len, const char *name,
    struct jerr *e)
{
	cJSON		*root = NULL;
	struct job	*j;

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
	j = parse_job(root, name, e);
	cJSON_Delete(root);
	/* Kept while the job runs, for the state directory. */
	if (j != NULL && ((j->body = malloc(len + 1)) == NULL)) {
		job_free(j);
		fail(e, 500, NULL, "out of memory");
		return NULL;
	}
	if (j != NULL) {
		memcpy(j->body, body, len);
		j->body[len] = '\0';
		j->bodylen = len;
	}
	return j;
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

static long long
num(const cJSON *o, const char *key)
{
	const cJSON	*v = get(o, key);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON	*v = get(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
state_index(const char *s, const char *(*name)(int), int n)
{
	int	 i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(name(i), s) == 0)
			return i;
	return -1;
}

static const char *
jstate(int i)
{
	return job_state_name((enum job_state)i);
}

static const char *
tstate(int i)
{
	return task_state_name((enum task_state)i);
}

/*
 * A job file of the state directory (jsonw.c's json_job_state). A job
 * that still runs is rebuilt from its PUT body, checked again as a PUT
 * is; a finished one from what its status shows. NULL with the reason in
 * err for a file that is not whole or not jobd's.
 */
struct job *
json_load_job(const char *text, size_t len, char *err, size_t errlen)
{
	cJSON		*root;
	const cJSON	*body, *tasks, *x, *socks;
	struct job	*j = NULL;
	struct task	*t;
	struct jerr	 e;
	const char	*name, *es;
	int		 n, i, st;

	err_init(&e);
	if ((root = parse(text, len)) == NULL || !cJSON_IsObject(root) ||
	    num(root, "jobd_state") != 1) {
		snprintf(err, errlen, "not a jobd job state file");
		goto fail;
	}
	name = str(root, "name");
	tasks = get(root, "tasks");
	if (name == NULL || !job_valid_name(name) || !cJSON_IsArray(tasks) ||
	    (n = cJSON_GetArraySize(tasks)) < 1 || n > JOBD_MAX_TASKS ||
	    (st = state_index(str(root, "state"), jstate, JOB_FAILED + 1)) ==
	    -1) {
		snprintf(err, errlen, "a field is missing or wrong");
		goto fail;
	}
	body = get(root, "body");
	if (cJSON_IsObject(body)) {
		if ((j = parse_job(body, name, &e)) == NULL) {
			snprintf(err, errlen, "its job: %s: %s", e.path,
			    e.msg);
			goto fail;
		}
		if ((j->body = cJSON_PrintUnformatted(body)) == NULL)
			goto oom;
		j->bodylen = strlen(j->body);
	} else {
		if ((j = job_new(name)) == NULL ||
		    (j->tasks = calloc((size_t)n, sizeof(*j->tasks))) == NULL)
			goto oom;
		j->ntasks = n;
		for (i = 0; i < n; i++) {
			j->tasks[i].job = j;
			j->tasks[i].index = i;
			j->tasks[i].pidfd = -1;
		}
	}
	if (j->ntasks != n) {
		snprintf(err, errlen, "its body and its tasks disagree");
		goto fail;
	}
	j->state = (enum job_state)st;
	j->cur = (int)num(root, "cur");
	j->created = num(root, "created");
	j->forget = num(root, "forget") != 0;
	if ((x = get(root, "stop_timeout")) != NULL && cJSON_IsNumber(x))
		j->stop_timeout = x->valuedouble;
	if (j->cur < 0 || j->cur >= n) {
		snprintf(err, errlen, "its current task is out of range");
		goto fail;
	}
	i = 0;
	cJSON_ArrayForEach(x, tasks) {
		t = &j->tasks[i++];
		if ((st = state_index(str(x, "state"), tstate, TASK_LOST + 1))
		    == -1) {
			snprintf(err, errlen, "task %d: unknown state", i - 1);
			goto fail;
		}
		t->state = (enum task_state)st;
		if (t->exec == NULL && str(x, "exec") != NULL &&
		    (t->exec = strdup(str(x, "exec"))) == NULL)
			goto oom;
		t->starting = num(x, "starting") != 0;
		t->pid = (pid_t)num(x, "pid");
		t->tick_lo = (uint64_t)num(x, "tick_lo");
		t->tick_hi = (uint64_t)num(x, "tick_hi");
		t->started = num(x, "started");
		t->ended = num(x, "ended");
		t->exit_code = (int)num(x, "exit_code");
		t->signal = (int)num(x, "signal");
		if ((es = str(x, "error")) != NULL &&
		    (t->error = strdup(es)) == NULL)
			goto oom;
	}
	socks = get(root, "socks");
	if (cJSON_IsArray(socks) && (n = cJSON_GetArraySize(socks)) > 0) {
		const char	*addr[JOBD_MAX_TASKS * JOBD_MAX_FDS];
		const char	*path[JOBD_MAX_TASKS * JOBD_MAX_FDS];

		if (n > JOBD_MAX_TASKS * JOBD_MAX_FDS) {
			snprintf(err, errlen, "too many held fds");
			goto fail;
		}
		i = 0;
		cJSON_ArrayForEach(x, socks) {
			addr[i] = str(x, "address");
			path[i++] = str(x, "path");
		}
		if (fd_restore(j, n, addr, path) == -1) {
			snprintf(err, errlen, "its held fds do not match its "
			    "tasks");
			goto fail;
		}
	}
	cJSON_Delete(root);
	return j;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	cJSON_Delete(root);
	job_free(j);
	return NULL;
}

/* daemon.json: how often jobd was restarted, and whether it stopped well. */
int
json_load_daemon(const char *text, size_t len, unsigned *restarts,
    int *clean)
{
	cJSON	*root;

	if ((root = parse(text, len)) == NULL || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -1;
	}
	*restarts = (unsigned)num(root, "restarts");
	*clean = num(root, "clean") != 0;
	cJSON_Delete(root);
	return 0;
}
