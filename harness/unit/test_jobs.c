/* SPDX-License-Identifier: MIT */
/* test_jobs.c — the control socket's deferred answers (control_server.c,
 * SPEC §3's `tether signal` and `tether restart`) where they go wrong, with
 * the supervisor run in-process (each test's forked process) and its socket
 * asked over raw connections, so that its guardians can be stopped, killed or
 * faulted between a question and its answer:
 *   - a signal each guardian fails to deliver is named by its errno;
 *   - signal jobs are bounded (TETHER_SIGNAL_JOBS): one more is refused, and
 *     a guardian that dies before it answers loses the jobs' answers for
 *     that instance ("its guardian is gone"), never blocks them;
 *   - a restart asked while the supervisor stops is refused; a restart of
 *     an instance that ended for good is refused, or skipped inside "all";
 *   - a restart still waiting when the pool ends on its own is answered.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "control.h"
#include "json.h"
#include "proc.h"
#include "supervisor.h"
#include "testutil.h"

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool all_ready;
static void on_ready(void *ud)
{
	(void)ud;
	all_ready = true;
}

static struct tether_config config(unsigned instances, char **argv)
{
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	cfg.pidfile = tu_path("t.pid");
	cfg.argv = argv;
	cfg.instances = instances;
	cfg.min_disk = 0;
	cfg.min_mem = 0;
	cfg.stop_timeout = 2 * TETHER_NSEC_PER_SEC;
	/* as PID 1 would: when a guardian ends, the supervisor SIGKILLs every
	 * other child of its process (loop.c, sweep_adopted), and here the
	 * askers are its children too */
	cfg.pid1 = true;
	return cfg;
}

static struct tether_supervisor *start(struct tether_config *cfg)
{
	struct tether_hooks hooks = {.ready = on_ready};
	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	all_ready = false;
	ck_assert_int_eq(tether_supervisor_new(cfg, tether_clock_real(), &hooks, &sv, &res), 0);
	ck_assert_int_eq(tether_supervisor_start(sv, &res), 0);
	int64_t end = mono_ms() + 15000;
	while (!all_ready) {
		ck_assert_msg(mono_ms() < end, "not ready within 15 s");
		ck_assert_msg(tether_supervisor_step(sv, 20, &res) == 1, "the supervisor ended: %s", res.message);
	}
	return sv;
}

/* A request sent on a connection of its own by a child of ours (the server
 * ignores a listener of the caller's own pid: ctlname.c), which passes the
 * answer on through a pipe: its read end, non-blocking. */
struct asker {
	pid_t server;
	const char *request;
	int out;
};

static int asker_fail(struct asker *a, const char *what, int err)
{
	char msg[128];
	int n = snprintf(msg, sizeof msg, "{\"asker\":\"%s: %s\"}", what, strerror(err));
	return write(a->out, msg, (size_t)n) == n ? 2 : 3;
}

static int asker_main(void *arg)
{
	struct asker *a = arg;
	int fd = tether_control_connect(tu_path("t.pid"), a->server);
	if (fd < 0)
		return asker_fail(a, "connect", -fd);
	if (send(fd, a->request, strlen(a->request), MSG_NOSIGNAL) != (ssize_t)strlen(a->request))
		return asker_fail(a, "send", errno);
	static char buf[65536];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 60000) != 1)
		return asker_fail(a, "poll", ETIMEDOUT);
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	if (n <= 0)
		return asker_fail(a, "recv", n < 0 ? errno : EPIPE);
	return write(a->out, buf, (size_t)n) == n ? 0 : 6;
}

static pid_t asker_of[64]; /* by the descriptor of its pipe */

static int ask(const char *request)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	struct asker a = {.server = getpid(), .request = request, .out = p[1]};
	pid_t pid = tu_fork(asker_main, &a);
	close(p[1]);
	if (p[0] < 64)
		asker_of[p[0]] = pid;
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	return p[0];
}

/* Steps sv until fd has its answer (or the supervisor ends: *ret_ended);
 * returns it parsed. */
static struct tether_json *answer(struct tether_supervisor *sv, int fd, int timeout_ms, struct tether_result *res,
				  bool *ret_ended)
{
	static char buf[65536];
	int64_t end = mono_ms() + timeout_ms;
	if (ret_ended)
		*ret_ended = false;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		if (n > 0) {
			struct tether_json *j = NULL;
			ck_assert_int_eq(tether_json_parse(buf, (size_t)n, 16, &j), 0);
			close(fd);
			const struct tether_json *failed = tether_json_get(j, "asker");
			ck_assert_msg(!failed, "the asking process: %s", failed ? failed->string : "");
			return j;
		}
		ck_assert_msg(n < 0 && errno == EAGAIN, "no answer: the asking process ended with %d",
			      fd < 64 ? tu_wait(asker_of[fd], 1000) : -1);
		ck_assert_msg(mono_ms() < end, "no answer within %d ms", timeout_ms);
		if (ret_ended && *ret_ended) {
			poll(NULL, 0, 10);
			continue;
		}
		struct tether_result r;
		if (tether_supervisor_step(sv, 20, res ? res : &r) != 1) {
			ck_assert_msg(ret_ended, "the supervisor ended");
			*ret_ended = true;
		}
	}
}

static const char *str_at(const struct tether_json *j, const char *path)
{
	const struct tether_json *v = tether_json_path(j, path);
	ck_assert_msg(v && v->type == TETHER_JSON_STRING, "no string at %s", path);
	return v->string;
}

static size_t count_at(const struct tether_json *j, const char *path)
{
	const struct tether_json *v = tether_json_path(j, path);
	ck_assert_msg(v && v->type == TETHER_JSON_ARRAY, "no array at %s", path);
	return v->count;
}

static void stop(struct tether_supervisor *sv)
{
	struct tether_result res;
	tether_supervisor_stop(sv);
	int64_t end = mono_ms() + 20000;
	while (tether_supervisor_step(sv, 50, &res) == 1)
		ck_assert_msg(mono_ms() < end, "the supervisor did not stop");
	tether_supervisor_free(sv);
}

static char *worker_argv[] = {TETHER_WORKER, NULL};

/* ---- signal --------------------------------------------------------------------------- */

#ifdef TETHER_FAULT_INJECTION
/* Each guardian's kill() of its worker fails with err: the answer names
 * every instance with why, and delivered nothing. */
static void signal_fails_with(int err, const char *why)
{
	struct tether_config cfg = config(2, worker_argv);
	/* the guardians (our children, forked after this) fail; we and the
	 * workers (exec'd) do not */
	tu_fault_arm("tether/sys/kill", err, 1, 0, TU_FAULT_OTHERS);
	struct tether_supervisor *sv = start(&cfg);
	int fd = ask("signal 28 all");
	struct tether_json *j = answer(sv, fd, 10000, NULL, NULL);
	tu_fault_disarm();
	ck_assert_uint_ge(tu_fault_failed(), 2);
	ck_assert_uint_eq(count_at(j, "delivered"), 0);
	ck_assert_uint_eq(count_at(j, "failed"), 2);
	ck_assert_str_eq(str_at(j, "failed.0.error"), why);
	ck_assert_str_eq(str_at(j, "failed.1.error"), why);
	tether_json_free(j);
	stop(sv);
}

START_TEST(a_signal_its_guardian_cannot_deliver_is_named_by_why)
{
	signal_fails_with(ESRCH, "its main process had exited");
	signal_fails_with(EPERM, "permission denied (its main process changed its user)");
	signal_fails_with(EIO, strerror(EIO));
}
END_TEST
#endif

START_TEST(signal_jobs_are_bounded_and_end_with_their_guardian)
{
	struct tether_config cfg = config(1, worker_argv);
	struct tether_supervisor *sv = start(&cfg);
	pid_t *guardians = NULL;
	size_t ng = 0;
	ck_assert_int_eq(tether_proc_children(getpid(), &guardians, &ng), 0);
	ck_assert_uint_eq(ng, 1);
	pid_t g = guardians[0];
	free(guardians);
	/* a guardian that does not answer: every job waits for it */
	ck_assert_int_eq(kill(g, SIGSTOP), 0);
	/* nine, one after the other (nine silent at once would be more than
	 * the places of connections not yet heard: one would be closed): the
	 * ninth finds every job taken */
	int fds[9];
	struct tether_result res;
	for (int i = 0; i < 9; i++) {
		fds[i] = ask("signal 28 0");
		for (int k = 0; k < 5; k++)
			ck_assert_int_eq(tether_supervisor_step(sv, 10, &res), 1);
	}
	int refused = -1;
	static char buf[4096];
	int64_t end = mono_ms() + 15000;
	while (refused < 0) {
		ck_assert_msg(mono_ms() < end, "no request refused within 15 s");
		ck_assert_int_eq(tether_supervisor_step(sv, 20, &res), 1);
		for (int i = 0; i < 9 && refused < 0; i++) {
			ssize_t n = read(fds[i], buf, sizeof buf - 1);
			if (n < 0)
				continue;
			ck_assert_int_gt(n, 0);
			buf[n] = '\0';
			ck_assert_str_eq(buf, "{\"error\":\"too many signal requests waiting; try again\"}");
			close(fds[i]);
			refused = i;
		}
	}
	/* the eight others still wait, however long */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(tether_supervisor_step(sv, 10, &res), 1);
	for (int i = 0; i < 9; i++)
		ck_assert(i == refused || read(fds[i], buf, 1) == -1);
	/* their guardian dies: each is answered */
	ck_assert_int_eq(kill(g, SIGKILL), 0);
	for (int i = 0; i < 9; i++) {
		if (i == refused)
			continue;
		struct tether_json *j = answer(sv, fds[i], 10000, NULL, NULL);
		ck_assert_uint_eq(count_at(j, "delivered"), 0);
		ck_assert_uint_eq(count_at(j, "failed"), 1);
		ck_assert_str_eq(str_at(j, "failed.0.error"), "its guardian is gone");
		tether_json_free(j);
	}
	stop(sv);
}
END_TEST

/* ---- restart -------------------------------------------------------------------------- */

START_TEST(a_restart_asked_while_stopping_is_refused)
{
	char *argv[] = {TETHER_WORKER, "--ignore-term", "--ready", NULL};
	struct tether_config cfg = config(1, argv);
	cfg.notify_ready = true;
	struct tether_supervisor *sv = start(&cfg);
	tether_supervisor_stop(sv);
	struct tether_result res;
	ck_assert_int_eq(tether_supervisor_step(sv, 10, &res), 1);
	int fd = ask("restart all 5000");
	struct tether_json *j = answer(sv, fd, 10000, NULL, NULL);
	ck_assert_str_eq(str_at(j, "error"), "the supervisor is stopping");
	tether_json_free(j);
	stop(sv);
}
END_TEST

START_TEST(an_instance_that_ended_for_good_is_not_restarted)
{
	/* instance 0 exits 0 (ended for good under on-failure), 1 runs */
	char script[512];
	snprintf(script, sizeof script, "if [ \"$TETHER_INSTANCE\" = 0 ]; then exit 0; fi; exec %s", TETHER_WORKER);
	char *argv[] = {"/bin/sh", "-c", script, NULL};
	struct tether_config cfg = config(2, argv);
	cfg.policy.restart = TETHER_RESTART_ON_FAILURE;
	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	ck_assert_int_eq(tether_supervisor_new(&cfg, tether_clock_real(), NULL, &sv, &res), 0);
	ck_assert_int_eq(tether_supervisor_start(sv, &res), 0);
	/* until status says instance 0 ended and 1 runs */
	int64_t end = mono_ms() + 15000;
	for (;;) {
		ck_assert_msg(mono_ms() < end, "instance 0 never ended");
		ck_assert_int_eq(tether_supervisor_step(sv, 20, &res), 1);
		int fd = ask("status");
		struct tether_json *st = answer(sv, fd, 10000, NULL, NULL);
		bool done = strcmp(str_at(st, "instances.0.state"), "done") == 0 &&
			    strcmp(str_at(st, "instances.1.state"), "running") == 0;
		tether_json_free(st);
		if (done)
			break;
	}
	int fd = ask("restart 0 5000");
	struct tether_json *j = answer(sv, fd, 10000, NULL, NULL);
	ck_assert_str_eq(str_at(j, "error"), "instance 0 has ended");
	tether_json_free(j);
	/* inside "all", it is skipped and named as ended */
	fd = ask("restart all 10000");
	j = answer(sv, fd, 15000, NULL, NULL);
	ck_assert_msg(tether_json_get(j, "ok") && tether_json_get(j, "ok")->boolean, "not ok");
	ck_assert_uint_eq(count_at(j, "restarted"), 1);
	ck_assert_uint_eq(count_at(j, "ended"), 1);
	ck_assert_int_eq(tether_json_path(j, "ended.0")->integer, 0);
	ck_assert_int_eq(tether_json_path(j, "restarted.0")->integer, 1);
	tether_json_free(j);
	stop(sv);
}
END_TEST

START_TEST(a_restart_waiting_when_the_pool_ends_is_answered)
{
	/* once restarted, the worker exits 0: the pool ends on its own (no
	 * stop) while the restart waits for it to be ready again */
	char script[600];
	snprintf(script, sizeof script, "if [ -e %s ]; then exit 0; fi; : > %s; exec %s --ready", tu_path("again"),
		 tu_path("again"), TETHER_WORKER);
	char *argv[] = {"/bin/sh", "-c", script, NULL};
	struct tether_config cfg = config(1, argv);
	cfg.notify_ready = true;
	cfg.policy.restart = TETHER_RESTART_ON_FAILURE;
	struct tether_supervisor *sv = start(&cfg);
	int fd = ask("restart 0 10000");
	bool ended = false;
	struct tether_result res;
	struct tether_json *j = answer(sv, fd, 15000, &res, &ended);
	ck_assert_str_eq(str_at(j, "error"), "the supervisor has stopped");
	tether_json_free(j);
	ck_assert(ended);
	ck_assert_int_eq(tether_result_exit_code(&res), 0);
	tether_supervisor_free(sv);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc = tcase_create("jobs");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_test(tc, a_signal_its_guardian_cannot_deliver_is_named_by_why);
#endif
	tcase_add_test(tc, signal_jobs_are_bounded_and_end_with_their_guardian);
	tcase_add_test(tc, a_restart_asked_while_stopping_is_refused);
	tcase_add_test(tc, an_instance_that_ended_for_good_is_not_restarted);
	tcase_add_test(tc, a_restart_waiting_when_the_pool_ends_is_answered);
	tcase_set_timeout(tc, 90);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
