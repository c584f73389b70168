/* SPDX-License-Identifier: MIT */
/* test_clock.c — time, passed in (src/clock.c, and the lab's simulated clock,
 * src/lab/simclock.c): the real clock is monotonic and follows the system's
 * clocks; the simulated one moves only when its driver says so, never
 * backwards, with wall time following virtual time;
 * poll timeouts never fire early, are -1 for "no deadline" and 0 when due, are
 * capped, and a simulated clock never makes poll wait in real time for a
 * future deadline; ISO 8601 timestamps on fixed values.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "simclock.h"

#define MS TETHER_NSEC_PER_MSEC
#define SEC TETHER_NSEC_PER_SEC
#define POLL_CAP_MS 86400000 /* clock.c caps a wait at one day */

static int64_t sys_clock(clockid_t id)
{
	struct timespec ts;
	ck_assert_int_eq(clock_gettime(id, &ts), 0);
	return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

/* Waits ms in real time (poll on nothing: the only way to let time pass). */
static void real_wait_ms(int ms)
{
	int64_t until = sys_clock(CLOCK_MONOTONIC) + ms * MS;
	while (sys_clock(CLOCK_MONOTONIC) < until)
		poll(NULL, 0, (int)((until - sys_clock(CLOCK_MONOTONIC)) / MS) + 1);
}

/* ---- the real clock ---------------------------------------------------------------- */

START_TEST(real_clock_is_monotonic_and_follows_the_system)
{
	struct tether_clock c;
	tether_clock_init_real(&c);
	ck_assert_str_eq(c.name, "real");
	int64_t before = sys_clock(CLOCK_MONOTONIC);
	int64_t prev = tether_clock_now(&c);
	ck_assert_int_ge(prev, before);
	for (int i = 0; i < 100000; i++) {
		int64_t t = tether_clock_now(&c);
		ck_assert_int_ge(t, prev);
		prev = t;
	}
	ck_assert_int_le(prev, sys_clock(CLOCK_MONOTONIC));
	/* it advances with real time */
	int64_t t0 = tether_clock_now(&c);
	real_wait_ms(20);
	ck_assert_int_ge(tether_clock_now(&c) - t0, 20 * MS);
	/* wall time is CLOCK_REALTIME, not the monotonic reading */
	int64_t w0 = sys_clock(CLOCK_REALTIME);
	int64_t w = tether_clock_wall(&c);
	int64_t w1 = sys_clock(CLOCK_REALTIME);
	ck_assert_int_ge(w, w0);
	ck_assert_int_le(w, w1);
}
END_TEST

START_TEST(real_clock_is_one_clock)
{
	/* an embedded real clock and tether_clock_real() are the same clock,
	 * and say so in status; a simulated one says it is simulated */
	struct tether_clock c;
	tether_clock_init_real(&c);
	const struct tether_clock *r = tether_clock_real();
	ck_assert_str_eq(c.name, "real");
	ck_assert_str_eq(r->name, "real");
	int64_t a = tether_clock_now(&c), b = tether_clock_now(r), a2 = tether_clock_now(&c);
	ck_assert_int_le(a, b);
	ck_assert_int_le(b, a2);
	struct tether_sim_clock sim;
	tether_sim_clock_init(&sim);
	ck_assert_str_eq(sim.clock.name, "simulated");
	/* advancing a simulated clock moves no real one */
	tether_sim_clock_advance(&sim, tether_clock_now(r) + 3600 * SEC);
	ck_assert_int_lt(tether_clock_now(r), tether_clock_now(&sim.clock) - 3000 * SEC);
}
END_TEST

/* ---- the simulated clock ------------------------------------------------------------- */

START_TEST(sim_clock_moves_only_when_advanced)
{
	struct tether_sim_clock sim;
	const struct tether_clock *c = &sim.clock;
	int64_t m0 = sys_clock(CLOCK_MONOTONIC), r0 = sys_clock(CLOCK_REALTIME);
	tether_sim_clock_init(&sim);
	int64_t m1 = sys_clock(CLOCK_MONOTONIC), r1 = sys_clock(CLOCK_REALTIME);
	ck_assert_str_eq(c->name, "simulated");
	/* it starts at the real clock's readings */
	int64_t t0 = tether_clock_now(c), w0 = tether_clock_wall(c);
	ck_assert_int_ge(t0, m0);
	ck_assert_int_le(t0, m1);
	ck_assert_int_ge(w0, r0);
	ck_assert_int_le(w0, r1);
	/* real time passes, virtual time does not */
	real_wait_ms(20);
	ck_assert_int_eq(tether_clock_now(c), t0);
	ck_assert_int_eq(tether_clock_wall(c), w0);
	/* it moves by advance, exactly */
	tether_sim_clock_advance(&sim, t0 + 5 * SEC);
	ck_assert_int_eq(tether_clock_now(c), t0 + 5 * SEC);
	ck_assert_int_eq(tether_clock_wall(c), w0 + 5 * SEC);
	/* 24 virtual hours in no real time */
	tether_sim_clock_advance(&sim, t0 + 86400 * SEC);
	ck_assert_int_eq(tether_clock_now(c), t0 + 86400 * SEC);
	ck_assert_int_eq(tether_clock_wall(c), w0 + 86400 * SEC);
}
END_TEST

START_TEST(sim_clock_never_goes_backwards)
{
	struct tether_sim_clock sim;
	const struct tether_clock *c = &sim.clock;
	tether_sim_clock_init(&sim);
	int64_t t0 = tether_clock_now(c), w0 = tether_clock_wall(c);
	tether_sim_clock_advance(&sim, t0 + 10 * SEC);
	/* backwards and in place are accepted and change nothing */
	tether_sim_clock_advance(&sim, t0 + 1 * SEC);
	ck_assert_int_eq(tether_clock_now(c), t0 + 10 * SEC);
	tether_sim_clock_advance(&sim, 0);
	ck_assert_int_eq(tether_clock_now(c), t0 + 10 * SEC);
	tether_sim_clock_advance(&sim, t0 + 10 * SEC);
	ck_assert_int_eq(tether_clock_now(c), t0 + 10 * SEC);
	ck_assert_int_eq(tether_clock_wall(c), w0 + 10 * SEC);
	/* and one nanosecond is a move */
	tether_sim_clock_advance(&sim, t0 + 10 * SEC + 1);
	ck_assert_int_eq(tether_clock_now(c), t0 + 10 * SEC + 1);
	ck_assert_int_eq(tether_clock_wall(c), w0 + 10 * SEC + 1);
}
END_TEST

/* ---- poll timeouts ------------------------------------------------------------------ */

START_TEST(poll_timeout_never_and_due)
{
	struct tether_clock c;
	tether_clock_init_real(&c);
	ck_assert_int_eq(tether_clock_poll_timeout(&c, TETHER_NEVER), -1);
	int64_t now = tether_clock_now(&c);
	ck_assert_int_eq(tether_clock_poll_timeout(&c, now), 0);
	ck_assert_int_eq(tether_clock_poll_timeout(&c, now - 1), 0);
	ck_assert_int_eq(tether_clock_poll_timeout(&c, now - 3600 * SEC), 0);
	ck_assert_int_eq(tether_clock_poll_timeout(&c, 0), 0);
	ck_assert_int_eq(tether_clock_poll_timeout(&c, INT64_MIN), 0);
}
END_TEST

/* The bounds a correct answer must lie in, given readings of the clock
 * taken just before and just after the call: ceil(left / 1 ms). */
static int64_t ceil_ms(int64_t ns)
{
	return ns <= 0 ? 0 : (ns + MS - 1) / MS;
}

START_TEST(poll_timeout_rounds_up)
{
	struct tether_clock c;
	tether_clock_init_real(&c);
	static const int64_t offsets[] = {1, 1000, 999999, MS, MS + 1, 1500 * 1000, 2 * MS + 1,
					  7 * MS + 300000, 250 * MS, 5 * SEC + 1};
	for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
		int64_t before = tether_clock_now(&c);
		int64_t deadline = before + offsets[i];
		int t = tether_clock_poll_timeout(&c, deadline);
		int64_t after = tether_clock_now(&c);
		ck_assert_msg(t >= ceil_ms(deadline - after) && t <= ceil_ms(deadline - before),
			      "deadline now+%lld ns: timeout %d ms, expected within [%lld, %lld]",
			      (long long)offsets[i], t, (long long)ceil_ms(deadline - after),
			      (long long)ceil_ms(deadline - before));
		/* 0 means due: the deadline has really passed */
		if (t == 0)
			ck_assert_int_ge(tether_clock_now(&c), deadline);
	}
}
END_TEST

START_TEST(poll_timeout_never_fires_early)
{
	/* A loop that waits what poll_timeout says until it says 0 (what the
	 * supervisor's loop does) never wakes before its deadline, and needs
	 * exactly one wait: the rounded-up wait covers the whole remainder. */
	struct tether_clock c;
	tether_clock_init_real(&c);
	static const int64_t offsets[] = {1000, 500 * 1000, MS + 1, 3 * MS + 500000, 20 * MS + 1};
	for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
		int64_t deadline = tether_clock_now(&c) + offsets[i];
		int waits = 0, t;
		while ((t = tether_clock_poll_timeout(&c, deadline)) != 0) {
			ck_assert_int_gt(t, 0);
			int64_t before = tether_clock_now(&c);
			ck_assert_int_eq(poll(NULL, 0, t), 0);
			/* poll slept at least t ms (no signal here) */
			ck_assert_int_ge(tether_clock_now(&c) - before, (int64_t)t * MS);
			waits++;
		}
		ck_assert_int_ge(tether_clock_now(&c), deadline);
		ck_assert_msg(waits <= 1, "deadline now+%lld ns took %d waits", (long long)offsets[i], waits);
	}
}
END_TEST

START_TEST(poll_timeout_is_capped)
{
	struct tether_clock c;
	tether_clock_init_real(&c);
	int64_t now = tether_clock_now(&c);
	/* far deadlines: capped, never negative or wrapped into an int */
	ck_assert_int_eq(tether_clock_poll_timeout(&c, now + 2 * 86400 * SEC), POLL_CAP_MS);
	ck_assert_int_eq(tether_clock_poll_timeout(&c, now + (int64_t)INT32_MAX * MS + 5 * SEC), POLL_CAP_MS);
	ck_assert_int_eq(tether_clock_poll_timeout(&c, now + (int64_t)UINT32_MAX * MS + 5 * SEC), POLL_CAP_MS);
	ck_assert_int_eq(tether_clock_poll_timeout(&c, TETHER_NEVER - 1), POLL_CAP_MS);
	/* just under the cap is not capped */
	int t = tether_clock_poll_timeout(&c, tether_clock_now(&c) + 3600 * SEC);
	ck_assert_int_gt(t, 3599 * 1000);
	ck_assert_int_le(t, 3600 * 1000);
}
END_TEST

START_TEST(sim_poll_timeout_never_waits_for_a_future_deadline)
{
	struct tether_sim_clock sim;
	const struct tether_clock *c = &sim.clock;
	tether_sim_clock_init(&sim);
	int64_t now = tether_clock_now(c);
	ck_assert_int_eq(tether_clock_poll_timeout(c, TETHER_NEVER), -1);
	ck_assert_int_eq(tether_clock_poll_timeout(c, now), 0);
	ck_assert_int_eq(tether_clock_poll_timeout(c, now - 1), 0);
	/* A future deadline: the driver advances the clock; poll must not
	 * wait for it in real time (no positive timeout, ever). */
	static const int64_t offsets[] = {1, MS - 1, MS, MS + 1, 5 * SEC, 3600 * SEC, 30 * 86400 * SEC};
	for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++)
		ck_assert_msg(tether_clock_poll_timeout(c, now + offsets[i]) == -1,
			      "simulated deadline now+%lld ns: timeout %d, expected -1", (long long)offsets[i],
			      tether_clock_poll_timeout(c, now + offsets[i]));
	/* real time passing does not make it due */
	real_wait_ms(5);
	ck_assert_int_eq(tether_clock_poll_timeout(c, now + 1), -1);
	/* advancing does */
	tether_sim_clock_advance(&sim, now + 5 * SEC - 1);
	ck_assert_int_eq(tether_clock_poll_timeout(c, now + 5 * SEC), -1);
	tether_sim_clock_advance(&sim, now + 5 * SEC);
	ck_assert_int_eq(tether_clock_poll_timeout(c, now + 5 * SEC), 0);
	ck_assert_int_eq(tether_clock_poll_timeout(c, now + 1), 0);
}
END_TEST

/* ---- ISO 8601 ------------------------------------------------------------------------ */

START_TEST(iso8601_on_fixed_values)
{
	static const struct {
		int64_t ns;
		const char *plain, *ms;
	} cases[] = {
		{0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"},
		{1795626000 * SEC, "2026-11-25T17:00:00Z", "2026-11-25T17:00:00.000Z"},
		/* milliseconds are truncated, never rounded up into the next second */
		{1795626000 * SEC + 123456789, "2026-11-25T17:00:00Z", "2026-11-25T17:00:00.123Z"},
		{1709251199 * SEC + 999999999, "2024-02-29T23:59:59Z", "2024-02-29T23:59:59.999Z"},
		{1709251199 * SEC + 1000000, "2024-02-29T23:59:59Z", "2024-02-29T23:59:59.001Z"},
		/* past the 32-bit time_t limit */
		{INT64_C(2147483648) * SEC + 50 * MS, "2038-01-19T03:14:08Z", "2038-01-19T03:14:08.050Z"},
		{INT64_C(4102444799) * SEC, "2099-12-31T23:59:59Z", "2099-12-31T23:59:59.000Z"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[40];
		memset(buf, 'x', sizeof buf);
		ck_assert_ptr_eq(tether_format_iso8601(cases[i].ns, false, buf, sizeof buf), buf);
		ck_assert_str_eq(buf, cases[i].plain);
		memset(buf, 'x', sizeof buf);
		ck_assert_ptr_eq(tether_format_iso8601(cases[i].ns, true, buf, sizeof buf), buf);
		ck_assert_str_eq(buf, cases[i].ms);
	}
}
END_TEST

/* The date is computed by hand (clock.c says why): it must agree with the
 * C library's gmtime_r on every day from 1900 to 2262 (where nanoseconds
 * since 1970 stop fitting 64 bits), at a second of the day that moves
 * through all of them. */
START_TEST(iso8601_agrees_with_gmtime_every_day)
{
	int64_t first = INT64_C(-2208988800) / 86400, last = INT64_MAX / SEC / 86400 - 1;
	uint64_t sec_of_day = 12345;
	for (int64_t day = first; day <= last; day++) {
		sec_of_day = (sec_of_day * 7919 + 17) % 86400;
		time_t t = (time_t)(day * 86400 + (int64_t)sec_of_day);
		struct tm tm;
		ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
		char want[40], got[40];
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		tether_format_iso8601((int64_t)t * SEC, false, got, sizeof got);
		ck_assert_msg(strcmp(got, want) == 0, "day %lld: got %s, gmtime_r says %s", (long long)day, got, want);
	}
}
END_TEST

START_TEST(iso8601_respects_the_buffer)
{
	char buf[16];
	memset(buf, 'x', sizeof buf);
	/* a short buffer gets a NUL-terminated prefix, nothing past len */
	tether_format_iso8601(1795626000 * SEC, true, buf, 8);
	ck_assert_str_eq(buf, "2026-11");
	for (size_t i = 8; i < sizeof buf; i++)
		ck_assert_int_eq(buf[i], 'x');
	/* 32 bytes (what clock.h asks for) hold the longest form */
	char full[32];
	tether_format_iso8601(INT64_C(4102444799) * SEC + 999 * MS, true, full, sizeof full);
	ck_assert_str_eq(full, "2099-12-31T23:59:59.999Z");
}
END_TEST

START_TEST(sim_wall_time_formats_as_virtual_time)
{
	/* a simulated clock's timestamps move with virtual time: a 24-hour
	 * soak's log says a day passed */
	struct tether_sim_clock sim;
	const struct tether_clock *c = &sim.clock;
	tether_sim_clock_init(&sim);
	sim.wall_base = 1795626000 * SEC; /* pin the wall image for a fixed answer */
	sim.mono_base = sim.now;
	char buf[32];
	ck_assert_str_eq(tether_format_iso8601(tether_clock_wall(c), false, buf, sizeof buf), "2026-11-25T17:00:00Z");
	tether_sim_clock_advance(&sim, sim.now + 86400 * SEC + 1500 * MS);
	ck_assert_str_eq(tether_format_iso8601(tether_clock_wall(c), true, buf, sizeof buf),
			 "2026-11-26T17:00:01.500Z");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, real_clock_is_monotonic_and_follows_the_system);
	tcase_add_test(tc, real_clock_is_one_clock);
	tcase_add_test(tc, sim_clock_moves_only_when_advanced);
	tcase_add_test(tc, sim_clock_never_goes_backwards);
	tcase_add_test(tc, poll_timeout_never_and_due);
	tcase_add_test(tc, poll_timeout_rounds_up);
	tcase_add_test(tc, poll_timeout_never_fires_early);
	tcase_add_test(tc, poll_timeout_is_capped);
	tcase_add_test(tc, sim_poll_timeout_never_waits_for_a_future_deadline);
	tcase_add_test(tc, iso8601_on_fixed_values);
	tcase_add_test(tc, iso8601_agrees_with_gmtime_every_day);
	tcase_add_test(tc, iso8601_respects_the_buffer);
	tcase_add_test(tc, sim_wall_time_formats_as_virtual_time);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
