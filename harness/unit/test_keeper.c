/* SPDX-License-Identifier: MIT */
/* test_keeper.c — the supervisor keeps its pidfile (keeper.c, SPEC §8 G1)
 * when putting it back is not possible at once, with the supervisor run
 * in-process (each test's forked process):
 *   - a directory that cannot be made again (mkdir failing): one warning,
 *     retries with backoff, and the files back once it can be made;
 *   - a new lock held by someone else (a newcomer that has not let go):
 *     retried, and restored once it is free;
 *   - a timer that cannot be read: given up after a bounded number of
 *     wakeups (G9: no spin), and the pidfile still kept, on the
 *     supervisor's own clock.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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
static char said[16384]; /* every message, one a line */

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

static char *worker_argv[] = {TETHER_WORKER, NULL};

static struct tether_supervisor *start(const char *pidfile)
{
	static struct tether_config cfg;
	tether_config_defaults(&cfg);
	cfg.pidfile = pidfile;
	cfg.argv = worker_argv;
	cfg.instances = 1;
	cfg.min_disk = 0;
	cfg.min_mem = 0;
	static struct tether_hooks hooks = {.ready = on_ready, .message = on_message};
	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	all_ready = false;
	said[0] = '\0';
	ck_assert_int_eq(tether_supervisor_new(&cfg, tether_clock_real(), &hooks, &sv, &res), 0);
	ck_assert_int_eq(tether_supervisor_start(sv, &res), 0);
	int64_t end = mono_ms() + 15000;
	while (!all_ready) {
		ck_assert_msg(mono_ms() < end, "not ready within 15 s");
		ck_assert_msg(tether_supervisor_step(sv, 20, &res) == 1, "the supervisor ended: %s", res.message);
	}
	return sv;
}

/* Steps sv until text was said, for at most ms. */
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

/* (only the fault-injection tests count) */
static __attribute__((unused)) unsigned count(const char *text)
{
	unsigned n = 0;
	for (const char *p = said; (p = strstr(p, text)); p += strlen(text))
		n++;
	return n;
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

static void rm_state(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

#ifdef TETHER_FAULT_INJECTION
START_TEST(a_directory_that_cannot_be_made_is_retried_then_restored)
{
	const char *dir = tu_path("state");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	char pidfile[300];
	snprintf(pidfile, sizeof pidfile, "%s/t.pid", dir);
	struct tether_supervisor *sv = start(pidfile);
	/* the directory goes, and cannot be made again for now */
	tu_fault_arm("tether/sys/mkdir", EIO, 1, 0, TU_FAULT_SELF);
	rm_state(dir);
	ck_assert_msg(step_until_said(sv, "cannot restore the pidfile", 5000), "said: %s", said);
	ck_assert_msg(strstr(said, "was removed or moved: restoring it"), "said: %s", said);
	ck_assert_msg(strstr(said, strerror(EIO)), "said: %s", said);
	/* retried with backoff (1 s, then 2 s): no second warning, and few
	 * tries, meanwhile */
	unsigned tries = tu_fault_failed();
	int64_t t0 = mono_ms();
	struct tether_result res;
	while (mono_ms() - t0 < 2500)
		ck_assert_int_eq(tether_supervisor_step(sv, 20, &res), 1);
	ck_assert_uint_eq(count("cannot restore the pidfile"), 1);
	ck_assert_msg(tu_fault_failed() - tries >= 1 && tu_fault_failed() - tries <= 3, "%u tries in 2.5 s",
		      tu_fault_failed() - tries);
	ck_assert(!tu_exists(dir));
	/* it can be made again: restored at the next retry */
	tu_fault_disarm();
	ck_assert_msg(step_until_said(sv, "restored the pidfile", 5000), "said: %s", said);
	ck_assert(tu_exists(tu_path("state/t.pid")));
	ck_assert(tu_exists(tu_path("state/t.pid.lock")));
	stop(sv);
	ck_assert(!tu_exists(tu_path("state/t.pid")));
}
END_TEST
#endif

START_TEST(a_new_lock_held_by_another_is_waited_for)
{
	const char *dir = tu_path("state");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	char pidfile[300];
	snprintf(pidfile, sizeof pidfile, "%s/t.pid", dir);
	struct tether_supervisor *sv = start(pidfile);
	/* the directory goes; a newcomer makes it again and locks a new lock
	 * file, and has not let go yet */
	rm_state(dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	int fd = open(tu_path("state/t.pid.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	ck_assert(step_until_said(sv, "was removed or moved: restoring it", 5000));
	struct tether_result res;
	int64_t t0 = mono_ms();
	while (mono_ms() - t0 < 300)
		ck_assert_int_eq(tether_supervisor_step(sv, 20, &res), 1);
	ck_assert(!strstr(said, "restored the pidfile"));
	ck_assert(!strstr(said, "cannot restore"));
	ck_assert(!tu_exists(tu_path("state/t.pid")));
	/* it lets go: ours comes back */
	ck_assert_int_eq(close(fd), 0);
	ck_assert_msg(step_until_said(sv, "restored the pidfile", 5000), "said: %s", said);
	ck_assert(tu_exists(tu_path("state/t.pid")));
	stop(sv);
}
END_TEST

#ifdef TETHER_FAULT_INJECTION
START_TEST(a_timer_that_cannot_be_read_is_given_up_and_the_pidfile_still_kept)
{
	const char *dir = tu_path("state");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	char pidfile[300];
	snprintf(pidfile, sizeof pidfile, "%s/t.pid", dir);
	struct tether_supervisor *sv = start(pidfile);
	/* our reads fail (the guardians' and workers' do not): the timer, due
	 * every second, stays readable and wakes the loop each time */
	tu_fault_arm("tether/sys/read", EIO, 1, 0, TU_FAULT_SELF);
	ck_assert_msg(step_until_said(sv, "cannot read the pidfile's timer", 10000), "said: %s", said);
	tu_fault_disarm();
	unsigned reads = tu_fault_calls();
	ck_assert_msg(reads >= 100 && reads < 1000, "%u reads", reads);
	/* no timer: the keeper looks on the supervisor's clock, and restores */
	rm_state(dir);
	ck_assert_msg(step_until_said(sv, "restored the pidfile", 5000), "said: %s", said);
	ck_assert(tu_exists(tu_path("state/t.pid")));
	stop(sv);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("keeper");
	TCase *tc = tcase_create("keeper");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, a_new_lock_held_by_another_is_waited_for);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_test(tc, a_directory_that_cannot_be_made_is_retried_then_restored);
	tcase_add_test(tc, a_timer_that_cannot_be_read_is_given_up_and_the_pidfile_still_kept);
#endif
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
