/*
 * signame.h: signal names and numbers, both ways. Shared by jobd and
 * jobctl; depends on libc alone.
 */
#ifndef SIGNAME_H
#define SIGNAME_H

int		 sig_parse(const char *);
const char	*sig_name(int);

#endif
