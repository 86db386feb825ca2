/*
 * spawn.c: starting a task. Credentials are resolved at PUT; each start
 * prepares everything in jobd (argv, environment, PATH candidates, held
 * fds) and then runs a vfork-style child: clone(CLONE_VM|CLONE_VFORK) on
 * a stack of its own, so the cost does not grow with jobd's memory. The
 * child calls only async-signal-safe functions and reports the step and
 * errno of a failure before it _exits: in the memory it shares with jobd,
 * or, where it does not (valgrind), through a close-on-exec pipe whose
 * EOF means exec succeeded.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <net/if.h>

#include "jobd.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC	(1U << 2)
#endif

#define SPAWN_STACK	(64 * 1024)

enum step {
	STEP_SETSID,
	STEP_GROUPS,
	STEP_SETGID,
	STEP_SETUID,
	STEP_OPEN,
	STEP_FD,
	STEP_CHDIR,
	STEP_RLIMIT,
	STEP_NNP,
	STEP_CGROUP,
	STEP_LO,
	STEP_PRIVATE,
	STEP_HIDE,
	STEP_READONLY,
	STEP_EXEC
};

/*
 * Task "limits", by name; nofile first (set last, after the fds) and
 * fsize (set after the spawn log's record) where they are used.
 */
#define RL_FSIZE	5
static const struct {
	const char	*name;
	int		 resource;
	const char	*field;
} rlimits[JOBD_NRLIMITS] = {
	{ "nofile",	RLIMIT_NOFILE,	"limits.nofile" },
	{ "nproc",	RLIMIT_NPROC,	"limits.nproc" },
	{ "core",	RLIMIT_CORE,	"limits.core" },
	{ "as",		RLIMIT_AS,	"limits.as" },
	{ "cpu",	RLIMIT_CPU,	"limits.cpu" },
	{ "fsize",	RLIMIT_FSIZE,	"limits.fsize" },
	{ "memlock",	RLIMIT_MEMLOCK,	"limits.memlock" },
	{ "stack",	RLIMIT_STACK,	"limits.stack" },
};

int
spawn_rlimit_index(const char *name)
{
	int	 i;

	for (i = 0; i < JOBD_NRLIMITS; i++)
		if (strcmp(rlimits[i].name, name) == 0)
			return i;
	return -1;
}

const char *
spawn_rlimit_names(void)
{
	return "nofile, nproc, core, as, cpu, fsize, memlock, stack";
}

struct report {
	int	 step;
	int	 index;
	int	 err;
};

struct spawn {
	const struct task	*t;
	char			**envp;
	char			**paths;	/* exec candidates */
	char			*pidslot;	/* digits of LISTEN_PID */
	int			 src[JOBD_MAX_FDS];	/* held fds */
	char			**hide;		/* isolate mount: paths */
	char			 cgprocs[JOBD_NAME_MAX + 16];	/* in base */
	int			 errfd;		/* -1: report in rep */
	int			 logfd;		/* spawn.log, or -1 */
	char			 logrec[JOBD_NAME_MAX + 48];
	size_t			 loglen;	/* "NAME TASK " */
	pid_t			 parent;	/* jobd */
	int			 saw_eacces;
	volatile int		 reported;
	struct report		 rep;
};

static char		 stack[SPAWN_STACK] __attribute__((aligned(16)));
static struct rlimit	 task_nofile;
static int		 handled[NSIG];	/* signals not at SIG_DFL in jobd */
static int		 nhandled;
static int		 shared;	/* the child writes into our memory */
static uid_t		 euid;		/* jobd's effective ids, which */
static gid_t		 egid;		/* it never changes */
static int		 own_ids;	/* real, effective, saved agree */
static int		 own_groups;	/* jobd has supplementary groups */

/*
 * Does the child really share our memory? Not under valgrind, which runs
 * clone(CLONE_VM|CLONE_VFORK) as a fork: then failures come back through
 * a pipe, as they must.
 */
static int
probe(void *arg)
{
	*(volatile int *)arg = 1;
	_exit(0);
}

static int
shares_memory(void)
{
	volatile int	 flag = 0;
	pid_t		 pid;

	pid = clone(probe, stack + sizeof(stack), CLONE_VM | CLONE_VFORK |
	    SIGCHLD, (void *)&flag);
	if (pid == -1)
		return 0;
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	return flag;
}

/*
 * Once jobd's own handlers are in place: the rlimit jobd had before it
 * raised its own (tasks get that one), and which signals a child must
 * reset to default (jobd's handlers and what it ignores, glibc's own,
 * and anything jobd's parent left ignored). Asking the kernel once here
 * spares each child sixty-odd system calls while jobd waits for it.
 */
void
spawn_init(const struct rlimit *nofile)
{
	uint64_t	 old[4];
	uid_t		 ru, eu, su;
	gid_t		 rg, eg, sg;
	int		 i;

	task_nofile = *nofile;
	fd_init();
	shared = shares_memory();
	euid = geteuid();
	egid = getegid();
	own_ids = getresuid(&ru, &eu, &su) == 0 &&
	    getresgid(&rg, &eg, &sg) == 0 &&
	    ru == eu && eu == su && rg == eg && eg == sg;
	own_groups = getgroups(0, NULL) != 0;
	nhandled = 0;
	for (i = 1; i < NSIG; i++) {
		if (i == SIGKILL || i == SIGSTOP)
			continue;
		memset(old, 0, sizeof(old));
		if (syscall(SYS_rt_sigaction, i, NULL, old,
		    (size_t)(NSIG / 8)) == 0 && old[0] == (uint64_t)SIG_DFL)
			continue;
		handled[nhandled++] = i;
	}
}

static int
parse_id(const char *s, unsigned long *out)
{
	char	*end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno != 0 || *end != '\0' || *out >= 4294967295UL ? -1 : 0;
}

/*
 * Look up user and group (a "#N" is a number as written in JSON; a name
 * made of digits that names nobody is taken as a number, as chown does).
 * "user" alone brings its primary and supplementary groups; neither
 * keeps jobd's ids with no supplementary groups. jobd not root: only its
 * own ids, and nothing is changed (403 otherwise).
 */
int
spawn_resolve(struct task *t, struct jerr *e)
{
	struct passwd	*pw = NULL;
	struct group	*gr;
	unsigned long	 id;
	char		 v[128];
	uid_t		 uid = euid;
	gid_t		 gid = egid;
	int		 n;

	if (t->user != NULL) {
		if (t->user[0] == '#') {
			parse_id(t->user + 1, &id);
			uid = (uid_t)id;
			pw = getpwuid(uid);
		} else if ((pw = getpwnam(t->user)) != NULL)
			uid = pw->pw_uid;
		else if (parse_id(t->user, &id) == 0)
			uid = (uid_t)id;
		else
			return err_set(e, 400, t->index, -1, "user",
			    "unknown user \"%s\"", err_value(t->user, v,
			    sizeof(v)));
		if (pw != NULL)
			gid = pw->pw_gid;
	}
	if (t->group != NULL) {
		if (t->group[0] == '#') {
			parse_id(t->group + 1, &id);
			gid = (gid_t)id;
		} else if ((gr = getgrnam(t->group)) != NULL)
			gid = gr->gr_gid;
		else if (parse_id(t->group, &id) == 0)
			gid = (gid_t)id;
		else
			return err_set(e, 400, t->index, -1, "group",
			    "unknown group \"%s\"", err_value(t->group, v,
			    sizeof(v)));
	}
	if (euid != 0 && t->isolate)
		return err_set(e, 422, t->index, -1, "isolate", "namespaces "
		    "need privileges this jobd lacks: it is not root");
	if (euid != 0) {
		if (uid != euid)
			return err_set(e, 403, t->index, -1, "user", "jobd is not "
			    "root and can only run tasks as its own user "
			    "(uid %u)", (unsigned)euid);
		if (gid != egid && (t->user == NULL || t->group != NULL))
			return err_set(e, 403, t->index, -1, "group", "jobd is not "
			    "root and can only run tasks with its own "
			    "group (gid %u)", (unsigned)egid);
		t->set_ids = 0;
		return 0;
	}
	/* Never root's group because none was given. */
	if (t->user != NULL && pw == NULL && t->group == NULL)
		return err_set(e, 422, t->index, -1, "user", "user %u has no "
		    "passwd entry, hence no group: give one in \"group\"",
		    (unsigned)uid);
	t->set_ids = 1;
	t->uid = uid;
	t->gid = gid;
	free(t->groups);
	t->groups = NULL;
	t->ngroups = 0;
	if (t->user != NULL && pw != NULL) {
		n = 16;
		for (;;) {
			if ((t->groups = reallocarray(t->groups, (size_t)n,
			    sizeof(gid_t))) == NULL)
				return err_set(e, 500, t->index, -1,
				    "user", "out of memory");
			if (getgrouplist(pw->pw_name, gid, t->groups, &n) != -1)
				break;
		}
		t->ngroups = n;
	}
	return 0;
}

static void
report(struct spawn *s, int step, int index, int err)
{
	struct report	 r = { step, index, err };

	s->rep = r;
	s->reported = 1;
	if (s->errfd != -1)
		(void)!write(s->errfd, &r, sizeof(r));
	_exit(127);
}

/*
 * The child. It shares jobd's memory while jobd is suspended, so it must
 * not allocate, lock or touch anything but its own stack and *s. Ids are
 * changed with raw system calls: glibc's wrappers may try to signal other
 * threads of the process, which here is jobd.
 */
/*
 * In the child, in the namespaces clone made: lo up in a new network
 * namespace; in a new mount namespace, nothing propagates back, the
 * hidden paths are covered by an empty read-only tmpfs and the read-only
 * ones bound over themselves read-only. While still root: mount needs it.
 */
__attribute__((no_sanitize("address", "undefined")))
static void
isolate(struct spawn *s, const struct task *t)
{
	struct ifreq	 ifr;
	char *const	*p;
	int		 fd, i;

	if (t->isolate & ISOLATE_NET) {
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, "lo", 3);
		if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
		    ioctl(fd, SIOCGIFFLAGS, &ifr) == -1)
			report(s, STEP_LO, 0, errno);
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) == -1)
			report(s, STEP_LO, 0, errno);
		close(fd);
	}
	if (!(t->isolate & ISOLATE_MOUNT))
		return;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		report(s, STEP_PRIVATE, 0, errno);
	p = s->hide;
	for (i = 0; p != NULL && p[i] != NULL; i++)
		if (mount("jobd-hide", p[i], "tmpfs", MS_RDONLY | MS_NOSUID |
		    MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") == -1 &&
		    errno != ENOENT)
			report(s, STEP_HIDE, i, errno);
	p = t->readonly;
	for (i = 0; p != NULL && p[i] != NULL; i++)
		if (mount(p[i], p[i], NULL, MS_BIND | MS_REC, NULL) == -1 ||
		    mount(NULL, p[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY,
		    NULL) == -1)
			report(s, STEP_READONLY, i, errno);
}

__attribute__((no_sanitize("address", "undefined")))
static int
child(void *arg)
{
	struct spawn		*s = arg;
	const struct task	*t = s->t;
	const struct fdspec	*f;
	uint64_t		 dfl[4] = { 0, 0, 0, 0 };
	sigset_t		 none;
	int			 tmp[JOBD_MAX_FDS], i, fd, base, err;
	char			 digits[16], *p;
	pid_t			 pid;

	/*
	 * Default dispositions, with the raw system call because glibc's
	 * sigaction refuses its internal signals: SIG_DFL with no flags and
	 * an empty mask is all zeroes in the kernel's struct, whatever its
	 * layout (and the handler comes first in every layout).
	 */
	for (i = 0; i < nhandled; i++)
		(void)syscall(SYS_rt_sigaction, handled[i], dfl, NULL,
		    (size_t)(NSIG / 8));
	/*
	 * Until its pid is in the spawn log, a child whose jobd dies must
	 * not go on to exec: the next jobd, finding no record, starts the
	 * task itself. So it dies with jobd until then.
	 */
	if (s->logfd != -1 &&
	    (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1 ||
	    syscall(SYS_getppid) != s->parent))
		_exit(127);

	/* Into the job's cgroup first: all it starts is in it. */
	if (s->cgprocs[0] != '\0') {
		if ((fd = openat(cgroup_dirfd(), s->cgprocs, O_WRONLY |
		    O_CLOEXEC)) == -1 || write(fd, "0", 1) != 1)
			report(s, STEP_CGROUP, 0, errno);
		close(fd);
	}
	if (t->isolate)
		isolate(s, t);
	if (setsid() == -1)
		report(s, STEP_SETSID, 0, errno);
	/* Limits while still privileged (a hard limit may go up as root). */
	for (i = 1; i < JOBD_NRLIMITS; i++)
		if ((t->limits_set >> i & 1) && i != RL_FSIZE &&
		    setrlimit(rlimits[i].resource, &t->limits[i]) == -1)
			report(s, STEP_RLIMIT, i, errno);
	/* Only the changes there are to make: each call is time jobd waits. */
	if (t->set_ids) {
		if ((t->ngroups > 0 || own_groups) &&
		    syscall(SYS_setgroups, (size_t)t->ngroups, t->groups) == -1)
			report(s, STEP_GROUPS, 0, errno);
		if ((!own_ids || t->gid != egid) &&
		    syscall(SYS_setresgid, t->gid, t->gid, t->gid) == -1)
			report(s, STEP_SETGID, 0, errno);
		if ((!own_ids || t->uid != euid) &&
		    syscall(SYS_setresuid, t->uid, t->uid, t->uid) == -1)
			report(s, STEP_SETUID, 0, errno);
	}

	/* Files the task's fds create are made with its umask. */
	if (t->umask >= 0)
		(void)umask((mode_t)t->umask);
	/*
	 * Open every fd as the task's user, then move it above the target
	 * range before any is put in place, so none is overwritten early.
	 */
	base = t->nfds;
	if (s->errfd != -1 && s->errfd < base &&
	    (s->errfd = fcntl(s->errfd, F_DUPFD_CLOEXEC, base)) == -1)
		_exit(127);
	if (s->logfd != -1 && s->logfd < base &&
	    (s->logfd = fcntl(s->logfd, F_DUPFD_CLOEXEC, base)) == -1)
		s->logfd = -1;
	for (i = 0; i < t->nfds; i++) {
		f = &t->fds[i];
		tmp[i] = -1;
		if (f->kind == FD_CLOSED)
			continue;
		if ((fd = fd_open_child(f, s->src[i])) == -1)
			report(s, STEP_OPEN, i, errno);
		if ((tmp[i] = fcntl(fd, F_DUPFD_CLOEXEC, base)) == -1)
			report(s, STEP_FD, i, errno);
		if (fd_child_owned(fd, s->src[i]))
			close(fd);
	}
	for (i = 0; i < t->nfds; i++) {
		if (tmp[i] == -1)
			close(i);
		else if (dup2(tmp[i], i) == -1)
			report(s, STEP_FD, i, errno);
	}
	/* No other fd crosses exec, whatever jobd's parent left open. */
	if (syscall(SYS_close_range, (unsigned)base, ~0U,
	    CLOSE_RANGE_CLOEXEC) == -1) {
		for (fd = base; fd < 65536; fd++)
			if (fd != s->errfd)
				(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}

	if (chdir(t->cwd) == -1)
		report(s, STEP_CHDIR, 0, errno);
	pid = (pid_t)syscall(SYS_getpid);
	p = digits + sizeof(digits);
	*--p = '\0';
	do {
		*--p = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0);
	if (s->pidslot != NULL) {
		for (i = 0; p[i] != '\0'; i++)
			s->pidslot[i] = p[i];
		s->pidslot[i] = '\0';
	}
	if (s->logfd != -1) {
		/* "NAME TASK PID\n", one write: jobd may die any moment. */
		for (i = 0; p[i] != '\0'; i++)
			s->logrec[s->loglen + (size_t)i] = p[i];
		s->logrec[s->loglen + (size_t)i] = '\n';
		(void)!write(s->logfd, s->logrec, s->loglen + (size_t)i + 1);
		/* On record: from here on the task outlives jobd. */
		(void)syscall(SYS_prctl, PR_SET_PDEATHSIG, 0, 0, 0, 0);
	}
	if (setrlimit(RLIMIT_NOFILE, t->limits_set & 1 ? &t->limits[0] :
	    &task_nofile) == -1)
		report(s, STEP_RLIMIT, 0, errno);
	/* After the spawn log's write, which a small fsize would stop. */
	if ((t->limits_set >> RL_FSIZE & 1) &&
	    setrlimit(RLIMIT_FSIZE, &t->limits[RL_FSIZE]) == -1)
		report(s, STEP_RLIMIT, RL_FSIZE, errno);
	if (t->no_new_privs &&
	    syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		report(s, STEP_NNP, 0, errno);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	err = ENOENT;
	for (i = 0; s->paths[i] != NULL; i++) {
		execve(s->paths[i], t->argv, s->envp);
		err = errno;
		if (err == EACCES)
			s->saw_eacces = 1;
		else if (err != ENOENT && err != ENOTDIR)
			break;
	}
	if (s->saw_eacces && (err == ENOENT || err == ENOTDIR))
		err = EACCES;
	report(s, STEP_EXEC, 0, err);
	return 127;
}

static int
env_is(const char *kv, const char *name)
{
	size_t	 n = strlen(name);

	return strncmp(kv, name, n) == 0 && kv[n] == '=';
}

static void
free_vec(char **v)
{
	char	**p;

	if (v == NULL)
		return;
	for (p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

/*
 * The task's environment: exactly envs, plus LISTEN_* when fd 3 onwards
 * begins with sockets, plus _LAST_EXIT after the first task.
 */
static char **
make_env(const struct task *t, const char *last_exit, char **pidslot)
{
	char		**env, names[JOBD_MAX_FDS * 256 + 16];
	const char	*name;
	size_t		  n = 0, i, len = 0;
	int		  k = 0, fd;

	for (fd = 3; fd < t->nfds; fd++) {
		if (!fd_is_listen(&t->fds[fd]))
			break;
		name = t->fds[fd].name ? t->fds[fd].name : "socket";
		len += (size_t)snprintf(names + len, sizeof(names) - len,
		    "%s%s", k ? ":" : "", name);
		k++;
	}
	*pidslot = NULL;
	if ((env = calloc(t->nenvs + 5, sizeof(char *))) == NULL)
		return NULL;
	for (i = 0; i < t->nenvs; i++) {
		if (k > 0 && (env_is(t->envs[i], "LISTEN_FDS") ||
		    env_is(t->envs[i], "LISTEN_PID") ||
		    env_is(t->envs[i], "LISTEN_FDNAMES")))
			continue;
		if (last_exit != NULL && env_is(t->envs[i], "_LAST_EXIT"))
			continue;
		if ((env[n++] = strdup(t->envs[i])) == NULL)
			goto fail;
	}
	if (k > 0) {
		if (asprintf(&env[n++], "LISTEN_FDS=%d", k) == -1 ||
		    asprintf(&env[n++], "LISTEN_PID=%-20s", "") == -1 ||
		    asprintf(&env[n++], "LISTEN_FDNAMES=%s", names) == -1) {
			env[--n] = NULL;
			goto fail;
		}
		*pidslot = env[n - 2] + strlen("LISTEN_PID=");
	}
	if (last_exit != NULL &&
	    asprintf(&env[n++], "_LAST_EXIT=%s", last_exit) == -1) {
		env[--n] = NULL;
		goto fail;
	}
	return env;
fail:
	free_vec(env);
	return NULL;
}

/*
 * Where to look for exec: itself if it has a '/', else each directory of
 * the task's own PATH (none: not found). An empty element is cwd.
 */
static char **
make_paths(const struct task *t)
{
	const char	*path = NULL, *p, *end;
	char		**v;
	size_t		  n = 1, i = 0;

	if (strchr(t->exec, '/') != NULL) {
		if ((v = calloc(2, sizeof(char *))) == NULL ||
		    (v[0] = strdup(t->exec)) == NULL) {
			free(v);
			return NULL;
		}
		return v;
	}
	for (i = 0; i < t->nenvs; i++)
		if (env_is(t->envs[i], "PATH"))
			path = t->envs[i] + 5;
	if (path != NULL)
		for (p = path; *p != '\0'; p++)
			n += *p == ':';
	if ((v = calloc(n + 1, sizeof(char *))) == NULL)
		return NULL;
	if (path == NULL)
		return v;
	i = 0;
	for (p = path;; p = end + 1) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		if (asprintf(&v[i], "%.*s%s%s", (int)(end - p), p,
		    end == p ? "" : "/", t->exec) == -1) {
			v[i] = NULL;
			free_vec(v);
			return NULL;
		}
		i++;
		if (*end == '\0')
			break;
	}
	return v;
}

static int
ns_flags(int isolate)
{
	return (isolate & ISOLATE_NET ? CLONE_NEWNET : 0) |
	    (isolate & ISOLATE_IPC ? CLONE_NEWIPC : 0) |
	    (isolate & ISOLATE_UTS ? CLONE_NEWUTS : 0) |
	    (isolate & ISOLATE_MOUNT ? CLONE_NEWNS : 0);
}

static char **default_hide(void);

static char *const *
s_hide(const struct task *t)
{
	return t->hide != NULL ? t->hide : default_hide();
}

/* What "hide" is by default: the directories of jobd's unix sockets. */
static char **
default_hide(void)
{
	static char	**v;
	const char	*a, *slash;
	size_t		  i, n = 0;

	if (v != NULL || (v = calloc(nlisteners + 1, sizeof(char *))) == NULL)
		return v;
	for (i = 0; i < nlisteners; i++) {
		a = listeners[i].ls.address;
		if (a == NULL || strncmp(a, "unix:/", 6) != 0 ||
		    (slash = strrchr(a + 5, '/')) == NULL)
			continue;
		if (slash == a + 5)
			continue;	/* never "/" itself */
		if ((v[n] = strndup(a + 5, (size_t)(slash - a - 5))) != NULL)
			n++;
	}
	return v;
}

static void
spawn_error(const struct task *t, const struct report *r, struct jerr *e)
{
	const struct fdspec	*f = &t->fds[r->index];
	const char		*err = strerror(r->err);
	const char		*pathenv = NULL;
	char			 v[128];
	int			 i = t->index;
	size_t			 k;

	switch (r->step) {
	case STEP_SETSID:
		err_set(e, 422, i, -1, NULL, "setsid: %s", err);
		break;
	case STEP_GROUPS:
	case STEP_SETUID:
		err_set(e, 422, i, -1, "user", "%s %u: %s", r->step ==
		    STEP_GROUPS ? "setgroups for user" : "setuid",
		    (unsigned)t->uid, err);
		break;
	case STEP_SETGID:
		err_set(e, 422, i, -1, t->group != NULL ? "group" : "user",
		    "setgid %u: %s", (unsigned)t->gid, err);
		break;
	case STEP_OPEN:
		err_set(e, 422, i, r->index, f->path != NULL ? "path" : NULL,
		    "open %s: %s", f->path != NULL ?
		    err_value(f->path, v, sizeof(v)) : "/dev/null", err);
		break;
	case STEP_FD:
		err_set(e, 422, i, r->index, NULL, "cannot set up fd %d: %s",
		    r->index, err);
		break;
	case STEP_CHDIR:
		err_set(e, 422, i, -1, "cwd", "chdir %s: %s",
		    err_value(t->cwd, v, sizeof(v)), err);
		break;
	case STEP_RLIMIT:
		err_set(e, 422, i, -1, rlimits[r->index].field,
		    "setrlimit %s: %s", rlimits[r->index].name, err);
		break;
	case STEP_LO:
		err_set(e, 422, i, -1, "isolate", "bringing lo up in the new "
		    "network namespace: %s", err);
		break;
	case STEP_PRIVATE:
		err_set(e, 422, i, -1, "isolate", "making the mounts private: "
		    "%s", err);
		break;
	case STEP_HIDE:
		err_set(e, 422, i, -1, "hide", "hiding %s: %s",
		    err_value(s_hide(t)[r->index], v, sizeof(v)), err);
		break;
	case STEP_READONLY:
		err_set(e, 422, i, -1, "readonly", "%s read-only: %s",
		    err_value(t->readonly[r->index], v, sizeof(v)), err);
		break;
	case STEP_CGROUP:
		err_set(e, 422, i, -1, NULL, "cannot join the job's cgroup: %s",
		    err);
		break;
	case STEP_NNP:
		err_set(e, 422, i, -1, "no_new_privs", "prctl "
		    "PR_SET_NO_NEW_PRIVS: %s", err);
		break;
	default:
		for (k = 0; k < t->nenvs; k++)
			if (env_is(t->envs[k], "PATH"))
				pathenv = t->envs[k] + 5;
		if (strchr(t->exec, '/') != NULL)
			err_set(e, 422, i, -1, "exec", "exec %s: %s",
			    err_value(t->exec, v, sizeof(v)), err);
		else if (pathenv == NULL)
			err_set(e, 422, i, -1, "exec", "exec %s: not found: "
			    "envs has no PATH to search",
			    err_value(t->exec, v, sizeof(v)));
		else {
			char	 pv[128];

			err_set(e, 422, i, -1, "exec", "exec %s: %s (searched "
			    "PATH=%s)", err_value(t->exec, v, sizeof(v)), err,
			    err_value(pathenv, pv, sizeof(pv)));
		}
		break;
	}
}

/*
 * Start a task. Returns its pid once exec has succeeded, or -1 with e
 * holding the 422 error (which step failed, and the OS error text).
 */
pid_t
spawn_task(struct task *t, const char *last_exit, struct jerr *e)
{
	struct spawn	 s;
	struct report	 r;
	sigset_t	 all, old;
	ssize_t		 n = 0;
	pid_t		 pid = -1;
	int		 p[2] = { -1, -1 }, i, status;

	memset(&s, 0, sizeof(s));
	s.t = t;
	s.logfd = store_spawn_fd();
	s.parent = getpid();
	if (s.logfd != -1)
		s.loglen = (size_t)snprintf(s.logrec, sizeof(s.logrec),
		    "%s %d ", t->job->name, t->index);
	for (i = 0; i < t->nfds; i++)
		s.src[i] = t->fds[i].sock == NULL ? -1 :
		    t->fds[i].kind == FD_LOG ? t->fds[i].sock->wfd :
		    t->fds[i].sock->ls.fd;
	if ((s.envp = make_env(t, last_exit, &s.pidslot)) == NULL ||
	    (s.paths = make_paths(t)) == NULL) {
		r.err = ENOMEM;
		goto fail;
	}
	s.errfd = -1;
	if (!shared) {
		if (pipe2(p, O_CLOEXEC) == -1) {
			r.err = errno;
			goto fail;
		}
		s.errfd = p[1];
	}

	/* No handler of jobd's may run in the child before it resets them. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	s.hide = t->hide != NULL ? t->hide : default_hide();
	if (t->job->cgroup)
		snprintf(s.cgprocs, sizeof(s.cgprocs), "%s/cgroup.procs",
		    t->job->name);
	pid = clone(child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK |
	    SIGCHLD | ns_flags(t->isolate), &s);
	r.err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (p[1] != -1)
		close(p[1]);
	if (pid == -1)
		goto fail;

	/*
	 * The child has exec'd or exited by now (CLONE_VFORK): either it
	 * wrote its report into s, or, without shared memory, the pipe gives
	 * the report or EOF once exec has closed its end.
	 */
	if (p[0] != -1) {
		do
			n = read(p[0], &r, sizeof(r));
		while (n == -1 && errno == EINTR);
		close(p[0]);
	} else if (s.reported) {
		r = s.rep;
		n = sizeof(r);
	}
	free_vec(s.envp);
	free_vec(s.paths);
	if (n != (ssize_t)sizeof(r))
		return pid;
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	spawn_error(t, &r, e);
	return -1;

fail:
	if (p[0] != -1)
		close(p[0]);
	free_vec(s.envp);
	free_vec(s.paths);
	if (t->isolate && (r.err == EINVAL || r.err == EPERM ||
	    r.err == ENOSPC || r.err == EUSERS))
		return err_set(e, 422, t->index, -1, "isolate", "this host "
		    "cannot make the namespaces asked for: %s",
		    strerror(r.err));
	return err_set(e, 422, t->index, -1, NULL, "cannot start a process: "
	    "%s", strerror(r.err));
}
