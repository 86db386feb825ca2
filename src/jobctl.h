/*
 * jobctl.h: the one header of jobctl, the command-line client. Its types
 * and the prototypes of its files: jobctl.c (commands), ctl_http.c (the
 * way to jobd), ctl_job.c (job JSON from flags), ctl_out.c (what is shown).
 */
#ifndef JOBCTL_H
#define JOBCTL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define EXIT_REQUEST		1	/* jobd said no, or a file is no good */
#define EXIT_USAGE		2
#define EXIT_UNREACHABLE	3	/* nobody (we trust) answers */
#define EXIT_TIMEOUT		124	/* --timeout ran out, as timeout(1) */
#define EXIT_NOSTART		126	/* the task could not be started */

#define WAIT_CHUNK	30.0	/* seconds one GET ?wait= is held */
#define REQUEST_TIMEOUT	60L	/* seconds for any other request */
#define BODY_MAX	(64 * 1024 * 1024)

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

struct cmd {
	const char	*name;
	int		(*fn)(const struct cmd *, int, char **);
	const char	*synopsis;
	const char	*help;
};

/* An answer from jobd: its status and body, parsed when it is JSON. */
struct reply {
	long	 status;
	char	*body;
	size_t	 len;
	cJSON	*json;
};

/* What jobctl start was told, kept to name the flag behind an error. */
struct start {
	const char	 *in;
	const char	 *out;
	const char	 *err;
	const char	**listen;
	int		  nlisten;
	const char	**env;
	int		  nenv;
	const char	**then;
	int		  nthen;
	const char	 *cwd;
	const char	 *user;
	const char	 *group;
	const char	**limit;	/* --limit NAME=VALUE, as given */
	int		  nlimit;
	const char	 *umask;
	int		  no_new_privs;
	double		  stop_timeout;	/* < 0: jobd's default */
	int		  dry_run;
	int		  wait;
	double		  timeout;	/* with wait; < 0: none */
};

enum logs_mode {
	LOGS_TEXT,	/* each record's bytes, to stdout or stderr */
	LOGS_EVENTS,	/* jobd's events, a line of text each */
	LOGS_COPY	/* the body as it comes: raw bytes, or ndjson */
};

/* A job's log, or jobd's events, as it comes, a line of ndjson at a time. */
struct logs {
	enum logs_mode	 mode;
	char		*line;		/* the start of a record */
	size_t		 len;
	size_t		 cap;
	int		 failed;	/* writing failed, or jobd's lines */
};

struct call;

/* jobctl.c */
extern const char	*opt_socket;	/* -s, or NULL for the default */
extern int		 opt_json;
void	 usage(const struct cmd *, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	*xcalloc(size_t, size_t);
char	*xstrdup(const char *);
int	 absolute(const char *, char *, size_t);

/* ctl_http.c */
void		 http_init(void);
void		 http_cleanup(void);
const char	*http_addr(void);
int		 http_request(const char *, const char *, const char *,
		    size_t, long, struct reply *);
struct call	*http_start(const char *, const char *, const char *,
		    size_t, long, struct reply *);
void		 http_sink(struct call *, int (*)(const char *, size_t,
		    void *), void *);
struct call	*http_next(int);
int		 http_finish(struct call *);
void		 http_cancel(struct call *);
char		*http_job_path(const char *, const char *);
void		 http_query(char **, const char *, const char *);
int		 reply_ok(const struct reply *);
int		 reply_fail(const struct reply *, const char *);
void		 reply_free(struct reply *);
const char	*jstr(const cJSON *, const char *);
int		 jint(const cJSON *, const char *, int);

/* ctl_job.c */
int	 job_build(const struct cmd *, const struct start *, char **,
	    cJSON **);
void	 job_hint(const struct start *, const char *, char *, size_t);

/* ctl_out.c */
extern int	 out_colour;
void		 out_raw(const struct reply *);
void		 out_jobs(const cJSON *);
void		 out_job(const cJSON *);
void		 out_started(const cJSON *);
void		 out_outcome(const cJSON *, char *, size_t);
int		 out_active(const char *);
int		 out_code(const cJSON *);
const char	*out_span(double, char *, size_t);
int		 out_logs(const char *, size_t, void *);
int		 out_logs_end(struct logs *, int);

#endif
