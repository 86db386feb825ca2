/*
 * startup.c: how long a server takes from its exec to its first answer.
 *
 *   startup -s SOCKET [-n RUNS] -- PROGRAM [ARGS...]
 *
 * Each run removes SOCKET (a unix socket path), starts PROGRAM and tries
 * to connect to SOCKET every 100 us; once connected it sends
 * "GET / HTTP/1.0" and reads the answer to its end. The time from just
 * before the fork to the end of that answer is printed, in ms, one line
 * per run. Then the server gets SIGTERM and is reaped. The server dies
 * with this program (PR_SET_PDEATHSIG), so it is never left behind.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One GET / over a fresh connection: 1 answered, 0 not yet, -1 error. */
static int
ask(const char *path)
{
	static const char	 req[] = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
	struct sockaddr_un	 sun;
	char			 buf[65536];
	size_t			 got = 0;
	ssize_t			 r;
	int			 fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		if (errno == ENOENT || errno == ECONNREFUSED)
			return 0;
		return -1;
	}
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		close(fd);
		return 0;
	}
	while ((r = read(fd, buf + got, sizeof(buf) - got)) > 0 &&
	    got + (size_t)r < sizeof(buf))
		got += (size_t)r;
	close(fd);
	if (got < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
		return 0;
	return 1;
}

int
main(int argc, char *argv[])
{
	const char	*path = NULL;
	double		 t0, t1;
	pid_t		 pid;
	int		 ch, runs = 1, i, r;

	while ((ch = getopt(argc, argv, "+s:n:")) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (path == NULL || optind >= argc)
		errx(2, "usage: startup -s SOCKET [-n RUNS] -- PROGRAM [ARGS]");
	for (i = 0; i < runs; i++) {
		unlink(path);
		t0 = now();
		if ((pid = fork()) == -1)
			err(1, "fork");
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			execv(argv[optind], argv + optind);
			err(127, "%s", argv[optind]);
		}
		while ((r = ask(path)) == 0) {
			if (waitpid(pid, NULL, WNOHANG) == pid)
				errx(1, "%s exited before answering",
				    argv[optind]);
			if (now() - t0 > 30) {
				kill(pid, SIGKILL);
				errx(1, "%s: no answer in 30 s", argv[optind]);
			}
			usleep(100);
		}
		t1 = now();
		if (r == -1) {
			kill(pid, SIGKILL);
			err(1, "connect %s", path);
		}
		printf("%.3f\n", (t1 - t0) * 1e3);
		fflush(stdout);
		kill(pid, SIGTERM);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	return 0;
}
