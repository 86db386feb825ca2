/*
 * log.h: one line per event on stderr, in the manner of OpenBSD's log.c.
 * Shared by jobd, jobinit and jobctl; depends on libc alone.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

#define LOG_QUIET	0
#define LOG_NORMAL	1
#define LOG_VERBOSE	2

extern int log_verbosity;

void	log_init(const char *, int);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	usage_error(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
size_t	log_escape(char *, size_t, const char *, size_t);

#endif
