/*
 * err.c: the one error report. A failure names its task and fd entry as
 * numbers and the field below them by name; the JSON path and the sentence
 * that carries it are made once, when the answer is written.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jobd.h"

#define VALUE_MAX	120	/* a quoted value longer than this is cut */

void
err_init(struct jerr *e)
{
	memset(e, 0, sizeof(*e));
	e->task = e->fd = -1;
}

int
err_set(struct jerr *e, int status, int task, int fd, const char *field,
    const char *fmt, ...)
{
	va_list	 ap;

	e->status = status;
	e->task = task;
	e->fd = fd;
	e->field = field;
	e->path[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* "tasks[1].fd[3].path", or the parser's own path, or "". */
void
err_path(const struct jerr *e, char *out, size_t size)
{
	int	 n = 0;

	if (size == 0)
		return;
	if (e->path[0] != '\0' || e->task < 0) {
		snprintf(out, size, "%s", e->path);
		return;
	}
	n = snprintf(out, size, "tasks[%d]", e->task);
	if (e->fd >= 0 && n >= 0 && (size_t)n < size)
		n += snprintf(out + n, size - (size_t)n, ".fd[%d]", e->fd);
	if (e->field != NULL && n >= 0 && (size_t)n < size)
		snprintf(out + n, size - (size_t)n, ".%s", e->field);
}

/* The sentence of the answer: the path, then the reason. */
void
err_text(const struct jerr *e, char *out, size_t size)
{
	char	 path[sizeof(e->path)];

	err_path(e, path, sizeof(path));
	if (path[0] != '\0')
		snprintf(out, size, "%s: %s", path, e->msg);
	else
		snprintf(out, size, "%s", e->msg);
}

/*
 * A value quoted in a message (a path, a program, a PATH), shortened in
 * the middle so that what follows it, the OS error, is never cut.
 * Never splits a UTF-8 character.
 */
const char *
err_value(const char *s, char *out, size_t size)
{
	size_t	 len = strlen(s), max = size - 1, head, tail;

	if (max > VALUE_MAX)
		max = VALUE_MAX;
	if (len <= max) {
		snprintf(out, size, "%s", s);
		return out;
	}
	head = (max - 3) / 2;
	tail = max - 3 - head;
	while (head > 0 && ((unsigned char)s[head] & 0xc0) == 0x80)
		head--;
	while (tail > 0 &&
	    ((unsigned char)s[len - tail] & 0xc0) == 0x80)
		tail--;
	snprintf(out, size, "%.*s...%s", (int)head, s, s + len - tail);
	return out;
}
