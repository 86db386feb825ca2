/*
 * api.c: the resources. A table of routes (method, path pattern,
 * handler), the dispatch that turns an unknown path into 404 and a known
 * path with the wrong method into 405, and one handler per route.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd.h"

#define MAX_SEGMENTS	8

struct args {
	char		*seg[MAX_SEGMENTS];	/* the '*' parts, decoded */
	const char	*at[MAX_SEGMENTS];	/* where they are in the URL */
	size_t		 len[MAX_SEGMENTS];
	int		 nseg;
	char	*query;			/* raw query string or NULL */
};

static void	api_info(struct conn *, struct args *);
static void	api_jobs(struct conn *, struct args *);
static void	api_job_get(struct conn *, struct args *);
static void	api_job_put(struct conn *, struct args *);
static void	api_job_delete(struct conn *, struct args *);
static void	api_job_signal(struct conn *, struct args *);
static void	api_job_sig(struct conn *, struct args *);

static const struct route {
	int		 method;
	const char	*pattern;
	void		(*fn)(struct conn *, struct args *);
} routes[] = {
	{ HTTP_GET,	"/",			api_info },
	{ HTTP_GET,	"/jobs",		api_jobs },
	{ HTTP_GET,	"/job/*",		api_job_get },
	{ HTTP_PUT,	"/job/*",		api_job_put },
	{ HTTP_DELETE,	"/job/*",		api_job_delete },
	{ HTTP_POST,	"/job/*/signal",	api_job_signal },
	{ HTTP_PUT,	"/job/*/sig/*",		api_job_sig },
};

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode len bytes into a new string; NULL if malformed. */
static char *
decode(const char *s, size_t len)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len ||
		    (hi = unhex(s[i + 1])) == -1 ||
		    (lo = unhex(s[i + 2])) == -1 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* Job names: 1-64 of A-Z a-z 0-9 _ . @ -, not starting with . or -. */
int
api_valid_name(const char *s)
{
	size_t	 n;

	if (s[0] == '.' || s[0] == '-')
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '_' || s[n] == '.' || s[n] == '@' || s[n] == '-'))
			return 0;
	}
	return n >= 1 && n <= JOBD_NAME_MAX;
}

/*
 * Match a path against a pattern segment by segment; '*' takes one whole
 * non-empty segment, whose place is kept in a->at for decoding (so an
 * encoded slash stays inside its segment).
 */
static int
match(const char *pattern, const char *path, size_t len, struct args *a)
{
	const char	*p = path, *end = path + len, *slash, *q = pattern;
	size_t		 seglen, plen;

	a->nseg = 0;
	if (strcmp(pattern, "/") == 0)
		return len == 1 && *path == '/';
	while (*q != '\0') {
		if (*q != '/' || p >= end || *p != '/')
			return 0;
		q++;
		p++;
		slash = memchr(p, '/', (size_t)(end - p));
		seglen = slash ? (size_t)(slash - p) : (size_t)(end - p);
		plen = strcspn(q, "/");
		if (plen == 1 && *q == '*') {
			/* An empty segment is an empty name: 400, not 404. */
			if (a->nseg >= MAX_SEGMENTS)
				return 0;
			a->at[a->nseg] = p;
			a->len[a->nseg++] = seglen;
		} else if (plen != seglen || memcmp(q, p, seglen) != 0)
			return 0;
		q += plen;
		p += seglen;
	}
	return p == end;
}

static void
args_free(struct args *a)
{
	int	 i;

	for (i = 0; i < a->nseg; i++)
		free(a->seg[i]);
	free(a->query);
}

static void
respond_json(struct conn *c, int status, const char *headers, char *body)
{
	if (body == NULL) {
		http_error(c, 500, NULL, "out of memory");
		return;
	}
	http_respond(c, status, headers, body, strlen(body));
	free(body);
}

static void
respond_job(struct conn *c, int status, const struct job *j)
{
	respond_json(c, status, NULL, json_job(j));
}

/*
 * --allow-uid: a client on a unix socket must be jobd's own user or one
 * listed; a client without credentials (TCP) cannot prove it is.
 */
int
api_peer_allowed(const struct conn *c)
{
	size_t	 i;

	if (conf.nallow_uids == 0)
		return 1;
	if (!c->has_cred)
		return 0;
	if (c->uid == geteuid())
		return 1;
	for (i = 0; i < conf.nallow_uids; i++)
		if (conf.allow_uids[i] == c->uid)
			return 1;
	return 0;
}

void
api_dispatch(struct conn *c)
{
	struct request		*r = &c->req;
	struct http_parser_url	 u;
	const struct route	*rt, *found = NULL;
	struct args		 a;
	const char		*path;
	size_t			 len, i;
	int			 method, k;

	memset(&a, 0, sizeof(a));
	r->allow[0] = '\0';
	if (!api_peer_allowed(c)) {
		log_warnx("refused %s: not an --allow-uid client", c->peer);
		r->keepalive = 0;
		http_error(c, 403, NULL, "this client may not use jobd "
		    "(--allow-uid)");
		return;
	}
	http_parser_url_init(&u);
	if (r->url == NULL ||
	    http_parser_parse_url(r->url, r->urllen, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH))) {
		http_error(c, 400, NULL, "invalid request URI");
		return;
	}
	path = r->url + u.field_data[UF_PATH].off;
	len = u.field_data[UF_PATH].len;
	method = r->method == HTTP_HEAD ? HTTP_GET : r->method;
	for (i = 0; i < nitems(routes) && found == NULL; i++)
		if (routes[i].method == method &&
		    match(routes[i].pattern, path, len, &a))
			found = &routes[i];
	if (found == NULL) {
		/* A known path with another method is 405, with Allow. */
		for (i = 0; i < nitems(routes); i++) {
			rt = &routes[i];
			if (!match(rt->pattern, path, len, &a))
				continue;
			k = (int)strlen(r->allow);
			snprintf(r->allow + k, sizeof(r->allow) - (size_t)k,
			    "%s%s%s", k ? ", " : "Allow: ",
			    http_method_str(rt->method),
			    rt->method == HTTP_GET ? ", HEAD" : "");
		}
		if (r->allow[0] == '\0') {
			http_error(c, 404, NULL, "no such resource: %.*s",
			    (int)(len > 200 ? 200 : len), path);
			return;
		}
		k = (int)strlen(r->allow);
		snprintf(r->allow + k, sizeof(r->allow) - (size_t)k, "\r\n");
		http_error(c, 405, NULL, "method %s is not allowed here",
		    http_method_str(r->method));
		return;
	}
	/* Decode the segments the winning route captured. */
	for (k = 0; k < a.nseg; k++) {
		if ((a.seg[k] = decode(a.at[k], a.len[k])) == NULL) {
			a.nseg = k;
			args_free(&a);
			http_error(c, 400, NULL, "malformed percent-encoding "
			    "in the path");
			return;
		}
	}
	if ((u.field_set & (1 << UF_QUERY)) &&
	    (a.query = decode(r->url + u.field_data[UF_QUERY].off,
	    u.field_data[UF_QUERY].len)) == NULL) {
		args_free(&a);
		http_error(c, 400, NULL, "malformed percent-encoding in the "
		    "query");
		return;
	}
	found->fn(c, &a);
	args_free(&a);
}

/*
 * The query: only "wait" is known, and only where named. Returns -1
 * after answering 400 for anything else.
 */
static int
query_wait(struct conn *c, struct args *a, int allowed, double *wait)
{
	char	*end;

	*wait = 0;
	if (a->query == NULL || a->query[0] == '\0')
		return 0;
	if (!allowed || strncmp(a->query, "wait=", 5) != 0) {
		http_error(c, 400, NULL, "unknown query \"%.64s\"%s", a->query,
		    allowed ? ": only wait=SECONDS is known" : "");
		return -1;
	}
	errno = 0;
	*wait = strtod(a->query + 5, &end);
	if (errno != 0 || end == a->query + 5 || *end != '\0' ||
	    !isfinite(*wait) || *wait < 0 || *wait > JOBD_WAIT_MAX) {
		http_error(c, 400, NULL, "wait must be a number of seconds "
		    "from 0 to %.0f", JOBD_WAIT_MAX);
		return -1;
	}
	return 0;
}

/* The job named by the first segment, or NULL after answering. */
static struct job *
named_job(struct conn *c, struct args *a, int must_exist)
{
	struct job	*j;

	if (!api_valid_name(a->seg[0])) {
		http_error(c, 400, NULL, "invalid job name: a name has 1 to "
		    "64 characters of A-Z a-z 0-9 _ . @ -, and does not start "
		    "with . or -");
		return NULL;
	}
	if ((j = job_find(a->seg[0])) == NULL && must_exist)
		http_error(c, 404, NULL, "no such job: %s", a->seg[0]);
	return j;
}

static int
no_query(struct conn *c, struct args *a)
{
	double	 w;

	return query_wait(c, a, 0, &w);
}

static void
api_info(struct conn *c, struct args *a)
{
	if (no_query(c, a) == -1)
		return;
	respond_json(c, 200, NULL, json_info(ev_time() - started));
}

static void
api_jobs(struct conn *c, struct args *a)
{
	struct job	**v;
	size_t		  n;

	if (no_query(c, a) == -1)
		return;
	n = job_list(&v);
	if (v == NULL) {
		http_error(c, 500, NULL, "out of memory");
		return;
	}
	respond_json(c, 200, NULL, json_jobs(v, n));
	free(v);
}

static void
api_job_get(struct conn *c, struct args *a)
{
	struct job	*j;
	double		 wait;

	if ((j = named_job(c, a, 1)) == NULL ||
	    query_wait(c, a, 1, &wait) == -1)
		return;
	if (wait > 0 && job_active(j)) {
		c->deferred = 1;
		c->waitjob = j;
		LIST_INSERT_HEAD(&j->waiters, c, wentry);
		c->wait_until = ev_now(loop) + wait;
		conn_set_deadline(c, c->wait_until);
		return;
	}
	respond_job(c, 200, j);
}

static void
api_job_put(struct conn *c, struct args *a)
{
	struct job	*old, *j;
	struct jerr	 e;
	char		 loc[128];
	int		 replaced;

	memset(&e, 0, sizeof(e));
	if ((old = named_job(c, a, 0)) == NULL && !api_valid_name(a->seg[0]))
		return;
	if (no_query(c, a) == -1)
		return;
	if (shutting_down) {
		http_error(c, 503, NULL, "jobd is shutting down");
		return;
	}
	if (old != NULL && job_active(old)) {
		http_error(c, 409, NULL, "job %s is %s: stop it (DELETE) "
		    "before replacing it", old->name,
		    job_state_name(old->state));
		return;
	}
	if (conf.max_jobs > 0 && job_unfinished() >= conf.max_jobs) {
		http_error(c, 503, NULL, "too many jobs running (--max-jobs "
		    "%u)", conf.max_jobs);
		return;
	}
	if ((j = json_parse_job(c->req.body.data, c->req.body.len, a->seg[0],
	    &e)) == NULL || job_prepare(j, &e) == -1) {
		job_free(j);
		http_error(c, e.status, e.path, "%s", e.msg);
		return;
	}
	replaced = old != NULL;
	if (old != NULL)
		job_remove(old);
	job_insert(j);
	if (job_start(j, &e) == -1) {
		http_error(c, e.status, e.path, "%s", e.msg);
		return;
	}
	snprintf(loc, sizeof(loc), "Location: /job/%s\r\n", j->name);
	respond_json(c, replaced ? 200 : 201, loc, json_job(j));
}

static void
api_job_delete(struct conn *c, struct args *a)
{
	struct job	*j;
	char		*body;

	if ((j = named_job(c, a, 1)) == NULL || no_query(c, a) == -1)
		return;
	if (!job_active(j)) {
		body = json_job(j);
		job_remove(j);
		respond_json(c, 200, NULL, body);
		return;
	}
	job_stop(j);
	respond_job(c, 202, j);
}

static void
signal_job(struct conn *c, struct job *j, int sig)
{
	if (job_signal(j, sig) == -1) {
		if (errno == ESRCH)
			http_error(c, 409, NULL, "job %s has no running task",
			    j->name);
		else
			http_error(c, 500, NULL, "kill: %s", strerror(errno));
		return;
	}
	respond_job(c, 200, j);
}

static void
api_job_signal(struct conn *c, struct args *a)
{
	struct job	*j;
	struct jerr	 e;
	int		 sig;

	if ((j = named_job(c, a, 1)) == NULL || no_query(c, a) == -1)
		return;
	if (json_parse_signal(c->req.body.data, c->req.body.len, &sig,
	    &e) == -1) {
		http_error(c, e.status, e.path, "%s", e.msg);
		return;
	}
	signal_job(c, j, sig);
}

static void
api_job_sig(struct conn *c, struct args *a)
{
	struct job	*j;
	int		 sig;

	if ((j = named_job(c, a, 1)) == NULL || no_query(c, a) == -1)
		return;
	if ((sig = sig_parse(a->seg[1])) == -1) {
		http_error(c, 400, NULL, "unknown signal \"%.32s\"", a->seg[1]);
		return;
	}
	signal_job(c, j, sig);
}

/* The job has ended: every ?wait= on it is answered now. */
void
api_job_ended(struct job *j)
{
	struct conn	*c;

	while ((c = LIST_FIRST(&j->waiters)) != NULL)
		api_wait_timeout(c);
}

/* Answer a ?wait= request with the job as it is; reading resumes later. */
void
api_wait_timeout(struct conn *c)
{
	struct job	*j = c->waitjob;

	api_wait_cancel(c);
	c->deferred = 0;
	respond_job(c, 200, j);
	conn_resume(c);
}

void
api_wait_cancel(struct conn *c)
{
	if (c->waitjob == NULL)
		return;
	LIST_REMOVE(c, wentry);
	c->waitjob = NULL;
}
