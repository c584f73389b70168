/* SPDX-License-Identifier: MIT */
/* test_guardian.c — the per-instance guardian (src/guardian.c): it reports
 * exec, exit and an empty tree; TERM and KILL reach every process of its tree,
 * setsid'd double-forked grandchildren included; when its lifeline closes,
 * when its parent is SIGKILLed, and when it is signalled itself, it ends its
 * whole tree and exits; it holds nothing of its parent's but the channel and
 * stdio. Every test runs in both isolation modes: a child subreaper, and PID 1
 * of its own PID namespace (root only; skipped otherwise).
 *
 * The test process is the guardian's parent (as tether is); the guardian forks
 * the worker. Waiting is on the channel (poll), on pidfds and with waitid —
 * never a sleep.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guardian.h"
#include "proc.h"
#include "proctest.h"
#include "spawn.h"
#include "testutil.h"

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *event_name(uint32_t type)
{
	switch (type) {
	case TETHER_GUARDIAN_EXEC_OK: return "EXEC_OK";
	case TETHER_GUARDIAN_EXEC_FAILED: return "EXEC_FAILED";
	case TETHER_GUARDIAN_SPAWN_FAILED: return "SPAWN_FAILED";
	case TETHER_GUARDIAN_EXITED: return "EXITED";
	case TETHER_GUARDIAN_TREE_EMPTY: return "TREE_EMPTY";
	case TETHER_GUARDIAN_SIGNALED: return "SIGNALED";
	default: return "?";
	}
}

/* ---- a guardian under test ----------------------------------------------------------- */

struct gt {
	struct tether_guardian g;
	struct tether_spawn_spec spec;
	int out_fd;
	int proc_fd; /* /proc, given to the guardian as tether gives it */
	int gpidfd;  /* the guardian's pidfd */
};

static enum tether_isolation iso_of(int i)
{
	return i == 0 ? TETHER_ISOLATION_SUBREAPER : TETHER_ISOLATION_PIDNS;
}

static const char *iso_name(int i)
{
	return i == 0 ? "subreaper" : "pidns";
}

/* Starts a guardian for argv in mode _i; false (after printing SKIP) when a
 * PID namespace cannot be made here. */
static bool gt_start(struct gt *t, int i, char *const argv[], const struct tether_spawn_env *env,
		     const char *test)
{
	static const struct tether_spawn_env none = {.instance = 0};
	memset(t, 0, sizeof *t);
	ck_assert_int_eq(tether_spawn_spec_init(&t->spec, argv, env ? env : &none), 0);
	t->out_fd = open(tu_path("guardian.out"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ck_assert_int_ge(t->out_fd, 0);
	t->proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(t->proc_fd, 0);
	int r = tether_guardian_start(&t->spec, iso_of(i), t->out_fd, t->out_fd, t->proc_fd, &t->g);
	if (i == 1 && (r == -EPERM || r == -EINVAL || r == -ENOSPC || r == -EUSERS)) {
		fprintf(stderr, "SKIP %s (pidns): cannot create a PID namespace (%s)\n", test, strerror(-r));
		tether_spawn_spec_done(&t->spec);
		close(t->out_fd);
		close(t->proc_fd);
		return false;
	}
	ck_assert_msg(r == 0, "tether_guardian_start (%s): %s", iso_name(i), strerror(-r));
	pt_track(t->g.pid);
	ck_assert_int_gt(t->g.pid, 1);
	ck_assert_int_ge(t->g.chan, 0);
	ck_assert(t->g.pidns == (i == 1));
	t->gpidfd = pidfd_open(t->g.pid, 0);
	ck_assert_int_ge(t->gpidfd, 0);
	return true;
}

/* The next event within timeout_ms; fails the test otherwise. */
static struct tether_guardian_event gt_event(struct gt *t, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		struct tether_guardian_event ev;
		int r = tether_guardian_recv(&t->g, &ev);
		if (r == 1)
			return ev;
		ck_assert_msg(r == 0, "tether_guardian_recv: %s", strerror(-r));
		int64_t left = deadline - mono_ms();
		ck_assert_msg(left > 0, "no event from the guardian within %d ms", timeout_ms);
		struct pollfd p = {.fd = t->g.chan, .events = POLLIN};
		poll(&p, 1, (int)left);
	}
}

static int32_t gt_expect(struct gt *t, uint32_t type)
{
	struct tether_guardian_event ev = gt_event(t, 15000);
	ck_assert_msg(ev.type == type, "guardian reported %s (%d), expected %s", event_name(ev.type), ev.value,
		      event_name(type));
	return ev.value;
}

static void gt_send(struct gt *t, enum tether_guardian_cmd cmd)
{
	ck_assert_int_eq(tether_guardian_send(&t->g, cmd), 0);
}

/* Waits for the guardian to exit (it is our child) and returns its status. */
static int gt_reap(struct gt *t)
{
	int st = tu_wait(t->g.pid, 15000);
	ck_assert_msg(st != -1, "guardian %d did not exit", (int)t->g.pid);
	return st;
}

static void gt_done(struct gt *t)
{
	tether_guardian_let_go(&t->g);
	if (t->gpidfd >= 0)
		close(t->gpidfd);
	tether_spawn_spec_done(&t->spec);
	close(t->out_fd);
	close(t->proc_fd);
}

/* The host pid of a process the guardian named by its pid in the guardian's
 * namespace (a child of the guardian: the worker, or an orphan it adopted). */
static pid_t host_pid(const struct gt *t, pid_t inner)
{
	pid_t host = 0;
	int r = tether_proc_find_nspid_child(t->g.pid, inner, &host);
	ck_assert_msg(r == 0, "no child of guardian %d has inner pid %d: %s", (int)t->g.pid, (int)inner,
		      strerror(-r));
	if (!t->g.pidns)
		ck_assert_int_eq(host, inner);
	return host;
}

static bool gone_within(int pidfd, int timeout_ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - mono_ms();
		int r = poll(&p, 1, left > 0 ? (int)left : 0);
		if (r > 0)
			return true;
		if (r == 0)
			return false;
	}
}

static int open_pidfd(pid_t pid)
{
	int fd = pidfd_open(pid, 0);
	ck_assert_msg(fd >= 0, "pidfd_open(%d): %s", (int)pid, strerror(errno));
	return fd;
}

/* A worker with a setsid'd, double-forked grandchild (worker
 * --setsid-grandchild PIDFILE --record REC): returns once both are in place,
 * with pidfds of both (by host pid). */
struct tree {
	pid_t worker, grandchild; /* host pids */
	int worker_fd, grandchild_fd;
};

static char *escape_argv[8];

static char *const *escaping_worker(bool ignore_term)
{
	int n = 0;
	escape_argv[n++] = TETHER_WORKER;
	if (ignore_term)
		escape_argv[n++] = "--ignore-term"; /* first: the grandchild inherits it */
	escape_argv[n++] = "--setsid-grandchild";
	escape_argv[n++] = (char *)tu_path("gc.pid");
	escape_argv[n++] = "--record";
	escape_argv[n++] = (char *)tu_path("rec");
	escape_argv[n] = NULL;
	tu_write_file(tu_path("rec"), "", 0, 0644);
	return escape_argv;
}

static pid_t read_pid_file(const char *path)
{
	char *text = tu_read_file(path, NULL);
	ck_assert_msg(text != NULL, "%s missing", path);
	pid_t pid = (pid_t)atoi(text);
	free(text);
	ck_assert_int_gt(pid, 0);
	return pid;
}

/* Records pid for cleanup before anything can fail, if it is one of ours
 * (carries our run marker: in a PID namespace an inner pid names some other
 * process out here, which must never be touched). */
static void track_if_ours(pid_t pid)
{
	char val[64];
	if (tether_proc_environ_get(pid, "TETHER_TEST_RUN", val, sizeof val) == 1 && strcmp(val, tu_marker) == 0)
		pt_track(pid);
}

static void tree_start(struct gt *t, struct tree *tr)
{
	gt_send(t, TETHER_GUARDIAN_SPAWN);
	pid_t worker = gt_expect(t, TETHER_GUARDIAN_EXEC_OK); /* our view of it, also from a namespace */
	ck_assert_int_gt(worker, 1);
	track_if_ours(worker);
	/* --record runs after the grandchild wrote its pid file */
	ck_assert_msg(pt_wait_file_size(tu_path("rec"), 1, 15000), "the worker never got past --setsid-grandchild");
	pid_t inner_gc = read_pid_file(tu_path("gc.pid"));
	track_if_ours(inner_gc);
	struct tether_procstat wst;
	ck_assert_int_eq(tether_proc_read_stat(worker, &wst), 0);
	ck_assert_int_eq(wst.ppid, t->g.pid);
	tr->worker = worker;
	tr->grandchild = host_pid(t, inner_gc);
	pt_track(tr->worker);
	pt_track(tr->grandchild);
	tr->worker_fd = open_pidfd(tr->worker);
	tr->grandchild_fd = open_pidfd(tr->grandchild);
	/* escaped indeed: a session (and group) of its own */
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(tr->grandchild, &st), 0);
	ck_assert_int_eq(st.sid, tr->grandchild);
	ck_assert_int_ne(st.pgid, tr->worker);
}

static void tree_assert_gone(struct tree *tr, const char *how)
{
	ck_assert_msg(gone_within(tr->worker_fd, 15000), "%s: worker %d survived", how, (int)tr->worker);
	ck_assert_msg(gone_within(tr->grandchild_fd, 15000), "%s: setsid'd grandchild %d survived", how,
		      (int)tr->grandchild);
	close(tr->worker_fd);
	close(tr->grandchild_fd);
}

/* ---- events ------------------------------------------------------------------------- */

START_TEST(spawn_exec_exit_tree_empty)
{
	struct gt t;
	char *argv[] = {TETHER_WORKER, "--exit", "7", NULL};
	if (!gt_start(&t, _i, argv, NULL, "spawn_exec_exit_tree_empty"))
		return;
	/* twice: a guardian restarts its worker as often as told */
	for (int round = 0; round < 2; round++) {
		gt_send(&t, TETHER_GUARDIAN_SPAWN);
		int32_t pid = gt_expect(&t, TETHER_GUARDIAN_EXEC_OK);
		/* 0: a worker reaped before its exec was reported has no pid left
		 * to translate out of the namespace (tether_guardian_recv) */
		ck_assert_msg(pid > 1 || (t.g.pidns && pid == 0), "EXEC_OK pid %d", (int)pid);
		int32_t status = gt_expect(&t, TETHER_GUARDIAN_EXITED);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 7, "EXITED status 0x%x, want exit 7",
			      status);
		gt_expect(&t, TETHER_GUARDIAN_TREE_EMPTY);
	}
	/* QUIT: the guardian exits 0 */
	gt_send(&t, TETHER_GUARDIAN_QUIT);
	int st = gt_reap(&t);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "guardian status 0x%x", st);
	gt_done(&t);
}
END_TEST

START_TEST(exec_failure_then_exit_then_tree_empty)
{
	struct gt t;
	char *argv[] = {"/nonexistent/tether-test-worker", NULL};
	if (!gt_start(&t, _i, argv, NULL, "exec_failure_then_exit_then_tree_empty"))
		return;
	gt_send(&t, TETHER_GUARDIAN_SPAWN);
	ck_assert_int_eq(gt_expect(&t, TETHER_GUARDIAN_EXEC_FAILED), ENOENT);
	int32_t status = gt_expect(&t, TETHER_GUARDIAN_EXITED);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 127, "EXITED status 0x%x, want exit 127", status);
	gt_expect(&t, TETHER_GUARDIAN_TREE_EMPTY);
	/* the guardian lives on */
	ck_assert(!gone_within(t.gpidfd, 0));
	gt_send(&t, TETHER_GUARDIAN_QUIT);
	gt_reap(&t);
	gt_done(&t);
}
END_TEST

/* ---- TERM, KILL ------------------------------------------------------------------------- */

START_TEST(term_and_kill_reach_a_setsid_grandchild)
{
	/* _i: bit 0 the mode, bit 1 KILL (to a worker that ignores TERM) */
	int mode = _i & 1;
	bool use_kill = _i & 2;
	struct gt t;
	if (!gt_start(&t, mode, escaping_worker(use_kill), NULL, "term_and_kill_reach_a_setsid_grandchild"))
		return;
	struct tree tr;
	tree_start(&t, &tr);
	gt_send(&t, use_kill ? TETHER_GUARDIAN_KILL : TETHER_GUARDIAN_TERM);
	int32_t status = gt_expect(&t, TETHER_GUARDIAN_EXITED);
	int sig = use_kill ? SIGKILL : SIGTERM;
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig, "%s: EXITED status 0x%x, want signal %d",
		      iso_name(mode), status, sig);
	gt_expect(&t, TETHER_GUARDIAN_TREE_EMPTY);
	tree_assert_gone(&tr, use_kill ? "KILL" : "TERM");
	/* the guardian itself stays, ready for the next start */
	ck_assert(!gone_within(t.gpidfd, 0));
	gt_send(&t, TETHER_GUARDIAN_QUIT);
	gt_reap(&t);
	gt_done(&t);
}
END_TEST

/* ---- a signal for the worker (`tether signal`) ----------------------------------------- */

/* SIGNAL reaches the worker alone, not the rest of its tree (a setsid'd
 * grandchild with the default disposition would die of it), and is answered
 * 0; a signal that ends the worker is then an exit like any other; with no
 * worker the answer is ESRCH, and the guardian lives on. */
START_TEST(signal_reaches_the_worker_alone)
{
	struct gt t;
	char *argv[] = {TETHER_WORKER,  "--setsid-grandchild", (char *)tu_path("gc.pid"), "--on-signal", "USR1",
			"--record",     (char *)tu_path("rec"), NULL};
	tu_write_file(tu_path("rec"), "", 0, 0644);
	if (!gt_start(&t, _i, argv, NULL, "signal_reaches_the_worker_alone"))
		return;
	ck_assert_int_eq(tether_guardian_send_signal(&t.g, SIGUSR1), 0);
	ck_assert_int_eq(gt_expect(&t, TETHER_GUARDIAN_SIGNALED), ESRCH); /* no worker yet */
	gt_send(&t, TETHER_GUARDIAN_SPAWN);
	pid_t worker = gt_expect(&t, TETHER_GUARDIAN_EXEC_OK);
	track_if_ours(worker);
	ck_assert_msg(pt_wait_file_size(tu_path("rec"), 1, 15000), "the worker never recorded its exec");
	pid_t gc = host_pid(&t, read_pid_file(tu_path("gc.pid")));
	pt_track(gc);
	int gc_fd = open_pidfd(gc);
	struct stat st;
	ck_assert_int_eq(stat(tu_path("rec"), &st), 0);
	size_t before = (size_t)st.st_size;
	ck_assert_int_eq(tether_guardian_send_signal(&t.g, SIGUSR1), 0);
	ck_assert_int_eq(gt_expect(&t, TETHER_GUARDIAN_SIGNALED), 0);
	ck_assert_msg(pt_wait_file_size(tu_path("rec"), before + 1, 15000), "the worker never noted SIGUSR1");
	char *rec = tu_read_file(tu_path("rec"), NULL);
	ck_assert_msg(strstr(rec, "\nsignal USR1 ") != NULL, "record: %s", rec);
	free(rec);
	/* the grandchild dies of USR1 by default: it must not have had one */
	ck_assert_msg(!gone_within(gc_fd, 200), "the signal reached the worker's grandchild too");
	/* a signal that ends the worker: its exit, then its tree's end */
	ck_assert_int_eq(tether_guardian_send_signal(&t.g, SIGINT), 0);
	ck_assert_int_eq(gt_expect(&t, TETHER_GUARDIAN_SIGNALED), 0);
	int32_t status = gt_expect(&t, TETHER_GUARDIAN_EXITED);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "EXITED status 0x%x, want SIGINT", status);
	gt_expect(&t, TETHER_GUARDIAN_TREE_EMPTY);
	ck_assert(gone_within(gc_fd, 15000));
	close(gc_fd);
	ck_assert_int_eq(tether_guardian_send_signal(&t.g, SIGUSR1), 0);
	ck_assert_int_eq(gt_expect(&t, TETHER_GUARDIAN_SIGNALED), ESRCH);
	ck_assert_int_eq(tether_guardian_send_signal(&t.g, 0), -EINVAL);
	ck_assert_int_eq(tether_guardian_send_signal(&t.g, 256), -EINVAL);
	ck_assert(!gone_within(t.gpidfd, 0));
	gt_send(&t, TETHER_GUARDIAN_QUIT);
	gt_reap(&t);
	gt_done(&t);
}
END_TEST

/* ---- the guardian's own end ---------------------------------------------------------- */

START_TEST(closed_lifeline_kills_the_tree)
{
	struct gt t;
	if (!gt_start(&t, _i, escaping_worker(true), NULL, "closed_lifeline_kills_the_tree"))
		return;
	struct tree tr;
	tree_start(&t, &tr);
	/* tether gone: its end of the socket pair closes */
	tether_guardian_let_go(&t.g);
	ck_assert_int_eq(t.g.chan, -1);
	int st = gt_reap(&t);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "guardian status 0x%x", st);
	tree_assert_gone(&tr, "lifeline closed");
	gt_done(&t);
}
END_TEST

START_TEST(signalled_guardian_kills_its_tree)
{
	/* _i: bit 0 the mode; bit 1 SIGHUP instead of SIGTERM */
	int mode = _i & 1;
	int sig = _i & 2 ? SIGHUP : SIGTERM;
	struct gt t;
	if (!gt_start(&t, mode, escaping_worker(true), NULL, "signalled_guardian_kills_its_tree"))
		return;
	struct tree tr;
	tree_start(&t, &tr);
	ck_assert_int_eq(pidfd_send_signal(t.gpidfd, sig, NULL, 0), 0);
	int st = gt_reap(&t);
	/* a clean end (its own decision), not death by the signal */
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "guardian status 0x%x after signal %d", st, sig);
	tree_assert_gone(&tr, "guardian signalled");
	gt_done(&t);
}
END_TEST

/* The "tether" between the test and the guardian, so that it can be
 * SIGKILLed: starts the guardian and the escaping worker, reports the three
 * host pids, then idles. */
struct middle_report {
	pid_t guardian, worker, grandchild;
	int ok;
};

static int middle_mode;

static int middle_main(void *arg)
{
	int fd = *(int *)arg;
	struct middle_report rep = {0};
	struct gt t;
	/* a skip is reported as ok = 2 */
	if (!gt_start(&t, middle_mode, escaping_worker(true), NULL, "parent_sigkill_kills_the_tree")) {
		rep.ok = 2;
	} else {
		struct tree tr;
		tree_start(&t, &tr);
		rep = (struct middle_report){t.g.pid, tr.worker, tr.grandchild, 1};
	}
	if (write(fd, &rep, sizeof rep) != sizeof rep)
		return 1;
	for (;;)
		pause();
}

START_TEST(parent_sigkill_kills_the_tree)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	middle_mode = _i;
	pid_t middle = tu_fork(middle_main, &p[1]);
	pt_track(middle);
	close(p[1]);
	struct middle_report rep;
	ck_assert_int_eq(read(p[0], &rep, sizeof rep), (ssize_t)sizeof rep);
	close(p[0]);
	if (rep.ok == 2) {
		kill(middle, SIGKILL);
		tu_wait(middle, 5000);
		return;
	}
	ck_assert_int_eq(rep.ok, 1);
	pt_track(rep.guardian);
	pt_track(rep.worker);
	pt_track(rep.grandchild);
	int gfd = open_pidfd(rep.guardian);
	struct tree tr = {rep.worker, rep.grandchild, open_pidfd(rep.worker), open_pidfd(rep.grandchild)};
	/* tether dies without a word */
	ck_assert_int_eq(kill(middle, SIGKILL), 0);
	ck_assert(tu_wait(middle, 10000) != -1);
	ck_assert_msg(gone_within(gfd, 15000), "%s: guardian %d outlived its SIGKILLed parent", iso_name(_i),
		      (int)rep.guardian);
	close(gfd);
	tree_assert_gone(&tr, "parent SIGKILLed");
}
END_TEST

START_TEST(guardian_sigkill)
{
	struct gt t;
	if (!gt_start(&t, _i, escaping_worker(true), NULL, "guardian_sigkill"))
		return;
	struct tree tr;
	tree_start(&t, &tr);
	ck_assert_int_eq(pidfd_send_signal(t.gpidfd, SIGKILL, NULL, 0), 0);
	int st = gt_reap(&t);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	if (_i == 1) {
		/* pidns: the death of a namespace's init kills the namespace */
		tree_assert_gone(&tr, "guardian (namespace init) SIGKILLed");
	} else {
		/* subreaper: the worker dies by its own PR_SET_PDEATHSIG; its
		 * escaped grandchild is the documented gap (tether, itself a
		 * subreaper, or the next run's sweep ends it): end it here */
		ck_assert_msg(gone_within(tr.worker_fd, 15000), "worker %d outlived its SIGKILLed guardian",
			      (int)tr.worker);
		pidfd_send_signal(tr.grandchild_fd, SIGKILL, NULL, 0);
		ck_assert(gone_within(tr.grandchild_fd, 15000));
		close(tr.worker_fd);
		close(tr.grandchild_fd);
	}
	gt_done(&t);
}
END_TEST

/* ---- what the guardian holds ------------------------------------------------------------ */

/* The fds of pid, in order, into fds (returns how many). */
static int list_fds(pid_t pid, int *fds, int max)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	ck_assert_msg(d != NULL, "opendir %s: %s", path, strerror(errno));
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && n < max)
			fds[n++] = atoi(de->d_name);
	closedir(d);
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && fds[k - 1] > fds[k]; k--) {
			int x = fds[k];
			fds[k] = fds[k - 1];
			fds[k - 1] = x;
		}
	return n;
}

static void fd_target(pid_t pid, int fd, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
	ssize_t n = readlink(path, buf, len - 1);
	ck_assert_msg(n > 0, "readlink %s: %s", path, strerror(errno));
	buf[n] = '\0';
}

/* Targets of every fd of ours ("/proc/self/fd/N" links), newline-separated. */
static char *our_fd_targets(void)
{
	int fds[256];
	int n = list_fds(getpid(), fds, 256);
	size_t cap = 64 * 1024, len = 0;
	char *out = calloc(1, cap);
	for (int i = 0; i < n; i++) {
		char t[512], path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
		ssize_t k = readlink(path, t, sizeof t - 1);
		if (k <= 0)
			continue; /* the directory list's own fd, gone */
		t[k] = '\0';
		len += (size_t)snprintf(out + len, cap - len, "%s\n", t);
	}
	return out;
}

START_TEST(guardian_holds_only_its_channel_and_stdio)
{
	/* what tether holds: a lock, sockets, pipes, files — some without
	 * O_CLOEXEC, which a fork (no exec) would keep anyway */
	int lock = open(tu_path("t.pid.lock"), O_RDWR | O_CREAT, 0644);
	int pp[2], sp[2];
	ck_assert_int_eq(pipe(pp), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
	ck_assert_int_ge(dup2(lock, 40), 0);
	ck_assert_int_ge(dup2(pp[0], 300), 0);
	int cloexec = open(tu_path("journal"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(cloexec, 0);
	/* and signals it ignores (SIGPIPE, from setup) and blocks */
	signal(SIGUSR2, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	struct gt t;
	/* --record, then --list-fds: the list (renamed into place after its
	 * descriptor is closed) appears once the worker has closed the record
	 * file too; the worker then idles. Waiting on the record alone saw its
	 * descriptor, fd 3, in the worker under load: written, not yet closed. */
	char *argv[] = {TETHER_WORKER, "--record", (char *)tu_path("rec"), "--list-fds", (char *)tu_path("fds"), NULL};
	if (!gt_start(&t, _i, argv, NULL, "guardian_holds_only_its_channel_and_stdio"))
		return;
	gt_send(&t, TETHER_GUARDIAN_SPAWN);
	pid_t worker = gt_expect(&t, TETHER_GUARDIAN_EXEC_OK);
	ck_assert_int_gt(worker, 1);
	pt_track(worker);
	/* the worker is past its dynamic loader (whose library fds come and
	 * go right after exec), its own files are closed, and it idles; what it
	 * saw itself is what it inherited: 0, 1, 2 */
	ck_assert(pt_wait_file_present(tu_path("fds"), 15000));
	char *seen = tu_read_file(tu_path("fds"), NULL);
	ck_assert_ptr_nonnull(seen);
	ck_assert_str_eq(seen, "0 1 2\n");
	free(seen);

	/* The guardian: 0 (inherited stdin), 1 and 2 (out_fd/err_fd), 3 (the
	 * channel), 4 (/proc, which it was given); any other fd is one it made
	 * itself after closing the rest (its signalfd, an exec pipe it is about
	 * to close), never one of ours. */
	char target[512], out[512];
	fd_target(getpid(), t.out_fd, out, sizeof out);
	fd_target(t.g.pid, 1, target, sizeof target);
	ck_assert_str_eq(target, out);
	fd_target(t.g.pid, 2, target, sizeof target);
	ck_assert_str_eq(target, out);
	fd_target(t.g.pid, 3, target, sizeof target);
	ck_assert_msg(strncmp(target, "socket:[", 8) == 0, "guardian fd 3 is %s, want the channel", target);
	char *ours = our_fd_targets();
	int fds[64];
	int n = list_fds(t.g.pid, fds, 64);
	char list[256] = "";
	for (int i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), " %d", fds[i]);
	ck_assert_msg(n >= 5 && n <= 7 && fds[0] == 0 && fds[1] == 1 && fds[2] == 2 && fds[3] == 3 && fds[4] == 4,
		      "guardian %d holds fds:%s (want 0 1 2 3 4, its signalfd, maybe its exec pipe)", (int)t.g.pid,
		      list);
	fd_target(t.g.pid, 4, target, sizeof target);
	ck_assert_str_eq(target, "/proc");
	for (int i = 5; i < n; i++) {
		fd_target(t.g.pid, fds[i], target, sizeof target);
		char line[520];
		snprintf(line, sizeof line, "%s\n", target);
		ck_assert_msg(strstr(ours, line) == NULL, "guardian %d holds fd %d = %s, one of its parent's", (int)t.g.pid,
			      fds[i], target);
	}
	free(ours);

	/* the worker: 0, 1, 2 only (G5) */
	n = list_fds(worker, fds, 64);
	list[0] = '\0';
	for (int i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), " %d", fds[i]);
	ck_assert_msg(n == 3 && fds[0] == 0 && fds[1] == 1 && fds[2] == 2, "worker holds fds:%s (want 0 1 2)", list);
	fd_target(worker, 0, target, sizeof target);
	ck_assert_str_eq(target, "/dev/null");
	/* the guardian leads a process group of its own (a SIGKILL of tether's
	 * group must not reach it), and so does the worker */
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(t.g.pid, &st), 0);
	ck_assert_int_eq(st.pgid, t.g.pid);
	ck_assert_int_eq(tether_proc_read_stat(worker, &st), 0);
	ck_assert_int_eq(st.pgid, worker);
	/* what tether ignores and blocks, the worker does not */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)worker);
	char *status = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(status);
	ck_assert_msg(strstr(status, "\nSigIgn:\t0000000000000000\n") != NULL, "worker ignores signals: %s",
		      strstr(status, "SigIgn"));
	ck_assert_msg(strstr(status, "\nSigBlk:\t0000000000000000\n") != NULL, "worker blocks signals: %s",
		      strstr(status, "SigBlk"));
	free(status);
	gt_send(&t, TETHER_GUARDIAN_QUIT);
	gt_reap(&t);
	gt_done(&t);
	close(lock);
	close(40);
	close(300);
	close(cloexec);
}
END_TEST

START_TEST(pidns_worker_has_an_inner_pid)
{
	struct gt t;
	const char *envfile = tu_path("env.txt");
	tu_write_file(tu_path("rec"), "", 0, 0644);
	char *argv[] = {TETHER_WORKER, "--env", (char *)envfile, "--record", (char *)tu_path("rec"), NULL};
	const struct tether_spawn_env env = {.instance = 2, .watchdog_ns = INT64_C(5000000000)};
	if (!gt_start(&t, 1, argv, &env, "pidns_worker_has_an_inner_pid"))
		return;
	/* the guardian is pid 1 of its namespace */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)t.g.pid);
	char *status = tu_read_file(path, NULL);
	char want[64];
	snprintf(want, sizeof want, "NSpid:\t%d\t1\n", (int)t.g.pid);
	ck_assert_msg(strstr(status, want) != NULL, "guardian's status lacks \"%s\"", want);
	free(status);
	gt_send(&t, TETHER_GUARDIAN_SPAWN);
	/* EXEC_OK names the worker as we see it: the guardian sends its inner
	 * pid, which the kernel translates (or tether_guardian_recv looks up) */
	pid_t host = gt_expect(&t, TETHER_GUARDIAN_EXEC_OK);
	ck_assert_int_gt(host, 1);
	pt_track(host);
	ck_assert(pt_wait_file_size(tu_path("rec"), 1, 15000));
	struct tether_procstat wst;
	ck_assert_int_eq(tether_proc_read_stat(host, &wst), 0);
	ck_assert_int_eq(wst.ppid, t.g.pid);
	/* /proc names it by both: ours, then the namespace's */
	snprintf(path, sizeof path, "/proc/%d/status", (int)host);
	status = tu_read_file(path, NULL);
	snprintf(want, sizeof want, "NSpid:\t%d\t", (int)host);
	char *ns = strstr(status, want);
	ck_assert_msg(ns != NULL, "worker's status lacks \"%s\"", want);
	pid_t inner = (pid_t)atoi(ns + strlen(want));
	ck_assert_int_gt(inner, 1);
	ck_assert_int_ne(host, inner);
	ck_assert_int_eq(host_pid(&t, inner), host);
	free(status);
	/* the worker knows itself by its inner pid (WATCHDOG_PID, its record) */
	char *text = tu_read_file(envfile, NULL);
	snprintf(want, sizeof want, "\nWATCHDOG_PID=%d\n", (int)inner);
	ck_assert_msg(text && strstr(text, want), "worker env lacks WATCHDOG_PID=%d", (int)inner);
	free(text);
	text = tu_read_file(tu_path("rec"), NULL);
	snprintf(want, sizeof want, "exec %d ", (int)inner);
	ck_assert_msg(strncmp(text, want, strlen(want)) == 0, "record \"%s\", want \"%s...\"", text, want);
	free(text);
	gt_send(&t, TETHER_GUARDIAN_KILL);
	gt_expect(&t, TETHER_GUARDIAN_EXITED);
	gt_expect(&t, TETHER_GUARDIAN_TREE_EMPTY);
	gt_send(&t, TETHER_GUARDIAN_QUIT);
	gt_reap(&t);
	gt_done(&t);
}
END_TEST

START_TEST(send_after_close_is_epipe)
{
	struct gt t;
	char *argv[] = {TETHER_WORKER, NULL};
	if (!gt_start(&t, _i, argv, NULL, "send_after_close_is_epipe"))
		return;
	/* nothing pending: 0, not an error */
	struct tether_guardian_event ev;
	ck_assert_int_eq(tether_guardian_recv(&t.g, &ev), 0);
	gt_send(&t, TETHER_GUARDIAN_QUIT);
	gt_reap(&t);
	/* the guardian is gone: end of file */
	ck_assert_int_eq(tether_guardian_recv(&t.g, &ev), -EPIPE);
	tether_guardian_let_go(&t.g);
	tether_guardian_let_go(&t.g); /* twice is harmless */
	ck_assert_int_eq(tether_guardian_send(&t.g, TETHER_GUARDIAN_SPAWN), -EPIPE);
	ck_assert_int_eq(tether_guardian_recv(&t.g, &ev), -EPIPE);
	gt_done(&t);
}
END_TEST

/* ---- G9: calls that keep failing ------------------------------------------------------- */
#ifdef TETHER_FAULT_INJECTION

/* A guardian inherits the fault points enabled when it is forked: enable the
 * point before gt_start, failing nothing yet (the counts are shared, so the
 * rule can be changed later from here). */
static void pre_arm(const char *point)
{
	tu_fault_arm(point, EIO, UINT_MAX, 0, TU_FAULT_OTHERS);
}

/* Fails calls from..to (0: for ever) of the pre-armed point in the guardian
 * and its children, never in the test process. */
static void arm(const char *point, int err, unsigned from, unsigned to)
{
	tu_fault_arm(point, err, from, to, TU_FAULT_OTHERS);
}

/* Reads events until the guardian's end of file: true if it came within
 * timeout_ms. */
static bool gt_wait_eof(struct gt *t, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		struct tether_guardian_event ev;
		int r = tether_guardian_recv(&t->g, &ev);
		if (r == -EPIPE)
			return true;
		if (r == 1)
			continue;
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = t->g.chan, .events = POLLIN};
		poll(&p, 1, (int)left);
	}
}

static void gt_assert_exits_within(struct gt *t, int timeout_ms, const char *what)
{
	ck_assert_msg(gone_within(t->gpidfd, timeout_ms), "%s (%s): the guardian did not end within %d ms "
		      "(%u calls of the failing point)", what, iso_name(t->g.pidns), timeout_ms, tu_fault_calls());
	gt_reap(t);
}

static void tree_assert_gone_within(struct tree *tr, int timeout_ms, const char *how)
{
	ck_assert_msg(gone_within(tr->worker_fd, timeout_ms), "%s: worker %d survived", how, (int)tr->worker);
	ck_assert_msg(gone_within(tr->grandchild_fd, timeout_ms), "%s: setsid'd grandchild %d survived", how,
		      (int)tr->grandchild);
	close(tr->worker_fd);
	close(tr->grandchild_fd);
}

START_TEST(g9_lifeline_read_eagain_is_still_the_end)
{
	/* C: a read of the lifeline failing EAGAIN for ever hid its end of
	 * file: the guardian spun (4 M reads) and, in subreaper mode, its tree
	 * outlived tether. A hung-up lifeline with nothing to read is the end,
	 * and the tree is found without reading /proc. */
	struct gt t;
	pre_arm("tether/sys/read");
	if (!gt_start(&t, _i, escaping_worker(true), NULL, "g9_lifeline_read_eagain_is_still_the_end"))
		return;
	struct tree tr;
	tree_start(&t, &tr);
	arm("tether/sys/read", EAGAIN, 1, 0);
	tether_guardian_let_go(&t.g);
	gt_assert_exits_within(&t, 3000, "lifeline closed, reads failing EAGAIN");
	tree_assert_gone_within(&tr, 2000, "lifeline closed, reads failing EAGAIN");
	ck_assert_msg(tu_fault_calls() <= 200, "%u reads", tu_fault_calls());
	gt_done(&t);
}
END_TEST

START_TEST(g9_unreadable_signalfd_ends_the_tree)
{
	/* C: SIGCHLD pending on a signalfd whose reads fail (EIO; EINTR, each
	 * read SYS_EINTR_MAX calls): the wakeups that read nothing are counted,
	 * and the guardian ends its tree rather than spin. */
	int mode = _i & 1, err = _i & 2 ? EINTR : EIO;
	struct gt t;
	pre_arm("tether/sys/read");
	if (!gt_start(&t, mode, escaping_worker(true), NULL, "g9_unreadable_signalfd_ends_the_tree"))
		return;
	struct tree tr;
	tree_start(&t, &tr);
	arm("tether/sys/read", err, 1, 0);
	ck_assert_int_eq(pidfd_send_signal(tr.worker_fd, SIGKILL, NULL, 0), 0);
	gt_assert_exits_within(&t, 3000, "signalfd unreadable");
	tree_assert_gone_within(&tr, 2000, "signalfd unreadable");
	/* 100 idle wakeups, then the last act's few reads (its walk of
	 * /proc, one drain): x16 at EINTR */
	ck_assert_msg(tu_fault_calls() <= (100 + 50) * 16, "%u reads", tu_fault_calls());
	gt_done(&t);
}
END_TEST

START_TEST(g9_proc_walk_failing_once_still_ends_the_tree)
{
	/* D (subreaper): one failed open or getdents in the /proc walk left
	 * the whole tree unsignalled, and the guardian waited (blocking) for
	 * children nobody had killed, for ever. */
	static const char *const points[] = {"tether/sys/getdents", "tether/sys/open"};
	const char *point = points[_i];
	struct gt t;
	pre_arm(point);
	if (!gt_start(&t, 0, escaping_worker(true), NULL, "g9_proc_walk_failing_once_still_ends_the_tree"))
		return;
	struct tree tr;
	tree_start(&t, &tr);
	arm(point, EIO, 1, 1);
	tether_guardian_let_go(&t.g);
	gt_assert_exits_within(&t, 3000, point);
	tree_assert_gone_within(&tr, 2000, point);
	ck_assert_int_eq(tu_fault_failed(), 1);
	gt_done(&t);
}
END_TEST

START_TEST(g9_proc_unopenable_or_unreadable_still_ends_the_tree)
{
	/* D (subreaper), the lifeline closed while /proc keeps failing:
	 * nothing can be opened (EMFILE), or every /proc read says ESRCH (the
	 * walk then finds nobody, without an error). The guardian still finds
	 * its own children — the setsid'd grandchild it adopted among them —
	 * in the /proc descriptor tether gave it, asks waitid whether each is
	 * its own, and kills them by number: the whole tree ends. */
	static const struct {
		const char *point;
		int err;
	} faults[] = {{"tether/sys/open", EMFILE}, {"tether/sys/read", ESRCH}, {"tether/sys/getdents", EIO}};
	const char *point = faults[_i].point;
	struct gt t;
	pre_arm(point);
	if (!gt_start(&t, 0, escaping_worker(true), NULL, "g9_proc_unopenable_or_unreadable_still_ends_the_tree"))
		return;
	struct tree tr;
	tree_start(&t, &tr);
	arm(point, faults[_i].err, 1, 0);
	tether_guardian_let_go(&t.g);
	tree_assert_gone_within(&tr, 3000, point);
	gt_assert_exits_within(&t, 3000, point);
	gt_done(&t);
}
END_TEST

START_TEST(g9_unreapable_worker_ends_the_tree)
{
	/* G: waitid failing after the exec (ECHILD while the worker is
	 * unreaped, which cannot be true; EINVAL; EINTR): nothing was ever
	 * reported, and a stop waited for the worker's exit until abandoned.
	 * The reap is retried a few times, then the tree ended: tether reads
	 * the guardian's end within a second. */
	static const int errs[] = {ECHILD, EINVAL, EINTR};
	int mode = _i & 1, err = errs[_i >> 1];
	struct gt t;
	char *argv[] = {TETHER_WORKER, NULL};
	pre_arm("tether/sys/waitid");
	if (!gt_start(&t, mode, argv, NULL, "g9_unreapable_worker_ends_the_tree"))
		return;
	gt_send(&t, TETHER_GUARDIAN_SPAWN);
	pid_t worker = gt_expect(&t, TETHER_GUARDIAN_EXEC_OK);
	int wfd = open_pidfd(worker);
	arm("tether/sys/waitid", err, 1, 0);
	gt_send(&t, TETHER_GUARDIAN_TERM);
	ck_assert_msg(gt_wait_eof(&t, 2000), "%s, waitid failing %s: no end from the guardian within 2 s",
		      iso_name(mode), strerror(err));
	gt_assert_exits_within(&t, 2000, "waitid failing");
	ck_assert(gone_within(wfd, 2000));
	close(wfd);
	ck_assert_msg(tu_fault_calls() <= 40 * 16, "%u waitids", tu_fault_calls());
	gt_done(&t);
}
END_TEST

START_TEST(g9_pidns_kill_failing_ends_the_namespace)
{
	/* G (pidns): a KILL that cannot be delivered left the worker running
	 * until tether's stop was abandoned; in a namespace the guardian's own
	 * exit is the kill that cannot fail. */
	struct gt t;
	char *argv[] = {TETHER_WORKER, "--ignore-term", NULL};
	pre_arm("tether/sys/kill");
	if (!gt_start(&t, 1, argv, NULL, "g9_pidns_kill_failing_ends_the_namespace"))
		return;
	gt_send(&t, TETHER_GUARDIAN_SPAWN);
	pid_t worker = gt_expect(&t, TETHER_GUARDIAN_EXEC_OK);
	int wfd = open_pidfd(worker);
	arm("tether/sys/kill", EPERM, 1, 0);
	gt_send(&t, TETHER_GUARDIAN_KILL);
	gt_assert_exits_within(&t, 2000, "kill failing EPERM");
	ck_assert_msg(gone_within(wfd, 2000), "worker %d survived", (int)worker);
	close(wfd);
	gt_done(&t);
}
END_TEST

START_TEST(g9_a_report_that_fails_is_never_lost_silently)
{
	/* A report failing EPIPE while tether still holds the lifeline was
	 * taken for a dead tether and dropped: the exec (or the tree's end)
	 * was never told, and tether's stop waited for it until abandoned.
	 * Any failed report ends the tree, which tether reads as the end. */
	struct gt t;
	char *argv[] = {TETHER_WORKER, NULL};
	pre_arm("tether/sys/sendmsg");
	if (!gt_start(&t, _i, argv, NULL, "g9_a_report_that_fails_is_never_lost_silently"))
		return;
	arm("tether/sys/sendmsg", EPIPE, 1, 1);
	gt_send(&t, TETHER_GUARDIAN_SPAWN);
	ck_assert_msg(gt_wait_eof(&t, 2000), "%s: the failed report was dropped and the guardian lives on",
		      iso_name(_i));
	gt_assert_exits_within(&t, 2000, "sendmsg failing EPIPE once");
	ck_assert_int_eq(tu_fault_failed(), 1);
	pid_t left[4];
	ck_assert_int_eq(tu_marked(left, 4), 0);
	gt_done(&t);
}
END_TEST

START_TEST(g9_failed_setup_starts_no_worker)
{
	/* H: PR_SET_CHILD_SUBREAPER (subreaper) or PR_SET_PDEATHSIG (pidns)
	 * failing was ignored, and the worker ran without the net G2 rests on
	 * (a setsid'd grandchild escaped). Now the spawn fails with the errno,
	 * no worker starts, and the guardian ends: tether makes a new one for
	 * its next try. */
	struct gt t;
	tu_fault_arm("tether/sys/prctl", EPERM, 1, 0, TU_FAULT_OTHERS);
	if (!gt_start(&t, _i, escaping_worker(false), NULL, "g9_failed_setup_starts_no_worker"))
		return;
	gt_send(&t, TETHER_GUARDIAN_SPAWN);
	ck_assert_int_eq(gt_expect(&t, TETHER_GUARDIAN_SPAWN_FAILED), EPERM);
	ck_assert(gt_wait_eof(&t, 2000));
	gt_assert_exits_within(&t, 2000, "prctl failing");
	pid_t left[4];
	ck_assert_int_eq(tu_marked(left, 4), 0);
	ck_assert_msg(!tu_exists(tu_path("gc.pid")), "a worker ran");
	gt_done(&t);
}
END_TEST
#endif

static void setup(void)
{
	pt_setup();
	/* a dead guardian's channel must not kill the test */
	signal(SIGPIPE, SIG_IGN);
}

int main(void)
{
	pt_init();
	Suite *s = suite_create("guardian");
	TCase *tc = tcase_create("events");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, spawn_exec_exit_tree_empty, 0, 2);
	tcase_add_loop_test(tc, exec_failure_then_exit_then_tree_empty, 0, 2);
	tcase_add_loop_test(tc, send_after_close_is_epipe, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("tree");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, term_and_kill_reach_a_setsid_grandchild, 0, 4);
	tcase_add_loop_test(tc, signal_reaches_the_worker_alone, 0, 2);
	tcase_add_loop_test(tc, closed_lifeline_kills_the_tree, 0, 2);
	tcase_add_loop_test(tc, signalled_guardian_kills_its_tree, 0, 4);
	tcase_add_loop_test(tc, parent_sigkill_kills_the_tree, 0, 2);
	tcase_add_loop_test(tc, guardian_sigkill, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("isolation");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, guardian_holds_only_its_channel_and_stdio, 0, 2);
	tcase_add_test(tc, pidns_worker_has_an_inner_pid);
	suite_add_tcase(s, tc);

#ifdef TETHER_FAULT_INJECTION
	tc = tcase_create("g9");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, g9_lifeline_read_eagain_is_still_the_end, 0, 2);
	tcase_add_loop_test(tc, g9_unreadable_signalfd_ends_the_tree, 0, 4);
	tcase_add_loop_test(tc, g9_proc_walk_failing_once_still_ends_the_tree, 0, 2);
	tcase_add_loop_test(tc, g9_proc_unopenable_or_unreadable_still_ends_the_tree, 0, 3);
	tcase_add_loop_test(tc, g9_unreapable_worker_ends_the_tree, 0, 6);
	tcase_add_test(tc, g9_pidns_kill_failing_ends_the_namespace);
	tcase_add_loop_test(tc, g9_failed_setup_starts_no_worker, 0, 2);
	tcase_add_loop_test(tc, g9_a_report_that_fails_is_never_lost_silently, 0, 2);
	suite_add_tcase(s, tc);
#endif

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pt_fini();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
