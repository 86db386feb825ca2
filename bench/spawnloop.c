/*
 * spawnloop.c: the machine's limit for starting processes, the baseline
 * for jobd's spawn benchmarks. Starts N copies of a program and waits for
 * each (or keeps W running at once), with stdin, stdout and stderr on
 * /dev/null as a job gets them.
 *
 *   spawnloop [-m posix_spawn|vfork] [-s] [-w WIDTH] N PROGRAM [ARGS...]
 *
 * -s: the child also calls setsid(), as a task of jobd does (to tell
 * what the kernel's part of that costs). Prints the wall time in seconds.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include <err.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char	**environ;

static char	**child_argv;
static int	  devnull, new_session;

static int
child(void *arg)
{
	(void)arg;
	if (new_session)
		setsid();
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(devnull, 2);
	execve(child_argv[0], child_argv, environ);
	_exit(127);
}

static pid_t
start(int use_vfork)
{
	static char			 stack[64 * 1024];
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	pid_t				 pid;

	if (use_vfork) {
		pid = clone(child, stack + sizeof(stack),
		    CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
		if (pid == -1)
			err(1, "clone");
		return pid;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, devnull, 1);
	posix_spawn_file_actions_adddup2(&fa, devnull, 2);
	posix_spawnattr_init(&attr);
	if (new_session)
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
	if (posix_spawn(&pid, child_argv[0], &fa, &attr, child_argv,
	    environ) != 0)
		err(1, "posix_spawn");
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return pid;
}

int
main(int argc, char *argv[])
{
	struct timespec	 t0, t1;
	int		 ch, use_vfork = 0, width = 1, n, running = 0, i;

	while ((ch = getopt(argc, argv, "+m:sw:")) != -1) {
		switch (ch) {
		case 'm':
			use_vfork = strcmp(optarg, "vfork") == 0;
			break;
		case 's':
			new_session = 1;
			break;
		case 'w':
			width = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (argc - optind < 2 || width < 1)
		errx(2, "usage: spawnloop [-m posix_spawn|vfork] [-s] [-w W] N PROG [ARGS]");
	n = atoi(argv[optind]);
	child_argv = argv + optind + 1;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		err(1, "/dev/null");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		if (running == width) {
			if (wait(NULL) == -1)
				err(1, "wait");
			running--;
		}
		start(use_vfork);
		running++;
	}
	while (running-- > 0)
		wait(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.6f\n", (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
