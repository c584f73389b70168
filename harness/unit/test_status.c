/* SPDX-License-Identifier: MIT */
/* test_status.c — `tether status`'s text (SPEC §3) from a status gathered
 * elsewhere: every state, ages in seconds to days, and each field of the
 * supervisor's live report it shows. test_cli.c runs the command itself. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "status.h"

static char *text_of(const struct tether_status *st)
{
	struct tether_buf b;
	tether_buf_init(&b);
	tether_status_format_text(st, "/run/t.pid", &b);
	ck_assert(!b.oom);
	char *s = strdup(b.data);
	tether_buf_done(&b);
	return s;
}

START_TEST(a_starting_supervisor_is_named_by_its_lock)
{
	struct tether_status st = {.state = TETHER_PIDFILE_STARTING};
	st.probe.lock_pid = 4321;
	char *t = text_of(&st);
	ck_assert_str_eq(t, "tether: starting (pid 4321)\n");
	free(t);
}
END_TEST

START_TEST(uptime_in_seconds_minutes_hours_and_days)
{
	static const struct {
		double s;
		const char *up;
	} cases[] = {
		{59.9, "up 59s\n"}, {61, "up 1m1s\n"}, {3 * 3600 + 5 * 60 + 9, "up 3h5m\n"},
		{2 * 86400 + 7 * 3600 + 59, "up 2d7h\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tether_status st = {.state = TETHER_PIDFILE_RUNNING, .uptime_s = cases[i].s};
		st.probe.rec.pid = 99;
		char *t = text_of(&st);
		ck_assert_msg(strncmp(t, "tether: running (pid 99), ", 26) == 0 && strstr(t, cases[i].up), "%g s: %s",
			      cases[i].s, t);
		ck_assert_msg(strstr(t, "did not report its instances"), "%s", t);
		free(t);
	}
}
END_TEST

START_TEST(the_command_reads_back_as_a_shell_would)
{
	/* an empty argument, spaces, a quote and a newline stay visible */
	struct tether_status st = {.state = TETHER_PIDFILE_RUNNING, .uptime_s = 1};
	st.probe.rec.pid = 7;
	char *argv[] = {"tether", "run", "--", "redis-server", "--save", "", "a b", "it's", "x\ny", "k=v,w:1", NULL};
	st.probe.rec.argv = argv;
	char *t = text_of(&st);
	ck_assert_msg(strstr(t, "  command: redis-server --save '' 'a b' 'it'\\''s' $'x\\x0ay' k=v,w:1\n"), "%s", t);
	free(t);
}
END_TEST

static void expect_live(const char *live, const char *const want[])
{
	struct tether_status st = {.state = TETHER_PIDFILE_RUNNING, .uptime_s = 5};
	st.probe.rec.pid = 7;
	char *argv[] = {"tether", "run", "--", "worker", "--ready", NULL};
	st.probe.rec.argv = argv;
	ck_assert_int_eq(tether_json_parse(live, strlen(live), 8, &st.live), 0);
	char *t = text_of(&st);
	tether_json_free(st.live);
	ck_assert_msg(strstr(t, "  command: worker --ready\n"), "%s", t);
	for (const char *const *w = want; *w; w++)
		ck_assert_msg(strstr(t, *w), "lacks \"%s\":\n%s", *w, t);
	free(t);
}

START_TEST(the_live_report_line_by_line)
{
	expect_live("{\"restarts_total\":3,\"crashes_in_window\":1,\"notify_refused\":2,\"output_lost_lines\":5,"
		    "\"instances\":[{\"id\":0,\"pid\":100,\"state\":\"running\",\"restarts\":2,"
		    "\"restarts_requested\":1,\"status\":\"serving\",\"watchdog_age_s\":125.5},"
		    "{\"id\":1,\"state\":\"backoff\",\"restarts\":0}]}",
		    (const char *const[]){"  restarts: 3 total, 1 crashes in the window\n",
					  "  notify: 2 message(s) refused from outside the instances' trees\n",
					  "  output: 5 line(s) lost (an output file could not be written)\n",
					  "  instance 0: pid 100, running, 2 restarts (+1 requested), status \"serving\", "
					  "watchdog 2m5s ago\n",
					  "  instance 1: backoff, 0 restarts\n", NULL});
	/* nothing lost, and a report with fields missing or of the wrong type */
	expect_live("{\"output_lost_lines\":0,\"instances\":[{\"state\":7}]}",
		    (const char *const[]){"  restarts: 0 total, 0 crashes in the window\n", "  output: no line lost\n",
					  "  instance 0: ?, 0 restarts\n", NULL});
}
END_TEST

int main(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("text");
	tcase_add_test(tc, a_starting_supervisor_is_named_by_its_lock);
	tcase_add_test(tc, uptime_in_seconds_minutes_hours_and_days);
	tcase_add_test(tc, the_live_report_line_by_line);
	tcase_add_test(tc, the_command_reads_back_as_a_shell_would);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
