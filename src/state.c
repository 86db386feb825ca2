/*
 * state.c: jobd's settings, with their defaults, and the state every
 * part of it shares. Here rather than in main.c, so that the unit tests
 * and the fuzz targets link the same definitions and defaults.
 */
#include "config.h"

#include "jobd.h"

struct jobd_conf conf = {
	.socket_mode = 0600,
	.max_body = 1024 * 1024,
	.max_jobs = 10000,
	.keep_finished = 1000,
	.max_log = JOBD_LOG_MAX,
	.heartbeat = 15,
	.max_connections = 1024,
	.request_timeout = 30,
	.idle_timeout = 60,
};

struct ev_loop		*loop;
int			 shutting_down;
struct listener		*listeners;
size_t			 nlisteners;
ev_tstamp		 started;	/* when jobd started, for its uptime */
unsigned		 daemon_restarts;	/* daemon.c keeps it */
