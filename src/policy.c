/* SPDX-License-Identifier: MIT */
/* policy.c — see policy.h.
 *
 * Sizing the crash logs (the caller's job, because only the caller knows how
 * much history a verdict can need):
 *   - all instances: cap = crash_limit + 1 (computed in size_t: UINT_MAX + 1
 *     wraps to 0 in unsigned). Times are non-decreasing, so a full ring drops
 *     only crashes older than every crash it keeps: while the ring is not full
 *     of in-window crashes its count is exact, and when it is, at least
 *     crash_limit + 1 crashes are in the window, this end makes it more than
 *     crash_limit either way, and the verdict (give up) is the same as with the
 *     whole history. crashes_in_window is then a lower bound, but it is only
 *     ever reported at the first give-up, when it is exact (crash_limit + 1).
 *   - per instance: cap = 64. k only feeds the backoff, and from k = 64 on
 *     (63 doublings) initial * 2^(k-1) >= 2^63 > INT64_MAX for any initial >= 1,
 *     so the backoff is backoff_max whatever k is beyond that. A full ring of 64
 *     in-window crashes gives k >= 65: saturated, as the true k would be.
 *     instance_crashes is then a lower bound (65), which status may show as is.
 * The randomized test in harness/unit/test_policy.c checks both claims against
 * an unbounded reference.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "clock.h"
#include "policy.h"

/* now - t < window, exactly: times are only assumed non-decreasing, not
 * small, so now - t may not fit in int64_t. */
static bool in_window(int64_t t, int64_t now, int64_t window)
{
	int64_t age;
	if (__builtin_sub_overflow(now, t, &age))
		return now < t; /* age below INT64_MIN is in any window, above INT64_MAX in none */
	return age < window;
}

static int64_t add_sat(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static unsigned to_unsigned_sat(size_t n)
{
	return n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

/* The i-th oldest entry, i < n. */
static int64_t entry(const struct tether_crashlog *log, size_t i)
{
	size_t j = log->first + i;
	return log->times[j < log->cap ? j : j - log->cap];
}

int tether_crashlog_init(struct tether_crashlog *log, size_t cap)
{
	if (cap == 0)
		return -EINVAL;
	/* calloc checks this too, but sanitizer builds abort on it instead */
	if (cap > SIZE_MAX / sizeof(int64_t))
		return -ENOMEM;
	int64_t *times = calloc(cap, sizeof *times);
	if (!times)
		return -ENOMEM;
	*log = (struct tether_crashlog){.times = times, .cap = cap};
	return 0;
}

void tether_crashlog_done(struct tether_crashlog *log)
{
	if (!log)
		return;
	free(log->times);
	*log = (struct tether_crashlog){0};
}

void tether_crashlog_add(struct tether_crashlog *log, int64_t t)
{
	if (log->cap == 0)
		return; /* never initialised (or freed): nothing to keep it in */
	if (log->n > 0) {
		/* Out-of-order times would break the binary search below and
		 * drop-oldest; a monotonic clock never goes back, so an earlier t
		 * can only be a caller's rounding, and the newest time is as good. */
		int64_t newest = entry(log, log->n - 1);
		if (t < newest)
			t = newest;
	}
	if (log->n < log->cap) {
		size_t j = log->first + log->n;
		log->times[j < log->cap ? j : j - log->cap] = t;
		log->n++;
		return;
	}
	log->times[log->first] = t;
	log->first = log->first + 1 < log->cap ? log->first + 1 : 0;
}

/* Index of the oldest entry in the window (n when none): the entries in the
 * window are a suffix, because in_window is monotonic in t and times do not
 * decrease. */
static size_t first_in_window(const struct tether_crashlog *log, int64_t now, int64_t window)
{
	size_t lo = 0, hi = log->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (in_window(entry(log, mid), now, window))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

size_t tether_crashlog_in_window(const struct tether_crashlog *log, int64_t now, int64_t window)
{
	if (!log || log->n == 0)
		return 0;
	return log->n - first_in_window(log, now, window);
}

int64_t tether_crashlog_next_expiry(const struct tether_crashlog *log, int64_t now, int64_t window)
{
	if (!log || log->n == 0)
		return INT64_MAX;
	size_t i = first_in_window(log, now, window);
	if (i == log->n)
		return INT64_MAX;
	/* t leaves the window when now - t reaches window, at t + window; past
	 * INT64_MAX it never leaves, which is what INT64_MAX says. */
	return add_sat(entry(log, i), window);
}

static bool is_crash(enum tether_restart restart, enum tether_end end)
{
	switch (restart) {
	case TETHER_RESTART_NEVER:
		return false;
	case TETHER_RESTART_ALWAYS:
		return true;
	case TETHER_RESTART_ON_FAILURE:
		break;
	}
	/* on-failure, and any unknown mode (tether_config_check refuses those):
	 * only a clean exit is not a failure, so an unknown end is one. */
	return end != TETHER_END_EXIT_ZERO;
}

int64_t tether_policy_backoff(const struct tether_policy *p, unsigned k)
{
	int64_t initial = p->backoff_initial, max = p->backoff_max;
	if (initial <= 0)
		return 0; /* restart at once, every time (a negative one is refused by check) */
	if (initial >= max)
		return max;
	/* k = 0 is outside the contract; read it as the first restart rather
	 * than halve initial. */
	unsigned shift = k > 1 ? k - 1 : 0;
	/* initial >= 1, so from 63 doublings on the product is >= 2^63: saturated.
	 * Below that, initial << shift <= max iff initial <= max >> shift (floor),
	 * which also keeps the shift from overflowing. */
	if (shift >= 63 || initial > (max >> shift))
		return max;
	return initial << shift;
}

struct tether_verdict tether_policy_decide(const struct tether_policy *p, enum tether_end end,
					   const struct tether_crashlog *all,
					   const struct tether_crashlog *instance, int64_t now)
{
	size_t in_all = tether_crashlog_in_window(all, now, p->crash_window);
	size_t in_instance = tether_crashlog_in_window(instance, now, p->crash_window);
	struct tether_verdict v = {
		.action = TETHER_ACTION_DONE,
		.crash = is_crash(p->restart, end),
		.delay = 0,
		.restart_at = TETHER_NEVER,
		.crashes_in_window = to_unsigned_sat(in_all),
		.instance_crashes = to_unsigned_sat(in_instance),
	};
	if (!v.crash)
		return v; /* not a crash: counts stay as they are, this end is not one of them */
	/* This end is the newest crash of both logs (the caller records it after). */
	v.crashes_in_window = to_unsigned_sat(in_all < UINT_MAX ? in_all + 1 : in_all);
	v.instance_crashes =
		to_unsigned_sat(in_instance < UINT_MAX ? in_instance + 1 : in_instance);
	if (v.crashes_in_window > p->crash_limit) {
		v.action = TETHER_ACTION_GIVE_UP;
		return v;
	}
	v.action = TETHER_ACTION_RESTART;
	v.delay = tether_policy_backoff(p, v.instance_crashes);
	v.restart_at = add_sat(now, v.delay);
	return v;
}
