/* SPDX-License-Identifier: MIT */
/* test_supervisor.c — what the supervisor makes sure of around its pool,
 * run in-process (libtether's supervisor, on the real clock, in each test's
 * forked process):
 *   - RLIMIT_NOFILE (fdlimit.h): the count of descriptors a pool needs, the
 *     soft limit raised as far as that and never past the hard one, the
 *     refusal when the hard limit cannot hold the pool, the workers' limits
 *     as tether was given them;
 *   - our own supervisor (NOTIFY_SOCKET upward, events.c): READY=1 reaches
 *     it even when its queue was full at the moment tether became ready, and
 *     WATCHDOG_USEC=1 is no busy loop of pets.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fdlimit.h"
#include "proc.h"
#include "supervisor.h"
#include "testutil.h"

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nofile(rlim_t soft, rlim_t hard)
{
	struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
	ck_assert_msg(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit %lu:%lu: %s", (unsigned long)soft,
		      (unsigned long)hard, strerror(errno));
}

static struct rlimit get_nofile(void)
{
	struct rlimit rl;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	return rl;
}

static char *worker_argv[] = {TETHER_WORKER, NULL};

static struct tether_config config(unsigned instances)
{
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	cfg.pidfile = tu_path("t.pid");
	cfg.argv = worker_argv;
	cfg.instances = instances;
	cfg.min_disk = 0;
	cfg.min_mem = 0;
	return cfg;
}

/* ---- the count ---------------------------------------------------------------------- */

START_TEST(fds_needed_by_a_pool)
{
	struct tether_config cfg = config(1);
	ck_assert_uint_eq(tether_fds_per_instance(&cfg), 2);
	ck_assert_uint_eq(tether_fds_needed(&cfg), TETHER_FDS_FIXED + 2);
	cfg.instances = 600;
	ck_assert_uint_eq(tether_fds_needed(&cfg), TETHER_FDS_FIXED + 1200);
	/* the usual soft limit: what fits, and what does not */
	ck_assert_uint_eq(tether_fds_instances_within(&cfg, 1024), (1024 - TETHER_FDS_FIXED) / 2);
	ck_assert_uint_lt(tether_fds_instances_within(&cfg, 1024), 600);
	ck_assert_uint_eq(tether_fds_instances_within(&cfg, TETHER_FDS_FIXED + 32), 16);
	ck_assert_uint_eq(tether_fds_instances_within(&cfg, TETHER_FDS_FIXED + 33), 16);
	/* what tether itself holds: the pidfile kept, every control connection */
	ck_assert_uint_ge(TETHER_FDS_FIXED, 32 + 4 + TETHER_CONTROL_CONNS + TETHER_CONTROL_DEFERRED);
	ck_assert_uint_eq(tether_fds_instances_within(&cfg, TETHER_FDS_FIXED), 0);
	ck_assert_uint_eq(tether_fds_instances_within(&cfg, 3), 0);
	/* the largest pool fits under the hard limits systems ship with */
	cfg.instances = TETHER_MAX_INSTANCES;
	ck_assert_uint_le(tether_fds_needed(&cfg), 4096);
}
END_TEST

/* ---- the limit ---------------------------------------------------------------------- */

START_TEST(soft_limit_raised_to_what_the_pool_needs)
{
	set_nofile(1024, 4096);
	struct tether_config cfg = config(600);
	struct tether_fdlimit lim;
	ck_assert_int_eq(tether_fdlimit_prepare(&cfg, &lim), 0);
	ck_assert(lim.raised);
	ck_assert_uint_eq(lim.soft, 1024);
	ck_assert_uint_eq(lim.hard, 4096);
	struct rlimit now = get_nofile();
	ck_assert_uint_eq(now.rlim_cur, tether_fds_needed(&cfg));
	ck_assert_uint_eq(now.rlim_max, 4096); /* the hard limit untouched */
	tether_fdlimit_restore(&lim);
	now = get_nofile();
	ck_assert_uint_eq(now.rlim_cur, 1024);
	ck_assert_uint_eq(now.rlim_max, 4096);
}
END_TEST

START_TEST(soft_limit_that_suffices_is_left_alone)
{
	set_nofile(1024, 4096);
	struct tether_config cfg = config(4);
	struct tether_fdlimit lim;
	ck_assert_int_eq(tether_fdlimit_prepare(&cfg, &lim), 0);
	ck_assert(!lim.raised);
	ck_assert_uint_eq(get_nofile().rlim_cur, 1024);
	tether_fdlimit_restore(&lim);
	ck_assert_uint_eq(get_nofile().rlim_cur, 1024);
}
END_TEST

/* The hard limit is the operator's ceiling: never raised, also by root
 * (who could), and the refusal changes nothing. */
START_TEST(hard_limit_too_low_is_refused_and_never_raised)
{
	set_nofile(64, 128);
	struct tether_config cfg = config(40);
	struct tether_fdlimit lim;
	ck_assert_int_eq(tether_fdlimit_prepare(&cfg, &lim), -EMFILE);
	ck_assert(!lim.raised);
	ck_assert_uint_eq(lim.hard, 128);
	struct rlimit now = get_nofile();
	ck_assert_uint_eq(now.rlim_cur, 64);
	ck_assert_uint_eq(now.rlim_max, 128);
	/* what fits is what the message says */
	ck_assert_uint_eq(tether_fds_instances_within(&cfg, lim.hard), 34);
}
END_TEST

/* The whole start: refused with exit 69 naming --instances and how many fit,
 * before the pidfile, the journal or any worker. */
START_TEST(start_refuses_a_pool_the_hard_limit_cannot_hold)
{
	set_nofile(96, 96);
	struct tether_config cfg = config(40);
	cfg.heartbeat_log = tu_path("hb.jsonl");
	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	ck_assert_int_eq(tether_supervisor_new(&cfg, tether_clock_real(), NULL, &sv, &res), 0);
	ck_assert_int_eq(tether_supervisor_start(sv, &res), 1);
	ck_assert_int_eq(tether_result_exit_code(&res), 69);
	ck_assert_msg(strstr(res.message, "--instances 40 needs 140 open files") &&
			      strstr(res.message, "RLIMIT_NOFILE allows 96") && strstr(res.message, "18 instance(s) fit"),
		      "message: %s", res.message);
	tether_supervisor_free(sv);
	ck_assert(!tu_exists(tu_path("t.pid")));
	ck_assert(!tu_exists(tu_path("t.pid.lock")));
	ck_assert(!tu_exists(tu_path("hb.jsonl")));
	ck_assert_uint_eq(get_nofile().rlim_cur, 96);
}
END_TEST

/* The soft limit in /proc/PID/limits ("Max open files  SOFT  HARD  files"). */
static void proc_nofile(pid_t pid, unsigned long *soft, unsigned long *hard)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
	char *text = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(text);
	const char *line = strstr(text, "Max open files");
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(sscanf(line + strlen("Max open files"), "%lu %lu", soft, hard), 2);
	free(text);
}

static bool all_ready;
static void on_ready(void *ud)
{
	(void)ud;
	all_ready = true;
}

/* Steps sv until cond() or the deadline (ms); false at the deadline. */
static bool step_until(struct tether_supervisor *sv, bool (*cond)(void *), void *arg, int timeout_ms)
{
	struct tether_result res;
	int64_t end = mono_ms() + timeout_ms;
	while (!cond(arg)) {
		if (mono_ms() >= end)
			return false;
		ck_assert_msg(tether_supervisor_step(sv, 20, &res) == 1, "the supervisor ended: %s", res.message);
	}
	return true;
}

static bool ready_cond(void *arg)
{
	(void)arg;
	return all_ready;
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

/* A pool beyond the soft limit runs, no instance failing for EMFILE, and
 * each worker has the limits tether was given. */
START_TEST(pool_beyond_the_soft_limit_runs_with_the_workers_limits_given_back)
{
	set_nofile(64, 4096);
	struct tether_config cfg = config(40);
	struct tether_hooks hooks = {.ready = on_ready};
	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	all_ready = false;
	ck_assert_int_eq(tether_supervisor_new(&cfg, tether_clock_real(), &hooks, &sv, &res), 0);
	ck_assert_int_eq(tether_supervisor_start(sv, &res), 0);
	ck_assert_msg(step_until(sv, ready_cond, NULL, 30000), "40 instances not ready within 30s");
	ck_assert_uint_eq(get_nofile().rlim_cur, tether_fds_needed(&cfg));
	/* the workers: children of our children, the guardians */
	pid_t *guardians = NULL;
	size_t ng = 0, nworkers = 0;
	ck_assert_int_eq(tether_proc_children(getpid(), &guardians, &ng), 0);
	ck_assert_uint_eq(ng, 40);
	for (size_t i = 0; i < ng; i++) {
		pid_t *w = NULL;
		size_t nw = 0;
		ck_assert_int_eq(tether_proc_children(guardians[i], &w, &nw), 0);
		for (size_t k = 0; k < nw; k++, nworkers++) {
			unsigned long soft, hard;
			proc_nofile(w[k], &soft, &hard);
			ck_assert_msg(soft == 64 && hard == 4096, "worker %d has RLIMIT_NOFILE %lu:%lu, want 64:4096",
				      (int)w[k], soft, hard);
		}
		free(w);
	}
	free(guardians);
	ck_assert_uint_eq(nworkers, 40);
	stop(sv);
}
END_TEST

/* ---- upward --------------------------------------------------------------------------- */

struct upward {
	int sock;           /* what tether's NOTIFY_SOCKET names: ours */
	char path[108];
	char seen[65536];   /* every datagram that arrived, one per line */
	size_t len;
	unsigned ready, pets;
};

static void upward_open(struct upward *u)
{
	memset(u, 0, sizeof *u);
	u->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(u->sock, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(u->path, sizeof u->path, "%s", tu_path("up.sock"));
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", u->path);
	ck_assert_int_eq(bind(u->sock, (struct sockaddr *)&sa, sizeof sa), 0);
	setenv("NOTIFY_SOCKET", u->path, 1);
}

/* Reads everything queued; counts READY=1 and WATCHDOG=1 lines. */
static void upward_drain(struct upward *u)
{
	char buf[4096];
	ssize_t n;
	while ((n = recv(u->sock, buf, sizeof buf - 1, 0)) >= 0) {
		buf[n] = '\0';
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			u->ready += strcmp(line, "READY=1") == 0;
			u->pets += strcmp(line, "WATCHDOG=1") == 0;
			int w = snprintf(u->seen + u->len, sizeof u->seen - u->len, "%s\n", line);
			if (w > 0 && (size_t)w < sizeof u->seen - u->len)
				u->len += (size_t)w;
		}
	}
}

/* Fills its receive queue from another socket until the kernel refuses
 * (EAGAIN): a supervisor that does not read for a while. */
static unsigned upward_fill(struct upward *u)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", u->path);
	unsigned n = 0;
	while (sendto(s, "X_FILLER=1", 10, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa) == 10)
		n++;
	ck_assert_msg(errno == EAGAIN, "filling the queue ended with %s", strerror(errno));
	close(s);
	return n;
}

static bool got_ready(void *arg)
{
	struct upward *u = arg;
	upward_drain(u);
	return u->ready > 0;
}

/* tether becomes ready while its supervisor's queue is full: the READY=1 it
 * sends then is refused (EAGAIN, a send that never waits), and must come
 * again once there is room; a lost one is a Type=notify start timing out. */
START_TEST(upward_ready_survives_a_full_queue)
{
	struct upward u;
	upward_open(&u);
	unsetenv("WATCHDOG_USEC");
	ck_assert_uint_gt(upward_fill(&u), 0);
	struct tether_config cfg = config(2);
	struct tether_hooks hooks = {.ready = on_ready};
	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	all_ready = false;
	ck_assert_int_eq(tether_supervisor_new(&cfg, tether_clock_real(), &hooks, &sv, &res), 0);
	ck_assert_int_eq(tether_supervisor_start(sv, &res), 0);
	ck_assert_msg(step_until(sv, ready_cond, NULL, 15000), "not ready within 15s");
	/* ready, and its READY=1 found the queue full: only the filler is there */
	upward_drain(&u);
	ck_assert_msg(u.ready == 0 && !strstr(u.seen, "STATUS="), "got, with a full queue: %s", u.seen);
	ck_assert_msg(step_until(sv, got_ready, &u, 10000), "READY=1 never came once the queue had room; got: %s",
		      u.seen);
	ck_assert_uint_eq(u.ready, 1);
	ck_assert_msg(strstr(u.seen, "READY=1\nSTATUS=2/2 instances ready"), "got: %s", u.seen);
	stop(sv);
	upward_drain(&u);
	ck_assert_uint_eq(u.ready, 1);
	ck_assert_msg(strstr(u.seen, "STOPPING=1"), "no STOPPING=1: %s", u.seen);
	close(u.sock);
}
END_TEST

static bool after_ms(void *arg)
{
	return mono_ms() >= *(int64_t *)arg;
}

/* WATCHDOG_USEC=1: pets at the floor (10ms), not at every turn of the loop. */
START_TEST(upward_pets_have_a_floor)
{
	struct upward u;
	upward_open(&u);
	setenv("WATCHDOG_USEC", "1", 1);
	struct tether_config cfg = config(1);
	struct tether_hooks hooks = {.ready = on_ready};
	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	all_ready = false;
	ck_assert_int_eq(tether_supervisor_new(&cfg, tether_clock_real(), &hooks, &sv, &res), 0);
	unsetenv("WATCHDOG_USEC");
	int64_t t0 = mono_ms();
	ck_assert_int_eq(tether_supervisor_start(sv, &res), 0);
	ck_assert_msg(step_until(sv, ready_cond, NULL, 15000), "not ready within 15s");
	/* half a second more, draining as a supervisor would */
	int64_t end = mono_ms() + 500;
	struct tether_result r;
	while (mono_ms() < end) {
		ck_assert_int_eq(tether_supervisor_step(sv, 20, &r), 1);
		upward_drain(&u);
	}
	int64_t took = mono_ms() - t0;
	(void)after_ms;
	/* one pet per 10 ms at most (and one at the start) */
	ck_assert_msg(u.pets >= 1 && u.pets <= (unsigned)(took / 10) + 2, "%u pets in %lld ms", u.pets,
		      (long long)took);
	ck_assert_uint_eq(u.ready, 1);
	stop(sv);
	close(u.sock);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("supervisor");
	TCase *tc = tcase_create("fdlimit");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, fds_needed_by_a_pool);
	tcase_add_test(tc, soft_limit_raised_to_what_the_pool_needs);
	tcase_add_test(tc, soft_limit_that_suffices_is_left_alone);
	tcase_add_test(tc, hard_limit_too_low_is_refused_and_never_raised);
	tcase_add_test(tc, start_refuses_a_pool_the_hard_limit_cannot_hold);
	tcase_add_test(tc, pool_beyond_the_soft_limit_runs_with_the_workers_limits_given_back);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("upward");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, upward_ready_survives_a_full_queue);
	tcase_add_test(tc, upward_pets_have_a_floor);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
