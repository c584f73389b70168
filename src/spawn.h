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
 *   - execs COMMAND (PATH search); any failure on the way is written as an int
 *     errno to the close-on-exec error pipe and the child exits 127, so the
 *     parent learns exec failures as errno (libuv's pattern).
 */
#ifndef TETHER_SPAWN_H
#define TETHER_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct tether_spawn_spec {
	char **argv;          /* COMMAND [ARG...], NULL-terminated (owned) */
	char **envp;          /* NULL-terminated (owned); one slot is WATCHDOG_PID */
	int watchdog_pid_slot; /* index in envp to fill with "WATCHDOG_PID=<pid>", or -1 */
	char watchdog_pid_buf[32];
	uint64_t rlimit_as;   /* 0: none */
	char *cgroup_procs;   /* path of the cgroup.procs to join, or NULL (owned) */
	bool dispositions_reset; /* the forking process already has default
				    dispositions: the child need not reset them */
	bool restore_nofile;  /* RLIMIT_NOFILE back to nofile_soft/nofile_hard
				 (tether raised its own: fdlimit.h) */
	uint64_t nofile_soft, nofile_hard;
};

struct tether_spawn_env {
	unsigned instance;
	const char *notify_socket; /* NOTIFY_SOCKET value, or NULL */
	int64_t watchdog_ns;       /* 0: no WATCHDOG_USEC */
	const char *scope;         /* TETHER_SCOPE value (identifies this supervisor's
				      processes for the next run's sweep), or NULL */
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
