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
#define JOBD_LOG_DEFAULT	(1024 * 1024)
#define JOBD_LOG_MAX		(64 * 1024 * 1024)
#define JOBD_LOG_MIN		1024
#define JOBD_LOG_LINE		(64 * 1024)
#define JOBD_NRLIMITS		8
#define ISOLATE_NET		0x01
#define ISOLATE_IPC		0x02
#define ISOLATE_UTS		0x04
#define ISOLATE_MOUNT		0x08

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
	int64_t		 max_log;	/* --max-log: a job's log at most */
	double		 heartbeat;	/* --heartbeat: GET /events?follow */
	int		 no_cgroup;	/* --no-cgroup */
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

/*
 * An error to answer with (err.c). The failing task and fd entry travel as
 * numbers, the field below them by name; the JSON path is text only when
 * the parser set one (its path lives on its stack). err_path() and
 * err_text() make the text when the answer is written.
 */
struct jerr {
	int		 status;
	int		 task;		/* -1: none */
	int		 fd;		/* -1: none */
	const char	*field;		/* below them, or NULL */
	char		 path[256];	/* set by the parser, else "" */
	char		 msg[512];	/* the reason, without the path */
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
	TASK_CANCELLED,
	TASK_LOST
};

/*
 * fd types, in the order of fd.c's table; FD_CLOSED is a JSON null entry
 * and in no table.
 */
enum fd_kind {
	FD_FILE,
	FD_PIPE,
	FD_UNIX,
	FD_NET,
	FD_NULL,
	FD_LOG,
	FD_CLOSED
};

/* A field of an fd entry: a string or an int, at off in struct fdspec. */
struct fdfield {
	const char	*key;
	int		 isint;
	size_t		 off;
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
	int		 wfd;		/* log: the write end, until spawn */
	struct logpipe	*lp;		/* log: what reads it (logs.c) */
};

/* One fd entry of a task, as the client wrote it. */
struct fdspec {
	enum fd_kind	 kind;
	int		 flags;		/* open(2) flags for file and pipe */
	char		*path;
	char		*mode;
	char		*bind;
	int		 port;
	char		*protocol;
	int		 socktype;	/* SOCK_STREAM or SOCK_DGRAM */
	char		*name;
	char		*stream;	/* log: its stream's name */
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

	/* Limits: rlimits by spawn_rlimits index, umask, no_new_privs. */
	struct rlimit	 limits[JOBD_NRLIMITS];
	unsigned	 limits_set;	/* bit i: limits[i] given */
	int		 umask;		/* -1: jobd's */
	int		 no_new_privs;
	int		 isolate;	/* ISOLATE_* */
	char		**hide;		/* NULL-terminated; NULL: default */
	char		**readonly;

	enum task_state	 state;
	pid_t		 pid;
	int64_t		 started;	/* ms since the epoch, 0 = null */
	int64_t		 ended;
	int		 exit_code;
	int		 signal;
	char		*error;
	struct hnode	 pidnode;

	/* Persistence and adoption (store.c, job.c). */
	int		 starting;	/* saved as starting, pid not yet */
	uint64_t	 tick_lo;	/* its start time, in clock ticks */
	uint64_t	 tick_hi;	/* since boot, is in [lo, hi] */
	int		 unconfirmed;	/* loaded, not yet found alive */
	int		 adopted;	/* alive, not jobd's child */
	int		 awaiting;	/* gone: its exit may yet be relayed */
	int		 pidfd;		/* watched when nobody relays */
	ev_io		 pidio;
};

/* Someone waiting for a job to end (job_watch). */
struct job_watch {
	struct job		*job;		/* NULL once fired or unwatched */
	void			(*cb)(struct job *, void *);
	void			*arg;
	LIST_ENTRY(job_watch)	 entry;
};

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
	char			*body;		/* the PUT body while it runs */
	size_t			 bodylen;
	ev_timer		 kill_timer;
	struct hnode		 namenode;
	TAILQ_ENTRY(job)	 fentry;	/* finished jobs, oldest first */
	TAILQ_ENTRY(job)	 dentry;	/* changed, to save (job.c) */
	int			 dirty;
	int64_t			 log_max;	/* "log": {"max_bytes"} */
	char			*cg_memory_max;	/* "cgroup": as written */
	char			*cg_pids_max;
	char			*cg_cpu_max;
	int			 cgroup;	/* it has a cgroup */
	int			 cgwd;		/* inotify on cgroup.events */
	int			 cgwait;	/* stopped: until it empties */
	int			 has_log;	/* a task has a log fd */
	struct joblog		*log;		/* open log (logs.c) */
	LIST_HEAD(, job_watch)	 watches;
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
	int		 in_expect;	/* 2: in a field, 1: in Expect,
					   3: in Transfer-Encoding */
	char		 expect[32];
	size_t		 expectlen;
	char		 te[64];	/* Transfer-Encoding, all of them */
	size_t		 telen;
	int		 telong;	/* longer than te */
	struct buf	 body;
	int		 keepalive;
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
	/* A deferred answer: due at defer_until, or cancelled. */
	ev_tstamp		 defer_until;
	void			(*defer_expire)(struct conn *, void *);
	void			(*defer_cancel)(struct conn *, void *);
	void			*defer_arg;
	void			(*defer_drain)(struct conn *, void *);
	http_parser		 parser;
	struct buf		 in;
	struct buf		 out;
	struct request		 req;
	char			 peer[LISTEN_ADDRLEN];
	int			 has_cred;
	uid_t			 uid;
	pid_t			 pid;
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
void		 conn_defer(struct conn *, ev_tstamp,
		    void (*)(struct conn *, void *),
		    void (*)(struct conn *, void *), void *);
void		 conn_undefer(struct conn *);
void		 conn_on_drain(struct conn *, void (*)(struct conn *, void *));
void		 conn_close_all(void);
void		 conn_prepare(void);
unsigned	 conn_count(void);
int		 conn_busy(void);

/* http.c */
void		 http_serve(void (*)(struct conn *));
void		 http_init(struct conn *);
void		 http_feed(struct conn *);
void		 http_request_reset(struct request *);
void		 http_respond(struct conn *, int, const char *, const char *,
		    size_t);
void		 http_error(struct conn *, int, const char *, const char *,
		    const char *, ...) __attribute__((format(printf, 5, 6)));
const char	*http_status_text(int);
void		 http_stream_begin(struct conn *, const char *);
void		 http_chunk(struct conn *, const void *, size_t);
void		 http_stream_end(struct conn *);
void		 http_log(struct conn *, int);

/* api.c */
void		 api_dispatch(struct conn *);
int		 api_peer_allowed(const struct conn *);
void		 api_prepare(void);

/* err.c */
void		 err_init(struct jerr *);
int		 err_set(struct jerr *, int, int, int, const char *,
		    const char *, ...) __attribute__((format(printf, 6, 7)));
void		 err_path(const struct jerr *, char *, size_t);
void		 err_text(const struct jerr *, char *, size_t);
const char	*err_value(const char *, char *, size_t);

/* json.c */
void		 jpath_format(const struct jpath *, char *, size_t);
int		 jpath_fail(struct jerr *, int, const struct jpath *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
struct job	*json_parse_job(const char *, size_t, const char *,
		    struct jerr *);
int		 json_parse_signal(const char *, size_t, int *, struct jerr *);
struct job	*json_load_job(const char *, size_t, char *, size_t);
int		 json_load_daemon(const char *, size_t, unsigned *, int *);

/* daemon.c */
extern unsigned	 daemon_restarts;
void		 daemon_init(char **);
void		 daemon_save(int);
int		 daemon_reexec(void);
const char	*daemon_self(void);

/* store.c */
const char	*store_dir(void);
int		 store_default(char *, size_t);
int		 store_open(const char *, char *, size_t);
void		 store_close(void);
int		 store_save(const struct job *);
void		 store_remove(const char *);
int		 store_save_daemon(const char *);
char		*store_read(const char *, size_t *);
void		 store_set_aside(const char *, const char *);
int		 store_list(char ***, size_t *);
int		 store_spawn_fd(void);
void		 store_spawn_done(void);
pid_t		 store_spawn_find(const char *, int);

/* ctl.c */
int		 ctl_active(void);
int		 ctl_open(int, void (*)(pid_t, int));
void		 ctl_start(void);
int		 ctl_store(const char *, int);
void		 ctl_remove(const char *);
void		 ctl_ack(void);
int		 ctl_fd(void);
void		 ctl_close(void);

/* jsonw.c */
void		 w_null(struct buf *);
void		 w_str(struct buf *, const char *);
int		 w_strn(struct buf *, const char *, size_t);
void		 w_b64(struct buf *, const void *, size_t);
void		 w_key(struct buf *, const char *, int);
void		 w_int(struct buf *, long long);
void		 w_num(struct buf *, double);
void		 w_int_if(struct buf *, int, long long);
void		 w_time(struct buf *, int64_t);
char		*json_job(const struct job *);
char		*json_jobs(struct job **, size_t);
char		*json_error(const char *, const char *);
char		*json_info(ev_tstamp);
char		*json_job_state(const struct job *);
char		*json_daemon_state(unsigned, int);
void		 json_time(int64_t, char *, size_t);

/* fd.c */
void		 fd_init(void);
const char	*fd_kind_name(enum fd_kind);
int		 fd_kind_lookup(const char *, enum fd_kind *);
const char	*fd_supported(void);
const struct fdfield *fd_field(const char *, int *);
int		 fd_field_allowed(enum fd_kind, int);
const char	*fd_field_missing(enum fd_kind, unsigned);
int		 fd_is_listen(const struct fdspec *);
int		 fd_check(struct fdspec *, const struct jpath *,
		    struct jerr *);
int		 fd_hold(struct job *, struct jerr *);
int		 fd_open_child(const struct fdspec *, int);
int		 fd_child_owned(int, int);
void		 fd_describe(struct buf *, const struct job *);
void		 fd_release(struct job *);
void		 fd_undo(struct job *);
void		 fd_free(struct job *);
void		 fd_spec_clear(struct fdspec *);
int		 fd_restore(struct job *, int, const char *const *,
		    const char *const *);
void		 fd_store_name(const struct job *, int, char *, size_t);
void		 fd_take(struct job *, int, int);
void		 fd_store(const struct job *);

/* A record log on disk, read by cursor (rlog.c): jobs' logs, events. */
#define RLOG_PARTIAL	0x01		/* a piece of a longer line */
#define RLOG_START	0x02		/* a task started: pid in aux */
#define RLOG_PENDING	0x04		/* not yet a record (seq 0) */

struct rlog {
	char			 what[96];	/* for messages */
	int			 dirfd;		/* -1: nothing on disk */
	struct rlog_seg		*segs;
	size_t			 nsegs;
	uint64_t		 next;		/* seq of the next record */
	int64_t			 max;
	int64_t			 total;		/* bytes of all segments */
	int64_t			 fileend;	/* last segment, pending too */
	struct buf		 w;		/* records not yet written */
	int			 ended;
	int			 busy;		/* telling its readers */
	uint64_t		*written;	/* counters to add to, */
	uint64_t		*dropped;	/* or NULL */
	void			(*pending)(struct rlog *, struct buf *);
	LIST_HEAD(, log_waiter)	 waiters;
};

/* A record as a reader gets it. */
struct logrec {
	uint64_t	 seq;		/* 0: a gap, gap_from to gap_to */
	int64_t		 time;		/* ms since the epoch */
	int		 task;
	int		 flags;
	uint32_t	 aux;
	char		 name[65];
	const char	*data;
	size_t		 len;
	uint64_t	 gap_from;
	uint64_t	 gap_to;
};

/* A reader of a record log: its cursor, and cb when more may be read. */
struct log_waiter {
	struct rlog		*rl;		/* NULL: the log is gone */
	void			(*cb)(void *);
	void			*arg;
	uint64_t		 next;		/* seq of the next record */
	uint64_t		 seg;		/* its segment, */
	int64_t			 off;		/* and where in it */
	int			 fd;		/* an older segment, open */
	uint64_t		 lost_to;	/* its log closed: next seq */
	uint64_t		 fdseg;		/* which */
	LIST_ENTRY(log_waiter)	 entry;
};

/* rlog.c */
int		 rlog_dir(const char *, char *, size_t);
void		 rlog_cleanup(const char *const *);
void		 rlog_rmdir(int, const char *);
void		 rlog_init(struct rlog *, const char *, int64_t);
int		 rlog_load(struct rlog *, int, struct buf *);
int		 rlog_rotate(struct rlog *);
void		 rlog_rec(struct buf *, uint64_t, int, int, int, const char *,
		    uint32_t, const char *, size_t, const char *, size_t);
size_t		 rlog_pending(const char *, int *, int *, const char **,
		    size_t *, const char **, size_t *);
void		 rlog_add(struct rlog *, int, int, int, const char *, uint32_t,
		    const char *, size_t, const char *, size_t);
void		 rlog_flush(struct rlog *);
void		 rlog_end(struct rlog *);
void		 rlog_close(struct rlog *);
int		 rlog_idle(const struct rlog *);
void		 rlog_reader_start(struct rlog *, struct log_waiter *,
		    uint64_t, void (*)(void *), void *);
struct rlog	*log_reader_stop(struct log_waiter *);
int		 log_live(const struct log_waiter *);
size_t		 log_read(struct log_waiter *, size_t,
		    void (*)(const struct logrec *, void *), void *);

/* cgroup.c */
void		 cgroup_init(void);
void		 cgroup_close(void);
int		 cgroup_check(const struct job *, struct jerr *);
int		 cgroup_open(struct job *, int, struct jerr *);
int		 cgroup_populated(const struct job *);
void		 cgroup_kill(const struct job *);
void		 cgroup_remove(struct job *);
int		 cgroup_path(const struct job *, char *, size_t);
int		 cgroup_dirfd(void);

/* events.c */
void		 events_open(void);
void		 events_close(void);
void		 event_job(const struct job *, const char *);
void		 event_task(const struct task *, const char *);
void		 event_daemon(const char *, const char *);
void		 events_flush(void);
uint64_t	 events_seq(void);
void		 events_reader_start(struct log_waiter *, uint64_t,
		    void (*)(void *), void *);
void		 events_reader_stop(struct log_waiter *);
unsigned	 events_readers(void);

/* logs.c */
int		 log_open(struct job *, struct jerr *);
int		 log_pipe(struct jsock *, char *, size_t);
void		 log_spawned(struct job *, int, pid_t);
void		 log_task_ended(struct job *, int);
void		 log_job_ended(struct job *);
void		 log_close(struct job *);
void		 log_remove(struct job *);
void		 log_resume(struct job *);
void		 log_free_pipe(struct jsock *);
int		 log_prepare(struct job *, int, struct jerr *);
int		 log_stream_valid(const char *);
void		 log_cleanup(void);
int		 log_reader_start(struct job *, struct log_waiter *, uint64_t,
		    void (*)(void *), void *);
void		 log_reader_done(struct log_waiter *);
uint64_t	 log_written(void);
uint64_t	 log_dropped(void);

/* An exit jobinit relayed at start, before the jobs were looked at. */
struct relayed {
	pid_t	 pid;
	int	 status;
};

/* job.c */
struct job	*job_new(const char *);
void		 job_free(struct job *);
struct job	*job_find(const char *);
int		 job_valid_name(const char *);
void		 job_watch(struct job *, struct job_watch *,
		    void (*)(struct job *, void *), void *);
void		 job_unwatch(struct job_watch *);
int		 job_prepare(struct job *, struct jerr *);
void		 job_insert(struct job *);
int		 job_start(struct job *, struct jerr *);
int		 job_stop(struct job *);
int		 job_delete(struct job *);
void		 job_stats(uint64_t *, uint64_t *, uint64_t *);
void		 job_cgroup_changed(int);
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
void		 job_relayed(pid_t, int);
int		 job_load(void);
unsigned	 job_adopt(const struct relayed *, size_t);
unsigned	 job_recovered(void);
void		 job_persist(void);
int		 job_take_fd(const char *, int);
size_t		 job_held_fds(int **, char ***);


int		 spawn_resolve(struct task *, struct jerr *);
int		 spawn_rlimit_index(const char *);
const char	*spawn_rlimit_names(void);
pid_t		 spawn_task(struct task *, const char *, struct jerr *);
void		 spawn_init(const struct rlimit *);


#endif
