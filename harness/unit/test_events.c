/* SPDX-License-Identifier: MIT */
/* test_events.c — what the supervisor says when saying it fails (events.c),
 * the supervisor run in-process (each test's forked process):
 *   - a heartbeat log that cannot be opened: one warning, supervision goes
 *     on, retried at each heartbeat (and at a reopen), written once it can;
 *   - our own supervisor (NOTIFY_SOCKET) that never takes READY=1 or
 *     STOPPING=1: retried with backoff a bounded number of times, then one
 *     warning each (G9), on a clock that runs fast so the two minutes of
 *     retries take a moment;
 *   - an exec that fails after the command ran once (its file went): said
 *     as it happens;
 *   - reads that keep failing (G9): progress-file events given up with a
 *     warning, signals that cannot be read the end of supervision (71).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "supervisor.h"
#include "testutil.h"

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool all_ready;
static char said[32768]; /* every message, one a line */

static void on_ready(void *ud)
{
	(void)ud;
	all_ready = true;
}

static void on_message(void *ud, enum tether_message_level level, const char *text)
{
	(void)ud;
	(void)level;
	size_t len = strlen(said);
	snprintf(said + len, sizeof said - len, "%s\n", text);
}

static unsigned count(const char *text)
{
	unsigned n = 0;
	for (const char *p = said; (p = strstr(p, text)); p += strlen(text))
		n++;
	return n;
}

/* The real clock plus a skew the test moves forward: timers come due
 * without waiting for them. */
static int64_t skew;
static int64_t skewed_now(const struct tether_clock *c)
{
	(void)c;
	return tether_clock_now(tether_clock_real()) + skew;
}
static int64_t skewed_wall(const struct tether_clock *c)
{
	(void)c;
	return tether_clock_wall(tether_clock_real()) + skew;
}
static int skewed_poll_timeout(const struct tether_clock *c, int64_t deadline)
{
	(void)c;
	return tether_clock_poll_timeout(tether_clock_real(), deadline == TETHER_NEVER ? deadline : deadline - skew);
}
/* (only the fault-injection tests skew the clock) */
static const struct tether_clock skewed __attribute__((unused)) = {skewed_now, skewed_wall, skewed_poll_timeout,
									   "skewed"};

static char *worker_argv[] = {TETHER_WORKER, NULL};

static struct tether_config config(char **argv)
{
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	cfg.pidfile = tu_path("t.pid");
	cfg.argv = argv;
	cfg.instances = 1;
	cfg.min_disk = 0;
	cfg.min_mem = 0;
	return cfg;
}

static struct tether_hooks hooks = {.ready = on_ready, .message = on_message};

static struct tether_supervisor *start_on(struct tether_config *cfg, const struct tether_clock *clock, bool wait)
{
	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	all_ready = false;
	said[0] = '\0';
	ck_assert_int_eq(tether_supervisor_new(cfg, clock, &hooks, &sv, &res), 0);
	ck_assert_int_eq(tether_supervisor_start(sv, &res), 0);
	int64_t end = mono_ms() + 15000;
	while (wait && !all_ready) {
		ck_assert_msg(mono_ms() < end, "not ready within 15 s");
		ck_assert_msg(tether_supervisor_step(sv, 20, &res) == 1, "the supervisor ended: %s", res.message);
	}
	return sv;
}

static bool step_until_said(struct tether_supervisor *sv, const char *text, int ms)
{
	struct tether_result res;
	int64_t end = mono_ms() + ms;
	while (!strstr(said, text)) {
		if (mono_ms() >= end)
			return false;
		ck_assert_msg(tether_supervisor_step(sv, 20, &res) == 1, "the supervisor ended: %s", res.message);
	}
	return true;
}

static void stop(struct tether_supervisor *sv)
{
	struct tether_result res;
	tether_supervisor_stop(sv);
	int64_t end = mono_ms() + 20000;
	while (tether_supervisor_step(sv, 50, &res) == 1)
		ck_assert_msg(mono_ms() < end, "the supervisor did not stop");
	ck_assert_int_eq(tether_result_exit_code(&res), 0);
	tether_supervisor_free(sv);
}

/* ---- the heartbeat log ------------------------------------------------------------------ */

START_TEST(a_heartbeat_log_that_cannot_be_opened_is_retried)
{
	struct tether_config cfg = config(worker_argv);
	cfg.heartbeat_log = tu_path("logs/hb.jsonl"); /* logs/ is not there yet */
	cfg.heartbeat_interval = 100 * TETHER_NSEC_PER_MSEC;
	struct tether_supervisor *sv = start_on(&cfg, tether_clock_real(), true);
	ck_assert_msg(strstr(said, "cannot open heartbeat log"), "said: %s", said);
	ck_assert_msg(strstr(said, "supervision continues; retried at the next heartbeat"), "said: %s", said);
	/* a few heartbeats and a reopen (SIGUSR1) later: still said once */
	struct tether_result res;
	int64_t t0 = mono_ms();
	while (mono_ms() - t0 < 400)
		ck_assert_int_eq(tether_supervisor_step(sv, 20, &res), 1);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	t0 = mono_ms();
	while (mono_ms() - t0 < 200)
		ck_assert_int_eq(tether_supervisor_step(sv, 20, &res), 1);
	ck_assert_uint_eq(count("cannot open heartbeat log"), 1);
	ck_assert(!tu_exists(cfg.heartbeat_log));
	/* the directory is there: the next heartbeat is written */
	ck_assert_int_eq(mkdir(tu_path("logs"), 0700), 0);
	t0 = mono_ms();
	char *text = NULL;
	while (!(text = tu_read_file(cfg.heartbeat_log, NULL)) || !strstr(text, "\"event\":\"heartbeat\"")) {
		free(text);
		text = NULL;
		ck_assert_msg(mono_ms() - t0 < 5000, "no heartbeat written within 5 s");
		ck_assert_int_eq(tether_supervisor_step(sv, 20, &res), 1);
	}
	free(text);
	stop(sv);
}
END_TEST

/* ---- upward --------------------------------------------------------------------------- */

#ifdef TETHER_FAULT_INJECTION
START_TEST(our_supervisor_that_never_takes_ready_or_stopping_is_given_up)
{
	/* a NOTIFY_SOCKET whose queue is full for ever: a supervisor that
	 * never reads, so every send of ours is EAGAIN */
	int up = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(up, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", tu_path("up.sock"));
	ck_assert_int_eq(bind(up, (struct sockaddr *)&sa, sizeof sa), 0);
	int filler = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(filler, 0);
	while (sendto(filler, "X_FILLER=1", 10, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa) == 10)
		;
	ck_assert_int_eq(errno, EAGAIN);
	close(filler);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	unsetenv("WATCHDOG_USEC");
	char *argv[] = {TETHER_WORKER, "--ignore-term", NULL};
	struct tether_config cfg = config(argv);
	cfg.stop_timeout = 600 * TETHER_NSEC_PER_SEC;
	skew = 0;
	struct tether_supervisor *sv = start_on(&cfg, &skewed, true);
	/* counted from here, never failed */
	tu_fault_arm("tether/sys/sendmsg", EIO, 1u << 30, 0, TU_FAULT_SELF);
	struct tether_result res;
	int64_t end = mono_ms() + 30000;
	while (!strstr(said, "cannot tell our own supervisor (NOTIFY_SOCKET) READY=1")) {
		ck_assert_msg(mono_ms() < end, "READY=1 not given up within 30 s; said: %s", said);
		skew += TETHER_NSEC_PER_SEC; /* every retry comes due */
		ck_assert_int_eq(tether_supervisor_step(sv, 5, &res), 1);
	}
	ck_assert_msg(strstr(said, "READY=1: Resource temporarily unavailable; gave up"), "said: %s", said);
	/* 120 tries at most, the first one before the count began */
	unsigned sends = tu_fault_calls();
	ck_assert_msg(sends >= 110 && sends <= 120, "%u sends for READY=1", sends);
	/* the retries are over: no more sends */
	for (int i = 0; i < 20; i++) {
		skew += TETHER_NSEC_PER_SEC;
		ck_assert_int_eq(tether_supervisor_step(sv, 5, &res), 1);
	}
	ck_assert_uint_eq(tu_fault_calls(), sends);
	/* STOPPING=1 the same, while the worker takes its time to stop */
	tether_supervisor_stop(sv);
	end = mono_ms() + 30000;
	while (!strstr(said, "cannot tell our own supervisor (NOTIFY_SOCKET) STOPPING=1")) {
		ck_assert_msg(mono_ms() < end, "STOPPING=1 not given up within 30 s; said: %s", said);
		skew += TETHER_NSEC_PER_SEC;
		ck_assert_int_eq(tether_supervisor_step(sv, 5, &res), 1);
	}
	ck_assert_msg(strstr(said, "STOPPING=1: Resource temporarily unavailable; gave up"), "said: %s", said);
	/* the stop timeout comes (on our clock): the worker is killed */
	while (tether_supervisor_step(sv, 5, &res) == 1) {
		ck_assert_msg(mono_ms() < end, "did not stop within 30 s");
		skew += TETHER_NSEC_PER_SEC;
	}
	ck_assert_int_eq(tether_result_exit_code(&res), 0);
	tu_fault_disarm();
	tether_supervisor_free(sv);
	close(up);
}
END_TEST
#endif

/* ---- reads that keep failing --------------------------------------------------------- */

#ifdef TETHER_FAULT_INJECTION
START_TEST(progress_events_that_cannot_be_read_are_given_up)
{
	/* the worker touches its progress file every 20 ms: the watch keeps
	 * having events, and our reads of them fail */
	char *argv[] = {TETHER_WORKER, "--progress", (char *)tu_path("progress"), "20ms", NULL};
	struct tether_config cfg = config(argv);
	cfg.watchdog = 60 * TETHER_NSEC_PER_SEC;
	cfg.progress_file = tu_path("progress");
	struct tether_supervisor *sv = start_on(&cfg, tether_clock_real(), true);
	tu_fault_arm("tether/sys/read", EIO, 1, 0, TU_FAULT_SELF);
	ck_assert_msg(step_until_said(sv, "cannot read progress-file events; the watchdog now counts only WATCHDOG=1",
				      15000),
		      "said: %s", said);
	tu_fault_disarm();
	/* supervision goes on */
	struct tether_result res;
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(tether_supervisor_step(sv, 10, &res), 1);
	stop(sv);
}
END_TEST

START_TEST(signals_that_cannot_be_read_end_supervision_with_71)
{
	struct tether_config cfg = config(worker_argv);
	struct tether_supervisor *sv = start_on(&cfg, tether_clock_real(), true);
	tu_fault_arm("tether/sys/read", EIO, 1, 0, TU_FAULT_SELF);
	/* a signal waits in the signalfd, and cannot be read */
	ck_assert_int_eq(raise(SIGUSR2), 0);
	struct tether_result res;
	int64_t end = mono_ms() + 15000;
	while (tether_supervisor_step(sv, 20, &res) == 1)
		ck_assert_msg(mono_ms() < end, "still running after 15 s of failed reads");
	tu_fault_disarm();
	ck_assert_int_eq(tether_result_exit_code(&res), 71);
	ck_assert_msg(strstr(res.message, "cannot read signals"), "message: %s", res.message);
	ck_assert_msg(strstr(res.message, strerror(EIO)), "message: %s", res.message);
	tether_supervisor_free(sv);
	/* its worker went with it (G2) */
	pid_t left[2];
	end = mono_ms() + 5000;
	int n;
	while ((n = tu_marked(left, 2)) > 0 && mono_ms() < end)
		tu_wait_gone(left[0], 1000);
	ck_assert_int_eq(n, 0);
}
END_TEST
#endif

/* ---- exec ----------------------------------------------------------------------------- */

START_TEST(an_exec_that_fails_after_a_first_run_is_said)
{
	const char *script = tu_path("w.sh");
	tu_write_file(script, "#!/bin/sh\nexit 3\n", 17, 0700);
	char *argv[] = {(char *)script, NULL};
	struct tether_config cfg = config(argv);
	cfg.policy.backoff_initial = 300 * TETHER_NSEC_PER_MSEC;
	cfg.policy.backoff_max = 300 * TETHER_NSEC_PER_MSEC;
	struct tether_supervisor *sv = start_on(&cfg, tether_clock_real(), false);
	ck_assert_msg(step_until_said(sv, "exited with status 3; restarting in", 10000), "said: %s", said);
	ck_assert_int_eq(unlink(script), 0);
	ck_assert_msg(step_until_said(sv, "instance 0: cannot execute", 10000), "said: %s", said);
	ck_assert_msg(strstr(said, strerror(ENOENT)), "said: %s", said);
	stop(sv);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("events");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, a_heartbeat_log_that_cannot_be_opened_is_retried);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_test(tc, our_supervisor_that_never_takes_ready_or_stopping_is_given_up);
#endif
	tcase_add_test(tc, an_exec_that_fails_after_a_first_run_is_said);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_test(tc, progress_events_that_cannot_be_read_are_given_up);
	tcase_add_test(tc, signals_that_cannot_be_read_end_supervision_with_71);
#endif
	tcase_set_timeout(tc, 90);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
