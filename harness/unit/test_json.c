/* SPDX-License-Identifier: MIT */
/* test_json.c — the strict JSON reader and the writer's escaping. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int parse(const char *s, struct tether_json **j)
{
	return tether_json_parse(s, strlen(s), 16, j);
}

START_TEST(parses_values)
{
	struct tether_json *j;
	ck_assert_int_eq(parse(" {\"a\":[1,-2,3.5,true,false,null,\"x\\ny\"],\"b\":{}} ", &j), 0);
	ck_assert_int_eq(j->type, TETHER_JSON_OBJECT);
	const struct tether_json *a = tether_json_get(j, "a");
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->count, 7);
	ck_assert(a->items[0]->is_int);
	ck_assert_int_eq(a->items[1]->integer, -2);
	ck_assert(!a->items[2]->is_int);
	ck_assert_double_eq(a->items[2]->number, 3.5);
	ck_assert(a->items[3]->boolean);
	ck_assert_int_eq(a->items[5]->type, TETHER_JSON_NULL);
	ck_assert_str_eq(a->items[6]->string, "x\ny");
	ck_assert_int_eq(tether_json_path(j, "a.1")->integer, -2);
	ck_assert_ptr_null(tether_json_path(j, "a.9"));
	ck_assert_ptr_null(tether_json_path(j, "c"));
	tether_json_free(j);
}
END_TEST

START_TEST(int64_limits_are_exact)
{
	struct tether_json *j;
	ck_assert_int_eq(parse("9223372036854775807", &j), 0);
	ck_assert(j->is_int);
	ck_assert_int_eq(j->integer, INT64_MAX);
	tether_json_free(j);
	ck_assert_int_eq(parse("-9223372036854775808", &j), 0);
	ck_assert(j->is_int);
	ck_assert_int_eq(j->integer, INT64_MIN);
	tether_json_free(j);
	ck_assert_int_eq(parse("9223372036854775808", &j), 0);
	ck_assert(!j->is_int); /* valid JSON, but not an exact int64 */
	tether_json_free(j);
}
END_TEST

START_TEST(unicode_escapes_decode)
{
	struct tether_json *j;
	ck_assert_int_eq(parse("\"\\u00e9\\ud83d\\ude00/\\/\"", &j), 0);
	ck_assert_str_eq(j->string, "\xc3\xa9\xf0\x9f\x98\x80//");
	tether_json_free(j);
}
END_TEST

START_TEST(rejects_malformed)
{
	static const char *bad[] = {
		"", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "'x'", "01", "1.",
		".5", "-", "+1", "1e", "tru", "nul", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"",
		"\"\\udc00\"", "\"\\u0000\"", "\"a\nb\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
		"[1] [2]", "{\"a\":1,\"a\":2}", "[\"unterminated", "\"\\", "nan", "Infinity",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct tether_json *j = NULL;
		int r = tether_json_parse(bad[i], strlen(bad[i]), 16, &j);
		ck_assert_msg(r == -EINVAL, "input %zu ('%s') gave %d", i, bad[i], r);
		ck_assert_ptr_null(j);
	}
}
END_TEST

START_TEST(depth_is_bounded)
{
	char deep[2001];
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	deep[2000] = '\0';
	struct tether_json *j = NULL;
	ck_assert_int_eq(tether_json_parse(deep, 2000, 16, &j), -ELOOP);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(tether_json_parse("[[[1]]]", 7, 3, &j), 0);
	tether_json_free(j);
	ck_assert_int_eq(tether_json_parse("[[[[1]]]]", 9, 3, &j), -ELOOP);
}
END_TEST

START_TEST(embedded_nul_is_rejected)
{
	struct tether_json *j = NULL;
	ck_assert_int_eq(tether_json_parse("\"a\0b\"", 5, 4, &j), -EINVAL);
	ck_assert_int_eq(tether_json_parse("1\0", 2, 4, &j), -EINVAL);
}
END_TEST

START_TEST(writer_escapes_and_round_trips)
{
	struct tether_buf b;
	tether_buf_init(&b);
	tether_buf_json_string(&b, "q\"b\\n\n\x01\xc3\xa9\xff");
	ck_assert_str_eq(b.data, "\"q\\\"b\\\\n\\n\\u0001\xc3\xa9\xef\xbf\xbd\"");
	struct tether_json *j;
	ck_assert_int_eq(tether_json_parse(b.data, b.len, 4, &j), 0);
	ck_assert_str_eq(j->string, "q\"b\\n\n\x01\xc3\xa9\xef\xbf\xbd");
	tether_buf_reset(&b);
	tether_json_render(j, &b);
	tether_json_free(j);
	ck_assert_int_eq(tether_json_parse(b.data, b.len, 4, &j), 0);
	tether_json_free(j);
	/* a character cut short at the end of the string is replaced too */
	tether_buf_reset(&b);
	tether_buf_json_string(&b, "a\xe2\x82");
	ck_assert_str_eq(b.data, "\"a\xef\xbf\xbd\xef\xbf\xbd\"");
	tether_buf_reset(&b);
	for (int i = 0; i < 10000; i++)
		tether_buf_printf(&b, "%d,", i);
	ck_assert(!b.oom);
	ck_assert_uint_eq(strlen(b.data), b.len);
	tether_buf_done(&b);
}
END_TEST

/* A number is rendered as the shortest text that reads back as the same
 * double: what a writer printed with millisecond precision stays so (SPEC §3:
 * 0.011, never 0.010999999999999999), and nothing is lost either. */
START_TEST(numbers_render_shortest_round_trip)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"0.011", "0.011"},   {"0.428", "0.428"},     {"12.5", "12.5"},   {"1e300", "1e+300"},
		{"-0.25", "-0.25"},   {"0.30000000000000004", "0.30000000000000004"},
		{"123456.789", "123456.789"}, {"5e-324", "4.94065645841247e-324"}, {"-0.0", "0"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tether_json *j;
		struct tether_buf b;
		ck_assert_int_eq(tether_json_parse(cases[i].in, strlen(cases[i].in), 4, &j), 0);
		tether_buf_init(&b);
		tether_json_render(j, &b);
		ck_assert_msg(strcmp(b.data, cases[i].out) == 0, "%s rendered %s, want %s", cases[i].in, b.data,
			      cases[i].out);
		struct tether_json *back;
		ck_assert_int_eq(tether_json_parse(b.data, b.len, 4, &back), 0);
		ck_assert(back->number == j->number);
		tether_json_free(back);
		tether_json_free(j);
		tether_buf_done(&b);
	}
}
END_TEST

START_TEST(every_escape_and_utf8_length_decodes)
{
	struct tether_json *j;
	/* the one-letter escapes, upper-case hex, a 3-byte and a 4-byte
	 * character given raw and as escapes, whitespace of every kind */
	const char *in = "\t\r\n [\"\\b\\f\\r\\t\\n\\u00E9\\u20AC\\uD83D\\uDE00\xe2\x82\xac\xf0\x9f\x98\x80\"]\r\n";
	ck_assert_int_eq(parse(in, &j), 0);
	ck_assert_uint_eq(j->count, 1);
	ck_assert_str_eq(j->items[0]->string,
			 "\b\f\r\t\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x82\xac\xf0\x9f\x98\x80");
	/* rendered back: \r and \t escaped by name, other controls as \u00XX,
	 * and what was parsed is what comes back */
	struct tether_buf b;
	tether_buf_init(&b);
	tether_json_render(j, &b);
	ck_assert_str_eq(b.data, "[\"\\u0008\\u000c\\r\\t\\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
				 "\xe2\x82\xac\xf0\x9f\x98\x80\"]");
	tether_json_free(j);
	tether_buf_done(&b);
}
END_TEST

START_TEST(rejects_more_malformed)
{
	static const char *bad[] = {
		"\"\\uD83D\\u0041\"",   /* a high surrogate, then no low one */
		"\"\\uD83Dx\"",          /* a high surrogate, then no escape */
		"\"\\u00G0\"",           /* not hex */
		"\"\xf0\x9f\x98\"",       /* a 4-byte character cut short */
		"\"\xf0\x9f\x28\x80\"",   /* a bad continuation byte */
		"\"\xe2\x82\"",           /* a 3-byte character cut at the end */
		"-a", "[1 2]", "{\"a\":1 \"b\":2}", "{\"a\"", "{\"a\":", "[", "1e400", "-1e400",
		"{1:2}", "\"abc",
		/* a literal longer than any field of ours takes (64 characters) */
		"1234567890123456789012345678901234567890123456789012345678901234567890",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct tether_json *j = NULL;
		int r = tether_json_parse(bad[i], strlen(bad[i]), 16, &j);
		ck_assert_msg(r == -EINVAL, "input %zu ('%s') gave %d", i, bad[i], r);
		ck_assert_ptr_null(j);
	}
}
END_TEST

START_TEST(paths_and_rendering_of_every_type)
{
	struct tether_json *j;
	ck_assert_int_eq(parse("{\"a\":[true,false,null,{\"b\":-7}],\"s\":\"x\"}", &j), 0);
	ck_assert_int_eq(tether_json_path(j, "a.3.b")->integer, -7);
	ck_assert(tether_json_path(j, "a.0")->boolean);
	ck_assert_ptr_null(tether_json_path(j, "a.x"));   /* an array takes indexes only */
	ck_assert_ptr_null(tether_json_path(j, "a.1x"));
	ck_assert_ptr_null(tether_json_path(j, "s.t"));   /* a string has no members */
	ck_assert_ptr_null(tether_json_get(tether_json_get(j, "s"), "t"));
	ck_assert_ptr_null(tether_json_get(NULL, "a"));
	char long_part[300];
	memset(long_part, 'k', sizeof long_part - 1);
	long_part[sizeof long_part - 1] = '\0';
	ck_assert_ptr_null(tether_json_path(j, long_part)); /* longer than any key */
	struct tether_buf b;
	tether_buf_init(&b);
	tether_json_render(j, &b);
	ck_assert_str_eq(b.data, "{\"a\":[true,false,null,{\"b\":-7}],\"s\":\"x\"}");
	tether_buf_reset(&b);
	tether_json_render(NULL, &b);
	ck_assert_str_eq(b.data, "(missing)");
	tether_buf_done(&b);
	tether_json_free(j);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");
	tcase_add_test(tc, parses_values);
	tcase_add_test(tc, int64_limits_are_exact);
	tcase_add_test(tc, unicode_escapes_decode);
	tcase_add_test(tc, rejects_malformed);
	tcase_add_test(tc, depth_is_bounded);
	tcase_add_test(tc, embedded_nul_is_rejected);
	tcase_add_test(tc, writer_escapes_and_round_trips);
	tcase_add_test(tc, numbers_render_shortest_round_trip);
	tcase_add_test(tc, every_escape_and_utf8_length_decodes);
	tcase_add_test(tc, rejects_more_malformed);
	tcase_add_test(tc, paths_and_rendering_of_every_type);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
