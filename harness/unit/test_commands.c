/* SPDX-License-Identifier: MIT */
/* test_commands.c — how `tether start | signal | restart | status | stop`
 * fail, run as the real binary (SPEC §2, §3): what each says and the exit
 * code, and that a command that cannot verify or reach a supervisor signals
 * nothing. test_cli.c has the commands' success paths and G4.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proctest.h"
#include "testutil.h"

#define RUN_MS 20000 /* no command here may take that long: a timeout is a hang */

static void assert_exited(const struct tu_result *r, const char *what)
{
	ck_assert_msg(r->code != -1, "%s hung (killed after %lld ms); stderr: %s", what, (long long)r->elapsed_ms,
		      r->err);
	ck_assert_msg(r->code < 128, "%s crashed: %d; stderr: %s", what, r->code, r->err);
}

/* Runs tether with argv, asserts its exit code and that stderr holds want. */
static void expect(int code, const char *want, char *const argv[])
{
	char *full[16] = {TETHER_BIN};
	size_t n = 1;
	for (; argv[n - 1] && n < 15; n++)
		full[n] = argv[n - 1];
	full[n] = NULL;
	struct tu_result r = tu_run(full, NULL, RUN_MS);
	assert_exited(&r, argv[0]);
	ck_assert_msg(r.code == code, "tether %s ... exited %d, want %d; stderr: %s", argv[0], r.code, code, r.err);
	ck_assert_msg(strstr(r.err, want), "tether %s ...: stderr lacks \"%s\": %s", argv[0], want, r.err);
	tu_result_free(&r);
}

static const char *pidfile_path(void)
{
	static char buf[512];
	snprintf(buf, sizeof buf, "%s/tether.pid", tu_dir);
	return buf;
}

static const char *lock_of(const char *path)
{
	static char buf[600];
	snprintf(buf, sizeof buf, "%s.lock", path);
	return buf;
}

static void write_record(const char *path, const struct pt_victim *v)
{
	char boot[64] = "";
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(boot, sizeof boot, f));
	fclose(f);
	boot[strcspn(boot, "\n")] = '\0';
	char buf[512];
	int n = snprintf(buf, sizeof buf,
			 "{\"pid\":%d,\"start_time\":%llu,\"boot_id\":\"%s\",\"started_at\":\"2026-11-25T17:00:00Z\","
			 "\"argv\":[\"tether\",\"run\",\"--\",\"sleep\"],\"version\":\"%s\"}\n",
			 (int)v->pid, (unsigned long long)v->start_time, boot, PACKAGE_VERSION);
	tu_write_file(path, buf, (size_t)n, 0644);
}

START_TEST(realtime_signals_by_name)
{
	/* RTMIN+N and RTMAX-N within the real-time range are signals (the
	 * command goes on to find no supervisor); beyond it, or malformed,
	 * a usage error that names the value */
	const char *path = pidfile_path();
	static const char *const good[] = {"RTMAX", "SIGRTMAX", "RTMAX-1", "RTMIN+2", "RTMIN"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		expect(1, "not running", (char *[]){"signal", "--pidfile", (char *)path, (char *)good[i], NULL});
	static const char *const bad[] = {"RTMAX-99", "RTMIN+99", "RTMAXx", "RTMAX+1", "RTMIN-1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char want[64];
		snprintf(want, sizeof want, "unknown signal '%s'", bad[i]);
		expect(64, want, (char *[]){"signal", "--pidfile", (char *)path, (char *)bad[i], NULL});
	}
}
END_TEST

START_TEST(a_pidfile_that_cannot_be_read_is_named)
{
	/* a path under a regular file: every command names the path and the
	 * error, and status says it cannot tell (4) */
	tu_write_file(tu_path("file"), "x", 1, 0644);
	char path[600];
	snprintf(path, sizeof path, "%s/t.pid", tu_path("file"));
	char want[700];
	snprintf(want, sizeof want, "%s: Not a directory", path);
	expect(1, want, (char *[]){"signal", "--pidfile", path, "HUP", NULL});
	expect(1, want, (char *[]){"restart", "--pidfile", path, NULL});
	expect(1, want, (char *[]){"stop", "--pidfile", path, NULL});
	expect(1, want, (char *[]){"kill", "--pidfile", path, NULL});
	expect(4, "Not a directory", (char *[]){"status", "--pidfile", path, NULL});
}
END_TEST

START_TEST(start_with_a_log_file_it_cannot_open_is_73)
{
	char log[600];
	snprintf(log, sizeof log, "%s/no/such/dir/log", tu_dir);
	char want[700];
	snprintf(want, sizeof want, "cannot open log file %s: No such file or directory", log);
	expect(73, want,
	       (char *[]){"start", "--pidfile", (char *)pidfile_path(), "--log-file", log, "--", "true", NULL});
	ck_assert(!tu_exists(pidfile_path()));
}
END_TEST

START_TEST(start_not_ready_in_time_stops_the_supervisor)
{
	/* SPEC §2: not ready within --start-timeout: exit 1, and the start
	 * leaves nothing running and no pidfile behind */
	const char *path = pidfile_path();
	expect(1, "not ready within 300ms: stopping the supervisor",
	       (char *[]){"start", "--pidfile", (char *)path, "--notify-ready", "--start-timeout", "300ms",
			  "--stop-timeout", "2s", "--", "sleep", "30", NULL});
	ck_assert_msg(!tu_exists(path), "%s remains", path);
	ck_assert_msg(!tu_exists(lock_of(path)), "%s remains", lock_of(path));
	pid_t left[4];
	ck_assert_int_eq(tu_marked(left, 4), 0);
}
END_TEST

START_TEST(a_holder_without_a_control_socket_is_not_signalled)
{
	/* a verified lock holder that answers no request (it is not a
	 * supervisor, or it is going away): signal and restart say it has gone,
	 * and it gets no signal */
	const char *path = pidfile_path();
	struct pt_victim v;
	pt_victim_start(&v, tu_path("victim"), lock_of(path), 0, 0);
	write_record(path, &v);
	char want[700];
	snprintf(want, sizeof want, "not running (%s): the supervisor has gone", path);
	expect(1, want, (char *[]){"signal", "--pidfile", (char *)path, "HUP", NULL});
	expect(1, want, (char *[]){"restart", "--pidfile", (char *)path, NULL});
	pt_assert_untouched(&v);
}
END_TEST

START_TEST(a_lock_holder_without_a_record_is_still_starting)
{
	const char *path = pidfile_path();
	struct pt_victim v;
	pt_victim_start(&v, tu_path("victim"), lock_of(path), 0, 0);
	char want[700];
	snprintf(want, sizeof want, "the supervisor of %s is still starting (pid %d); try again once it is ready", path,
		 (int)v.pid);
	expect(1, want, (char *[]){"signal", "--pidfile", (char *)path, "TERM", NULL});
	expect(1, want, (char *[]){"restart", "--pidfile", (char *)path, NULL});
	pt_assert_untouched(&v);
}
END_TEST

START_TEST(a_record_the_lock_holder_disowns_is_not_verified)
{
	/* the record names a live process truly, but another holds the lock */
	const char *path = pidfile_path();
	struct pt_victim holder, named;
	pt_victim_start(&holder, tu_path("holder"), lock_of(path), 0, 0);
	pt_victim_start(&named, tu_path("named"), NULL, 0, 0);
	write_record(path, &named);
	expect(1, "cannot verify the supervisor of", (char *[]){"signal", "--pidfile", (char *)path, "TERM", NULL});
	expect(1, "nothing was signalled", (char *[]){"restart", "--pidfile", (char *)path, NULL});
	pt_assert_untouched(&holder);
	pt_assert_untouched(&named);
}
END_TEST

/* Like expect, with extra "K=V" strings in the environment. */
static void expect_env(int code, const char *want, char *const env[], char *const argv[])
{
	char *full[16] = {TETHER_BIN};
	size_t n = 1;
	for (; argv[n - 1] && n < 15; n++)
		full[n] = argv[n - 1];
	full[n] = NULL;
	struct tu_result r = tu_run(full, env, RUN_MS);
	assert_exited(&r, argv[0]);
	ck_assert_msg(r.code == code, "tether %s ... exited %d, want %d; stderr: %s", argv[0], r.code, code, r.err);
	ck_assert_msg(strstr(r.err, want), "tether %s ...: stderr lacks \"%s\": %s", argv[0], want, r.err);
	tu_result_free(&r);
}

START_TEST(a_worker_that_cannot_enter_its_directory_is_127)
{
	/* SPEC §1: the directory is entered as the user, after the switch, so
	 * a directory the user may not enter is the worker's failure to start
	 * (127), named with the user */
	const char *dir = tu_path("private");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	char want[700];
	if (getuid() == 0) {
		snprintf(want, sizeof want, "cannot enter --chdir %s as nobody: Permission denied", dir);
		expect(127, want,
		       (char *[]){"run", "--pidfile", (char *)pidfile_path(), "--user", "nobody", "--chdir", (char *)dir,
				  "--", "true", NULL});
	}
#ifdef TETHER_FAULT_INJECTION
	/* the same without a user: the chdir fails in the child (injected) */
	snprintf(want, sizeof want, "cannot enter --chdir %s: Permission denied", dir);
	expect_env(127, want, (char *[]){"TETHER_FAULT=tether/sys/chdir:13:1:from", NULL},
		   (char *[]){"run", "--pidfile", (char *)pidfile_path(), "--chdir", (char *)dir, "--", "true", NULL});
#endif
	ck_assert(!tu_exists(pidfile_path()));
}
END_TEST

int main(void)
{
	pt_init();
	Suite *s = suite_create("commands");
	TCase *tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, realtime_signals_by_name);
	tcase_add_test(tc, a_pidfile_that_cannot_be_read_is_named);
	tcase_add_test(tc, start_with_a_log_file_it_cannot_open_is_73);
	tcase_add_test(tc, start_not_ready_in_time_stops_the_supervisor);
	tcase_add_test(tc, a_holder_without_a_control_socket_is_not_signalled);
	tcase_add_test(tc, a_lock_holder_without_a_record_is_still_starting);
	tcase_add_test(tc, a_record_the_lock_holder_disowns_is_not_verified);
	tcase_add_test(tc, a_worker_that_cannot_enter_its_directory_is_127);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pt_fini();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
