/*
 * ctl_job.c: the job JSON of jobctl start. jobd wants everything spelled
 * out; this fills in what can be seen from here (directory, PATH, whether
 * a path is a file, a FIFO or a socket) and maps jobd's errors back to
 * the flags they came from.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobctl.h"
#include "listen.h"
#include "log.h"

/* A user or group as jobd takes it: a number, or a name to look up. */
static cJSON *
id_value(const char *s)
{
	if (*s != '\0' && strspn(s, "0123456789") == strlen(s))
		return cJSON_CreateNumber(strtod(s, NULL));
	return cJSON_CreateString(s);
}

/* The rlimits jobd knows by name: --limit's NAME. */
static const char *const limit_names[] = {
	"nofile", "nproc", "core", "as", "cpu", "fsize", "memlock", "stack"
};

/*
 * One side of a --limit VALUE: a whole number or "unlimited", of the
 * length VALUE gives. Its size is jobd's to judge, as it is for JSON.
 */
static cJSON *
limit_value(const char *v, size_t len)
{
	if (len == 9 && strncmp(v, "unlimited", len) == 0)
		return cJSON_CreateString("unlimited");
	if (len == 0 || strspn(v, "0123456789") != len)
		return NULL;
	return cJSON_CreateNumber(strtod(v, NULL));
}

/*
 * --limit NAME=VALUE..., into "limits": {"nofile": 1024, "core": [0,
 * "unlimited"]}. VALUE is N or unlimited, soft and hard alike, or
 * SOFT:HARD. A NAME given again replaces its value, as --env does.
 * NULL when there is none.
 */
static cJSON *
limits_object(const struct cmd *c, const struct start *s)
{
	cJSON		*o = NULL, *v, *soft, *hard;
	const char	*arg, *eq, *colon;
	char		 known[128];
	size_t		 i, len;
	int		 n;

	for (n = 0; n < s->nlimit; n++) {
		arg = s->limit[n];
		if ((eq = strchr(arg, '=')) == NULL)
			usage(c, "--limit %s: expected NAME=VALUE", arg);
		for (i = 0; i < nitems(limit_names); i++)
			if (strlen(limit_names[i]) == (size_t)(eq - arg) &&
			    strncmp(limit_names[i], arg,
			    (size_t)(eq - arg)) == 0)
				break;
		if (i == nitems(limit_names)) {
			for (i = 0, len = 0; i < nitems(limit_names) &&
			    len < sizeof(known); i++)
				len += snprintf(known + len, sizeof(known) - len,
				    "%s%s", i ? ", " : "", limit_names[i]);
			usage(c, "--limit %s: unknown limit \"%.*s\"; known "
			    "are %s", arg, (int)(eq - arg), arg, known);
		}
		if ((colon = strchr(eq + 1, ':')) == NULL)
			v = limit_value(eq + 1, strlen(eq + 1));
		else {
			soft = limit_value(eq + 1, (size_t)(colon - eq - 1));
			hard = limit_value(colon + 1, strlen(colon + 1));
			v = NULL;
			if (soft != NULL && hard != NULL &&
			    (v = cJSON_CreateArray()) != NULL) {
				cJSON_AddItemToArray(v, soft);
				cJSON_AddItemToArray(v, hard);
			} else {
				cJSON_Delete(soft);
				cJSON_Delete(hard);
			}
		}
		if (v == NULL)
			usage(c, "--limit %s: expected a number, unlimited, or "
			    "SOFT:HARD of those", arg);
		if (o == NULL && (o = cJSON_CreateObject()) == NULL)
			fatalx("out of memory");
		cJSON_DeleteItemFromObjectCaseSensitive(o, limit_names[i]);
		cJSON_AddItemToObject(o, limit_names[i], v);
	}
	return o;
}

/*
 * --stdin, --stdout, --stderr: what is at the path decides the type. An
 * output file that does not exist yet is created by jobd, as the task's
 * user so that it is theirs, and appended to (what one wants of a log);
 * a FIFO is a pipe; a socket or a directory cannot be opened at all, so
 * say so here rather than let the task fail. Without a path, input is
 * /dev/null and output goes to the job's log (jobctl logs).
 */
static cJSON *
stdio_entry(const char *opt, const char *arg, int out)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	const char	*type = "file";
	cJSON		*o;

	if (arg == NULL) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", out ? "log" : "null");
		return o;
	}
	if (absolute(arg, path, sizeof(path)) == -1)
		return NULL;
	if (stat(path, &st) == 0) {
		if (S_ISSOCK(st.st_mode)) {
			log_warnx("%s %s: is a unix socket, which jobd cannot "
			    "open as a file; to give the job a listening "
			    "socket, use --listen unix:%s", opt, arg, path);
			return NULL;
		}
		if (S_ISDIR(st.st_mode)) {
			log_warnx("%s %s: is a directory", opt, arg);
			return NULL;
		}
		if (S_ISFIFO(st.st_mode))
			type = "pipe";
	} else if (errno == ENOENT && !out) {
		log_warn("%s %s", opt, arg);
		return NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "mode", !out ? "r" :
	    strcmp(type, "pipe") == 0 ? "w" : "a");
	return o;
}

/*
 * --listen ADDR[=NAME]: the address syntax of jobd's own --listen, plus
 * udp:HOST:PORT. A name is what follows the last '=' when that holds no
 * '/' or ':' (so a path may still contain '=').
 */
static cJSON *
listen_entry(const char *arg)
{
	struct laddr			 la;
	const struct sockaddr_in	*sin = (const void *)&la.ss;
	const struct sockaddr_in6	*sin6 = (const void *)&la.ss;
	const struct sockaddr_un	*sun = (const void *)&la.ss;
	char				 spec[PATH_MAX + 16], path[PATH_MAX];
	char				 err[LISTEN_ERRLEN];
	char				 ip[INET6_ADDRSTRLEN];
	char				 name[64], *eq;
	int				 udp = 0, port;
	cJSON				*o;

	if (strlen(arg) >= sizeof(spec) - 8) {
		log_warnx("--listen %s: address too long", arg);
		return NULL;
	}
	snprintf(spec, sizeof(spec), "%s", arg);
	name[0] = '\0';
	if ((eq = strrchr(spec, '=')) != NULL && eq[1] != '\0' &&
	    strpbrk(eq + 1, "/:") == NULL) {
		if (strlen(eq + 1) >= sizeof(name)) {
			log_warnx("--listen %s: name too long", arg);
			return NULL;
		}
		*eq = '\0';
		snprintf(name, sizeof(name), "%s", eq + 1);
	}
	if (strncmp(spec, "udp:", 4) == 0) {
		udp = 1;
		memcpy(spec, "tcp:", 4);
	} else if (strncmp(spec, "unix:", 5) == 0 && spec[5] != '/') {
		if (absolute(spec + 5, path, sizeof(path)) == -1)
			return NULL;
		snprintf(spec, sizeof(spec), "unix:%s", path);
	}
	if (listen_parse(spec, &la, err, sizeof(err)) == -1) {
		log_warnx("--listen %s", udp ? arg : err);
		if (udp)
			log_warnx("--listen: expected udp:HOST:PORT");
		return NULL;
	}
	o = cJSON_CreateObject();
	if (la.family == AF_UNIX) {
		cJSON_AddStringToObject(o, "type", "unix socket");
		cJSON_AddStringToObject(o, "path", sun->sun_path);
	} else {
		if (la.family == AF_INET) {
			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			port = ntohs(sin->sin_port);
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			port = ntohs(sin6->sin6_port);
		}
		cJSON_AddStringToObject(o, "type", "network socket");
		cJSON_AddStringToObject(o, "bind", ip);
		cJSON_AddNumberToObject(o, "port", port);
		if (udp)
			cJSON_AddStringToObject(o, "protocol", "udp");
	}
	if (name[0] != '\0')
		cJSON_AddStringToObject(o, "name", name);
	return o;
}

static void
free_words(char **v)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * A --then command to words, the way sh(1) splits them but expanding
 * nothing: blanks separate words; '...' and "..." keep their text (in
 * "..." a backslash escapes " \ $ `); outside quotes a backslash keeps
 * the next character. So 'sh -c "echo $_LAST_EXIT"' hands $_LAST_EXIT
 * to the task's own shell. Unquoted operators and expansions are
 * refused: the task would get them as plain words, which is not what
 * they mean in a shell.
 */
static char **
split_words(const char *s, char *err, size_t errlen)
{
	const char	*p;
	char		**v, *w, *o;
	size_t		 n = 0, len = strlen(s);
	int		 inword = 0;
	char		 q = 0;

	v = xcalloc(len / 2 + 2, sizeof(*v));
	w = xcalloc(len + 1, 1);
	o = w;
	for (p = s; *p != '\0'; p++) {
		if (q == '\'') {
			if (*p == '\'')
				q = 0;
			else
				*o++ = *p;
			continue;
		}
		if (q == '"') {
			if (*p == '"')
				q = 0;
			else if (*p == '\\' && p[1] != '\0' &&
			    strchr("\"\\$`", p[1]) != NULL)
				*o++ = *++p;
			else
				*o++ = *p;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\n') {
			if (inword) {
				*o = '\0';
				v[n++] = xstrdup(w);
				o = w;
				inword = 0;
			}
			continue;
		}
		inword = 1;
		if (*p == '\'' || *p == '"')
			q = *p;
		else if (*p == '\\') {
			if (p[1] == '\0') {
				snprintf(err, errlen, "a backslash ends it");
				goto fail;
			}
			*o++ = *++p;
		} else if (strchr("|&;<>()$`", *p) != NULL) {
			snprintf(err, errlen, "'%c' means something to a "
			    "shell, and no shell runs it; quote it, or write "
			    "sh -c \"...\"", *p);
			goto fail;
		} else
			*o++ = *p;
	}
	if (q != 0) {
		snprintf(err, errlen, "a %c quote is not closed", q);
		goto fail;
	}
	if (inword) {
		*o = '\0';
		v[n++] = xstrdup(w);
	}
	if (n == 0) {
		snprintf(err, errlen, "no command");
		goto fail;
	}
	free(w);
	return v;
fail:
	free(w);
	free_words(v);
	return NULL;
}

static cJSON *
task_object(char *const *argv, const char *cwd, const cJSON *envs,
    const cJSON *fds, const cJSON *limits, const struct start *s)
{
	cJSON	*t, *args;
	int	 i;

	if ((t = cJSON_CreateObject()) == NULL)
		fatalx("out of memory");
	cJSON_AddStringToObject(t, "exec", argv[0]);
	args = cJSON_AddArrayToObject(t, "args");
	for (i = 1; argv[i] != NULL; i++)
		cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
	cJSON_AddItemToObject(t, "envs", cJSON_Duplicate(envs, 1));
	cJSON_AddStringToObject(t, "cwd", cwd);
	cJSON_AddItemToObject(t, "fd", cJSON_Duplicate(fds, 1));
	if (s->user != NULL)
		cJSON_AddItemToObject(t, "user", id_value(s->user));
	if (s->group != NULL)
		cJSON_AddItemToObject(t, "group", id_value(s->group));
	if (limits != NULL)
		cJSON_AddItemToObject(t, "limits", cJSON_Duplicate(limits, 1));
	if (s->umask != NULL)
		cJSON_AddStringToObject(t, "umask", s->umask);
	if (s->no_new_privs)
		cJSON_AddTrueToObject(t, "no_new_privs");
	return t;
}

/*
 * The job JSON of jobctl start. Every task gets the same directory,
 * variables, fds, ids and limits: a --then task is there to restart or
 * clean up after the one before, with the same sockets. Returns an exit
 * status, with *out set on success.
 */
int
job_build(const struct cmd *c, const struct start *s, char **argv,
    cJSON **out)
{
	cJSON		*root = NULL, *envs = NULL, *fds = NULL, *limits = NULL;
	cJSON		*tasks, *e;
	char		 cwd[PATH_MAX], err[256], **words;
	const char	*v, *eq;
	char		*key;
	int		 i, rc = EXIT_REQUEST;

	*out = NULL;
	if (s->cwd != NULL) {
		if (*s->cwd == '\0')
			usage(c, "--cwd needs a directory");
		if (absolute(s->cwd, cwd, sizeof(cwd)) == -1)
			return EXIT_REQUEST;
	} else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		log_warn("getcwd");
		return EXIT_REQUEST;
	}
	if ((root = cJSON_CreateObject()) == NULL ||
	    (envs = cJSON_CreateObject()) == NULL ||
	    (fds = cJSON_CreateArray()) == NULL)
		fatalx("out of memory");
	if ((v = getenv("PATH")) != NULL)
		cJSON_AddStringToObject(envs, "PATH", v);
	for (i = 0; i < s->nenv; i++) {
		if ((eq = strchr(s->env[i], '=')) == NULL) {
			if ((v = getenv(s->env[i])) == NULL)
				usage(c, "--env %s: %s is not set here, so "
				    "there is no value to pass on", s->env[i],
				    s->env[i]);
			key = xstrdup(s->env[i]);
		} else {
			key = strndup(s->env[i], (size_t)(eq - s->env[i]));
			if (key == NULL)
				fatal("strndup");
			v = eq + 1;
		}
		if (*key == '\0')
			usage(c, "--env %s: expected NAME=VALUE", s->env[i]);
		cJSON_DeleteItemFromObjectCaseSensitive(envs, key);
		cJSON_AddStringToObject(envs, key, v);
		free(key);
	}
	limits = limits_object(c, s);
	if ((e = stdio_entry("--stdin", s->in, 0)) == NULL)
		goto fail;
	cJSON_AddItemToArray(fds, e);
	if ((e = stdio_entry("--stdout", s->out, 1)) == NULL)
		goto fail;
	cJSON_AddItemToArray(fds, e);
	if ((e = stdio_entry(s->err ? "--stderr" : "--stdout",
	    s->err ? s->err : s->out, 1)) == NULL)
		goto fail;
	cJSON_AddItemToArray(fds, e);
	for (i = 0; i < s->nlisten; i++) {
		if ((e = listen_entry(s->listen[i])) == NULL) {
			rc = EXIT_USAGE;
			goto fail;
		}
		cJSON_AddItemToArray(fds, e);
		/*
		 * jobd shares a socket between tasks by its address, and
		 * "any free port" is no address: each task would get a
		 * port of its own, and the restart task not the socket
		 * clients are waiting on.
		 */
		if (s->nthen > 0 && jint(e, "port", -1) == 0)
			usage(c, "--listen %s: with --then, give a port: "
			    "jobd would bind a different free port for each "
			    "task", s->listen[i]);
	}
	tasks = cJSON_AddArrayToObject(root, "tasks");
	cJSON_AddItemToArray(tasks, task_object(argv, cwd, envs, fds, limits,
	    s));
	for (i = 0; i < s->nthen; i++) {
		if ((words = split_words(s->then[i], err, sizeof(err))) ==
		    NULL)
			usage(c, "--then '%s': %s", s->then[i], err);
		cJSON_AddItemToArray(tasks, task_object(words, cwd, envs, fds,
		    limits, s));
		free_words(words);
	}
	if (s->stop_timeout >= 0)
		cJSON_AddNumberToObject(root, "stop_timeout", s->stop_timeout);
	*out = root;
	root = NULL;
	rc = 0;
fail:
	cJSON_Delete(root);
	cJSON_Delete(envs);
	cJSON_Delete(fds);
	cJSON_Delete(limits);
	return rc;
}

/*
 * The flag behind a JSON path of jobd's error, so that "tasks[0].fd[1]"
 * reads as "--stdout log".
 */
void
job_hint(const struct start *s, const char *path, char *buf, size_t size)
{
	const char	*rest;
	size_t		 len;
	int		 t, fd, i, n = 0;

	*buf = '\0';
	if (path == NULL || sscanf(path, "tasks[%d]%n", &t, &n) != 1 ||
	    n == 0 || t < 0 || t > s->nthen)
		return;
	rest = path + n;
	if (sscanf(rest, ".fd[%d]", &fd) == 1) {
		if (fd == 0 && s->in != NULL)
			snprintf(buf, size, "--stdin %s", s->in);
		else if ((fd == 1 || (fd == 2 && s->err == NULL)) &&
		    s->out != NULL)
			snprintf(buf, size, "--stdout %s", s->out);
		else if (fd == 2 && s->err != NULL)
			snprintf(buf, size, "--stderr %s", s->err);
		else if (fd >= 3 && fd - 3 < s->nlisten)
			snprintf(buf, size, "--listen %s", s->listen[fd - 3]);
	} else if (strncmp(rest, ".exec", 5) == 0 ||
	    strncmp(rest, ".args", 5) == 0) {
		if (t == 0)
			snprintf(buf, size, "the command");
		else
			snprintf(buf, size, "--then '%s'", s->then[t - 1]);
	} else if (strcmp(rest, ".cwd") == 0)
		snprintf(buf, size, "--cwd %s", s->cwd ? s->cwd :
		    "(the current directory)");
	else if (strcmp(rest, ".user") == 0 && s->user != NULL)
		snprintf(buf, size, "--user %s", s->user);
	else if (strcmp(rest, ".group") == 0 && s->group != NULL)
		snprintf(buf, size, "--group %s", s->group);
	else if (strncmp(rest, ".envs.", 6) == 0)
		snprintf(buf, size, "--env %s", rest + 6);
	else if (strncmp(rest, ".limits.", 8) == 0) {
		/* "limits.core[1]": the last --limit core=..., which counted. */
		rest += 8;
		len = strcspn(rest, "[");
		for (i = s->nlimit - 1; i >= 0; i--)
			if (strncmp(s->limit[i], rest, len) == 0 &&
			    s->limit[i][len] == '=') {
				snprintf(buf, size, "--limit %s", s->limit[i]);
				break;
			}
	} else if (strcmp(rest, ".umask") == 0 && s->umask != NULL)
		snprintf(buf, size, "--umask %s", s->umask);
	else if (strcmp(rest, ".no_new_privs") == 0 && s->no_new_privs)
		snprintf(buf, size, "--no-new-privs");
}
