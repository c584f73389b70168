/* SPDX-License-Identifier: MIT */
/* spawn.c — see spawn.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "spawn.h"
#include "sys.h"
#include "workerenv.h"

extern char **environ;

#ifdef TETHER_COVERAGE
extern void __gcov_dump(void) __attribute__((weak));
extern void __gcov_reset(void) __attribute__((weak));
#endif

void tether_child_exit(int code)
{
#ifdef TETHER_COVERAGE
	if (__gcov_dump)
		__gcov_dump();
#endif
	_exit(code);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The lab's fault rules (src/lab/fault.h) are for tether alone, never for
 * its workers. A production build reads none of them, so it has nothing to
 * keep from its workers either: the names stay out of the binary that
 * people install (build-aux/check-production). */
const char *const tether_fault_env_vars[] = {
#ifdef TETHER_FAULT_INJECTION
	"TETHER_FAULT", "TETHER_FAULT_REPORT", "TETHER_FAULT_COUNT", "TETHER_FAULT_SITES", "TETHER_FAULT_BUDGET",
	"TETHER_FAULT_FLUSH",
#endif
	"FIU_ENABLE", "FIU_CTRL_FIFO", NULL,
};

bool tether_spawn_env_filtered(const char *entry)
{
	static const char *const ours[] = {
		/* set per instance below, or addressed to tether by its own supervisor */
		"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=", "TETHER_INSTANCE=", "TETHER_SCOPE=",
		/* libfiu: a worker must not run with tether's injected faults */
		"FIU_ENABLE=", "FIU_CTRL_FIFO=", NULL,
	};
	for (const char *const *p = ours; *p; p++)
		if (has_prefix(entry, *p))
			return true;
	for (const char *const *v = tether_fault_env_vars; *v; v++) {
		size_t n = strlen(*v);
		if (strncmp(entry, *v, n) == 0 && entry[n] == '=')
			return true;
	}
	return false;
}

/* LD_PRELOAD minus libfiu's preload libraries (fiu-run puts them there), or
 * NULL when nothing else remains. */
static char *filter_preload(const char *entry)
{
	const char *list = entry + strlen("LD_PRELOAD=");
	size_t cap = strlen(entry) + 1;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	strcpy(out, "LD_PRELOAD=");
	size_t base = strlen(out);
	const char *p = list;
	while (*p) {
		size_t n = strcspn(p, ": ");
		if (n > 0 && !(memmem(p, n, "fiu_", 4) || memmem(p, n, "/fiu/", 5))) {
			if (strlen(out) > base)
				strcat(out, ":");
			strncat(out, p, n);
		}
		p += n;
		while (*p == ':' || *p == ' ')
			p++;
	}
	if (strlen(out) == base) {
		free(out);
		return NULL;
	}
	return out;
}

static char **dup_argv(char *const argv[])
{
	size_t n = 0;
	while (argv[n])
		n++;
	char **out = calloc(n + 1, sizeof *out);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(out[i] = strdup(argv[i]))) {
			for (size_t k = 0; k < i; k++)
				free(out[k]);
			free(out);
			return NULL;
		}
	return out;
}

static void free_vec(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* Where COMMAND is searched when the worker's environment has no PATH
 * (musl's default, as the installed tether's libc would search). */
static const char default_path[] = "/usr/local/bin:/bin:/usr/bin";

int tether_spawn_spec_init(struct tether_spawn_spec *spec, char *const argv[], const struct tether_spawn_env *env)
{
	*spec = (struct tether_spawn_spec){.watchdog_pid_slot = -1, .umask = -1, .path = default_path};
	if (!argv || !argv[0])
		return -EINVAL;
	spec->argv = dup_argv(argv);
	size_t n = 0, nedits = 0;
	while (environ && environ[n])
		n++;
	while (env->edits && env->edits[nedits])
		nedits++;
	/* ours: TETHER_INSTANCE, TETHER_SCOPE, NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID */
	spec->envp = calloc(n + nedits + 6, sizeof *spec->envp);
	if (!spec->argv || !spec->envp)
		goto oom;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *e = environ[i];
		if (tether_spawn_env_filtered(e))
			continue;
		char *copy = has_prefix(e, "LD_PRELOAD=") ? filter_preload(e) : strdup(e);
		if (!copy) {
			if (has_prefix(e, "LD_PRELOAD="))
				continue; /* nothing left of it */
			goto oom;
		}
		spec->envp[k++] = copy;
	}
	/* --user's variables, --env-file, --env: each removes its NAME first,
	 * so there is always room for what it adds */
	for (size_t i = 0; i < nedits; i++)
		if (tether_env_apply(spec->envp, &k, env->edits[i]) < 0)
			goto oom;
	for (size_t i = 0; i < k; i++)
		if (has_prefix(spec->envp[i], "PATH="))
			spec->path = spec->envp[i] + strlen("PATH=");
	if (asprintf(&spec->envp[k], "TETHER_INSTANCE=%u", env->instance) < 0) {
		spec->envp[k] = NULL;
		goto oom;
	}
	k++;
	if (env->scope) {
		if (asprintf(&spec->envp[k], "TETHER_SCOPE=%s", env->scope) < 0) {
			spec->envp[k] = NULL;
			goto oom;
		}
		k++;
	}
	if (env->notify_socket) {
		if (asprintf(&spec->envp[k], "NOTIFY_SOCKET=%s", env->notify_socket) < 0) {
			spec->envp[k] = NULL;
			goto oom;
		}
		k++;
	}
	if (env->watchdog_ns > 0) {
		if (asprintf(&spec->envp[k], "WATCHDOG_USEC=%lld", (long long)(env->watchdog_ns / 1000)) < 0) {
			spec->envp[k] = NULL;
			goto oom;
		}
		k++;
		/* filled in the child, in the pid namespace it lives in */
		spec->watchdog_pid_slot = (int)k;
		spec->envp[k++] = spec->watchdog_pid_buf;
	}
	spec->envp[k] = NULL;
	return 0;
oom:
	tether_spawn_spec_done(spec);
	return -ENOMEM;
}

void tether_spawn_spec_done(struct tether_spawn_spec *spec)
{
	free_vec(spec->argv);
	if (spec->envp) {
		/* the WATCHDOG_PID slot is the last entry and points into the spec */
		if (spec->watchdog_pid_slot >= 0)
			spec->envp[spec->watchdog_pid_slot] = NULL;
		for (char **p = spec->envp; *p; p++)
			free(*p);
		free(spec->envp);
	}
	free(spec->cgroup_procs);
	*spec = (struct tether_spawn_spec){.watchdog_pid_slot = -1, .umask = -1, .path = default_path};
}

/* Async-signal-safe decimal formatting (no snprintf after fork). */
static void put_pid(char *buf, size_t cap, const char *prefix, long v)
{
	char digits[24];
	int n = 0;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < 23);
	size_t p = 0;
	while (*prefix && p < cap - 1)
		buf[p++] = *prefix++;
	while (n > 0 && p < cap - 1)
		buf[p++] = digits[--n];
	buf[p] = '\0';
}

static __attribute__((noreturn)) void fail_at(int err_fd, enum tether_spawn_stage stage, int err)
{
	int e = TETHER_SPAWN_ERROR(stage, err < 0 ? -err : err);
	sys_write_all(err_fd, &e, sizeof e);
	tether_child_exit(127);
}

static __attribute__((noreturn)) void fail(int err_fd, int err)
{
	fail_at(err_fd, TETHER_SPAWN_STAGE_EXEC, err);
}

/* Executes COMMAND as execvp would, minus its /bin/sh fallback: with a '/'
 * the file itself, else the first PATH element where execve does not say
 * "not here". After fork: no allocation, a buffer on the stack. Returns the
 * error to report: the first that is not "not here", else EACCES if some
 * candidate said so, else ENOENT. */
static int exec_command(const struct tether_spawn_spec *spec)
{
	const char *file = spec->argv[0];
	if (strchr(file, '/'))
		return sys_execve(file, spec->argv, spec->envp);
	size_t flen = strlen(file);
	bool eacces = false;
	char buf[PATH_MAX];
	for (const char *p = spec->path;;) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		/* an empty element is the working directory: "file" alone */
		if (dlen + 1 + flen < sizeof buf) {
			memcpy(buf, p, dlen);
			if (dlen)
				buf[dlen++] = '/';
			memcpy(buf + dlen, file, flen + 1);
			int r = sys_execve(buf, spec->argv, spec->envp);
			switch (r) {
			case -EACCES:
				eacces = true;
				break;
			case -ENOENT:
			case -ENOTDIR:
			case -ESTALE:
			case -ENODEV:
			case -ETIMEDOUT:
				break;
			default:
				return r; /* ENOEXEC included: no shell gets it */
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	return eacces ? -EACCES : -ENOENT;
}

void tether_spawn_exec_child(struct tether_spawn_spec *spec, int err_fd)
{
	int r;
	/* The error pipe goes to fd 3 so that close_range can clear the rest. */
	if (err_fd != 3) {
		r = sys_dup3(err_fd, 3, O_CLOEXEC);
		if (r < 0)
			fail(err_fd, r);
		err_fd = 3;
	}
	sys_close_range(4, ~0U, 0);
	r = sys_setpgid(0, 0);
	if (r < 0)
		fail(err_fd, r);
	/* Dies with its guardian (an extra net for a guardian that is SIGKILLed
	 * itself; the guardian normally kills the tree first). */
	sys_prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	int devnull = sys_open("/dev/null", O_RDONLY, 0);
	if (devnull < 0)
		fail(err_fd, devnull);
	if (devnull != 0) {
		r = sys_dup3(devnull, 0, 0);
		if (r < 0)
			fail(err_fd, r);
		sys_close(devnull);
	}
	if (spec->rlimit_as) {
		struct rlimit rl = {.rlim_cur = spec->rlimit_as, .rlim_max = spec->rlimit_as};
		r = sys_setrlimit(RLIMIT_AS, &rl);
		if (r < 0)
			fail(err_fd, r);
	}
	if (spec->restore_nofile) {
		struct rlimit rl = {.rlim_cur = spec->nofile_soft, .rlim_max = spec->nofile_hard};
		r = sys_setrlimit(RLIMIT_NOFILE, &rl);
		if (r < 0)
			fail(err_fd, r);
	}
	if (spec->cgroup_procs) {
		int fd = sys_open(spec->cgroup_procs, O_WRONLY | O_CLOEXEC, 0);
		if (fd < 0)
			fail(err_fd, fd);
		r = (int)sys_write(fd, "0\n", 2);
		sys_close(fd);
		if (r < 0)
			fail(err_fd, r);
	}
	const struct tether_identity *id = spec->identity;
	if (id && id->switch_ids) {
		/* groups first: each call needs the privilege the next one drops */
		r = sys_setgroups(id->ngroups, id->groups);
		if (r == 0)
			r = sys_setresgid(id->gid);
		if (r == 0)
			r = sys_setresuid(id->uid);
		if (r < 0)
			fail_at(err_fd, TETHER_SPAWN_STAGE_IDENTITY, r);
		/* a change of ids cleared the parent-death signal */
		sys_prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	}
	/* as the user: a directory it may not enter is its failure to start */
	if (spec->chdir && (r = sys_chdir(spec->chdir)) < 0)
		fail_at(err_fd, TETHER_SPAWN_STAGE_CHDIR, r);
	if (spec->umask >= 0)
		sys_umask((mode_t)spec->umask);
	if (spec->watchdog_pid_slot >= 0)
		put_pid(spec->watchdog_pid_buf, sizeof spec->watchdog_pid_buf, "WATCHDOG_PID=", (long)getpid());
	/* Default dispositions for all (libc refuses its two internal real-time
	 * signals: those failures are expected), unless inherited already. */
	if (!spec->dispositions_reset)
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				sys_sigaction_default(sig);
	sigset_t none;
	sigemptyset(&none);
	r = sys_sigprocmask(SIG_SETMASK, &none, NULL);
	if (r < 0)
		fail(err_fd, r);
#ifdef TETHER_COVERAGE
	/* What the child ran so far is written now, and counting starts afresh:
	 * gcov writes a process's counters once (a second dump is a no-op until
	 * a reset), and the execve that sys.c calls is gcov's wrapper, which
	 * writes them again just before the exec and resets them when it fails,
	 * so the path search and a failed exec's report (tether_child_exit)
	 * are counted too. */
	if (__gcov_dump && __gcov_reset) {
		__gcov_dump();
		__gcov_reset(); /* its own count is reset: LCOV_EXCL_LINE */
	}
#endif
	fail(err_fd, exec_command(spec));
}
