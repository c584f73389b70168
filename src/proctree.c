/* SPDX-License-Identifier: MIT */
/* proctree.c — see proctree.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "proctree.h"
#include "sys.h"
#include "wait.h"

static bool forbidden_target(pid_t pid)
{
	return pid <= 1 || pid == getpid();
}

/* pidfd_open, or -1 where the kernel (before 5.3) or valgrind (3.19 has no
 * pidfd calls) lacks it: the pidref then falls back to checking the start
 * time right before each signal, which leaves the classic small window
 * between that check and kill(). Other errors are returned as they are. */
static int open_pidfd(pid_t pid)
{
	int fd = sys_pidfd_open(pid, 0);
	return fd == -ENOSYS ? -1 : fd;
}

/* Without a pidfd: is the recorded process still there? 1 yes, 0 gone,
 * exited or replaced. */
static int still_there(const struct tether_pidref *ref)
{
	struct tether_procstat st;
	if (tether_proc_read_stat(ref->pid, &st) < 0)
		return 0;
	return st.state != 'Z' && st.state != 'X' && st.start_time == ref->start_time;
}

/* 1 when /proc says for sure that the recorded process is gone (no such
 * pid, a zombie, another process now), 0 when alive or /proc cannot tell. */
static int proc_says_gone(const struct tether_pidref *ref)
{
	struct tether_procstat st;
	int r = tether_proc_read_stat(ref->pid, &st);
	if (r == -ENOENT || r == -ESRCH)
		return 1;
	if (r < 0)
		return 0;
	return st.state == 'Z' || st.state == 'X' || st.start_time != ref->start_time;
}

int tether_pidref_open(pid_t pid, uint64_t start_time, struct tether_pidref *ret)
{
	struct tether_procstat st;
	if (forbidden_target(pid))
		return -EINVAL;
	int fd = open_pidfd(pid);
	if (fd < -1)
		return fd;
	/* Read the identity only now that the pidfd pins the process: a match
	 * proves the pidfd refers to the recorded process. */
	int r = tether_proc_read_stat(pid, &st);
	if (r == 0 && (st.state == 'Z' || st.state == 'X'))
		r = -ESRCH;
	if (r == 0 && st.start_time != start_time)
		r = -ESTALE;
	if (r < 0) {
		if (fd >= 0)
			sys_close(fd);
		return r;
	}
	*ret = (struct tether_pidref){.pid = pid, .pidfd = fd, .start_time = start_time};
	return 0;
}

int tether_pidref_open_current(pid_t pid, struct tether_pidref *ret)
{
	struct tether_procstat st;
	if (forbidden_target(pid))
		return -EINVAL;
	int fd = open_pidfd(pid);
	/* No pidfd for it (EMFILE, ENOMEM...): a ref without one, as where
	 * pidfds do not exist, rather than a descendant left out of its tree
	 * or an orphan left unswept (it would outlive its kill). An ESRCH is
	 * believed when /proc agrees (the read below). */
	int pidfd_err = fd < -1 ? fd : 0;
	if (fd < -1)
		fd = -1;
	int r = tether_proc_read_stat(pid, &st);
	if (r == 0 && pidfd_err == -ESRCH && (st.state == 'Z' || st.state == 'X'))
		r = -ESRCH;
	if (r < 0) {
		if (fd >= 0)
			sys_close(fd);
		return r;
	}
	*ret = (struct tether_pidref){.pid = pid, .pidfd = fd, .start_time = st.start_time};
	return 0;
}

void tether_pidref_done(struct tether_pidref *ref)
{
	if (!ref)
		return;
	if (ref->pidfd >= 0)
		sys_close(ref->pidfd);
	*ref = TETHER_PIDREF_NULL;
}

int tether_pidref_signal(const struct tether_pidref *ref, int sig)
{
	if (!ref || forbidden_target(ref->pid))
		return -EINVAL;
	if (ref->pidfd >= 0) {
		int r = sys_pidfd_send_signal(ref->pidfd, sig);
		if (r == 0)
			return r;
		/* The pidfd call failed (EPERM, ENOMEM, even ESRCH for a
		 * process /proc still shows): a kill by number, as without a
		 * pidfd, right after checking the start time — a member left
		 * unsignalled would outlive its tree. */
	}
	if (!still_there(ref))
		return -ESRCH;
	return sys_kill(ref->pid, sig);
}

int tether_pidref_exited(const struct tether_pidref *ref)
{
	struct pollfd p = {.fd = ref->pidfd, .events = POLLIN};
	if (ref->pid <= 0)
		return 1;
	if (ref->pidfd < 0)
		return !still_there(ref);
	int r = sys_poll(&p, 1, 0);
	/* Cannot ask the pidfd (poll failing): ask /proc, rather than call a
	 * dead process alive (`tether stop` reported the dead as survivors of
	 * SIGKILL: scenarios/stop_escalation.scn with poll failing ENOMEM) —
	 * but only a definite "gone" counts: a process /proc cannot tell
	 * about is still signalled. */
	if (r < 0)
		return proc_says_gone(ref);
	return r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

/* Without a pidfd to wait on (see open_pidfd) the process is looked at
 * every 10 ms; the pause is paced on the clock, and ends the wait (-errno)
 * when it cannot be made. */
#define NO_PIDFD_PERIOD_NS (10 * TETHER_NSEC_PER_MSEC)

int tether_pidref_wait(const struct tether_pidref *ref, const struct tether_clock *clock,
		       int64_t deadline)
{
	if (ref->pidfd < 0) {
		for (;;) {
			if (tether_pidref_exited(ref) == 1)
				return 1;
			int64_t now = tether_clock_now(clock);
			if (now >= deadline)
				return 0;
			int64_t next = deadline - now > NO_PIDFD_PERIOD_NS ? now + NO_PIDFD_PERIOD_NS : deadline;
			int r = tether_wait_until(clock, next);
			if (r < 0)
				return r;
		}
	}
	struct pollfd p = {.fd = ref->pidfd, .events = POLLIN};
	return tether_wait_fd(&p, clock, deadline);
}

int tether_pgroup_signal(pid_t pgid, int sig)
{
	struct tether_procstat st;
	if (pgid <= 1 || pgid == getpgrp())
		return -EINVAL;
	int r = tether_proc_read_stat(pgid, &st);
	if (r < 0)
		return r;
	if (st.pgid != pgid || st.state == 'Z')
		return -ESRCH;
	return sys_killpg(pgid, sig);
}

bool tether_tree_has(const struct tether_tree *tree, pid_t pid)
{
	for (size_t i = 0; i < tree->n; i++)
		if (tree->procs[i].pid == pid)
			return true;
	return false;
}

static int tree_add(struct tether_tree *tree, pid_t pid)
{
	struct tether_pidref ref;
	if (tether_tree_has(tree, pid) || forbidden_target(pid))
		return 0;
	int r = tether_pidref_open_current(pid, &ref);
	if (r == -ENOENT)
		r = -ESRCH;
	if (r == -ESRCH)
		return 0; /* exited between the scan and now */
	if (r < 0)
		return r;
	if (tree->n == tree->cap) {
		size_t ncap = tree->cap ? tree->cap * 2 : 16;
		struct tether_pidref *np = realloc(tree->procs, ncap * sizeof *np);
		if (!np) {
			tether_pidref_done(&ref);
			return -ENOMEM;
		}
		tree->procs = np;
		tree->cap = ncap;
	}
	tree->procs[tree->n++] = ref;
	return 1;
}

/* Adds the descendants of pid; returns how many new members. A member or a
 * children list that cannot be read is skipped, not the rest (*err gets the
 * first failure): a walk abandoned at its first /proc failure left the whole
 * tree unsignalled (scenarios/sigkill_tether_subreaper.scn, open or getdents
 * failing once). */
static int collect_below(pid_t pid, struct tether_tree *tree, int *err)
{
	pid_t *kids = NULL;
	size_t nkids = 0;
	int added = 0;
	int r = tether_proc_children(pid, &kids, &nkids);
	if (r == -ESRCH)
		return 0;
	if (r < 0) {
		if (!*err)
			*err = r;
		return 0;
	}
	for (size_t i = 0; i < nkids; i++) {
		r = tree_add(tree, kids[i]);
		if (r < 0 && !*err)
			*err = r;
		if (r > 0)
			added += r;
	}
	free(kids);
	return added;
}

int tether_tree_collect(pid_t root, struct tether_tree *tree)
{
	/* Breadth-first over the growing array, then again from the top until
	 * a whole pass adds nothing: a fork during the walk shows up in the
	 * next pass as long as its parent is still alive. */
	int err = 0;
	for (int pass = 0, failed_passes = 0; pass < 64; pass++) {
		err = 0;
		int added = collect_below(root, tree, &err);
		for (size_t i = 0; i < tree->n; i++)
			added += collect_below(tree->procs[i].pid, tree, &err);
		/* a pass that could not read everything is not "nothing new":
		 * look again, twice (a failure that persists is returned) */
		if (added == 0 && (err == 0 || ++failed_passes > 2))
			break;
	}
	return err;
}

int tether_tree_signal(struct tether_tree *tree, int sig)
{
	int n = 0;
	for (size_t i = 0; i < tree->n; i++) {
		struct tether_pidref *p = &tree->procs[i];
		if (tether_pidref_exited(p) == 1)
			continue;
		if (tether_pidref_signal(p, sig) == 0)
			n++;
	}
	return n;
}

/* tether_tree_wait; *ret_err gets -errno when a wait could not be made
 * (the caller must not look again at once: it would spin). */
static int tree_wait(struct tether_tree *tree, const struct tether_clock *clock, int64_t deadline, int *ret_err)
{
	*ret_err = 0;
	for (;;) {
		int alive = 0;
		size_t first = 0;
		for (size_t i = 0; i < tree->n; i++)
			if (tether_pidref_exited(&tree->procs[i]) != 1) {
				if (!alive)
					first = i;
				alive++;
			}
		if (alive == 0 || tether_clock_now(clock) >= deadline)
			return alive;
		/* Wait on one survivor at a time: when it exits, re-check all. */
		int r = tether_pidref_wait(&tree->procs[first], clock, deadline);
		if (r < 0) {
			*ret_err = r;
			return alive;
		}
	}
}

int tether_tree_wait(struct tether_tree *tree, const struct tether_clock *clock, int64_t deadline)
{
	int err;
	return tree_wait(tree, clock, deadline, &err);
}

void tether_tree_done(struct tether_tree *tree)
{
	for (size_t i = 0; i < tree->n; i++)
		tether_pidref_done(&tree->procs[i]);
	free(tree->procs);
	*tree = (struct tether_tree){0};
}

/* Stopped, or already dead: either way it forks no more, and a stopped
 * process keeps its children listed under it. */
static bool frozen(const struct tether_pidref *p)
{
	struct tether_procstat st;
	if (tether_pidref_exited(p) == 1)
		return true;
	if (tether_proc_read_stat(p->pid, &st) < 0)
		return true;
	return st.state == 'T' || st.state == 't' || st.state == 'Z' || st.state == 'X';
}

/* Walks and SIGSTOPs root's tree until a walk finds nobody new and every
 * member was already stopped before its children were read: that snapshot is
 * complete. A process with SIGSTOP pending can still finish a fork already
 * under way, so "signalled" is not enough; "stopped" is. */
static void freeze_tree(const struct tether_pidref *root, struct tether_tree *tree,
			const struct tether_clock *clock, int64_t deadline)
{
	tether_pidref_signal(root, SIGSTOP);
	/* The kernel tells nobody but a parent when a process stops: wait a
	 * millisecond of real time on one that has not (its pidfd still wakes
	 * us if it dies), at most this many times — a process stuck in D state
	 * stops late, and the kill goes on without waiting for it. A pause that
	 * cannot be made (poll failing) ends the freeze: the kill goes on
	 * rather than walk /proc 500 times at full speed. */
	for (int tries = 0, failed = 0; tries < 500; tries++) {
		const struct tether_pidref *running = frozen(root) ? NULL : root;
		for (size_t i = 0; !running && i < tree->n; i++)
			if (!frozen(&tree->procs[i]))
				running = &tree->procs[i];
		size_t before = tree->n;
		tether_tree_collect(root->pid, tree);
		tether_tree_signal(tree, SIGSTOP);
		if ((!running && tree->n == before) || tether_clock_now(clock) >= deadline)
			return;
		if (running && tree->n == before) {
			struct pollfd p = {.fd = running->pidfd, .events = POLLIN};
			int64_t before_ns = tether_clock_now(clock);
			int r = sys_poll(&p, 1, 1);
			/* an error, or back before the millisecond: interrupted */
			if (r < 0 || (r == 0 && tether_clock_now(clock) - before_ns < TETHER_NSEC_PER_MSEC))
				failed++;
			else
				failed = 0;
			if (failed >= TETHER_WAIT_EARLY_MAX)
				return;
		}
	}
}

int tether_tree_kill(const struct tether_pidref *root, const struct tether_clock *clock,
		     int64_t deadline, pid_t *ret_survivors, size_t max)
{
	struct tether_tree tree = {0};
	/* Snapshot first: once root dies its children are re-parented and no
	 * longer reachable from it. And freeze while taking it: a member that
	 * forks after the walk saw it and dies before the next walk leaves a
	 * child re-parented to init, out of reach, that forks on (a fork bomb
	 * escapes SIGKILL-and-rescan that way). SIGKILL ends stopped processes
	 * too, so nothing is left stopped. */
	freeze_tree(root, &tree, clock, deadline);
	tether_pidref_signal(root, SIGKILL);
	for (;;) {
		tether_tree_signal(&tree, SIGKILL);
		/* Look below every member still alive, in case one escaped the
		 * freeze (it stopped too late): a dead member's children were
		 * re-parented when it died, so only the living can be looked at. */
		size_t before = tree.n;
		for (size_t i = 0; i < before; i++)
			if (tether_pidref_exited(&tree.procs[i]) != 1)
				tether_tree_collect(tree.procs[i].pid, &tree);
		if (tree.n != before)
			continue;
		int64_t step = tether_clock_now(clock) + 50 * TETHER_NSEC_PER_MSEC;
		int64_t until = step < deadline ? step : deadline;
		int err;
		int alive = tree_wait(&tree, clock, until, &err);
		int root_alive = tether_pidref_exited(root) != 1;
		if (root_alive && alive == 0 && err == 0) {
			/* only the root left: wait on it, not round at once */
			int r = tether_pidref_wait(root, clock, until);
			if (r < 0)
				err = r;
			root_alive = r != 1 && tether_pidref_exited(root) != 1;
		}
		/* A wait that cannot be made ends the kill now (its SIGKILLs are
		 * sent): going round again would only spin until the deadline
		 * (scenarios/stop_escalation.scn with poll failing from its k-th
		 * call). */
		if ((alive == 0 && !root_alive) || err < 0 || tether_clock_now(clock) >= deadline) {
			int n = 0;
			if (root_alive && ret_survivors && (size_t)n < max)
				ret_survivors[n] = root->pid;
			n += root_alive;
			for (size_t i = 0; i < tree.n; i++)
				if (tether_pidref_exited(&tree.procs[i]) != 1) {
					if (ret_survivors && (size_t)n < max)
						ret_survivors[n] = tree.procs[i].pid;
					n++;
				}
			tether_tree_done(&tree);
			return n;
		}
	}
}
