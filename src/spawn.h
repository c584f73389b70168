/* SPDX-License-Identifier: MIT */
/* spawn.h — how a worker process is prepared and executed.
 *
 * A spawn spec is built once per instance, in the supervisor, before any fork:
 * after fork only async-signal-safe work remains (no allocation), so the spec
 * holds the finished argv and envp. The child:
 *   - gets its own process group (so a terminal's ^C reaches tether, not it,
 *     and TERM can be sent to the group);
 *   - has stdin on /dev/null, stdout/stderr inherited, and no other descriptor
 *     (close_range from 3; everything of ours is O_CLOEXEC too);
 *   - has an empty signal mask and default dispositions for every signal;
 *   - has the environment of the supervisor minus fault-injection variables
 *     and systemd's variables meant for tether itself, plus TETHER_INSTANCE,
 *     NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (its own pid, formatted
 *     after fork: in a PID namespace only the child knows it);
 *   - gets the memory limit (RLIMIT_AS, or joins its cgroup), and the
 *     RLIMIT_NOFILE tether was started with (tether may have raised its own);
 *   - takes --user's identity (setgroups, setresgid, setresuid: each needs
 *     the privilege the next gives up), and only then its parent-death
 *     signal (the kernel clears it when the ids change), --chdir's directory
 *     (entered as that user) and --umask;
 *   - execs COMMAND: with a '/' the file itself, else the first match in the
 *     worker's PATH — execve only, never libc's execvp, which runs a file
 *     without #! through /bin/sh (POSIX's ENOEXEC fallback): such a file is
 *     "Exec format error" (scenarios/exec_format_error.scn);
 *   - any failure on the way is written as an int (errno, and for --user and
 *     --chdir the stage, TETHER_SPAWN_ERROR) to the close-on-exec error pipe
 *     and the child exits 127, so the parent learns exec failures as errno
 *     (libuv's pattern).
 */
#ifndef TETHER_SPAWN_H
#define TETHER_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor.h" /* struct tether_identity */

struct tether_spawn_spec {
	char **argv;          /* COMMAND [ARG...], NULL-terminated (owned) */
	char **envp;          /* NULL-terminated (owned); one slot is WATCHDOG_PID */
	int watchdog_pid_slot; /* index in envp to fill with "WATCHDOG_PID=<pid>", or -1 */
	char watchdog_pid_buf[32];
	uint64_t rlimit_as;   /* 0: none */
	char *cgroup_procs;   /* path of the cgroup.procs to join, or NULL (owned) */
	bool dispositions_reset; /* the forking process already has default
				    dispositions: the child need not reset them */
	/* --user, --chdir, --umask (borrowed from the configuration) */
	const struct tether_identity *identity; /* NULL, or switch_ids false: keep ours */
	const char *chdir;    /* NULL: stay */
	int umask;            /* -1: keep */
	const char *path;     /* where COMMAND without '/' is searched (the worker's PATH) */
	bool restore_nofile;  /* RLIMIT_NOFILE back to nofile_soft/nofile_hard
				 (tether raised its own: fdlimit.h) */
	uint64_t nofile_soft, nofile_hard;
};

/* What failed in the child, as the error pipe carries it with the errno. */
enum tether_spawn_stage {
	TETHER_SPAWN_STAGE_EXEC = 0, /* the exec, or the setup before it */
	TETHER_SPAWN_STAGE_IDENTITY, /* switching to --user's ids */
	TETHER_SPAWN_STAGE_CHDIR,    /* entering --chdir's directory */
};
#define TETHER_SPAWN_ERROR(stage, err) ((int)(stage) << 16 | (err))
static inline int tether_spawn_error_errno(int v)
{
	return v & 0xffff;
}
static inline enum tether_spawn_stage tether_spawn_error_stage(int v)
{
	return (enum tether_spawn_stage)(v >> 16);
}

struct tether_spawn_env {
	unsigned instance;
	const char *notify_socket; /* NOTIFY_SOCKET value, or NULL */
	int64_t watchdog_ns;       /* 0: no WATCHDOG_USEC */
	const char *scope;         /* TETHER_SCOPE value (identifies this supervisor's
				      processes for the next run's sweep), or NULL */
	char *const *edits;        /* NULL-terminated environment edits (workerenv.h), or NULL */
};

/* Builds a spec from argv and the current environment. Returns 0 or -errno. */
int tether_spawn_spec_init(struct tether_spawn_spec *spec, char *const argv[], const struct tether_spawn_env *env);
void tether_spawn_spec_done(struct tether_spawn_spec *spec);

/* The variables of the lab's fault injection (src/lab/fault.h) and libfiu's,
 * NULL-terminated: a worker never inherits them, so a lab's faults meant for
 * tether never reach what it supervises. */
extern const char *const tether_fault_env_vars[];

/* Is this environment entry one a worker must not inherit? (fault injection,
 * and systemd's variables addressed to tether itself) */
bool tether_spawn_env_filtered(const char *entry);

/* In a freshly forked child: everything listed above, then exec. Never
 * returns: on any failure writes errno to err_fd and exits 127. */
__attribute__((noreturn)) void tether_spawn_exec_child(struct tether_spawn_spec *spec, int err_fd);

/* Ends a forked child that did not exec: flushes coverage counters in
 * coverage builds (gcov writes them only at a normal exit), then _exit. */
__attribute__((noreturn)) void tether_child_exit(int code);

#endif
