/*
 * store.c: the state directory. One file per job, jobs/NAME.json, each
 * written whole to a temporary name and renamed over the old one, so a
 * kill -9 at any instant leaves the old or the new file, never a torn
 * one. A lock that dies with its holder keeps the directory to one jobd.
 * spawn.log is where a task's child writes its pid before exec, so a jobd
 * killed while starting a task learns the pid all the same.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobd.h"

static char	*dir;
static int	 dirfd_ = -1;
static int	 lockfd = -1;
static int	 spawnfd = -1;
static int	 spawn_used;	/* spawn.log has records */

const char *
store_dir(void)
{
	return dir;
}

/*
 * The default: beside jobd's first unix socket as SOCKET.state, or, with
 * no unix socket, jobd.state in the default socket's directory.
 */
int
store_default(char *out, size_t size)
{
	char		 path[PATH_MAX], *slash;
	const char	*env;
	size_t		 i;

	/* JOBD_STATE_DIR, as --state-dir, for a service manager or tests. */
	if ((env = getenv("JOBD_STATE_DIR")) != NULL && env[0] == '/') {
		snprintf(out, size, "%s", env);
		return 0;
	}
	for (i = 0; i < nlisteners; i++) {
		if (strncmp(listeners[i].ls.address, "unix:", 5) == 0) {
			snprintf(out, size, "%s.state",
			    listeners[i].ls.address + 5);
			return 0;
		}
	}
	if (listen_default(path, sizeof(path)) == -1)
		return -1;
	if ((slash = strrchr(path, '/')) != NULL)
		*slash = '\0';
	snprintf(out, size, "%s/jobd.state", path);
	return 0;
}

static int
own_dir(const char *path, char *err, size_t errlen)
{
	struct stat	 st;

	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "state directory %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == -1) {
		snprintf(err, errlen, "state directory %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state directory %s: not a directory "
		    "(a symlink is refused)", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "state directory %s belongs to uid %u, "
		    "not to jobd's uid %u", path, (unsigned)st.st_uid,
		    (unsigned)geteuid());
		return -1;
	}
	/* Anyone who could write in it could have planted a job. */
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "state directory %s is writable by "
		    "others (mode %04o): anyone could have planted a job in "
		    "it; make it 0700", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if ((st.st_mode & 07777) != 0700 && chmod(path, 0700) == -1) {
		snprintf(err, errlen, "state directory %s: chmod 0700: %s",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Take the directory: create it 0700 if missing, refuse one of another
 * owner, and lock it (flock: the lock goes with its holder, even killed).
 */
int
store_open(const char *path, char *err, size_t errlen)
{
	char	 sub[PATH_MAX], pid[32];
	ssize_t	 n;

	if (own_dir(path, err, errlen) == -1)
		return -1;
	if ((dir = strdup(path)) == NULL ||
	    (dirfd_ = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto sysfail;
	if ((lockfd = openat(dirfd_, "lock", O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		goto sysfail;
	if (flock(lockfd, LOCK_EX | LOCK_NB) == -1) {
		n = pread(lockfd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "state directory %s is in use by "
		    "another jobd (pid %s)", path, pid[0] ? pid : "unknown");
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(lockfd, 0) == -1 || pwrite(lockfd, pid, (size_t)n, 0) !=
	    n)
		goto sysfail;
	snprintf(sub, sizeof(sub), "%s/jobs", path);
	if (own_dir(sub, err, errlen) == -1)
		return -1;
	if ((spawnfd = openat(dirfd_, "spawn.log", O_RDWR | O_CREAT |
	    O_APPEND | O_CLOEXEC, 0600)) == -1)
		goto sysfail;
	return 0;
sysfail:
	snprintf(err, errlen, "state directory %s: %s", path, strerror(errno));
	return -1;
}

void
store_close(void)
{
	if (spawnfd != -1)
		close(spawnfd);
	if (dirfd_ != -1)
		close(dirfd_);
	if (lockfd != -1)
		close(lockfd);
	spawnfd = dirfd_ = lockfd = -1;
	free(dir);
	dir = NULL;
}

/* Write name in the state directory whole, or leave the old one. */
static int
replace(const char *name, const char *data, size_t len)
{
	char		 tmp[NAME_MAX + 16];
	const char	*p = data;
	ssize_t		 n;
	int		 fd, saved;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	if ((fd = openat(dirfd_, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) == -1)
		return -1;
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (renameat(dirfd_, tmp, dirfd_, name) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(dirfd_, tmp, 0);
	errno = saved;
	return -1;
}

/* The job's file, as it is now. -1 with errno if it cannot be written. */
int
store_save(const struct job *j)
{
	char	 name[NAME_MAX];
	char	*s;
	int	 r;

	if (dir == NULL)
		return 0;
	if ((s = json_job_state(j)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	snprintf(name, sizeof(name), "jobs/%s.json", j->name);
	r = replace(name, s, strlen(s));
	free(s);
	return r;
}

void
store_remove(const char *jobname)
{
	char	 name[NAME_MAX];

	if (dir == NULL)
		return;
	snprintf(name, sizeof(name), "jobs/%s.json", jobname);
	if (unlinkat(dirfd_, name, 0) == -1 && errno != ENOENT)
		log_warn("%s/%s", dir, name);
}

/* daemon.json: jobd's own counters. */
int
store_save_daemon(const char *text)
{
	if (dir == NULL)
		return 0;
	return replace("daemon.json", text, strlen(text));
}

/* A whole file of the directory, NUL-terminated; NULL if there is none. */
char *
store_read(const char *name, size_t *lenp)
{
	struct stat	 st;
	char		*s;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if (dir == NULL ||
	    (fd = openat(dirfd_, name, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || st.st_size > (off_t)1 << 30 ||
	    (s = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (len < (size_t)st.st_size &&
	    (n = read(fd, s + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	s[len] = '\0';
	*lenp = len;
	return s;
}

/*
 * A file that cannot be read whole or is not jobd's is moved aside, with
 * the reason in the log, never half-read and never deleted.
 */
void
store_set_aside(const char *name, const char *why)
{
	char	 aside[NAME_MAX + 32];

	snprintf(aside, sizeof(aside), "%s.bad-%lld", name,
	    (long long)time(NULL));
	if (renameat(dirfd_, name, dirfd_, aside) == -1)
		log_warn("%s/%s: cannot move aside", dir, name);
	log_warnx("%s/%s: %s; moved aside as %s", dir, name, why, aside);
}

/* Every job file's name (jobs/NAME.json), for the loader. */
int
store_list(char ***out, size_t *nout)
{
	DIR		*d;
	struct dirent	*de;
	char		**v = NULL, **nv;
	size_t		  n = 0, cap = 0, len;
	int		  fd;

	*out = NULL;
	*nout = 0;
	if (dir == NULL)
		return 0;
	if ((fd = openat(dirfd_, "jobs", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if (asprintf(&v[n], "jobs/%s", de->d_name) == -1)
			break;
		n++;
	}
	closedir(d);
	*out = v;
	*nout = n;
	return 0;
}

/*
 * spawn.log. The child of a task appends "NAME TASK PID\n" before exec
 * (one write, atomic with O_APPEND), so a pid is known even if jobd dies
 * between the start and the save that records it.
 */
int
store_spawn_fd(void)
{
	spawn_used = 1;
	return spawnfd;
}

/* Every task saved since: the records are no longer needed. */
void
store_spawn_done(void)
{
	if (spawn_used && spawnfd != -1 && ftruncate(spawnfd, 0) == 0)
		spawn_used = 0;
}

/* The pid a child of (name, task) wrote, or 0. */
pid_t
store_spawn_find(const char *jobname, int task)
{
	char		*s, *line, *next, name[JOBD_NAME_MAX + 1];
	size_t		 len;
	long		 pid = 0, p;
	int		 t;

	if ((s = store_read("spawn.log", &len)) == NULL)
		return 0;
	for (line = s; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			break;
		*next++ = '\0';
		if (sscanf(line, "%64s %d %ld", name, &t, &p) == 3 &&
		    t == task && strcmp(name, jobname) == 0)
			pid = p;
	}
	free(s);
	return (pid_t)pid;
}
