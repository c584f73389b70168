/* SPDX-License-Identifier: MIT */
/* clock.h — time, passed in.
 *
 * Everything in libtether that waits or decides takes a struct tether_clock
 * (or a `now` read from one); nothing reads the system clock on its own. A
 * clock is an interface: the library's own is the real one (CLOCK_MONOTONIC
 * for deadlines, CLOCK_REALTIME for timestamps); the lab's simulated clock
 * (src/lab/simclock.h), which moves only when its driver says so, lets the
 * soak run 24 virtual hours in minutes — the event loop then never waits in
 * real time for a timer.
 *
 * All times are nanoseconds in int64_t. TETHER_NEVER is "no deadline".
 */
#ifndef TETHER_CLOCK_H
#define TETHER_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TETHER_NEVER INT64_MAX
#define TETHER_NSEC_PER_MSEC INT64_C(1000000)
#define TETHER_NSEC_PER_SEC INT64_C(1000000000)

struct tether_clock {
	int64_t (*now)(const struct tether_clock *c);  /* monotonic */
	int64_t (*wall)(const struct tether_clock *c); /* realtime (or its image), for timestamps */
	/* How long poll() may wait in real time to reach deadline: see
	 * tether_clock_poll_timeout. */
	int (*poll_timeout)(const struct tether_clock *c, int64_t deadline);
	const char *name; /* "real", "simulated": what status says */
};

/* A real clock. */
void tether_clock_init_real(struct tether_clock *c);
/* The real clock, for callers that have no clock of their own to pass. */
const struct tether_clock *tether_clock_real(void);

/* Monotonic now (virtual for a simulated clock). */
int64_t tether_clock_now(const struct tether_clock *c);
/* Wall-clock now (CLOCK_REALTIME, or its virtual image), for timestamps. */
int64_t tether_clock_wall(const struct tether_clock *c);

/* How long poll() may wait in real time to reach deadline: -1 for
 * TETHER_NEVER, 0 when due, else (real clock) the remaining milliseconds
 * rounded up (a timer never fires early), capped at a day. A simulated clock
 * never waits for a timer: -1 when a deadline exists but is in the future
 * (its driver advances the clock), 0 when it is due. */
int tether_clock_poll_timeout(const struct tether_clock *c, int64_t deadline);

/* Formats wall time ns as "2026-11-25T17:00:00Z" (or with .mmm when ms is
 * true) into buf (at least 32 bytes). Returns buf. */
char *tether_format_iso8601(int64_t wall_ns, bool ms, char *buf, unsigned long len);

#ifdef __cplusplus
}
#endif

#endif
