/*
 * cgroup.c: a cgroup v2 directory per job, when jobd can make one. Every
 * process a job starts is in it, whatever it does with its process
 * group, so a stop kills the whole job (cgroup.kill) and the job ends
 * only once nothing of it is left (cgroup.events says "populated 0").
 *
 * The jobs' cgroups are under a base directory of this jobd: in its own
 * cgroup, <own>/jobs; or, for a jobd in the root cgroup (as under
 * jobinit or a plain shell), a directory of its own beside it,
 * jobd-<hash of the state directory>, so that two jobds never share one.
 * The cgroup2 mount is found in /proc/self/mountinfo: /sys/fs/cgroup on
 * a pure v2 host, /sys/fs/cgroup/unified on a hybrid one.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd.h"

static char	 base[PATH_MAX];
static int	 basefd = -1;
static char	 why[256] = "cgroup v2 is not set up yet";
static char	 enabled[256];		/* the base's subtree_control */
static int	 inofd = -1;
static ev_io	 inoio;

/* Cgroups killed and waiting to be empty, to be removed. */
struct doomed {
	char	*name;
	int	 tries;
};
static struct doomed	*doomed;
static size_t		 ndoomed;
static ev_timer		 doomtimer;

static void	 ino_cb(struct ev_loop *, ev_io *, int);
static void	 doom(const char *);
static void	 undoom(const char *);

/* The cgroup2 mount point, from /proc/self/mountinfo. */
static int
find_mount(char *out, size_t size)
{
	FILE	*f;
	char	 line[4096], *p, *mnt, *sep;
	int	 i, found = -1;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return -1;
	while (found == -1 && fgets(line, sizeof(line), f) != NULL) {
		/* id parent maj:min root mountpoint opts... - type ... */
		if ((sep = strstr(line, " - ")) == NULL ||
		    strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		p = line;
		for (i = 0; i < 4 && p != NULL; i++)
			if ((p = strchr(p, ' ')) != NULL)
				p++;
		if (p == NULL)
			continue;
		mnt = p;
		if ((p = strchr(mnt, ' ')) == NULL)
			continue;
		*p = '\0';
		/* Octal escapes (\040) in a mount point: not ours to use. */
		if (strchr(mnt, '\\') == NULL &&
		    (size_t)snprintf(out, size, "%s", mnt) < size)
			found = 0;
	}
	fclose(f);
	return found;
}

/* jobd's own cgroup in the v2 hierarchy ("0::/path"). */
static int
own_cgroup(char *out, size_t size)
{
	FILE	*f;
	char	 line[4096];
	int	 found = -1;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return -1;
	while (found == -1 && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if ((size_t)snprintf(out, size, "%s", line + 3) < size)
			found = 0;
	}
	fclose(f);
	return found;
}

static int
write_at(int dirfd, const char *file, const char *text)
{
	ssize_t	 n;
	int	 fd, e;

	if ((fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, text, strlen(text));
	e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static ssize_t
read_at(int dirfd, const char *file, char *buf, size_t size)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/*
 * Find where the jobs' cgroups go and make it; without it, jobs run
 * without cgroups (and asking for a controller limit is 422 with why).
 */
void
cgroup_init(void)
{
	static const char *const ctl[] = { "memory", "pids", "cpu" };
	char		 mnt[PATH_MAX], own[PATH_MAX], plus[32];
	const char	*dir = store_dir();
	size_t		 i;

	if (conf.no_cgroup) {
		snprintf(why, sizeof(why), "jobd runs with --no-cgroup");
		return;
	}
	if (find_mount(mnt, sizeof(mnt)) == -1) {
		snprintf(why, sizeof(why), "no cgroup2 file system is mounted");
		return;
	}
	if (own_cgroup(own, sizeof(own)) == -1) {
		snprintf(why, sizeof(why), "jobd's cgroup v2 is unknown "
		    "(/proc/self/cgroup)");
		return;
	}
	if (strcmp(own, "/") == 0)
		snprintf(base, sizeof(base), "%s/jobd-%016llx", mnt,
		    (unsigned long long)(dir != NULL ? hash_str(dir) :
		    hash_int((uint64_t)getpid())));
	else
		snprintf(base, sizeof(base), "%s%s/jobs", mnt, own);
	if ((mkdir(base, 0755) == -1 && errno != EEXIST) ||
	    (basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(why, sizeof(why), "cannot make %s: %s", base,
		    strerror(errno));
		base[0] = '\0';
		return;
	}
	/* The controllers the parent offers, for each job's cgroup. */
	for (i = 0; i < nitems(ctl); i++) {
		snprintf(plus, sizeof(plus), "+%s", ctl[i]);
		(void)write_at(basefd, "cgroup.subtree_control", plus);
	}
	if (read_at(basefd, "cgroup.subtree_control", enabled,
	    sizeof(enabled)) == -1)
		enabled[0] = '\0';
	enabled[strcspn(enabled, "\n")] = '\0';
	if ((inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) != -1) {
		ev_io_init(&inoio, ino_cb, inofd, EV_READ);
		ev_io_start(loop, &inoio);
	}
	log_info("jobs' cgroups in %s (controllers: %s)", base,
	    enabled[0] != '\0' ? enabled : "none");
}

/* At exit: the base goes if no job's cgroup is left in it. */
void
cgroup_close(void)
{
	if (inofd != -1) {
		ev_io_stop(loop, &inoio);
		close(inofd);
		inofd = -1;
	}
	if (ev_is_active(&doomtimer))
		ev_timer_stop(loop, &doomtimer);
	while (ndoomed > 0) {
		ndoomed--;
		(void)unlinkat(basefd, doomed[ndoomed].name, AT_REMOVEDIR);
		free(doomed[ndoomed].name);
	}
	free(doomed);
	doomed = NULL;
	if (basefd != -1) {
		close(basefd);
		basefd = -1;
		(void)rmdir(base);
	}
}

static int
has_controller(const char *name)
{
	const char	*p = enabled;
	size_t		 n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == enabled || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

/*
 * At PUT: the controllers the job's limits need are there, else 422
 * naming the controller and the cgroup.
 */
int
cgroup_check(const struct job *j, struct jerr *e)
{
	static const struct {
		const char	*field, *controller;
		size_t		 off;
	} lims[] = {
		{ "memory_max", "memory", offsetof(struct job, cg_memory_max) },
		{ "pids_max", "pids", offsetof(struct job, cg_pids_max) },
		{ "cpu_max", "cpu", offsetof(struct job, cg_cpu_max) },
	};
	size_t	 i;

	for (i = 0; i < nitems(lims); i++) {
		if (*(char *const *)(const void *)((const char *)j +
		    lims[i].off) == NULL)
			continue;
		if (basefd == -1)
			return err_set(e, 422, -1, -1, NULL, "cgroup.%s needs "
			    "the %s controller, and this jobd has no cgroup: "
			    "%s", lims[i].field, lims[i].controller, why);
		if (!has_controller(lims[i].controller))
			return err_set(e, 422, -1, -1, NULL, "cgroup.%s needs "
			    "the %s controller, which is not enabled in %s "
			    "(cgroup.subtree_control: \"%s\")", lims[i].field,
			    lims[i].controller, base, enabled);
	}
	return 0;
}

/* The job's cgroup, made (or found again by a restarted jobd). */
int
cgroup_open(struct job *j, int make, struct jerr *e)
{
	char	 path[PATH_MAX + 128];
	int	 fd;

	if (basefd == -1 || j->cgroup)
		return 0;
	undoom(j->name);
	if (make && mkdirat(basefd, j->name, 0755) == -1 && errno != EEXIST)
		return err_set(e, 422, -1, -1, NULL, "cannot make the job's "
		    "cgroup %s/%s: %s", base, j->name, strerror(errno));
	if ((fd = openat(basefd, j->name, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		if (!make)
			return 0;
		return err_set(e, 422, -1, -1, NULL, "cannot open the job's "
		    "cgroup %s/%s: %s", base, j->name, strerror(errno));
	}
	j->cgroup = 1;
	if ((j->cg_memory_max != NULL &&
	    write_at(fd, "memory.max", j->cg_memory_max) == -1) ||
	    (j->cg_pids_max != NULL &&
	    write_at(fd, "pids.max", j->cg_pids_max) == -1) ||
	    (j->cg_cpu_max != NULL &&
	    write_at(fd, "cpu.max", j->cg_cpu_max) == -1)) {
		close(fd);
		return err_set(e, 422, -1, -1, NULL, "cannot set the limits "
		    "of the job's cgroup %s/%s: %s", base, j->name,
		    strerror(errno));
	}
	close(fd);
	if (inofd != -1) {
		snprintf(path, sizeof(path), "%s/%s/cgroup.events", base,
		    j->name);
		if ((j->cgwd = inotify_add_watch(inofd, path, IN_MODIFY)) ==
		    -1)
			log_warn("job %s: inotify on its cgroup", j->name);
	}
	return 0;
}

/* The base's fd: a task's child joins base/<job>/cgroup.procs. */
int
cgroup_dirfd(void)
{
	return basefd;
}

/* A file of the job's cgroup, read or written. */
static ssize_t
job_read(const struct job *j, const char *file, char *buf, size_t size)
{
	char	 path[JOBD_NAME_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", j->name, file);
	return read_at(basefd, path, buf, size);
}

static int
job_write(const struct job *j, const char *file, const char *text)
{
	char	 path[JOBD_NAME_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", j->name, file);
	return write_at(basefd, path, text);
}

/* Is anything of the job left in its cgroup? */
int
cgroup_populated(const struct job *j)
{
	char	 buf[256], *p;

	if (!j->cgroup || job_read(j, "cgroup.events", buf, sizeof(buf)) <= 0)
		return 0;
	return (p = strstr(buf, "populated ")) != NULL && p[10] == '1';
}

/* Every process of the job, killed: cgroup.kill, or one by one. */
void
cgroup_kill(const struct job *j)
{
	char	 buf[4096], *p, *end;
	long	 pid;
	int	 round;

	if (!j->cgroup)
		return;
	if (job_write(j, "cgroup.kill", "1") == 0)
		return;
	/* A kernel before 5.14: a few rounds, for what forks meanwhile. */
	for (round = 0; round < 8 && cgroup_populated(j); round++) {
		if (job_read(j, "cgroup.procs", buf, sizeof(buf)) <= 0)
			break;
		for (p = buf; *p != '\0'; p = end) {
			pid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
		}
	}
}

/* The job is forgotten: its cgroup goes (emptied first if it must). */
void
cgroup_remove(struct job *j)
{
	if (!j->cgroup)
		return;
	if (inofd != -1 && j->cgwd != -1)
		(void)inotify_rm_watch(inofd, j->cgwd);
	if (cgroup_populated(j))
		cgroup_kill(j);
	j->cgroup = 0;
	j->cgwd = -1;
	errno = 0;
	if (unlinkat(basefd, j->name, AT_REMOVEDIR) == -1 && errno == EBUSY)
		doom(j->name);
	else if (errno != ENOENT && errno != 0)
		log_warn("job %s: its cgroup %s/%s stays", j->name, base,
		    j->name);
}

/* Killed cgroups not yet empty: removed as soon as they are. */
static void
doomed_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	size_t	 i, k = 0;

	for (i = 0; i < ndoomed; i++) {
		if (unlinkat(basefd, doomed[i].name, AT_REMOVEDIR) == 0 ||
		    errno == ENOENT) {
			free(doomed[i].name);
			continue;
		}
		if (++doomed[i].tries > 100) {
			log_warn("its cgroup %s/%s stays", base,
			    doomed[i].name);
			free(doomed[i].name);
			continue;
		}
		doomed[k++] = doomed[i];
	}
	ndoomed = k;
	if (ndoomed == 0)
		ev_timer_stop(loop, &doomtimer);
}

/* A job of that name again: its cgroup is its own now. */
static void
undoom(const char *name)
{
	size_t	 i;

	for (i = 0; i < ndoomed; i++)
		if (strcmp(doomed[i].name, name) == 0) {
			free(doomed[i].name);
			doomed[i] = doomed[--ndoomed];
			return;
		}
}

static void
doom(const char *name)
{
	struct doomed	*d;

	if ((d = reallocarray(doomed, ndoomed + 1, sizeof(*d))) == NULL ||
	    (d[ndoomed].name = strdup(name)) == NULL) {
		if (d != NULL)
			doomed = d;
		log_warn("cgroup %s/%s stays", base, name);
		return;
	}
	doomed = d;
	doomed[ndoomed++].tries = 0;
	if (!ev_is_active(&doomtimer)) {
		ev_timer_init(&doomtimer, doomed_cb, 0.05, 0.05);
		ev_timer_start(loop, &doomtimer);
	}
}

/* The job's cgroup, for the status; NULL without one. */
int
cgroup_path(const struct job *j, char *out, size_t size)
{
	if (!j->cgroup)
		return -1;
	snprintf(out, size, "%s/%s", base, j->name);
	return 0;
}

/* A cgroup.events changed: the job with that watch hears of it. */
static void
ino_cb(struct ev_loop *l, ev_io *w, int revents)
{
	char				 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*ev;
	ssize_t				 n;
	char				*p;

	while ((n = read(inofd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			job_cgroup_changed(ev->wd);
		}
}
