/*
 * ctl_http.c: jobctl's way to jobd. Finds the server's address as jobd
 * itself would, makes HTTP requests with libcurl (one at a time, or a few
 * at once with a body streamed as it comes, for jobctl run, logs and
 * events), and keeps the answers; the only file of jobctl that speaks
 * to the network, and the one that decides which servers may hear what
 * jobctl has to say.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "jobctl.h"
#include "listen.h"
#include "log.h"

/* One request in flight. */
struct call {
	CURL			*h;
	struct curl_slist	*hdrs;
	struct reply		*r;
	int			(*sink)(const char *, size_t, void *);
	void			*arg;
	char			 errbuf[CURL_ERROR_SIZE];
	curl_socket_t		 fd;		/* to a unix address */
	int			 refused;	/* not a server to trust */
	int			 sunk;		/* its sink stopped it */
	CURLcode		 rc;
};

static CURLM	*multi;
static char	 srv_addr[LISTEN_ADDRLEN];	/* for messages */
static char	 srv_url[LISTEN_ADDRLEN];
static char	 srv_unix[sizeof(((struct sockaddr_un *)0)->sun_path)];

void
http_init(void)
{
	if (curl_global_init(CURL_GLOBAL_NOTHING) != 0 ||
	    (multi = curl_multi_init()) == NULL)
		fatalx("cannot initialise libcurl");
}

void
http_cleanup(void)
{
	curl_multi_cleanup(multi);
	curl_global_cleanup();
}

/* The server's address as messages give it: unix:PATH or tcp:HOST:PORT. */
const char *
http_addr(void)
{
	return srv_addr;
}

/*
 * Where jobd listens: -s, else the default path jobd itself would use
 * (listen_default, so both agree). A relative -s is taken from here.
 * A socket in /tmp/jobd-$UID is used on jobd's own terms: the directory
 * must be ours, mode 0700, not a link, or someone else could have put
 * his server there. Returns -1 having said why it is refused.
 */
static int
http_setup(void)
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
		if (listen_default_dir(sun->sun_path, err, sizeof(err)) == -1) {
			log_warnx("%s: another user could stand in for jobd "
			    "there, so jobctl does not use unix:%s", err,
			    sun->sun_path);
			return -1;
		}
		snprintf(srv_unix, sizeof(srv_unix), "%s", sun->sun_path);
		snprintf(srv_addr, sizeof(srv_addr), "unix:%s", sun->sun_path);
		snprintf(srv_url, sizeof(srv_url), "http://localhost");
	} else {
		listen_format((const struct sockaddr *)&la.ss, la.sslen,
		    SOCK_STREAM, srv_addr, sizeof(srv_addr));
		snprintf(srv_url, sizeof(srv_url), "http://%s", srv_addr + 4);
	}
	return 0;
}

/* The socket libcurl made for the unix address, to ask who is behind it. */
static int
unix_sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct call	*c = arg;

	c->fd = fd;
	return CURL_SOCKOPT_OK;
}

/*
 * Connected, and not a byte sent yet: a job's envs may hold secrets, so
 * only a server run by us or by root is told anything. (Connecting the
 * socket here ourselves is no way round: libcurl 7.88 connects it again
 * whatever CURL_SOCKOPT_ALREADY_CONNECTED says.)
 */
static int
unix_prereq_cb(void *arg, char *ip, char *local_ip, int port,
    int local_port)
{
	struct call	*c = arg;
	struct ucred	 cr;
	socklen_t	 len = sizeof(cr);

	if (c->fd == CURL_SOCKET_BAD || getsockopt(c->fd, SOL_SOCKET,
	    SO_PEERCRED, &cr, &len) == -1) {
		log_warn("the server at %s: cannot learn who runs it",
		    srv_addr);
		c->refused = 1;
		return CURL_PREREQFUNC_ABORT;
	}
	if (cr.uid != geteuid() && cr.uid != 0) {
		log_warnx("the server at %s runs as uid %u, neither us (uid "
		    "%u) nor root: jobctl sends it nothing", srv_addr,
		    (unsigned)cr.uid, (unsigned)geteuid());
		c->refused = 1;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}

static size_t
reply_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct call	*c = arg;
	struct reply	*r = c->r;
	size_t		 len = size * n;
	long		 status = 0;
	char		*p;

	if (c->sink != NULL) {
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200) {
			if (c->sink(data, len, c->arg) == -1) {
				c->sunk = 1;
				return 0;
			}
			return len;
		}
	}
	if (r->len + len > BODY_MAX ||
	    (p = realloc(r->body, r->len + len + 1)) == NULL)
		return 0;
	memcpy(p + r->len, data, len);
	r->body = p;
	r->len += len;
	p[r->len] = '\0';
	return len;
}

void
reply_free(struct reply *r)
{
	free(r->body);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

/*
 * Start a request to jobd; its answer will be in r. Returns NULL having
 * said why when jobd's address is no good. The call runs in http_next
 * and is over with http_finish or http_cancel.
 */
struct call *
http_start(const char *method, const char *path, const char *body,
    size_t len, long timeout, struct reply *r)
{
	struct call	*c;
	char		*url;

	memset(r, 0, sizeof(*r));
	if (srv_url[0] == '\0' && http_setup() == -1)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->fd = CURL_SOCKET_BAD;
	if ((c->h = curl_easy_init()) == NULL)
		fatalx("cannot initialise libcurl");
	/* A path of many job= parameters is long: never cut it. */
	if (asprintf(&url, "%s%s", srv_url, path) == -1)
		fatal("asprintf");
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
	if (srv_unix[0] != '\0') {
		curl_easy_setopt(c->h, CURLOPT_UNIX_SOCKET_PATH, srv_unix);
		curl_easy_setopt(c->h, CURLOPT_SOCKOPTFUNCTION,
		    unix_sockopt_cb);
		curl_easy_setopt(c->h, CURLOPT_SOCKOPTDATA, c);
		curl_easy_setopt(c->h, CURLOPT_PREREQFUNCTION,
		    unix_prereq_cb);
		curl_easy_setopt(c->h, CURLOPT_PREREQDATA, c);
	}
	/*
	 * A connection is the call's own, and closed after it: the server
	 * behind it was checked for this call, and no other call may take
	 * it unchecked from the cache the calls share.
	 */
	curl_easy_setopt(c->h, CURLOPT_FORBID_REUSE, 1L);
	/* An http_proxy in the environment must not catch a loopback port. */
	curl_easy_setopt(c->h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, reply_write_cb);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_USERAGENT, "jobctl/" PACKAGE_VERSION);
	curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		c->hdrs = curl_slist_append(NULL,
		    "Content-Type: application/json");
		curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	}
	if (curl_multi_add_handle(multi, c->h) != CURLM_OK)
		fatalx("cannot start a request with libcurl");
	return c;
}

/*
 * A 200 answer's body goes to fn as it comes instead of into the reply;
 * fn returns -1 to stop the call (having said why). Set before http_next.
 */
void
http_sink(struct call *c, int (*fn)(const char *, size_t, void *),
    void *arg)
{
	c->sink = fn;
	c->arg = arg;
}

/*
 * Run the calls in flight until one is over, and return it; or, fd
 * being other than -1, until fd can be read: NULL then.
 */
struct call *
http_next(int fd)
{
	struct curl_waitfd	 w;
	struct call		*c;
	CURLMsg			*m;
	char			*p;
	int			 running, left;

	for (;;) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			fatalx("libcurl failed");
		while ((m = curl_multi_info_read(multi, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
			c = (struct call *)p;
			c->rc = m->data.result;
			curl_multi_remove_handle(multi, c->h);
			return c;
		}
		memset(&w, 0, sizeof(w));
		w.fd = fd;
		w.events = CURL_WAIT_POLLIN;
		if (curl_multi_poll(multi, &w, fd == -1 ? 0 : 1, 1000,
		    NULL) != CURLM_OK)
			fatalx("libcurl failed");
		if (fd != -1 && (w.revents & CURL_WAIT_POLLIN))
			return NULL;
	}
}

static void
call_free(struct call *c)
{
	curl_multi_remove_handle(multi, c->h);
	curl_easy_cleanup(c->h);
	curl_slist_free_all(c->hdrs);
	free(c);
}

/* Drop a call, over or not, and its answer. */
void
http_cancel(struct call *c)
{
	if (c == NULL)
		return;
	reply_free(c->r);
	call_free(c);
}

/*
 * The end of a call that http_next returned. Returns 0 with the answer
 * in its reply, whatever its status, or -1 having said why when jobd
 * could not be reached, the exchange broke off, or the sink stopped it.
 */
int
http_finish(struct call *c)
{
	struct reply	*r = c->r;
	const char	*why;
	long		 oserr = 0;

	if (c->rc != CURLE_OK && (c->refused || c->sunk)) {
		http_cancel(c);
		return -1;
	}
	if (c->rc != CURLE_OK) {
		curl_easy_getinfo(c->h, CURLINFO_OS_ERRNO, &oserr);
		why = oserr != 0 ? strerror((int)oserr) :
		    c->errbuf[0] != '\0' ? c->errbuf :
		    curl_easy_strerror(c->rc);
		if (c->rc == CURLE_COULDNT_CONNECT)
			log_warnx("cannot reach jobd at %s: %s (is it running? "
			    "-s or JOBD_SOCKET choose another address)",
			    srv_addr, why);
		else
			log_warnx("jobd at %s: %s", srv_addr, why);
		http_cancel(c);
		return -1;
	}
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body != NULL)
		r->json = cJSON_ParseWithLength(r->body, r->len);
	call_free(c);
	return 0;
}

/*
 * One HTTP request to jobd, with no other call in flight. Returns 0 with
 * the answer in r, whatever its status, or -1 having said why when jobd
 * could not be reached or the exchange broke off.
 */
int
http_request(const char *method, const char *path, const char *body,
    size_t len, long timeout, struct reply *r)
{
	struct call	*c;

	if ((c = http_start(method, path, body, len, timeout, r)) == NULL)
		return -1;
	while (http_next(-1) != c)
		;
	return http_finish(c);
}

int
reply_ok(const struct reply *r)
{
	return r->status >= 200 && r->status < 300;
}

const char *
jstr(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
jint(const cJSON *o, const char *key, int dflt)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valueint : dflt;
}

/*
 * jobd's error sentence, its JSON path when the sentence does not
 * already name it, and what on our command line it came from.
 */
int
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

/*
 * A parameter added to the query of *path (which is reallocated): its
 * value escaped, for jobd to decode, and to judge.
 */
void
http_query(char **path, const char *key, const char *value)
{
	char	*e, *p;

	if ((e = curl_easy_escape(NULL, value, 0)) == NULL)
		fatalx("out of memory");
	if (asprintf(&p, "%s%c%s=%s", *path, strchr(*path, '?') != NULL ?
	    '&' : '?', key, e) == -1)
		fatal("asprintf");
	curl_free(e);
	free(*path);
	*path = p;
}

/* The job name as a path segment: jobd decodes it, and judges it. */
char *
http_job_path(const char *name, const char *suffix)
{
	char	*e, *p;

	if ((e = curl_easy_escape(NULL, name, 0)) == NULL)
		fatalx("out of memory");
	if (asprintf(&p, "/job/%s%s", e, suffix) == -1)
		fatal("asprintf");
	curl_free(e);
	return p;
}
