/*
 * json_test.c: job JSON to struct job, with the status and the JSON path
 * of every error, and what a good job turns into.
 */
#include "config.h"

#include <sys/socket.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd.h"
#include "tap.h"

#define T(x)	"{\"tasks\":[" x "]}"
#define TASK(extra) \
	"{\"exec\":\"/bin/true\",\"args\":[],\"envs\":{},\"cwd\":\"/\"," \
	"\"fd\":[]" extra "}"
#define FD(entry) \
	"{\"exec\":\"/bin/true\",\"args\":[],\"envs\":{},\"cwd\":\"/\"," \
	"\"fd\":[null,null,null," entry "]}"

static const struct {
	const char	*body;
	int		 status;
	const char	*path;
} bad[] = {
	{ "", 400, "" },
	{ "{", 400, "" },
	{ "{}x", 400, "" },
	{ "{\"tasks\":[]} {}", 400, "" },
	{ "[]", 400, "" },
	{ "{\"tasks\":[\x01]}", 400, "" },
	{ "{}", 400, "tasks" },
	{ "{\"tasks\":null}", 400, "tasks" },
	{ "{\"tasks\":[]}", 400, "tasks" },
	{ "{\"tasks\":[" TASK("") "],\"x\":1}", 400, "x" },
	{ "{\"tasks\":[" TASK("") "],\"stop_timeout\":-1}", 400,
	    "stop_timeout" },
	{ "{\"tasks\":[" TASK("") "],\"stop_timeout\":true}", 400,
	    "stop_timeout" },
	{ T("1"), 400, "tasks[0]" },
	{ T("{}"), 400, "tasks[0].exec" },
	{ T(TASK(",\"user\":{}")), 400, "tasks[0].user" },
	{ T(TASK(",\"group\":-5")), 400, "tasks[0].group" },
	{ T(TASK(",\"cwd\":\"/\"")), 400, "tasks[0].cwd" },
	{ T(TASK(",\"envs2\":{}")), 400, "tasks[0].envs2" },
	{ T("{\"exec\":\"a\\u0000b\",\"args\":[],\"envs\":{},\"cwd\":\"/\","
	    "\"fd\":[]}"), 400, "" },
	{ T("{\"exec\":\"a\\u0007b\",\"args\":[],\"envs\":{},\"cwd\":\"/\","
	    "\"fd\":[]}"), 400, "tasks[0].exec" },
	{ T("{\"exec\":\"a\",\"args\":[\"\\u0007 ok in args\"],\"envs\":"
	    "{\"A\\u0001\":\"x\"},\"cwd\":\"/\",\"fd\":[]}"), 400,
	    "tasks[0].envs.A\x01" },
	{ T(TASK("") "," "{\"exec\":\"a\"}"), 400, "tasks[1].args" },
	{ T(FD("{\"type\":\"file\",\"path\":\"/x\",\"mode\":\"rw+\"}")), 400,
	    "tasks[0].fd[3].mode" },
	{ T(FD("{\"type\":\"pipe\",\"path\":\"/x\",\"mode\":\"rw\"}")), 400,
	    "tasks[0].fd[3].mode" },
	{ T(FD("{\"type\":\"unix socket\",\"path\":\"/x\",\"mode\":\"r\"}")),
	    400, "tasks[0].fd[3].mode" },
	{ T(FD("{\"type\":\"network socket\",\"bind\":\"::1\",\"port\":1,"
	    "\"name\":\"\"}")), 400, "tasks[0].fd[3].name" },
	{ T(FD("{\"type\":\"network socket\",\"bind\":\"1.2.3\",\"port\":1}")),
	    400, "tasks[0].fd[3].bind" },
	{ T(FD("{\"type\":\"network socket\",\"bind\":\"::1\",\"port\":1,"
	    "\"bind\":\"::1\"}")), 400, "tasks[0].fd[3].bind" },
	{ T(FD("{\"type\":\"null\",\"mode\":\"r\"}")), 400,
	    "tasks[0].fd[3].mode" },
	{ T(FD("{\"type\":\"NULL\"}")), 501, "tasks[0].fd[3]" },
	{ T(FD("{\"type\":\"file \"}")), 501, "tasks[0].fd[3]" },
	{ T(FD("{\"type\":\"timerfd\",\"path\":7}")), 501, "tasks[0].fd[3]" },
	{ T("{\"exec\":\"a\",\"args\":[],\"envs\":{\"B\":\"1\",\"A\":\"2\","
	    "\"B\":\"3\"},\"cwd\":\"/\",\"fd\":[]}"), 400, "tasks[0].envs.B" },
	{ T("{\"exec\":\"a\",\"args\":[],\"envs\":{\"AB\":\"1\",\"A\":\"B=1\","
	    "\"A\":\"\"},\"cwd\":\"/\",\"fd\":[]}"), 400, "tasks[0].envs.A" },
};

/*
 * Many variables: all kept, in order; one name given twice among them,
 * wherever it is, is found.
 */
static void
many_envs(void)
{
	enum { N = 20000 };
	struct jerr	 e;
	struct job	*j;
	char		*body, *p;
	int		 i, dup;

	if ((body = malloc(N * 32 + 256)) == NULL)
		abort();
	for (dup = 0; dup < 2; dup++) {
		p = body + sprintf(body, "{\"tasks\":[{\"exec\":\"a\","
		    "\"args\":[],\"cwd\":\"/\",\"fd\":[],\"envs\":{");
		for (i = 0; i < N; i++)
			p += sprintf(p, "%s\"V%d\":\"%d\"", i ? "," : "",
			    dup && i == N - 1 ? 9 : (N - i) * 3, i);
		strcpy(p, "}}]}");
		memset(&e, 0, sizeof(e));
		j = json_parse_job(body, strlen(body), "x", &e);
		if (dup)
			ok(j == NULL && e.status == 400 &&
			    strcmp(e.path, "tasks[0].envs.V9") == 0,
			    "%d variables, the last repeating one: %s", N,
			    e.msg);
		else
			ok(j != NULL && j->tasks[0].nenvs == N &&
			    strcmp(j->tasks[0].envs[0], "V60000=0") == 0 &&
			    strcmp(j->tasks[0].envs[N - 1], "V3=19999") == 0,
			    "%d variables, kept in order (%s)", N, e.msg);
		job_free(j);
	}
	free(body);
}

static void
good(void)
{
	struct jerr	 e;
	struct job	*j;
	struct task	*t;

	static const char body[] = "{\"tasks\":["
	    "{\"exec\":\"srv\",\"args\":[\"-x\",\"\"],\"envs\":{\"PATH\":\"/b\","
	    "\"E\":\"\"},\"cwd\":\"/srv\",\"fd\":["
	    "{\"type\":\"file\",\"path\":\"/in\",\"mode\":\"r\"},"
	    "{\"type\":\"file\",\"path\":\"/out\",\"mode\":\"a\"},"
	    "null,"
	    "{\"type\":\"network socket\",\"bind\":\"127.0.0.1\",\"port\":80,"
	    "\"protocol\":\"udp\",\"name\":\"dns\"},"
	    "{\"type\":\"unix socket\",\"path\":\"/s\"},"
	    "{\"type\":\"pipe\",\"path\":\"/p\",\"mode\":\"w\"},"
	    "{\"type\":\"null\"}],\"user\":1000,\"group\":\"www\"},"
	    TASK("") "],\"stop_timeout\":2.5}";

	memset(&e, 0, sizeof(e));
	j = json_parse_job(body, strlen(body), "web", &e);
	ok(j != NULL, "a good job parses (%s)", e.msg);
	if (j == NULL)
		return;
	t = &j->tasks[0];
	ok(j->ntasks == 2 && strcmp(j->name, "web") == 0 &&
	    j->stop_timeout == 2.5, "two tasks, name, stop_timeout");
	ok(strcmp(t->argv[0], "srv") == 0 && strcmp(t->argv[1], "-x") == 0 &&
	    strcmp(t->argv[2], "") == 0 && t->argv[3] == NULL,
	    "argv is [exec] + args");
	ok(t->nenvs == 2 && strcmp(t->envs[0], "PATH=/b") == 0 &&
	    strcmp(t->envs[1], "E=") == 0, "envs become K=V");
	ok(t->nfds == 7, "seven fds");
	ok(t->fds[0].kind == FD_FILE && t->fds[0].flags == O_RDONLY,
	    "fd 0: file r");
	ok(t->fds[1].kind == FD_FILE &&
	    t->fds[1].flags == (O_WRONLY | O_CREAT | O_APPEND), "fd 1: file a");
	ok(t->fds[2].kind == FD_CLOSED, "fd 2: null entry is closed");
	ok(t->fds[3].kind == FD_NET && t->fds[3].port == 80 &&
	    t->fds[3].socktype == SOCK_DGRAM &&
	    strcmp(t->fds[3].name, "dns") == 0, "fd 3: udp socket");
	ok(t->fds[4].kind == FD_UNIX && t->fds[4].name == NULL,
	    "fd 4: unix socket");
	ok(t->fds[5].kind == FD_PIPE && t->fds[5].flags == O_WRONLY,
	    "fd 5: pipe w");
	ok(t->fds[6].kind == FD_NULL, "fd 6: null");
	ok(strcmp(t->user, "#1000") == 0 && strcmp(t->group, "www") == 0,
	    "user by number, group by name");
	ok(j->tasks[1].nfds == 3 && j->tasks[1].fds[0].kind == FD_NULL &&
	    j->tasks[1].fds[2].kind == FD_NULL, "no fds: 0, 1, 2 are null");
	job_free(j);
}

int
main(void)
{
	struct jerr	 e;
	struct job	*j;
	size_t		 i;
	int		 sig;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		j = json_parse_job(bad[i].body, strlen(bad[i].body), "x", &e);
		ok(j == NULL && e.status == bad[i].status &&
		    strcmp(e.path, bad[i].path) == 0 && e.msg[0] != '\0',
		    "%d at \"%s\": got %d at \"%s\": %s", bad[i].status,
		    bad[i].path, e.status, e.path, e.msg);
		job_free(j);
	}
	good();
	many_envs();

	ok(json_parse_signal("{\"signal\":\"HUP\"}", 16, &sig, &e) == 0 &&
	    sig == SIGHUP, "signal by name");
	ok(json_parse_signal("{\"signal\":15}", 13, &sig, &e) == 0 &&
	    sig == SIGTERM, "signal by number");
	ok(json_parse_signal("{\"signal\":1.5}", 14, &sig, &e) == -1 &&
	    strcmp(e.path, "signal") == 0, "not a whole number");
	ok(json_parse_signal("{\"sig\":1}", 9, &sig, &e) == -1 &&
	    strcmp(e.path, "sig") == 0, "unknown field");
	return tap_done();
}
