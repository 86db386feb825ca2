/*
 * ctl_http.c: jobctl's way to jobd. Finds the server's address as jobd
 * itself would, makes one HTTP request at a time with libcurl, and keeps
 * the answer; the only file of jobctl that speaks to the network, and the
 * one that decides which servers may hear what jobctl has to say.
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

static CURL	*curl;
static char	 srv_addr[LISTEN_ADDRLEN];	/* for messages */
static char	 srv_url[LISTEN_ADDRLEN];
static char	 srv_unix[sizeof(((struct sockaddr_un *)0)->sun_path)];
static curl_socket_t conn_fd = CURL_SOCKET_BAD;	/* to a unix address */
static int	 conn_refused;	/* a server we do not trust; said so */

void
http_init(void)
{
	if (curl_global_init(CURL_GLOBAL_NOTHING) != 0 ||
	    (curl = curl_easy_init()) == NULL)
		fatalx("cannot initialise libcurl");
}

void
http_cleanup(void)
{
	curl_easy_cleanup(curl);
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
	conn_fd = fd;
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
	struct ucred	 cr;
	socklen_t	 len = sizeof(cr);

	if (conn_fd == CURL_SOCKET_BAD || getsockopt(conn_fd, SOL_SOCKET,
	    SO_PEERCRED, &cr, &len) == -1) {
		log_warn("the server at %s: cannot learn who runs it",
		    srv_addr);
		conn_refused = 1;
		return CURL_PREREQFUNC_ABORT;
	}
	if (cr.uid != geteuid() && cr.uid != 0) {
		log_warnx("the server at %s runs as uid %u, neither us (uid "
		    "%u) nor root: jobctl sends it nothing", srv_addr,
		    (unsigned)cr.uid, (unsigned)geteuid());
		conn_refused = 1;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
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

void
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
int
http_request(const char *method, const char *path, const char *body,
    size_t len, long timeout, struct reply *r)
{
	struct curl_slist	*hdrs = NULL;
	char			 url[sizeof(srv_url) + 512];
	char			 errbuf[CURL_ERROR_SIZE];
	const char		*why;
	CURLcode		 rc;
	long			 oserr = 0;

	memset(r, 0, sizeof(*r));
	if (srv_url[0] == '\0' && http_setup() == -1)
		return -1;
	conn_refused = 0;
	snprintf(url, sizeof(url), "%s%s", srv_url, path);
	errbuf[0] = '\0';
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	if (srv_unix[0] != '\0') {
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, srv_unix);
		curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION,
		    unix_sockopt_cb);
		curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION,
		    unix_prereq_cb);
	}
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
	if (rc != CURLE_OK && conn_refused) {
		reply_free(r);
		return -1;
	}
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

/* The job name as a path segment: jobd decodes it, and judges it. */
char *
http_job_path(const char *name, const char *suffix)
{
	char	*e, *p;

	if ((e = curl_easy_escape(curl, name, 0)) == NULL)
		fatalx("out of memory");
	if (asprintf(&p, "/job/%s%s", e, suffix) == -1)
		fatal("asprintf");
	curl_free(e);
	return p;
}
