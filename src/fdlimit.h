/* SPDX-License-Identifier: MIT */
/* fdlimit.h — the descriptors a supervisor holds, and room for them under
 * RLIMIT_NOFILE.
 *
 * tether holds a few descriptors of its own and a few per instance. Past the
 * soft RLIMIT_NOFILE a new one is EMFILE (an instance that cannot start,
 * counted as a crash) and poll() refuses more entries than that limit
 * (EINVAL, the loop's end): the usual soft limit of 1024 held about 507
 * instances. So before anything starts the supervisor raises its soft limit
 * toward the hard one, as far as the pool needs (as systemd and most servers
 * raise their own), and when even the hard limit cannot hold the pool it
 * refuses to start, saying how many instances fit. The hard limit is the
 * operator's ceiling (ulimit -Hn, systemd's LimitNOFILE=): it is never
 * raised, whatever tether's privileges. The workers get back the soft limit
 * tether was given (spawn.c): a program built on select() relies on at most
 * FD_SETSIZE (1024). scenarios/instances_fd_limit_raised.scn and
 * instances_fd_limit_refused.scn; harness/unit/test_supervisor.c.
 *
 * Internal to libtether.
 */
#ifndef TETHER_FDLIMIT_H
#define TETHER_FDLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "control.h"
#include "supervisor.h"

/* What tether holds whatever the pool's size, and room for what it opens for
 * a moment: 0-2, the lock, /proc for the guardians, the signalfd, the control
 * socket, the progress files' inotify, the heartbeat log (two during a
 * rotation), the socket to our own supervisor; a guardian's socketpair while
 * it starts, a /proc walk, a pidfd, a listing of the sockets; and a
 * sanitizer's or valgrind's own (32 for all these). Then the pidfile kept
 * (keeper.c): its directory and its last record held open, the keeper's
 * timer, and a restore's new lock before the old one goes (4); and the
 * control socket's connections, those waiting for their question and those
 * waiting for a deferred answer (control.h). Counted generously: too few is
 * a crash loop, too many a few unused slots of a limit that is raised
 * anyway. */
#define TETHER_FDS_FIXED (32u + 4u + TETHER_CONTROL_CONNS + TETHER_CONTROL_DEFERRED)

/* What one instance costs tether while it runs: its guardian's channel and
 * its notify socket. (The worker is held by its guardian, which tether talks
 * to, so there is no pidfd per instance.) Anything held per instance is
 * counted here, and only here: --output's pipes add theirs. */
unsigned tether_fds_per_instance(const struct tether_config *cfg);
/* The descriptors cfg's pool needs. */
uint64_t tether_fds_needed(const struct tether_config *cfg);
/* How many instances of cfg fit under a limit of `limit` descriptors. */
uint64_t tether_fds_instances_within(const struct tether_config *cfg, uint64_t limit);

/* The soft limit as it was, and whether it was raised. */
struct tether_fdlimit {
	uint64_t soft, hard;
	bool raised;
};

/* Makes room for cfg's pool: raises the soft RLIMIT_NOFILE up to what the pool
 * needs, never beyond the hard limit. 0 (ret says what it was, and whether it
 * was raised; an unreadable limit is left alone and assumed enough);
 * -EMFILE when the hard limit cannot hold the pool (ret->hard says what it
 * allows); -errno when raising failed. */
int tether_fdlimit_prepare(const struct tether_config *cfg, struct tether_fdlimit *ret);
/* Puts the soft limit back (what a library owes the program that embeds it). */
void tether_fdlimit_restore(const struct tether_fdlimit *lim);

#endif
