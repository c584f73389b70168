/* SPDX-License-Identifier: MIT */
/* test_spawn.c — what a worker starts with (src/spawn.c): its environment
 * (fault injection and the parent's systemd/tether variables removed, libfiu
 * stripped from LD_PRELOAD, TETHER_INSTANCE, NOTIFY_SOCKET, WATCHDOG_USEC and
 * its own WATCHDOG_PID set), exactly fds 0, 1, 2 (G5) with stdin on /dev/null,
 * an empty signal mask and default dispositions, a process group of its own,
 * RLIMIT_AS; exec failures reported through the error pipe as errno with exit
 * 127; COMMAND found by our own PATH search (no /bin/sh for a file without
 * #!); the environment edits; --user's ids, --chdir and --umask taken in the
 * child, a failure there reported with its stage; tether_child_exit.
 *
 * Each test forks a child that does what a guardian does after fork: it calls
 * tether_spawn_exec_child with the write end of a close-on-exec pipe. The
 * programs run are the fixture worker (TETHER_WORKER) and a few coreutils
 * that report what they inherited (readlink, cat /proc/self/...), none of
 * which touches its signal mask, dispositions or descriptors first.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proctest.h"
#include "spawn.h"
#include "testutil.h"

extern char **environ;

/* ---- running a spec ------------------------------------------------------------------ */

struct spawned {
	pid_t pid;
	int err;       /* errno read from the error pipe, 0 when exec succeeded */
	ssize_t bytes; /* how many bytes the pipe carried */
	int status;    /* wait status */
};

/* What the child does between fork and tether_spawn_exec_child. */
typedef void (*prep_fn)(void *arg);

static int stdout_fd = -1; /* the child's stdout when >= 0 */
static int err_fd_at = -1; /* move the error pipe to this fd first when >= 0 */

static void spawn_spec(struct tether_spawn_spec *spec, prep_fn prep, void *arg, struct spawned *ret)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(111);
		close(p[0]);
		int efd = p[1];
		if (err_fd_at >= 0) {
			if (dup3(p[1], err_fd_at, O_CLOEXEC) < 0)
				_exit(112);
			close(p[1]);
			efd = err_fd_at;
		}
		if (stdout_fd >= 0 && dup2(stdout_fd, 1) < 0)
			_exit(113);
		if (prep)
			prep(arg);
		tether_spawn_exec_child(spec, efd);
	}
	pt_track(pid);
	close(p[1]);
	int e = 0;
	ssize_t total = 0, n;
	char buf[64];
	/* EOF when exec closed the write end (success) or the child exited */
	while ((n = read(p[0], buf + total, sizeof buf - (size_t)total)) > 0)
		total += n;
	close(p[0]);
	if (total >= (ssize_t)sizeof e)
		memcpy(&e, buf, sizeof e);
	ret->pid = pid;
	ret->err = e;
	ret->bytes = total;
	ret->status = tu_wait(pid, 20000);
	ck_assert_msg(ret->status != -1, "spawned child %d did not exit", (int)pid);
}

static void spec_for(struct tether_spawn_spec *spec, char *const argv[], const struct tether_spawn_env *env)
{
	static const struct tether_spawn_env none = {.instance = 0};
	ck_assert_int_eq(tether_spawn_spec_init(spec, argv, env ? env : &none), 0);
}

/* Spawns argv, expects exec to succeed and the program to exit 0. */
static void run_ok(char *const argv[], const struct tether_spawn_env *env, prep_fn prep, void *arg,
		   struct spawned *ret)
{
	struct tether_spawn_spec spec;
	spec_for(&spec, argv, env);
	spawn_spec(&spec, prep, arg, ret);
	tether_spawn_spec_done(&spec);
	ck_assert_msg(ret->bytes == 0, "exec of %s failed: %s (%zd bytes on the error pipe)", argv[0],
		      strerror(ret->err), ret->bytes);
	ck_assert_msg(WIFEXITED(ret->status) && WEXITSTATUS(ret->status) == 0, "%s: wait status 0x%x", argv[0],
		      ret->status);
}

/* ---- environment ------------------------------------------------------------------------ */

/* Value of KEY in a KEY=VALUE-per-line text, and how many times it occurs. */
static int env_count(const char *text, const char *key, char *val, size_t len)
{
	int n = 0;
	size_t kl = strlen(key);
	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);
		if (ll > kl && strncmp(l, key, kl) == 0 && l[kl] == '=') {
			n++;
			if (val)
				snprintf(val, len, "%.*s", (int)(ll - kl - 1), l + kl + 1);
		}
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

static void assert_env(const char *text, const char *key, const char *want)
{
	char val[4096] = "";
	int n = env_count(text, key, val, sizeof val);
	if (!want) {
		ck_assert_msg(n == 0, "worker inherited %s=%s", key, val);
		return;
	}
	ck_assert_msg(n == 1, "worker has %s %d times, want once (=%s)", key, n, want);
	ck_assert_msg(strcmp(val, want) == 0, "worker has %s=\"%s\", want \"%s\"", key, val, want);
}

/* The parent's variables a worker must not see. */
static void set_parent_env(const char *ld_preload)
{
	setenv("TETHER_FAULT", "tether/sys/open:13:1", 1);
	setenv("TETHER_FAULT_REPORT", "/nonexistent/report", 1);
	setenv("TETHER_FAULT_COUNT", "/nonexistent/count", 1);
	setenv("FIU_ENABLE", "enable name=tether/sys/fork,failinfo=11", 1);
	setenv("FIU_CTRL_FIFO", "/nonexistent/fiu-ctrl", 1);
	setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
	setenv("WATCHDOG_USEC", "30000000", 1);
	setenv("WATCHDOG_PID", "1", 1);
	setenv("TETHER_INSTANCE", "9", 1);
	setenv("TETHER_SCOPE", "parent-scope", 1);
	setenv("KEEP_ME", "yes", 1);
	setenv("TETHER_FAULTY", "not a fault variable", 1);
	setenv("NOTIFY_SOCKETS", "not NOTIFY_SOCKET", 1);
	if (ld_preload)
		setenv("LD_PRELOAD", ld_preload, 1);
	else
		unsetenv("LD_PRELOAD");
}

static char *worker_env(const struct tether_spawn_env *env, pid_t *ret_pid)
{
	const char *out = tu_path("env.txt");
	char *argv[] = {TETHER_WORKER, "--env", (char *)out, "--exit", "0", NULL};
	struct spawned sp;
	run_ok(argv, env, NULL, NULL, &sp);
	if (ret_pid)
		*ret_pid = sp.pid;
	char *text = tu_read_file(out, NULL);
	ck_assert_ptr_nonnull(text);
	return text;
}

START_TEST(env_is_filtered_and_set)
{
	set_parent_env("/usr/lib/fiu/fiu_run_preload.so libc.so.6:/usr/lib/fiu/fiu_posix_preload.so:libm.so.6");
	const struct tether_spawn_env env = {
		.instance = 3,
		.notify_socket = "@tether/test-notify",
		.watchdog_ns = 2500 * INT64_C(1000000),
		.scope = "child-scope",
	};
	pid_t pid;
	char *text = worker_env(&env, &pid);
	/* removed: fault injection, and what the parent's own supervisor set */
	assert_env(text, "TETHER_FAULT", NULL);
	assert_env(text, "TETHER_FAULT_REPORT", NULL);
	assert_env(text, "TETHER_FAULT_COUNT", NULL);
	assert_env(text, "FIU_ENABLE", NULL);
	assert_env(text, "FIU_CTRL_FIFO", NULL);
	/* set for the worker, once each, replacing the parent's */
	char buf[32];
	snprintf(buf, sizeof buf, "%d", (int)pid);
	assert_env(text, "TETHER_INSTANCE", "3");
	assert_env(text, "TETHER_SCOPE", "child-scope");
	assert_env(text, "NOTIFY_SOCKET", "@tether/test-notify");
	assert_env(text, "WATCHDOG_USEC", "2500000");
	assert_env(text, "WATCHDOG_PID", buf);
	/* libfiu's preloads are gone, the others kept in order */
	assert_env(text, "LD_PRELOAD", "libc.so.6:libm.so.6");
	/* everything else is kept */
	assert_env(text, "KEEP_ME", "yes");
	assert_env(text, "TETHER_FAULTY", "not a fault variable");
	assert_env(text, "NOTIFY_SOCKETS", "not NOTIFY_SOCKET");
	assert_env(text, "TETHER_TEST_RUN", tu_marker);
	assert_env(text, "PATH", getenv("PATH"));
	free(text);
}
END_TEST

START_TEST(env_without_notify_watchdog_or_scope)
{
	set_parent_env("/usr/lib/fiu/fiu_run_preload.so");
	const struct tether_spawn_env env = {.instance = 0};
	char *text = worker_env(&env, NULL);
	assert_env(text, "TETHER_INSTANCE", "0");
	/* nothing of the parent's leaks in for want of a value of ours */
	assert_env(text, "TETHER_SCOPE", NULL);
	assert_env(text, "NOTIFY_SOCKET", NULL);
	assert_env(text, "WATCHDOG_USEC", NULL);
	assert_env(text, "WATCHDOG_PID", NULL);
	/* an LD_PRELOAD of libfiu alone disappears */
	assert_env(text, "LD_PRELOAD", NULL);
	assert_env(text, "FIU_ENABLE", NULL);
	assert_env(text, "KEEP_ME", "yes");
	free(text);
}
END_TEST

START_TEST(env_filter_names)
{
	static const struct {
		const char *entry;
		bool filtered;
	} cases[] = {
		{"TETHER_FAULT=x", true},
		{"TETHER_FAULT=", true},
		{"TETHER_FAULT_REPORT=/r", true},
		{"TETHER_FAULT_COUNT=/c", true},
		{"FIU_ENABLE=enable name=x", true},
		{"FIU_CTRL_FIFO=/f", true},
		{"NOTIFY_SOCKET=/run/systemd/notify", true},
		{"WATCHDOG_USEC=1", true},
		{"WATCHDOG_PID=1", true},
		{"TETHER_INSTANCE=1", true},
		{"TETHER_SCOPE=s", true},
		{"TETHER_FAULTY=x", false},
		{"TETHER_FAULT", false},
		{"XTETHER_FAULT=x", false},
		{"NOTIFY_SOCKETS=x", false},
		{"FIU_ENABLED=x", false},
		{"LD_PRELOAD=libc.so.6", false},
		{"PATH=/usr/bin", false},
		{"TETHER_TEST_RUN=m", false},
		{"", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(tether_spawn_env_filtered(cases[i].entry) == cases[i].filtered,
			      "tether_spawn_env_filtered(\"%s\") = %d, want %d", cases[i].entry,
			      !cases[i].filtered, cases[i].filtered);
	/* every fault-injection variable is filtered */
	for (const char *const *v = tether_fault_env_vars; *v; v++) {
		char entry[128];
		snprintf(entry, sizeof entry, "%s=1", *v);
		ck_assert_msg(tether_spawn_env_filtered(entry), "%s is not filtered", *v);
	}
}
END_TEST

START_TEST(spec_init_copies_and_frees)
{
	struct tether_spawn_spec spec;
	ck_assert_int_eq(tether_spawn_spec_init(&spec, NULL, &(struct tether_spawn_env){0}), -EINVAL);
	char *empty[] = {NULL};
	ck_assert_int_eq(tether_spawn_spec_init(&spec, empty, &(struct tether_spawn_env){0}), -EINVAL);
	char a0[] = "prog", a1[] = "arg";
	char *argv[] = {a0, a1, NULL};
	const struct tether_spawn_env env = {.instance = 1, .watchdog_ns = 1000000000};
	ck_assert_int_eq(tether_spawn_spec_init(&spec, argv, &env), 0);
	/* a deep copy: the caller's strings may change or go */
	a0[0] = 'X';
	ck_assert_str_eq(spec.argv[0], "prog");
	ck_assert_str_eq(spec.argv[1], "arg");
	ck_assert_ptr_null(spec.argv[2]);
	ck_assert_int_ge(spec.watchdog_pid_slot, 0);
	ck_assert_ptr_eq(spec.envp[spec.watchdog_pid_slot], spec.watchdog_pid_buf);
	ck_assert_ptr_null(spec.envp[spec.watchdog_pid_slot + 1]);
	tether_spawn_spec_done(&spec);
	ck_assert_ptr_null(spec.argv);
	ck_assert_ptr_null(spec.envp);
	tether_spawn_spec_done(&spec); /* twice is harmless */
	/* no watchdog: no slot */
	ck_assert_int_eq(tether_spawn_spec_init(&spec, argv, &(struct tether_spawn_env){0}), 0);
	ck_assert_int_eq(spec.watchdog_pid_slot, -1);
	tether_spawn_spec_done(&spec);
}
END_TEST

/* ---- descriptors, stdin ------------------------------------------------------------------- */

static void open_stray_fds(void *arg)
{
	(void)arg;
	/* non-CLOEXEC descriptors of every kind a parent may hold */
	int fd = open("/dev/null", O_RDONLY);
	int p[2];
	if (fd < 0 || pipe(p) < 0)
		_exit(114);
	int targets[] = {3, 4, 5, 9, 63, 64, 200, 1000};
	for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
		if (targets[i] != err_fd_at && dup2(i % 2 ? p[0] : fd, targets[i]) < 0)
			_exit(115);
}

START_TEST(only_fds_0_1_2_survive)
{
	/* _i == 0: the error pipe somewhere high; 1: already at fd 3 */
	err_fd_at = _i == 0 ? 77 : 3;
	const char *out = tu_path("fds.txt");
	char *argv[] = {TETHER_WORKER, "--list-fds", (char *)out, "--exit", "0", NULL};
	struct spawned sp;
	run_ok(argv, NULL, open_stray_fds, NULL, &sp);
	char *text = tu_read_file(out, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, "0 1 2\n");
	free(text);
}
END_TEST

static void odd_stdin(void *arg)
{
	(void)arg;
	/* stdin a pipe: it must become /dev/null */
	int p[2];
	if (pipe(p) < 0 || dup2(p[0], 0) < 0)
		_exit(116);
	int err = open(arg ? (const char *)arg : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (err < 0 || dup2(err, 2) < 0)
		_exit(117);
}

START_TEST(stdin_is_dev_null_stdout_stderr_inherited)
{
	char out[PATH_MAX], err[PATH_MAX];
	tu_write_file(tu_path("out"), "", 0, 0644);
	tu_write_file(tu_path("err"), "", 0, 0644);
	ck_assert_ptr_nonnull(realpath(tu_path("out"), out));
	ck_assert_ptr_nonnull(realpath(tu_path("err"), err));
	stdout_fd = open(out, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(stdout_fd, 0);
	char *argv[] = {"/usr/bin/readlink", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2", NULL};
	struct spawned sp;
	run_ok(argv, NULL, odd_stdin, err, &sp);
	char *text = tu_read_file(out, NULL);
	char want[3 * PATH_MAX];
	snprintf(want, sizeof want, "/dev/null\n%s\n%s\n", out, err);
	ck_assert_str_eq(text, want);
	free(text);
}
END_TEST

/* ---- signals, process group, limits --------------------------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
}

static void odd_signals(void *arg)
{
	(void)arg;
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGRTMIN + 2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGRTMIN + 5, SIG_IGN);
	signal(SIGALRM, on_alarm);
	/* glibc's internal signals 32 and 33, which libc's sigaction refuses to
	 * touch, ignored as GNU make leaves them: the raw call can */
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} ksa = {.handler = SIG_IGN};
	syscall(SYS_rt_sigaction, 32, &ksa, NULL, sizeof ksa.mask);
	syscall(SYS_rt_sigaction, 33, &ksa, NULL, sizeof ksa.mask);
}

/* The value of "Key:" in /proc/PID/status text. */
static void status_field(const char *text, const char *key, char *out, size_t len)
{
	char k[64];
	snprintf(k, sizeof k, "\n%s:", key);
	const char *p = strstr(text, k);
	ck_assert_msg(p != NULL, "no %s in /proc status", key);
	p += strlen(k);
	p += strspn(p, " \t");
	snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
}

struct catted {
	char *status, *stat, *limits;
};

/* Runs `cat /proc/self/status`, `.../stat` and `.../limits` (one cat each:
 * what it inherited is what it shows) as spawned workers. */
static void cat_self(const char *file, struct tether_spawn_spec *spec, prep_fn prep, char **ret_text)
{
	const char *out = tu_path("cat.txt");
	stdout_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(stdout_fd, 0);
	char path[64];
	snprintf(path, sizeof path, "/proc/self/%s", file);
	free(spec->argv[1]);
	spec->argv[1] = strdup(path);
	struct spawned sp;
	spawn_spec(spec, prep, NULL, &sp);
	close(stdout_fd);
	stdout_fd = -1;
	ck_assert_msg(sp.bytes == 0, "exec of cat failed: %s", strerror(sp.err));
	ck_assert_msg(WIFEXITED(sp.status) && WEXITSTATUS(sp.status) == 0, "cat: status 0x%x", sp.status);
	*ret_text = tu_read_file(out, NULL);
	ck_assert_ptr_nonnull(*ret_text);
}

START_TEST(signal_mask_empty_dispositions_default)
{
	/* _i == 1: the spawning process says it already has default
	 * dispositions (a guardian): the mask is still emptied */
	char *argv[] = {"cat", "/proc/self/status", NULL}; /* a PATH search */
	struct tether_spawn_spec spec;
	spec_for(&spec, argv, NULL);
	spec.dispositions_reset = _i == 1;
	char *text;
	cat_self("status", &spec, odd_signals, &text);
	tether_spawn_spec_done(&spec);
	char v[64];
	status_field(text, "SigBlk", v, sizeof v);
	ck_assert_str_eq(v, "0000000000000000");
	if (_i == 0) {
		status_field(text, "SigIgn", v, sizeof v);
		ck_assert_str_eq(v, "0000000000000000");
	}
	free(text);
}
END_TEST

START_TEST(own_process_group_and_rlimit_as)
{
	char *argv[] = {"/bin/cat", "/proc/self/stat", NULL};
	struct tether_spawn_spec spec;
	spec_for(&spec, argv, NULL);
	spec.rlimit_as = UINT64_C(3) << 30;
	char *stat, *limits;
	cat_self("stat", &spec, NULL, &stat);
	cat_self("limits", &spec, NULL, &limits);
	tether_spawn_spec_done(&spec);
	/* pid (comm) state ppid pgrp session */
	int pid, ppid, pgrp, session;
	char *rp = strrchr(stat, ')');
	ck_assert_ptr_nonnull(rp);
	ck_assert_int_eq(sscanf(stat, "%d", &pid), 1);
	ck_assert_int_eq(sscanf(rp + 2, "%*c %d %d %d", &ppid, &pgrp, &session), 3);
	ck_assert_int_eq(ppid, getpid());
	ck_assert_int_eq(pgrp, pid);          /* leads its own group */
	ck_assert_int_ne(pgrp, getpgrp());
	ck_assert_int_eq(session, getsid(0)); /* a group, not a session */
	const char *l = strstr(limits, "Max address space");
	ck_assert_ptr_nonnull(l);
	unsigned long long soft, hard;
	ck_assert_int_eq(sscanf(l + strlen("Max address space"), "%llu %llu", &soft, &hard), 2);
	ck_assert_uint_eq(soft, UINT64_C(3) << 30);
	ck_assert_uint_eq(hard, UINT64_C(3) << 30);
	free(stat);
	free(limits);
	/* without rlimit_as the limit is what we have */
	spec_for(&spec, argv, NULL);
	cat_self("limits", &spec, NULL, &limits);
	tether_spawn_spec_done(&spec);
	l = strstr(limits, "Max address space");
	ck_assert_ptr_nonnull(l);
	char word[32];
	ck_assert_int_eq(sscanf(l + strlen("Max address space"), "%31s", word), 1);
	struct rlimit rl;
	getrlimit(RLIMIT_AS, &rl);
	if (rl.rlim_cur == RLIM_INFINITY)
		ck_assert_str_eq(word, "unlimited");
	free(limits);
}
END_TEST

START_TEST(cgroup_procs_is_joined_before_exec)
{
	/* The worker joins its cgroup by writing "0" to cgroup.procs; a plain
	 * file stands in for it here. */
	const char *procs = tu_path("cgroup.procs");
	tu_write_file(procs, "", 0, 0644);
	char *argv[] = {TETHER_WORKER, "--exit", "0", NULL};
	struct tether_spawn_spec spec;
	spec_for(&spec, argv, NULL);
	spec.cgroup_procs = strdup(procs);
	struct spawned sp;
	spawn_spec(&spec, NULL, NULL, &sp);
	ck_assert_int_eq(sp.bytes, 0);
	ck_assert(WIFEXITED(sp.status) && WEXITSTATUS(sp.status) == 0);
	char *text = tu_read_file(procs, NULL);
	ck_assert_str_eq(text, "0\n");
	free(text);
	/* a cgroup that cannot be joined is a failed start, reported as errno */
	free(spec.cgroup_procs);
	spec.cgroup_procs = strdup(tu_path("gone/cgroup.procs"));
	spawn_spec(&spec, NULL, NULL, &sp);
	tether_spawn_spec_done(&spec);
	ck_assert_int_eq(sp.bytes, (ssize_t)sizeof(int));
	ck_assert_int_eq(sp.err, ENOENT);
	ck_assert(WIFEXITED(sp.status));
	ck_assert_int_eq(WEXITSTATUS(sp.status), 127);
}
END_TEST

/* ---- exec failures -------------------------------------------------------------------------- */

static void expect_exec_failure(char *const argv[], int want)
{
	struct tether_spawn_spec spec;
	spec_for(&spec, argv, NULL);
	struct spawned sp;
	spawn_spec(&spec, NULL, NULL, &sp);
	tether_spawn_spec_done(&spec);
	/* exactly one int on the pipe, the errno, then end of file */
	ck_assert_msg(sp.bytes == (ssize_t)sizeof(int), "%s: %zd bytes on the error pipe", argv[0], sp.bytes);
	ck_assert_msg(sp.err == want, "%s: errno %d (%s), want %d (%s)", argv[0], sp.err, strerror(sp.err), want,
		      strerror(want));
	ck_assert_msg(WIFEXITED(sp.status) && WEXITSTATUS(sp.status) == 127, "%s: wait status 0x%x, want exit 127",
		      argv[0], sp.status);
}

START_TEST(exec_failures_come_back_as_errno)
{
	char *missing[] = {"/nonexistent/tether-test-prog", NULL};
	expect_exec_failure(missing, ENOENT);
	/* a PATH of readable directories: one we may not search would make it
	 * EACCES (execvp's rule), which is right but not this case */
	setenv("PATH", "/nonexistent-dir:/usr/bin:/bin", 1);
	char *not_on_path[] = {"tether-test-no-such-command", NULL};
	expect_exec_failure(not_on_path, ENOENT);
	tu_write_file(tu_path("not-executable"), "#!/bin/sh\nexit 0\n", 17, 0644);
	char *noexec[] = {(char *)tu_path("not-executable"), NULL};
	expect_exec_failure(noexec, EACCES);
	char *dir[] = {tu_dir, NULL};
	expect_exec_failure(dir, EACCES);
	/* and with the error pipe at fd 3 already */
	err_fd_at = 3;
	expect_exec_failure(missing, ENOENT);
}
END_TEST

/* A spec with extra fields set by fn before it runs. */
static void expect_failure_with(char *const argv[], const struct tether_spawn_env *env,
				void (*fn)(struct tether_spawn_spec *, void *), void *arg, int want)
{
	struct tether_spawn_spec spec;
	spec_for(&spec, argv, env);
	if (fn)
		fn(&spec, arg);
	struct spawned sp;
	spawn_spec(&spec, NULL, NULL, &sp);
	tether_spawn_spec_done(&spec);
	ck_assert_msg(sp.bytes == (ssize_t)sizeof(int), "%s: %zd bytes on the error pipe", argv[0], sp.bytes);
	ck_assert_msg(sp.err == want, "%s: error %#x (stage %d, %s), want %#x (stage %d, %s)", argv[0], sp.err,
		      tether_spawn_error_stage(sp.err), strerror(tether_spawn_error_errno(sp.err)), want,
		      tether_spawn_error_stage(want), strerror(tether_spawn_error_errno(want)));
	ck_assert_msg(WIFEXITED(sp.status) && WEXITSTATUS(sp.status) == 127, "%s: wait status 0x%x", argv[0],
		      sp.status);
}

/* COMMAND through our own PATH search and execve: a file that is no program
 * is "Exec format error", never run by /bin/sh (glibc's execvp fallback);
 * the first candidate that is not "not here" decides; the worker's own PATH
 * (its environment edits) is searched. */
START_TEST(exec_searches_path_without_a_shell)
{
	char bin[PATH_MAX], other[PATH_MAX], script[PATH_MAX + 16], ran[PATH_MAX];
	snprintf(bin, sizeof bin, "%s", tu_path("bin"));
	snprintf(other, sizeof other, "%s", tu_path("other"));
	snprintf(ran, sizeof ran, "%s", tu_path("ran-by-sh"));
	ck_assert_int_eq(mkdir(bin, 0755), 0);
	ck_assert_int_eq(mkdir(other, 0755), 0);
	char text[PATH_MAX + 16];
	snprintf(text, sizeof text, "touch %s\n", ran);
	snprintf(script, sizeof script, "%s/no-shebang", bin);
	tu_write_file(script, text, strlen(text), 0755);
	char *abs[] = {script, NULL};
	expect_exec_failure(abs, ENOEXEC);
	char path[2 * PATH_MAX + 8];
	snprintf(path, sizeof path, "/nonexistent-dir:%s", bin);
	setenv("PATH", path, 1);
	char *searched[] = {"no-shebang", NULL};
	expect_exec_failure(searched, ENOEXEC);
	ck_assert_msg(!tu_exists(ran), "a file without #! was run by a shell");

	/* not executable in the first directory, a program in the second: run */
	char copy[PATH_MAX + 16];
	snprintf(copy, sizeof copy, "%s/tether-true", bin);
	tu_write_file(copy, "#!/bin/sh\nexit 3\n", 17, 0644);
	snprintf(copy, sizeof copy, "%s/tether-true", other);
	tu_write_file(copy, "#!/bin/sh\nexit 0\n", 17, 0755);
	snprintf(path, sizeof path, "%s:%s", bin, other);
	setenv("PATH", path, 1);
	char *found[] = {"tether-true", NULL};
	struct spawned sp;
	run_ok(found, NULL, NULL, NULL, &sp);
	/* only the one we may not execute: EACCES, not ENOENT */
	setenv("PATH", bin, 1);
	expect_exec_failure(found, EACCES);

	/* the worker's PATH, not ours, after the environment edits */
	char edit[PATH_MAX + 8];
	snprintf(edit, sizeof edit, "PATH=%s", other);
	char *edits[] = {edit, NULL};
	struct tether_spawn_env env = {.edits = edits};
	setenv("PATH", "/nonexistent-dir", 1);
	run_ok(found, &env, NULL, NULL, &sp);
	/* an empty element is the working directory */
	char *edits_cwd[] = {"PATH=/nonexistent-dir:", NULL};
	env.edits = edits_cwd;
	ck_assert_int_eq(chdir(other), 0);
	run_ok(found, &env, NULL, NULL, &sp);
	/* and without PATH at all, a default one */
	char *edits_none[] = {"PATH", NULL};
	env.edits = edits_none;
	char *sh[] = {"sh", "-c", "exit 0", NULL};
	run_ok(sh, &env, NULL, NULL, &sp);
}
END_TEST

START_TEST(environment_edits_apply_in_order)
{
	set_parent_env(NULL);
	setenv("DROP_ME", "x", 1);
	char *edits[] = {"A=1", "DROP_ME", "B=two words", "A=3", "KEEP_ME=replaced", "EMPTY=", NULL};
	struct tether_spawn_env env = {.instance = 2, .notify_socket = "@x", .edits = edits};
	char *text = worker_env(&env, NULL);
	assert_env(text, "A", "3");
	assert_env(text, "B", "two words");
	assert_env(text, "DROP_ME", NULL);
	assert_env(text, "KEEP_ME", "replaced");
	assert_env(text, "EMPTY", "");
	/* ours still come after them */
	assert_env(text, "TETHER_INSTANCE", "2");
	assert_env(text, "NOTIFY_SOCKET", "@x");
	free(text);
}
END_TEST

static void with_identity(struct tether_spawn_spec *spec, void *arg)
{
	spec->identity = arg;
}

struct place {
	const struct tether_identity *id;
	const char *dir;
	int umask;
};

static void with_place(struct tether_spawn_spec *spec, void *arg)
{
	struct place *p = arg;
	spec->identity = p->id;
	spec->chdir = p->dir;
	spec->umask = p->umask;
}

/* --user, --chdir, --umask in the child: the ids (all three of each), the
 * groups, the directory entered as the user (a failure says which stage),
 * the mask. */
START_TEST(identity_directory_and_umask_in_the_child)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP identity_directory_and_umask_in_the_child: needs root to switch users\n");
		return;
	}
	gid_t groups[] = {65534, 4244};
	struct tether_identity nobody = {.set = true, .switch_ids = true, .uid = 65534, .gid = 65534,
					 .groups = groups, .ngroups = 2};
	char *id_argv[] = {"/bin/sh", "-c", "cat /proc/self/status; pwd", NULL};
	/* tu_dir is 0700: nobody cannot enter it, and says so as the chdir stage */
	struct place p = {.id = &nobody, .dir = tu_dir, .umask = 027};
	expect_failure_with(id_argv, NULL, with_place, &p, TETHER_SPAWN_ERROR(TETHER_SPAWN_STAGE_CHDIR, EACCES));
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", tu_path("open"));
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	ck_assert_int_eq(chmod(tu_dir, 0711), 0);
	p.dir = dir;
	int out = open(tu_path("out"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(out, 0);
	stdout_fd = out;
	struct tether_spawn_spec spec;
	spec_for(&spec, id_argv, NULL);
	with_place(&spec, &p);
	struct spawned sp;
	spawn_spec(&spec, NULL, NULL, &sp);
	tether_spawn_spec_done(&spec);
	close(out);
	stdout_fd = -1;
	ck_assert_msg(sp.bytes == 0 && WIFEXITED(sp.status) && WEXITSTATUS(sp.status) == 0, "error %#x, status 0x%x",
		      sp.err, sp.status);
	char *text = tu_read_file(tu_path("out"), NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "\nUid:\t65534\t65534\t65534\t65534\n"), "%s", text);
	ck_assert_msg(strstr(text, "\nGid:\t65534\t65534\t65534\t65534\n"), "%s", text);
	ck_assert_msg(strstr(text, "\nGroups:\t4244 65534"), "%s", text);
	ck_assert_msg(strstr(text, "\nUmask:\t0027\n"), "%s", text);
	char want[PATH_MAX + 4];
	snprintf(want, sizeof want, "\n%s\n", dir);
	ck_assert_msg(strstr(text, want), "%s", text);
	free(text);

	/* a switch the kernel refuses (more groups than it takes) is the
	 * identity stage's failure, before any exec */
	size_t many = 70000;
	gid_t *lots = calloc(many, sizeof *lots);
	struct tether_identity too_many = nobody;
	too_many.groups = lots;
	too_many.ngroups = many;
	char *never[] = {"/nonexistent/never-run", NULL};
	expect_failure_with(never, NULL, with_identity, &too_many, TETHER_SPAWN_ERROR(TETHER_SPAWN_STAGE_IDENTITY, EINVAL));
	free(lots);
	/* switch_ids false: nothing changes (no privilege needed) */
	struct tether_identity self = {.set = true, .switch_ids = false, .uid = 65534};
	char *uid_argv[] = {"/bin/sh", "-c", "test \"$(id -u)\" = 0", NULL};
	spec_for(&spec, uid_argv, NULL);
	spec.identity = &self;
	spawn_spec(&spec, NULL, NULL, &sp);
	tether_spawn_spec_done(&spec);
	ck_assert_msg(sp.bytes == 0 && WIFEXITED(sp.status) && WEXITSTATUS(sp.status) == 0, "status 0x%x", sp.status);
}
END_TEST

START_TEST(successful_exec_closes_the_error_pipe)
{
	/* The worker idles after its steps: the pipe's EOF comes from exec
	 * (close-on-exec), not from the worker's exit. */
	char *argv[] = {TETHER_WORKER, NULL};
	struct tether_spawn_spec spec;
	spec_for(&spec, argv, NULL);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		tether_spawn_exec_child(&spec, p[1]);
	}
	pt_track(pid);
	close(p[1]);
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);
	ck_assert(tu_alive(pid));
	kill(pid, SIGKILL);
	int st = tu_wait(pid, 10000);
	ck_assert(WIFSIGNALED(st));
	tether_spawn_spec_done(&spec);
}
END_TEST

/* ---- tether_child_exit ------------------------------------------------------------------ */

static const char *atexit_flag;

static void atexit_mark(void)
{
	tu_write_file(atexit_flag, "ran", 3, 0644);
}

START_TEST(child_exit_exits_with_the_code)
{
	static const int codes[] = {0, 1, 42, 127, 255};
	atexit_flag = tu_path("atexit-ran");
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			atexit(atexit_mark);
			tether_child_exit(codes[i]);
		}
		int st = tu_wait(pid, 10000);
		ck_assert(WIFEXITED(st));
		ck_assert_int_eq(WEXITSTATUS(st), codes[i]);
	}
	/* _exit: a forked child runs none of its parent's exit handlers */
	ck_assert(!tu_exists(atexit_flag));
}
END_TEST

static void setup(void)
{
	pt_setup();
	stdout_fd = -1;
	err_fd_at = -1;
}

#ifdef TETHER_FAULT_INJECTION
/* Every limit and a cgroup to join (a plain file of the test's: writing
 * "0\n" to it succeeds), so that each set-up step of the child runs. */
static void with_every_step(struct tether_spawn_spec *spec, void *arg)
{
	(void)arg;
	struct rlimit rl;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	spec->rlimit_as = (uint64_t)1 << 40;
	spec->restore_nofile = true;
	spec->nofile_soft = rl.rlim_cur;
	spec->nofile_hard = rl.rlim_max;
	tu_write_file(tu_path("cgroup.procs"), "", 0, 0644);
	spec->cgroup_procs = strdup(tu_path("cgroup.procs"));
	ck_assert_ptr_nonnull(spec->cgroup_procs);
}

START_TEST(child_setup_failures_come_back_as_errno)
{
	/* each step between fork and exec that fails is reported on the error
	 * pipe with its errno, and the child exits 127 without running the
	 * program: the k-th call of the step's point fails (in the child only) */
	static const struct {
		const char *point;
		unsigned k;     /* the call of the point in the child that fails */
		int fd3;        /* the error pipe at fd 3 already (no dup3 to move it) */
	} steps[] = {
		{"tether/sys/dup", 1, 0},         /* moving the error pipe to fd 3 */
		{"tether/sys/setpgid", 1, 1},
		{"tether/sys/open", 1, 1},        /* /dev/null */
		{"tether/sys/dup", 1, 1},         /* /dev/null onto stdin */
		{"tether/sys/setrlimit", 1, 1},   /* RLIMIT_AS */
		{"tether/sys/setrlimit", 2, 1},   /* RLIMIT_NOFILE back to the caller's */
		{"tether/sys/open", 2, 1},        /* the cgroup's cgroup.procs */
		{"tether/sys/write", 1, 1},       /* joining it */
		{"tether/sys/sigprocmask", 1, 1},
	};
	char *prog[] = {"/bin/true", NULL};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		err_fd_at = steps[i].fd3 ? 3 : -1;
		tu_fault_arm(steps[i].point, EXDEV, steps[i].k, steps[i].k, TU_FAULT_OTHERS);
		expect_failure_with(prog, NULL, with_every_step, NULL, EXDEV);
		ck_assert_msg(tu_fault_failed() == 1, "%s (call %u): %u calls failed", steps[i].point, steps[i].k,
			      tu_fault_failed());
		tu_fault_disarm();
	}
	err_fd_at = -1;
}
END_TEST
#endif

int main(void)
{
	pt_init();
	Suite *s = suite_create("spawn");
	TCase *tc = tcase_create("env");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, env_is_filtered_and_set);
	tcase_add_test(tc, env_without_notify_watchdog_or_scope);
	tcase_add_test(tc, env_filter_names);
	tcase_add_test(tc, spec_init_copies_and_frees);
	suite_add_tcase(s, tc);

	tc = tcase_create("process");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, only_fds_0_1_2_survive, 0, 2);
	tcase_add_test(tc, stdin_is_dev_null_stdout_stderr_inherited);
	tcase_add_loop_test(tc, signal_mask_empty_dispositions_default, 0, 2);
	tcase_add_test(tc, own_process_group_and_rlimit_as);
	tcase_add_test(tc, cgroup_procs_is_joined_before_exec);
	suite_add_tcase(s, tc);

	tc = tcase_create("exec");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, exec_failures_come_back_as_errno);
	tcase_add_test(tc, exec_searches_path_without_a_shell);
	tcase_add_test(tc, environment_edits_apply_in_order);
	tcase_add_test(tc, identity_directory_and_umask_in_the_child);
	tcase_add_test(tc, successful_exec_closes_the_error_pipe);
	tcase_add_test(tc, child_exit_exits_with_the_code);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_test(tc, child_setup_failures_come_back_as_errno);
#endif
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pt_fini();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
