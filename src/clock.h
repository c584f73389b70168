/* SPDX-License-Identifier: MIT */
/* clock.h — time, passed in.
 *
 * Everything in libtether that waits or decides takes a struct tether_clock
 * (or a `now` read from one); nothing reads the system clock on its own. The
 * real clock reads CLOCK_MONOTONIC for deadlines and CLOCK_REALTIME for
 * timestamps. The simulated clock only moves when its driver says so
 * (tether_clock_sim_advance): the event loop then never waits in real time for
 * a timer, which is what lets the lab's soak run 24 virtual hours in minutes.
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
	bool simulated;
	int64_t sim_now;        /* simulated: monotonic now */
	int64_t sim_wall_base;  /* simulated: realtime at sim_now == sim_mono_base */
	int64_t sim_mono_base;
};

/* A real clock. */
void tether_clock_init_real(struct tether_clock *c);
/* A simulated clock starting at the real clock's current readings. */
void tether_clock_init_sim(struct tether_clock *c);

/* Monotonic now (virtual for a simulated clock). */
int64_t tether_clock_now(const struct tether_clock *c);
/* Wall-clock now (CLOCK_REALTIME, or its virtual image), for timestamps. */
int64_t tether_clock_wall(const struct tether_clock *c);

/* How long poll() may wait in real time to reach deadline: -1 for
 * TETHER_NEVER, 0 when due, else the remaining milliseconds rounded up (a
 * timer never fires early). A simulated clock never waits for a timer: -1 when
 * a deadline exists but is in the future (the driver advances the clock), 0
 * when it is due. */
int tether_clock_poll_timeout(const struct tether_clock *c, int64_t deadline);

/* Moves a simulated clock forward to `to` (never backwards). Returns 0, or
 * -EINVAL for a real clock. */
int tether_clock_sim_advance(struct tether_clock *c, int64_t to);

/* Formats wall time ns as "2026-11-25T17:00:00Z" (or with .mmm when ms is
 * true) into buf (at least 32 bytes). Returns buf. */
char *tether_format_iso8601(int64_t wall_ns, bool ms, char *buf, unsigned long len);

#ifdef __cplusplus
}
#endif

#endif
