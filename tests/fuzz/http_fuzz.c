/*
 * http_fuzz.c: libFuzzer target for jobd's request path. Each input is
 * what one client sends on one connection: through a real listening unix
 * socket, jobd's accept, reads, head scanning, http-parser, limits,
 * api_dispatch, the handlers and json.c, to the bytes jobd answers. The
 * promise checked is the spec's: every response starts with "HTTP/1.1 ",
 * has Content-Type: application/json and a body that is valid JSON (and
 * so UTF-8; an error object for errors), and no input leaks an fd.
 *
 * Safety. A fuzzed PUT can ask jobd to run any program and to open,
 * create or truncate any file (an fd entry of type file, mode w), as the
 * user running the fuzzer. So LLVMFuzzerInitialize, before any input:
 *  - as root, moves into a mount namespace of its own (mounts private,
 *    nothing propagates back) with a fresh tmpfs on /tmp, /var/tmp and
 *    /dev/shm: what a fuzzed job creates there vanishes with the process;
 *  - binds jobd's listening socket in a private directory, which becomes
 *    the working directory and TMPDIR (/tmp/jobd-fuzz on that tmpfs, the
 *    directory the seed corpus names; else a new one under $TMPDIR);
 *  - as root, then drops to nobody (setgroups, setresgid and setresuid
 *    65534), so that a job can touch only what anybody may;
 *  - installs a seccomp filter under which execve and execveat fail with
 *    EPERM: no task ever runs, and jobd answers such a PUT with 422, one
 *    of its real paths. The filter is checked before the first input.
 * scripts/fuzz runs the targets under unshare --mount with a tmpfs on
 * /tmp as well when it can. As a user other than root, only the filter
 * and the private directory stand between a fuzzed job and that user's
 * files: fuzz as root, in a container or a virtual machine. (As root,
 * give libFuzzer corpus and artifact paths that are absolute and either
 * outside /tmp or under the working directory: it reads and writes them
 * after this set-up.)
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "jobd.h"
#include "fuzz.h"

#define NOBODY		65534
#define FIXED_DIR	"/tmp/jobd-fuzz"
#define IDLE_ROUNDS	4	/* loop rounds with nothing new: done */
#define MAX_ROUNDS	20000

#if defined(__x86_64__)
#define SECCOMP_ARCH	AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define SECCOMP_ARCH	AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define SECCOMP_ARCH	AUDIT_ARCH_AARCH64
#elif defined(__arm__)
#define SECCOMP_ARCH	AUDIT_ARCH_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define SECCOMP_ARCH	AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SECCOMP_ARCH	AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define SECCOMP_ARCH	AUDIT_ARCH_S390X
#endif

/* Starts the symbolizer now, while it can still be exec'd. */
void	__sanitizer_symbolize_pc(void *, const char *, char *, size_t)
	    __attribute__((weak));

static ev_prepare	 prep;
static char		 dir[PATH_MAX];
static struct sockaddr_un sun;
static int		 own_tmp;	/* dir is on our private tmpfs */
static int		 nfds0;		/* fds open between inputs */
static int		 show;		/* $HTTP_FUZZ_SHOW: print answers */
static int		 errfd = 2;	/* stderr, even under -close_fd_mask=2 */
static pid_t		 pid0;		/* the process that set the loop up */

static void	die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	broken(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

/* Set-up failed: fuzzing without the safeguards is not an option. */
static void
die(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	dprintf(errfd, "http_fuzz: ");
	va_start(ap, fmt);
	vdprintf(errfd, fmt, ap);
	va_end(ap);
	dprintf(errfd, ": %s\n", strerror(saved));
	exit(1);
}

/* A promise broken: a finding. */
static void
broken(const char *fmt, ...)
{
	va_list	 ap;

	dprintf(errfd, "http_fuzz: ");
	va_start(ap, fmt);
	vdprintf(errfd, fmt, ap);
	va_end(ap);
	dprintf(errfd, "\n");
	__builtin_trap();
}

static void
prepare_cb(struct ev_loop *l, ev_prepare *w, int revents)
{
	conn_prepare();
}

/* mkdir -p PATH, for a path that is absolute. */
static void
mkdirs(char *path)
{
	char	*p, c;

	for (p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			die("mkdir %s", path);
		*p = c;
		if (c == '\0')
			break;
	}
}

/*
 * As root: a mount namespace of our own whose /tmp is a new tmpfs. The
 * mounts are made private first, or the tmpfs would appear on the host.
 * A working directory under /tmp (a tree checked out there, which holds
 * the corpus and the artifacts) is bound back over the tmpfs through a
 * descriptor opened before the tmpfs hid it.
 */
static int
private_tmp(void)
{
	static const char *const dirs[] = { "/var/tmp", "/dev/shm" };
	struct stat	 st;
	char		 cwd[PATH_MAX], src[64];
	int		 keep = -1;
	size_t		 i;

	if (unshare(CLONE_NEWNS) == -1) {
		dprintf(errfd, "http_fuzz: no mount namespace (%s): fuzzed "
		    "jobs can create files in the real /tmp\n",
		    strerror(errno));
		return 0;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		die("making mounts private");
	if (getcwd(cwd, sizeof(cwd)) != NULL && strncmp(cwd, "/tmp/", 5) == 0 &&
	    (keep = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		die("opening %s", cwd);
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=1777,size=64m") == -1)
		die("tmpfs on /tmp");
	if (keep != -1) {
		mkdirs(cwd);
		(void)snprintf(src, sizeof(src), "/proc/self/fd/%d", keep);
		if (mount(src, cwd, NULL, MS_BIND | MS_REC, NULL) == -1)
			die("binding %s back over the tmpfs", cwd);
		(void)close(keep);
	}
	for (i = 0; i < nitems(dirs); i++)
		if (stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
			(void)mount("tmpfs", dirs[i], "tmpfs", MS_NOSUID |
			    MS_NODEV, "mode=1777,size=16m");
	return 1;
}

static void
drop_root(void)
{
	if (setgroups(0, NULL) == -1)
		die("setgroups");
	if (setresgid(NOBODY, NOBODY, NOBODY) == -1)
		die("setresgid %d", NOBODY);
	if (setresuid(NOBODY, NOBODY, NOBODY) == -1)
		die("setresuid %d", NOBODY);
	if (setresuid(0, 0, 0) == 0) {
		errno = EPERM;
		die("root could be regained");
	}
	/* LeakSanitizer stops the world with ptrace: stay traceable. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1)
		die("PR_SET_DUMPABLE");
}

/* execve and execveat fail with EPERM, for this process and its children. */
static void
forbid_exec(void)
{
	struct sock_filter filter[] = {
#ifdef SECCOMP_ARCH
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
#ifdef __x86_64__
		/* x32 system calls: none of ours. */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 2, 0),
#endif
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog	 prog = { nitems(filter), filter };
	char			*none[] = { NULL }, line[64];
	FILE			*f;
	int			 threads = 0;

	/* The filter binds this thread and those it starts: no others. */
	if ((f = fopen("/proc/self/status", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "Threads: %d", &threads) == 1)
				break;
		fclose(f);
	}
	if (threads != 1) {
		errno = EBUSY;
		die("%d threads where the filter needs one", threads);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		die("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		die("PR_SET_SECCOMP");
	/* Unfiltered, an empty path is ENOENT; filtered, EPERM. */
	errno = 0;
	if (syscall(SYS_execve, "", none, none) != -1 || errno != EPERM) {
		errno = ENOSYS;
		die("the seccomp filter does not stop execve");
	}
	errno = 0;
	if (syscall(SYS_execveat, AT_FDCWD, "", none, none, 0) != -1 ||
	    errno != EPERM) {
		errno = ENOSYS;
		die("the seccomp filter does not stop execveat");
	}
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

/* Only for a directory outside our tmpfs, which vanishes by itself. */
static void
cleanup(void)
{
	if (nlisteners > 0)
		listen_close(&listeners[0].ls);
	if (dir[0] != '\0')
		(void)nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct laddr	 la;
	struct lsock	 ls;
	struct rlimit	 rl;
	const char	*tmp;
	char		 err[LISTEN_ERRLEN], spec[PATH_MAX + 16], buf[256];
	int		 root = geteuid() == 0;

	/*
	 * jobd's defaults, but timeouts that fire soon and a --max-body that
	 * an input of at most 16 KiB can go over.
	 */
	conf.max_body = 8192;
	conf.request_timeout = 1;
	conf.idle_timeout = 1;

	/* libFuzzer's -close_fd_mask=2 silences jobd's log, not us. */
	if ((errfd = fcntl(2, F_DUPFD_CLOEXEC, 3)) == -1)
		errfd = 2;
	signal(SIGPIPE, SIG_IGN);
	log_init("jobd", LOG_QUIET);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("getrlimit");
	spawn_init(&rl);

	if (root)
		own_tmp = private_tmp();
	if (own_tmp) {
		snprintf(dir, sizeof(dir), "%s", FIXED_DIR);
		if (mkdir(dir, 0700) == -1)
			die("mkdir %s", dir);
	} else {
		if ((tmp = getenv("TMPDIR")) == NULL || *tmp != '/')
			tmp = "/tmp";
		snprintf(dir, sizeof(dir), "%s/jobd-fuzz.XXXXXX", tmp);
		if (mkdtemp(dir) == NULL)
			die("mkdtemp %s", dir);
		atexit(cleanup);
	}
	if (chdir(dir) == -1)
		die("chdir %s", dir);
	if (setenv("TMPDIR", dir, 1) == -1)
		die("setenv TMPDIR");

	/* jobd's listener, as main.c's bind_or_die and add_listener. */
	snprintf(spec, sizeof(spec), "unix:%s/fuzz.sock", dir);
	if (listen_parse(spec, &la, err, sizeof(err)) == -1 ||
	    listen_bind(&la, conf.socket_mode, LISTEN_NONBLOCK, &ls, err,
	    sizeof(err)) == -1) {
		errno = EINVAL;
		die("%s", err);
	}
	if ((listeners = calloc(1, sizeof(*listeners))) == NULL)
		die("calloc");
	listeners[0].ls = ls;
	nlisteners = 1;
	memcpy(&sun, &la.ss, sizeof(sun));

	if (root) {
		if (chown(dir, NOBODY, NOBODY) == -1 ||
		    chown(ls.path, NOBODY, NOBODY) == -1)
			die("chown %s", dir);
		drop_root();
	}
	if (__sanitizer_symbolize_pc != NULL)
		__sanitizer_symbolize_pc(__builtin_return_address(0), "%p %F",
		    buf, sizeof(buf));
	forbid_exec();

	if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		die("ev_loop_new");
	started = ev_time();
	conn_init();
	ev_prepare_init(&prep, prepare_cb);
	ev_prepare_start(loop, &prep);
	conn_listen(&listeners[0]);
	pid0 = getpid();
	show = getenv("HTTP_FUZZ_SHOW") != NULL;
	return 0;
}

struct out {
	char	*data;
	size_t	 len;
	size_t	 cap;
	int	 eof;		/* jobd closed its side */
	int	 slow;		/* long enough for a timeout to close it */
};

/* Everything jobd has sent so far; returns how many bytes came. */
static size_t
drain(int fd, struct out *o)
{
	size_t	 got = 0;
	ssize_t	 n;
	char	*p;

	while (!o->eof) {
		if (o->cap - o->len < 16384) {
			if ((p = realloc(o->data, o->cap + 65536)) == NULL)
				die("realloc");
			o->data = p;
			o->cap += 65536;
		}
		n = recv(fd, o->data + o->len, o->cap - o->len, 0);
		if (n > 0) {
			o->len += (size_t)n;
			got += (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			o->eof = 1;
		else if (errno == EAGAIN)
			break;
	}
	return got;
}

/* Run jobd's loop until the answer stops coming. */
static void
pump(int fd, struct out *o, int *rounds)
{
	int	 idle = 0;

	while (idle < IDLE_ROUNDS && *rounds < MAX_ROUNDS && !o->eof) {
		ev_run(loop, EVRUN_NOWAIT);
		(*rounds)++;
		if (drain(fd, o) > 0)
			idle = 0;
		else
			idle++;
	}
}

static const char *
find(const char *p, const char *end, const char *s)
{
	return memmem(p, (size_t)(end - p), s, strlen(s));
}

/* A header line of the head [p, end), which ends with CRLF CRLF. */
static const char *
header(const char *p, const char *end, const char *name)
{
	char	 line[64];

	snprintf(line, sizeof(line), "\r\n%s: ", name);
	return find(p, end, line);
}

/*
 * Every response: status line, Content-Type: application/json and a body
 * of Content-Length bytes that is one JSON value, an object with "error"
 * and "path" for errors. A HEAD response has no body; "Connection: close"
 * ends the stream.
 */
static void
check_responses(const struct out *o, int has_head)
{
	const char	*p = o->data, *end = o->data + o->len;
	const char	*hend, *h, *body, *parse_end;
	unsigned long	 clen;
	cJSON		*v, *err, *path;
	char		*ep;
	int		 status, n = 0, closing = 0;

	while (p < end) {
		n++;
		if (closing)
			broken("response %d after \"Connection: close\"", n);
		if (memcmp(p, "HTTP/1.1 ", (size_t)(end - p) < 9 ?
		    (size_t)(end - p) : 9) != 0)
			broken("response %d starts with \"%.20s\"", n, p);
		if ((hend = find(p, end, "\r\n\r\n")) == NULL) {
			if (o->eof && !o->slow)
				broken("response %d cut short", n);
			return;
		}
		hend += 4;
		status = (int)strtol(p + 9, &ep, 10);
		if (ep != p + 12 || *ep != ' ' || status < 100 || status > 599)
			broken("response %d: status line \"%.40s\"", n, p);
		if (status == 100) {
			if (hend - p != 25)
				broken("response %d: a 100 with headers", n);
			p = hend;
			continue;
		}
		if ((h = header(p, hend, "Content-Type")) == NULL ||
		    memcmp(h + 16, "application/json\r\n", 18) != 0)
			broken("response %d (%d): no Content-Type: "
			    "application/json", n, status);
		if ((h = header(p, hend, "Content-Length")) == NULL)
			broken("response %d (%d): no Content-Length", n,
			    status);
		clen = strtoul(h + 18, &ep, 10);
		if (ep == h + 18 || ep[0] != '\r')
			broken("response %d (%d): bad Content-Length", n,
			    status);
		if (status == 405 && header(p, hend, "Allow") == NULL)
			broken("response %d: a 405 without Allow", n);
		if ((h = header(p, hend, "Connection")) != NULL &&
		    memcmp(h + 14, "close\r\n", 7) == 0)
			closing = 1;
		body = hend;
		p = hend;
		if (has_head && (body == end || ((size_t)(end - body) >= 9 &&
		    memcmp(body, "HTTP/1.1 ", 9) == 0)))
			continue;	/* a HEAD answer: no body */
		if ((size_t)(end - body) < clen) {
			if (o->eof && !o->slow)
				broken("response %d (%d): body cut short", n,
				    status);
			return;
		}
		if ((v = cJSON_ParseWithLengthOpts(body, clen, &parse_end,
		    0)) == NULL)
			broken("response %d (%d): body is not JSON: %.*s", n,
			    status, (int)clen, body);
		if (!utf8_valid(body, clen))
			broken("response %d (%d): body is not UTF-8: %.*s", n,
			    status, (int)clen, body);
		for (; parse_end < body + clen; parse_end++)
			if (*parse_end != ' ' && *parse_end != '\n' &&
			    *parse_end != '\r' && *parse_end != '\t')
				broken("response %d (%d): more than one JSON "
				    "value: %.*s", n, status, (int)clen, body);
		if (status >= 400) {
			err = cJSON_GetObjectItemCaseSensitive(v, "error");
			path = cJSON_GetObjectItemCaseSensitive(v, "path");
			if (!cJSON_IsString(err) || err->valuestring[0] == '\0' ||
			    (!cJSON_IsString(path) && !cJSON_IsNull(path)))
				broken("response %d (%d): not an error object: "
				    "%.*s", n, status, (int)clen, body);
		}
		cJSON_Delete(v);
		p = body + clen;
	}
}

/* FNV-1a: how an input is cut into writes depends on the input alone. */
static uint64_t
fnv(const uint8_t *p, size_t n)
{
	uint64_t	 h = 14695981039346656037ULL;

	while (n-- > 0) {
		h ^= *p++;
		h *= 1099511628211ULL;
	}
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out	 o;
	ev_tstamp	 t0;
	uint64_t	 h = fnv(data, size);
	size_t		 cut[3], sent = 0, t;
	ssize_t		 n;
	int		 fd, i, ncut, rounds = 0, nfds;

	/* In a child of driver.c's: the loop's epoll fd is the parent's. */
	if (getpid() != pid0) {
		pid0 = getpid();
		ev_loop_fork(loop);
	}
	/* Once libFuzzer has set itself up: what is open between inputs. */
	if (nfds0 == 0)
		nfds0 = count_fds();

	/* One, two or three writes, and the write side shut or not. */
	ncut = (int)(h % 3);
	cut[0] = size > 0 ? (size_t)((h >> 8) % size) : 0;
	cut[1] = size > 0 ? (size_t)((h >> 32) % size) : 0;
	if (cut[0] > cut[1]) {
		t = cut[0];
		cut[0] = cut[1];
		cut[1] = t;
	}
	if (ncut == 1)
		cut[0] = cut[1];
	cut[ncut] = size;

	memset(&o, 0, sizeof(o));
	t0 = ev_time();
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		die("connect %s", sun.sun_path);
	for (i = 0; i <= ncut && !o.eof; i++) {
		while (sent < cut[i] && !o.eof) {
			n = send(fd, data + sent, cut[i] - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n == -1 && errno == EAGAIN)
				pump(fd, &o, &rounds);
			else if (n == -1 && errno != EINTR)
				break;	/* jobd has closed */
			if (rounds >= MAX_ROUNDS)
				break;
		}
		if (sent < cut[i])
			break;
		if (i == ncut && (h >> 60) & 1)
			shutdown(fd, SHUT_WR);
		pump(fd, &o, &rounds);
	}
	close(fd);
	o.slow = ev_time() - t0 >= conf.request_timeout / 2;
	if (show)
		dprintf(errfd, "http_fuzz: %zu bytes in %d writes%s, %d "
		    "rounds, answer:\n%.*s\n", size, ncut + 1, (h >> 60) & 1 ?
		    " and shut" : "", rounds, (int)o.len, o.data);
	check_responses(&o, memmem(data, size, "HEAD", 4) != NULL);
	free(o.data);

	/* The next input meets a jobd with no connection and no job. */
	conn_close_all();
	job_free_all();
	conn_prepare();
	if (nfds0 > 0 && (nfds = count_fds()) != nfds0)
		broken("%d fds open after the input, %d before", nfds, nfds0);
	return 0;
}
