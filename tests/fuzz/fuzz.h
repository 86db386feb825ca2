/*
 * fuzz.h: the libFuzzer entry points every target in tests/fuzz defines,
 * declared for the compiler's prototype checks and for driver.c, which
 * runs a target over files without libFuzzer.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * JSON text is UTF-8 (RFC 8259, 8.1): no stray or cut-short sequence, no
 * overlong form, no surrogate, nothing above U+10FFFF. cJSON checks none
 * of it, so the targets do. Written apart from json.c's utf8_len on
 * purpose: a check that shared the code it checks would share its bugs.
 */
static inline int
utf8_valid(const char *p, size_t len)
{
	const unsigned char	*s = (const unsigned char *)p;
	unsigned long		 c, min;
	size_t			 i = 0, n, k;

	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			min = 0x80;
			c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			min = 0x800;
			c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			min = 0x10000;
			c &= 0x07;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

#endif
