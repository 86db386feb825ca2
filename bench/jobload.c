/*
 * jobload.c: a small HTTP/1.1 load client for jobd, over a unix socket
 * or TCP, with keep-alive connections.
 *
 *   jobload -s SOCKET|-t HOST:PORT [-c CONNS] [-n REQUESTS] [-w]
 *           [-m METHOD] [-b BODYFILE] PATH
 *
 * PATH may hold "%d", replaced by the request number (for PUT /job/b%d).
 * -w: after each PUT, GET PATH?wait=60 before the next request, so a
 * job is started and finished per request. Prints one line: requests,
 * seconds, requests per second, then latency p50 and p99 in ms. Exits 1
 * if any answer was not 2xx.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct client {
	int	 fd;
	int	 step;		/* 0: request sent, 1: wait sent */
	long	 num;
	double	 t0;
	char	*in;		/* what has been read, NUL-terminated */
	size_t	 inlen, incap;
	size_t	 scanned;	/* bytes searched for the end of the head */
	size_t	 need;		/* length of the response, once its head is in */
	int	 status;
};

static const char	*sock_path, *tcp_addr, *method = "GET", *path_fmt;
static char		*body;
static size_t		 bodylen;
static int		 wait_each, bad;
static long		 next_num, total;
static double		*lat;
static long		 nlat;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dial(void)
{
	struct sockaddr_un	 sun;
	struct sockaddr_in	 sin;
	char			 host[64], *colon;
	int			 fd;

	if (sock_path != NULL) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		strncpy(sun.sun_path, sock_path, sizeof(sun.sun_path) - 1);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			err(1, "connect %s", sock_path);
		return fd;
	}
	snprintf(host, sizeof(host), "%s", tcp_addr);
	if ((colon = strrchr(host, ':')) == NULL)
		errx(2, "-t HOST:PORT");
	*colon = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(colon + 1));
	inet_pton(AF_INET, host, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "connect %s", tcp_addr);
	return fd;
}

static void
send_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "write");
		}
		p += w;
		n -= (size_t)w;
	}
}

static void
send_request(struct client *c)
{
	char	 path[512], head[1024];
	int	 n;

	snprintf(path, sizeof(path), path_fmt, c->num);
	if (c->step == 1) {
		n = snprintf(head, sizeof(head), "GET %s?wait=60 HTTP/1.1\r\n"
		    "Host: x\r\n\r\n", path);
		send_all(c->fd, head, (size_t)n);
		return;
	}
	c->t0 = now();
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: %zu\r\n\r\n", method, path, bodylen);
	send_all(c->fd, head, (size_t)n);
	if (bodylen > 0)
		send_all(c->fd, body, bodylen);
}

/*
 * A whole response in c->in? Returns its length, or 0. The head is
 * searched once, so a large answer (GET /jobs) costs linear time.
 */
static size_t
complete(struct client *c, int *status)
{
	char	*end, *cl, *p;
	size_t	 hlen, from;

	if (c->need == 0) {
		c->in[c->inlen] = '\0';
		from = c->scanned > 3 ? c->scanned - 3 : 0;
		if ((end = strstr(c->in + from, "\r\n\r\n")) == NULL) {
			c->scanned = c->inlen;
			return 0;
		}
		hlen = (size_t)(end - c->in) + 4;
		cl = NULL;
		for (p = c->in; p < end; p++)
			if ((*p == '\n') && strncasecmp(p + 1,
			    "Content-Length:", 15) == 0) {
				cl = p + 16;
				break;
			}
		if (cl == NULL)
			errx(1, "no Content-Length");
		c->need = hlen + strtoul(cl, NULL, 10);
		c->status = atoi(c->in + 9);
	}
	if (c->inlen < c->need)
		return 0;
	*status = c->status;
	hlen = c->need;
	c->need = 0;
	c->scanned = 0;
	return hlen;
}

static int
cmpd(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	struct client	*cs;
	struct pollfd	*pfd;
	FILE		*f;
	double		 t0, t1;
	long		 done = 0;
	int		 ch, conns = 1, i, status;
	ssize_t		 r;
	size_t		 len;

	total = 1000;
	while ((ch = getopt(argc, argv, "s:t:c:n:wm:b:")) != -1) {
		switch (ch) {
		case 's': sock_path = optarg; break;
		case 't': tcp_addr = optarg; break;
		case 'c': conns = atoi(optarg); break;
		case 'n': total = atol(optarg); break;
		case 'w': wait_each = 1; break;
		case 'm': method = optarg; break;
		case 'b':
			if ((f = fopen(optarg, "r")) == NULL)
				err(1, "%s", optarg);
			body = malloc(1 << 20);
			bodylen = fread(body, 1, 1 << 20, f);
			fclose(f);
			break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || (sock_path == NULL && tcp_addr == NULL))
		errx(2, "usage: jobload -s SOCK|-t HOST:PORT [-c N] [-n N] [-w] "
		    "[-m METHOD] [-b FILE] PATH");
	path_fmt = argv[optind];
	cs = calloc((size_t)conns, sizeof(*cs));
	pfd = calloc((size_t)conns, sizeof(*pfd));
	lat = calloc((size_t)total, sizeof(*lat));
	t0 = now();
	for (i = 0; i < conns && next_num < total; i++) {
		cs[i].fd = dial();
		cs[i].num = next_num++;
		send_request(&cs[i]);
	}
	conns = i;
	while (done < total) {
		for (i = 0; i < conns; i++) {
			pfd[i].fd = cs[i].fd;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)conns, 60000) <= 0)
			errx(1, "timeout");
		for (i = 0; i < conns; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (cs[i].incap - cs[i].inlen < 65536 + 1) {
				cs[i].incap = cs[i].incap * 2 + 65536 + 1;
				if ((cs[i].in = realloc(cs[i].in,
				    cs[i].incap)) == NULL)
					err(1, "realloc");
			}
			r = read(cs[i].fd, cs[i].in + cs[i].inlen,
			    cs[i].incap - 1 - cs[i].inlen);
			if (r <= 0)
				errx(1, "connection closed");
			cs[i].inlen += (size_t)r;
			while ((len = complete(&cs[i], &status)) > 0) {
				if (status < 200 || status > 299) {
					bad++;
					fprintf(stderr, "status %d\n", status);
				}
				memmove(cs[i].in, cs[i].in + len,
				    cs[i].inlen - len);
				cs[i].inlen -= len;
				if (wait_each && cs[i].step == 0) {
					cs[i].step = 1;
					send_request(&cs[i]);
					continue;
				}
				lat[nlat++] = now() - cs[i].t0;
				done++;
				cs[i].step = 0;
				if (next_num < total) {
					cs[i].num = next_num++;
					send_request(&cs[i]);
				}
			}
		}
	}
	t1 = now();
	qsort(lat, (size_t)nlat, sizeof(*lat), cmpd);
	printf("%ld %.6f %.1f %.3f %.3f\n", total, t1 - t0,
	    (double)total / (t1 - t0), lat[nlat / 2] * 1e3,
	    lat[(nlat * 99) / 100] * 1e3);
	return bad ? 1 : 0;
}
