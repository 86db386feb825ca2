/*
 * buf.c: growable byte buffers for connection input and output and for
 * request bodies.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd.h"

#define BUF_KEEP	(16 * 1024)	/* kept when emptied, at most */

int
buf_reserve(struct buf *b, size_t more)
{
	size_t	 need, cap;
	char	*p;

	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + more <= b->cap)
		return 0;
	/* Reclaim the consumed head before growing. */
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->len + more <= b->cap)
			return 0;
	}
	need = b->len + more;
	if (need < more) {
		b->err = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL) {
		b->err = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Append, keeping a NUL after the data (it is not counted in len). */
int
buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len >= b->cap && buf_reserve(b, len + 1) == -1)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

/* Append a number in decimal: answers and statuses are full of them. */
int
buf_add_uint(struct buf *b, unsigned long long v)
{
	char	 d[24], *p = d + sizeof(d);

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	return buf_add(b, p, (size_t)(d + sizeof(d) - p));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off < b->len)
		return;
	b->off = b->len = 0;
	/* Emptied after a burst: a thousand idle streams keep no memory. */
	if (b->cap > BUF_KEEP) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
}

void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
