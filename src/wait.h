/* SPDX-License-Identifier: MIT */
/* wait.h — waits with a deadline, and the pacing of retries, on the clock
 * passed in, that neither spin nor hang when the calls under them keep
 * failing (SPEC G9).
 *
 * A loop around poll() must tell three answers apart: an event, the deadline,
 * and "nothing, early" — an error (ENOMEM), or an interruption, which
 * sys_poll reports as no event. Looking again at once after the third turns a
 * persistent fault into a busy loop that lasts until the deadline (seconds of
 * `tether stop` at full speed, scenarios/stop_escalation.scn with poll failing
 * from its k-th call). So every wait here counts its early returns that came back at once
 * (within a millisecond: a fault fails the call without waiting, while a
 * signal interrupts a wait that went on) and, after TETHER_WAIT_EARLY_MAX of
 * them in a row, returns an error that its caller treats as "could not
 * wait" — never as "look again now".
 *
 * A retry after a failure is paced: tether_backoff gives the gaps (doubling up
 * to a cap) and tether_wait_until spends one. Internal to libtether.
 */
#ifndef TETHER_WAIT_H
#define TETHER_WAIT_H

#include <poll.h>
#include <stdint.h>

#include "clock.h"

/* Early returns at once, in a row, after which a wait gives up. */
#define TETHER_WAIT_EARLY_MAX 8

/* Waits until pfd->fd reports pfd->events or the deadline passes on clock.
 * 1: ready (pfd->revents set), 0: the deadline passed, -errno: the wait kept
 * failing (-EINTR: kept being interrupted, else poll's error). */
int tether_wait_fd(struct pollfd *pfd, const struct tether_clock *clock, int64_t deadline);

/* Pauses until clock reaches `until`: the pacing of a retry, never a wait for
 * an event. 0 when reached, -errno when the pause itself kept failing, -ETIME
 * at once for a clock that cannot say how long to wait in real time (a
 * simulated clock moves only when its driver says so): the caller then stops
 * retrying rather than spin. */
int tether_wait_until(const struct tether_clock *clock, int64_t until);

/* Gaps between retries: first, then doubling up to max (nanoseconds). */
struct tether_backoff {
	int64_t gap, max;
};

void tether_backoff_init(struct tether_backoff *b, int64_t first, int64_t max);
/* The gap to wait now; the next one doubles (up to max). */
int64_t tether_backoff_next(struct tether_backoff *b);

#endif
