/*
 * driver.c: a fuzz target without libFuzzer, for make check. Runs the
 * target's LLVMFuzzerTestOneInput over every file of the directories
 * given (by default $SRCDIR/tests/fuzz/corpus/NAME and
 * $SRCDIR/tests/fuzz/regress/NAME, NAME being the target's), one TAP
 * line per file: the corpus and every crasher found so far must pass.
 * A crasher whose fix is not in yet is named todo-*: it is expected to
 * fail (a TAP TODO), and passing is news (XPASS) until it is renamed.
 * All files are read before the target's initialisation, which may
 * change directory and give up privileges; each input runs in a child
 * of its own, so that one crash does not hide the others.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME: the target's name, as in tests/fuzz/corpus/NAME"
#endif

#define TIMEOUT		30	/* seconds for one input */

/* LeakSanitizer's check, when the driver is built with it. */
int	__lsan_do_recoverable_leak_check(void) __attribute__((weak));

struct input {
	char	*name;
	uint8_t	*data;
	size_t	 size;
	int	 err;		/* could not be read: errno */
};

static struct input	*inputs;
static size_t		 ninputs;

static struct input *
add(const char *name)
{
	struct input	*in;

	in = realloc(inputs, (ninputs + 1) * sizeof(*inputs));
	if (in == NULL || (in[ninputs].name = strdup(name)) == NULL) {
		perror("driver");
		exit(1);
	}
	inputs = in;
	in = &inputs[ninputs++];
	in->data = NULL;
	in->size = 0;
	in->err = 0;
	return in;
}

static void
read_file(struct input *in)
{
	struct stat	 st;
	FILE		*f;

	if ((f = fopen(in->name, "rb")) == NULL) {
		in->err = errno;
		return;
	}
	if (fstat(fileno(f), &st) == -1) {
		in->err = errno;
		fclose(f);
		return;
	}
	/* Exactly the file's size, so that a read past it is caught. */
	in->size = (size_t)st.st_size;
	if ((in->data = malloc(in->size > 0 ? in->size : 1)) == NULL) {
		perror("driver");
		exit(1);
	}
	if (fread(in->data, 1, in->size, f) != in->size)
		in->err = ferror(f) ? errno : EIO;
	fclose(f);
}

static void
read_dir(const char *dir)
{
	struct dirent	**ents;
	struct stat	  st;
	char		 *path;
	int		  n, i;

	if ((n = scandir(dir, &ents, NULL, alphasort)) == -1) {
		add(dir)->err = errno;
		return;
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			if (asprintf(&path, "%s/%s", dir, ents[i]->d_name) ==
			    -1) {
				perror("driver");
				exit(1);
			}
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
				read_file(add(path));
			free(path);
		}
		free(ents[i]);
	}
	free(ents);
}

/* One input in a child; returns 0 if that is a failure of the test. */
static int
run(const struct input *in, size_t n)
{
	char	*copy, *base;
	pid_t	 pid;
	int	 status, todo, passed;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		perror("driver: fork");
		exit(1);
	}
	if (pid == 0) {
		alarm(TIMEOUT);
		LLVMFuzzerTestOneInput(in->data, in->size);
		if (__lsan_do_recoverable_leak_check != NULL &&
		    __lsan_do_recoverable_leak_check() != 0)
			_exit(1);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			perror("driver: waitpid");
			exit(1);
		}
	passed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if ((copy = strdup(in->name)) == NULL) {
		perror("driver");
		exit(1);
	}
	base = basename(copy);
	todo = strncmp(base, "todo-", 5) == 0;
	free(copy);
	if (!passed) {
		if (WIFSIGNALED(status))
			fprintf(stderr, "driver: %s: killed by signal %d "
			    "(%s)\n", in->name, WTERMSIG(status),
			    strsignal(WTERMSIG(status)));
		else
			fprintf(stderr, "driver: %s: exit %d\n", in->name,
			    WEXITSTATUS(status));
	}
	printf("%sok %zu - %s %s%s\n", passed ? "" : "not ", n, FUZZ_NAME,
	    in->name, todo ? " # TODO not fixed yet" : "");
	return passed || todo;
}

int
main(int argc, char *argv[])
{
	const char	*srcdir;
	char		*dir;
	size_t		 i;
	int		 k, failed = 0;

	if (argc > 1) {
		for (k = 1; k < argc; k++)
			read_dir(argv[k]);
	} else {
		if ((srcdir = getenv("SRCDIR")) == NULL)
			srcdir = ".";
		for (k = 0; k < 2; k++) {
			if (asprintf(&dir, "%s/tests/fuzz/%s/%s", srcdir,
			    k == 0 ? "corpus" : "regress", FUZZ_NAME) == -1) {
				perror("driver");
				return 1;
			}
			read_dir(dir);
			free(dir);
		}
	}

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 0; i < ninputs; i++) {
		if (inputs[i].err != 0) {
			printf("not ok %zu - %s: %s\n", i + 1, inputs[i].name,
			    strerror(inputs[i].err));
			failed++;
		} else if (!run(&inputs[i], i + 1))
			failed++;
		fflush(stdout);
		free(inputs[i].name);
		free(inputs[i].data);
	}
	free(inputs);
	printf("1..%zu\n", ninputs);
	return failed ? 1 : 0;
}
