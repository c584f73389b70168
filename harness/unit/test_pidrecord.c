/* SPDX-License-Identifier: MIT */
/* test_pidrecord.c — the pidfile's record (SPEC §4): every field a reader
 * refuses, legacy PIDs at their limits, and a writer that keeps the record
 * within the reader's size limit whatever argv is. test_pidfile.c has the
 * common forms and the files themselves. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pidrecord.h"

#define BOOT "0123abcd-0000-4000-8000-00000000cafe"

static int parse(const char *text)
{
	struct tether_pidrecord rec;
	int r = tether_pidrecord_parse(text, strlen(text), &rec);
	if (r == 0)
		tether_pidrecord_done(&rec);
	return r;
}

START_TEST(every_malformed_field_is_refused)
{
	char ok[512];
	snprintf(ok, sizeof ok,
		 "{\"pid\":42,\"start_time\":7,\"boot_id\":\"%s\",\"started_at\":\"2026-11-25T17:00:00Z\","
		 "\"argv\":[\"tether\",\"run\"],\"version\":\"1.0\"}",
		 BOOT);
	ck_assert_int_eq(parse(ok), 0);
	static const char *const bad[] = {
		/* a boot id with an upper-case digit, or of the wrong length */
		"{\"pid\":42,\"start_time\":7,\"boot_id\":\"0123ABCD-0000-4000-8000-00000000cafe\","
		"\"started_at\":\"x\",\"argv\":[],\"version\":\"1\"}",
		"{\"pid\":42,\"start_time\":7,\"boot_id\":\"0123\",\"started_at\":\"x\",\"argv\":[],\"version\":\"1\"}",
		/* started_at and version missing, not strings, or too long */
		"{\"pid\":42,\"start_time\":7,\"boot_id\":\"" BOOT "\",\"argv\":[],\"version\":\"1\"}",
		"{\"pid\":42,\"start_time\":7,\"boot_id\":\"" BOOT "\",\"started_at\":5,\"argv\":[],\"version\":\"1\"}",
		"{\"pid\":42,\"start_time\":7,\"boot_id\":\"" BOOT "\",\"started_at\":\"x\",\"argv\":[]}",
		"{\"pid\":42,\"start_time\":7,\"boot_id\":\"" BOOT "\",\"started_at\":\"x\",\"argv\":[],"
		"\"version\":\"0123456789012345678901234567890123456789\"}",
		/* argv not an array, or with a member that is no string */
		"{\"pid\":42,\"start_time\":7,\"boot_id\":\"" BOOT "\",\"started_at\":\"x\",\"argv\":\"tether\","
		"\"version\":\"1\"}",
		"{\"pid\":42,\"start_time\":7,\"boot_id\":\"" BOOT "\",\"started_at\":\"x\",\"argv\":[\"a\",1],"
		"\"version\":\"1\"}",
		/* a start time below zero, a pid beyond the kernel's limit */
		"{\"pid\":42,\"start_time\":-1,\"boot_id\":\"" BOOT "\",\"started_at\":\"x\",\"argv\":[],\"version\":\"1\"}",
		"{\"pid\":4194305,\"start_time\":7,\"boot_id\":\"" BOOT "\",\"started_at\":\"x\",\"argv\":[],"
		"\"version\":\"1\"}",
		/* legacy: beyond the limit, 0 and 1 (nothing verifies them) */
		"4194305\n", "99999999999999999999\n", "0\n", "1\n", "12x\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(parse(bad[i]) == -EINVAL, "accepted record %zu: %s", i, bad[i]);
	ck_assert_int_eq(parse("4194304 \r\n"), 0);
}
END_TEST

START_TEST(a_record_beyond_the_size_limit_is_efbig)
{
	size_t len = TETHER_PIDFILE_MAX_BYTES + 1;
	char *big = malloc(len);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', len);
	big[0] = '{';
	struct tether_pidrecord rec;
	ck_assert_int_eq(tether_pidrecord_parse(big, len, &rec), -EFBIG);
	free(big);
}
END_TEST

START_TEST(a_huge_argv_is_cut_to_fit_and_says_so)
{
	/* the writer drops the arguments beyond half the reader's limit and
	 * says "...": the record stays readable */
	size_t arg_len = TETHER_PIDFILE_MAX_BYTES / 8;
	char *arg = malloc(arg_len + 1);
	ck_assert_ptr_nonnull(arg);
	memset(arg, 'a', arg_len);
	arg[arg_len] = '\0';
	char *argv[] = {"tether", arg, arg, arg, arg, arg, NULL};
	struct tether_pidrecord rec = {.pid = 42, .start_time = 7, .argv = argv};
	snprintf(rec.boot_id, sizeof rec.boot_id, "%s", BOOT);
	snprintf(rec.started_at, sizeof rec.started_at, "2026-11-25T17:00:00Z");
	snprintf(rec.version, sizeof rec.version, "1.0");
	struct tether_buf b;
	tether_buf_init(&b);
	tether_pidrecord_format(&rec, &b);
	ck_assert(!b.oom);
	ck_assert_uint_le(b.len, TETHER_PIDFILE_MAX_BYTES);
	struct tether_pidrecord back;
	ck_assert_int_eq(tether_pidrecord_parse(b.data, b.len, &back), 0);
	size_t n = 0;
	while (back.argv[n])
		n++;
	ck_assert_uint_ge(n, 2);
	ck_assert_uint_lt(n, 6);
	ck_assert_str_eq(back.argv[0], "tether");
	ck_assert_str_eq(back.argv[n - 1], "...");
	tether_pidrecord_done(&back);
	/* a first argument alone beyond the budget: "..." in its place */
	char *big = malloc(TETHER_PIDFILE_MAX_BYTES);
	ck_assert_ptr_nonnull(big);
	memset(big, 'b', TETHER_PIDFILE_MAX_BYTES - 1);
	big[TETHER_PIDFILE_MAX_BYTES - 1] = '\0';
	char *alone[] = {big, NULL};
	rec.argv = alone;
	tether_buf_reset(&b);
	tether_pidrecord_format(&rec, &b);
	ck_assert_int_eq(tether_pidrecord_parse(b.data, b.len, &back), 0);
	ck_assert_str_eq(back.argv[0], "...");
	ck_assert_ptr_null(back.argv[1]);
	tether_pidrecord_done(&back);
	tether_buf_done(&b);
	free(big);
	free(arg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pidrecord");
	TCase *tc = tcase_create("record");
	tcase_add_test(tc, every_malformed_field_is_refused);
	tcase_add_test(tc, a_record_beyond_the_size_limit_is_efbig);
	tcase_add_test(tc, a_huge_argv_is_cut_to_fit_and_says_so);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
