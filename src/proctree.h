/* SPDX-License-Identifier: MIT */
/* proctree.h — verified signalling of processes, groups and trees.
 *
 * A process is held as a pidref: pid + pidfd + start_time, never a bare pid.
 * tether_pidref_open checks the start time *after* opening the pidfd: the
 * pidfd pins one process, so if its start time matches the record, every
 * later signal through that pidfd reaches the recorded process and no other,
 * even if the pid is reused meanwhile. Nothing here signals pid <= 1, a
 * negative pid, our own process or our own process group.
 *
 * Waiting is event-driven: a pidfd becomes readable when its process exits;
 * we poll() on it with a deadline. Deadlines here are CLOCK_MONOTONIC
 * nanoseconds of the given clock.
 */
#ifndef TETHER_PROCTREE_H
#define TETHER_PROCTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"

struct tether_pidref {
	pid_t pid;
	int pidfd;          /* -1 where pidfds do not exist (kernel < 5.3, valgrind):
			       then the start time is checked before each signal */
	uint64_t start_time;
};

#define TETHER_PIDREF_NULL ((struct tether_pidref){.pid = 0, .pidfd = -1, .start_time = 0})

/* Opens pid and verifies its start time equals start_time: 0, -ESRCH (gone or
 * a zombie), -ESTALE (the pid now belongs to another process), -EINVAL (pid <= 1
 * or ourselves), -errno. */
int tether_pidref_open(pid_t pid, uint64_t start_time, struct tether_pidref *ret);
/* Opens pid as whatever process wears it now (for descendants found in
 * /proc, whose identity is their position in the tree). When its pidfd
 * cannot be opened (EMFILE, ENOMEM...) the ref has none, as where pidfds do
 * not exist: a process we must kill is never dropped for it. */
int tether_pidref_open_current(pid_t pid, struct tether_pidref *ret);
/* Closes the pidfd; accepts a NULL or closed ref. */
void tether_pidref_done(struct tether_pidref *ref);
int tether_pidref_signal(const struct tether_pidref *ref, int sig);
/* 1 when the process has exited, 0 when not yet. Does not block. */
int tether_pidref_exited(const struct tether_pidref *ref);
/* Waits until the process exits or the deadline passes: 1 exited, 0 timeout. */
int tether_pidref_wait(const struct tether_pidref *ref, const struct tether_clock *clock,
		       int64_t deadline);

/* Signals the process group pgid, but only if its leader exists, is alive and
 * still leads that group (there is no pidfd for a group, so a group whose
 * leader is gone could be a recycled id). Refuses pgid <= 1 and our own group. */
int tether_pgroup_signal(pid_t pgid, int sig);

/* A snapshot of processes (a tree's members), each verified by pidfd. */
struct tether_tree {
	struct tether_pidref *procs;
	size_t n, cap;
};

/* Collects the descendants of root (not root itself) through
 * /proc/PID/task/TID/children, rescanning until two scans agree (a process may
 * fork while we walk). Appends to *tree (which may already hold members). */
int tether_tree_collect(pid_t root, struct tether_tree *tree);
/* Signals every member still alive; returns how many were signalled. */
int tether_tree_signal(struct tether_tree *tree, int sig);
/* Waits until every member has exited or the deadline: returns how many are
 * still alive. */
int tether_tree_wait(struct tether_tree *tree, const struct tether_clock *clock, int64_t deadline);
/* Does tree already hold pid? */
bool tether_tree_has(const struct tether_tree *tree, pid_t pid);
/* Closes every member's pidfd and empties the tree. */
void tether_tree_done(struct tether_tree *tree);

/* Kills root and its whole tree: snapshot the descendants, SIGKILL root and
 * every member, then rescan the descendants of every survivor and repeat until
 * all are gone or the deadline passes. Returns the number of survivors; their
 * pids go to ret_survivors (up to max) when given. */
int tether_tree_kill(const struct tether_pidref *root, const struct tether_clock *clock,
		     int64_t deadline, pid_t *ret_survivors, size_t max);

#endif
