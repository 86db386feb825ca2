/*
 * api.c: the resources. A table of routes (method, path pattern,
 * handler), the dispatch that turns an unknown path into 404 and a known
 * path with the wrong method into 405, and one handler per route.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd.h"

#define MAX_SEGMENTS	8

#define MAX_PARAMS	16

struct param {
	char		*key;		/* decoded */
	char		*value;		/* decoded; "" when no '=' */
};

struct args {
	char		*seg[MAX_SEGMENTS];	/* the '*' parts, decoded */
	const char	*at[MAX_SEGMENTS];	/* where they are in the URL */
	size_t		 len[MAX_SEGMENTS];
	int		 nseg;
	const char	*query;			/* raw query string or NULL */
	size_t		 querylen;
	struct param	 params[MAX_PARAMS];
	int		 nparams;
};

/* A ?wait= answer held on a connection until its job ends. */
struct waiter {
	struct job_watch	 watch;
	struct job		*job;
	struct conn		*c;
	int			 status;
	int			 put;		/* answer with a Location */
};

static void	api_info(struct conn *, struct args *);
static void	api_jobs(struct conn *, struct args *);
static void	api_job_get(struct conn *, struct args *);
static void	api_job_put(struct conn *, struct args *);
static void	api_job_delete(struct conn *, struct args *);
static void	api_job_signal(struct conn *, struct args *);
static void	api_job_sig(struct conn *, struct args *);
static void	api_reexec(struct conn *, struct args *);
static void	api_job_log(struct conn *, struct args *);
static void	api_events(struct conn *, struct args *);
struct logreader;
static void	log_pump(struct logreader *);
static void	log_free(struct logreader *);
static void	log_expired(struct conn *, void *);
static void	log_cancelled(struct conn *, void *);
static void	log_drain(struct conn *, void *);
static void	pump_later(struct logreader *);
static void	api_metrics(struct conn *, struct args *);

/* A GET /job/:name/log answer, streamed as the log is read. */
struct logreader {
	struct log_waiter	 w;
	struct conn		*c;
	void			(*fmt)(const struct logrec *, void *);
	int			 events;	/* GET /events, not a log */
	char			*jobs[MAX_PARAMS];	/* events: job= */
	int			 njobs;
	LIST_ENTRY(logreader)	 entry;		/* events: followers */
	TAILQ_ENTRY(logreader)	 qentry;	/* waiting for its turn */
	int			 queued;
	struct job		*job;
	int			 follow;
	int			 raw;
	int			 task;		/* -1: every task */
	char			 stream[33];	/* "": every stream */
	uint64_t		 skip;		/* tail: records to pass */
	struct buf		 b;
};

#define LOG_OUT_HIGH	(32 * 1024)	/* stop reading while this waits */

static LIST_HEAD(, logreader)	 followers = LIST_HEAD_INITIALIZER(followers);

/*
 * Readers share PUMP_TURN bytes of records a loop iteration, PUMP_CHUNK
 * at a time, in turn: a hundred followers cost the tasks that write the
 * logs a bounded share of jobd, and those that cannot keep up fall
 * behind (a gap), never the writers. Those left over go first next time.
 */
#define PUMP_TURN	(1024 * 1024)
#define PUMP_CHUNK	(64 * 1024)
static TAILQ_HEAD(, logreader)	 pumpq = TAILQ_HEAD_INITIALIZER(pumpq);
static size_t			 pump_budget = PUMP_TURN;
static ev_idle			 pump_idle;
static ev_timer			 heartbeat;

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
	{ HTTP_GET,	"/job/*/log",		api_job_log },
	{ HTTP_GET,	"/events",		api_events },
	{ HTTP_GET,	"/metrics",		api_metrics },
	{ HTTP_POST,	"/daemon/reexec",	api_reexec },
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

/* Why decode() refused: a malformed escape, or a well-formed %00. */
static const char *
decode_error(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i + 2 < len; i++)
		if (s[i] == '%' && unhex(s[i + 1]) != -1 &&
		    unhex(s[i + 2]) != -1 && unhex(s[i + 1]) == 0 &&
		    unhex(s[i + 2]) == 0)
			return "NUL (%00) is not allowed";
	return "malformed percent-encoding";
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
	for (i = 0; i < a->nparams; i++) {
		free(a->params[i].key);
		free(a->params[i].value);
	}
}

/* Every error answer of a failed job check, from its error report. */
static void
respond_err(struct conn *c, const struct jerr *e)
{
	char	 path[sizeof(e->path)], text[sizeof(e->msg) + sizeof(path)];

	err_path(e, path, sizeof(path));
	err_text(e, text, sizeof(text));
	/* "" names the body itself. */
	http_error(c, e->status, NULL, path, "%s", text);
}

static void
respond_json(struct conn *c, int status, const char *headers, char *body)
{
	if (body == NULL) {
		http_error(c, 500, NULL, NULL, "out of memory");
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
	char			 allow[128];
	size_t			 len, i;
	int			 method, k;

	memset(&a, 0, sizeof(a));
	if (!api_peer_allowed(c)) {
		log_warnx("refused %s: not an --allow-uid client", c->peer);
		r->keepalive = 0;
		http_error(c, 403, NULL, NULL, "this client may not use jobd "
		    "(--allow-uid)");
		return;
	}
	http_parser_url_init(&u);
	if (r->url == NULL ||
	    http_parser_parse_url(r->url, r->urllen, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH))) {
		http_error(c, 400, NULL, NULL, "invalid request URI");
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
		k = 0;
		for (i = 0; i < nitems(routes); i++) {
			rt = &routes[i];
			if (!match(rt->pattern, path, len, &a))
				continue;
			k += snprintf(allow + k, sizeof(allow) - (size_t)k,
			    "%s%s%s", k ? ", " : "Allow: ",
			    http_method_str(rt->method),
			    rt->method == HTTP_GET ? ", HEAD" : "");
		}
		if (k == 0) {
			http_error(c, 404, NULL, NULL, "no such resource: "
			    "%.*s", (int)(len > 200 ? 200 : len), path);
			return;
		}
		snprintf(allow + k, sizeof(allow) - (size_t)k, "\r\n");
		http_error(c, 405, allow, NULL, "method %s is not allowed "
		    "here", http_method_str(r->method));
		return;
	}
	/* Decode the segments the winning route captured. */
	for (k = 0; k < a.nseg; k++) {
		if ((a.seg[k] = decode(a.at[k], a.len[k])) == NULL) {
			a.nseg = k;
			args_free(&a);
			http_error(c, 400, NULL, NULL, "%s in the path",
			    decode_error(a.at[k], a.len[k]));
			return;
		}
	}
	if (u.field_set & (1 << UF_QUERY)) {
		a.query = r->url + u.field_data[UF_QUERY].off;
		a.querylen = u.field_data[UF_QUERY].len;
	}
	found->fn(c, &a);
	args_free(&a);
}

/*
 * The query string, split at '&' and each part decoded: every key must
 * be one the route knows (known, NULL-terminated), whatever the order.
 * Returns -1 after answering 400.
 */
static int
query_parse(struct conn *c, struct args *a, const char *const *known)
{
	const char	*p, *end, *amp, *eq;
	struct param	*pr;
	size_t		 i;

	if (a->query == NULL)
		return 0;
	for (p = a->query, end = p + a->querylen; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;
		if (a->nparams == MAX_PARAMS) {
			http_error(c, 400, NULL, NULL, "at most %d query "
			    "parameters", MAX_PARAMS);
			return -1;
		}
		pr = &a->params[a->nparams];
		eq = memchr(p, '=', (size_t)(amp - p));
		if ((pr->key = decode(p, (size_t)((eq ? eq : amp) - p))) ==
		    NULL || (pr->value = eq ? decode(eq + 1,
		    (size_t)(amp - eq - 1)) : strdup("")) == NULL) {
			free(pr->key);
			pr->key = NULL;
			http_error(c, 400, NULL, NULL, "%s in the query",
			    decode_error(p, (size_t)(amp - p)));
			return -1;
		}
		a->nparams++;
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(known[i], pr->key) == 0)
				break;
		if (known[i] == NULL) {
			http_error(c, 400, NULL, NULL, "unknown query "
			    "parameter \"%.64s\"%s%s", pr->key,
			    known[0] != NULL ? ": known here: " : "",
			    known[0] != NULL ? known[0] : "");
			return -1;
		}
	}
	return 0;
}

static const char *
query_get(const struct args *a, const char *key)
{
	int	 i;

	for (i = a->nparams - 1; i >= 0; i--)
		if (strcmp(a->params[i].key, key) == 0)
			return a->params[i].value;
	return NULL;
}

/* wait=SECONDS: decimal digits with an optional fraction, at most a day. */
static int
query_wait(struct conn *c, const struct args *a, double *wait)
{
	const char	*v, *p;
	int		 dot = 0, digits = 0;

	*wait = 0;
	if ((v = query_get(a, "wait")) == NULL)
		return 0;
	for (p = v; *p != '\0'; p++) {
		if (*p == '.' && !dot && digits > 0)
			dot = 1;
		else if (*p >= '0' && *p <= '9')
			digits++;
		else
			break;
	}
	if (*p != '\0' || digits == 0 || p[-1] == '.' ||
	    (*wait = strtod(v, NULL)) > JOBD_WAIT_MAX) {
		http_error(c, 400, NULL, NULL, "wait must be a number of "
		    "seconds from 0 to %.0f, not \"%.32s\"", JOBD_WAIT_MAX, v);
		return -1;
	}
	return 0;
}

static const char *const no_params[] = { NULL };
static const char *const wait_params[] = { "wait", NULL };

/* The job named by the first segment, or NULL after answering. */
static struct job *
named_job(struct conn *c, struct args *a, int must_exist)
{
	struct job	*j;

	if (!job_valid_name(a->seg[0])) {
		http_error(c, 400, NULL, NULL, "invalid job name: a name has "
		    "1 to 64 characters of A-Z a-z 0-9 _ . @ -, and does not "
		    "start with . or -");
		return NULL;
	}
	if ((j = job_find(a->seg[0])) == NULL && must_exist)
		http_error(c, 404, NULL, NULL, "no such job: %s", a->seg[0]);
	return j;
}

static void
api_info(struct conn *c, struct args *a)
{
	if (query_parse(c, a, no_params) == -1)
		return;
	respond_json(c, 200, NULL, json_info(ev_time() - started));
}

static void
api_jobs(struct conn *c, struct args *a)
{
	struct job	**v;
	size_t		  n;
	char		  seq[48];

	if (query_parse(c, a, no_params) == -1)
		return;
	n = job_list(&v);
	if (v == NULL) {
		http_error(c, 500, NULL, NULL, "out of memory");
		return;
	}
	/*
	 * The events up to this one are in the list: follow from it. They
	 * are written first, so that a jobd killed now cannot give their
	 * seqs to others.
	 */
	events_flush();
	snprintf(seq, sizeof(seq), "X-Jobd-Seq: %llu\r\n",
	    (unsigned long long)events_seq());
	respond_json(c, 200, seq, json_jobs(v, n));
	free(v);
}

static void
respond_put(struct conn *c, int status, const struct job *j, int put)
{
	char	 loc[128];

	snprintf(loc, sizeof(loc), "Location: /job/%s\r\n", j->name);
	respond_json(c, status, put ? loc : NULL, json_job(j));
}

/* The job ended: the held answer goes out now. */
static void
wait_ended(struct job *j, void *arg)
{
	struct waiter	*w = arg;

	conn_undefer(w->c);
	respond_put(w->c, w->status, j, w->put);
	free(w);
}

/* The time passed: the job as it is. */
static void
wait_expired(struct conn *c, void *arg)
{
	struct waiter	*w = arg;

	job_unwatch(&w->watch);
	respond_put(c, w->status, w->job, w->put);
	free(w);
}

/* The client left first. */
static void
wait_cancelled(struct conn *c, void *arg)
{
	struct waiter	*w = arg;

	job_unwatch(&w->watch);
	free(w);
}

/*
 * Answer status with the job once it has ended or after wait seconds:
 * at once if it is not running or stopping.
 */
static void
respond_job_wait(struct conn *c, int status, struct job *j, double wait,
    int put)
{
	struct waiter	*w;

	if (wait <= 0 || !job_active(j) ||
	    (w = calloc(1, sizeof(*w))) == NULL) {
		respond_put(c, status, j, put);
		return;
	}
	w->job = j;
	w->c = c;
	w->status = status;
	w->put = put;
	job_watch(j, &w->watch, wait_ended, w);
	conn_defer(c, ev_now(loop) + wait, wait_expired, wait_cancelled, w);
}

static void
api_job_get(struct conn *c, struct args *a)
{
	struct job	*j;
	double		 wait;

	if (query_parse(c, a, wait_params) == -1 ||
	    query_wait(c, a, &wait) == -1 ||
	    (j = named_job(c, a, 1)) == NULL)
		return;
	respond_job_wait(c, 200, j, wait, 0);
}

static void
api_job_put(struct conn *c, struct args *a)
{
	struct job	*old, *j;
	struct jerr	 e;
	double		 wait;
	int		 replaced;

	err_init(&e);
	if (query_parse(c, a, wait_params) == -1 ||
	    query_wait(c, a, &wait) == -1)
		return;
	if ((old = named_job(c, a, 0)) == NULL && !job_valid_name(a->seg[0]))
		return;
	if (shutting_down) {
		http_error(c, 503, NULL, NULL, "jobd is shutting down");
		return;
	}
	if (old != NULL && job_active(old)) {
		http_error(c, 409, NULL, NULL, "job %s is %s: stop it (DELETE) "
		    "before replacing it", old->name,
		    job_state_name(old->state));
		return;
	}
	if (conf.max_jobs > 0 && job_unfinished() >= conf.max_jobs) {
		http_error(c, 503, NULL, NULL, "too many jobs running "
		    "(--max-jobs %u)", conf.max_jobs);
		return;
	}
	if ((j = json_parse_job(c->req.body.data, c->req.body.len, a->seg[0],
	    &e)) == NULL || job_prepare(j, &e) == -1) {
		job_free(j);
		respond_err(c, &e);
		return;
	}
	replaced = old != NULL;
	if (old != NULL)
		job_remove(old);
	job_insert(j);
	if (job_start(j, &e) == -1) {
		respond_err(c, &e);
		return;
	}
	respond_job_wait(c, replaced ? 200 : 201, j, wait, 1);
}

static void
api_job_delete(struct conn *c, struct args *a)
{
	struct job	*j;
	char		*body;

	if (query_parse(c, a, no_params) == -1 ||
	    (j = named_job(c, a, 1)) == NULL)
		return;
	if (!job_active(j)) {
		body = json_job(j);
		job_delete(j);
		respond_json(c, 200, NULL, body);
		return;
	}
	job_delete(j);
	respond_job(c, 202, j);
}

static void
signal_job(struct conn *c, struct job *j, int sig)
{
	if (job_signal(j, sig) == -1) {
		if (errno == ESRCH)
			http_error(c, 409, NULL, NULL, "job %s has no running "
			    "task", j->name);
		else
			http_error(c, 500, NULL, NULL, "kill: %s",
			    strerror(errno));
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

	if (query_parse(c, a, no_params) == -1 ||
	    (j = named_job(c, a, 1)) == NULL)
		return;
	if (json_parse_signal(c->req.body.data, c->req.body.len, &sig,
	    &e) == -1) {
		respond_err(c, &e);
		return;
	}
	signal_job(c, j, sig);
}

static void
api_job_sig(struct conn *c, struct args *a)
{
	struct job	*j;
	int		 sig;

	if (query_parse(c, a, no_params) == -1 ||
	    (j = named_job(c, a, 1)) == NULL)
		return;
	if ((sig = sig_parse(a->seg[1])) == -1) {
		http_error(c, 400, NULL, NULL, "unknown signal \"%.32s\"",
		    a->seg[1]);
		return;
	}
	signal_job(c, j, sig);
}

/* Live upgrade: jobd execs its binary again, keeping jobs and sockets. */
static void
api_reexec(struct conn *c, struct args *a)
{
	char	 body[PATH_MAX + 128];

	if (query_parse(c, a, no_params) == -1)
		return;
	if (daemon_reexec() == -1) {
		http_error(c, 500, NULL, NULL, "cannot re-exec %s: %s",
		    daemon_self(), strerror(errno));
		return;
	}
	c->req.keepalive = 0;
	snprintf(body, sizeof(body), "{\"reexec\":true,\"pid\":%ld,"
	    "\"path\":\"%s\"}", (long)getpid(), daemon_self());
	http_respond(c, 202, NULL, body, strlen(body));
}

/* Stream r's records: now, then as they come. */
static void
reader_go(struct conn *c, struct logreader *r, const char *ctype)
{
	http_stream_begin(c, ctype);
	if (c->req.head) {
		http_stream_end(c);
		log_free(r);
		return;
	}
	conn_defer(c, ev_now(loop) + 1e9, log_expired, log_cancelled, r);
	conn_on_drain(c, log_drain);
	log_pump(r);
}

/* {"gap":[from,to]}: records the reader will never get. */
static void
gap_line(struct buf *b, const struct logrec *lr)
{
	buf_add(b, "{\"gap\":[", 8);
	w_int(b, (long long)lr->gap_from);
	buf_add(b, ",", 1);
	w_int(b, (long long)lr->gap_to);
	buf_add(b, "]}\n", 3);
}

/* A record's line begins {"seq":N,"time":"..." */
static void
rec_head(struct buf *b, const struct logrec *lr)
{
	buf_add(b, "{\"seq\":", 7);
	w_int(b, (long long)lr->seq);
	w_key(b, "time", 0);
	w_time(b, lr->time);
}

/* One record for the reader, in its format, unless it filters it out. */
static void
log_rec(const struct logrec *lr, void *arg)
{
	struct logreader	*r = arg;
	struct buf		*b = &r->b;
	size_t			 mark;
	int			 start;

	if (lr->seq == 0) {
		if (r->raw)
			return;
		gap_line(b, lr);
		return;
	}
	if (r->task >= 0 && lr->task != r->task)
		return;
	start = lr->flags & RLOG_START;
	if (!start && r->stream[0] != '\0' &&
	    strcmp(lr->name, r->stream) != 0)
		return;
	if (!start && r->skip > 0) {
		r->skip--;
		return;
	}
	if (r->skip > 0 || (r->raw && start))
		return;
	if (r->raw) {
		buf_add(b, lr->data, lr->len);
		return;
	}
	rec_head(b, lr);
	w_key(b, "task", 0);
	w_int(b, lr->task);
	if (start) {
		w_key(b, "started", 0);
		w_int(b, lr->aux);
	} else {
		w_key(b, "stream", 0);
		w_str(b, lr->name);
		mark = b->len;
		w_key(b, "data", 0);
		if (w_strn(b, lr->data, lr->len) == -1) {
			b->len = mark;
			w_key(b, "data_b64", 0);
			w_b64(b, lr->data, lr->len);
		}
		if (lr->flags & RLOG_PARTIAL)
			buf_add(b, ",\"partial\":true", 15);
	}
	buf_add(b, "}\n", 2);
}

/* The records a tail counts: the output the filters let through. */
static void
log_count(const struct logrec *lr, void *arg)
{
	struct logreader	*r = arg;

	if (lr->seq != 0 && !(lr->flags & RLOG_START) &&
	    (r->task < 0 || lr->task == r->task) &&
	    (r->stream[0] == '\0' || strcmp(lr->name, r->stream) == 0))
		r->skip++;
}

static void
log_free(struct logreader *r)
{
	int	 i;

	if (r->queued)
		TAILQ_REMOVE(&pumpq, r, qentry);
	if (r->events) {
		events_reader_stop(&r->w);
		if (r->follow)
			LIST_REMOVE(r, entry);
		for (i = 0; i < r->njobs; i++)
			free(r->jobs[i]);
	} else
		log_reader_done(&r->w);
	buf_free(&r->b);
	free(r);
}

/*
 * Read on while the client keeps up; once caught up, wait for more if
 * following a job that runs, else end (with the end record, following).
 */
static void
log_pump(struct logreader *r)
{
	struct conn	*c = r->c;
	size_t		 n;

	do {
		if (c->out.len - c->out.off >= LOG_OUT_HIGH) {
			/*
			 * What is left unsent brings log_drain back; if all
			 * went (or the client left), nothing would.
			 */
			conn_flush(c);
			if (c->dead || c->out.len > c->out.off)
				return;
		}
		if (pump_budget == 0) {
			/* This turn's share is spent: on at the next. */
			pump_later(r);
			conn_flush(c);
			return;
		}
		r->b.len = 0;
		n = log_read(&r->w, pump_budget < PUMP_CHUNK ? pump_budget :
		    PUMP_CHUNK, r->fmt, r);
		pump_budget -= n < pump_budget ? n : pump_budget;
		http_chunk(c, r->b.data, r->b.len);
		buf_consume(&r->b, r->b.len);
	} while (n > 0);
	if (r->follow && log_live(&r->w)) {
		conn_flush(c);
		return;
	}
	if (r->follow && !r->raw && !r->events) {
		r->b.len = 0;
		buf_add(&r->b, "{\"end\":true,\"state\":", 20);
		/* A log closed under it: its job is gone. */
		if (r->w.rl != NULL)
			w_str(&r->b, job_state_name(r->job->state));
		else
			w_null(&r->b);
		buf_add(&r->b, "}\n", 2);
		http_chunk(c, r->b.data, r->b.len);
	}
	http_stream_end(c);
	conn_undefer(c);
	log_free(r);
	conn_flush(c);
}

static void
pump_idle_cb(struct ev_loop *l, ev_idle *w, int revents)
{
	/* Only there so that the loop does not sleep while readers wait. */
}

static void
pump_later(struct logreader *r)
{
	if (r->queued)
		return;
	r->queued = 1;
	TAILQ_INSERT_TAIL(&pumpq, r, qentry);
	if (!ev_is_active(&pump_idle)) {
		ev_idle_init(&pump_idle, pump_idle_cb);
		ev_idle_start(loop, &pump_idle);
	}
}

/* Once a loop iteration: a new share, and the readers left waiting. */
void
api_prepare(void)
{
	struct logreader	*r;

	pump_budget = PUMP_TURN;
	while (pump_budget > 0 && (r = TAILQ_FIRST(&pumpq)) != NULL) {
		TAILQ_REMOVE(&pumpq, r, qentry);
		r->queued = 0;
		log_pump(r);
	}
	if (TAILQ_EMPTY(&pumpq) && ev_is_active(&pump_idle))
		ev_idle_stop(loop, &pump_idle);
	pump_budget = PUMP_TURN;
}

static void
log_wake(void *arg)
{
	log_pump(arg);
}

static void
log_drain(struct conn *c, void *arg)
{
	log_pump(arg);
}

static void
log_expired(struct conn *c, void *arg)
{
	log_free(arg);
	conn_close(c);
}

static void
log_cancelled(struct conn *c, void *arg)
{
	log_free(arg);
}

/* A query value that is a whole number up to max, or -1 after a 400. */
static int
query_uint(struct conn *c, const struct args *a, const char *key,
    uint64_t max, uint64_t *out)
{
	const char		*v, *p;
	unsigned long long	 n = 0;

	if ((v = query_get(a, key)) == NULL)
		return 0;
	for (p = v; *p >= '0' && *p <= '9' && n <= max; p++) {
		if (n > (ULLONG_MAX - 9) / 10)
			break;
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	if (p == v || *p != '\0' || n > max) {
		http_error(c, 400, NULL, NULL, "%s must be a whole number "
		    "from 0 to %llu, not \"%.32s\"", key,
		    (unsigned long long)max, v);
		return -1;
	}
	*out = n;
	return 1;
}

/* A query flag: 1 or true, 0 or false; -1 after a 400. */
static int
query_bool(struct conn *c, const struct args *a, const char *key, int *out)
{
	const char	*v;

	*out = 0;
	if ((v = query_get(a, key)) == NULL)
		return 0;
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "0") != 0 && strcmp(v, "false") != 0) {
		http_error(c, 400, NULL, NULL, "%s must be 1 or 0, not "
		    "\"%.32s\"", key, v);
		return -1;
	}
	return 0;
}

static const char *const log_params[] = { "follow", "since", "tail", "task",
    "stream", "format", NULL };

/*
 * GET /job/:name/log: the records of the job's log, as ndjson or raw
 * bytes, from since (or the last tail), for one task or stream; with
 * follow, on until the job ends.
 */
static void
api_job_log(struct conn *c, struct args *a)
{
	struct logreader	*r;
	struct job		*j;
	const char		*v;
	uint64_t		 since = 0, tail = 0, task = 0, start;
	int			 hastail, hastask, follow = 0, raw = 0;

	if (query_parse(c, a, log_params) == -1 ||
	    query_uint(c, a, "since", (uint64_t)INT64_MAX, &since) == -1 ||
	    (hastail = query_uint(c, a, "tail", (uint64_t)INT64_MAX,
	    &tail)) == -1 ||
	    (hastask = query_uint(c, a, "task", JOBD_MAX_TASKS - 1,
	    &task)) == -1)
		return;
	if (query_bool(c, a, "follow", &follow) == -1)
		return;
	if ((v = query_get(a, "format")) != NULL) {
		if (strcmp(v, "raw") == 0)
			raw = 1;
		else if (strcmp(v, "ndjson") != 0) {
			http_error(c, 400, NULL, NULL, "format must be ndjson "
			    "or raw, not \"%.32s\"", v);
			return;
		}
	}
	if ((v = query_get(a, "stream")) != NULL) {
		if (!log_stream_valid(v)) {
			http_error(c, 400, NULL, NULL, "stream must be 1 to 32 "
			    "of A-Z a-z 0-9 _ - ., not \"%.32s\"", v);
			return;
		}
	}
	if ((j = named_job(c, a, 1)) == NULL)
		return;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    log_reader_start(j, &r->w, since, log_wake, r) == -1) {
		free(r);
		http_error(c, 500, NULL, NULL, "out of memory");
		return;
	}
	r->c = c;
	r->fmt = log_rec;
	r->job = j;
	r->follow = follow;
	r->raw = raw;
	r->task = hastask ? (int)task : -1;
	if ((v = query_get(a, "stream")) != NULL)
		snprintf(r->stream, sizeof(r->stream), "%s", v);
	if (hastail) {
		/* Count what the filters let through, then pass all but N. */
		start = r->w.next;
		while (log_read(&r->w, SIZE_MAX, log_count, r) > 0)
			;
		r->skip = r->skip > tail ? r->skip - tail : 0;
		r->w.next = start;
		r->w.seg = 0;
		r->w.off = 0;
	}
	reader_go(c, r, raw ? "application/octet-stream" :
	    "application/x-ndjson");
}

/* An event, as a line: seq and time, then its fields; or a gap. */
static void
event_rec(const struct logrec *lr, void *arg)
{
	struct logreader	*r = arg;
	struct buf		*b = &r->b;
	int			 i;

	if (lr->seq == 0) {
		gap_line(b, lr);
		return;
	}
	if (r->njobs > 0) {
		for (i = 0; i < r->njobs; i++)
			if (strcmp(r->jobs[i], lr->name) == 0)
				break;
		if (i == r->njobs)
			return;
	}
	rec_head(b, lr);
	buf_add(b, ",", 1);
	buf_add(b, lr->data, lr->len);
	buf_add(b, "}\n", 2);
}

/* Every conf.heartbeat seconds, each follower of the events hears one. */
static void
heartbeat_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct logreader	*r, *next;
	char			 line[64];
	int			 n;

	n = snprintf(line, sizeof(line), "{\"heartbeat\":%llu}\n",
	    (unsigned long long)events_seq());
	for (r = LIST_FIRST(&followers); r != NULL; r = next) {
		next = LIST_NEXT(r, entry);
		if (r->c->out.len - r->c->out.off >= LOG_OUT_HIGH)
			continue;
		http_chunk(r->c, line, (size_t)n);
		conn_flush(r->c);
	}
}

static const char *const event_params[] = { "since", "job", "follow", NULL };

/*
 * GET /events: the event log from since (or the oldest kept), for some
 * jobs or all, one JSON object a line; with follow, on with heartbeats.
 */
static void
api_events(struct conn *c, struct args *a)
{
	struct logreader	*r;
	uint64_t		 since = 0;
	int			 i, follow = 0;

	if (query_parse(c, a, event_params) == -1 ||
	    query_uint(c, a, "since", (uint64_t)INT64_MAX, &since) == -1)
		return;
	if (query_bool(c, a, "follow", &follow) == -1)
		return;
	for (i = 0; i < a->nparams; i++)
		if (strcmp(a->params[i].key, "job") == 0 &&
		    !job_valid_name(a->params[i].value)) {
			http_error(c, 400, NULL, NULL, "job must be a job name, "
			    "not \"%.64s\"", a->params[i].value);
			return;
		}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		http_error(c, 500, NULL, NULL, "out of memory");
		return;
	}
	for (i = 0; i < a->nparams; i++)
		if (strcmp(a->params[i].key, "job") == 0 &&
		    (r->jobs[r->njobs++] = strdup(a->params[i].value)) ==
		    NULL) {
			r->njobs--;
			break;
		}
	r->c = c;
	r->events = 1;
	r->fmt = event_rec;
	r->task = -1;
	r->follow = follow;
	events_reader_start(&r->w, since, log_wake, r);
	if (follow) {
		LIST_INSERT_HEAD(&followers, r, entry);
		if (!ev_is_active(&heartbeat)) {
			ev_timer_init(&heartbeat, heartbeat_cb,
			    conf.heartbeat, conf.heartbeat);
			ev_timer_start(loop, &heartbeat);
		}
	}
	reader_go(c, r, "application/x-ndjson");
}

/* A Prometheus metric family: HELP and TYPE lines. */
static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* GET /metrics: the Prometheus text format (version 0.0.4). */
static void
api_metrics(struct conn *c, struct args *a)
{
	static const char *const classes[] = { "0", "nonzero", "signal",
	    "lost" };
	struct buf	 b;
	unsigned	 n[4];
	uint64_t	 nstarted, failed, ex[4];
	int		 i;

	if (query_parse(c, a, no_params) == -1)
		return;
	memset(&b, 0, sizeof(b));
	job_counts(&n[0], &n[1], &n[2], &n[3]);
	job_stats(&nstarted, &failed, ex);
	family(&b, "jobd_jobs", "gauge", "Jobs jobd knows, by state.");
	for (i = 0; i < 4; i++)
		buf_printf(&b, "jobd_jobs{state=\"%s\"} %u\n",
		    job_state_name((enum job_state)i), n[i]);
	family(&b, "jobd_tasks_started_total", "counter",
	    "Tasks started since jobd started.");
	buf_printf(&b, "jobd_tasks_started_total %llu\n",
	    (unsigned long long)nstarted);
	family(&b, "jobd_tasks_failed_total", "counter",
	    "Tasks that could not be started.");
	buf_printf(&b, "jobd_tasks_failed_total %llu\n",
	    (unsigned long long)failed);
	family(&b, "jobd_task_exits_total", "counter",
	    "Task ends by class: exit 0, another exit code, a signal, lost.");
	for (i = 0; i < 4; i++)
		buf_printf(&b, "jobd_task_exits_total{class=\"%s\"} %llu\n",
		    classes[i], (unsigned long long)ex[i]);
	family(&b, "jobd_restarts_total", "counter",
	    "Times jobd came back after a crash or re-exec.");
	buf_printf(&b, "jobd_restarts_total %u\n", daemon_restarts);
	family(&b, "jobd_connections", "gauge", "Client connections open.");
	buf_printf(&b, "jobd_connections %u\n", conn_count());
	family(&b, "jobd_log_bytes_written_total", "counter",
	    "Bytes of records written to jobs' logs.");
	buf_printf(&b, "jobd_log_bytes_written_total %llu\n",
	    (unsigned long long)log_written());
	family(&b, "jobd_log_bytes_dropped_total", "counter",
	    "Bytes of jobs' logs dropped by rotation or a failed write.");
	buf_printf(&b, "jobd_log_bytes_dropped_total %llu\n",
	    (unsigned long long)log_dropped());
	family(&b, "jobd_event_readers", "gauge",
	    "Clients reading GET /events.");
	buf_printf(&b, "jobd_event_readers %u\n", events_readers());
	family(&b, "jobd_event_seq", "gauge", "The seq of the last event.");
	buf_printf(&b, "jobd_event_seq %llu\n",
	    (unsigned long long)events_seq());
	if (b.err) {
		buf_free(&b);
		http_error(c, 500, NULL, NULL, "out of memory");
		return;
	}
	http_stream_begin(c, "text/plain; version=0.0.4; charset=utf-8");
	http_chunk(c, b.data, b.len);
	http_stream_end(c);
	buf_free(&b);
}
