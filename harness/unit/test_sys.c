/* SPDX-License-Identifier: MIT */
/* test_sys.c — the only door to the kernel (src/sys.c): -errno returns with
 * errno untouched; EINTR retried, but never forever; fault points that fail
 * with their failinfo (EIO for 0) without reaching the kernel, one for every
 * name in tether_sys_points; kill/killpg that refuse pid <= 1, negative pids,
 * ourselves and our own group; kill_pidns only as a namespace's init; poll's
 * EINTR as 0 events; close never retried; clone with CLONE_NEWPID.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef TETHER_FAULT_INJECTION
#include <fiu-control.h>
#include <fiu.h>
#endif

#include "fault.h"
#include "proctest.h"
#include "spawn.h"
#include "sys.h"
#include "testutil.h"

/* An errno value no call here produces: errno must still hold it after. */
#define SENTINEL_ERRNO 4242

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- errno ------------------------------------------------------------------------- */

START_TEST(errors_are_negative_errno_and_errno_is_untouched)
{
	struct stat st;
	siginfo_t si;
	errno = SENTINEL_ERRNO;
	ck_assert_int_eq(sys_open(tu_path("missing"), O_RDONLY | O_CLOEXEC, 0), -ENOENT);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_int_eq(sys_stat(tu_path("missing"), &st), -ENOENT);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	char c;
	ck_assert_int_eq(sys_read(-1, &c, 1), -EBADF);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_int_eq(sys_close(-1), -EBADF);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_int_eq(sys_waitid(P_PID, 1, &si, WEXITED | WNOHANG), -ECHILD);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_int_eq(sys_mkdir(tu_dir, 0755), -EEXIST);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	/* refusals made before any call, too */
	ck_assert_int_eq(sys_kill(0, 0), -EINVAL);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_int_eq(sys_pidfd_open(-3, 0), -EINVAL);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_int_eq(sys_pidfd_send_signal(-1, 0), -EINVAL);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	/* an off_t result */
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(sys_lseek(p[0], 0, SEEK_SET), -ESPIPE);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	/* a write to a pipe without reader: -EPIPE (SIGPIPE ignored), both wrappers */
	signal(SIGPIPE, SIG_IGN);
	close(p[0]);
	ck_assert_int_eq(sys_write(p[1], "x", 1), -EPIPE);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_int_eq(sys_write_all(p[1], "xyz", 3), -EPIPE);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	close(p[1]);

	/* successes leave it alone too */
	int fd = sys_open(tu_path("f"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_int_eq(sys_write_all(fd, "hello", 5), 5);
	ck_assert_int_eq(sys_lseek(fd, 1, SEEK_SET), 1);
	char buf[8] = {0};
	ck_assert_int_eq(sys_read(fd, buf, sizeof buf), 4);
	ck_assert_str_eq(buf, "ello");
	ck_assert_int_eq(sys_fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 5);
	ck_assert_int_eq(sys_close(fd), 0);
	ck_assert_int_eq(sys_close(fd), -EBADF); /* it really was closed */
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	pid_t pid = sys_clone(0, NULL);
	if (pid == 0)
		_exit(7);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	memset(&si, 0, sizeof si);
	ck_assert_int_eq(sys_waitid(P_PID, (id_t)pid, &si, WEXITED), 0);
	ck_assert_int_eq(si.si_status, 7);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
}
END_TEST

/* ---- EINTR from a real signal ---------------------------------------------------------
 *
 * A thread blocks in a wrapper; the test interrupts it with a signal whose
 * handler has no SA_RESTART, so the kernel returns EINTR to the wrapper. There
 * is no event for "a thread is blocked in a system call": the test looks at
 * /proc/self/task/TID/syscall (the number of the call it sleeps in) with
 * short waits and a deadline — a wait for a state, never a sleep that a pass
 * depends on.
 */

static atomic_int usr1_hits;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&usr1_hits, 1);
}

static void install_usr1_without_restart(void)
{
	struct sigaction sa = {.sa_handler = on_usr1};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the kernel reports EINTR */
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
}

/* Is thread tid asleep in one of the system calls nrs? */
static bool blocked_in(pid_t tid, const long *nrs, size_t n)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool yes = false;
	if (fgets(buf, sizeof buf, f)) {
		char *end;
		long nr = strtol(buf, &end, 10);
		if (end != buf)
			for (size_t i = 0; i < n; i++)
				yes |= nr == nrs[i];
	}
	fclose(f);
	return yes;
}

struct blocked_call {
	int fd;
	atomic_int tid;
	atomic_int done;
	long result;
	short revents;
	char buf[8];
};

/* Waits until b's thread sleeps in one of the calls nrs; fails at once if
 * the wrapper returned instead (what an EINTR that is not retried does). */
static void wait_blocked_in(struct blocked_call *b, const long *nrs, size_t n, const char *what)
{
	pid_t tid = (pid_t)atomic_load(&b->tid);
	int64_t deadline = mono_ms() + 10000;
	while (!blocked_in(tid, nrs, n)) {
		ck_assert_msg(!atomic_load(&b->done), "the wrapper returned %ld instead of %s again", b->result, what);
		ck_assert_msg(mono_ms() < deadline, "thread %d never blocked in %s", (int)tid, what);
		poll(NULL, 0, 1);
	}
}

static void *blocked_reader(void *arg)
{
	struct blocked_call *b = arg;
	atomic_store(&b->tid, (int)gettid());
	b->result = sys_read(b->fd, b->buf, sizeof b->buf);
	atomic_store(&b->done, 1);
	return NULL;
}

static void *blocked_poller(void *arg)
{
	struct blocked_call *b = arg;
	struct pollfd p = {.fd = b->fd, .events = POLLIN, .revents = POLLERR | POLLNVAL};
	atomic_store(&b->tid, (int)gettid());
	b->result = sys_poll(&p, 1, -1);
	b->revents = p.revents;
	atomic_store(&b->done, 1);
	return NULL;
}

static pid_t wait_tid(struct blocked_call *b)
{
	int64_t deadline = mono_ms() + 10000;
	while (atomic_load(&b->tid) == 0) {
		ck_assert_msg(mono_ms() < deadline, "thread did not start");
		poll(NULL, 0, 1);
	}
	return (pid_t)atomic_load(&b->tid);
}

static void wait_hits(int n)
{
	int64_t deadline = mono_ms() + 10000;
	while (atomic_load(&usr1_hits) < n) {
		ck_assert_msg(mono_ms() < deadline, "SIGUSR1 never handled");
		poll(NULL, 0, 1);
	}
}

START_TEST(real_eintr_is_retried)
{
	static const long read_nrs[] = {SYS_read};
	install_usr1_without_restart();
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	struct blocked_call b = {.fd = p[0]};
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, blocked_reader, &b), 0);
	pid_t tid = wait_tid(&b);
	for (int i = 1; i <= 3; i++) {
		wait_blocked_in(&b, read_nrs, 1, "reading");
		ck_assert_int_eq((int)syscall(SYS_tgkill, getpid(), tid, SIGUSR1), 0);
		wait_hits(i);
	}
	/* interrupted three times, it went back to reading every time */
	wait_blocked_in(&b, read_nrs, 1, "reading (after the interruptions)");
	ck_assert_int_eq(atomic_load(&b.done), 0);
	ck_assert_int_eq(write(p[1], "ok", 2), 2);
	pthread_join(th, NULL);
	ck_assert_int_eq(b.result, 2);
	ck_assert_int_eq(memcmp(b.buf, "ok", 2), 0);
	ck_assert_int_eq(atomic_load(&usr1_hits), 3);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(poll_reports_eintr_as_zero_events)
{
#ifdef SYS_poll
	static const long poll_nrs[] = {SYS_poll, SYS_ppoll};
#else
	static const long poll_nrs[] = {SYS_ppoll};
#endif
	install_usr1_without_restart();
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	struct blocked_call b = {.fd = p[0], .result = -999};
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, blocked_poller, &b), 0);
	pid_t tid = wait_tid(&b);
	wait_blocked_in(&b, poll_nrs, sizeof poll_nrs / sizeof poll_nrs[0], "polling");
	ck_assert_int_eq((int)syscall(SYS_tgkill, getpid(), tid, SIGUSR1), 0);
	/* it returns on its own (no data ever comes)... */
	int64_t deadline = mono_ms() + 5000;
	while (!atomic_load(&b.done) && mono_ms() < deadline)
		poll(NULL, 0, 1);
	bool returned = atomic_load(&b.done);
	if (!returned)
		ck_assert_int_eq(write(p[1], "x", 1), 1); /* let a retrying poll go, to report it */
	pthread_join(th, NULL);
	ck_assert_msg(returned, "sys_poll did not return after EINTR (result %ld once data came)", b.result);
	/* ...with 0 events, not -EINTR, and no stale revents */
	ck_assert_int_eq(b.result, 0);
	ck_assert_int_eq(b.revents, 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ---- kill, killpg, kill_pidns ------------------------------------------------------------ */

START_TEST(kill_refuses_forbidden_targets)
{
	/* We must be a group of our own for "our group" to mean only us and
	 * the victim below (Check forks each test into a group of its own). */
	if (getpgrp() != getpid())
		ck_assert_int_eq(setpgid(0, 0), 0);
	/* the test itself survives whatever a broken refusal would send */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	struct pt_victim mate, leader;
	/* mate: in our process group; leader: leads a group of its own */
	pt_victim_start(&mate, tu_path("mate.rec"), NULL, 0, 0);
	pt_victim_start(&leader, tu_path("leader.rec"), NULL, PT_VICTIM_GROUP_LEADER, 0);
	ck_assert_int_eq(getpgid(mate.pid), getpgrp());
	ck_assert_int_eq(getpgid(leader.pid), leader.pid);

	/* 0 is our group, negative pids are groups (-1: everyone), 1 is init.
	 * kill(-1) and kill(1) get signal 0 only: a broken refusal must not
	 * signal the machine. */
	ck_assert_int_eq(sys_kill(0, SIGUSR1), -EINVAL);
	ck_assert_int_eq(sys_kill(-leader.pid, SIGUSR1), -EINVAL);
	ck_assert_int_eq(sys_kill(-getpgrp(), SIGUSR1), -EINVAL);
	ck_assert_int_eq(sys_kill(-1, 0), -EINVAL);
	ck_assert_int_eq(sys_kill(1, 0), -EINVAL);
	ck_assert_int_eq(sys_kill(INT32_MIN, 0), -EINVAL);
	ck_assert_int_eq(sys_kill(getpid(), 0), -EINVAL);
	ck_assert_int_eq(sys_killpg(0, SIGUSR1), -EINVAL);
	ck_assert_int_eq(sys_killpg(getpgrp(), SIGUSR1), -EINVAL);
	ck_assert_int_eq(sys_killpg(-leader.pid, SIGUSR2), -EINVAL);
	ck_assert_int_eq(sys_killpg(1, 0), -EINVAL);
	ck_assert_int_eq(sys_killpg(-1, 0), -EINVAL);
	pt_assert_untouched(&mate);
	pt_assert_untouched(&leader);

	/* and the allowed targets are reached */
	ck_assert_int_eq(sys_kill(mate.pid, SIGUSR1), 0);
	pt_wait_signal(&mate, SIGUSR1, 5000);
	ck_assert_int_eq(sys_killpg(leader.pid, SIGUSR2), 0);
	pt_wait_signal(&leader, SIGUSR2, 5000);
	pt_victim_stop(&mate);
	pt_victim_stop(&leader);
}
END_TEST

static int mark_outside_namespace(void *arg)
{
	(void)arg;
	/* Marked, but not pid 1: still refused. Signal 0 only, see below. */
	sys_mark_pidns_init();
	return sys_kill_pidns(0) == -EPERM ? 0 : 1;
}

START_TEST(kill_pidns_refused_outside_a_namespace)
{
	/* Signal 0: were the refusal broken, kill(-1) as root would reach
	 * every process of the machine. */
	ck_assert_int_eq(sys_kill_pidns(0), -EPERM);
	pid_t pid = tu_fork(mark_outside_namespace, NULL);
	pt_track(pid);
	int st = tu_wait(pid, 10000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "a marked process that is not pid 1 could signal its namespace (status %d)", st);
}
END_TEST

static void exit42(int sig)
{
	(void)sig;
	_exit(42);
}

/* pid 1 of a fresh namespace: refused until marked, then reaches its
 * namespace's processes (setsid'd ones included), never outside. Exit codes
 * name the step that failed. */
static int namespace_init(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getpid() != 1)
		return 10;
	if (sys_kill_pidns(0) != -EPERM)
		return 11;
	int ready[2];
	if (pipe(ready) < 0)
		return 12;
	pid_t kids[2];
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			return 13;
		if (kids[i] == 0) {
			if (i == 1)
				setsid();
			struct sigaction sa = {.sa_handler = exit42};
			sigaction(SIGUSR1, &sa, NULL);
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
	}
	close(ready[1]);
	for (int got = 0; got < 2;) {
		char c[2];
		ssize_t n = read(ready[0], c, (size_t)(2 - got));
		if (n <= 0)
			return 14;
		got += (int)n;
	}
	sys_mark_pidns_init();
	if (sys_kill_pidns(SIGUSR1) != 0)
		return 15;
	for (int i = 0; i < 2; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 42)
			return 16 + i;
	}
	return 0;
}

START_TEST(kill_pidns_reaches_the_namespace_only)
{
	signal(SIGUSR1, SIG_IGN);
	struct pt_victim outside;
	pt_victim_start(&outside, tu_path("outside.rec"), NULL, PT_VICTIM_GROUP_LEADER, 0);
	int pidfd = -1;
	pid_t pid = sys_clone(CLONE_NEWPID, &pidfd);
	if (pid == -EPERM || pid == -EINVAL || pid == -ENOSPC || pid == -EUSERS) {
		fprintf(stderr, "SKIP kill_pidns_reaches_the_namespace_only: cannot create a PID namespace (%s)\n",
			strerror(-pid));
		pt_victim_stop(&outside);
		return;
	}
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(namespace_init());
	pt_track(pid);
	int st = tu_wait(pid, 20000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "namespace init failed: status 0x%x (exit %d)", st,
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	pt_assert_untouched(&outside);
	pt_victim_stop(&outside);
	close(pidfd);
}
END_TEST

/* ---- clone ------------------------------------------------------------------------- */

/* The pid a pidfd refers to, from /proc/self/fdinfo. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
	size_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	ck_assert_int_gt(r, 0);
	n = (size_t)r;
	buf[n] = '\0';
	char *p = strstr(buf, "\nPid:");
	ck_assert_ptr_nonnull(p);
	return (pid_t)atoi(p + 5);
}

/* The NSpid line of /proc/PID/status (its pids from the outermost namespace in). */
static void nspid_line(pid_t pid, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	char *text = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(text);
	char *p = strstr(text, "NSpid:");
	ck_assert_ptr_nonnull(p);
	p += 6;
	p += strspn(p, " \t");
	size_t n = strcspn(p, "\n");
	snprintf(out, len, "%.*s", (int)n, p);
	for (char *q = out; *q; q++)
		if (*q == '\t')
			*q = ' ';
	free(text);
}

START_TEST(clone_gives_a_pidfd_for_the_child)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	int pidfd = -1;
	pid_t pid = sys_clone(0, &pidfd);
	if (pid == 0) {
		char c;
		close(p[1]);
		_exit(read(p[0], &c, 1) == 0 ? 5 : 6);
	}
	ck_assert_int_gt(pid, 1);
	pt_track(pid);
	close(p[0]);
	ck_assert_int_ge(pidfd, 0);
	ck_assert_int_eq(pidfd_pid(pidfd), pid);
	close(p[1]);
	siginfo_t si = {0};
	ck_assert_int_eq(sys_waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
	ck_assert_int_eq(si.si_pid, pid);
	ck_assert_int_eq(si.si_status, 5);
	close(pidfd);
}
END_TEST

START_TEST(clone_newpid_child_is_pid_1)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	int pidfd = -1;
	pid_t pid = sys_clone(CLONE_NEWPID, &pidfd);
	if (pid == -EPERM || pid == -EINVAL || pid == -ENOSPC || pid == -EUSERS) {
		fprintf(stderr, "SKIP clone_newpid_child_is_pid_1: cannot create a PID namespace (%s)\n",
			strerror(-pid));
		return;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char c;
		close(p[1]);
		ssize_t n = read(p[0], &c, 1);
		_exit(n == 0 && getpid() == 1 ? 0 : 1);
	}
	ck_assert_int_gt(pid, 1);
	pt_track(pid);
	close(p[0]);
	ck_assert_int_ge(pidfd, 0);
	ck_assert_int_eq(pidfd_pid(pidfd), pid);
	/* its pid in the namespace above is pid; in its own, 1 */
	char line[128], want[128];
	nspid_line(pid, line, sizeof line);
	char self[128];
	nspid_line(getpid(), self, sizeof self);
	/* our own NSpid has k levels; the child has one more, ending in 1 */
	snprintf(want, sizeof want, "%d 1", (int)pid);
	size_t lw = strlen(want), ll = strlen(line);
	ck_assert_msg(ll >= lw && strcmp(line + ll - lw, want) == 0, "NSpid of the child: \"%s\", want \"... %s\"",
		      line, want);
	close(p[1]);
	siginfo_t si = {0};
	ck_assert_int_eq(sys_waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
	ck_assert_int_eq(si.si_code, CLD_EXITED);
	ck_assert_int_eq(si.si_status, 0);
	close(pidfd);
}
END_TEST

START_TEST(close_is_once_and_releases)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sys_close(fd), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(sys_close(fd), -EBADF);
}
END_TEST

/* ---- fault points ---------------------------------------------------------------------- */
#ifdef TETHER_FAULT_INJECTION

/* What the fault callback saw, in shared memory so forked exercisers count too. */
struct fault_state {
	int calls;          /* times the enabled point was checked */
	int fire_from;      /* fire on calls fire_from..fire_to (1-based) */
	int fire_to;        /* 0: no end */
	int err;            /* failinfo to fail with */
	int errno_changed;  /* a wrapper left errno at this value (0: never) */
	char last[96];
};
static struct fault_state *fs;

static int fault_cb(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
	(void)failnum;
	(void)flags;
	fs->calls++;
	snprintf(fs->last, sizeof fs->last, "%s", name);
	if (fs->calls < fs->fire_from || (fs->fire_to && fs->calls > fs->fire_to))
		return 0;
	*failinfo = (void *)(intptr_t)fs->err;
	return 1;
}

/* Fails calls from..to (0: for ever) of point with err. */
static void arm_calls(const char *point, int err, int from, int to)
{
	fs->calls = 0;
	fs->fire_from = from;
	fs->fire_to = to;
	fs->err = err;
	fs->last[0] = '\0';
	ck_assert_int_eq(fiu_enable_external(point, 1, NULL, 0, fault_cb), 0);
}

/* Fails every call of point with err. */
static void arm(const char *point, int err)
{
	arm_calls(point, err, 1, 0);
}

static void fault_setup(void)
{
	pt_setup();
	fs = mmap(NULL, sizeof *fs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(fs, MAP_FAILED);
	memset(fs, 0, sizeof *fs);
	fiu_init(0);
}

START_TEST(injected_eintr_once_is_retried)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "abc", 3), 3);
	arm_calls("tether/sys/read", EINTR, 1, 1);
	char buf[8];
	errno = SENTINEL_ERRNO;
	ck_assert_int_eq(sys_read(p[0], buf, sizeof buf), 3);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_int_eq(fs->calls, 2); /* interrupted once, then done */
	fiu_disable("tether/sys/read");
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(injected_eintr_forever_gives_up)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "abc", 3), 3);
	arm("tether/sys/read", EINTR);
	char buf[8];
	errno = SENTINEL_ERRNO;
	ck_assert_int_eq(sys_read(p[0], buf, sizeof buf), -EINTR);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	ck_assert_int_eq(fs->calls, SYS_EINTR_MAX);
	/* G9: a persistent EINTR multiplies every outer bound by the retries
	 * (100 fruitless wakeups of a loop = 100 x this many calls), so they
	 * stay few: at 100 a loop's bound became 10,000 reads. */
	ck_assert_int_le(fs->calls, 16);
	fiu_disable("tether/sys/read");
	/* the same for a call of another family */
	arm("tether/sys/open", EINTR);
	ck_assert_int_eq(sys_open("/dev/null", O_RDONLY | O_CLOEXEC, 0), -EINTR);
	ck_assert_int_eq(fs->calls, SYS_EINTR_MAX);
	fiu_disable("tether/sys/open");
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(eintr_limit_is_exact)
{
	/* SYS_EINTR_MAX - 1 interruptions in a row: the next try goes through */
	int p[2];
	char buf[8];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "abc", 3), 3);
	arm_calls("tether/sys/read", EINTR, 1, SYS_EINTR_MAX - 1);
	ck_assert_int_eq(sys_read(p[0], buf, sizeof buf), 3);
	ck_assert_int_eq(fs->calls, SYS_EINTR_MAX);
	fiu_disable("tether/sys/read");
	/* SYS_EINTR_MAX of them: given up, the call after them never made */
	ck_assert_int_eq(write(p[1], "abc", 3), 3);
	arm_calls("tether/sys/read", EINTR, 1, SYS_EINTR_MAX);
	ck_assert_int_eq(sys_read(p[0], buf, sizeof buf), -EINTR);
	ck_assert_int_eq(fs->calls, SYS_EINTR_MAX);
	fiu_disable("tether/sys/read");
	/* another error ends the retries at once */
	arm_calls("tether/sys/read", EIO, 1, 0);
	ck_assert_int_eq(sys_read(p[0], buf, sizeof buf), -EIO);
	ck_assert_int_eq(fs->calls, 1);
	fiu_disable("tether/sys/read");
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(fired_point_fails_with_failinfo_without_the_kernel)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	/* the point's failinfo is the errno */
	arm("tether/sys/write", ENOSPC);
	errno = SENTINEL_ERRNO;
	ck_assert_int_eq(sys_write(p[1], "x", 1), -ENOSPC);
	ck_assert_int_eq(sys_write_all(p[1], "xyz", 3), -ENOSPC);
	ck_assert_int_eq(errno, SENTINEL_ERRNO);
	fiu_disable("tether/sys/write");
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), -1); /* nothing reached the pipe */
	ck_assert_int_eq(errno, EAGAIN);
	/* failinfo 0 means EIO; a plain fiu_enable (no callback) works the same */
	ck_assert_int_eq(fiu_enable("tether/sys/write", 1, NULL, 0), 0);
	ck_assert_int_eq(sys_write(p[1], "x", 1), -EIO);
	fiu_disable("tether/sys/write");
	ck_assert_int_eq(fiu_enable("tether/sys/write", 1, (void *)(intptr_t)EDQUOT, 0), 0);
	ck_assert_int_eq(sys_write(p[1], "x", 1), -EDQUOT);
	fiu_disable("tether/sys/write");
	ck_assert_int_eq(read(p[0], &c, 1), -1);
	/* a failed open creates nothing */
	arm("tether/sys/open", EACCES);
	ck_assert_int_eq(sys_open(tu_path("new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600), -EACCES);
	fiu_disable("tether/sys/open");
	ck_assert(!tu_exists(tu_path("new")));
	/* close is the exception: Linux releases the descriptor whatever close
	 * reports, so an injected failure releases it too (none leaks) */
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	arm("tether/sys/close", EIO);
	ck_assert_int_eq(sys_close(fd), -EIO);
	fiu_disable("tether/sys/close");
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	/* a failed fork forks nothing */
	arm("tether/sys/fork", EAGAIN);
	pid_t pid = sys_clone(0, NULL);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(pid, -EAGAIN);
	fiu_disable("tether/sys/fork");
	siginfo_t si;
	ck_assert_int_eq(sys_waitid(P_ALL, 0, &si, WEXITED | WNOHANG), -ECHILD);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(close_and_poll_are_not_retried)
{
	/* close: EINTR means "released" on Linux: 0, and never a second close */
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	arm("tether/sys/close", EINTR);
	ck_assert_int_eq(sys_close(fd), 0);
	ck_assert_int_eq(fs->calls, 1);
	fiu_disable("tether/sys/close");
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1); /* released */
	/* poll: EINTR is 0 events even with a ready descriptor, after one try */
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	struct pollfd pf = {.fd = p[0], .events = POLLIN, .revents = POLLIN | POLLHUP};
	arm("tether/sys/poll", EINTR);
	ck_assert_int_eq(sys_poll(&pf, 1, 0), 0);
	ck_assert_int_eq(pf.revents, 0);
	ck_assert_int_eq(fs->calls, 1);
	fiu_disable("tether/sys/poll");
	/* other poll failures are failures */
	arm("tether/sys/poll", ENOMEM);
	ck_assert_int_eq(sys_poll(&pf, 1, 0), -ENOMEM);
	fiu_disable("tether/sys/poll");
	ck_assert_int_eq(sys_poll(&pf, 1, 0), 1);
	/* connect: an interrupted connect goes on asynchronously, no retry */
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "tether-test-nobody-%d", (int)getpid());
	arm("tether/sys/connect", EINTR);
	ck_assert_int_eq(sys_connect(s, (struct sockaddr *)&sa, sizeof sa), -EINTR);
	ck_assert_int_eq(fs->calls, 1);
	fiu_disable("tether/sys/connect");
	close(s);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ---- every point is a point some wrapper checks ----------------------------------------
 *
 * One exerciser per wrapper: a call that reaches the wrapper's fault point and
 * is harmless when the point does not fire. A point of tether_sys_points with
 * no exerciser fails the suite, so a new wrapper comes with its test.
 */

static pid_t sleeper;

/* Runs one wrapper call and notes in fs whether it changed errno (the
 * exercisers' own set-up and clean-up calls may). */
#define CALL(expr)                                                    \
	({                                                            \
		errno = SENTINEL_ERRNO;                               \
		long r_ = (long)(expr);                               \
		if (errno != SENTINEL_ERRNO)                          \
			fs->errno_changed = errno;                    \
		r_;                                                   \
	})

static int tmpfile_fd(void)
{
	int fd = open(tu_path("ex"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static long done_fd(long r)
{
	if (r >= 0)
		close((int)r);
	return r < 0 ? r : 0;
}

static long ex_open(void) { return done_fd(CALL(sys_open("/dev/null", O_RDONLY | O_CLOEXEC, 0))); }
static long ex_openat(void) { return done_fd(CALL(sys_openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC, 0))); }
static long ex_close(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return CALL(sys_close(fd));
}
static long ex_read(void)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	char c;
	long r = CALL(sys_read(p[0], &c, 1));
	close(p[0]);
	close(p[1]);
	return r;
}
static long ex_write_pipe(bool all)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	long r = all ? CALL(sys_write_all(p[1], "xy", 2)) : CALL(sys_write(p[1], "x", 1));
	close(p[0]);
	close(p[1]);
	return r;
}
static long ex_write(void) { return ex_write_pipe(false); }
static long ex_write_all(void) { return ex_write_pipe(true); }
static long ex_fsync(void)
{
	int fd = tmpfile_fd();
	long r = CALL(sys_fsync(fd));
	close(fd);
	return r;
}
static long ex_rename(void)
{
	tu_write_file(tu_path("a"), "a", 1, 0600);
	long r = CALL(sys_rename(tu_path("a"), tu_path("b")));
	unlink(tu_path("a"));
	unlink(tu_path("b"));
	return r;
}
static long ex_unlink(void)
{
	tu_write_file(tu_path("u"), "u", 1, 0600);
	long r = CALL(sys_unlink(tu_path("u")));
	unlink(tu_path("u"));
	return r;
}
static long ex_unlinkat(void)
{
	tu_write_file(tu_path("ua"), "u", 1, 0600);
	int dir = open(tu_path("."), O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dir, 0);
	long r = CALL(sys_unlinkat(dir, "ua"));
	close(dir);
	unlink(tu_path("ua"));
	return r;
}
static long ex_mkdir(void)
{
	long r = CALL(sys_mkdir(tu_path("d"), 0700));
	rmdir(tu_path("d"));
	return r;
}
static long ex_rmdir(void)
{
	ck_assert_int_eq(mkdir(tu_path("r"), 0700), 0);
	long r = CALL(sys_rmdir(tu_path("r")));
	rmdir(tu_path("r"));
	return r;
}
static long ex_fstat(void)
{
	struct stat st;
	int fd = tmpfile_fd();
	long r = CALL(sys_fstat(fd, &st));
	close(fd);
	return r;
}
static long ex_stat(void)
{
	struct stat st;
	return CALL(sys_stat("/", &st));
}
static long ex_lstat(void)
{
	struct stat st;
	return CALL(sys_lstat("/", &st));
}
static long ex_fstatat(void)
{
	struct stat st;
	return CALL(sys_fstatat_nofollow(AT_FDCWD, "/", &st));
}
static long ex_getrandom(void)
{
	unsigned char b[16];
	return CALL(sys_getrandom(b, sizeof b));
}
static long ex_flock(void)
{
	int fd = tmpfile_fd();
	long r = CALL(sys_flock(fd, LOCK_SH | LOCK_NB));
	close(fd);
	return r;
}
static long ex_fcntl(void)
{
	int fd = tmpfile_fd();
	long r = CALL(sys_fcntl_int(fd, F_GETFD, 0));
	close(fd);
	return r;
}
static long ex_readlink(void)
{
	char buf[256];
	return CALL(sys_readlink("/proc/self/exe", buf, sizeof buf));
}
static long ex_getdents(void)
{
	char buf[4096] __attribute__((aligned(8)));
	int fd = open(tu_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	long r = CALL(sys_getdents(fd, buf, sizeof buf));
	close(fd);
	return r;
}
static long ex_statvfs(void)
{
	struct statvfs st;
	return CALL(sys_statvfs("/", &st));
}
static long ex_dup(void)
{
	int fd = tmpfile_fd();
	long r = CALL(sys_dup3(fd, 200, O_CLOEXEC));
	close(fd);
	close(200);
	return r < 0 ? r : 0;
}
static long ex_close_range(void) { return CALL(sys_close_range(100000, 100001, 0)); }
static long ex_pipe(void)
{
	int p[2];
	long r = CALL(sys_pipe2(p, O_CLOEXEC));
	if (r == 0) {
		close(p[0]);
		close(p[1]);
	}
	return r;
}
static long ex_fchmod(void)
{
	int fd = tmpfile_fd();
	long r = CALL(sys_chmod_fd(fd, 0600));
	close(fd);
	return r;
}
static long ex_fchown(void)
{
	int fd = tmpfile_fd();
	long r = CALL(sys_fchown(fd, getuid(), getgid()));
	close(fd);
	return r;
}
static long ex_lseek(void)
{
	int fd = tmpfile_fd();
	long r = CALL(sys_lseek(fd, 0, SEEK_SET));
	close(fd);
	return r;
}
static long ex_ftruncate(void)
{
	int fd = tmpfile_fd();
	long r = CALL(sys_ftruncate(fd, 0));
	close(fd);
	return r;
}
static long ex_socket(void) { return done_fd(CALL(sys_socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0))); }
static long ex_socketpair(void)
{
	int sp[2];
	long r = CALL(sys_socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp));
	if (r == 0) {
		close(sp[0]);
		close(sp[1]);
	}
	return r;
}
static long ex_bind(void)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	long r = CALL(sys_bind(s, (struct sockaddr *)&sa, sizeof(sa_family_t))); /* autobind */
	close(s);
	return r;
}
static int bound_stream(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa_family_t)), 0);
	return s;
}
static long ex_listen(void)
{
	int s = bound_stream();
	long r = CALL(sys_listen(s, 1));
	close(s);
	return r;
}
static long ex_accept(void)
{
	int s = bound_stream();
	ck_assert_int_eq(listen(s, 1), 0);
	long r = done_fd(CALL(sys_accept(s, SOCK_CLOEXEC))); /* -EAGAIN when nobody connects */
	close(s);
	return r;
}
static long ex_connect(void)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "tether-test-nobody-%d", (int)getpid());
	long r = CALL(sys_connect(s, (struct sockaddr *)&sa, sizeof sa));
	close(s);
	return r;
}
static long ex_msg(bool sending)
{
	int sp[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp), 0);
	char c = 'm';
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	long r;
	if (sending) {
		r = CALL(sys_sendmsg(sp[0], &mh, MSG_DONTWAIT));
	} else {
		ck_assert_int_eq(send(sp[0], "m", 1, 0), 1);
		r = CALL(sys_recvmsg(sp[1], &mh, MSG_DONTWAIT));
	}
	close(sp[0]);
	close(sp[1]);
	return r;
}
static long ex_sendmsg(void) { return ex_msg(true); }
static long ex_recvmsg(void) { return ex_msg(false); }
static long ex_sockopt(bool set)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int one = 1;
	socklen_t len = sizeof one;
	long r = set ? CALL(sys_setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof one))
		     : CALL(sys_getsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, &len));
	close(s);
	return r;
}
static long ex_setsockopt(void) { return ex_sockopt(true); }
static long ex_getsockopt(void) { return ex_sockopt(false); }
static long ex_poll(void) { return CALL(sys_poll(NULL, 0, 0)); }
static long ex_signalfd(void)
{
	sigset_t none;
	sigemptyset(&none);
	return done_fd(CALL(sys_signalfd(-1, &none, SFD_CLOEXEC)));
}
static long ex_sigprocmask(void)
{
	sigset_t none;
	sigemptyset(&none);
	return CALL(sys_sigprocmask(SIG_BLOCK, &none, NULL));
}
static long ex_inotify_init(void) { return done_fd(CALL(sys_inotify_init(IN_CLOEXEC))); }
static long ex_inotify_add_watch(void)
{
	int in = inotify_init1(IN_CLOEXEC);
	long r = CALL(sys_inotify_add_watch(in, tu_dir, IN_CREATE));
	close(in);
	return r < 0 ? r : 0;
}
static long ex_inotify_rm_watch(void)
{
	int in = inotify_init1(IN_CLOEXEC);
	int wd = inotify_add_watch(in, tu_dir, IN_CREATE);
	ck_assert_int_ge(wd, 0);
	long r = CALL(sys_inotify_rm_watch(in, wd));
	close(in);
	return r;
}
static long ex_timerfd_create(void) { return done_fd(CALL(sys_timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC))); }
static long ex_timerfd_settime(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	long r = CALL(sys_timerfd_settime(fd, 1000000000, 1000000000));
	close(fd);
	return r;
}
static long ex_clone_flags(uint64_t flags, bool want_pidfd)
{
	int pidfd = -1;
	pid_t pid = CALL(sys_clone(flags, want_pidfd ? &pidfd : NULL));
	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		if (pidfd >= 0)
			close(pidfd);
		return 0;
	}
	return pid;
}
static long ex_fork(void) { return ex_clone_flags(0, false); }
static long ex_fork_pidfd(void) { return ex_clone_flags(0, true); }
static long ex_clone_newpid(void) { return ex_clone_flags(CLONE_NEWPID, true); }
static long ex_execve(void)
{
	char *argv[] = {"tether-test-no-such-program", NULL};
	char *envp[] = {NULL};
	return CALL(sys_execve("/nonexistent/tether-test-no-such-program", argv, envp)); /* -ENOENT */
}
/* Unarmed, each sets what we already have: the test process stays itself. */
static long ex_setgroups(void)
{
	gid_t groups[64];
	int n = getgroups(64, groups);
	return n < 0 ? -errno : CALL(sys_setgroups((size_t)n, groups));
}
static long ex_setresgid(void) { return CALL(sys_setresgid(getegid())); }
static long ex_setresuid(void) { return CALL(sys_setresuid(geteuid())); }
static long ex_chdir(void) { return CALL(sys_chdir(".")); }
static long ex_waitid(void)
{
	siginfo_t si;
	return CALL(sys_waitid(P_PID, (id_t)sleeper, &si, WEXITED | WNOHANG));
}
static long ex_pidfd_open(void) { return done_fd(CALL(sys_pidfd_open(sleeper, 0))); }
static long ex_pidfd_send_signal(void)
{
	int fd = pidfd_open(sleeper, 0);
	ck_assert_int_ge(fd, 0);
	long r = CALL(sys_pidfd_send_signal(fd, 0));
	close(fd);
	return r;
}
static long ex_kill(void) { return CALL(sys_kill(sleeper, 0)); }
static long ex_killpg(void) { return CALL(sys_killpg(sleeper, 0)); } /* not a leader: -ESRCH */
static long ex_setpgid(void) { return CALL(sys_setpgid(sleeper, sleeper)); }
static long ex_setsid(void)
{
	/* in a child: the test process keeps its session */
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		tether_child_exit(-sys_setsid() & 0xff);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return -WEXITSTATUS(st);
}
static long ex_prctl(void) { return CALL(sys_prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)); }
static long ex_setrlimit(void)
{
	struct rlimit rl;
	ck_assert_int_eq(getrlimit(RLIMIT_CORE, &rl), 0);
	return CALL(sys_setrlimit(RLIMIT_CORE, &rl));
}
static long ex_getrlimit(void)
{
	struct rlimit rl;
	return CALL(sys_getrlimit(RLIMIT_NOFILE, &rl));
}
static long ex_sigaction(void) { return CALL(sys_sigaction_default(SIGUSR2)); }

static const struct exerciser {
	const char *point;
	const char *call;
	long (*fn)(void);
} exercisers[] = {
	{"tether/sys/open", "sys_open", ex_open},
	{"tether/sys/open", "sys_openat", ex_openat},
	{"tether/sys/close", "sys_close", ex_close},
	{"tether/sys/read", "sys_read", ex_read},
	{"tether/sys/write", "sys_write", ex_write},
	{"tether/sys/write", "sys_write_all", ex_write_all},
	{"tether/sys/fsync", "sys_fsync", ex_fsync},
	{"tether/sys/rename", "sys_rename", ex_rename},
	{"tether/sys/unlink", "sys_unlink", ex_unlink},
	{"tether/sys/unlink", "sys_unlinkat", ex_unlinkat},
	{"tether/sys/mkdir", "sys_mkdir", ex_mkdir},
	{"tether/sys/rmdir", "sys_rmdir", ex_rmdir},
	{"tether/sys/fstat", "sys_fstat", ex_fstat},
	{"tether/sys/stat", "sys_stat", ex_stat},
	{"tether/sys/stat", "sys_lstat", ex_lstat},
	{"tether/sys/stat", "sys_fstatat_nofollow", ex_fstatat},
	{"tether/sys/flock", "sys_flock", ex_flock},
	{"tether/sys/fcntl", "sys_fcntl_int", ex_fcntl},
	{"tether/sys/readlink", "sys_readlink", ex_readlink},
	{"tether/sys/getdents", "sys_getdents", ex_getdents},
	{"tether/sys/statvfs", "sys_statvfs", ex_statvfs},
	{"tether/sys/dup", "sys_dup3", ex_dup},
	{"tether/sys/close_range", "sys_close_range", ex_close_range},
	{"tether/sys/pipe", "sys_pipe2", ex_pipe},
	{"tether/sys/fchmod", "sys_chmod_fd", ex_fchmod},
	{"tether/sys/fchown", "sys_fchown", ex_fchown},
	{"tether/sys/lseek", "sys_lseek", ex_lseek},
	{"tether/sys/ftruncate", "sys_ftruncate", ex_ftruncate},
	{"tether/sys/socket", "sys_socket", ex_socket},
	{"tether/sys/socketpair", "sys_socketpair", ex_socketpair},
	{"tether/sys/bind", "sys_bind", ex_bind},
	{"tether/sys/listen", "sys_listen", ex_listen},
	{"tether/sys/accept", "sys_accept", ex_accept},
	{"tether/sys/connect", "sys_connect", ex_connect},
	{"tether/sys/sendmsg", "sys_sendmsg", ex_sendmsg},
	{"tether/sys/recvmsg", "sys_recvmsg", ex_recvmsg},
	{"tether/sys/setsockopt", "sys_setsockopt", ex_setsockopt},
	{"tether/sys/getsockopt", "sys_getsockopt", ex_getsockopt},
	{"tether/sys/poll", "sys_poll", ex_poll},
	{"tether/sys/signalfd", "sys_signalfd", ex_signalfd},
	{"tether/sys/sigprocmask", "sys_sigprocmask", ex_sigprocmask},
	{"tether/sys/inotify_init", "sys_inotify_init", ex_inotify_init},
	{"tether/sys/inotify_add_watch", "sys_inotify_add_watch", ex_inotify_add_watch},
	{"tether/sys/inotify_rm_watch", "sys_inotify_rm_watch", ex_inotify_rm_watch},
	{"tether/sys/timerfd_create", "sys_timerfd_create", ex_timerfd_create},
	{"tether/sys/timerfd_settime", "sys_timerfd_settime", ex_timerfd_settime},
	{"tether/sys/fork", "sys_clone(0)", ex_fork},
	{"tether/sys/fork", "sys_clone(0, pidfd)", ex_fork_pidfd},
	{"tether/sys/fork", "sys_clone(CLONE_NEWPID)", ex_clone_newpid},
	{"tether/sys/execve", "sys_execve", ex_execve},

	{"tether/sys/waitid", "sys_waitid", ex_waitid},
	{"tether/sys/pidfd_open", "sys_pidfd_open", ex_pidfd_open},
	{"tether/sys/pidfd_send_signal", "sys_pidfd_send_signal", ex_pidfd_send_signal},
	{"tether/sys/kill", "sys_kill", ex_kill},
	{"tether/sys/kill", "sys_killpg", ex_killpg},
	{"tether/sys/setpgid", "sys_setpgid", ex_setpgid},
	{"tether/sys/setsid", "sys_setsid", ex_setsid},
	{"tether/sys/prctl", "sys_prctl", ex_prctl},
	{"tether/sys/setrlimit", "sys_setrlimit", ex_setrlimit},
	{"tether/sys/getrlimit", "sys_getrlimit", ex_getrlimit},
	{"tether/sys/sigaction", "sys_sigaction_default", ex_sigaction},
	{"tether/sys/getrandom", "sys_getrandom", ex_getrandom},
	{"tether/sys/setid", "sys_setgroups", ex_setgroups},
	{"tether/sys/setid", "sys_setresgid", ex_setresgid},
	{"tether/sys/setid", "sys_setresuid", ex_setresuid},
	{"tether/sys/chdir", "sys_chdir", ex_chdir},
};
#define N_EXERCISERS ((int)(sizeof exercisers / sizeof exercisers[0]))

START_TEST(every_point_has_an_exerciser)
{
	int npoints = 0;
	for (const char *const *p = tether_sys_points; *p; p++, npoints++) {
		int n = 0;
		for (int i = 0; i < N_EXERCISERS; i++)
			n += strcmp(exercisers[i].point, *p) == 0;
		ck_assert_msg(n > 0, "fault point %s has no exerciser in harness/unit/test_sys.c: add the call that checks it",
			      *p);
		/* listed once */
		for (const char *const *q = p + 1; *q; q++)
			ck_assert_msg(strcmp(*p, *q) != 0, "%s is listed twice in tether_sys_points", *p);
	}
	ck_assert_int_gt(npoints, 0);
	for (int i = 0; i < N_EXERCISERS; i++) {
		bool listed = false;
		for (const char *const *p = tether_sys_points; *p; p++)
			listed |= strcmp(exercisers[i].point, *p) == 0;
		ck_assert_msg(listed, "%s (exercised by %s) is not in tether_sys_points", exercisers[i].point,
			      exercisers[i].call);
	}
}
END_TEST

START_TEST(every_exerciser_fires_its_point)
{
	const struct exerciser *ex = &exercisers[_i];
	sleeper = tu_start_sleeper();
	pt_track(sleeper);
	/* armed: the wrapper fails with the point's errno, errno untouched */
	arm(ex->point, EXDEV);
	fs->errno_changed = 0;
	long r = ex->fn();
	fiu_disable(ex->point);
	ck_assert_msg(r == -EXDEV, "%s with %s enabled returned %ld, want -EXDEV (%d)", ex->call, ex->point, r, -EXDEV);
	ck_assert_msg(fs->calls >= 1 && strcmp(fs->last, ex->point) == 0, "%s did not check %s (calls %d, last \"%s\")",
		      ex->call, ex->point, fs->calls, fs->last);
	ck_assert_msg(fs->errno_changed == 0, "%s changed errno to %d", ex->call, fs->errno_changed);
	/* disarmed: the same call does not fail that way and checks nothing */
	fs->calls = 0;
	r = ex->fn();
	ck_assert_msg(r != -EXDEV, "%s fails with -EXDEV on its own: a useless exerciser", ex->call);
	ck_assert_int_eq(fs->calls, 0);
	ck_assert_msg(fs->errno_changed == 0, "%s changed errno to %d (unarmed)", ex->call, fs->errno_changed);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
}
END_TEST

/* The wrappers that make their call once: an interruption is theirs to report
 * (sys_poll reports it as a wakeup with no events, sys_close as done: the
 * descriptor is released all the same). */
static bool called_once(const struct exerciser *ex)
{
	return strcmp(ex->call, "sys_close") == 0 || strcmp(ex->call, "sys_poll") == 0 ||
	       strcmp(ex->call, "sys_connect") == 0;
}

START_TEST(every_exerciser_bounds_eintr_and_defaults_to_eio)
{
	const struct exerciser *ex = &exercisers[_i];
	sleeper = tu_start_sleeper();
	pt_track(sleeper);
	/* a persistent EINTR: retried exactly SYS_EINTR_MAX times (G9: bounded),
	 * then reported, errno untouched; the once-only calls try once */
	arm(ex->point, EINTR);
	fs->errno_changed = 0;
	long r = ex->fn();
	fiu_disable(ex->point);
	int want_calls = called_once(ex) ? 1 : SYS_EINTR_MAX;
	long want = strcmp(ex->call, "sys_poll") == 0 || strcmp(ex->call, "sys_close") == 0 ? 0 : -EINTR;
	ck_assert_msg(r == want, "%s under a persistent EINTR returned %ld, want %ld", ex->call, r, want);
	ck_assert_msg(fs->calls == want_calls, "%s checked %s %d times under a persistent EINTR, want %d", ex->call,
		      ex->point, fs->calls, want_calls);
	ck_assert_msg(fs->errno_changed == 0, "%s changed errno to %d", ex->call, fs->errno_changed);
	/* interrupted once, then through: the same result as unarmed */
	arm_calls(ex->point, EINTR, 1, 1);
	r = ex->fn();
	fiu_disable(ex->point);
	if (!called_once(ex)) {
		ck_assert_msg(r != -EINTR && r != -EXDEV, "%s after one EINTR returned %ld", ex->call, r);
		ck_assert_msg(fs->calls == 2, "%s checked %s %d times after one EINTR, want 2", ex->call, ex->point,
			      fs->calls);
	}
	/* a point enabled without failinfo fails with EIO */
	ck_assert_int_eq(fiu_enable(ex->point, 1, NULL, 0), 0);
	r = ex->fn();
	fiu_disable(ex->point);
	ck_assert_msg(r == -EIO, "%s with %s enabled (no failinfo) returned %ld, want -EIO", ex->call, ex->point, r);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
}
END_TEST

#endif /* TETHER_FAULT_INJECTION */

int main(void)
{
	pt_init();
	Suite *s = suite_create("sys");

	TCase *tc = tcase_create("calls");
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, errors_are_negative_errno_and_errno_is_untouched);
	tcase_add_test(tc, real_eintr_is_retried);
	tcase_add_test(tc, poll_reports_eintr_as_zero_events);
	tcase_add_test(tc, close_is_once_and_releases);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, kill_refuses_forbidden_targets);
	tcase_add_test(tc, kill_pidns_refused_outside_a_namespace);
	tcase_add_test(tc, kill_pidns_reaches_the_namespace_only);
	tcase_add_test(tc, clone_gives_a_pidfd_for_the_child);
	tcase_add_test(tc, clone_newpid_child_is_pid_1);
	suite_add_tcase(s, tc);

#ifdef TETHER_FAULT_INJECTION
	tc = tcase_create("faults");
	tcase_add_checked_fixture(tc, fault_setup, pt_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, injected_eintr_once_is_retried);
	tcase_add_test(tc, injected_eintr_forever_gives_up);
	tcase_add_test(tc, eintr_limit_is_exact);
	tcase_add_test(tc, fired_point_fails_with_failinfo_without_the_kernel);
	tcase_add_test(tc, close_and_poll_are_not_retried);
	tcase_add_test(tc, every_point_has_an_exerciser);
	tcase_add_loop_test(tc, every_exerciser_fires_its_point, 0, N_EXERCISERS);
	tcase_add_loop_test(tc, every_exerciser_bounds_eintr_and_defaults_to_eio, 0, N_EXERCISERS);
	suite_add_tcase(s, tc);
#else
	fprintf(stderr, "SKIP fault-point tests: built without libfiu (--disable-fault-injection)\n");
#endif

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pt_fini();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
