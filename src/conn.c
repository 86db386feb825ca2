/*
 * conn.c: client connections. Accepting (and pausing accept when fds run
 * out), reading and writing with bounded buffers, the per-connection
 * deadline (request 30 s, idle 60 s, a deferred answer), lingering close, and
 * deferred freeing: a connection is freed only from the loop's prepare
 * watcher, never under a callback that may still hold it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd.h"

#define READ_CHUNK	16384
#define IN_HIGH		(64 * 1024)	/* stop reading while this much waits */
#define OUT_LOW		(64 * 1024)
#define OVER_LIMIT_MAX	64		/* 503 answers in flight at once */

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static TAILQ_HEAD(, conn) dead = TAILQ_HEAD_INITIALIZER(dead);
static TAILQ_HEAD(, conn) resumes = TAILQ_HEAD_INITIALIZER(resumes);
static unsigned		  nconns;
static unsigned		  nover;
static int		  accept_paused;
static ev_timer		  accept_timer;

static void	read_cb(struct ev_loop *, ev_io *, int);
static void	write_cb(struct ev_loop *, ev_io *, int);
static void	timer_cb(struct ev_loop *, ev_timer *, int);
static void	conn_update(struct conn *);

unsigned
conn_count(void)
{
	return nconns;
}

void
conn_listen(struct listener *l)
{
	ev_io_init(&l->io, conn_accept_cb, l->ls.fd, EV_READ);
	l->io.data = l;
	ev_io_start(loop, &l->io);
}

void
conn_unlisten(struct listener *l)
{
	ev_io_stop(loop, &l->io);
}

/*
 * Out of fds: stop accepting (a level-triggered listener would spin)
 * until a connection closes or a second has passed.
 */
static void
accept_pause(void)
{
	size_t	 i;

	if (accept_paused)
		return;
	accept_paused = 1;
	for (i = 0; i < nlisteners; i++)
		ev_io_stop(loop, &listeners[i].io);
	ev_timer_set(&accept_timer, 1., 0.);
	ev_timer_start(loop, &accept_timer);
}

static void
accept_resume(void)
{
	size_t	 i;

	if (!accept_paused || shutting_down)
		return;
	accept_paused = 0;
	ev_timer_stop(loop, &accept_timer);
	for (i = 0; i < nlisteners; i++)
		ev_io_start(loop, &listeners[i].io);
}

static void
accept_timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	accept_resume();
}

static void
conn_new(int fd, const struct sockaddr_storage *ss, socklen_t sslen)
{
	struct conn	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("accept");
		close(fd);
		return;
	}
	c->fd = fd;
	if (ss->ss_family == AF_UNIX) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			c->has_cred = 1;
			c->uid = cred.uid;
			c->pid = cred.pid;
			snprintf(c->peer, sizeof(c->peer), "uid=%u pid=%d",
			    (unsigned)cred.uid, (int)cred.pid);
		} else
			snprintf(c->peer, sizeof(c->peer), "unix");
	} else if (listen_format((const struct sockaddr *)ss, sslen,
	    SOCK_STREAM, c->peer, sizeof(c->peer)) == -1)
		snprintf(c->peer, sizeof(c->peer), "?");
	http_init(c);
	http_request_reset(&c->req);
	ev_io_init(&c->rio, read_cb, fd, EV_READ);
	ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
	ev_init(&c->timer, timer_cb);
	c->rio.data = c->wio.data = c->timer.data = c;
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	conn_set_deadline(c, ev_now(loop) + conf.request_timeout);
	if (nconns > conf.max_connections) {
		c->over_limit = 1;
		nover++;
		c->req.keepalive = 0;
		http_error(c, 503, NULL, NULL, "too many connections "
		    "(--max-connections %u)", conf.max_connections);
		conn_flush(c);
		return;
	}
	conn_update(c);
}

void
conn_accept_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, i;

	for (i = 0; i < 64; i++) {
		len = sizeof(ss);
		fd = accept4(w->fd, (struct sockaddr *)&ss, &len,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				log_warn("accept (pausing for a second)");
				accept_pause();
				return;
			default:
				log_warn("accept");
				return;
			}
		}
		if (nover >= OVER_LIMIT_MAX &&
		    nconns >= conf.max_connections) {
			close(fd);
			continue;
		}
		conn_new(fd, &ss, len);
	}
}

/* Read only when there is room: bounded input, bounded output. */
static void
conn_update(struct conn *c)
{
	int	 want;

	if (c->dead)
		return;
	want = !c->eof && c->in.len - c->in.off < IN_HIGH &&
	    c->out.len - c->out.off < IN_HIGH * 4;
	if (want && !ev_is_active(&c->rio))
		ev_io_start(loop, &c->rio);
	else if (!want && ev_is_active(&c->rio))
		ev_io_stop(loop, &c->rio);
}

static void
read_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct conn	*c = w->data;
	char		 junk[4096];
	ssize_t		 n;

	if (c->lingering) {
		n = read(c->fd, junk, sizeof(junk));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	if (buf_reserve(&c->in, READ_CHUNK) == -1) {
		conn_close(c);
		return;
	}
	n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(c);
		return;
	}
	if (n == 0) {
		c->eof = 1;
		/* Gone while we held its answer, or nothing left to say. */
		if (c->deferred || (c->out.len == c->out.off &&
		    c->in.len == c->in.off && !c->in_request)) {
			conn_close(c);
			return;
		}
	} else
		c->in.len += (size_t)n;
	http_feed(c);
	conn_update(c);
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	return buf_add(&c->out, data, len);
}

/* The response is out and the connection must close: linger a little. */
static void
conn_linger(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->lingering = 1;
	c->eof = 0;
	c->deadline = 0;
	conn_set_deadline(c, ev_now(loop) + JOBD_LINGER_TIMEOUT);
	if (!ev_is_active(&c->rio))
		ev_io_start(loop, &c->rio);
}

/*
 * Send what is queued. A client that reads nothing for the idle timeout
 * is closed, but a deferred answer stays due when asked. The idle timeout
 * starts over only when an answer goes out: bytes that begin no request
 * (blank lines) do not keep a connection open.
 */
void
conn_flush(struct conn *c)
{
	ev_tstamp	 t;
	ssize_t		 n;
	int		 sent = 0;

	if (c->dead)
		return;
	while (c->out.len > c->out.off) {
		n = send(c->fd, c->out.data + c->out.off,
		    c->out.len - c->out.off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				ev_io_start(loop, &c->wio);
				t = ev_now(loop) + conf.idle_timeout;
				if (c->deferred && c->defer_until < t)
					t = c->defer_until;
				conn_set_deadline(c, t);
				conn_update(c);
				return;
			}
			conn_close(c);
			return;
		}
		buf_consume(&c->out, (size_t)n);
		sent = 1;
	}
	ev_io_stop(loop, &c->wio);
	if (c->closing) {
		if (!c->lingering)
			conn_linger(c);
		return;
	}
	if (sent && !c->in_request && !c->deferred)
		conn_set_deadline(c, ev_now(loop) + conf.idle_timeout);
	conn_update(c);
}

static void
write_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct conn	*c = w->data;
	size_t		 before = c->out.len - c->out.off;

	conn_flush(c);
	if (c->dead || c->out.len - c->out.off > OUT_LOW)
		return;
	/* Room again: a streamed answer goes on, or parse what waited. */
	if (c->deferred && c->defer_drain != NULL)
		c->defer_drain(c, c->defer_arg);
	else if (before > OUT_LOW)
		http_feed(c);
}

/*
 * After a deferred answer: go on with pipelined requests, but from the
 * loop's prepare watcher, never from inside the job code that ended the
 * deferral (a pipelined request could free what it was about).
 */
void
conn_resume(struct conn *c)
{
	if (c->dead || c->resuming)
		return;
	c->resuming = 1;
	TAILQ_INSERT_TAIL(&resumes, c, rentry);
}

/*
 * One timer per connection, re-armed lazily: pushing the deadline later
 * costs nothing, the callback re-arms for what remains.
 */
void
conn_set_deadline(struct conn *c, ev_tstamp t)
{
	ev_tstamp	 now = ev_now(loop);

	if (c->dead)
		return;
	if (ev_is_active(&c->timer) && c->deadline <= t) {
		c->deadline = t;
		return;
	}
	c->deadline = t;
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, t > now ? t - now : 0., 0.);
	ev_timer_start(loop, &c->timer);
}

/*
 * Hold this connection's answer: the layer above answers later, and
 * until then no further request is parsed. At until, expire(c, arg) is
 * called to answer; if the client leaves first, cancel(c, arg).
 */
void
conn_defer(struct conn *c, ev_tstamp until, void (*expire)(struct conn *,
    void *), void (*cancel)(struct conn *, void *), void *arg)
{
	c->deferred = 1;
	c->defer_until = until;
	c->defer_expire = expire;
	c->defer_cancel = cancel;
	c->defer_arg = arg;
	c->defer_drain = NULL;
	conn_set_deadline(c, until);
}

/* The deferred answer is being written now: reading resumes after it. */
/*
 * A deferred answer that streams: drain(c, arg) runs each time what it
 * wrote has mostly gone out, to write more.
 */
void
conn_on_drain(struct conn *c, void (*drain)(struct conn *, void *))
{
	c->defer_drain = drain;
}

void
conn_undefer(struct conn *c)
{
	if (!c->deferred)
		return;
	c->deferred = 0;
	c->defer_expire = NULL;
	c->defer_cancel = NULL;
	c->defer_drain = NULL;
	c->defer_arg = NULL;
	conn_resume(c);
}

static void
timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct conn	*c = w->data;
	ev_tstamp	 now = ev_now(loop);
	void		(*expire)(struct conn *, void *);
	void		*arg;

	if (c->deadline > now) {
		ev_timer_set(&c->timer, c->deadline - now, 0.);
		ev_timer_start(loop, &c->timer);
		return;
	}
	if (c->deferred && c->defer_until <= now) {
		expire = c->defer_expire;
		arg = c->defer_arg;
		conn_undefer(c);
		expire(c, arg);
		return;
	}
	if (c->deferred && c->out.len == c->out.off) {
		/* Nothing unsent: only the deferred answer is due. */
		conn_set_deadline(c, c->defer_until);
		return;
	}
	log_debug("%s: connection timed out", c->peer);
	conn_close(c);
}

void
conn_close(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	if (c->deferred) {
		c->deferred = 0;
		c->defer_cancel(c, c->defer_arg);
	}
	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	ev_timer_stop(loop, &c->timer);
	close(c->fd);
	c->fd = -1;
	if (c->resuming) {
		TAILQ_REMOVE(&resumes, c, rentry);
		c->resuming = 0;
	}
	TAILQ_REMOVE(&conns, c, entry);
	TAILQ_INSERT_TAIL(&dead, c, entry);
	nconns--;
	if (c->over_limit)
		nover--;
	accept_resume();
}

/*
 * From the prepare watcher, before the loop waits again: resume
 * connections whose deferred answer went out, then free what
 * conn_close left.
 */
void
conn_prepare(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&resumes)) != NULL) {
		TAILQ_REMOVE(&resumes, c, rentry);
		c->resuming = 0;
		http_feed(c);
		conn_update(c);
	}

	while ((c = TAILQ_FIRST(&dead)) != NULL) {
		TAILQ_REMOVE(&dead, c, entry);
		http_request_reset(&c->req);
		buf_free(&c->in);
		buf_free(&c->out);
		free(c);
	}
}

void
conn_close_all(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&conns)) != NULL) {
		conn_flush(c);
		if (!c->dead)
			conn_close(c);
	}
	conn_prepare();
	ev_timer_stop(loop, &accept_timer);
}

/* Is an answer under way: a request being read, or output unsent? */
int
conn_busy(void)
{
	struct conn	*c;

	TAILQ_FOREACH(c, &conns, entry)
		if (c->in_request || c->out.len > c->out.off)
			return 1;
	return 0;
}

void
conn_init(void)
{
	ev_init(&accept_timer, accept_timer_cb);
}
