/* SPDX-License-Identifier: MIT */
/* policy.h — when to restart, how long to wait, when to give up.
 *
 * Pure functions of a crash history and `now`: no processes, no clock reads,
 * no allocation in tether_policy_decide. The supervisor records crashes in
 * two crash logs (all instances together, and per instance) and asks for a
 * verdict each time an instance ends.
 *
 * Definitions (SPEC §1):
 *   - A crash is an end that the policy answers with a restart: a non-zero
 *     exit, a death by signal, a watchdog kill or a failed start (fork or exec
 *     failed) under on-failure and always, and also exit 0 under always (a
 *     service meant to run always did not). Exit 0 under on-failure, and every
 *     end under never, end the instance (DONE) and are not crashes.
 *   - The window is sliding: a crash at time t is in the window at `now` iff
 *     now - t < crash_window. Crashes leave it as time passes, so backoff and
 *     the give-up count both relax (unlike systemd's backoff, which never
 *     resets, #43813).
 *   - Give up when the crashes of all instances in the window, this one
 *     included, exceed crash_limit: "giving up: 11 crashes in 5m".
 *   - Backoff before the k-th restart of an instance within the window (k
 *     counts this instance's crashes in the window, this one included):
 *     min(backoff_initial * 2^(k-1), backoff_max). backoff_initial 0 means
 *     restart at once, every time.
 */
#ifndef TETHER_POLICY_H
#define TETHER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum tether_restart {
	TETHER_RESTART_ON_FAILURE,
	TETHER_RESTART_ALWAYS,
	TETHER_RESTART_NEVER,
};

struct tether_policy {
	enum tether_restart restart;
	int64_t backoff_initial; /* ns, >= 0 */
	int64_t backoff_max;     /* ns, >= backoff_initial */
	unsigned crash_limit;    /* give up beyond this many crashes in the window */
	int64_t crash_window;    /* ns, > 0 */
};

/* How an instance ended. */
enum tether_end {
	TETHER_END_EXIT_ZERO,    /* exited with status 0 */
	TETHER_END_EXIT_NONZERO, /* exited with another status */
	TETHER_END_SIGNALED,     /* killed by a signal it did not get from us */
	TETHER_END_WATCHDOG,     /* hung: stopped by the watchdog */
	TETHER_END_START_FAILED, /* fork or exec failed */
};

enum tether_action {
	TETHER_ACTION_RESTART,
	TETHER_ACTION_DONE,
	TETHER_ACTION_GIVE_UP,
};

struct tether_verdict {
	enum tether_action action;
	bool crash;                 /* record this end in the crash logs */
	int64_t delay;              /* RESTART: backoff before the restart, ns */
	int64_t restart_at;         /* RESTART: now + delay */
	unsigned crashes_in_window; /* all instances, this one included (when a crash) */
	unsigned instance_crashes;  /* k: this instance, this one included */
};

/* A bounded log of crash times (a ring, oldest dropped when full). */
struct tether_crashlog {
	int64_t *times;
	size_t cap;   /* capacity */
	size_t n;     /* entries held */
	size_t first; /* index of the oldest */
};

/* cap >= 1. Returns 0 or -ENOMEM. */
int tether_crashlog_init(struct tether_crashlog *log, size_t cap);
/* Frees the ring; log then reads as empty. Accepts NULL and an empty log. */
void tether_crashlog_done(struct tether_crashlog *log);
/* Appends t (times must be non-decreasing; an earlier t is clamped). */
void tether_crashlog_add(struct tether_crashlog *log, int64_t t);
/* Crashes still in the window at now: now - t < window. */
size_t tether_crashlog_in_window(const struct tether_crashlog *log, int64_t now, int64_t window);
/* The time at which the oldest crash in the window leaves it (for status),
 * or INT64_MAX when the window is empty. */
int64_t tether_crashlog_next_expiry(const struct tether_crashlog *log, int64_t now, int64_t window);

/* The verdict for an instance that ended in `end` at now, given the crash
 * logs *before* this end is recorded. Pure. A NULL log reads as empty. When
 * the action is not RESTART, delay is 0 and restart_at INT64_MAX (never); when
 * the end is not a crash, the counts are those of the logs as they are. The
 * caller records a crash (verdict.crash) in both logs, GIVE_UP included. */
struct tether_verdict tether_policy_decide(const struct tether_policy *p, enum tether_end end,
					   const struct tether_crashlog *all,
					   const struct tether_crashlog *instance, int64_t now);

/* min(initial * 2^(k-1), max), saturating; k >= 1. Pure. */
int64_t tether_policy_backoff(const struct tether_policy *p, unsigned k);

/* The largest crash_limit (--crash-limit): the global crash log holds
 * crash_limit + 1 times, allocated at start, and a typo must not ask for
 * gigabytes. crash_limit 0 is valid: "more than 0 crashes" gives up at the
 * first crash, a fail-fast mode that differs from restart=never (one crash
 * stops the whole pool and exits 1 at once); SPEC's default is 10. A policy's
 * fields are checked with the rest of the configuration (options.h). */
#define TETHER_CRASH_LIMIT_MAX 100000u

#ifdef __cplusplus
}
#endif

#endif
