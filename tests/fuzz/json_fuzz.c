/*
 * json_fuzz.c: libFuzzer target for the job JSON. The input is a PUT
 * body: json_parse_job turns it into a struct job with every check of
 * json.c and fd.c, and what parses is serialised back with json_job.
 * The same bytes go to json_parse_signal, the body of a signal request.
 * Promises checked: an error is 400, 413, 422 or 501 with a sentence and
 * a path (a string) that json_error makes into valid JSON; a job comes
 * back as valid JSON. Valid JSON includes valid UTF-8.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jobd.h"
#include "fuzz.h"

static void	broken(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

static void
broken(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "json_fuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	__builtin_trap();
}

/* A string jobd sends must be one JSON value, nothing after it. */
static void
check_json(const char *s, const char *what)
{
	const char	*end = NULL;
	cJSON		*v;

	if (s == NULL)
		broken("%s: no JSON at all", what);
	v = cJSON_ParseWithOpts(s, &end, 1);
	if (v == NULL)
		broken("%s: not valid JSON: %s", what, s);
	cJSON_Delete(v);
	if (!utf8_valid(s, strlen(s)))
		broken("%s: not UTF-8: %s", what, s);
}

static void
check_error(const struct jerr *e, const char *what)
{
	char	*body;

	if (memchr(e->path, '\0', sizeof(e->path)) == NULL)
		broken("%s: path is not a string", what);
	if (memchr(e->msg, '\0', sizeof(e->msg)) == NULL)
		broken("%s: message is not a string", what);
	if (e->msg[0] == '\0')
		broken("%s: no message (status %d, path \"%s\")", what,
		    e->status, e->path);
	if (e->status != 400 && e->status != 413 && e->status != 422 &&
	    e->status != 501)
		broken("%s: status %d (path \"%s\": %s)", what, e->status,
		    e->path, e->msg);
	/* What http_error makes of it. */
	body = json_error(e->msg, e->path[0] != '\0' ? e->path : NULL);
	check_json(body, "json_error");
	free(body);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*body = (const char *)data;
	struct jerr	 e;
	struct job	*j;
	char		*s;
	int		 sig;

	memset(&e, 0, sizeof(e));
	if ((j = json_parse_job(body, size, "x", &e)) == NULL)
		check_error(&e, "json_parse_job");
	else {
		s = json_job(j);
		check_json(s, "json_job");
		free(s);
		job_free(j);
	}

	memset(&e, 0, sizeof(e));
	sig = 0;
	if (json_parse_signal(body, size, &sig, &e) == -1)
		check_error(&e, "json_parse_signal");
	else if (sig < 1 || sig > 64)
		broken("json_parse_signal: signal %d", sig);
	return 0;
}
