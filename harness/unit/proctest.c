/* SPDX-License-Identifier: MIT */
/* proctest.c — see proctest.h. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "proctest.h"
#include "testutil.h"

static char track_path[512];

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pt_init(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(track_path, sizeof track_path, "%s/tether-track.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(track_path);
	if (fd < 0) {
		perror("mkstemp");
		exit(99);
	}
	close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void pt_fini(void)
{
	pt_kill_tracked();
	/* the private dirs of tests that failed (their teardown never ran) */
	FILE *f = track_path[0] ? fopen(track_path, "re") : NULL;
	char line[600];
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == 'D' && line[1] == ' ' && strstr(line + 2, "/tether-unit."))
			nftw(line + 2, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	if (f)
		fclose(f);
	if (track_path[0])
		unlink(track_path);
}

static void track_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void track_line(const char *fmt, ...)
{
	if (!track_path[0])
		return;
	int fd = open(track_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return;
	char line[600];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) != n) {
		/* cleanup is best effort */
	}
	close(fd);
}

void pt_setup(void)
{
	/* Check's runner handles SIGTERM and SIGINT by killing the test's
	 * process group, and the forked test inherits that handler — and so
	 * would every process it forks: a holder meant to die of SIGTERM would
	 * take the whole test with it instead. Our processes get the defaults. */
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGALRM, SIGPIPE};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	pt_kill_tracked();
	tu_setup();
	track_line("D %s\n", tu_dir);
}

void pt_teardown(void)
{
	pt_kill_tracked();
	tu_teardown();
}

uint64_t pt_start_time(pid_t pid)
{
	struct tether_procstat st;
	int r = tether_proc_read_stat(pid, &st);
	ck_assert_msg(r == 0, "read_stat(%d): %s", (int)pid, strerror(-r));
	return st.start_time;
}

void pt_track(pid_t pid)
{
	struct tether_procstat st;
	if (tether_proc_read_stat(pid, &st) == 0)
		track_line("P %d %llu\n", (int)pid, (unsigned long long)st.start_time);
}

bool pt_pidfd_alive(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	return poll(&p, 1, 0) == 0;
}

static bool pidfd_wait(int pidfd, int timeout_ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - mono_ms();
		int r = poll(&p, 1, left > 0 ? (int)left : 0);
		if (r > 0)
			return true;
		if (r == 0 || errno != EINTR)
			return false;
	}
}

int pt_kill_tracked(void)
{
	if (!track_path[0])
		return 0;
	FILE *f = fopen(track_path, "re");
	if (!f)
		return 0;
	int fds[1024], n = 0, pid;
	unsigned long long start;
	char line[600];
	while (n < 1024 && fgets(line, sizeof line, f)) {
		struct tether_procstat st;
		if (sscanf(line, "P %d %llu", &pid, &start) != 2)
			continue;
		if (pid <= 1 || pid == getpid())
			continue;
		int fd = pidfd_open(pid, 0);
		if (fd < 0)
			continue;
		/* identity checked after the pidfd pins the process */
		if (tether_proc_read_stat(pid, &st) == 0 && st.start_time == start && st.state != 'Z' &&
		    pidfd_send_signal(fd, SIGKILL, NULL, 0) == 0)
			fds[n++] = fd;
		else
			close(fd);
	}
	fclose(f);
	for (int i = 0; i < n; i++) {
		pidfd_wait(fds[i], 2000);
		close(fds[i]);
	}
	return n;
}

/* ---- victims ------------------------------------------------------------- */

static int victim_fd = -1;

static void victim_record(int sig)
{
	unsigned char c = (unsigned char)sig;
	if (write(victim_fd, &c, 1) < 0) {
		/* nothing to do in a handler */
	}
}

void pt_victim_start(struct pt_victim *v, const char *record_path, const char *lock_path, int flags,
		     pid_t join_pgid)
{
	int p[2];
	memset(v, 0, sizeof *v);
	snprintf(v->record, sizeof v->record, "%s", record_path);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		unsigned char status = 0;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(111);
		close(p[0]);
		if ((flags & PT_VICTIM_GROUP_LEADER) && setpgid(0, 0) < 0)
			status = 1;
		if (join_pgid > 0 && setpgid(0, join_pgid) < 0)
			status = 2;
		victim_fd = open(record_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (victim_fd < 0)
			status = 3;
		struct sigaction sa = {.sa_handler = victim_record};
		sigfillset(&sa.sa_mask); /* serialise: lowest pending number first */
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				sigaction(s, &sa, NULL); /* glibc's reserved RT signals refuse: fine */
		if (lock_path) {
			int lfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
			if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0)
				status = 4;
		}
		if (write(p[1], &status, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	unsigned char status = 255;
	ck_assert_int_eq(read(p[0], &status, 1), 1);
	close(p[0]);
	ck_assert_msg(status == 0, "victim failed to start (step %d)", status);
	v->pid = pid;
	v->pidfd = pidfd_open(pid, 0);
	ck_assert_int_ge(v->pidfd, 0);
	v->start_time = pt_start_time(pid);
	pt_track(pid);
}

size_t pt_victim_record(const struct pt_victim *v, unsigned char *buf, size_t cap)
{
	int fd = open(v->record, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, cap);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

/* Waits until the record holds `count` bytes equal to sig. */
static bool wait_signals(const struct pt_victim *v, int sig, int count, int timeout_ms)
{
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(inotify_add_watch(in, v->record, IN_MODIFY), 0);
	int64_t deadline = mono_ms() + timeout_ms;
	bool ok = false;
	for (;;) {
		unsigned char buf[512];
		size_t n = pt_victim_record(v, buf, sizeof buf);
		int seen = 0;
		for (size_t i = 0; i < n; i++)
			seen += buf[i] == (unsigned char)sig;
		if (seen >= count) {
			ok = true;
			break;
		}
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			break;
		struct pollfd p = {.fd = in, .events = POLLIN};
		if (poll(&p, 1, (int)left) > 0) {
			char drain[4096] __attribute__((aligned(8)));
			while (read(in, drain, sizeof drain) > 0)
				;
		}
	}
	close(in);
	return ok;
}

void pt_wait_signal(const struct pt_victim *v, int sig, int timeout_ms)
{
	ck_assert_msg(wait_signals(v, sig, 1, timeout_ms), "pid %d did not record signal %d within %d ms",
		      (int)v->pid, sig, timeout_ms);
}

void pt_assert_untouched(struct pt_victim *v)
{
	ck_assert_msg(pt_pidfd_alive(v->pidfd), "victim %d is dead", (int)v->pid);
	ck_assert_int_eq(pidfd_send_signal(v->pidfd, SIGRTMAX, NULL, 0), 0);
	v->sentinels++;
	ck_assert_msg(wait_signals(v, SIGRTMAX, v->sentinels, 5000),
		      "victim %d does not handle signals (stopped?)", (int)v->pid);
	unsigned char buf[512];
	size_t n = pt_victim_record(v, buf, sizeof buf);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(buf[i] == SIGRTMAX, "victim %d received signal %d (%s)", (int)v->pid, buf[i],
			      strsignal(buf[i]));
	ck_assert_int_eq(n, v->sentinels);
	ck_assert_msg(pt_pidfd_alive(v->pidfd), "victim %d is dead", (int)v->pid);
}

void pt_victim_stop(struct pt_victim *v)
{
	if (v->pidfd >= 0) {
		pidfd_send_signal(v->pidfd, SIGKILL, NULL, 0);
		pidfd_wait(v->pidfd, 5000);
		close(v->pidfd);
		v->pidfd = -1;
	}
}

bool pt_wait_file_size(const char *path, size_t len, int timeout_ms)
{
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(inotify_add_watch(in, path, IN_MODIFY | IN_CLOSE_WRITE), 0);
	int64_t deadline = mono_ms() + timeout_ms;
	bool ok = false;
	for (;;) {
		struct stat st;
		if (stat(path, &st) == 0 && (size_t)st.st_size >= len) {
			ok = true;
			break;
		}
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			break;
		struct pollfd p = {.fd = in, .events = POLLIN};
		if (poll(&p, 1, (int)left) > 0) {
			char drain[4096] __attribute__((aligned(8)));
			while (read(in, drain, sizeof drain) > 0)
				;
		}
	}
	close(in);
	return ok;
}

bool pt_wait_file_present(const char *path, int timeout_ms)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	ck_assert_ptr_nonnull(slash);
	*slash = '\0';
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(inotify_add_watch(in, dir, IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE), 0);
	int64_t deadline = mono_ms() + timeout_ms;
	bool ok = false;
	for (;;) {
		if (access(path, F_OK) == 0) {
			ok = true;
			break;
		}
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			break;
		struct pollfd p = {.fd = in, .events = POLLIN};
		if (poll(&p, 1, (int)left) > 0) {
			char drain[4096] __attribute__((aligned(8)));
			while (read(in, drain, sizeof drain) > 0)
				;
		}
	}
	close(in);
	return ok;
}

pid_t pt_tether_bg(const char *out_path, const char *err_path, ...)
{
	char *argv[64];
	int n = 0;
	va_list ap;
	argv[n++] = (char *)TETHER_BIN;
	va_start(ap, err_path);
	char *a;
	while ((a = va_arg(ap, char *)) && n < 63)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(111);
		int in = open("/dev/null", O_RDONLY);
		int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	pt_track(pid);
	return pid;
}
