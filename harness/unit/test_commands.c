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
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "control.h"
#include "json.h"
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

START_TEST(start_with_a_log_file_it_cannot_open_is_64)
{
	char log[600];
	snprintf(log, sizeof log, "%s/no/such/dir/log", tu_dir);
	char want[700];
	snprintf(want, sizeof want, "cannot open log file %s: No such file or directory", log);
	/* 64 naming it: 73 is the pidfile's code (SPEC §2) */
	expect(64, want,
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

#ifdef TETHER_FAULT_INJECTION
/* Like expect, with extra "K=V" strings in the environment (a fault). */
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
#endif

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

/* The supervisor's answer to request as JSON text (its "error" alone when
 * it has one). */
static char *ask(const char *path, const char *request)
{
	struct tether_json *j = NULL;
	int r = tether_control_query(path, request, tether_clock_real(), 10 * TETHER_NSEC_PER_SEC, &j);
	ck_assert_msg(r == 0, "%s: %s", request, strerror(-r));
	const struct tether_json *err = tether_json_get(j, "error");
	struct tether_buf b;
	tether_buf_init(&b);
	if (err && err->type == TETHER_JSON_STRING)
		tether_buf_puts(&b, err->string);
	else
		tether_json_render(j, &b);
	char *text = strdup(b.data);
	tether_buf_done(&b);
	tether_json_free(j);
	return text;
}

static void expect_answer(const char *path, const char *request, const char *want)
{
	char *got = ask(path, request);
	ck_assert_msg(strstr(got, want), "%s: answered \"%s\", want \"%s\"", request, got, want);
	free(got);
}

struct restart_arg {
	const char *path;
};

static int restart_in_child(void *arg)
{
	const struct restart_arg *a = arg;
	struct tether_json *j = NULL;
	int r = tether_control_query(a->path, "restart all 10000", tether_clock_real(), 20 * TETHER_NSEC_PER_SEC, &j);
	int ok = r == 0 && !tether_json_get(j, "error");
	tether_json_free(j);
	return ok ? 0 : 1;
}

START_TEST(the_control_socket_refuses_what_it_cannot_do)
{
	/* SPEC §3: requests a running supervisor refuses, each with the
	 * reason: malformed ones, an unknown instance, one it does not know,
	 * and a restart while another is under way */
	const char *path = pidfile_path();
	pid_t t = pt_tether_bg(NULL, NULL, "run", "--pidfile", path, "--instances", "2", "--stop-timeout", "300ms",
			       "--", TETHER_WORKER, "--ignore-term", "--ready", NULL);
	ck_assert(pt_wait_file_present(path, 10000));
	expect_answer(path, "nonsense", "unknown request");
	expect_answer(path, "restart all", "malformed restart request");
	expect_answer(path, "restart all 0", "malformed restart request");
	expect_answer(path, "restart 7 100", "no instance 7 (instances are 0 to 1)");
	expect_answer(path, "signal 1", "malformed signal request");
	expect_answer(path, "signal 65 all", "malformed signal request");
	expect_answer(path, "signal 1 2", "no instance 2 (instances are 0 to 1)");
	/* a rolling restart of workers that ignore SIGTERM takes a stop
	 * timeout each: a second request meanwhile is refused */
	struct restart_arg a = {.path = path};
	pid_t first = tu_fork(restart_in_child, &a);
	pt_track(first);
	/* once instance 0 is being restarted (its state asked, not slept on) */
	bool restarting = false;
	for (int tries = 0; tries < 1000 && !restarting; tries++) {
		struct tether_json *st = NULL;
		ck_assert_int_eq(tether_control_query(path, "status", tether_clock_real(), 10 * TETHER_NSEC_PER_SEC, &st), 0);
		const struct tether_json *state = tether_json_path(st, "instances.0.state");
		restarting = state && state->type == TETHER_JSON_STRING && strcmp(state->string, "running") != 0;
		tether_json_free(st);
	}
	ck_assert_msg(restarting, "instance 0 never left running");
	expect_answer(path, "restart 1 100", "a restart is already in progress");
	ck_assert_int_eq(tu_wait(first, 20000), 0);
	ck_assert_int_eq(kill(t, SIGTERM), 0);
	int st = tu_wait(t, 20000);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "tether run: status %#x", st);
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
	tcase_add_test(tc, start_with_a_log_file_it_cannot_open_is_64);
	tcase_add_test(tc, start_not_ready_in_time_stops_the_supervisor);
	tcase_add_test(tc, a_holder_without_a_control_socket_is_not_signalled);
	tcase_add_test(tc, a_lock_holder_without_a_record_is_still_starting);
	tcase_add_test(tc, a_record_the_lock_holder_disowns_is_not_verified);
	tcase_add_test(tc, a_worker_that_cannot_enter_its_directory_is_127);
	tcase_add_test(tc, the_control_socket_refuses_what_it_cannot_do);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pt_fini();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
