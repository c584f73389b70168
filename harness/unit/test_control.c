/* SPDX-License-Identifier: MIT */
/* test_control.c — the control socket (src/control.c): a server holding the
 * pidfile's lock answers tether_control_query, also once its lock file is
 * gone (found by its name); the client believes only the lock holder — a
 * forger of our own user that listens under the pidfile's key and claims the
 * holder's pid is never asked (SO_PEERCRED), another user's listener is not
 * even connected to; a server that closes unanswered is -ECONNRESET at once;
 * a silent server is a timeout that neither fires early
 * (signals) nor late; nobody holding the lock is -ECONNREFUSED at once;
 * names are drawn afresh (and again when taken); requests are cut at their
 * first line; a foreign uid's connection is closed at accept.
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

#ifdef TETHER_FAULT_INJECTION
#include <fiu-control.h>
#include <fiu.h>
#endif

#include "control.h"
#include "ctlname.h"
#include "json.h"
#include "pidfile.h"
#include "proc.h"
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

static const char *lock_of(const char *pidfile)
{
	static char buf[600];
	snprintf(buf, sizeof buf, "%s.lock", pidfile);
	return buf;
}

static uint64_t start_time_of(pid_t pid)
{
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(pid, &st), 0);
	return st.start_time;
}

static void key_of(const char *pidfile, char key[TETHER_CTLNAME_KEY_LEN + 1])
{
	ck_assert_int_eq(tether_ctlname_key(pidfile, key), 0);
}

/* Listens under name (a forger's choice) in the calling process. */
static int listen_as(const char *name)
{
	struct sockaddr_un sa;
	socklen_t len = tether_ctlname_addr(name, &sa);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, len) < 0 || listen(s, 8) < 0)
		return -1;
	return s;
}

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

/* ---- a server: holds the lock through libtether and answers ------------------------------ */

enum srv_mode {
	SRV_ECHO,    /* answers {"request": REQ, "pid": PID} */
	SRV_SILENT,  /* listens, never accepts */
	SRV_GARBAGE, /* answers something that is not JSON */
};

struct srv {
	const char *pidfile;
	enum srv_mode mode;
	size_t bufsize; /* tether_control_recv's buffer */
	int ready_fd;
	const char *log; /* "ok REQ" / "err N" per request */
};

/* One question per connection, as the supervisor does (control.h): the
 * caller closes it after this. */
static void serve_connection(struct srv *s, int conn, char *buf)
{
	for (;;) {
		struct pollfd p = {.fd = conn, .events = POLLIN};
		poll(&p, 1, -1);
		int r = tether_control_recv(conn, buf, s->bufsize);
		if (r == -EAGAIN)
			continue;
		if (r == -EPIPE || r == -ECONNRESET)
			return;
		char line[4200];
		if (r < 0) {
			snprintf(line, sizeof line, "err %d\n", -r);
			append(s->log, line);
			return;
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
		tether_control_reply(conn, out.data, out.len);
		tether_buf_done(&out);
		return;
	}
}

static int server_main(void *arg)
{
	struct srv *s = arg;
	struct tether_pidfile *pf = NULL;
	if (tether_pidfile_acquire(s->pidfile, NULL, 0, &pf, NULL) != 1)
		return 2;
	char name[TETHER_CTLNAME_MAX + 1];
	int fd = tether_control_listen(pf->key, start_time_of(getpid()), name, sizeof name);
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
		int conn = tether_control_accept(fd);
		if (conn < 0)
			continue;
		serve_connection(s, conn, buf);
		close(conn);
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
	/* asked by the pid the caller verified itself */
	struct tether_json *j = NULL;
	ck_assert_int_eq(tether_control_query_pid(path, srv, "status", tether_clock_real(), 10 * TETHER_NSEC_PER_SEC, &j),
			 0);
	tether_json_free(j);
	/* by another pid: nobody of that pid listens */
	ck_assert_int_eq(tether_control_query_pid(path, getpid(), "status", tether_clock_real(), TETHER_NSEC_PER_SEC, &j),
			 -ECONNREFUSED);
}
END_TEST

START_TEST(the_supervisor_is_found_without_its_files)
{
	/* a cleaner removed the lock file (and record) under a live server:
	 * it is found by its socket's name, and answers */
	const char *path = tu_path("t.pid");
	pid_t srv = start_server(path, SRV_ECHO, 128);
	ck_assert_int_eq(unlink(lock_of(path)), 0);
	char *req = echoed(path, "status", srv);
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
	 * of it): it is dropped unanswered, with its connection: the client
	 * learns it at once */
	const char *path = tu_path("t.pid");
	start_server(path, SRV_ECHO, 16);
	struct tether_json *j = NULL;
	ck_assert_int_eq(query(path, "status-and-then-some-more", 5000, &j), -ECONNRESET);
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

/* ---- a forger: listens under the pidfile's key, claiming someone's pid -------------- */

struct forger {
	char key[TETHER_CTLNAME_KEY_LEN + 1];
	pid_t claim_pid; /* 0: its own (a true claim) */
	uint64_t claim_start;
	uid_t uid; /* becomes this user first (root only), unless ours */
	int ready_fd, report_fd;
};

static int forger_main(void *arg)
{
	struct forger *f = arg;
	char name[TETHER_CTLNAME_MAX + 1];
	if (f->uid != geteuid() && (setgid(f->uid) < 0 || setuid(f->uid) < 0))
		return 2;
	struct tether_procstat st;
	if (!f->claim_pid && tether_proc_read_stat(getpid(), &st) < 0)
		return 6;
	if (tether_ctlname_make(f->key, f->claim_pid ? f->claim_pid : getpid(),
				f->claim_pid ? f->claim_start : st.start_time, name, sizeof name) < 0)
		return 7;
	int s = listen_as(name);
	if (s < 0)
		return 3;
	if (write(f->ready_fd, "r", 1) != 1)
		return 4;
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		char req[512];
		ssize_t got = recv(c, req, sizeof req, 0);
		if (got > 0) {
			/* a perfectly well-formed answer, from the wrong process */
			static const char forged[] = "{\"state\":\"running\",\"forged\":true}";
			send(c, forged, sizeof forged - 1, MSG_NOSIGNAL);
			int one = 1;
			if (write(f->report_fd, &one, sizeof one) != sizeof one)
				return 5;
		}
		close(c);
	}
}

static struct forger forger;

/* A forger listening as uid under the pidfile's key with the claims of
 * (pid, start) — its own when claim_pid is 0: returns its pid and a pipe
 * that gets an int per request it was asked. */
static pid_t start_forger(const char *pidfile, uid_t uid, pid_t claim_pid, uint64_t claim_start, int *ret_report)
{
	int ready[2], report[2];
	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(report, O_CLOEXEC | O_NONBLOCK), 0);
	forger = (struct forger){
		.claim_pid = claim_pid, .claim_start = claim_start, .uid = uid, .ready_fd = ready[1], .report_fd = report[1]};
	key_of(pidfile, forger.key);
	pid_t pid = tu_fork(forger_main, &forger);
	pt_track(pid);
	close(ready[1]);
	close(report[1]);
	char c;
	ck_assert_msg(read(ready[0], &c, 1) == 1, "forger failed to listen");
	close(ready[0]);
	*ret_report = report[0];
	return pid;
}

static int asked(int report)
{
	int n = 0, one;
	while (read(report, &one, sizeof one) == (ssize_t)sizeof one)
		n++;
	return n;
}

START_TEST(nobody_holds_the_lock)
{
	const char *path = tu_path("t.pid");
	struct tether_json *j = NULL;
	/* no lock file, nobody listening */
	ck_assert_int_eq(query(path, "status", 5000, &j), -ENOENT);
	/* a lock file nobody holds (a SIGKILLed supervisor's) */
	tu_write_file(lock_of(path), "", 0, 0600);
	int64_t t0 = mono_ms();
	ck_assert_int_eq(query(path, "status", 5000, &j), -ECONNREFUSED);
	ck_assert_int_lt(mono_ms() - t0, 4000); /* at once, not at the timeout */
	/* even when some process listens under the pidfile's key, claiming
	 * (truly) its own pid: it is not asked at all */
	int report;
	pid_t forger_pid = start_forger(path, geteuid(), 0, 0, &report);
	t0 = mono_ms();
	ck_assert_int_eq(query(path, "status", 5000, &j), -ECONNREFUSED);
	ck_assert_int_lt(mono_ms() - t0, 4000);
	ck_assert_int_eq(asked(report), 0);
	close(report);
	/* (listening under the key as itself, of our own user, it would be
	 * taken for a supervisor whose files are gone: ctlname.h) */
	kill(forger_pid, SIGKILL);
	tu_wait(forger_pid, 5000);
	/* a holder that does not listen: nobody answers, at once */
	pid_t holder = tu_start_holder(path, false, NULL, NULL);
	pt_track(holder);
	t0 = mono_ms();
	ck_assert_int_eq(query(path, "status", 5000, &j), -ECONNREFUSED);
	ck_assert_int_lt(mono_ms() - t0, 4000);
	ck_assert_ptr_null(j);
}
END_TEST

START_TEST(a_forger_claiming_the_holders_pid_is_not_asked)
{
	/* The lock is held by a process that does not listen; a process of
	 * our own user listens under the pidfile's key with a name that
	 * claims the holder's pid and start time. SO_PEERCRED names the
	 * forger: it is never sent the request, and nothing is believed. */
	const char *path = tu_path("t.pid");
	pid_t holder = tu_start_holder(path, false, NULL, NULL);
	pt_track(holder);
	int report;
	start_forger(path, geteuid(), holder, start_time_of(holder), &report);
	struct tether_json *j = NULL;
	int r = query(path, "status", 1500, &j);
	ck_assert_msg(r == -ECONNREFUSED, "query returned %d (%s)%s", r, strerror(-r),
		      r == 0 ? ": the forged answer was believed" : "");
	ck_assert_ptr_null(j);
	ck_assert_int_eq(asked(report), 0);
	/* nor found by the pidfile's probe once the lock file is gone */
	ck_assert_int_eq(unlink(lock_of(path)), 0);
	struct tether_pidfile_probe p;
	ck_assert_int_eq(tether_pidfile_probe(path, &p), 0);
	ck_assert_msg(!p.restoring || p.rec.pid != holder, "the forger's claim was believed");
	tether_pidfile_probe_done(&p);
	close(report);
}
END_TEST

START_TEST(names_are_drawn_afresh)
{
	/* two listeners for one pidfile in one process: two names, both with
	 * the key, the pid and the start time, and 128 random bits apart */
	char key[TETHER_CTLNAME_KEY_LEN + 1], a[TETHER_CTLNAME_MAX + 1], b[TETHER_CTLNAME_MAX + 1];
	key_of(tu_path("t.pid"), key);
	uint64_t start = start_time_of(getpid());
	int fa = tether_control_listen(key, start, a, sizeof a);
	int fb = tether_control_listen(key, start, b, sizeof b);
	ck_assert_int_ge(fa, 0);
	ck_assert_int_ge(fb, 0);
	ck_assert_str_ne(a, b);
	char k2[TETHER_CTLNAME_KEY_LEN + 1];
	pid_t pid;
	uint64_t st;
	ck_assert_int_eq(tether_ctlname_parse(a, k2, &pid, &st), 0);
	ck_assert_str_eq(k2, key);
	ck_assert_int_eq(pid, getpid());
	ck_assert_uint_eq(st, start);
	/* the name is what the socket is bound to: connecting to it works */
	struct sockaddr_un sa;
	socklen_t len = tether_ctlname_addr(a, &sa);
	int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, len), 0);
	close(c);
	close(fa);
	close(fb);
}
END_TEST

#ifdef TETHER_FAULT_INJECTION
static int bind_taken_once(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
	static int calls;
	(void)name;
	(void)failnum;
	(void)flags;
	*failinfo = (void *)(intptr_t)EADDRINUSE;
	return ++calls == 1;
}
#endif

START_TEST(a_taken_name_is_drawn_again)
{
#ifdef TETHER_FAULT_INJECTION
	/* bind() says the first name is taken: another is drawn, not an error */
	char key[TETHER_CTLNAME_KEY_LEN + 1], name[TETHER_CTLNAME_MAX + 1];
	key_of(tu_path("t.pid"), key);
	fiu_init(0);
	fiu_enable_external("tether/sys/bind", 1, NULL, 0, bind_taken_once);
	int fd = tether_control_listen(key, start_time_of(getpid()), name, sizeof name);
	fiu_disable("tether/sys/bind");
	ck_assert_int_ge(fd, 0);
	close(fd);
#else
	fprintf(stderr, "SKIP a_taken_name_is_drawn_again: needs fault injection\n");
#endif
}
END_TEST

/* ---- the server side ---------------------------------------------------------------- */

struct connect_as {
	uid_t uid;
	char name[TETHER_CTLNAME_MAX + 1];
};

static int connect_as_main(void *arg)
{
	struct connect_as *c = arg;
	struct sockaddr_un sa;
	socklen_t len = tether_ctlname_addr(c->name, &sa);
	bool foreign = c->uid != getuid();
	if (foreign && (setgid(c->uid) < 0 || setuid(c->uid) < 0))
		return 2;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, len) < 0)
		return 3;
	/* a foreign connection may be closed before this send: EPIPE then */
	if (send(s, "status", 6, MSG_NOSIGNAL) != 6 && !foreign)
		return 4;
	/* wait until the server has decided: closed (foreign) or kept */
	char b;
	struct pollfd p = {.fd = s, .events = POLLIN};
	poll(&p, 1, 10000);
	(void)recv(s, &b, 1, MSG_DONTWAIT);
	return 0;
}

static int accept_one(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	return tether_control_accept(fd);
}

START_TEST(server_drops_foreign_uids)
{
	static struct connect_as c;
	char key[TETHER_CTLNAME_KEY_LEN + 1];
	key_of(tu_path("t.pid"), key);
	int fd = tether_control_listen(key, start_time_of(getpid()), c.name, sizeof c.name);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(tether_control_accept(fd), -EAGAIN);
	/* our own uid: accepted, and its request read */
	c.uid = getuid();
	pid_t pid = tu_fork(connect_as_main, &c);
	int conn = accept_one(fd);
	ck_assert_int_ge(conn, 0);
	char buf[128];
	struct pollfd p = {.fd = conn, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_int_eq(tether_control_recv(conn, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "status");
	close(conn);
	ck_assert_int_eq(tu_wait(pid, 10000), 0);
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP server_drops_foreign_uids (foreign part): needs root to connect as another uid\n");
	} else {
		c.uid = 65534;
		pid = tu_fork(connect_as_main, &c);
		ck_assert_int_eq(accept_one(fd), -EPERM);
		ck_assert_int_eq(tu_wait(pid, 10000), 0);
	}
	ck_assert_int_eq(tether_control_accept(fd), -EAGAIN);
	close(fd);
}
END_TEST

START_TEST(another_users_listener_is_never_asked)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP another_users_listener_is_never_asked: needs root to listen as another uid\n");
		return;
	}
	/* nobody listens under the key claiming the holder's pid and start
	 * time (what /proc/net/unix shows anyone): not connected to, not
	 * believed, not waited for — with and without the real server */
	const char *path = tu_path("t.pid");
	pid_t holder = tu_start_holder(path, false, NULL, NULL);
	pt_track(holder);
	int report;
	start_forger(path, 65534, holder, start_time_of(holder), &report);
	struct tether_json *j = NULL;
	int64_t t0 = mono_ms();
	ck_assert_int_eq(query(path, "status", 3000, &j), -ECONNREFUSED);
	ck_assert_int_lt(mono_ms() - t0, 2500);
	ck_assert_int_eq(asked(report), 0);
	/* the pidfile's probe, its lock file gone: nobody is restoring */
	ck_assert_int_eq(unlink(lock_of(path)), 0);
	ck_assert_int_eq(unlink(path), 0);
	struct tether_pidfile_probe p;
	ck_assert_int_eq(tether_pidfile_probe(path, &p), 0);
	ck_assert_int_eq(p.state, TETHER_PIDFILE_STOPPED);
	tether_pidfile_probe_done(&p);
	/* and an acquirer is not kept from starting by it */
	struct tether_pidfile *pf = NULL;
	pid_t h = -1;
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, &h), 1);
	tether_pidfile_free(pf);
	ck_assert_int_eq(asked(report), 0);
	close(report);
}
END_TEST

/* Waits (inotify on its directory) until path exists. */
static bool wait_exists(const char *path, int ms)
{
	int w = tether_pidfile_watch_open(path);
	ck_assert_int_ge(w, 0);
	int64_t deadline = tether_clock_now(tether_clock_real()) + (int64_t)ms * TETHER_NSEC_PER_MSEC;
	bool there;
	while (!(there = tu_exists(path)) && tether_pidfile_watch_wait(w, tether_clock_real(), deadline) > 0)
		;
	close(w);
	return there || tu_exists(path);
}

START_TEST(idle_connections_cannot_shut_others_out)
{
	/* a real supervisor: 12 connections kept open and silent, more than
	 * it holds (8); the least recently used give way, and a question on
	 * a new connection is still answered */
	const char *path = tu_path("t.pid");
	pid_t t = pt_tether_bg(NULL, tu_path("t.err"), "run", "--pidfile", path, "--", TETHER_WORKER, "--ready", NULL);
	ck_assert_msg(wait_exists(path, 10000), "tether wrote no record");
	int idle[12];
	for (int i = 0; i < 12; i++) {
		idle[i] = tether_control_connect(path, t);
		ck_assert_msg(idle[i] >= 0, "connect: %s", strerror(-idle[i]));
	}
	struct tether_json *j = NULL;
	ck_assert_int_eq(query(path, "status", 10000, &j), 0);
	ck_assert_ptr_nonnull(tether_json_get(j, "instances"));
	tether_json_free(j);
	/* the first ones were closed to make room: end of file */
	for (int i = 0; i < 4; i++) {
		struct pollfd p = {.fd = idle[i], .events = POLLIN};
		ck_assert_int_eq(poll(&p, 1, 10000), 1);
		char b;
		ck_assert_int_eq(recv(idle[i], &b, 1, MSG_DONTWAIT), 0);
	}
	/* the most recent one still works, for one question */
	ck_assert_int_eq(send(idle[11], "status", 6, MSG_NOSIGNAL), 6);
	struct pollfd p = {.fd = idle[11], .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	char buf[4096];
	ck_assert_int_gt(recv(idle[11], buf, sizeof buf, 0), 0);
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_int_eq(recv(idle[11], buf, sizeof buf, 0), 0); /* then closed */
	for (int i = 0; i < 12; i++)
		close(idle[i]);
	kill(t, SIGTERM);
	ck_assert_int_eq(tu_wait(t, 10000), 0);
}
END_TEST

/* Reads one message from fd within ms: its length (0: end of file), or -1. */
static ssize_t recv_within(int fd, char *buf, size_t len, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, ms) != 1)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

START_TEST(a_deferred_answer_keeps_its_connection_not_a_place)
{
	/* a real supervisor whose worker takes 3 s to be ready: a restart is
	 * answered late, on its own connection, while a second restart is
	 * refused at once on its, 12 silent connections come and go and a
	 * status is still answered — the restart's connection is neither what
	 * gives way nor what shuts the others out */
	const char *path = tu_path("t.pid");
	pid_t t = pt_tether_bg(NULL, tu_path("t.err"), "run", "--pidfile", path, "--notify-ready", "--",
			       TETHER_WORKER, "--sleep", "3s", "--ready", NULL);
	ck_assert_msg(wait_exists(path, 10000), "tether wrote no record");
	int rs = tether_control_connect(path, t);
	ck_assert_msg(rs >= 0, "connect: %s", strerror(-rs));
	const char *req = "restart 0 60000";
	int64_t t0 = mono_ms();
	ck_assert_int_eq(send(rs, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	/* the first restart cannot be done before the new worker's 3 s */
	struct tether_json *j = NULL;
	ck_assert_int_eq(query(path, "restart 0 1000", 10000, &j), 0);
	const struct tether_json *e = tether_json_get(j, "error");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->string, "a restart is already in progress");
	tether_json_free(j);
	int idle[12];
	for (int i = 0; i < 12; i++) {
		idle[i] = tether_control_connect(path, t);
		ck_assert_msg(idle[i] >= 0, "connect: %s", strerror(-idle[i]));
	}
	ck_assert_int_eq(query(path, "status", 10000, &j), 0);
	ck_assert_ptr_nonnull(tether_json_get(j, "instances"));
	tether_json_free(j);
	/* the first: answered when the restarted worker is ready, then closed */
	char buf[4096];
	ssize_t n = recv_within(rs, buf, sizeof buf - 1, 60000);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, "\"ok\":true") && strstr(buf, "\"restarted\":[0]"), "answer: %s", buf);
	ck_assert_int_ge(mono_ms() - t0, 3000); /* late: after the new worker's sleep */
	ck_assert_int_eq(recv_within(rs, buf, sizeof buf, 10000), 0);
	close(rs);
	for (int i = 0; i < 12; i++)
		close(idle[i]);
	kill(t, SIGTERM);
	ck_assert_int_eq(tu_wait(t, 10000), 0);
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
	tcase_add_test(tc, the_supervisor_is_found_without_its_files);
	tcase_add_test(tc, requests_are_cut_at_the_first_line);
	tcase_add_test(tc, a_first_line_longer_than_the_buffer_is_refused);
	tcase_add_test(tc, a_silent_server_is_a_timeout);
	tcase_add_test(tc, the_wait_is_on_the_callers_clock);
	tcase_add_test(tc, signals_do_not_cut_the_wait_short);
	tcase_add_test(tc, a_reply_that_is_not_json_is_einval);
	tcase_add_test(tc, nobody_holds_the_lock);
	tcase_add_test(tc, a_forger_claiming_the_holders_pid_is_not_asked);
	tcase_add_test(tc, names_are_drawn_afresh);
	tcase_add_test(tc, a_taken_name_is_drawn_again);
	tcase_add_test(tc, server_drops_foreign_uids);
	tcase_add_test(tc, another_users_listener_is_never_asked);
	tcase_add_test(tc, idle_connections_cannot_shut_others_out);
	tcase_add_test(tc, a_deferred_answer_keeps_its_connection_not_a_place);
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
