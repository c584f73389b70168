/* SPDX-License-Identifier: MIT */
/* supervisor_lab.h — the one door the lab has into the supervisor's loop.
 *
 * struct tether_hooks.lab is NULL in the production tether: the loop then
 * counts nothing for anyone and answers no control request but "status".
 * A lab build's `tether run --sim-clock` points it at the simulated clock's
 * driver (src/lab/simclock.c), which only lab builds link — as SQLite links
 * its test_*.c hooks only into its test fixture. Not installed.
 */
#ifndef TETHER_SUPERVISOR_LAB_H
#define TETHER_SUPERVISOR_LAB_H

#include <stdbool.h>
#include <stddef.h>

#include "control.h"
#include "json.h"
#include "supervisor.h"

/* Every member is set (the lab's driver fills them all). */
struct tether_lab_hooks {
	void *data;
	/* An instance reported something (any of its notes). */
	void (*note)(void *data);
	/* A sign of progress arrived (WATCHDOG=1, a progress-file change). */
	void (*sign)(void *data);
	/* A control request other than "status": 1 when handled (answered into
	 * out, or kept to be answered later through tether_supervisor_reply), 0
	 * when unknown (the supervisor answers the error). */
	int (*request)(void *data, struct tether_supervisor *sv, const char *request,
		       const struct tether_control_peer *peer, struct tether_buf *out);
	/* The end of each round of the loop, once its events are handled. */
	void (*round)(void *data, struct tether_supervisor *sv);
};

/* Nothing waits for a process: no instance is starting or cleaning up. */
bool tether_supervisor_quiescent(const struct tether_supervisor *sv);
/* Sends an answer to a control request kept for later. 0 or -errno. */
int tether_supervisor_reply(struct tether_supervisor *sv, const struct tether_control_peer *peer, const char *msg,
			    size_t len);

#endif
