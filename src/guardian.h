/* SPDX-License-Identifier: MIT */
/* guardian.h — one small process per instance that owns the instance's tree,
 * so that nothing started under tether outlives it (G2).
 *
 * Why a guardian: a process group cannot hold a worker that calls setsid(),
 * and when tether is SIGKILLed it can do nothing at all. The guardian is
 * forked from tether (no exec) and then:
 *   - lives in its own PID namespace as its init (CLONE_NEWPID, when we may:
 *     root or CAP_SYS_ADMIN), with PR_SET_PDEATHSIG(SIGKILL): when tether dies
 *     by any means the kernel kills the guardian, and when a namespace's init
 *     dies the kernel kills every process of the namespace — double-forked,
 *     setsid'd grandchildren included. Nothing in the namespace can escape it.
 *   - otherwise (no privilege) is a child subreaper (PR_SET_CHILD_SUBREAPER):
 *     orphans of its tree re-parent to it rather than to init, and it watches
 *     its lifeline — the socket to tether — whose end-of-file means tether is
 *     gone: it then SIGKILLs its whole tree and exits.
 *   - in both cases sits in its own process group, so a SIGKILL of tether's
 *     process group does not reach it, and it is the one that forks, reaps and
 *     signals the worker on tether's command.
 * What remains uncovered in subreaper mode: a SIGKILL of the guardian itself
 * together with tether (the worker then also dies through its own
 * PR_SET_PDEATHSIG, but its escaped grandchildren re-parent to init; the next
 * tether run sweeps them, see supervisor.h).
 *
 * The protocol is a SOCK_SEQPACKET socketpair: tether sends commands (spawn,
 * term, kill, quit, a signal for the worker), the guardian reports events
 * (exec ok with the worker's pid, exec failed with errno, spawn failed with
 * errno, exited with the wait status, tree empty, the signal's delivery). Timers (stop timeouts) stay in tether, on its clock.
 */
#ifndef TETHER_GUARDIAN_H
#define TETHER_GUARDIAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spawn.h"
#include "supervisor.h" /* enum tether_isolation, public */

enum tether_guardian_cmd {
	TETHER_GUARDIAN_SPAWN = 1, /* fork and exec the worker (ignored while one runs) */
	TETHER_GUARDIAN_TERM,      /* SIGTERM (+SIGCONT) to every process of the tree */
	TETHER_GUARDIAN_KILL,      /* SIGKILL to every process of the tree */
	TETHER_GUARDIAN_QUIT,      /* SIGKILL the tree, reap it, exit */
	TETHER_GUARDIAN_SIGNAL,    /* a signal to the worker alone (in bits 8..15: tether_guardian_send_signal) */
};

enum tether_guardian_event_type {
	TETHER_GUARDIAN_EXEC_OK = 1, /* value: the worker's pid, as tether sees it (see _recv) */
	TETHER_GUARDIAN_EXEC_FAILED, /* value: errno */
	TETHER_GUARDIAN_SPAWN_FAILED,/* value: errno (fork failed) */
	TETHER_GUARDIAN_EXITED,      /* value: wait status of the worker */
	TETHER_GUARDIAN_TREE_EMPTY,  /* no process of the instance remains */
	TETHER_GUARDIAN_SIGNALED,    /* value: 0 delivered, or errno (ESRCH: no worker) */
};

struct tether_guardian_event {
	uint32_t type;
	int32_t value;
};

struct tether_guardian {
	pid_t pid;  /* our child, so its pid is ours until we reap it */
	int chan;   /* our end of the socketpair: -1 when closed */
	bool pidns; /* init of its own PID namespace */
};

/* Forks a guardian for spec, whose stdout/stderr become out_fd/err_fd.
 * proc_fd, an open /proc directory (or -1), is kept by the guardian as its
 * fd 4: when it can open nothing any more, it still lists its own children
 * there to kill them (subreaper mode). Returns 0 or -errno (-EAGAIN: fork
 * failed). The child never returns. */
int tether_guardian_start(struct tether_spawn_spec *spec, enum tether_isolation iso, int out_fd, int err_fd,
			  int proc_fd, struct tether_guardian *ret);
int tether_guardian_send(struct tether_guardian *g, enum tether_guardian_cmd cmd);
/* Asks the guardian to send sig (1..64) to its worker — its own child, not
 * yet reaped, so the pid cannot name anyone else (`tether signal`, SPEC §3).
 * It answers with a SIGNALED event; commands are answered in order. */
int tether_guardian_send_signal(struct tether_guardian *g, int sig);
/* 1 and *ret when an event was pending, 0 when none, -EPIPE when the guardian
 * has gone (end of file), -errno. EXEC_OK's value is the worker's pid in our
 * PID namespace, also when the guardian runs in one of its own (there it
 * sends its inner pid, which comes back translated); 0 when the worker is
 * gone already — its EXITED follows. */
int tether_guardian_recv(struct tether_guardian *g, struct tether_guardian_event *ret);
/* Closes our end of the lifeline (the guardian then kills its tree and exits).
 * Does not reap. */
void tether_guardian_let_go(struct tether_guardian *g);

#endif
