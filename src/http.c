/*
 * http.c: HTTP/1.x on a connection, through http-parser. Enforces the
 * limits (URI 414, headers 431, body 413), answers Expect: 100-continue,
 * pauses after each request so that pipelined requests are answered in
 * order, and writes every response, errors through one function.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jobd.h"

#define OUT_HIGH	(256 * 1024)	/* stop parsing while this much waits */

static int	on_message_begin(http_parser *);
static void	no_handler(struct conn *);

static void	(*handler)(struct conn *) = no_handler;
static int	on_url(http_parser *, const char *, size_t);
static int	on_header_field(http_parser *, const char *, size_t);
static int	on_header_value(http_parser *, const char *, size_t);
static int	on_headers_complete(http_parser *);
static int	on_body(http_parser *, const char *, size_t);
static int	on_message_complete(http_parser *);

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static const struct {
	int		 status;
	const char	*text;
} statuses[] = {
	{ 100, "Continue" },
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 400, "Bad Request" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 417, "Expectation Failed" },
	{ 422, "Unprocessable Content" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 503, "Service Unavailable" },
	{ 505, "HTTP Version Not Supported" },
};

const char *
http_status_text(int status)
{
	size_t	 i;

	for (i = 0; i < nitems(statuses); i++)
		if (statuses[i].status == status)
			return statuses[i].text;
	return "Unknown";
}

void
http_init(struct conn *c)
{
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
}

void
http_request_reset(struct request *r)
{
	free(r->url);
	buf_free(&r->body);
	memset(r, 0, sizeof(*r));
	r->keepalive = 1;
}

static int
reject(struct conn *c, int status, const char *msg)
{
	c->req.status = status;
	c->req.errmsg = msg;
	return -1;
}

static int
on_message_begin(http_parser *p)
{
	struct conn	*c = p->data;

	http_request_reset(&c->req);
	if (log_verbosity >= LOG_VERBOSE)
		c->req.t0 = ev_time();
	c->in_request = 1;
	conn_set_deadline(c, ev_now(loop) + conf.request_timeout);
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct conn	*c = p->data;
	struct request	*r = &c->req;
	char		*u;

	r->method = p->method;
	if (r->urllen + len > JOBD_URL_MAX)
		return reject(c, 414, "request URI longer than 8192 bytes");
	if ((u = realloc(r->url, r->urllen + len + 1)) == NULL)
		return reject(c, 500, "out of memory");
	memcpy(u + r->urllen, at, len);
	r->urllen += len;
	u[r->urllen] = '\0';
	r->url = u;
	return 0;
}

static int
header_bytes(struct conn *c, size_t len)
{
	c->req.hdrbytes += len;
	if (c->req.hdrbytes > JOBD_HEADERS_MAX)
		return reject(c, 431, "request headers larger than 16384 "
		    "bytes");
	return 0;
}

/* RFC 9110 tchar: http-parser, as built by Debian, also lets spaces in. */
static int
is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct conn	*c = p->data;
	struct request	*r = &c->req;
	size_t		 i;

	if (header_bytes(c, len) == -1)
		return -1;
	for (i = 0; i < len; i++)
		if (!is_tchar((unsigned char)at[i]))
			return reject(c, 400, "malformed request: invalid "
			    "character in a header name");
	/* A field after a value (or the first one) is a new header. */
	if (r->in_expect != 2) {
		if (++r->nheaders > JOBD_HEADER_COUNT_MAX)
			return reject(c, 431, "more than 100 request headers");
		r->hnamelen = 0;
		r->hlong = 0;
	}
	r->in_expect = 2;	/* in a field */
	if (r->hnamelen + len >= sizeof(r->hname))
		r->hlong = 1;
	else {
		memcpy(r->hname + r->hnamelen, at, len);
		r->hnamelen += len;
		r->hname[r->hnamelen] = '\0';
	}
	return 0;
}

/* Append to a NUL-terminated header value; -1 if it would not fit. */
static int
value_add(char *v, size_t size, size_t *len, const char *at, size_t n)
{
	if (*len + n >= size)
		return -1;
	memcpy(v + *len, at, n);
	*len += n;
	v[*len] = '\0';
	return 0;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct conn	*c = p->data;
	struct request	*r = &c->req;

	if (header_bytes(c, len) == -1)
		return -1;
	if (r->in_expect == 2) {
		/* First piece of this value: Expect, Transfer-Encoding? */
		if (r->hlong)
			r->in_expect = 0;
		else if (strcasecmp(r->hname, "expect") == 0) {
			r->in_expect = 1;
			r->expectlen = 0;
		} else if (strcasecmp(r->hname, "transfer-encoding") == 0) {
			r->in_expect = 3;
			/* Several fields are one list (RFC 9110 5.3). */
			if (r->telen > 0 && value_add(r->te, sizeof(r->te),
			    &r->telen, ",", 1) == -1)
				r->telong = 1;
		} else
			r->in_expect = 0;
	}
	if (r->in_expect == 1 && value_add(r->expect, sizeof(r->expect),
	    &r->expectlen, at, len) == -1)
		return reject(c, 417, "unsupported Expect header");
	if (r->in_expect == 3 && value_add(r->te, sizeof(r->te), &r->telen,
	    at, len) == -1)
		r->telong = 1;
	return 0;
}

/*
 * The only transfer coding jobd implements is chunked, alone: gzip or
 * anything else, before or after it, is 501 (RFC 9112 6.1), never
 * silently ignored. Empty list elements do not count.
 */
static int
te_check(struct conn *c)
{
	struct request	*r = &c->req;
	const char	*s = r->te, *e;
	size_t		 n;
	int		 chunked = 0, other = 0;

	if (r->telen == 0 && !r->telong)
		return 0;
	while (!r->telong && *s != '\0') {
		s += strspn(s, " \t,");
		e = s + strcspn(s, ",");
		n = (size_t)(e - s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 7 && strncasecmp(s, "chunked", 7) == 0)
			chunked++;
		else if (n > 0)
			other++;
		s = e;
	}
	if (r->telong || other > 0 || chunked != 1)
		return reject(c, 501, "Transfer-Encoding other than a lone "
		    "\"chunked\" is not implemented");
	return 0;
}

static int
on_headers_complete(http_parser *p)
{
	static const char	 cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct conn		*c = p->data;
	struct request		*r = &c->req;
	int			 body;

	c->in_body = 1;
	r->method = p->method;
	r->head = p->method == HTTP_HEAD;
	if (p->http_major != 1)
		return reject(c, 505, "only HTTP/1.0 and HTTP/1.1 are "
		    "supported");
	if (te_check(c) == -1)
		return -1;
	body = (p->flags & F_CHUNKED) ||
	    ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > conf.max_body)
		return reject(c, 413, "request body larger than --max-body");
	if (r->expectlen > 0) {
		if (strcasecmp(r->expect, "100-continue") != 0)
			return reject(c, 417, "unsupported Expect header");
		if (body && p->http_minor >= 1)
			conn_write(c, cont, sizeof(cont) - 1);
	}
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct conn	*c = p->data;
	struct request	*r = &c->req;

	if (r->body.len + len > conf.max_body)
		return reject(c, 413, "request body larger than --max-body");
	if (buf_add(&r->body, at, len) == -1)
		return reject(c, 500, "out of memory");
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	struct conn	*c = p->data;

	c->in_body = 0;
	c->head_lines = 0;
	c->head_len = 0;
	c->head_cr = 0;
	c->req.keepalive = http_should_keep_alive(p);
	if (c->req.body.data == NULL)
		buf_add(&c->req.body, "", 0);
	http_parser_pause(p, 1);
	return 0;
}

/*
 * A request head is checked byte by byte before the parser sees it, for
 * what http-parser tolerates and a proxy in front of jobd might read
 * otherwise (request smuggling): a bare LF or CR, obsolete line folding,
 * control characters. Returns how many bytes belong to the head (all of
 * them if it goes on), or -1 with the error set.
 */
static ssize_t
head_scan(struct conn *c, const char *data, size_t len)
{
	unsigned char	 ch;
	size_t		 i;

	for (i = 0; i < len; i++) {
		ch = (unsigned char)data[i];
		if (ch == '\n') {
			if (!c->head_cr)
				return reject(c, 400, "malformed request: line "
				    "ends without CR");
			c->head_cr = 0;
			if (c->head_len == 0 && c->head_lines > 0)
				return (ssize_t)i + 1;	/* end of the head */
			if (c->head_len > 0)
				c->head_lines++;
			c->head_len = 0;
			continue;
		}
		if (c->head_cr)
			return reject(c, 400, "malformed request: CR without "
			    "LF");
		if (ch == '\r') {
			c->head_cr = 1;
			continue;
		}
		if (c->head_len == 0 && c->head_lines > 0 &&
		    (ch == ' ' || ch == '\t'))
			return reject(c, 400, "malformed request: obsolete "
			    "line folding");
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return reject(c, 400, "malformed request: control "
			    "character in the head");
		c->head_len++;
	}
	return (ssize_t)len;
}

/*
 * Parse what has arrived, answering each complete request in turn.
 * Stops at an answer that comes later (?wait=), at a closing response,
 * or while too much output waits for a client that does not read.
 */
void
http_feed(struct conn *c)
{
	enum http_errno	 err;
	size_t		 avail, n;
	ssize_t		 head;

	while (!c->dead && !c->deferred && !c->closing) {
		if (c->out.len - c->out.off > OUT_HIGH)
			break;
		avail = c->in.len - c->in.off;
		if (avail == 0 && !c->eof)
			break;
		if (!c->in_body && avail > 0) {
			if ((head = head_scan(c, c->in.data + c->in.off,
			    avail)) == -1) {
				c->req.keepalive = 0;
				http_error(c, c->req.status, NULL, NULL, "%s",
				    c->req.errmsg);
				break;
			}
			avail = (size_t)head;
		}
		n = http_parser_execute(&c->parser, &settings,
		    c->in.data + c->in.off, avail);
		buf_consume(&c->in, n);
		err = HTTP_PARSER_ERRNO(&c->parser);
		if (err == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			c->in_request = 0;
			if (c->parser.upgrade)
				c->req.keepalive = 0;
			handler(c);
			continue;
		}
		if (err != HPE_OK) {
			if (c->eof && avail == 0) {
				/* The client left mid-request. */
				conn_close(c);
				return;
			}
			c->req.keepalive = 0;
			/* The parser refuses some codings before we see them. */
			if (c->req.status == 0)
				(void)te_check(c);
			if (c->req.status != 0)
				http_error(c, c->req.status, NULL, NULL, "%s",
				    c->req.errmsg);
			else
				http_error(c, 400, NULL, NULL, "malformed request: %s",
				    http_errno_description(err));
			break;
		}
		if (avail == 0) {
			/* EOF between requests: answer what was asked. */
			c->closing = 1;
			break;
		}
	}
	conn_flush(c);
}

/* Append one response; the connection closes after it if it must. */
void
http_respond(struct conn *c, int status, const char *headers,
    const char *body, size_t len)
{
	static const char ctype[] = "\r\nContent-Type: application/json\r\n"
	    "Content-Length: ";
	struct request	*r = &c->req;
	const char	*conn_hdr = "", *text = http_status_text(status);

	if (!r->keepalive || shutting_down)
		conn_hdr = "Connection: close\r\n";
	else if (c->parser.http_minor == 0)
		conn_hdr = "Connection: keep-alive\r\n";
	/* Put together by hand: this is every answer's path, printf is slow. */
	buf_add(&c->out, "HTTP/1.1 ", 9);
	buf_add_uint(&c->out, (unsigned)status);
	buf_add(&c->out, " ", 1);
	buf_add(&c->out, text, strlen(text));
	buf_add(&c->out, ctype, sizeof(ctype) - 1);
	buf_add_uint(&c->out, len + 1);
	buf_add(&c->out, "\r\n", 2);
	buf_add(&c->out, conn_hdr, strlen(conn_hdr));
	if (headers != NULL)
		buf_add(&c->out, headers, strlen(headers));
	buf_add(&c->out, "\r\n", 2);
	if (!r->head) {
		buf_add(&c->out, body, len);
		buf_add(&c->out, "\n", 1);
	}
	http_log(c, status);
	if (!r->keepalive || shutting_down)
		c->closing = 1;
}

/*
 * A streamed 200 answer: chunked for HTTP/1.1, else until the connection
 * closes. A HEAD gets the head alone. Chunks follow, then the end.
 */
void
http_stream_begin(struct conn *c, const char *ctype)
{
	struct request	*r = &c->req;

	if (c->parser.http_minor == 0)
		r->keepalive = 0;
	buf_add(&c->out, "HTTP/1.1 200 OK\r\nContent-Type: ", 31);
	buf_add(&c->out, ctype, strlen(ctype));
	buf_add(&c->out, "\r\nCache-Control: no-cache\r\n", 27);
	if (c->parser.http_minor > 0 && !r->head)
		buf_add(&c->out, "Transfer-Encoding: chunked\r\n", 28);
	if (r->head)
		buf_add(&c->out, "Content-Length: 0\r\n", 19);
	if (!r->keepalive || shutting_down)
		buf_add(&c->out, "Connection: close\r\n", 19);
	buf_add(&c->out, "\r\n", 2);
	http_log(c, 200);
}

void
http_chunk(struct conn *c, const void *data, size_t len)
{
	char	 hex[24];

	if (len == 0 || c->req.head)
		return;
	if (c->parser.http_minor == 0) {
		buf_add(&c->out, data, len);
		return;
	}
	buf_add(&c->out, hex, (size_t)snprintf(hex, sizeof(hex), "%zx\r\n",
	    len));
	buf_add(&c->out, data, len);
	buf_add(&c->out, "\r\n", 2);
}

void
http_stream_end(struct conn *c)
{
	if (c->parser.http_minor > 0 && !c->req.head)
		buf_add(&c->out, "0\r\n\r\n", 5);
	if (!c->req.keepalive || shutting_down)
		c->closing = 1;
}

/* The layer above: what to call with each complete request. */
void
http_serve(void (*fn)(struct conn *))
{
	handler = fn;
}

static void
no_handler(struct conn *c)
{
	http_error(c, 503, NULL, NULL, "not serving yet");
}

/* Every error answer goes through here: {"error": ..., "path": ...}. */
void
http_error(struct conn *c, int status, const char *headers, const char *path,
    const char *fmt, ...)
{
	char	 msg[1024], *body;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((body = json_error(msg, path)) == NULL) {
		static const char oom[] =
		    "{\"error\":\"out of memory\",\"path\":null}";

		c->req.keepalive = 0;
		http_respond(c, 500, NULL, oom, sizeof(oom) - 1);
		return;
	}
	http_respond(c, status, headers, body, strlen(body));
	free(body);
}

/* -v: one line per request, with every byte of the URL made printable. */
void
http_log(struct conn *c, int status)
{
	char	 url[512];

	if (log_verbosity < LOG_VERBOSE)
		return;
	if (c->req.url != NULL)
		log_escape(url, sizeof(url), c->req.url, c->req.urllen);
	else
		strcpy(url, "-");
	log_debug("%s %s %d %s %.0fus", c->req.url != NULL ?
	    http_method_str(c->req.method) : "-", url, status, c->peer,
	    c->req.t0 > 0 ? (ev_time() - c->req.t0) * 1e6 : 0.0);
}
