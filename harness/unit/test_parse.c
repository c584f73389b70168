/* SPDX-License-Identifier: MIT */
/* test_parse.c — the duration and size parsers (SPEC §1: bad values are
 * refused, never guessed). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "clock.h"
#include "parse.h"

#define S TETHER_NSEC_PER_SEC
#define MS TETHER_NSEC_PER_MSEC

START_TEST(duration_accepts_spec_forms)
{
	static const struct {
		const char *in;
		int64_t ns;
	} ok[] = {
		{"250ms", 250 * MS}, {"5s", 5 * S}, {"10m", 600 * S}, {"24h", 86400 * S},
		{"7", 7 * S}, {"0", 0}, {"0ms", 0}, {"1.5s", 1500 * MS}, {"0.25", 250 * MS},
		{"100us", 100000}, {"2d", 2 * 86400 * S}, {"1min", 60 * S},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t v = -1;
		ck_assert_msg(tether_parse_duration(ok[i].in, &v) == 0, "refused '%s'", ok[i].in);
		ck_assert_msg(v == ok[i].ns, "'%s' gave %lld, want %lld", ok[i].in, (long long)v,
			      (long long)ok[i].ns);
	}
}
END_TEST

START_TEST(duration_refuses_garbage)
{
	static const char *bad[] = {
		"", "s", "-1s", "+5s", " 5s", "5s ", "5 s", "5x", "5ss", "1e3", ".5s", "5.s",
		"0x10", "1.0000000001s", "5S", "ms", "--", "1h30m",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t v = 42;
		ck_assert_msg(tether_parse_duration(bad[i], &v) == -EINVAL, "accepted '%s'", bad[i]);
		ck_assert_int_eq(v, 42); /* output untouched on failure */
	}
	int64_t v;
	ck_assert_int_eq(tether_parse_duration(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(duration_refuses_overflow)
{
	int64_t v;
	ck_assert_int_eq(tether_parse_duration("99999999999999999999999", &v), -ERANGE);
	ck_assert_int_eq(tether_parse_duration("9999999999h", &v), -ERANGE);
	ck_assert_int_eq(tether_parse_duration("36600d", &v), 0); /* 100 years fits */
	ck_assert_int_eq(tether_parse_duration("36700d", &v), -ERANGE);
}
END_TEST

START_TEST(size_accepts_spec_forms)
{
	static const struct {
		const char *in;
		uint64_t v;
	} ok[] = {
		{"512", 512}, {"64K", 65536}, {"10M", 10485760}, {"1G", 1073741824},
		{"2T", 2199023255552ULL}, {"0", 0}, {"1k", 1024}, {"1KiB", 1024}, {"1MB", 1048576},
		{"100B", 100},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		uint64_t v = 1;
		ck_assert_msg(tether_parse_size(ok[i].in, &v) == 0, "refused '%s'", ok[i].in);
		ck_assert_msg(v == ok[i].v, "'%s' gave %llu", ok[i].in, (unsigned long long)v);
	}
}
END_TEST

START_TEST(size_refuses_garbage)
{
	static const char *bad[] = {"", "K", "-1", "1.5G", "1 G", "1X", "1GG", "1Gi", "G1", " 1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t v = 7;
		ck_assert_msg(tether_parse_size(bad[i], &v) == -EINVAL, "accepted '%s'", bad[i]);
		ck_assert_uint_eq(v, 7);
	}
	uint64_t v;
	ck_assert_int_eq(tether_parse_size("99999999999999999999", &v), -ERANGE);
	ck_assert_int_eq(tether_parse_size("17179869184G", &v), -ERANGE); /* 2^34 G = 2^64 */
	ck_assert_int_eq(tether_parse_size("17179869183G", &v), 0);
}
END_TEST

START_TEST(uint_bounds)
{
	uint64_t v;
	ck_assert_int_eq(tether_parse_uint("10", 1, 10, &v), 0);
	ck_assert_uint_eq(v, 10);
	ck_assert_int_eq(tether_parse_uint("11", 1, 10, &v), -ERANGE);
	ck_assert_int_eq(tether_parse_uint("0", 1, 10, &v), -ERANGE);
	ck_assert_int_eq(tether_parse_uint("1a", 1, 10, &v), -EINVAL);
	ck_assert_int_eq(tether_parse_uint("", 0, 10, &v), -EINVAL);
	ck_assert_int_eq(tether_parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
}
END_TEST

START_TEST(format_duration_round_trips)
{
	char buf[32];
	static const int64_t vals[] = {0, 250 * MS, 5 * S, 90 * S, 300 * S, 7200 * S, 1500 * MS, 1234};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		int64_t back = -1;
		tether_format_duration(vals[i], buf, sizeof buf);
		ck_assert_msg(tether_parse_duration(buf, &back) == 0, "'%s' does not parse", buf);
		ck_assert_msg(back == vals[i] || (vals[i] == 1234 && back == 1000), "'%s' -> %lld, want %lld",
			      buf, (long long)back, (long long)vals[i]);
	}
	ck_assert_str_eq(tether_format_duration(300 * S, buf, sizeof buf), "5m");
	ck_assert_str_eq(tether_format_duration(250 * MS, buf, sizeof buf), "250ms");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, duration_accepts_spec_forms);
	tcase_add_test(tc, duration_refuses_garbage);
	tcase_add_test(tc, duration_refuses_overflow);
	tcase_add_test(tc, size_accepts_spec_forms);
	tcase_add_test(tc, size_refuses_garbage);
	tcase_add_test(tc, uint_bounds);
	tcase_add_test(tc, format_duration_round_trips);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
