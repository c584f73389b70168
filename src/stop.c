/* SPDX-License-Identifier: MIT */
/* stop.c — see stop.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/inotify.h>

#include "pidfile.h"
#include "proctree.h"
#include "stop.h"
#include "sys.h"

/* How long processes of the supervisor's tree get to disappear after it
 * exited on its own, before stop kills them itself. The supervisor's own
 * guarantee (G2) is that they are already gone. */
#define TREE_GRACE_NS (2 * TETHER_NSEC_PER_SEC)
/* How long SIGKILLed processes get to be reported dead. */
#define KILL_WAIT_NS (5 * TETHER_NSEC_PER_SEC)
/* How long a lock holder that the record does not describe gets to settle
 * before stop calls it unverifiable: a supervisor that just took the lock over
 * a stale record, a concurrent stop removing one, a supervisor that died while
 * we looked — each is over within milliseconds. */
#define SETTLE_NS (1 * TETHER_NSEC_PER_SEC)

/* A watch on the pidfile's directory for changes only: unlike
 * tether_pidfile_watch_open it ignores reads, because our own probe reads the
 * record and must not wake us. */
static int watch_changes(const char *pidfile)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(pidfile, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == pidfile)
		snprintf(dir, sizeof dir, "/");
	else if ((size_t)(slash - pidfile) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - pidfile), pidfile);
	else
		return -ENAMETOOLONG;
	int fd = sys_inotify_init(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return fd;
	int r = sys_inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
						      IN_CREATE | IN_ATTRIB);
	if (r < 0) {
		sys_close(fd);
		return r;
	}
	return fd;
}

/* Records survivors once each: the snapshot's members overlap (a member's
 * kill reports its descendants, which are members too), and a PID listed
 * twice reads as two processes. n may exceed what was stored in left. */
static void add_survivors(struct tether_stop_result *res, const pid_t *left, int n)
{
	for (int k = 0; k < n && k < TETHER_STOP_MAX_SURVIVORS; k++) {
		bool seen = false;
		for (int i = 0; i < res->nsurvivors && i < TETHER_STOP_MAX_SURVIVORS; i++)
			seen |= res->survivors[i] == left[k];
		if (seen)
			continue;
		if (res->nsurvivors < TETHER_STOP_MAX_SURVIVORS)
			res->survivors[res->nsurvivors] = left[k];
		res->nsurvivors++;
	}
}

/* Kills whatever of the snapshot outlived the supervisor, and below it. */
static void finish_tree(struct tether_tree *tree, const struct tether_clock *clock,
			struct tether_stop_result *res)
{
	int64_t now = tether_clock_now(clock);
	if (tether_tree_wait(tree, clock, now + TREE_GRACE_NS) == 0)
		return;
	/* One deadline for every member's kill: a kill that cannot be
	 * delivered (EPERM) made each member wait its own KILL_WAIT, and stop
	 * took n x 5 s. */
	int64_t deadline = tether_clock_now(clock) + KILL_WAIT_NS;
	for (size_t i = 0; i < tree->n; i++) {
		if (tether_pidref_exited(&tree->procs[i]) == 1)
			continue;
		pid_t left[TETHER_STOP_MAX_SURVIVORS];
		int n = tether_tree_kill(&tree->procs[i], clock, deadline, left, TETHER_STOP_MAX_SURVIVORS);
		add_survivors(res, left, n);
	}
}

/* Does a SIGKILLed run's lock or temp file (or, with record, its record)
 * remain? */
static bool has_leftovers(const char *pidfile, bool record)
{
	char path[4200];
	struct stat st;
	if (record && sys_lstat(pidfile, &st) == 0)
		return true;
	snprintf(path, sizeof path, "%s.lock", pidfile);
	if (sys_lstat(path, &st) == 0)
		return true;
	snprintf(path, sizeof path, "%s.tmp", pidfile);
	return sys_lstat(path, &st) == 0;
}

static int stop_verified(const char *pidfile, const struct tether_pidrecord *rec, int64_t timeout_ns,
			 bool kill_now, const struct tether_clock *clock, struct tether_stop_result *res)
{
	struct tether_pidref sup;
	int r = tether_pidref_open(rec->pid, rec->start_time, &sup);
	if (r < 0)
		return r; /* gone or reused since the probe: the caller looks again */
	res->supervisor = rec->pid;
	/* May we signal it at all? Asked first (signal 0 checks permission
	 * only), so that another user's stop says so and touches nothing,
	 * rather than failing every SIGKILL of the tree and reporting each
	 * process as a survivor. */
	if (tether_pidref_signal(&sup, 0) == -EPERM) {
		res->outcome = TETHER_STOP_DENIED;
		tether_pidref_done(&sup);
		return 0;
	}
	struct tether_tree tree = {0};
	tether_tree_collect(sup.pid, &tree);
	bool exited = false;
	if (!kill_now) {
		tether_pidref_signal(&sup, SIGTERM);
		exited = tether_pidref_wait(&sup, clock, tether_clock_now(clock) + timeout_ns) == 1;
	}
	if (exited) {
		res->outcome = TETHER_STOP_STOPPED;
		finish_tree(&tree, clock, res);
	} else {
		res->outcome = TETHER_STOP_KILLED;
		pid_t left[TETHER_STOP_MAX_SURVIVORS];
		int n = tether_tree_kill(&sup, clock, tether_clock_now(clock) + KILL_WAIT_NS, left,
					 TETHER_STOP_MAX_SURVIVORS);
		add_survivors(res, left, n);
		/* the first snapshot may hold members the second missed */
		finish_tree(&tree, clock, res);
	}
	if (res->nsurvivors > 0)
		res->outcome = TETHER_STOP_SURVIVORS;
	tether_tree_done(&tree);
	tether_pidref_done(&sup);
	/* A supervisor that died by SIGKILL left its record: remove it under the
	 * lock. 0 means a new supervisor already holds it, which is its own.
	 * One that exited cleanly removed all three files itself, and taking the
	 * lock would only create the lock file to unlink it again. */
	if (has_leftovers(pidfile, true) && tether_pidfile_remove_stale(pidfile) < 0)
		res->left_foreign = true;
	return 0;
}

int tether_stop(const char *pidfile, int64_t timeout_ns, bool kill_now, const struct tether_clock *clock,
		struct tether_stop_result *ret)
{
	struct tether_stop_result res = {0};
	int64_t deadline = tether_clock_now(clock) + timeout_ns;
	int64_t settle = tether_clock_now(clock) + (timeout_ns < SETTLE_NS ? timeout_ns : SETTLE_NS);
	int settle_watch = -1;
	/* Opened only when we must wait for a starting supervisor: closing an
	 * inotify descriptor that had a watch waits for an SRCU grace period
	 * (milliseconds), which every plain stop would otherwise pay. */
	int watch = -1;
	bool unsettled = false;
	int r = 0;
	for (int round = 0; round < 20; round++) {
		struct tether_pidfile_probe p;
		r = tether_pidfile_probe(pidfile, &p);
		if (r < 0)
			break;
		bool again = false;
		switch (p.state) {
		case TETHER_PIDFILE_STOPPED:
			res.outcome = TETHER_STOP_NOT_RUNNING;
			/* a leftover lock or temp file from a SIGKILLed run */
			if (has_leftovers(pidfile, false) && tether_pidfile_remove_stale(pidfile) == 0)
				again = true;
			break;
		case TETHER_PIDFILE_STALE:
		case TETHER_PIDFILE_UNKNOWN:
			if (p.lock_held && p.record_err == 0 && !p.rec.legacy && p.rec.pid == 1) {
				/* a container's entrypoint seen from outside its PID
				 * namespace: refused as from inside, with the reason */
				res.outcome = TETHER_STOP_PID1;
				break;
			}
			if (p.lock_held) {
				/* Someone holds the lock but the record does not describe
				 * it: often a moment's state (see SETTLE_NS). Look once
				 * more under a watch our reading cannot wake, then wait
				 * for a change until settle. */
				if (settle_watch < 0 && tether_clock_now(clock) < settle) {
					settle_watch = watch_changes(pidfile);
					if (settle_watch >= 0) {
						again = true;
						break;
					}
				} else if (settle_watch >= 0 && tether_clock_now(clock) < settle &&
					   tether_pidfile_watch_wait(settle_watch, clock, settle) > 0) {
					again = true;
					break;
				}
				res.outcome = TETHER_STOP_UNVERIFIED;
				snprintf(res.why, sizeof res.why, "%s", p.why);
				break;
			}
			res.outcome = TETHER_STOP_NOT_RUNNING;
			r = tether_pidfile_remove_stale(pidfile);
			if (r == 1) {
				res.removed_stale = true;
			} else if (r == 0) {
				again = true; /* a supervisor took the lock meanwhile */
			} else {
				res.left_foreign = true;
				snprintf(res.why, sizeof res.why, "%s (left in place: %s)", p.why, strerror(-r));
			}
			r = 0;
			break;
		case TETHER_PIDFILE_STARTING:
			if (watch < 0 && (watch = tether_pidfile_watch_open(pidfile)) >= 0) {
				/* look again under the watch: a record written between
				 * our look and the watch would otherwise be missed */
				again = true;
				break;
			}
			if (tether_clock_now(clock) >= deadline || watch < 0 ||
			    tether_pidfile_watch_wait(watch, clock, deadline) <= 0) {
				res.outcome = TETHER_STOP_UNVERIFIED;
				snprintf(res.why, sizeof res.why, "%s", p.why);
			} else {
				again = true;
			}
			break;
		case TETHER_PIDFILE_RUNNING:
			if (p.rec.pid == 1) {
				res.outcome = TETHER_STOP_PID1;
				break;
			}
			r = stop_verified(pidfile, &p.rec, timeout_ns, kill_now, clock, &res);
			if (r == -ESRCH || r == -ESTALE) {
				again = true;
				r = 0;
			}
			break;
		}
		tether_pidfile_probe_done(&p);
		unsettled = again;
		if (!again)
			break;
	}
	if (watch >= 0)
		sys_close(watch);
	if (settle_watch >= 0)
		sys_close(settle_watch);
	if (unsettled && r == 0) {
		/* Out of rounds while it still changed: we verified nothing, so we
		 * must not report "nothing running" either. */
		res.outcome = TETHER_STOP_UNVERIFIED;
		snprintf(res.why, sizeof res.why, "%s kept changing while we looked", pidfile);
	}
	if (r < 0)
		return r;
	*ret = res;
	return 0;
}
