/*
 * signame.c: signal names and numbers, both ways. "HUP", "SIGHUP",
 * "hup" and "1" all name SIGHUP; real-time signals are RTMIN+n. Shared
 * by jobd and jobctl.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signame.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*name;
	int		 sig;
} signames[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },
	{ "STOP", SIGSTOP }, { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH }, { "IO", SIGIO }, { "PWR", SIGPWR },
	{ "SYS", SIGSYS }, { "IOT", SIGIOT }, { "CLD", SIGCHLD },
	{ "POLL", SIGPOLL },
};

static int
parse_num(const char *s, int *out)
{
	int	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > 1000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

/* A signal name or number to its number; -1 if it is none. */
int
sig_parse(const char *s)
{
	size_t	 i;
	int	 n;

	if (parse_num(s, &n) == 0)
		return n >= 1 && n <= SIGRTMAX ? n : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < nitems(signames); i++)
		if (strcasecmp(s, signames[i].name) == 0)
			return signames[i].sig;
	if (strncasecmp(s, "RTMIN+", 6) == 0 && parse_num(s + 6, &n) == 0 &&
	    SIGRTMIN + n <= SIGRTMAX)
		return SIGRTMIN + n;
	if (strncasecmp(s, "RTMAX-", 6) == 0 && parse_num(s + 6, &n) == 0 &&
	    SIGRTMAX - n >= SIGRTMIN)
		return SIGRTMAX - n;
	if (strcasecmp(s, "RTMIN") == 0)
		return SIGRTMIN;
	if (strcasecmp(s, "RTMAX") == 0)
		return SIGRTMAX;
	return -1;
}

/* The short name of a signal ("TERM"), in a static buffer for RT ones. */
const char *
sig_name(int sig)
{
	static char	 buf[16];
	size_t		 i;

	for (i = 0; i < nitems(signames); i++)
		if (signames[i].sig == sig)
			return signames[i].name;
	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		snprintf(buf, sizeof(buf), "RTMIN+%d", sig - SIGRTMIN);
		return buf;
	}
	snprintf(buf, sizeof(buf), "%d", sig);
	return buf;
}
