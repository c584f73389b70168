/* SPDX-License-Identifier: MIT */
/* stop.h — stopping the supervisor of a pidfile from outside (`tether stop`
 * and `tether kill`), signalling nothing that is not verified.
 *
 * Only the process that holds the pidfile's lock *and* is named by its record
 * (pid, start_time, boot_id) is signalled, through a pidfd opened before the
 * identity check. Its tree is snapshotted before it is signalled, because once
 * it dies its descendants are re-parented out of reach. A stale record is
 * removed only while holding the lock. Everything else — no lock holder, a
 * hostile or foreign file, a holder that does not match its record — is
 * reported and left alone.
 */
#ifndef TETHER_STOP_H
#define TETHER_STOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tether_stop_outcome {
	TETHER_STOP_NOT_RUNNING, /* nothing held the lock (a stale record may have been removed) */
	TETHER_STOP_STOPPED,     /* the supervisor exited after SIGTERM, its tree is gone */
	TETHER_STOP_KILLED,      /* SIGKILLed (kill, or stop's timeout), its tree is gone */
	TETHER_STOP_SURVIVORS,   /* some processes survived SIGKILL: see survivors */
	TETHER_STOP_UNVERIFIED,  /* a lock holder that cannot be verified: nothing signalled */
	TETHER_STOP_PID1,        /* the record names PID 1 (a container's entrypoint): refused,
				  * nothing signalled — the container runtime stops it (G4) */
	TETHER_STOP_DENIED,      /* we may not signal the supervisor (EPERM): nothing signalled */
};

#define TETHER_STOP_MAX_SURVIVORS 32

struct tether_stop_result {
	enum tether_stop_outcome outcome;
	pid_t supervisor;          /* the verified supervisor, when there was one */
	bool removed_stale;        /* a stale record was removed */
	bool left_foreign;         /* a file at the pidfile path is not ours: left in place */
	int nsurvivors;              /* distinct processes: each counted once */
	pid_t survivors[TETHER_STOP_MAX_SURVIVORS];
	char why[200];             /* for UNVERIFIED and left_foreign */
};

/* stop (kill_now false): SIGTERM, wait up to timeout_ns for the supervisor to
 * exit, then SIGKILL it and its tree. kill (kill_now true): SIGKILL the
 * supervisor and its tree at once. Either way the pidfile is gone afterwards
 * unless a new supervisor took it meanwhile. Returns 0 and *ret, or -errno
 * for failures unrelated to the supervisor (e.g. /proc unreadable). */
int tether_stop(const char *pidfile, int64_t timeout_ns, bool kill_now, const struct tether_clock *clock,
		struct tether_stop_result *ret);

#ifdef __cplusplus
}
#endif

#endif
