/*
 * ctl.c: jobd's end of jobinit's control channel (doc/activation.md). A
 * SOCK_SEQPACKET socket jobinit passes as the fd named "jobinit": jobd
 * stores the fds it holds for jobs there (STORE/REMOVE, SCM_RIGHTS), and
 * takes the exits of processes jobinit reaped (EXIT, answered with ACK
 * once recorded). Without jobinit there is no channel and every call here
 * does nothing.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd.h"

#define MSG_MAX		512

static int		 chan = -1;
static ev_io		 chan_io;
static void		(*on_exit_cb)(pid_t, int);
static unsigned long long acked, pending;	/* exit seqs */

int
ctl_active(void)
{
	return chan != -1;
}

static int
send_msg(const char *msg, int fd)
{
	struct msghdr	 m;
	struct iovec	 iov;
	union {
		struct cmsghdr	 h;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct cmsghdr	*c;
	struct pollfd	 pfd;

	memset(&m, 0, sizeof(m));
	iov.iov_base = (void *)msg;
	iov.iov_len = strlen(msg);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (fd != -1) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	/*
	 * jobinit reads at once; a full socket means it is busy, and a
	 * store must not be lost: wait for room, a second at most.
	 */
	for (;;) {
		if (sendmsg(chan, &m, MSG_NOSIGNAL | MSG_DONTWAIT) != -1)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			break;
		pfd.fd = chan;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 1000) <= 0)
			break;
	}
	log_warn("jobinit channel: %s", msg);
	return -1;
}

/* Keep fd in jobinit's store under name, for the next jobd. */
int
ctl_store(const char *name, int fd)
{
	char	 msg[MSG_MAX];

	if (chan == -1)
		return 0;
	snprintf(msg, sizeof(msg), "STORE %s", name);
	return send_msg(msg, fd);
}

void
ctl_remove(const char *name)
{
	char	 msg[MSG_MAX];

	if (chan == -1)
		return;
	snprintf(msg, sizeof(msg), "REMOVE %s", name);
	send_msg(msg, -1);
}

/* Exits up to the last one handled are recorded: jobinit forgets them. */
void
ctl_ack(void)
{
	char	 msg[64];

	if (chan == -1 || pending <= acked)
		return;
	snprintf(msg, sizeof(msg), "ACK %llu", pending);
	if (send_msg(msg, -1) == 0)
		acked = pending;
}

/* One message; 1 for READY, 0 otherwise, -1 when the channel is gone. */
static int
take(void)
{
	char			 msg[MSG_MAX + 1];
	unsigned long long	 seq;
	long			 pid;
	int			 status;
	ssize_t			 n;

	n = recv(chan, msg, MSG_MAX, MSG_DONTWAIT);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	msg[n] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (strcmp(msg, "READY") == 0)
		return 1;
	if (sscanf(msg, "EXIT %llu %ld %d", &seq, &pid, &status) == 3) {
		if (on_exit_cb != NULL)
			on_exit_cb((pid_t)pid, status);
		if (seq > pending)
			pending = seq;
		return 0;
	}
	log_warnx("jobinit channel: unknown message \"%.64s\"", msg);
	return 0;
}

static void
chan_cb(struct ev_loop *l, ev_io *w, int revents)
{
	int	 r = 0, n = 0;

	while (n++ < 256 && (r = take()) >= 0 && chan != -1) {
		struct pollfd	 pfd = { chan, POLLIN, 0 };

		if (poll(&pfd, 1, 0) <= 0)
			break;
	}
	if (r == -1) {
		log_warnx("jobinit channel closed");
		ev_io_stop(loop, &chan_io);
		close(chan);
		chan = -1;
		return;
	}
	job_persist();
	ctl_ack();
}

/*
 * Use fd as the channel: HELLO, then every exit jobinit kept while no
 * jobd was there comes (each to cb) before READY. Waits for READY a few
 * seconds at most: jobinit answers at once.
 */
int
ctl_open(int fd, void (*cb)(pid_t, int))
{
	struct pollfd	 pfd;
	int		 r, i;

	chan = fd;
	on_exit_cb = cb;
	if (send_msg("HELLO", -1) == -1)
		goto fail;
	for (i = 0; i < 500; i++) {
		pfd.fd = chan;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10) == -1 && errno != EINTR)
			goto fail;
		while ((r = take()) == 0) {
			pfd.revents = 0;
			if (poll(&pfd, 1, 0) <= 0)
				break;
		}
		if (r == 1)
			return 0;
		if (r == -1)
			goto fail;
	}
	log_warnx("jobinit channel: no READY after HELLO");
	return 0;
fail:
	log_warnx("jobinit channel unusable: running without it");
	close(chan);
	chan = -1;
	return -1;
}

/* From the loop on: live exits as jobinit reaps them. */
void
ctl_start(void)
{
	if (chan == -1)
		return;
	on_exit_cb = job_relayed;
	ev_io_init(&chan_io, chan_cb, chan, EV_READ);
	ev_io_start(loop, &chan_io);
}

int
ctl_fd(void)
{
	return chan;
}

void
ctl_close(void)
{
	if (chan == -1)
		return;
	ev_io_stop(loop, &chan_io);
	close(chan);
	chan = -1;
}
