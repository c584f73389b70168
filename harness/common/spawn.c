/* SPDX-License-Identifier: MIT */
/* spawn.c — how every part of the lab starts a process (see common.h): the
 * scenarios' processes (run/procs.c), the stress cycles' tethers and racers
 * (stress/stress_proc.c), the soak's tethers (soak/soak_tether.c).
 *
 * A spawned process gets: its own process group (so a group signal reaches
 * what it forked, and a terminal's Ctrl-C never does); stdin /dev/null and
 * the caller's files as stdout and stderr; only fds 0-2 (and the exec error
 * pipe, when asked); an empty signal mask and default dispositions; and
 * PR_SET_PDEATHSIG(SIGKILL), so a harness that dies takes its supervisors
 * along (and their guardians the trees). Its environment carries the run
 * marker, which everything it starts inherits: the orphan scan (orphans.c)
 * finds whatever escaped by it (and, below a run's subreaper, by descent).
 *
 * The child is held by a pidfd opened right after fork: it is ours and
 * unreaped, so its pid cannot have been reused yet.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/common.h"

extern char **environ;

/* Variables of our own environment that must not reach a spawned process:
 * the markers and sockets of an enclosing run or supervisor, and fault
 * injection meant for someone else (a spawn adds its own). */
static bool inherited_ok(const char *entry)
{
	static const char *const dropped[] = {
		LAB_ENV_RUN "=", LAB_ENV_SPAWN "=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
		"TETHER_INSTANCE=", "TETHER_SCOPE=", "FIU_ENABLE=", "FIU_CTRL_FIFO=", "FIU_PRNG_SEED=",
		"TETHER_FAULT=", "TETHER_FAULT_REPORT=", "TETHER_FAULT_COUNT=", "TETHER_FAULT_FLUSH=", NULL,
	};
	for (const char *const *d = dropped; *d; d++)
		if (strncmp(entry, *d, strlen(*d)) == 0)
			return false;
	return !(strncmp(entry, "LD_PRELOAD=", 11) == 0 && strstr(entry, "fiu"));
}

char **lab_env_inherited(const char *const *also_drop, size_t *ret_n)
{
	char **env = NULL;
	size_t n = 0;
	for (char **e = environ; *e; e++) {
		bool drop = !inherited_ok(*e);
		for (const char *const *d = also_drop; !drop && d && *d; d++)
			drop = strncmp(*e, *d, strlen(*d)) == 0;
		if (drop)
			continue;
		char *s = xstrdup(*e);
		xappend(&env, &n, &s, sizeof s);
	}
	char *end = NULL;
	xappend(&env, &n, &end, sizeof end);
	if (ret_n)
		*ret_n = n - 1;
	return env;
}

/* Is entry's key ("KEY=...") set by one of extra? */
static bool overridden(const char *entry, char *const *extra)
{
	size_t klen = strcspn(entry, "=");
	for (char *const *e = extra; e && *e; e++)
		if (strncmp(*e, entry, klen) == 0 && (*e)[klen] == '=')
			return true;
	return false;
}

void lab_env_make(struct lab_env *ret, char *const *base, const char *run_id, unsigned seq, const char *name,
		  const char *notify, char *const *extra)
{
	size_t nbase = 0, nextra = 0;
	while (base && base[nbase])
		nbase++;
	while (extra && extra[nextra])
		nextra++;
	*ret = (struct lab_env){.envp = xcalloc(nbase + nextra + 4, sizeof *ret->envp)};
	size_t k = 0;
	for (size_t i = 0; i < nbase; i++)
		if (!nextra || !overridden(base[i], extra))
			ret->envp[k++] = base[i];
	/* The marker and the spawn tag come before extra, and getenv() takes
	 * the first: a scenario's `env` cannot unmark a process. */
	ret->own[0] = xasprintf(LAB_ENV_RUN "=%s", run_id);
	ret->envp[k++] = ret->own[0];
	if (name) {
		ret->own[1] = xasprintf(LAB_ENV_SPAWN "=%u:%s", seq, name);
		ret->envp[k++] = ret->own[1];
	}
	if (notify && !overridden("NOTIFY_SOCKET=", extra)) {
		ret->own[2] = xasprintf("NOTIFY_SOCKET=%s", notify);
		ret->envp[k++] = ret->own[2];
	}
	for (size_t i = 0; i < nextra; i++)
		ret->envp[k++] = extra[i];
	ret->envp[k] = NULL;
}

void lab_env_done(struct lab_env *e)
{
	for (size_t i = 0; i < sizeof e->own / sizeof e->own[0]; i++)
		free(e->own[i]);
	free(e->envp);
	*e = (struct lab_env){0};
}

void lab_strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

int lab_notify_open(const char *kind, const char *run_id, unsigned seq, char *ret_name, size_t len)
{
	int n = seq ? snprintf(ret_name, len, "@tether-%s/%s/%u", kind, run_id, seq)
		    : snprintf(ret_name, len, "@tether-%s/%s", kind, run_id);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return lab_notify_bind(ret_name);
}

/* In the child, between fork and exec: plain system calls only. */
__attribute__((noreturn)) static void child_exec(const struct lab_spawn *req, pid_t parent, int devnull)
{
	/* Every signal is blocked since before the fork: the harness's own
	 * dispositions (SIGPIPE ignored, handlers for SIGINT and SIGTERM) are
	 * reset before one can be delivered here, so a signal sent to a
	 * process that has not exec'd yet acts as on the program itself (an
	 * ignored disposition would even survive exec). all_signals: also what
	 * the harness inherited (a shell's background job ignores SIGINT), so
	 * that a scenario's processes start alike however the lab was run. */
	static const int own[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP};
	if (req->all_signals) {
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
	} else {
		for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
			signal(own[i], SIG_DFL);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* the harness died before the line above: nobody would kill us */
	if (getppid() != parent)
		_exit(127);
	if (req->barrier >= 0) {
		/* released together: the harness closes the write end after the last fork */
		char c;
		close(req->barrier_w);
		while (read(req->barrier, &c, 1) < 0 && errno == EINTR)
			;
	}
	dup2(devnull, 0);
	dup2(req->out, 1);
	dup2(req->err, 2);
	int errpipe = req->errpipe;
	if (errpipe >= 0 && errpipe != 3) {
		dup3(errpipe, 3, O_CLOEXEC);
		errpipe = 3;
	}
	close_range(errpipe >= 0 ? 4 : 3, ~0U, 0);
	int e = 0;
	struct rlimit rl = {.rlim_cur = req->nofile_soft, .rlim_max = req->nofile_hard};
	if (req->nofile && setrlimit(RLIMIT_NOFILE, &rl) < 0)
		e = errno;
	else if (req->cwd && chdir(req->cwd) < 0)
		e = errno;
	else if (req->search_path)
		execvpe(req->argv[0], req->argv, req->envp);
	else
		execve(req->argv[0], req->argv, req->envp);
	if (!e)
		e = errno;
	if (errpipe >= 0)
		while (write(errpipe, &e, sizeof e) < 0 && errno == EINTR)
			;
	else if (req->who)
		dprintf(2, "%s: cannot execute %s: %s\n", req->who, req->argv[0], strerror(e));
	_exit(127);
}

int lab_spawn(const struct lab_spawn *req, pid_t *ret_pid, int *ret_pidfd)
{
	/* Opened once: a stress run spawns tens of thousands of timed processes. */
	static int devnull = -1;
	if (devnull < 0 && (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	pid_t parent = getpid();
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t pid = fork();
	if (pid == 0)
		child_exec(req, parent, devnull);
	int fork_errno = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return -fork_errno;
	/* Also here: a signal to its group right after the spawn must not miss it. */
	setpgid(pid, pid);
	/* its owner reaps it by pid: a subreaper's scans must not (orphans.c) */
	orphans_own_child(pid);
	int pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		lab_die("pidfd_open(%d): %s", (int)pid, strerror(errno));
	*ret_pid = pid;
	*ret_pidfd = pidfd;
	return 0;
}
