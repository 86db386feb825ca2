/*
 * listen_fuzz.c: libFuzzer target for --listen addresses. listen_parse
 * must refuse with a reason or give an address that listen_format can
 * write and listen_parse reads back as the same address: the same bytes
 * for TCP, the same path for a unix socket.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listen.h"
#include "fuzz.h"

static void	broken(const char *, const char *, ...)
		    __attribute__((format(printf, 2, 3), noreturn));

static void
broken(const char *spec, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "listen_fuzz: \"%s\": ", spec);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	__builtin_trap();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct laddr		 la, lb;
	const struct sockaddr_un *ua, *ub;
	char			*spec, err[LISTEN_ERRLEN];
	char			 text[LISTEN_ADDRLEN];

	if ((spec = malloc(size + 1)) == NULL)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';

	memset(err, 0, sizeof(err));
	if (listen_parse(spec, &la, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			broken(spec, "refused without a reason");
		goto done;
	}
	if (la.family != AF_UNIX && la.family != AF_INET &&
	    la.family != AF_INET6)
		broken(spec, "family %d", la.family);
	if (la.sslen == 0 || la.sslen > sizeof(la.ss))
		broken(spec, "address length %u", (unsigned)la.sslen);
	(void)listen_is_loopback(&la);
	if (listen_format((struct sockaddr *)&la.ss, la.sslen, la.socktype,
	    text, sizeof(text)) == -1)
		broken(spec, "accepted but cannot be written back");
	if (listen_parse(text, &lb, err, sizeof(err)) == -1)
		broken(spec, "written back as \"%s\", which is refused: %s",
		    text, err);
	if (la.family != lb.family || la.socktype != lb.socktype ||
	    listen_is_loopback(&la) != listen_is_loopback(&lb))
		broken(spec, "written back as \"%s\", a different address",
		    text);
	if (la.family == AF_UNIX) {
		ua = (const struct sockaddr_un *)&la.ss;
		ub = (const struct sockaddr_un *)&lb.ss;
		if (strcmp(ua->sun_path, ub->sun_path) != 0)
			broken(spec, "path \"%s\" written back as \"%s\"",
			    ua->sun_path, text);
	} else if (la.sslen != lb.sslen ||
	    memcmp(&la.ss, &lb.ss, la.sslen) != 0)
		broken(spec, "written back as \"%s\", other address bytes",
		    text);
done:
	free(spec);
	return 0;
}
