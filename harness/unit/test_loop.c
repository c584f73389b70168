/* SPDX-License-Identifier: MIT */
/* test_loop.c — the supervisor's event loop (src/loop.c) under calls that
 * keep failing (SPEC G9): it neither spins nor ignores SIGTERM, it lets a
 * guardian whose channel it cannot read go, retries a failed reap on a timer
 * and then ends every tree with 71, and says why once, with the errno that
 * the failing call gave.
 *
 * Each test runs libtether's supervisor in a forked child (it blocks signals,
 * becomes a subreaper and reaps every child of its process), arms a fault
 * there — from the start, or from the moment every instance is ready, so
 * that the guardians, forked before, do not inherit it — SIGTERMs it, and
 * checks how long it took to end, how often the failing call was made, what
 * it said, and that no process of its tree remains. Both isolations.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "supervisor.h"
#include "testutil.h"

#ifdef TETHER_FAULT_INJECTION

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the supervising child saw, in shared memory. */
struct seen {
	char messages[8192]; /* every hook message, one per line */
	char result[400];
	int64_t term_to_end_ms; /* from its SIGTERM to its end */
	bool ready;
	pid_t guardian;         /* kill_guardian: its pid, found at ready */
};
static struct seen *seen;

struct case_ {
	enum tether_isolation iso;
	const char *point;
	int err;
	bool at_ready;     /* arm once every instance is ready (else before the start) */
	int term_after_ms; /* SIGTERM this long after the start, or at ready + this */
	bool kill_guardian; /* SIGKILL the instance's guardian once the fault is armed */
	const char *worker_arg; /* one argument for the worker, or NULL */
};
static const struct case_ *cur;

static void on_message(void *ud, enum tether_message_level level, const char *text)
{
	(void)ud;
	(void)level;
	size_t len = strlen(seen->messages);
	snprintf(seen->messages + len, sizeof seen->messages - len, "%s\n", text);
}

/* Our only child at ready: the instance's guardian (read before the fault
 * is armed, which may be on open or read). */
static pid_t only_child(void)
{
	char path[64], buf[64] = "";
	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	return (pid_t)atoi(buf);
}

static void on_ready(void *ud)
{
	(void)ud;
	if (cur->kill_guardian && !seen->ready)
		seen->guardian = only_child();
	seen->ready = true;
	if (cur->at_ready)
		tu_fault_arm(cur->point, cur->err, 1, 0, TU_FAULT_SELF);
}

static int supervise(void *arg)
{
	(void)arg;
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	char *argv[] = {TETHER_WORKER, cur->worker_arg ? (char *)cur->worker_arg : NULL, cur->worker_arg ? "1" : NULL,
			NULL};
	cfg.pidfile = tu_path("loop.pid");
	cfg.argv = argv;
	cfg.min_disk = 0;
	cfg.min_mem = 0;
	cfg.isolation = cur->iso;
	struct tether_hooks hooks = {.message = on_message, .ready = on_ready};
	struct tether_result res = {0};
	struct tether_supervisor *sv = NULL;
	if (!cur->at_ready)
		tu_fault_arm(cur->point, cur->err, 1, 0, TU_FAULT_SELF);
	if (tether_supervisor_new(&cfg, tether_clock_real(), &hooks, &sv, &res) < 0)
		return 100;
	int64_t t0 = mono_ms(), term_at = INT64_MAX, termed = 0;
	if (tether_supervisor_start(sv, &res) == 0) {
		/* after the SIGTERM, rounds wait for events and timers only,
		 * as in tether run */
		bool killed = false;
		while (tether_supervisor_step(sv, termed ? -1 : 20, &res)) {
			int64_t now = mono_ms();
			if (cur->kill_guardian && seen->guardian > 0 && !killed) {
				killed = true;
				kill(seen->guardian, SIGKILL);
			}
			if (term_at == INT64_MAX && (!cur->at_ready || seen->ready))
				term_at = (cur->at_ready ? now : t0) + cur->term_after_ms;
			if (!termed && now >= term_at) {
				termed = now;
				kill(getpid(), SIGTERM); /* blocked: read through the signalfd */
			}
			/* a loop that ignores its SIGTERM is ended by the parent */
		}
	}
	seen->term_to_end_ms = termed ? mono_ms() - termed : -1;
	snprintf(seen->result, sizeof seen->result, "%s", res.message);
	int code = tether_result_exit_code(&res);
	tether_supervisor_free(sv);
	return code;
}

static void setup(void)
{
	tu_setup();
	seen = mmap(NULL, sizeof *seen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(seen, MAP_FAILED);
	memset(seen, 0, sizeof *seen);
}

/* Runs c; returns the supervisor's exit code. Checks that it ended within
 * max_ms of its SIGTERM and left no process of its tree (G2). */
static int run_case(const struct case_ *c, int max_ms)
{
	cur = c;
	/* armed again in the child (before its start, or at ready), for the
	 * supervisor's own calls only: the mapping is made here, for us to
	 * read the counts */
	tu_fault_arm(c->point, c->err, UINT_MAX, 0, TU_FAULT_SELF);
	pid_t pid = tu_fork(supervise, NULL);
	int st = tu_wait(pid, 40000);
	tu_fault_disarm();
	ck_assert_msg(st != -1, "the supervisor did not end (messages: %s)", seen->messages);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) < 100, "the supervisor's child: status %d (messages: %s)", st,
		      seen->messages);
	ck_assert_msg(seen->term_to_end_ms >= 0, "never SIGTERMed (ready: %d; messages: %s)", seen->ready,
		      seen->messages);
	ck_assert_msg(seen->term_to_end_ms <= max_ms, "%s: ended %lld ms after its SIGTERM (at most %d); messages: %s",
		      c->point, (long long)seen->term_to_end_ms, max_ms, seen->messages);
	/* every process of its tree is gone within 2 s (G2) */
	pid_t left[16];
	int64_t deadline = mono_ms() + 2000;
	int n;
	while ((n = tu_marked(left, 16)) > 0 && mono_ms() < deadline)
		tu_wait_gone(left[0], (int)(deadline - mono_ms()));
	ck_assert_msg(n == 0, "%d process(es) of its tree left, pid %d first", n, n ? (int)left[0] : 0);
	return WEXITSTATUS(st);
}

static enum tether_isolation iso_of(int i)
{
	return i == 0 ? TETHER_ISOLATION_SUBREAPER : TETHER_ISOLATION_PIDNS;
}

/* ---- A: a guardian's channel that poll reports readable but no receive reads ---- */

START_TEST(unreadable_guardian_channel_is_let_go_after_readiness)
{
	/* Its TREE_EMPTY cannot be read: the stop waited for it until it was
	 * abandoned 10 s later, waking at once all along (millions of
	 * recvmsg). */
	struct case_ c = {.iso = iso_of(_i), .point = "tether/sys/recvmsg", .err = EAGAIN, .at_ready = true,
			  .term_after_ms = 100};
	run_case(&c, 3000);
	ck_assert_msg(strstr(seen->messages, "cannot read its guardian's channel"), "messages: %s", seen->messages);
	/* a hundred fruitless wakeups, each up to a batch's receives */
	ck_assert_msg(tu_fault_calls() <= 300, "recvmsg called %u times", tu_fault_calls());
}
END_TEST

START_TEST(unreadable_guardian_channel_from_the_start)
{
	/* Nothing the guardian says is ever read, not even its exec: each
	 * guardian is let go after a bounded number of wakeups, the restart
	 * policy applies (backoff), and the SIGTERM is honoured. */
	struct case_ c = {.iso = iso_of(_i), .point = "tether/sys/recvmsg", .err = EAGAIN, .term_after_ms = 300};
	run_case(&c, 3000);
	ck_assert_msg(strstr(seen->messages, "cannot read its guardian's channel"), "messages: %s", seen->messages);
	/* the default backoff (1 s) allows one guardian, two on a slow start */
	ck_assert_msg(tu_fault_calls() <= 700, "recvmsg called %u times", tu_fault_calls());
}
END_TEST

/* ---- G: a guardian the loop cannot reap ----------------------------------------------- */

START_TEST(unreapable_guardian_ends_with_71_at_once)
{
	/* The stop completes (TREE_EMPTY), but the guardian that exits then
	 * cannot be reaped: the reap is retried on a timer a few times, then
	 * the loop gives up with 71 — not 10 s later. */
	struct case_ c = {.iso = iso_of(_i), .point = "tether/sys/waitid", .err = EINVAL, .at_ready = true,
			  .term_after_ms = 100};
	ck_assert_int_eq(run_case(&c, 3000), 71);
	ck_assert_msg(strstr(seen->result, "cannot reap child processes"), "result: %s", seen->result);
	ck_assert_msg(tu_fault_calls() <= 40, "waitid called %u times", tu_fault_calls());
	/* I: the reason is the result's, said once: not also as a message (the
	 * program prints both, and the user read it twice, or three times) */
	ck_assert_msg(!strstr(seen->messages, "cannot reap child processes"), "said as a message too: %s",
		      seen->messages);
}
END_TEST

/* ---- J: adopted orphans that cannot be listed ----------------------------------------- */

START_TEST(unlistable_adopted_orphans_end_with_71)
{
	/* The guardian is SIGKILLed (subreaper isolation: what it leaves
	 * comes to us) while /proc cannot be opened: the sweep that would
	 * kill the adopted processes cannot list them. It is made again on a
	 * timer until it gives up, or the stop ends first: either way every
	 * tree is ended and the loop exits 71 saying why — not 0 over
	 * processes nobody ends. */
	struct case_ c = {.iso = TETHER_ISOLATION_SUBREAPER, .point = "tether/sys/open", .err = EMFILE, .at_ready = true,
			  .term_after_ms = 100, .kill_guardian = true};
	ck_assert_int_eq(run_case(&c, 3000), 71);
	ck_assert_msg(seen->guardian > 0, "no guardian found at ready");
	ck_assert_msg(strstr(seen->result, "cannot list the processes adopted from a lost guardian: Too many open files"),
		      "result: %s; messages: %s", seen->result, seen->messages);
}
END_TEST

/* ---- L: what a lost guardian left, when reaping fails ---------------------------------- */

START_TEST(a_lost_guardians_orphans_are_killed_when_reaping_fails)
{
	/* The guardian is SIGKILLed (subreaper isolation): its worker dies of
	 * its parent-death signal, the worker's child comes to us. waitid
	 * fails from then on: nothing is reaped, so no sweep follows a death.
	 * The loop gives up with 71 — and kills what it adopted, level by
	 * level, before it leaves: nothing of the tree outlives it. */
	struct case_ c = {.iso = TETHER_ISOLATION_SUBREAPER, .point = "tether/sys/waitid", .err = EINTR, .at_ready = true,
			  .term_after_ms = 0, .kill_guardian = true, .worker_arg = "--children"};
	ck_assert_int_eq(run_case(&c, 3000), 71);
	ck_assert_msg(seen->guardian > 0, "no guardian found at ready");
	ck_assert_msg(strstr(seen->result, "cannot reap child processes"), "result: %s", seen->result);
}
END_TEST

/* ---- K: a previous run's processes, looked for once /proc answers again -------------- */

static pid_t leftover;

/* The one failing call of the startup sweep tests: the scan of /proc (its
 * first getdents), or the read of the previous run's record (the second
 * fstat: the first checks the lock it took). */
static const struct {
	const char *point;
	unsigned k;
} sweep_faults[] = {{"tether/sys/getdents", 1}, {"tether/sys/fstat", 2}};
static int sweep_fault;

/* A supervisor on loop.pid with sweep_faults[sweep_fault] failing once,
 * SIGTERMed as soon as it started. */
static int supervise_after_a_previous_run(void *arg)
{
	(void)arg;
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	char *argv[] = {TETHER_WORKER, NULL};
	cfg.pidfile = tu_path("loop.pid");
	cfg.argv = argv;
	cfg.min_disk = 0;
	cfg.min_mem = 0;
	cfg.isolation = TETHER_ISOLATION_SUBREAPER;
	struct tether_hooks hooks = {.message = on_message};
	struct tether_result res = {0};
	struct tether_supervisor *sv = NULL;
	tu_fault_arm(sweep_faults[sweep_fault].point, EIO, sweep_faults[sweep_fault].k, sweep_faults[sweep_fault].k,
		     TU_FAULT_SELF);
	if (tether_supervisor_new(&cfg, tether_clock_real(), &hooks, &sv, &res) < 0)
		return 100;
	if (tether_supervisor_start(sv, &res) == 0) {
		kill(getpid(), SIGTERM);
		while (tether_supervisor_step(sv, -1, &res))
			;
	}
	snprintf(seen->result, sizeof seen->result, "%s", res.message);
	int code = tether_result_exit_code(&res);
	tether_supervisor_free(sv);
	return code;
}

START_TEST(a_failed_scan_for_a_previous_runs_processes_is_made_again)
{
	/* A SIGKILLed run leaves its record and lock file, and a process of
	 * its scope (a setsid'd grandchild that escaped to init). The next
	 * run's scan of /proc for it, or its read of the record, fails once:
	 * it is made again, and the process is killed — one failed call must
	 * not let it live on. */
	sweep_fault = _i;
	pid_t holder = tu_start_holder(tu_path("loop.pid"), false, NULL, NULL);
	ck_assert_int_gt(holder, 0);
	kill(holder, SIGKILL);
	ck_assert(tu_wait_gone(holder, 5000));
	struct stat lst;
	ck_assert_int_eq(stat(tu_path("loop.pid.lock"), &lst), 0);
	char *boot = tu_read_file("/proc/sys/kernel/random/boot_id", NULL);
	ck_assert_ptr_nonnull(boot);
	boot[strcspn(boot, "\n")] = '\0';
	char scope[160];
	snprintf(scope, sizeof scope, "TETHER_SCOPE=%s/%llx:%llx", boot, (unsigned long long)lst.st_dev,
		 (unsigned long long)lst.st_ino);
	free(boot);
	/* its exec closes the pipe's write end (O_CLOEXEC): from then on its
	 * environment is the scope, not ours */
	int execd[2];
	ck_assert_int_eq(pipe2(execd, O_CLOEXEC), 0);
	leftover = fork();
	ck_assert_int_ge(leftover, 0);
	if (leftover == 0) {
		char *av[] = {"sleep", "100", NULL}, *ev[] = {scope, NULL};
		execve("/bin/sleep", av, ev);
		_exit(127);
	}
	close(execd[1]);
	char b;
	ck_assert_int_eq(read(execd[0], &b, 1), 0);
	close(execd[0]);
	/* the mapping is made here, for us to read the count; the child arms
	 * it again for itself */
	tu_fault_arm(sweep_faults[_i].point, EIO, sweep_faults[_i].k, sweep_faults[_i].k, TU_FAULT_SELF);
	pid_t pid = tu_fork(supervise_after_a_previous_run, NULL);
	int st = tu_wait(pid, 40000);
	tu_fault_disarm();
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) < 100, "status %d (messages: %s)", st,
		      seen->messages);
	ck_assert_msg(tu_fault_failed() == 1, "%s failed %u times", sweep_faults[_i].point, tu_fault_failed());
	bool gone = tu_wait_gone(leftover, 2000);
	if (!gone)
		kill(leftover, SIGKILL);
	waitpid(leftover, NULL, 0);
	ck_assert_msg(gone, "the previous run's process lives on (messages: %s)", seen->messages);
	ck_assert_msg(strstr(seen->messages, "killed 1 process(es) left by a previous run"), "messages: %s",
		      seen->messages);
}
END_TEST

/* ---- I: the errno a failing signalfd gave ------------------------------------------- */

START_TEST(unreadable_signals_name_their_errno)
{
	/* The SIGTERM stays pending on a signalfd no read can drain: the loop
	 * gives up after so many wakeups, ends every tree, and says what the
	 * read said (not always "Input/output error"). */
	struct case_ c = {.iso = iso_of(_i), .point = "tether/sys/read", .err = EINTR, .at_ready = true,
			  .term_after_ms = 100};
	ck_assert_int_eq(run_case(&c, 3000), 71);
	ck_assert_msg(strstr(seen->result, "cannot read signals: Interrupted system call"), "result: %s", seen->result);
}
END_TEST

#endif

int main(void)
{
	Suite *s = suite_create("loop");
#ifdef TETHER_FAULT_INJECTION
	TCase *tc = tcase_create("g9");
	tcase_add_checked_fixture(tc, setup, tu_teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_loop_test(tc, unreadable_guardian_channel_is_let_go_after_readiness, 0, 2);
	tcase_add_loop_test(tc, unreadable_guardian_channel_from_the_start, 0, 2);
	tcase_add_loop_test(tc, unreapable_guardian_ends_with_71_at_once, 0, 2);
	tcase_add_loop_test(tc, unreadable_signals_name_their_errno, 0, 2);
	tcase_add_test(tc, unlistable_adopted_orphans_end_with_71);
	tcase_add_test(tc, a_lost_guardians_orphans_are_killed_when_reaping_fails);
	tcase_add_loop_test(tc, a_failed_scan_for_a_previous_runs_processes_is_made_again, 0, 2);
	suite_add_tcase(s, tc);
#else
	fprintf(stderr, "SKIP loop faults: built without libfiu (--disable-fault-injection)\n");
#endif
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
