/*
 * defer_test.c: a connection's deferred answer, with conn.c and http.c
 * and no route or job: the expiry answers when the time comes, and the
 * cancel callback runs when the client leaves first.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd.h"
#include "tap.h"

static int	 handled, expired, cancelled;
static double	 hold = 100;

static void
expire(struct conn *c, void *arg)
{
	expired++;
	http_respond(c, 200, NULL, "{}", 2);
}

static void
cancel(struct conn *c, void *arg)
{
	cancelled++;
}

static void
handler(struct conn *c)
{
	handled++;
	conn_defer(c, ev_now(loop) + hold, expire, cancel, NULL);
}

static void
turn(int n)
{
	while (n-- > 0) {
		ev_run(loop, EVRUN_NOWAIT);
		conn_prepare();
		ev_sleep(0.01);
	}
}

static int
client(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;
	static const char	 req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		perror("client");
		exit(1);
	}
	return fd;
}

int
main(void)
{
	struct listener		 l;
	struct laddr		 la;
	char			 path[64], err[256], buf[512];
	ssize_t			 n;
	int			 fd, i;

	loop = ev_default_loop(0);
	conn_init();
	http_serve(handler);
	snprintf(path, sizeof(path), "/tmp/defer_test.%ld", (long)getpid());
	memset(&l, 0, sizeof(l));
	if (listen_parse(path, &la, err, sizeof(err)) == -1 ||
	    listen_bind(&la, 0600, 0, &l.ls, err, sizeof(err)) == -1) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	/* As main.c does: accept until EAGAIN. */
	fcntl(l.ls.fd, F_SETFL, fcntl(l.ls.fd, F_GETFL) | O_NONBLOCK);
	conn_listen(&l);

	/* The client leaves while its answer is held: cancel, no expiry. */
	fd = client(path);
	for (i = 0; i < 300 && handled == 0; i++)
		turn(1);
	ok(handled == 1, "the request reached the handler");
	close(fd);
	for (i = 0; i < 300 && cancelled == 0; i++)
		turn(1);
	ok(cancelled == 1 && expired == 0, "the cancel ran when the client "
	    "left (cancelled %d, expired %d)", cancelled, expired);
	ok(conn_count() == 0, "the connection is gone");

	/* Held for a moment: the expiry answers and the client reads it. */
	hold = 0.05;
	fd = client(path);
	for (i = 0; i < 300 && expired == 0; i++)
		turn(1);
	ok(expired == 1 && cancelled == 1, "the expiry ran once, no cancel");
	turn(2);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	ok(n > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0, "the held answer "
	    "went out");
	close(fd);
	for (i = 0; i < 300 && conn_count() != 0; i++)
		turn(1);
	ok(cancelled == 1, "a connection closed after its answer cancels "
	    "nothing");

	conn_close_all();
	conn_unlisten(&l);
	listen_close(&l.ls);
	ev_loop_destroy(loop);
	return tap_done();
}
