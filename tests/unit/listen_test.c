/*
 * listen_test.c: --listen address parsing, loopback detection and
 * formatting, without binding anything.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <string.h>

#include "listen.h"
#include "tap.h"

static const struct {
	const char	*spec;
	int		 ok;
	const char	*canon;		/* listen_format of the result */
	int		 loopback;
} cases[] = {
	{ "unix:/run/jobd.sock", 1, "unix:/run/jobd.sock", 1 },
	{ "/run/jobd.sock", 1, "unix:/run/jobd.sock", 1 },
	{ "unix:relative.sock", 0, NULL, 0 },
	{ "relative.sock", 0, NULL, 0 },
	{ "unix:", 0, NULL, 0 },
	{ "tcp:127.0.0.1:8080", 1, "tcp:127.0.0.1:8080", 1 },
	{ "tcp:127.1.2.3:0", 1, "tcp:127.1.2.3:0", 1 },
	{ "tcp:localhost:80", 1, "tcp:127.0.0.1:80", 1 },
	{ "tcp:[::1]:80", 1, "tcp:[::1]:80", 1 },
	{ "tcp:[::ffff:127.0.0.1]:80", 1, "tcp:[::ffff:127.0.0.1]:80", 1 },
	{ "tcp:0.0.0.0:80", 1, "tcp:0.0.0.0:80", 0 },
	{ "tcp:10.1.2.3:65535", 1, "tcp:10.1.2.3:65535", 0 },
	{ "tcp:[::]:80", 1, "tcp:[::]:80", 0 },
	{ "tcp:[2001:db8::1]:443", 1, "tcp:[2001:db8::1]:443", 0 },
	{ "tcp:::1:80", 0, NULL, 0 },
	{ "tcp:127.0.0.1:65536", 0, NULL, 0 },
	{ "tcp:127.0.0.1:-1", 0, NULL, 0 },
	{ "tcp:127.0.0.1:", 0, NULL, 0 },
	{ "tcp:127.0.0.1", 0, NULL, 0 },
	{ "tcp::80", 0, NULL, 0 },
	{ "tcp:example.com:80", 0, NULL, 0 },
	{ "tcp:[::1:80", 0, NULL, 0 },
	{ "tcp:127.0.0.1:80x", 0, NULL, 0 },
	{ "udp:127.0.0.1:80", 0, NULL, 0 },
	{ "http://127.0.0.1/", 0, NULL, 0 },
	{ "", 0, NULL, 0 },
};

int
main(void)
{
	struct laddr	 la;
	char		 err[LISTEN_ERRLEN], buf[LISTEN_ADDRLEN], longpath[200];
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		r = listen_parse(cases[i].spec, &la, err, sizeof(err));
		ok((r == 0) == cases[i].ok, "parse \"%s\" %s", cases[i].spec,
		    cases[i].ok ? "accepted" : "refused");
		if (!cases[i].ok) {
			ok(err[0] != '\0', "\"%s\": error says why: %s",
			    cases[i].spec, err);
			continue;
		}
		listen_format((struct sockaddr *)&la.ss, la.sslen, la.socktype,
		    buf, sizeof(buf));
		ok(strcmp(buf, cases[i].canon) == 0, "\"%s\" is %s (got %s)",
		    cases[i].spec, cases[i].canon, buf);
		ok(listen_is_loopback(&la) == cases[i].loopback,
		    "\"%s\" loopback: %d", cases[i].spec, cases[i].loopback);
	}

	/* sun_path holds 107 bytes and a NUL. */
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[108] = '\0';
	ok(listen_parse(longpath, &la, err, sizeof(err)) == -1,
	    "a 108-byte path is too long");
	longpath[107] = '\0';
	ok(listen_parse(longpath, &la, err, sizeof(err)) == 0,
	    "a 107-byte path fits");

	ok(listen_ip("127.0.0.1", 53, SOCK_DGRAM, &la) == 0 &&
	    la.socktype == SOCK_DGRAM, "listen_ip keeps the socket type");
	ok(listen_ip("::1", 1, SOCK_STREAM, &la) == 0 && la.family == AF_INET6,
	    "listen_ip takes IPv6 without brackets");
	ok(listen_ip("[::1]", 1, SOCK_STREAM, &la) == 0, "and with brackets");
	ok(listen_ip("localhost", 1, SOCK_STREAM, &la) == 0 &&
	    la.ss.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&la.ss)->sin_addr.s_addr ==
	    htonl(INADDR_LOOPBACK), "listen_ip takes localhost as 127.0.0.1");
	ok(listen_ip("example.com", 1, SOCK_STREAM, &la) == -1,
	    "and other names not at all: literals only");
	ok(listen_ip("127.0.0.1", 70000, SOCK_STREAM, &la) == -1,
	    "listen_ip checks the port");
	return tap_done();
}
