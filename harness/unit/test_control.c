/* SPDX-License-Identifier: MIT */
/* test_control.c — the control socket (src/control.c): a server holding the
 * pidfile's lock answers tether_control_query; the client believes only the
 * lock holder (a forger that binds the name while the holder does not listen
 * is ignored, however often it answers); a silent server is a timeout that
 * neither fires early (signals) nor late; nobody holding the lock is
 * -ECONNREFUSED; a second server cannot take the name; requests are cut at
 * their first line; a foreign uid is dropped.
 *
 * Servers, holders and forgers are forked children of the test (tracked by
 * proctest for cleanup); they report through pipes and logs, never timing.
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
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "json.h"
#include "pidfile.h"
#include "proctest.h"
#include "testutil.h"

/* A query on the real clock, waiting at most ms. */
static int query(const char *pidfile, const char *request, int ms, struct tether_json **ret)
{
	return tether_control_query(pidfile, request, tether_clock_real(), ms * TETHER_NSEC_PER_MSEC, ret);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The abstract address of the control socket of the lock file at lock_path,
 * as control.c names it: what anyone on the machine can compute. */
static socklen_t ctl_addr(const char *lock_path, struct sockaddr_un *sa)
{
	struct stat st;
	ck_assert_int_eq(lstat(lock_path, &st), 0);
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "tether-ctl/%llx:%llx",
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static const char *lock_of(const char *pidfile)
{
	static char buf[600];
	snprintf(buf, sizeof buf, "%s.lock", pidfile);
	return buf;
}

/* ---- a server: holds the lock through libtether and answers ------------------------------ */

enum srv_mode {
	SRV_ECHO,    /* answers {"request": REQ, "pid": PID} */
	SRV_SILENT,  /* listens, never reads */
	SRV_GARBAGE, /* answers something that is not JSON */
};

struct srv {
	const char *pidfile;
	enum srv_mode mode;
	size_t bufsize; /* tether_control_recv's buffer */
	int ready_fd;
	const char *log; /* "ok REQ" / "err N" per request */
};

static void append(const char *path, const char *line)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, strlen(line)) < 0) {
			/* the test sees a missing line */
		}
		close(fd);
	}
}

static int server_main(void *arg)
{
	struct srv *s = arg;
	struct tether_pidfile *pf = NULL;
	if (tether_pidfile_acquire(s->pidfile, NULL, 0, &pf, NULL) != 1)
		return 2;
	int fd = tether_control_listen(pf->lock_fd);
	if (fd < 0)
		return 3;
	if (write(s->ready_fd, "r", 1) != 1)
		return 4;
	close(s->ready_fd);
	char *buf = malloc(s->bufsize);
	for (;;) {
		if (s->mode == SRV_SILENT) {
			pause();
			continue;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, -1);
		struct tether_control_peer peer;
		int r = tether_control_recv(fd, buf, s->bufsize, &peer);
		if (r == -EAGAIN)
			continue;
		char line[4200];
		if (r < 0) {
			snprintf(line, sizeof line, "err %d\n", -r);
			append(s->log, line);
			continue;
		}
		snprintf(line, sizeof line, "ok %s\n", buf);
		append(s->log, line);
		struct tether_buf out;
		tether_buf_init(&out);
		if (s->mode == SRV_GARBAGE) {
			tether_buf_puts(&out, "this is not json");
		} else {
			tether_buf_puts(&out, "{\"request\":");
			tether_buf_json_string(&out, buf);
			tether_buf_printf(&out, ",\"pid\":%d}", (int)getpid());
		}
		tether_control_reply(fd, &peer, out.data, out.len);
		tether_buf_done(&out);
	}
}

static struct srv server;

/* Starts a server on pidfile and returns once it listens. */
static pid_t start_server(const char *pidfile, enum srv_mode mode, size_t bufsize)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	server = (struct srv){pidfile, mode, bufsize, p[1], tu_path("server.log")};
	pid_t pid = tu_fork(server_main, &server);
	pt_track(pid);
	close(p[1]);
	char c;
	ssize_t n = read(p[0], &c, 1);
	close(p[0]);
	if (n != 1) {
		int st = tu_wait(pid, 5000);
		ck_abort_msg("server failed to start (status 0x%x)", st);
	}
	return pid;
}

static pid_t start_forger(const char *pidfile, int replies, int interval_ms, int *ret_report);

static char *server_log(void)
{
	char *text = tu_read_file(tu_path("server.log"), NULL);
	return text ? text : strdup("");
}

/* Queries and returns the "request" the server echoed (malloc'd). */
static char *echoed(const char *pidfile, const char *request, pid_t server_pid)
{
	struct tether_json *j = NULL;
	int r = query(pidfile, request, 10000, &j);
	ck_assert_msg(r == 0, "query: %s", strerror(-r));
	const struct tether_json *req = tether_json_get(j, "request");
	const struct tether_json *pid = tether_json_get(j, "pid");
	ck_assert_ptr_nonnull(req);
	ck_assert_ptr_nonnull(pid);
	ck_assert_int_eq(pid->integer, server_pid);
	char *s = strdup(req->string);
	tether_json_free(j);
	return s;
}

START_TEST(query_is_answered_by_the_lock_holder)
{
	const char *path = tu_path("t.pid");
	pid_t srv = start_server(path, SRV_ECHO, 128);
	char *req = echoed(path, "status", srv);
	ck_assert_str_eq(req, "status");
	free(req);
	/* again: the server keeps no state per client */
	req = echoed(path, "status", srv);
	ck_assert_str_eq(req, "status");
	free(req);
}
END_TEST

START_TEST(requests_are_cut_at_the_first_line)
{
	const char *path = tu_path("t.pid");
	pid_t srv = start_server(path, SRV_ECHO, 128);
	char *req = echoed(path, "status\nsecond line\nthird", srv);
	ck_assert_str_eq(req, "status");
	free(req);
	/* the longest request that fits the server's buffer, whole */
	char fits[128];
	memset(fits, 'a', 127);
	fits[127] = '\0';
	req = echoed(path, fits, srv);
	ck_assert_str_eq(req, fits);
	free(req);
	/* longer than the buffer: still its first line */
	char big[1024];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "status\n", 7);
	req = echoed(path, big, srv);
	ck_assert_str_eq(req, "status");
	free(req);
}
END_TEST

START_TEST(a_first_line_longer_than_the_buffer_is_refused)
{
	/* cut inside its first line, a request could read as another (a prefix
	 * of it): it is dropped, and the client times out */
	const char *path = tu_path("t.pid");
	start_server(path, SRV_ECHO, 16);
	struct tether_json *j = NULL;
	ck_assert_int_eq(query(path, "status-and-then-some-more", 300, &j), -ETIMEDOUT);
	ck_assert(pt_wait_file_size(tu_path("server.log"), 1, 5000));
	char *log = server_log();
	ck_assert_msg(strncmp(log, "err ", 4) == 0, "server log: \"%s\"", log);
	free(log);
}
END_TEST

START_TEST(a_silent_server_is_a_timeout)
{
	const char *path = tu_path("t.pid");
	start_server(path, SRV_SILENT, 128);
	struct tether_json *j = NULL;
	int64_t t0 = mono_ms();
	ck_assert_int_eq(query(path, "status", 700, &j), -ETIMEDOUT);
	int64_t took = mono_ms() - t0;
	ck_assert_int_ge(took, 700); /* never early */
	ck_assert_int_lt(took, 700 + 3000);
	ck_assert_ptr_null(j);
}
END_TEST

/* A clock that jumps a second at every reading and has poll wait a
 * millisecond: what waits on it must measure its deadline on it. */
static int64_t jumpy_now_ns;

static int64_t jumpy_now(const struct tether_clock *c)
{
	(void)c;
	return jumpy_now_ns += TETHER_NSEC_PER_SEC;
}

static int jumpy_poll_timeout(const struct tether_clock *c, int64_t deadline)
{
	return deadline <= jumpy_now(c) ? 0 : 1;
}

static const struct tether_clock jumpy = {
	.now = jumpy_now, .wall = jumpy_now, .poll_timeout = jumpy_poll_timeout, .name = "jumpy"};

START_TEST(the_wait_is_on_the_callers_clock)
{
	const char *path = tu_path("t.pid");
	start_server(path, SRV_SILENT, 128);
	struct tether_json *j = NULL;
	int64_t t0 = mono_ms();
	/* a minute of a clock that runs a second per reading passes in about
	 * 60 ms of real time */
	ck_assert_int_eq(tether_control_query(path, "status", &jumpy, 60 * TETHER_NSEC_PER_SEC, &j), -ETIMEDOUT);
	ck_assert_int_lt(mono_ms() - t0, 20000);
	ck_assert_ptr_null(j);
}
END_TEST

static void on_alarm(int sig)
{
	(void)sig;
}

START_TEST(signals_do_not_cut_the_wait_short)
{
	/* a supervisor's or the CLI's signals interrupt the wait: the query
	 * keeps waiting until its deadline */
	const char *path = tu_path("t.pid");
	start_server(path, SRV_SILENT, 128);
	struct sigaction sa = {.sa_handler = on_alarm};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: poll sees EINTR */
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	struct itimerval every_50ms = {{0, 50000}, {0, 50000}};
	ck_assert_int_eq(setitimer(ITIMER_REAL, &every_50ms, NULL), 0);
	struct tether_json *j = NULL;
	int64_t t0 = mono_ms();
	int r = query(path, "status", 1000, &j);
	int64_t took = mono_ms() - t0;
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	ck_assert_int_eq(r, -ETIMEDOUT);
	ck_assert_msg(took >= 1000, "query gave up after %lld ms of a 1000 ms timeout", (long long)took);
	ck_assert_int_lt(took, 1000 + 3000);
}
END_TEST

START_TEST(a_reply_that_is_not_json_is_einval)
{
	const char *path = tu_path("t.pid");
	start_server(path, SRV_GARBAGE, 128);
	struct tether_json *j = NULL;
	ck_assert_int_eq(query(path, "status", 10000, &j), -EINVAL);
	ck_assert_ptr_null(j);
}
END_TEST

START_TEST(nobody_holds_the_lock)
{
	const char *path = tu_path("t.pid");
	struct tether_json *j = NULL;
	/* no lock file at all */
	ck_assert_int_eq(query(path, "status", 5000, &j), -ENOENT);
	/* a lock file nobody holds (a SIGKILLed supervisor's) */
	tu_write_file(lock_of(path), "", 0, 0644);
	int64_t t0 = mono_ms();
	ck_assert_int_eq(query(path, "status", 5000, &j), -ECONNREFUSED);
	ck_assert_int_lt(mono_ms() - t0, 4000); /* at once, not at the timeout */
	/* even when some process has bound the dead supervisor's name: it is
	 * not asked at all */
	int report;
	pid_t forger_pid = start_forger(path, 1, 0, &report);
	t0 = mono_ms();
	ck_assert_int_eq(query(path, "status", 5000, &j), -ECONNREFUSED);
	ck_assert_int_lt(mono_ms() - t0, 4000);
	kill(forger_pid, SIGKILL);
	tu_wait(forger_pid, 5000);
	int sent;
	ck_assert_int_eq(read(report, &sent, sizeof sent), 0); /* it never got a request */
	close(report);
	/* a holder that does not listen: nobody answers, at once */
	pid_t holder = tu_start_holder(path, false, NULL, NULL);
	pt_track(holder);
	t0 = mono_ms();
	ck_assert_int_eq(query(path, "status", 5000, &j), -ECONNREFUSED);
	ck_assert_int_lt(mono_ms() - t0, 4000);
	ck_assert_ptr_null(j);
}
END_TEST

START_TEST(a_second_server_cannot_take_the_name)
{
	const char *path = tu_path("t.pid");
	pid_t srv = start_server(path, SRV_ECHO, 128);
	/* anyone may open the lock file and try to listen on its name */
	int lock = open(lock_of(path), O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(lock, 0);
	ck_assert_int_eq(tether_control_listen(lock), -EADDRINUSE);
	struct sockaddr_un sa;
	socklen_t len = ctl_addr(lock_of(path), &sa);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, len), -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	close(s);
	close(lock);
	char *req = echoed(path, "status", srv);
	ck_assert_str_eq(req, "status");
	free(req);
}
END_TEST

/* ---- a forger: binds the name while the holder does not listen ---------------------- */

struct forger {
	const char *lock_path;
	int replies;     /* per request */
	int interval_ms; /* between replies */
	int ready_fd, report_fd;
};

static int forger_main(void *arg)
{
	struct forger *f = arg;
	struct sockaddr_un sa;
	struct stat st;
	if (lstat(f->lock_path, &st) < 0)
		return 2;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "tether-ctl/%llx:%llx",
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0)
		return 3;
	if (write(f->ready_fd, "r", 1) != 1)
		return 4;
	for (;;) {
		char req[512];
		struct sockaddr_un from;
		socklen_t flen = sizeof from;
		ssize_t got = recvfrom(s, req, sizeof req, 0, (struct sockaddr *)&from, &flen);
		if (got < 0)
			continue;
		/* a perfectly well-formed answer, from the wrong process */
		static const char forged[] = "{\"state\":\"running\",\"forged\":true}";
		int sent = 0;
		for (int i = 0; i < f->replies; i++) {
			if (i > 0)
				poll(NULL, 0, f->interval_ms);
			if (sendto(s, forged, sizeof forged - 1, 0, (struct sockaddr *)&from, flen) > 0)
				sent++;
		}
		if (write(f->report_fd, &sent, sizeof sent) != sizeof sent)
			return 5;
	}
}

static struct forger forger;

static pid_t start_forger(const char *pidfile, int replies, int interval_ms, int *ret_report)
{
	int ready[2], report[2];
	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(report, O_CLOEXEC), 0);
	forger = (struct forger){lock_of(pidfile), replies, interval_ms, ready[1], report[1]};
	pid_t pid = tu_fork(forger_main, &forger);
	pt_track(pid);
	close(ready[1]);
	close(report[1]);
	char c;
	ck_assert_msg(read(ready[0], &c, 1) == 1, "forger failed to bind");
	close(ready[0]);
	*ret_report = report[0];
	return pid;
}

START_TEST(an_answer_from_a_non_holder_is_ignored)
{
	const char *path = tu_path("t.pid");
	/* the lock is held by a process that does not listen... */
	pid_t holder = tu_start_holder(path, false, NULL, NULL);
	pt_track(holder);
	/* ...so another process can bind the name and answer */
	int report;
	start_forger(path, 1, 0, &report);
	struct tether_json *j = NULL;
	int r = query(path, "status", 1500, &j);
	ck_assert_msg(r == -ETIMEDOUT, "query returned %d (%s)%s", r, strerror(-r),
		      r == 0 ? ": the forged answer was believed" : "");
	ck_assert_ptr_null(j);
	/* the forger did receive the request and answer it */
	int sent = 0;
	ck_assert_int_eq(read(report, &sent, sizeof sent), (ssize_t)sizeof sent);
	ck_assert_int_eq(sent, 1);
	close(report);
}
END_TEST

START_TEST(a_forger_cannot_stretch_the_timeout)
{
	/* answers every 100 ms for 3 s: each ignored answer must not restart
	 * the client's wait */
	const char *path = tu_path("t.pid");
	pid_t holder = tu_start_holder(path, false, NULL, NULL);
	pt_track(holder);
	int report;
	start_forger(path, 30, 100, &report);
	struct tether_json *j = NULL;
	int64_t t0 = mono_ms();
	int r = query(path, "status", 500, &j);
	int64_t took = mono_ms() - t0;
	ck_assert_int_eq(r, -ETIMEDOUT);
	ck_assert_int_ge(took, 500);
	ck_assert_msg(took < 500 + 1500, "a 500 ms query took %lld ms under a stream of forged answers",
		      (long long)took);
	close(report);
}
END_TEST

/* ---- the server side ---------------------------------------------------------------- */

static int send_as(void *arg)
{
	uid_t uid = *(uid_t *)arg;
	struct sockaddr_un sa;
	socklen_t len = ctl_addr(tu_path("own.lock"), &sa);
	if (uid != getuid() && (setgid(uid) < 0 || setuid(uid) < 0))
		return 2;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un self = {.sun_family = AF_UNIX};
	if (s < 0 || bind(s, (struct sockaddr *)&self, sizeof(sa_family_t)) < 0)
		return 3;
	if (sendto(s, "status", 6, 0, (struct sockaddr *)&sa, len) != 6)
		return 4;
	return 0;
}

static int recv_one(int fd, char *buf, size_t len, struct tether_control_peer *peer)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	return tether_control_recv(fd, buf, len, peer);
}

START_TEST(server_drops_foreign_uids)
{
	int lock = open(tu_path("own.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(lock, 0);
	int fd = tether_control_listen(lock);
	ck_assert_int_ge(fd, 0);
	char buf[128];
	struct tether_control_peer peer;
	ck_assert_int_eq(tether_control_recv(fd, buf, sizeof buf, &peer), -EAGAIN);
	/* our own uid: accepted, with an address to answer */
	uid_t me = getuid();
	pid_t pid = tu_fork(send_as, &me);
	ck_assert_int_eq(tu_wait(pid, 10000), 0);
	ck_assert_int_eq(recv_one(fd, buf, sizeof buf, &peer), 0);
	ck_assert_str_eq(buf, "status");
	ck_assert_int_gt(peer.len, offsetof(struct sockaddr_un, sun_path));
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP server_drops_foreign_uids (foreign part): needs root to send as another uid\n");
	} else {
		uid_t nobody = 65534;
		pid = tu_fork(send_as, &nobody);
		ck_assert_int_eq(tu_wait(pid, 10000), 0);
		ck_assert_int_eq(recv_one(fd, buf, sizeof buf, &peer), -EPERM);
	}
	ck_assert_int_eq(tether_control_recv(fd, buf, sizeof buf, &peer), -EAGAIN);
	close(fd);
	close(lock);
}
END_TEST

static void setup(void)
{
	pt_setup();
	signal(SIGPIPE, SIG_IGN);
}

/* ---- G9 --------------------------------------------------------------------------------- */
#ifdef TETHER_FAULT_INJECTION

START_TEST(g9_query_gives_up_when_it_cannot_wait)
{
	/* F4: poll failing EINTR (no event, at once) or ENOMEM from its first
	 * call: the query ends with the error after a few polls instead of
	 * polling at full speed until its deadline. */
	int err = _i ? ENOMEM : EINTR;
	const char *path = tu_path("t.pid");
	start_server(path, SRV_SILENT, 128);
	struct tether_json *j = NULL;
	tu_fault_arm("tether/sys/poll", err, 1, 0, TU_FAULT_SELF);
	int64_t t0 = mono_ms();
	int r = query(path, "status", 1000, &j);
	int64_t took = mono_ms() - t0;
	unsigned polls = tu_fault_calls();
	tu_fault_disarm();
	ck_assert_int_eq(r, -err);
	ck_assert_msg(took < 500, "gave up after %lld ms", (long long)took);
	ck_assert_uint_le(polls, 10);
	ck_assert_ptr_null(j);
}
END_TEST

START_TEST(g9_query_gives_up_when_answers_cannot_be_received)
{
	/* F4: the answer is there (poll says so) but every receive fails
	 * EAGAIN: so many times in a row is a failure, not "wait for the
	 * rest" at full speed until the deadline. */
	const char *path = tu_path("t.pid");
	start_server(path, SRV_ECHO, 128);
	struct tether_json *j = NULL;
	tu_fault_arm("tether/sys/recvmsg", EAGAIN, 1, 0, TU_FAULT_SELF);
	int64_t t0 = mono_ms();
	int r = query(path, "status", 1000, &j);
	int64_t took = mono_ms() - t0;
	unsigned recvs = tu_fault_calls();
	tu_fault_disarm();
	ck_assert_int_eq(r, -EAGAIN);
	ck_assert_msg(took < 500, "gave up after %lld ms", (long long)took);
	ck_assert_uint_le(recvs, 10);
	ck_assert_ptr_null(j);
}
END_TEST
#endif

int main(void)
{
	pt_init();
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("control");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 40);
	tcase_add_test(tc, query_is_answered_by_the_lock_holder);
	tcase_add_test(tc, requests_are_cut_at_the_first_line);
	tcase_add_test(tc, a_first_line_longer_than_the_buffer_is_refused);
	tcase_add_test(tc, a_silent_server_is_a_timeout);
	tcase_add_test(tc, the_wait_is_on_the_callers_clock);
	tcase_add_test(tc, signals_do_not_cut_the_wait_short);
	tcase_add_test(tc, a_reply_that_is_not_json_is_einval);
	tcase_add_test(tc, nobody_holds_the_lock);
	tcase_add_test(tc, a_second_server_cannot_take_the_name);
	tcase_add_test(tc, an_answer_from_a_non_holder_is_ignored);
	tcase_add_test(tc, a_forger_cannot_stretch_the_timeout);
	tcase_add_test(tc, server_drops_foreign_uids);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_loop_test(tc, g9_query_gives_up_when_it_cannot_wait, 0, 2);
	tcase_add_test(tc, g9_query_gives_up_when_answers_cannot_be_received);
#endif
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pt_fini();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
