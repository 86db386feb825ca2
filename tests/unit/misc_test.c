/*
 * misc_test.c: job names, signal names, the hash table.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd.h"
#include "tap.h"

struct item {
	struct hnode	 node;
	int		 key;
};

static void
names(void)
{
	static const char *const good[] = {
		"a", "web", "Web_1", "user@host", "a.b-c", "0", "x.", "a--b",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	static const char *const bad[] = {
		"", ".a", "-a", "a b", "a/b", "a%2Fb", "é", "a:b", "a\n",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	size_t	 i;

	for (i = 0; i < nitems(good); i++)
		ok(job_valid_name(good[i]), "name \"%s\" is valid", good[i]);
	for (i = 0; i < nitems(bad); i++)
		ok(!job_valid_name(bad[i]), "name \"%s\" is not", bad[i]);
}

static void
signals(void)
{
	ok(sig_parse("HUP") == SIGHUP, "HUP");
	ok(sig_parse("SIGTERM") == SIGTERM, "SIGTERM");
	ok(sig_parse("usr1") == SIGUSR1, "usr1");
	ok(sig_parse("9") == SIGKILL, "9");
	ok(sig_parse("RTMIN+2") == SIGRTMIN + 2, "RTMIN+2");
	ok(sig_parse("0") == -1, "0 is no signal");
	ok(sig_parse("65") == -1, "65 is no signal");
	ok(sig_parse("SIG") == -1, "SIG alone");
	ok(sig_parse("") == -1, "empty");
	ok(sig_parse("NOPE") == -1, "NOPE");
	ok(strcmp(sig_name(SIGTERM), "TERM") == 0, "name of 15");
	ok(strcmp(sig_name(SIGRTMIN + 1), "RTMIN+1") == 0, "name of RTMIN+1");
}

static void
table(void)
{
	struct htab	 t = { NULL, 0, 0 };
	struct item	*items;
	struct hnode	*n;
	int		 i, found = 0, wrong = 0;

	items = calloc(10000, sizeof(*items));
	for (i = 0; i < 10000; i++) {
		items[i].key = i;
		hash_insert(&t, &items[i].node, hash_int((uint64_t)i));
	}
	ok(t.n == 10000 && t.nb >= 10000, "10000 entries, table grown");
	for (i = 0; i < 10000; i += 2)
		hash_remove(&t, &items[i].node);
	for (i = 0; i < 10000; i++) {
		for (n = hash_first(&t, hash_int((uint64_t)i)); n != NULL;
		    n = hash_next(n)) {
			if (container_of(n, struct item, node)->key == i)
				break;
		}
		if (n != NULL)
			found++;
		if ((n != NULL) != (i % 2 == 1))
			wrong++;
	}
	ok(found == 5000 && wrong == 0, "odd keys found, even ones removed");
	ok(hash_str("web") != hash_str("weB"), "string hashes differ");
	free(t.b);
	free(items);
}

int
main(void)
{
	names();
	signals();
	table();
	return tap_done();
}
