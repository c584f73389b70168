/* SPDX-License-Identifier: MIT */
/* test_policy.c — the restart policy (SPEC §1: --restart, --backoff-*, --crash-*).
 *
 * No processes: the policy is a pure function of two crash logs and `now`.
 * Every cell of the verdict table, every boundary of the backoff and of the
 * sliding window, and a randomized cross-check of the bounded rings (sized as
 * the supervisor sizes them) against an unbounded, naive reference.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "options.h"
#include "policy.h"

#define S TETHER_NSEC_PER_SEC
#define MINUTE (60 * S)
#define WINDOW (5 * MINUTE)
/* How the supervisor sizes its logs (policy.c explains why). */
#define INSTANCE_CAP 64
#define GLOBAL_CAP(p) ((size_t)(p)->crash_limit + 1)

typedef __int128 i128;

static const char *const mode_names[] = {"on-failure", "always", "never"};
static const char *const end_names[] = {"exit-zero", "exit-nonzero", "signaled", "watchdog",
					"start-failed"};
static const char *const action_names[] = {"RESTART", "DONE", "GIVE_UP"};

/* SPEC §1 defaults. */
static struct tether_policy defaults(void)
{
	return (struct tether_policy){
		.restart = TETHER_RESTART_ON_FAILURE,
		.backoff_initial = 1 * S,
		.backoff_max = 60 * S,
		.crash_limit = 10,
		.crash_window = WINDOW,
	};
}

static void log_init(struct tether_crashlog *log, size_t cap)
{
	ck_assert_int_eq(tether_crashlog_init(log, cap), 0);
	ck_assert_uint_eq(log->n, 0);
	ck_assert_uint_eq(log->cap, cap);
}

static void log_add_n(struct tether_crashlog *log, int64_t t, size_t count)
{
	for (size_t i = 0; i < count; i++)
		tether_crashlog_add(log, t);
}

/* ---- the verdict table: restart mode x end kind ---------------------------- */

/* A crash (and so a restart) in every cell but exit 0 under on-failure and every
 * end under never. */
static bool table_crash(enum tether_restart mode, enum tether_end end)
{
	static const bool crash[3][5] = {
		[TETHER_RESTART_ON_FAILURE] = {false, true, true, true, true},
		[TETHER_RESTART_ALWAYS] = {true, true, true, true, true},
		[TETHER_RESTART_NEVER] = {false, false, false, false, false},
	};
	return crash[mode][end];
}

/* One test per cell (_i = mode * 5 + end), with empty logs and with logs that
 * already hold crash_limit crashes in the window: a crash cell must give up
 * there, a non-crash cell must stay DONE (it is no crash, so no give-up). */
START_TEST(verdict_cell)
{
	enum tether_restart mode = (enum tether_restart)(_i / 5);
	enum tether_end end = (enum tether_end)(_i % 5);
	bool crash = table_crash(mode, end);
	struct tether_policy p = defaults();
	p.restart = mode;
	int64_t now = 1000 * S;
	struct tether_crashlog all, inst;
	log_init(&all, GLOBAL_CAP(&p));
	log_init(&inst, INSTANCE_CAP);

	struct tether_verdict v = tether_policy_decide(&p, end, &all, &inst, now);
	ck_assert_msg(v.crash == crash, "%s/%s: crash %d, want %d", mode_names[mode],
		      end_names[end], v.crash, crash);
	enum tether_action want = crash ? TETHER_ACTION_RESTART : TETHER_ACTION_DONE;
	ck_assert_msg(v.action == want, "%s/%s: %s, want %s", mode_names[mode], end_names[end],
		      action_names[v.action], action_names[want]);
	if (crash) {
		ck_assert_int_eq(v.delay, 1 * S); /* k = 1: backoff_initial */
		ck_assert_int_eq(v.restart_at, now + 1 * S);
		ck_assert_uint_eq(v.crashes_in_window, 1);
		ck_assert_uint_eq(v.instance_crashes, 1);
	} else {
		ck_assert_int_eq(v.delay, 0);
		ck_assert_int_eq(v.restart_at, TETHER_NEVER);
		ck_assert_uint_eq(v.crashes_in_window, 0);
		ck_assert_uint_eq(v.instance_crashes, 0);
	}

	/* crash_limit crashes of another instance in the window, the newest now. */
	for (unsigned i = 0; i < p.crash_limit; i++)
		tether_crashlog_add(&all, now - (int64_t)(p.crash_limit - 1 - i) * S);
	v = tether_policy_decide(&p, end, &all, &inst, now);
	ck_assert_msg(v.crash == crash, "%s/%s at the limit: crash %d", mode_names[mode],
		      end_names[end], v.crash);
	want = crash ? TETHER_ACTION_GIVE_UP : TETHER_ACTION_DONE;
	ck_assert_msg(v.action == want, "%s/%s at the limit: %s, want %s", mode_names[mode],
		      end_names[end], action_names[v.action], action_names[want]);
	ck_assert_uint_eq(v.crashes_in_window, crash ? p.crash_limit + 1 : p.crash_limit);
	ck_assert_int_eq(v.delay, 0);
	ck_assert_int_eq(v.restart_at, TETHER_NEVER);
	tether_crashlog_done(&all);
	tether_crashlog_done(&inst);
}
END_TEST

/* The table does not depend on the history: a crash cell is a crash whatever
 * the logs hold (here: the logs full of old crashes outside the window). */
START_TEST(verdict_ignores_old_history)
{
	struct tether_policy p = defaults();
	struct tether_crashlog all, inst;
	log_init(&all, GLOBAL_CAP(&p));
	log_init(&inst, INSTANCE_CAP);
	int64_t now = 100000 * S;
	log_add_n(&all, now - WINDOW, 50);
	log_add_n(&inst, now - WINDOW, 100);
	for (int c = 0; c < 15; c++) {
		p.restart = (enum tether_restart)(c / 5);
		struct tether_verdict v =
			tether_policy_decide(&p, (enum tether_end)(c % 5), &all, &inst, now);
		bool crash = table_crash(p.restart, (enum tether_end)(c % 5));
		ck_assert_int_eq(v.crash, crash);
		ck_assert_int_eq(v.action, crash ? TETHER_ACTION_RESTART : TETHER_ACTION_DONE);
		if (crash)
			ck_assert_int_eq(v.delay, 1 * S);
	}
	tether_crashlog_done(&all);
	tether_crashlog_done(&inst);
}
END_TEST

/* ---- backoff -------------------------------------------------------------- */

/* a + b, saturated (the reference computes in 128 bits). */
static int64_t add_clamped(int64_t a, int64_t b)
{
	i128 s = (i128)a + b;
	return s > INT64_MAX ? INT64_MAX : s < INT64_MIN ? INT64_MIN : (int64_t)s;
}

/* Reference: double initial k-1 times in 128 bits, stopping once past max. */
static int64_t ref_backoff(int64_t initial, int64_t max, unsigned k)
{
	if (initial == 0)
		return 0;
	i128 v = initial;
	for (unsigned j = 1; j < k && v <= max; j++)
		v *= 2;
	return v < max ? (int64_t)v : max;
}

START_TEST(backoff_defaults_sequence)
{
	struct tether_policy p = defaults();
	/* Written out, so a doubling one step early or late cannot hide. */
	static const int64_t first[] = {1, 2, 4, 8, 16, 32, 60, 60, 60, 60};
	for (unsigned k = 1; k <= 10; k++)
		ck_assert_msg(tether_policy_backoff(&p, k) == first[k - 1] * S,
			      "k=%u: %lld, want %llds", k, (long long)tether_policy_backoff(&p, k),
			      (long long)first[k - 1]);
	int64_t want = 1 * S;
	for (unsigned k = 1; k <= 100; k++) {
		ck_assert_msg(tether_policy_backoff(&p, k) == want, "k=%u: %lld, want %lld", k,
			      (long long)tether_policy_backoff(&p, k), (long long)want);
		want = want * 2 < 60 * S ? want * 2 : 60 * S;
	}
}
END_TEST

/* The same sequence through decide: k-1 earlier crashes of this instance in
 * the window give the k-th delay, also past the 64 entries of its ring. */
START_TEST(backoff_sequence_through_decide)
{
	struct tether_policy p = defaults();
	p.crash_limit = 1000; /* never give up here */
	struct tether_crashlog all, inst;
	log_init(&all, GLOBAL_CAP(&p));
	log_init(&inst, INSTANCE_CAP);
	int64_t now = 10000 * S;
	for (unsigned k = 1; k <= 100; k++) {
		struct tether_verdict v =
			tether_policy_decide(&p, TETHER_END_EXIT_NONZERO, &all, &inst, now);
		ck_assert_int_eq(v.action, TETHER_ACTION_RESTART);
		ck_assert_msg(v.delay == ref_backoff(1 * S, 60 * S, k), "k=%u: delay %lld", k,
			      (long long)v.delay);
		ck_assert_int_eq(v.restart_at, now + v.delay);
		ck_assert_uint_eq(v.crashes_in_window, k);
		/* k is exact while the ring holds it, then a saturated lower bound */
		ck_assert_uint_eq(v.instance_crashes, k <= INSTANCE_CAP ? k : INSTANCE_CAP + 1);
		tether_crashlog_add(&all, now);
		tether_crashlog_add(&inst, now);
		now += 1 * S;
	}
	tether_crashlog_done(&all);
	tether_crashlog_done(&inst);
}
END_TEST

START_TEST(backoff_initial_zero_is_always_zero)
{
	struct tether_policy p = defaults();
	p.backoff_initial = 0;
	static const unsigned ks[] = {1, 2, 3, 63, 64, 65, 1000, UINT_MAX - 1, UINT_MAX};
	for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
		ck_assert_int_eq(tether_policy_backoff(&p, ks[i]), 0);
	for (unsigned k = 1; k <= 200; k++)
		ck_assert_int_eq(tether_policy_backoff(&p, k), 0);
	p.backoff_max = 0;
	for (unsigned k = 1; k <= 200; k++)
		ck_assert_int_eq(tether_policy_backoff(&p, k), 0);
	/* and through decide: restart at once */
	struct tether_crashlog inst;
	log_init(&inst, INSTANCE_CAP);
	int64_t now = 7 * S;
	log_add_n(&inst, now, 9);
	struct tether_verdict v = tether_policy_decide(&p, TETHER_END_SIGNALED, NULL, &inst, now);
	ck_assert_int_eq(v.action, TETHER_ACTION_RESTART);
	ck_assert_int_eq(v.delay, 0);
	ck_assert_int_eq(v.restart_at, now);
	tether_crashlog_done(&inst);
}
END_TEST

START_TEST(backoff_initial_equals_max)
{
	static const int64_t vals[] = {
		1, 2, 1 * S, 60 * S, INT64_MAX / 2, INT64_MAX - 1, INT64_MAX,
	};
	static const unsigned ks[] = {1, 2, 3, 62, 63, 64, 65, 66, 1000, UINT_MAX};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		struct tether_policy p = defaults();
		p.backoff_initial = p.backoff_max = vals[i];
		for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++)
			ck_assert_msg(tether_policy_backoff(&p, ks[j]) == vals[i],
				      "initial=max=%lld k=%u: %lld", (long long)vals[i], ks[j],
				      (long long)tether_policy_backoff(&p, ks[j]));
	}
}
END_TEST

START_TEST(backoff_huge_k_saturates)
{
	struct tether_policy p = defaults();
	p.backoff_initial = 1;
	p.backoff_max = INT64_MAX;
	/* 1 ns doubled: exact up to 2^62 (k = 63), then 2^63 does not fit. */
	for (unsigned k = 1; k <= 63; k++)
		ck_assert_int_eq(tether_policy_backoff(&p, k), INT64_C(1) << (k - 1));
	static const unsigned big[] = {
		64, 65, 66, 127, 128, 129, 1000, 1u << 31, UINT_MAX - 1, UINT_MAX,
	};
	for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
		ck_assert_msg(tether_policy_backoff(&p, big[i]) == INT64_MAX, "k=%u: %lld", big[i],
			      (long long)tether_policy_backoff(&p, big[i]));
	/* 3 ns: 3 * 2^61 fits, 3 * 2^62 does not */
	p.backoff_initial = 3;
	ck_assert_int_eq(tether_policy_backoff(&p, 62), 3 * (INT64_C(1) << 61));
	ck_assert_int_eq(tether_policy_backoff(&p, 63), INT64_MAX);
	/* defaults: saturated at 60 s for every huge k */
	p = defaults();
	for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
		ck_assert_int_eq(tether_policy_backoff(&p, big[i]), 60 * S);
	/* a max just below a power of two stops one doubling short */
	p.backoff_initial = 1;
	p.backoff_max = (INT64_C(1) << 40) - 1;
	ck_assert_int_eq(tether_policy_backoff(&p, 40), INT64_C(1) << 39);
	ck_assert_int_eq(tether_policy_backoff(&p, 41), (INT64_C(1) << 40) - 1);
	p.backoff_max = INT64_C(1) << 40;
	ck_assert_int_eq(tether_policy_backoff(&p, 41), INT64_C(1) << 40);
	ck_assert_int_eq(tether_policy_backoff(&p, 42), INT64_C(1) << 40);
}
END_TEST

START_TEST(backoff_huge_initial_never_overflows)
{
	static const int64_t initials[] = {
		INT64_MAX, INT64_MAX - 1, INT64_MAX / 2 + 1, INT64_MAX / 2, INT64_C(1) << 62,
		(INT64_C(1) << 62) - 1, INT64_C(1) << 61, 100LL * 366 * 86400 * S,
	};
	for (size_t i = 0; i < sizeof initials / sizeof initials[0]; i++) {
		struct tether_policy p = defaults();
		p.backoff_initial = initials[i];
		p.backoff_max = INT64_MAX;
		for (unsigned k = 1; k <= 130; k++) {
			int64_t b = tether_policy_backoff(&p, k);
			ck_assert_msg(b == ref_backoff(initials[i], INT64_MAX, k),
				      "initial %lld k=%u: %lld", (long long)initials[i], k,
				      (long long)b);
			ck_assert_int_ge(b, initials[i]);
		}
		ck_assert_int_eq(tether_policy_backoff(&p, UINT_MAX), INT64_MAX);
	}
	struct tether_policy p = defaults();
	p.backoff_max = INT64_MAX;
	p.backoff_initial = INT64_C(1) << 61;
	ck_assert_int_eq(tether_policy_backoff(&p, 2), INT64_C(1) << 62);
	ck_assert_int_eq(tether_policy_backoff(&p, 3), INT64_MAX); /* 2^63 */
	p.backoff_initial = INT64_MAX / 2 + 1;                     /* 2^62 */
	ck_assert_int_eq(tether_policy_backoff(&p, 2), INT64_MAX);
	/* a huge delay saturates restart_at instead of wrapping into the past */
	p.backoff_initial = INT64_MAX;
	struct tether_verdict v = tether_policy_decide(&p, TETHER_END_WATCHDOG, NULL, NULL, 5 * S);
	ck_assert_int_eq(v.action, TETHER_ACTION_RESTART);
	ck_assert_int_eq(v.delay, INT64_MAX);
	ck_assert_int_eq(v.restart_at, INT64_MAX);
}
END_TEST

/* For hot loops: Check records the place of every passing ck_assert (a write
 * to its log in CK_FORK mode), which makes 100000 draws slow under sanitizers
 * and valgrind; this asserts only on failure. */
#define EXPECT(cond, ...)                          \
	do {                                       \
		if (!(cond))                       \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

static void quiet_init(struct tether_crashlog *log, size_t cap)
{
	EXPECT(tether_crashlog_init(log, cap) == 0, "crashlog_init(%zu) failed", cap);
}

/* xorshift64*: a fixed seed gives the same runs everywhere (rand() does not). */
static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

START_TEST(backoff_random_against_reference)
{
	rng_state = UINT64_C(0x9e3779b97f4a7c15);
	for (int i = 0; i < 100000; i++) {
		struct tether_policy p = defaults();
		/* magnitudes spread over every bit length, 0 included */
		p.backoff_initial = (int64_t)(rng() >> (rng() % 63 + 1));
		p.backoff_max =
			add_clamped(p.backoff_initial, (int64_t)(rng() >> (rng() % 63 + 1)));
		if (rng() % 8 == 0)
			p.backoff_max = INT64_MAX;
		unsigned k = rng() % 4 ? (unsigned)(rng() % 140) + 1 : (unsigned)rng();
		if (k == 0)
			k = 1;
		int64_t b = tether_policy_backoff(&p, k);
		int64_t want = ref_backoff(p.backoff_initial, p.backoff_max, k);
		EXPECT(b == want, "initial %lld max %lld k=%u: %lld, want %lld",
		       (long long)p.backoff_initial, (long long)p.backoff_max, k, (long long)b,
		       (long long)want);
	}
}
END_TEST

/* ---- the sliding window --------------------------------------------------- */

START_TEST(window_boundary)
{
	int64_t now = 1000 * S;
	struct tether_crashlog log;
	log_init(&log, 4);
	/* exactly now - window: now - t == window, not < window: outside */
	tether_crashlog_add(&log, now - WINDOW);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, now, WINDOW), 0);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, now, WINDOW), INT64_MAX);
	/* one nanosecond earlier in time for `now`, it was still inside */
	ck_assert_uint_eq(tether_crashlog_in_window(&log, now - 1, WINDOW), 1);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, now - 1, WINDOW), now);
	tether_crashlog_done(&log);

	log_init(&log, 4);
	tether_crashlog_add(&log, now - WINDOW + 1);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, now, WINDOW), 1);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, now, WINDOW), now + 1);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, now + 1, WINDOW), 0);
	tether_crashlog_done(&log);

	/* the same boundary through decide, for k and for the give-up count */
	struct tether_policy p = defaults();
	p.crash_limit = 1;
	struct tether_crashlog all, inst;
	log_init(&all, GLOBAL_CAP(&p));
	log_init(&inst, INSTANCE_CAP);
	tether_crashlog_add(&all, now - WINDOW);
	tether_crashlog_add(&inst, now - WINDOW);
	struct tether_verdict v =
		tether_policy_decide(&p, TETHER_END_EXIT_NONZERO, &all, &inst, now);
	ck_assert_int_eq(v.action, TETHER_ACTION_RESTART);
	ck_assert_uint_eq(v.crashes_in_window, 1);
	ck_assert_uint_eq(v.instance_crashes, 1);
	ck_assert_int_eq(v.delay, 1 * S);
	v = tether_policy_decide(&p, TETHER_END_EXIT_NONZERO, &all, &inst, now - 1);
	ck_assert_int_eq(v.action, TETHER_ACTION_GIVE_UP);
	ck_assert_uint_eq(v.crashes_in_window, 2);
	ck_assert_uint_eq(v.instance_crashes, 2);
	tether_crashlog_done(&all);
	tether_crashlog_done(&inst);

	log_init(&all, GLOBAL_CAP(&p));
	log_init(&inst, INSTANCE_CAP);
	tether_crashlog_add(&all, now - WINDOW + 1);
	tether_crashlog_add(&inst, now - WINDOW + 1);
	p.crash_limit = 2;
	v = tether_policy_decide(&p, TETHER_END_EXIT_NONZERO, &all, &inst, now);
	ck_assert_int_eq(v.action, TETHER_ACTION_RESTART);
	ck_assert_uint_eq(v.crashes_in_window, 2);
	ck_assert_uint_eq(v.instance_crashes, 2);
	ck_assert_int_eq(v.delay, 2 * S);
	tether_crashlog_done(&all);
	tether_crashlog_done(&inst);

	/* a window of 1 ns holds only crashes at now */
	log_init(&log, 4);
	tether_crashlog_add(&log, now - 1);
	tether_crashlog_add(&log, now);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, now, 1), 1);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, now, 1), now + 1);
	tether_crashlog_done(&log);
}
END_TEST

/* k falls back as this instance's crashes leave the window (unlike systemd's
 * backoff, which never resets): one crash leaving halves the next delay. */
START_TEST(backoff_relaxes_as_crashes_leave)
{
	struct tether_policy p = defaults();
	struct tether_crashlog all, inst;
	log_init(&all, GLOBAL_CAP(&p));
	log_init(&inst, INSTANCE_CAP);
	static const int64_t at[] = {0, 1 * S, 2 * S};
	for (size_t i = 0; i < 3; i++) {
		tether_crashlog_add(&all, at[i]);
		tether_crashlog_add(&inst, at[i]);
	}
	static const struct {
		int64_t now;
		unsigned k;
		int64_t delay;
	} steps[] = {
		{3 * S, 4, 8 * S},
		{WINDOW - 1, 4, 8 * S},
		{WINDOW, 3, 4 * S}, /* the crash at 0 has just left */
		{WINDOW + 1 * S - 1, 3, 4 * S},
		{WINDOW + 1 * S, 2, 2 * S},
		{WINDOW + 2 * S - 1, 2, 2 * S},
		{WINDOW + 2 * S, 1, 1 * S}, /* all gone: back to backoff_initial */
		{10 * WINDOW, 1, 1 * S},
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct tether_verdict v = tether_policy_decide(&p, TETHER_END_EXIT_NONZERO, &all,
							       &inst, steps[i].now);
		ck_assert_msg(v.instance_crashes == steps[i].k && v.delay == steps[i].delay,
			      "now=%lld: k=%u delay=%lld, want k=%u delay=%lld",
			      (long long)steps[i].now, v.instance_crashes, (long long)v.delay,
			      steps[i].k, (long long)steps[i].delay);
		ck_assert_uint_eq(v.crashes_in_window, steps[i].k);
		ck_assert_int_eq(tether_crashlog_next_expiry(&inst, steps[i].now, WINDOW),
				 steps[i].k == 1 ? INT64_MAX : at[3 - (steps[i].k - 1)] + WINDOW);
	}
	tether_crashlog_done(&all);
	tether_crashlog_done(&inst);
}
END_TEST

/* Limit 10: the 10th crash in the window restarts, the 11th gives up ("giving
 * up: 11 crashes in 5m"), counted over all instances as the supervisor does it. */
START_TEST(give_up_after_limit)
{
	struct tether_policy p = defaults();
	struct tether_crashlog all, inst[3];
	log_init(&all, GLOBAL_CAP(&p));
	for (int i = 0; i < 3; i++)
		log_init(&inst[i], INSTANCE_CAP);
	int64_t t0 = 500 * S, now = t0;
	for (unsigned c = 1; c <= 11; c++) {
		int who = (int)(c % 3);
		struct tether_verdict v =
			tether_policy_decide(&p, TETHER_END_SIGNALED, &all, &inst[who], now);
		ck_assert_uint_eq(v.crashes_in_window, c);
		ck_assert_msg(v.action == (c <= 10 ? TETHER_ACTION_RESTART : TETHER_ACTION_GIVE_UP),
			      "crash %u: %s", c, action_names[v.action]);
		ck_assert(v.crash);
		tether_crashlog_add(&all, now);
		tether_crashlog_add(&inst[who], now);
		now += 1 * S;
	}
	/* 11 in the log (full, cap 11). At t0 + WINDOW the first has left: the next
	 * crash is the 11th in the window, so still a give-up; one more second and
	 * the second has left too, and a crash is the 10th: restart. */
	ck_assert_uint_eq(tether_crashlog_in_window(&all, t0 + WINDOW, WINDOW), 10);
	struct tether_verdict v =
		tether_policy_decide(&p, TETHER_END_SIGNALED, &all, &inst[0], t0 + WINDOW);
	ck_assert_int_eq(v.action, TETHER_ACTION_GIVE_UP);
	ck_assert_uint_eq(v.crashes_in_window, 11);
	v = tether_policy_decide(&p, TETHER_END_SIGNALED, &all, &inst[0], t0 + WINDOW + 1 * S - 1);
	ck_assert_int_eq(v.action, TETHER_ACTION_GIVE_UP);
	v = tether_policy_decide(&p, TETHER_END_SIGNALED, &all, &inst[0], t0 + WINDOW + 1 * S);
	ck_assert_int_eq(v.action, TETHER_ACTION_RESTART);
	ck_assert_uint_eq(v.crashes_in_window, 10);
	/* a clean exit under on-failure never gives up, however full the window */
	v = tether_policy_decide(&p, TETHER_END_EXIT_ZERO, &all, &inst[0], now);
	ck_assert_int_eq(v.action, TETHER_ACTION_DONE);
	ck_assert(!v.crash);
	for (int i = 0; i < 3; i++)
		tether_crashlog_done(&inst[i]);
	tether_crashlog_done(&all);
}
END_TEST

START_TEST(give_up_limits_zero_and_one)
{
	struct tether_policy p = defaults();
	p.crash_limit = 0; /* the first crash gives up */
	struct tether_crashlog all;
	log_init(&all, GLOBAL_CAP(&p));
	struct tether_verdict v = tether_policy_decide(&p, TETHER_END_START_FAILED, &all, NULL, 0);
	ck_assert_int_eq(v.action, TETHER_ACTION_GIVE_UP);
	ck_assert_uint_eq(v.crashes_in_window, 1);
	v = tether_policy_decide(&p, TETHER_END_EXIT_ZERO, &all, NULL, 0);
	ck_assert_int_eq(v.action, TETHER_ACTION_DONE);
	tether_crashlog_done(&all);

	p.crash_limit = 1;
	log_init(&all, GLOBAL_CAP(&p));
	v = tether_policy_decide(&p, TETHER_END_START_FAILED, &all, NULL, 0);
	ck_assert_int_eq(v.action, TETHER_ACTION_RESTART);
	tether_crashlog_add(&all, 0);
	v = tether_policy_decide(&p, TETHER_END_START_FAILED, &all, NULL, WINDOW - 1);
	ck_assert_int_eq(v.action, TETHER_ACTION_GIVE_UP);
	v = tether_policy_decide(&p, TETHER_END_START_FAILED, &all, NULL, WINDOW);
	ck_assert_int_eq(v.action, TETHER_ACTION_RESTART);
	tether_crashlog_done(&all);
}
END_TEST

/* Other instances' crashes count toward giving up, never toward this
 * instance's backoff. */
START_TEST(other_instances_count_for_give_up_not_backoff)
{
	struct tether_policy p = defaults();
	struct tether_crashlog all, mine, other;
	log_init(&all, GLOBAL_CAP(&p));
	log_init(&mine, INSTANCE_CAP);
	log_init(&other, INSTANCE_CAP);
	int64_t now = 0;
	for (int i = 0; i < 2; i++, now += S) {
		tether_crashlog_add(&all, now);
		tether_crashlog_add(&mine, now);
	}
	for (int i = 0; i < 5; i++, now += S) {
		tether_crashlog_add(&all, now);
		tether_crashlog_add(&other, now);
	}
	struct tether_verdict v =
		tether_policy_decide(&p, TETHER_END_EXIT_NONZERO, &all, &mine, now);
	ck_assert_int_eq(v.action, TETHER_ACTION_RESTART);
	ck_assert_uint_eq(v.crashes_in_window, 8);
	ck_assert_uint_eq(v.instance_crashes, 3);
	ck_assert_int_eq(v.delay, 4 * S);
	v = tether_policy_decide(&p, TETHER_END_EXIT_NONZERO, &all, &other, now);
	ck_assert_uint_eq(v.instance_crashes, 6);
	ck_assert_int_eq(v.delay, 32 * S);
	/* an instance that never crashed: k = 1 although 7 crashed before it */
	v = tether_policy_decide(&p, TETHER_END_EXIT_NONZERO, &all, NULL, now);
	ck_assert_uint_eq(v.instance_crashes, 1);
	ck_assert_int_eq(v.delay, 1 * S);
	/* three more of the other instance: 10 in the window, and this one's
	 * 11th overall gives up though it is only its 3rd */
	for (int i = 0; i < 3; i++, now += S) {
		tether_crashlog_add(&all, now);
		tether_crashlog_add(&other, now);
	}
	v = tether_policy_decide(&p, TETHER_END_EXIT_NONZERO, &all, &mine, now);
	ck_assert_int_eq(v.action, TETHER_ACTION_GIVE_UP);
	ck_assert_uint_eq(v.crashes_in_window, 11);
	ck_assert_uint_eq(v.instance_crashes, 3);
	tether_crashlog_done(&all);
	tether_crashlog_done(&mine);
	tether_crashlog_done(&other);
}
END_TEST

/* decide reads the logs and nothing else: same inputs, same verdict; logs untouched. */
START_TEST(decide_is_pure)
{
	struct tether_policy p = defaults();
	struct tether_crashlog all, inst;
	log_init(&all, GLOBAL_CAP(&p));
	log_init(&inst, 3);
	for (int i = 0; i < 5; i++) {
		tether_crashlog_add(&all, i * S);
		tether_crashlog_add(&inst, i * S);
	}
	struct tether_crashlog all0 = all, inst0 = inst;
	int64_t all_t[11], inst_t[3];
	memcpy(all_t, all.times, sizeof all_t);
	memcpy(inst_t, inst.times, sizeof inst_t);
	struct tether_verdict a =
		tether_policy_decide(&p, TETHER_END_WATCHDOG, &all, &inst, 10 * S);
	struct tether_verdict b =
		tether_policy_decide(&p, TETHER_END_WATCHDOG, &all, &inst, 10 * S);
	ck_assert(memcmp(&all, &all0, sizeof all) == 0 && memcmp(&inst, &inst0, sizeof inst) == 0);
	ck_assert(memcmp(all.times, all_t, sizeof all_t) == 0);
	ck_assert(memcmp(inst.times, inst_t, sizeof inst_t) == 0);
	ck_assert_int_eq(a.action, TETHER_ACTION_RESTART);
	ck_assert_int_eq(a.delay, 8 * S);
	ck_assert(a.action == b.action && a.crash == b.crash && a.delay == b.delay &&
		  a.restart_at == b.restart_at && a.instance_crashes == b.instance_crashes);
	ck_assert_uint_eq(a.crashes_in_window, 6);
	ck_assert_uint_eq(a.instance_crashes, 4); /* ring of 3 full: saturated count 3 + 1 */
	ck_assert_uint_eq(b.crashes_in_window, a.crashes_in_window);
	tether_crashlog_done(&all);
	tether_crashlog_done(&inst);
}
END_TEST

/* ---- the crash log ring --------------------------------------------------- */

START_TEST(ring_wraps_and_drops_oldest)
{
	struct tether_crashlog log;
	log_init(&log, 4);
	for (int64_t t = 1; t <= 11; t++) {
		tether_crashlog_add(&log, t * 10);
		size_t held = t < 4 ? (size_t)t : 4;
		int64_t oldest = t <= 4 ? 10 : (t - 3) * 10;
		ck_assert_uint_eq(log.n, held);
		/* a window that holds everything shows what is kept */
		ck_assert_uint_eq(tether_crashlog_in_window(&log, t * 10, INT64_MAX), held);
		ck_assert_msg(tether_crashlog_next_expiry(&log, t * 10, 1000) == oldest + 1000,
			      "after %lld adds: oldest %lld, want %lld", (long long)t,
			      (long long)tether_crashlog_next_expiry(&log, t * 10, 1000) - 1000,
			      (long long)oldest);
		/* and a window of 25 ns exactly the newest (t - 2, t - 1, t) * 10 > now - 25 */
		ck_assert_uint_eq(tether_crashlog_in_window(&log, t * 10, 25),
				  t < 3 ? (size_t)t : 3);
	}
	/* after 11 adds to 4 slots the ring holds 80, 90, 100, 110; walk the window
	 * through them one entry at a time, across the wrap point */
	static const struct {
		int64_t now;
		size_t in;
		int64_t expiry;
	} walk[] = {
		{109, 4, 110}, {110, 3, 120}, {119, 3, 120}, {120, 2, 130},
		{130, 1, 140}, {139, 1, 140}, {140, 0, INT64_MAX},
	};
	for (size_t i = 0; i < sizeof walk / sizeof walk[0]; i++) {
		ck_assert_uint_eq(tether_crashlog_in_window(&log, walk[i].now, 30), walk[i].in);
		ck_assert_int_eq(tether_crashlog_next_expiry(&log, walk[i].now, 30),
				 walk[i].expiry);
	}
	tether_crashlog_done(&log);
}
END_TEST

START_TEST(ring_equal_timestamps)
{
	struct tether_crashlog log;
	log_init(&log, 8);
	log_add_n(&log, 100, 7);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 100, 1), 7);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 100 + WINDOW - 1, WINDOW), 7);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 100 + WINDOW, WINDOW), 0);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, 100, WINDOW), 100 + WINDOW);
	/* equal times on both sides of the boundary, wrapped */
	log_add_n(&log, 200, 5); /* holds 100 x3, 200 x5 */
	ck_assert_uint_eq(log.n, 8);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 200, 101), 8);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 200, 100), 5);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 299, 100), 5);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 300, 100), 0);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, 200, 101), 201);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, 200, 100), 300);
	log_add_n(&log, 200, 3); /* the three 100s are dropped */
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 200, 101), 8);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, 200, 101), 301);
	tether_crashlog_done(&log);
}
END_TEST

START_TEST(ring_clamps_earlier_times)
{
	struct tether_crashlog log;
	log_init(&log, 3);
	tether_crashlog_add(&log, 50);
	tether_crashlog_add(&log, 20); /* clamped to 50 */
	ck_assert_uint_eq(log.n, 2);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 55, 10), 2);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, 55, 10), 60);
	tether_crashlog_add(&log, 70);
	tether_crashlog_add(&log, INT64_MIN); /* clamped to 70, drops a 50 */
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 70, 21), 3);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 70, 20), 2);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, 70, 20), 90);
	tether_crashlog_done(&log);
}
END_TEST

START_TEST(ring_cap_one)
{
	struct tether_crashlog log;
	log_init(&log, 1);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 0, 10), 0);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, 0, 10), INT64_MAX);
	tether_crashlog_add(&log, 5);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 5, 10), 1);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, 5, 10), 15);
	for (int64_t t = 6; t < 40; t += 3) {
		tether_crashlog_add(&log, t);
		ck_assert_uint_eq(log.n, 1);
		ck_assert_uint_eq(log.first, 0);
		ck_assert_uint_eq(tether_crashlog_in_window(&log, t, 10), 1);
		ck_assert_int_eq(tether_crashlog_next_expiry(&log, t, 10), t + 10);
		ck_assert_uint_eq(tether_crashlog_in_window(&log, t + 10, 10), 0);
	}
	tether_crashlog_add(&log, 0); /* clamped to the 39 held */
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, 39, 10), 49);
	tether_crashlog_done(&log);
}
END_TEST

START_TEST(ring_lifecycle_and_edges)
{
	struct tether_crashlog log = {0};
	ck_assert_int_eq(tether_crashlog_init(&log, 0), -EINVAL);
	tether_crashlog_done(NULL);
	tether_crashlog_done(&log);
	tether_crashlog_add(&log, 1); /* never initialised: ignored, no crash */
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 1, 10), 0);
	ck_assert_uint_eq(tether_crashlog_in_window(NULL, 1, 10), 0);
	ck_assert_int_eq(tether_crashlog_next_expiry(NULL, 1, 10), INT64_MAX);
	log_init(&log, 2);
	tether_crashlog_add(&log, 1);
	tether_crashlog_done(&log);
	ck_assert_ptr_null(log.times);
	ck_assert_uint_eq(log.n, 0);
	tether_crashlog_done(&log); /* twice is fine */
	ck_assert_int_eq(tether_crashlog_init(&log, SIZE_MAX), -ENOMEM); /* cap * 8 overflows */

	/* times far apart: now - t does not fit in int64_t, and t + window past
	 * INT64_MAX means the crash never leaves */
	log_init(&log, 4);
	tether_crashlog_add(&log, INT64_MIN);
	tether_crashlog_add(&log, INT64_MAX - 5);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, INT64_MAX, INT64_MAX), 1);
	ck_assert_int_eq(tether_crashlog_next_expiry(&log, INT64_MAX, INT64_MAX), INT64_MAX);
	/* -2 - MIN = INT64_MAX - 1 < window; -1 - MIN = INT64_MAX is the boundary (outside);
	 * 0 - MIN does not fit in int64_t (outside) */
	ck_assert_uint_eq(tether_crashlog_in_window(&log, -2, INT64_MAX), 2);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, -1, INT64_MAX), 1);
	ck_assert_uint_eq(tether_crashlog_in_window(&log, 0, INT64_MAX), 1);
	/* a crash "in the future" (now before it) has a negative age: inside */
	ck_assert_uint_eq(tether_crashlog_in_window(&log, INT64_MIN, 1), 2);
	tether_crashlog_done(&log);
}
END_TEST

/* ---- randomized cross-check against a naive reference --------------------- */

#define HIST_MAX 160

/* The reference: every crash in plain arrays, counted in O(n) with 128-bit
 * arithmetic straight from the header's definitions. A log clamps an earlier
 * time to its own newest, so the time a crash has in the global log (t) and in
 * its instance's log (t_inst) differ when the caller passes times out of order. */
struct ref {
	int64_t t[HIST_MAX];
	int64_t t_inst[HIST_MAX];
	int who[HIST_MAX];
	size_t n;
};

static bool ref_in(int64_t t, int64_t now, int64_t window)
{
	return (i128)now - (i128)t < (i128)window;
}

/* Crashes in the window among the newest `last` entries of instance `who`
 * (-1: all instances). */
static size_t ref_count(const struct ref *r, int who, size_t last, int64_t now, int64_t window)
{
	size_t c = 0, seen = 0;
	for (size_t i = r->n; i-- > 0 && seen < last;) {
		if (who >= 0 && r->who[i] != who)
			continue;
		seen++;
		c += ref_in(who >= 0 ? r->t_inst[i] : r->t[i], now, window);
	}
	return c;
}

static int64_t ref_expiry(const struct ref *r, size_t last, int64_t now, int64_t window)
{
	i128 best = INT64_MAX;
	for (size_t i = r->n > last ? r->n - last : 0; i < r->n; i++)
		if (ref_in(r->t[i], now, window) && (i128)r->t[i] + window < best)
			best = (i128)r->t[i] + window;
	return (int64_t)best;
}

static int64_t pick_gap(int64_t window)
{
	switch (rng() % 8) {
	case 0: return 0;
	case 1: return 1;
	case 2: return window - 1;
	case 3: return window;
	case 4: return window < INT64_MAX ? window + 1 : window;
	case 5: return (int64_t)(rng() % 4);
	case 6: return (int64_t)(rng() % ((uint64_t)window / 4 + 1));
	default: return (int64_t)(rng() % ((uint64_t)window + 1));
	}
}

START_TEST(random_against_reference)
{
	static const uint64_t seed = 20261126;
	static const int64_t windows[] = {1, 2, 3, 10, 1000, WINDOW, INT64_MAX / 2, INT64_MAX};
	static const int64_t bases[] = {0, 1000 * S, -(1000 * S), INT64_MAX - 1000000, INT64_MIN};
	static struct ref r;
	rng_state = seed;
	for (int iter = 0; iter < 100000; iter++) {
		struct tether_policy p = {
			.restart = (enum tether_restart)(rng() % 3),
			.crash_window = windows[rng() % 8],
			.crash_limit = rng() % 6 ? (unsigned)(rng() % 13) : (unsigned)(rng() % 90),
		};
		if (rng() % 4 == 0)
			p.crash_window = (int64_t)(rng() % 50) + 1;
		switch (rng() % 4) {
		case 0: p.backoff_initial = 0; break;
		case 1: p.backoff_initial = 1 * S; break;
		case 2: p.backoff_initial = (int64_t)(rng() % 1000) + 1; break;
		default: p.backoff_initial = (int64_t)(rng() >> (rng() % 63 + 1)); break;
		}
		p.backoff_max = rng() % 3 ? add_clamped(p.backoff_initial,
							(int64_t)(rng() >> (rng() % 63 + 1)))
					  : INT64_MAX;
		int ninst = (int)(rng() % 4) + 1;
		size_t cap = (size_t)(rng() % 8) + 1; /* a small ring, to wrap often */
		size_t hist = rng() % 3 ? (size_t)(rng() % 40) : (size_t)(rng() % HIST_MAX);

		struct tether_crashlog all, inst[4], small, big;
		quiet_init(&all, GLOBAL_CAP(&p));
		for (int i = 0; i < ninst; i++)
			quiet_init(&inst[i], INSTANCE_CAP);
		quiet_init(&small, cap);
		quiet_init(&big, HIST_MAX);
		r.n = 0;
		int64_t newest_inst[4] = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN};
		int64_t t = bases[rng() % 5];
		for (size_t h = 0; h < hist; h++) {
			t = add_clamped(t, pick_gap(p.crash_window));
			int who = (int)(rng() % (unsigned)ninst);
			/* now and then an earlier time: the log clamps it, so does the reference */
			int64_t given =
				rng() % 16 ? t : add_clamped(t, -(int64_t)(rng() % 100) - 1);
			int64_t newest = r.n ? r.t[r.n - 1] : INT64_MIN;
			r.t[r.n] = given < newest ? newest : given;
			r.t_inst[r.n] = given < newest_inst[who] ? newest_inst[who] : given;
			newest_inst[who] = r.t_inst[r.n];
			r.who[r.n++] = who;
			tether_crashlog_add(&all, given);
			tether_crashlog_add(&inst[who], given);
			tether_crashlog_add(&small, given);
			tether_crashlog_add(&big, given);
		}
		int64_t now = add_clamped(t, pick_gap(p.crash_window));
		if (rng() % 10 == 0)
			now = add_clamped(t, -(int64_t)(rng() % 100)); /* before the newest crash */
		int me = (int)(rng() % (unsigned)ninst);
		enum tether_end end = (enum tether_end)(rng() % 5);
		int64_t w = p.crash_window;

		/* the ring alone: any capacity, against the newest cap entries */
		size_t got = tether_crashlog_in_window(&small, now, w);
		size_t want = ref_count(&r, -1, cap, now, w);
		EXPECT(got == want, "seed %llu iter %d: ring cap %zu in_window %zu, want %zu",
		       (unsigned long long)seed, iter, cap, got, want);
		int64_t gexp = tether_crashlog_next_expiry(&small, now, w);
		int64_t wexp = ref_expiry(&r, cap, now, w);
		EXPECT(gexp == wexp, "seed %llu iter %d: ring cap %zu next_expiry %lld, want %lld",
		       (unsigned long long)seed, iter, cap, (long long)gexp, (long long)wexp);
		EXPECT(small.n == (hist < cap ? hist : cap), "iter %d: ring holds %zu", iter,
		       small.n);
		got = tether_crashlog_in_window(&big, now, w);
		want = ref_count(&r, -1, HIST_MAX, now, w);
		EXPECT(got == want, "seed %llu iter %d: unwrapped in_window %zu, want %zu",
		       (unsigned long long)seed, iter, got, want);
		gexp = tether_crashlog_next_expiry(&big, now, w);
		wexp = ref_expiry(&r, HIST_MAX, now, w);
		EXPECT(gexp == wexp, "seed %llu iter %d: unwrapped next_expiry %lld, want %lld",
		       (unsigned long long)seed, iter, (long long)gexp, (long long)wexp);

		/* the verdict with the supervisor's ring sizes, against the whole history */
		size_t ref_all = ref_count(&r, -1, HIST_MAX, now, w);
		size_t ref_k = ref_count(&r, me, HIST_MAX, now, w);
		bool crash = table_crash(p.restart, end);
		enum tether_action action = TETHER_ACTION_DONE;
		if (crash)
			action = ref_all + 1 > p.crash_limit ? TETHER_ACTION_GIVE_UP
							     : TETHER_ACTION_RESTART;
		int64_t delay =
			action == TETHER_ACTION_RESTART
				? ref_backoff(p.backoff_initial, p.backoff_max, (unsigned)ref_k + 1)
				: 0;
		int64_t restart_at =
			action == TETHER_ACTION_RESTART ? add_clamped(now, delay) : TETHER_NEVER;
		/* a full ring of in-window crashes is a saturated count: exact below it */
		size_t seen_all = ref_all < GLOBAL_CAP(&p) ? ref_all : GLOBAL_CAP(&p);
		size_t seen_k = ref_k < INSTANCE_CAP ? ref_k : INSTANCE_CAP;

		struct tether_verdict v = tether_policy_decide(&p, end, &all, &inst[me], now);
		EXPECT(v.crash == crash && v.action == action && v.delay == delay &&
			       v.restart_at == restart_at,
		       "seed %llu iter %d: %s/%s limit %u window %lld initial %lld max %lld, "
		       "%zu crashes (%zu this instance) in the window at %lld: got %s delay %lld "
		       "at %lld, want %s delay %lld at %lld",
		       (unsigned long long)seed, iter, mode_names[p.restart], end_names[end],
		       p.crash_limit, (long long)w, (long long)p.backoff_initial,
		       (long long)p.backoff_max, ref_all, ref_k, (long long)now,
		       action_names[v.action], (long long)v.delay, (long long)v.restart_at,
		       action_names[action], (long long)delay, (long long)restart_at);
		EXPECT(v.crashes_in_window == seen_all + crash &&
			       v.instance_crashes == seen_k + crash,
		       "seed %llu iter %d: counts %u/%u, want %zu/%zu", (unsigned long long)seed,
		       iter, v.crashes_in_window, v.instance_crashes, seen_all + crash,
		       seen_k + crash);

		tether_crashlog_done(&all);
		for (int i = 0; i < ninst; i++)
			tether_crashlog_done(&inst[i]);
		tether_crashlog_done(&small);
		tether_crashlog_done(&big);
	}
}
END_TEST

/* ---- the policy's fields in tether_config_check ---------------------------- */

/* The policy in an otherwise default configuration, checked as
 * tether_supervisor_new checks it (options.h). */
static int check(const struct tether_policy *p, const char **ret_why)
{
	static char why[320];
	static char prog[] = "true";
	static char *argv[] = {prog, NULL};
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	cfg.argv = argv;
	cfg.policy = *p;
	int r = tether_config_check(&cfg, why, sizeof why);
	if (r < 0 && ret_why)
		*ret_why = why;
	return r;
}

START_TEST(check_accepts_good_policies)
{
	const char *why = "untouched";
	struct tether_policy p = defaults();
	ck_assert_int_eq(check(&p, &why), 0);
	ck_assert_str_eq(why, "untouched");
	p.restart = TETHER_RESTART_ALWAYS;
	ck_assert_int_eq(check(&p, &why), 0);
	p.restart = TETHER_RESTART_NEVER;
	ck_assert_int_eq(check(&p, &why), 0);
	p = defaults();
	p.backoff_initial = p.backoff_max = 0;
	ck_assert_int_eq(check(&p, &why), 0);
	p.backoff_initial = p.backoff_max = 5 * S;
	ck_assert_int_eq(check(&p, &why), 0);
	p.backoff_max = INT64_MAX;
	ck_assert_int_eq(check(&p, &why), 0);
	p.crash_limit = 0; /* fail fast: give up at the first crash */
	ck_assert_int_eq(check(&p, &why), 0);
	p.crash_limit = TETHER_CRASH_LIMIT_MAX;
	ck_assert_int_eq(check(&p, &why), 0);
	p.crash_window = 1;
	ck_assert_int_eq(check(&p, &why), 0);
	p.crash_window = INT64_MAX;
	ck_assert_int_eq(check(&p, NULL), 0);
	ck_assert_str_eq(why, "untouched");
}
END_TEST

/* The defaults with one field spoiled (case i of N_SPOILED); *ret_field is
 * the option the reason must name. */
#define N_SPOILED 10
static struct tether_policy spoiled(int i, const char **ret_field)
{
	struct tether_policy p = defaults();
	switch (i) {
	case 0:
		*ret_field = "restart";
		p.restart = (enum tether_restart)3;
		break;
	case 1:
		*ret_field = "restart";
		p.restart = (enum tether_restart)(-1);
		break;
	case 2:
		*ret_field = "backoff-initial";
		p.backoff_initial = -1;
		break;
	case 3:
		*ret_field = "backoff-initial";
		p.backoff_initial = p.backoff_max = INT64_MIN;
		break;
	case 4:
		*ret_field = "backoff-max";
		p.backoff_initial = 0;
		p.backoff_max = -1;
		break;
	case 5:
		*ret_field = "backoff-max";
		p.backoff_max = p.backoff_initial - 1;
		break;
	case 6:
		*ret_field = "backoff-max";
		p.backoff_initial = INT64_MAX;
		p.backoff_max = 0;
		break;
	case 7:
		*ret_field = "crash-window";
		p.crash_window = 0;
		break;
	case 8:
		*ret_field = "crash-window";
		p.crash_window = INT64_MIN;
		break;
	default:
		*ret_field = "crash-limit";
		p.crash_limit = TETHER_CRASH_LIMIT_MAX + 1;
		break;
	}
	return p;
}

START_TEST(check_rejects_each_bad_field)
{
	for (int i = 0; i < N_SPOILED; i++) {
		const char *field, *why = NULL;
		struct tether_policy p = spoiled(i, &field);
		ck_assert_msg(check(&p, &why) == -EINVAL, "case %d (%s) accepted", i,
			      field);
		ck_assert_msg(why && strstr(why, field), "case %d: reason '%s' does not name %s", i,
			      why ? why : "(null)", field);
		ck_assert_int_eq(check(&p, NULL), -EINVAL);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("verdict");
	tcase_add_loop_test(tc, verdict_cell, 0, 15);
	tcase_add_test(tc, verdict_ignores_old_history);
	tcase_add_test(tc, decide_is_pure);
	suite_add_tcase(s, tc);

	tc = tcase_create("backoff");
	tcase_add_test(tc, backoff_defaults_sequence);
	tcase_add_test(tc, backoff_sequence_through_decide);
	tcase_add_test(tc, backoff_initial_zero_is_always_zero);
	tcase_add_test(tc, backoff_initial_equals_max);
	tcase_add_test(tc, backoff_huge_k_saturates);
	tcase_add_test(tc, backoff_huge_initial_never_overflows);
	suite_add_tcase(s, tc);

	tc = tcase_create("window");
	tcase_add_test(tc, window_boundary);
	tcase_add_test(tc, backoff_relaxes_as_crashes_leave);
	tcase_add_test(tc, give_up_after_limit);
	tcase_add_test(tc, give_up_limits_zero_and_one);
	tcase_add_test(tc, other_instances_count_for_give_up_not_backoff);
	suite_add_tcase(s, tc);

	tc = tcase_create("crashlog");
	tcase_add_test(tc, ring_wraps_and_drops_oldest);
	tcase_add_test(tc, ring_equal_timestamps);
	tcase_add_test(tc, ring_clamps_earlier_times);
	tcase_add_test(tc, ring_cap_one);
	tcase_add_test(tc, ring_lifecycle_and_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	/* 100000 draws each: under a second here, ~30 s under ASan, more under valgrind */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, backoff_random_against_reference);
	tcase_add_test(tc, random_against_reference);
	suite_add_tcase(s, tc);

	tc = tcase_create("check");
	tcase_add_test(tc, check_accepts_good_policies);
	tcase_add_test(tc, check_rejects_each_bad_field);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
