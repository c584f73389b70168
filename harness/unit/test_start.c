/* SPDX-License-Identifier: MIT */
/* test_start.c — `tether start` (SPEC §2) when its own calls fail, run as the
 * real binary with libc's calls faulted through libfiu's preloads: the
 * supervisor cannot be forked, the wait for "ready" cannot poll or read, the
 * supervisor dies by a signal before it is ready, its end cannot be waited
 * for. Each is an exit code and a message, and nothing is left running. Also
 * what the supervisor says while it starts reaches the caller's stderr.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "testutil.h"

#define RUN_MS 20000 /* no command here may take that long: a timeout is a hang */

/* Nothing the command started is left (its supervisor, the workers). */
static void assert_nothing_left(void)
{
	pid_t left[4];
	int64_t t0 = tether_clock_now(tether_clock_real());
	int n;
	while ((n = tu_marked(left, 4)) > 0 && tether_clock_now(tether_clock_real()) - t0 < 5 * TETHER_NSEC_PER_SEC)
		tu_wait_gone(left[0], 1000);
	ck_assert_msg(n == 0, "%d process(es) left, the first %d", n, n ? (int)left[0] : 0);
	ck_assert(!tu_exists(tu_path("s.pid")));
}

START_TEST(what_the_supervisor_says_while_starting_reaches_the_caller)
{
	/* the heartbeat log's directory is missing: a warning, and the start
	 * goes on */
	struct tu_result r = tu_tether(RUN_MS, "start", "--pidfile", tu_path("s.pid"), "--min-disk", "0",
				       "--heartbeat-log", tu_path("nodir/hb.jsonl"), "--", TETHER_WORKER, NULL);
	ck_assert_msg(r.code == 0, "exit %d, stderr: %s", r.code, r.err);
	ck_assert_msg(strstr(r.err, "cannot open heartbeat log") && strstr(r.err, "supervision continues"),
		      "stderr: %s", r.err);
	tu_result_free(&r);
	r = tu_tether(RUN_MS, "stop", "--pidfile", tu_path("s.pid"), NULL);
	ck_assert_msg(r.code == 0, "stop: exit %d, stderr: %s", r.code, r.err);
	tu_result_free(&r);
	assert_nothing_left();
}
END_TEST

#ifdef TETHER_FAULT_INJECTION
static bool preloads(const char *test)
{
#if defined(__SANITIZE_ADDRESS__)
	fprintf(stderr, "SKIP %s: libfiu's posix preload cannot run under ASan\n", test);
	return false;
#endif
	if (!*FIU_POSIX_PRELOAD || !*FIU_RUN_PRELOAD || !tu_exists(FIU_POSIX_PRELOAD)) {
		fprintf(stderr, "SKIP %s: libfiu's preload libraries are missing\n", test);
		return false;
	}
	return true;
}

/* tether start with TETHER_FAULT=rule (and the preloads when libc's calls
 * are faulted), its COMMAND the worker or cmd. */
static struct tu_result start_with(const char *rule, bool libc, const char *cmd)
{
	static char preload[1024], fault[256];
	snprintf(preload, sizeof preload, "LD_PRELOAD=%s %s", FIU_RUN_PRELOAD, FIU_POSIX_PRELOAD);
	snprintf(fault, sizeof fault, "TETHER_FAULT=%s", rule);
	char *env_libc[] = {preload, "FIU_CTRL_FIFO=", fault, NULL};
	char *env_own[] = {fault, NULL};
	char *argv[] = {TETHER_BIN, "start", "--pidfile", (char *)tu_path("s.pid"), "--min-disk", "0",
			"--", (char *)(cmd ? cmd : TETHER_WORKER), NULL};
	return tu_run(argv, libc ? env_libc : env_own, RUN_MS);
}

START_TEST(a_supervisor_that_cannot_be_forked_is_71)
{
	if (!preloads("a_supervisor_that_cannot_be_forked_is_71"))
		return;
	struct tu_result r = start_with("posix/proc/fork:11:1:once", true, NULL);
	ck_assert_msg(r.code == 71, "exit %d, stderr: %s", r.code, r.err);
	ck_assert_msg(strstr(r.err, "cannot start the supervisor: Resource temporarily unavailable"), "stderr: %s",
		      r.err);
	tu_result_free(&r);
	assert_nothing_left();
}
END_TEST

START_TEST(a_wait_that_cannot_poll_stops_the_supervisor)
{
	if (!preloads("a_wait_that_cannot_poll_stops_the_supervisor"))
		return;
	/* EINVAL: not an interruption, the wait is over at once (the
	 * supervisor's own polls fail too: it ends by itself or by our TERM) */
	struct tu_result r = start_with("posix/io/net/poll:22:1:from", true, NULL);
	ck_assert_msg(r.code == 71, "exit %d, stderr: %s", r.code, r.err);
	ck_assert_msg(strstr(r.err, "cannot wait for the supervisor") && strstr(r.err, strerror(EINVAL)) &&
			      strstr(r.err, "stopping it"),
		      "stderr: %s", r.err);
	tu_result_free(&r);
	assert_nothing_left();
}
END_TEST

START_TEST(a_wait_that_cannot_read_stops_the_supervisor)
{
	if (!preloads("a_wait_that_cannot_read_stops_the_supervisor"))
		return;
	struct tu_result r = start_with("posix/io/rw/read:5:1:from", true, NULL);
	ck_assert_msg(r.code == 71, "exit %d, stderr: %s", r.code, r.err);
	ck_assert_msg(strstr(r.err, "cannot wait for the supervisor") && strstr(r.err, strerror(EIO)),
		      "stderr: %s", r.err);
	tu_result_free(&r);
	assert_nothing_left();
}
END_TEST

START_TEST(an_end_that_cannot_be_waited_for_is_71)
{
	if (!preloads("an_end_that_cannot_be_waited_for_is_71"))
		return;
	/* the supervisor ends before it is ready (127: no such command), and
	 * waitpid fails: its exit code is unknown, so 71, not 0 */
	struct tu_result r = start_with("posix/proc/waitpid:10:1:from", true, tu_path("nonexistent"));
	ck_assert_msg(r.code == 71, "exit %d, stderr: %s", r.code, r.err);
	tu_result_free(&r);
	assert_nothing_left();
}
END_TEST

START_TEST(a_supervisor_killed_before_ready_is_71)
{
	/* it SIGKILLs itself at its first rename (the pidfile's record) */
	struct tu_result r = start_with("tether/sys/rename:kill:1:once", false, NULL);
	ck_assert_msg(r.code == 71, "exit %d, stderr: %s", r.code, r.err);
	ck_assert_msg(strstr(r.err, "the supervisor died by signal 9 before it was ready"), "stderr: %s", r.err);
	tu_result_free(&r);
	/* its guardians and workers go with it (G2); its files stay, a stale
	 * record that the next start replaces */
	pid_t left[4];
	int64_t t0 = tether_clock_now(tether_clock_real());
	int n;
	while ((n = tu_marked(left, 4)) > 0 && tether_clock_now(tether_clock_real()) - t0 < 5 * TETHER_NSEC_PER_SEC)
		tu_wait_gone(left[0], 1000);
	ck_assert_int_eq(n, 0);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("start");
	TCase *tc = tcase_create("start");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, what_the_supervisor_says_while_starting_reaches_the_caller);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_test(tc, a_supervisor_that_cannot_be_forked_is_71);
	tcase_add_test(tc, a_wait_that_cannot_poll_stops_the_supervisor);
	tcase_add_test(tc, a_wait_that_cannot_read_stops_the_supervisor);
	tcase_add_test(tc, an_end_that_cannot_be_waited_for_is_71);
	tcase_add_test(tc, a_supervisor_killed_before_ready_is_71);
#endif
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
