/* SPDX-License-Identifier: MIT */
/* test_stop.c — tether_stop (stop.c) where it cannot verify what it finds,
 * called in-process on pidfiles set up by hand (no supervisor of ours):
 *   - a lock holder that its record does not name: looked at again under a
 *     watch until the settle time, woken by a change, then UNVERIFIED and
 *     nothing signalled (a relative path: the watch is on ".");
 *   - the same when the watch cannot be made (inotify failing): at once;
 *   - a starting supervisor (lock held, no record) whose directory keeps
 *     changing: a bounded number of looks, then "kept changing";
 *   - a record removed as stale only while holding its lock.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "pidrecord.h"
#include "stop.h"
#include "testutil.h"

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A process holding path's lock (flock on PATH.lock) until killed. */
static const char *lock_path;
static int lock_main(void *arg)
{
	int *ready = arg;
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		return 2;
	char c = 'L';
	if (write(ready[1], &c, 1) != 1)
		return 3;
	for (;;)
		pause();
}

static pid_t hold_lock(const char *path)
{
	static char lp[512];
	snprintf(lp, sizeof lp, "%s.lock", path);
	lock_path = lp;
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = tu_fork(lock_main, p);
	close(p[1]);
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

/* A record of ours (the test process), which does not hold the lock. */
static void write_our_record(const char *path)
{
	static char *argv[] = {"tether", "run", NULL};
	struct tether_pidrecord rec;
	ck_assert_int_eq(tether_pidrecord_init_self(&rec, argv, tether_clock_real()), 0);
	struct tether_buf b;
	tether_buf_init(&b);
	tether_pidrecord_format(&rec, &b);
	tu_write_file(path, b.data, b.len, 0644);
	tether_buf_done(&b);
	tether_pidrecord_done(&rec);
}

/* Creates files in dir every period_ms, count times. */
struct toucher {
	const char *dir;
	int period_ms, count;
};
static int touch_main(void *arg)
{
	struct toucher *t = arg;
	char path[600];
	for (int i = 0; i < t->count; i++) {
		poll(NULL, 0, t->period_ms);
		snprintf(path, sizeof path, "%s/touch.%d", t->dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

START_TEST(a_holder_its_record_does_not_name_is_unverified_after_settling)
{
	ck_assert_int_eq(chdir(tu_dir), 0);
	pid_t holder = hold_lock("t.pid");
	write_our_record("t.pid");
	/* a change in the directory meanwhile: it looks again, and still
	 * finds the same */
	struct toucher t = {tu_dir, 200, 1};
	tu_fork(touch_main, &t);
	struct tether_stop_result res;
	int64_t t0 = mono_ms();
	ck_assert_int_eq(tether_stop("t.pid", 5 * TETHER_NSEC_PER_SEC, false, tether_clock_real(), &res), 0);
	int64_t took = mono_ms() - t0;
	ck_assert_int_eq(res.outcome, TETHER_STOP_UNVERIFIED);
	ck_assert_msg(strstr(res.why, "holds the lock"), "why: %s", res.why);
	/* the settle time (1 s), not the stop's timeout */
	ck_assert_msg(took >= 900 && took < 4000, "took %lld ms", (long long)took);
	ck_assert(tu_exists(tu_path("touch.0")));
	ck_assert(tu_alive(holder));
	ck_assert(tu_exists("t.pid"));
}
END_TEST

#ifdef TETHER_FAULT_INJECTION
START_TEST(without_a_watch_an_unverified_holder_is_said_at_once)
{
	const char *path = tu_path("t.pid");
	pid_t holder = hold_lock(path);
	write_our_record(path);
	static const char *const points[] = {"tether/sys/inotify_init", "tether/sys/inotify_add_watch"};
	for (size_t i = 0; i < 2; i++) {
		tu_fault_arm(points[i], EMFILE, 1, 0, TU_FAULT_SELF);
		struct tether_stop_result res;
		int64_t t0 = mono_ms();
		int r = tether_stop(path, 5 * TETHER_NSEC_PER_SEC, false, tether_clock_real(), &res);
		tu_fault_disarm();
		ck_assert_int_eq(r, 0);
		ck_assert_uint_ge(tu_fault_failed(), 1);
		ck_assert_int_eq(res.outcome, TETHER_STOP_UNVERIFIED);
		ck_assert_msg(mono_ms() - t0 < 900, "%s: waited %lld ms without a watch", points[i],
			      (long long)(mono_ms() - t0));
	}
	ck_assert(tu_alive(holder));
}
END_TEST
#endif

START_TEST(a_starting_supervisor_whose_directory_keeps_changing_is_looked_at_a_bounded_number_of_times)
{
	const char *path = tu_path("t.pid");
	pid_t holder = hold_lock(path); /* a lock and no record: starting */
	struct toucher t = {tu_dir, 5, 2000};
	pid_t toucher = tu_fork(touch_main, &t);
	struct tether_stop_result res;
	int64_t t0 = mono_ms();
	ck_assert_int_eq(tether_stop(path, 8 * TETHER_NSEC_PER_SEC, false, tether_clock_real(), &res), 0);
	ck_assert_int_eq(res.outcome, TETHER_STOP_UNVERIFIED);
	ck_assert_msg(strstr(res.why, "kept changing while we looked"), "why: %s", res.why);
	ck_assert_msg(mono_ms() - t0 < 7000, "took %lld ms", (long long)(mono_ms() - t0));
	ck_assert(tu_alive(holder));
	kill(toucher, SIGKILL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stop");
	TCase *tc = tcase_create("stop");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, a_holder_its_record_does_not_name_is_unverified_after_settling);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_test(tc, without_a_watch_an_unverified_holder_is_said_at_once);
#endif
	tcase_add_test(tc, a_starting_supervisor_whose_directory_keeps_changing_is_looked_at_a_bounded_number_of_times);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
