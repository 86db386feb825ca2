/*
 * logwrite BYTES: write BYTES of 100-byte lines to stdout, as fast as it
 * can, in blocks of 64 KiB. Each line begins with the time of its
 * block's write (CLOCK_REALTIME, ns, 19 digits): a reader that gets the
 * line knows how long it took to come.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE	100
#define LINES	655

int
main(int argc, char *argv[])
{
	static char	 block[LINE * LINES];
	struct timespec	 ts;
	long long	 total, done = 0, ns;
	size_t		 i, n, off;
	ssize_t		 w;
	char		 stamp[32];

	if (argc != 2 || (total = atoll(argv[1])) <= 0) {
		fprintf(stderr, "usage: logwrite BYTES\n");
		return 2;
	}
	for (i = 0; i < LINES; i++) {
		memset(block + i * LINE, 'x', LINE - 1);
		block[i * LINE + LINE - 1] = '\n';
	}
	while (done < total) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
		snprintf(stamp, sizeof(stamp), "%019lld ", ns);
		for (i = 0; i < LINES; i++)
			memcpy(block + i * LINE, stamp, 20);
		n = sizeof(block);
		if ((long long)n > total - done)
			n = (size_t)(total - done);
		for (off = 0; off < n; off += (size_t)w)
			if ((w = write(1, block + off, n - off)) <= 0) {
				perror("logwrite");
				return 1;
			}
		done += (long long)n;
	}
	return 0;
}
