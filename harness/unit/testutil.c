/* SPDX-License-Identifier: MIT */
/* testutil.c — see testutil.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pidfile.h"
#include "proc.h"
#include "testutil.h"

#ifdef TETHER_FAULT_INJECTION
#include <fiu-control.h>
#include <fiu.h>
#endif

char tu_marker[64];
char tu_dir[256];

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tu_setup(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(tu_marker, sizeof tu_marker, "unit-%d-%ld", (int)getpid(), (long)(ts.tv_nsec ^ ts.tv_sec));
	setenv("TETHER_TEST_RUN", tu_marker, 1);
	const char *tmp = getenv("TMPDIR");
	snprintf(tu_dir, sizeof tu_dir, "%s/tether-unit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tu_dir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void tu_teardown(void)
{
	tu_reap_marked();
	if (tu_dir[0])
		nftw(tu_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_path(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof bufs[0], "%s/%s", tu_dir, name);
	return b;
}

void tu_write_file(const char *path, const char *content, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, content + done, len - done);
		ck_assert_msg(n > 0, "write %s: %s", path, strerror(errno));
		done += (size_t)n;
	}
	fchmod(fd, mode);
	close(fd);
}

char *tu_read_file(const char *path, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return buf;
}

bool tu_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent may have died before the line above: then nothing fires. */
	if (getppid() != parent)
		_exit(111);
}

pid_t tu_fork(int (*fn)(void *arg), void *arg)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		die_with_parent(parent);
		_exit(fn(arg));
	}
	return pid;
}

int tu_wait(pid_t pid, int timeout_ms)
{
	int fd = pidfd_open(pid, 0);
	int status = -1;
	if (fd >= 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t deadline = mono_ms() + timeout_ms;
		int r;
		do {
			int64_t left = deadline - mono_ms();
			r = poll(&p, 1, left > 0 ? (int)left : 0);
		} while (r < 0 && errno == EINTR);
		close(fd);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -1;
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static void drain(int fd, char **buf, size_t *len)
{
	for (;;) {
		if (*len >= 65535)
			return;
		ssize_t n = read(fd, *buf + *len, 65535 - *len);
		if (n <= 0)
			return;
		*len += (size_t)n;
		(*buf)[*len] = '\0';
	}
}

struct tu_result tu_run(char *const argv[], char *const extra_env[], int timeout_ms)
{
	struct tu_result res = {.code = -1};
	int out[2], err[2];
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	pid_t parent = getpid();
	int64_t t0 = mono_ms();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		die_with_parent(parent);
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		for (char *const *e = extra_env; e && *e; e++)
			putenv(*e);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(126);
	}
	close(out[1]);
	close(err[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	res.out = calloc(1, 65536);
	res.err = calloc(1, 65536);
	size_t olen = 0, elen = 0;
	int pfd = pidfd_open(pid, 0);
	ck_assert_int_ge(pfd, 0);
	int64_t deadline = t0 + timeout_ms;
	bool exited = false;
	while (!exited) {
		struct pollfd p[3] = {{.fd = pfd, .events = POLLIN}, {.fd = out[0], .events = POLLIN},
				      {.fd = err[0], .events = POLLIN}};
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			break;
		int r = poll(p, 3, (int)left);
		if (r < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			drain(out[0], &res.out, &olen);
		if (p[2].revents)
			drain(err[0], &res.err, &elen);
		if (p[1].revents & POLLHUP)
			p[1].fd = -1;
		if (p[0].revents & POLLIN)
			exited = true;
	}
	int status;
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		res.code = -1;
	} else {
		waitpid(pid, &status, 0);
		res.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	/* A daemonising child may leave the pipes open in a grandchild: take
	 * what is there now, do not wait for end-of-file. */
	drain(out[0], &res.out, &olen);
	drain(err[0], &res.err, &elen);
	close(pfd);
	close(out[0]);
	close(err[0]);
	res.elapsed_ms = mono_ms() - t0;
	return res;
}

void tu_result_free(struct tu_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

struct tu_result tu_tether(int timeout_ms, ...)
{
	char *argv[64];
	int n = 0;
	va_list ap;
	argv[n++] = (char *)TETHER_BIN;
	va_start(ap, timeout_ms);
	char *a;
	while ((a = va_arg(ap, char *)) && n < 63)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return tu_run(argv, NULL, timeout_ms);
}

struct holder_pids {
	pid_t child, grandchild;
};

pid_t tu_start_holder(const char *path, bool with_children, pid_t *ret_child, pid_t *ret_grandchild)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		die_with_parent(parent);
		close(p[0]);
		struct tether_pidfile *pf;
		struct tether_pidrecord rec;
		struct tether_clock clock;
		char *argv[] = {"holder", "--", "sleep", NULL};
		tether_clock_init_real(&clock);
		if (tether_pidfile_acquire(path, NULL, 0, &pf, NULL) != 1)
			_exit(2);
		if (tether_pidrecord_init_self(&rec, argv, &clock) < 0 || tether_pidfile_write(pf, &rec) < 0)
			_exit(3);
		struct holder_pids hp = {0};
		if (with_children) {
			int q[2];
			if (pipe(q) < 0)
				_exit(4);
			hp.child = fork();
			if (hp.child == 0) {
				/* same group as the holder; its own child escapes with
				 * setsid, like a daemonising worker */
				close(q[0]);
				pid_t gc = fork();
				if (gc == 0) {
					setsid();
					for (;;)
						pause();
				}
				if (write(q[1], &gc, sizeof gc) != sizeof gc)
					_exit(5);
				for (;;)
					pause();
			}
			close(q[1]);
			if (read(q[0], &hp.grandchild, sizeof hp.grandchild) != sizeof hp.grandchild)
				_exit(6);
		}
		if (write(p[1], &hp, sizeof hp) != sizeof hp)
			_exit(7);
		for (;;)
			pause();
	}
	close(p[1]);
	struct holder_pids hp;
	ssize_t n = read(p[0], &hp, sizeof hp);
	close(p[0]);
	ck_assert_msg(n == (ssize_t)sizeof hp, "holder failed to start");
	if (ret_child)
		*ret_child = hp.child;
	if (ret_grandchild)
		*ret_grandchild = hp.grandchild;
	return pid;
}

pid_t tu_start_sleeper(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		die_with_parent(parent);
		for (;;)
			pause();
	}
	return pid;
}

static int recorder_fd = -1;

static void record_signal(int sig)
{
	char c = (char)sig;
	if (write(recorder_fd, &c, 1) < 0) {
		/* nothing to do in a handler */
	}
}

pid_t tu_start_signal_recorder(const char *record_path)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		die_with_parent(parent);
		recorder_fd = open(record_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		for (int s = 1; s < NSIG; s++) {
			if (s == SIGKILL || s == SIGSTOP || s == SIGCHLD)
				continue;
			struct sigaction sa = {.sa_handler = record_signal};
			sigaction(s, &sa, NULL);
		}
		char ok = 1;
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	char ok;
	ck_assert_int_eq(read(p[0], &ok, 1), 1);
	close(p[0]);
	return pid;
}

bool tu_alive(pid_t pid)
{
	return tether_proc_alive(pid) == 1;
}

bool tu_wait_gone(pid_t pid, int timeout_ms)
{
	int fd = pidfd_open(pid, 0);
	if (fd < 0)
		return true;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int64_t deadline = mono_ms() + timeout_ms;
	int r;
	do {
		int64_t left = deadline - mono_ms();
		r = poll(&p, 1, left > 0 ? (int)left : 0);
	} while (r < 0 && errno == EINTR);
	close(fd);
	return r > 0;
}

struct marked_ctx {
	pid_t *out;
	int max, n;
};

static int check_marked(pid_t pid, void *ud)
{
	struct marked_ctx *c = ud;
	char val[64];
	if (pid == getpid())
		return 0;
	if (tether_proc_environ_get(pid, "TETHER_TEST_RUN", val, sizeof val) == 1 &&
	    strcmp(val, tu_marker) == 0 && tether_proc_alive(pid) == 1) {
		if (c->n < c->max)
			c->out[c->n] = pid;
		c->n++;
	}
	return 0;
}

int tu_marked(pid_t *ret, int max)
{
	struct marked_ctx c = {.out = ret, .max = max};
	if (!tu_marker[0])
		return 0;
	tether_proc_scan(check_marked, &c);
	return c.n;
}

int tu_reap_marked(void)
{
	pid_t pids[256];
	int total = 0;
	for (int round = 0; round < 10; round++) {
		int n = tu_marked(pids, 256);
		if (n == 0)
			break;
		for (int i = 0; i < n && i < 256; i++)
			kill(pids[i], SIGKILL);
		for (int i = 0; i < n && i < 256; i++)
			tu_wait_gone(pids[i], 1000);
		total += n;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return total;
}

#ifdef TETHER_FAULT_INJECTION
/* ---- faults ------------------------------------------------------------------------- */

struct fault_shared {
	unsigned calls, failed;
	unsigned from, to;
	int err;
	pid_t arming;
	enum tu_fault_who who;
	bool armed;
};
static struct fault_shared *fault_sh;
static char fault_point[96];

static int fault_cb(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
	(void)name;
	(void)failnum;
	(void)flags;
	if ((fault_sh->who == TU_FAULT_OTHERS && getpid() == fault_sh->arming) ||
	    (fault_sh->who == TU_FAULT_SELF && getpid() != fault_sh->arming))
		return 0;
	unsigned n = __atomic_add_fetch(&fault_sh->calls, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&fault_sh->armed, __ATOMIC_SEQ_CST) || n < fault_sh->from ||
	    (fault_sh->to && n > fault_sh->to))
		return 0;
	__atomic_add_fetch(&fault_sh->failed, 1, __ATOMIC_SEQ_CST);
	*failinfo = (void *)(intptr_t)fault_sh->err;
	return 1;
}

void tu_fault_arm(const char *point, int err, unsigned from, unsigned to, enum tu_fault_who who)
{
	if (!fault_sh) {
		fault_sh = mmap(NULL, sizeof *fault_sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ck_assert_ptr_ne(fault_sh, MAP_FAILED);
		fiu_init(0);
	}
	if (fault_point[0])
		fiu_disable(fault_point);
	*fault_sh = (struct fault_shared){
		.from = from ? from : 1, .to = to, .err = err, .arming = getpid(), .who = who, .armed = true};
	snprintf(fault_point, sizeof fault_point, "%s", point);
	ck_assert_int_eq(fiu_enable_external(fault_point, 1, NULL, 0, fault_cb), 0);
}

void tu_fault_disarm(void)
{
	if (fault_sh)
		__atomic_store_n(&fault_sh->armed, false, __ATOMIC_SEQ_CST);
}

unsigned tu_fault_calls(void)
{
	return fault_sh ? __atomic_load_n(&fault_sh->calls, __ATOMIC_SEQ_CST) : 0;
}

unsigned tu_fault_failed(void)
{
	return fault_sh ? __atomic_load_n(&fault_sh->failed, __ATOMIC_SEQ_CST) : 0;
}
#endif
