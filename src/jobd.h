/*
 * jobd.h: the one internal header of jobd. Structures, enums and the
 * prototypes of every file, grouped by file.
 */
#ifndef JOBD_H
#define JOBD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>

#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <http_parser.h>

#include "listen.h"
#include "log.h"
#include "signame.h"

#define JOBD_NAME_MAX		64
#define JOBD_MAX_TASKS		64
#define JOBD_MAX_FDS		64
#define JOBD_STOP_TIMEOUT	10.0
#define JOBD_WAIT_MAX		86400.0
#define JOBD_LINGER_TIMEOUT	2.0
#define JOBD_URL_MAX		8192
#define JOBD_HEADERS_MAX	16384
#define JOBD_HEADER_COUNT_MAX	100

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif
#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* Options and global state (main.c). */
struct jobd_conf {
	mode_t		 socket_mode;
	int		 allow_remote;
	size_t		 max_body;
	unsigned	 max_jobs;
	unsigned	 keep_finished;
	unsigned	 max_connections;
	double		 request_timeout;
	double		 idle_timeout;
	uid_t		*allow_uids;	/* --allow-uid; none: anyone */
	size_t		 nallow_uids;
};

extern struct jobd_conf	 conf;
extern struct ev_loop	*loop;
extern int		 shutting_down;
extern ev_tstamp	 started;

/* A growable byte buffer; off is how much of it has been consumed. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 off;
	size_t	 cap;
	int	 err;		/* an allocation failed */
};

/* Chained hash table with intrusive nodes (hash.c). */
struct hnode {
	struct hnode	*next;
	uint64_t	 hash;
};

struct htab {
	struct hnode	**b;
	size_t		  nb;
	size_t		  n;
};

/* jobd's own listening sockets (main.c, conn.c). */
struct listener {
	struct lsock	 ls;
	ev_io		 io;
};

extern struct listener	*listeners;
extern size_t		 nlisteners;

/* A JSON path being parsed: key (or index) and the path above (json.c). */
struct jpath {
	const struct jpath	*up;
	const char		*key;	/* NULL: an array index */
	int			 index;
};

/* An error to answer with: status, sentence and JSON path (json.c). */
struct jerr {
	int	 status;
	char	 path[256];
	char	 msg[512];
};

enum job_state {
	JOB_RUNNING,
	JOB_STOPPING,
	JOB_EXITED,
	JOB_FAILED
};

enum task_state {
	TASK_PENDING,
	TASK_RUNNING,
	TASK_EXITED,
	TASK_KILLED,
	TASK_FAILED,
	TASK_SKIPPED,
	TASK_CANCELLED
};

/*
 * fd kinds. FD_CLOSED is a JSON null entry. The first five are the
 * implemented "type" strings, in fd.c's table.
 */
enum fd_kind {
	FD_FILE,
	FD_PIPE,
	FD_UNIX,
	FD_NET,
	FD_NULL,
	FD_CLOSED
};

/*
 * An fd the job holds for its whole life, shared by every task entry that
 * names the same address: a socket, or the far end of a named pipe.
 */
struct jsock {
	struct lsock	 ls;
	enum fd_kind	 kind;
	int		 task;		/* first task and fd that use it */
	int		 fdnum;
	int		 mode;		/* pipes: O_RDONLY or O_WRONLY */
};

/* One fd entry of a task, as the client wrote it. */
struct fdspec {
	enum fd_kind	 kind;
	int		 flags;		/* open(2) flags for file and pipe */
	char		*path;
	char		*bind;
	int		 port;
	int		 socktype;	/* SOCK_STREAM or SOCK_DGRAM */
	char		*name;
	struct jsock	*sock;		/* held fd, for pipes and sockets */
};

struct task {
	struct job	*job;
	int		 index;
	char		*exec;
	char		**argv;		/* [exec] + args, NULL-terminated */
	char		**envs;		/* "K=V", NULL-terminated */
	size_t		 nenvs;
	char		*cwd;
	struct fdspec	*fds;
	int		 nfds;

	/* Credentials: as written, then resolved at PUT. */
	char		*user;
	char		*group;
	int		 set_ids;	/* change ids at all */
	uid_t		 uid;
	gid_t		 gid;
	gid_t		*groups;
	int		 ngroups;

	enum task_state	 state;
	pid_t		 pid;
	int64_t		 started;	/* ms since the epoch, 0 = null */
	int64_t		 ended;
	int		 exit_code;
	int		 signal;
	char		*error;
	struct hnode	 pidnode;
};

struct conn;

struct job {
	char			*name;
	enum job_state		 state;
	struct task		*tasks;
	int			 ntasks;
	int			 cur;		/* task running or last run */
	double			 stop_timeout;
	int64_t			 created;
	struct jsock		*socks;
	int			 nsocks;
	int			 forget;	/* free once it has ended */
	ev_timer		 kill_timer;
	struct hnode		 namenode;
	TAILQ_ENTRY(job)	 fentry;	/* finished jobs, oldest first */
	LIST_HEAD(, conn)	 waiters;	/* ?wait= requests */
	TAILQ_ENTRY(job)	 entry;		/* all jobs */
};

/* The request being read or answered on a connection (http.c). */
struct request {
	int		 method;
	int		 head;		/* HEAD: answer as GET, no body */
	char		*url;
	size_t		 urllen;
	size_t		 hdrbytes;
	int		 nheaders;
	char		 hname[32];
	size_t		 hnamelen;
	int		 hlong;		/* header name longer than hname */
	int		 in_expect;	/* 2: in a field, 1: in Expect */
	char		 expect[32];
	size_t		 expectlen;
	struct buf	 body;
	int		 keepalive;
	char		 allow[64];	/* Allow header of a 405 */
	int		 status;	/* error found while parsing */
	const char	*errmsg;
	ev_tstamp	 t0;
};

struct conn {
	int			 fd;
	int			 dead;
	int			 reading;	/* read watcher wanted */
	int			 closing;	/* close once output is sent */
	int			 lingering;
	int			 eof;
	int			 in_request;	/* bytes of a request seen */
	int			 deferred;	/* answer comes later */
	int			 over_limit;
	int			 in_body;	/* head parsed, body follows */
	int			 resuming;	/* on the resume list */
	unsigned		 head_lines;	/* head scanner: lines seen */
	size_t			 head_len;	/* bytes of this line */
	int			 head_cr;	/* last byte was CR */
	ev_io			 rio;
	ev_io			 wio;
	ev_timer		 timer;
	ev_tstamp		 deadline;
	ev_tstamp		 wait_until;	/* ?wait= answer is due */
	http_parser		 parser;
	struct buf		 in;
	struct buf		 out;
	struct request		 req;
	char			 peer[LISTEN_ADDRLEN];
	int			 has_cred;
	uid_t			 uid;
	pid_t			 pid;
	struct job		*waitjob;	/* ?wait= on this job */
	LIST_ENTRY(conn)	 wentry;
	TAILQ_ENTRY(conn)	 entry;
	TAILQ_ENTRY(conn)	 rentry;	/* resume list */
};

/* buf.c */
int		 buf_reserve(struct buf *, size_t);
int		 buf_add(struct buf *, const void *, size_t);
int		 buf_add_uint(struct buf *, unsigned long long);
int		 buf_printf(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 buf_consume(struct buf *, size_t);
void		 buf_free(struct buf *);

/* hash.c */
uint64_t	 hash_str(const char *);
uint64_t	 hash_int(uint64_t);
int		 hash_insert(struct htab *, struct hnode *, uint64_t);
void		 hash_remove(struct htab *, struct hnode *);
struct hnode	*hash_first(struct htab *, uint64_t);
struct hnode	*hash_next(struct hnode *);

/* conn.c */
void		 conn_init(void);
void		 conn_listen(struct listener *);
void		 conn_unlisten(struct listener *);
void		 conn_accept_cb(struct ev_loop *, ev_io *, int);
int		 conn_write(struct conn *, const void *, size_t);
void		 conn_flush(struct conn *);
void		 conn_resume(struct conn *);
void		 conn_close(struct conn *);
void		 conn_set_deadline(struct conn *, ev_tstamp);
void		 conn_close_all(void);
void		 conn_prepare(void);
unsigned	 conn_count(void);

/* http.c */
void		 http_init(struct conn *);
void		 http_feed(struct conn *);
void		 http_request_reset(struct request *);
void		 http_respond(struct conn *, int, const char *, const char *,
		    size_t);
void		 http_error(struct conn *, int, const char *, const char *,
		    ...) __attribute__((format(printf, 4, 5)));
const char	*http_status_text(int);
void		 http_log(struct conn *, int);

/* api.c */
void		 api_dispatch(struct conn *);
int		 api_peer_allowed(const struct conn *);
void		 api_wait_timeout(struct conn *);
void		 api_wait_cancel(struct conn *);
void		 api_job_ended(struct job *);
int		 api_valid_name(const char *);

/* json.c */
void		 jpath_format(const struct jpath *, char *, size_t);
int		 jpath_fail(struct jerr *, int, const struct jpath *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
struct job	*json_parse_job(const char *, size_t, const char *,
		    struct jerr *);
char		*json_job(const struct job *);
char		*json_jobs(struct job **, size_t);
char		*json_error(const char *, const char *);
char		*json_info(ev_tstamp);
int		 json_parse_signal(const char *, size_t, int *, struct jerr *);
void		 json_time(int64_t, char *, size_t);

/* fd.c */
const char	*fd_kind_name(enum fd_kind);
int		 fd_kind_lookup(const char *, enum fd_kind *);
const char	*fd_supported(void);
unsigned	 fd_fields(enum fd_kind, unsigned *);
int		 fd_check(struct fdspec *, const char *,
		    const struct jpath *, struct jerr *);
int		 fd_hold(struct job *, struct jerr *);
void		 fd_release(struct job *);
void		 fd_free(struct job *);

#define FDF_PATH	0x01
#define FDF_MODE	0x02
#define FDF_BIND	0x04
#define FDF_PORT	0x08
#define FDF_PROTOCOL	0x10
#define FDF_NAME	0x20

/* job.c */
struct job	*job_new(const char *);
void		 job_free(struct job *);
struct job	*job_find(const char *);
int		 job_prepare(struct job *, struct jerr *);
void		 job_insert(struct job *);
int		 job_start(struct job *, struct jerr *);
int		 job_stop(struct job *);
int		 job_signal(struct job *, int);
void		 job_remove(struct job *);
void		 job_reap(void);
void		 job_reap_pid(pid_t);
unsigned	 job_running_tasks(void);
void		 job_stop_all(int);
int		 job_active(const struct job *);
size_t		 job_list(struct job ***);
void		 job_counts(unsigned *, unsigned *, unsigned *, unsigned *);
unsigned	 job_unfinished(void);
void		 job_free_all(void);
const char	*job_state_name(enum job_state);
const char	*task_state_name(enum task_state);
int64_t		 now_ms(void);


int		 spawn_resolve(struct task *, struct jerr *);
pid_t		 spawn_task(struct task *, const char *, struct jerr *);
void		 spawn_init(const struct rlimit *);


#endif
