/* SPDX-License-Identifier: MIT */
/* keeper.c — the supervisor keeps its pidfile (SPEC §8 G1).
 *
 * A tmpfiles cleaner, an operator's `rm -rf state` or `mv state state.old`
 * can take the pidfile's directory or files away under a running
 * supervisor. Its lock then lies on an inode no path names: `status` would
 * say "not running", `stop` would stop nothing, and a second start would
 * lock a new PATH.lock and supervise a second worker. So the supervisor
 * watches the directory (inotify, one descriptor in the loop's table) and
 * puts back what went: the directory, a new lock (locked before the old one
 * is let go), the record (tether_pidfile_restore). Meanwhile nobody can take
 * its place: an acquirer that gets the new lock first looks for a supervisor
 * of the same pidfile by its control socket before it publishes anything,
 * and lets go (pidfile.c, ctlname.h); `status` and `stop` find it the same
 * way while the lock file is missing.
 *
 * When only files went and the directory stays, the restore waits until the
 * directory has been quiet for 100 ms (1 s at most): `rm -rf` unlinks every
 * name before it removes the directory, and a lock file put back in between
 * would make its rmdir fail ("Directory not empty") — a supervisor must not
 * fight the operator's cleanup. A directory that went is restored at once.
 *
 * Waiting: a busy new lock is a newcomer about to find us and let go (its
 * unlink is an event here) — or, when it could not see our socket (another
 * network namespace, an older tether), a supervisor that publishes its
 * record: then this one yields (a graceful stop, exit 75): one supervisor
 * again, after an overlap. Retries follow events and a timer that backs off
 * (10 ms to 1 s while busy, 1 s to 60 s on errors): never a spin (G9).
 *
 * The watch is removed as soon as a stop begins: the kernel frees an inotify
 * mark after an SRCU grace period, and a process that exits with a mark
 * still in place waits for it — milliseconds added to every stop, against a
 * whole start/stop cycle of about two. Removed early, the wait overlaps the
 * instances' own stop.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>

#include "supervisor_internal.h"
#include "sys.h"

#define BUSY_BACKOFF_MIN (10 * TETHER_NSEC_PER_MSEC)
#define BUSY_BACKOFF_MAX (1 * TETHER_NSEC_PER_SEC)
#define ERROR_BACKOFF_MIN (1 * TETHER_NSEC_PER_SEC)
#define ERROR_BACKOFF_MAX (60 * TETHER_NSEC_PER_SEC)
/* Files removed from a directory that stays: restored once it has been
 * quiet this long, or this long after the loss at the latest. */
#define SETTLE (100 * TETHER_NSEC_PER_MSEC)
#define SETTLE_MAX (1 * TETHER_NSEC_PER_SEC)
/* Without a watch (inotify failed for good), how often the files are looked at. */
#define UNWATCHED_CHECK (1 * TETHER_NSEC_PER_SEC)
/* Consecutive wakeups of a watch that reads nothing before it is given up. */
#define PERSISTENT_FAILURES 100

static void unwatched(struct tether_supervisor *sv)
{
	sv->keep_retry_at = tether_clock_now(sv->clock) + UNWATCHED_CHECK;
}

/* Watches the directory that now lies at the path; the old watch (a moved
 * directory's) goes. */
static void watch_dir(struct tether_supervisor *sv)
{
	if (sv->keep_fd < 0)
		return;
	int wd = tether_pidfile_watch_dir(sv->pidfile, sv->keep_fd);
	if (wd >= 0 && sv->keep_wd >= 0 && wd != sv->keep_wd)
		sys_inotify_rm_watch(sv->keep_fd, sv->keep_wd);
	if (wd >= 0)
		sv->keep_wd = wd;
}

void tether_keeper_start(struct tether_supervisor *sv)
{
	sv->keep_fd = sys_inotify_init(IN_CLOEXEC | IN_NONBLOCK);
	if (sv->keep_fd >= 0) {
		watch_dir(sv);
		if (sv->keep_wd >= 0)
			return;
		sys_close(sv->keep_fd);
		sv->keep_fd = -1;
	}
	/* Degraded, not fatal: the files are looked at on a timer instead. */
	tether_events_message(sv, TETHER_MSG_WARNING,
			      "cannot watch the pidfile's directory; looking at it every second instead");
	unwatched(sv);
}

void tether_keeper_read(struct tether_supervisor *sv, struct slot *unused)
{
	(void)unused;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool progressed = false;
	for (;;) {
		ssize_t n = sys_read(sv->keep_fd, buf, sizeof buf);
		if (n <= 0)
			break;
		progressed = true;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			p += sizeof *e + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				sv->keep_check = true; /* events lost: look */
				continue;
			}
			if (e->wd != sv->keep_wd)
				continue; /* a watch given up, draining */
			sv->keep_event_at = tether_clock_now(sv->clock);
			if (e->mask & IN_IGNORED)
				sv->keep_wd = -1; /* the directory is gone, and its watch */
			/* Our own record's rename is seen too (MOVED_TO), and
			 * answered by a look that finds everything in place. */
			if (!e->len || tether_pidfile_names_ours(sv->pidfile, e->name))
				sv->keep_check = true;
		}
	}
	if (progressed) {
		sv->keep_failures = 0;
	} else if (++sv->keep_failures == PERSISTENT_FAILURES) {
		tether_events_message(sv, TETHER_MSG_WARNING,
				      "cannot read the pidfile directory's events; looking at it every second instead");
		sys_close(sv->keep_fd);
		sv->keep_fd = sv->keep_wd = -1;
		unwatched(sv);
	}
}

int64_t tether_keeper_deadline(const struct tether_supervisor *sv)
{
	return sv->stopping ? TETHER_NEVER : sv->keep_retry_at;
}

void tether_keeper_stop(struct tether_supervisor *sv)
{
	if (sv->keep_fd >= 0 && sv->keep_wd >= 0)
		sys_inotify_rm_watch(sv->keep_fd, sv->keep_wd);
	sv->keep_wd = -1;
	sv->keep_retry_at = TETHER_NEVER;
}

static void retry_later(struct tether_supervisor *sv, int64_t min, int64_t max)
{
	if (sv->keep_backoff < min)
		sv->keep_backoff = min;
	else if (sv->keep_backoff < max)
		sv->keep_backoff = sv->keep_backoff * 2 < max ? sv->keep_backoff * 2 : max;
	sv->keep_retry_at = tether_clock_now(sv->clock) + sv->keep_backoff;
}

void tether_keeper_step(struct tether_supervisor *sv)
{
	if (!sv->started || !sv->pidfile || sv->stopping || sv->finished)
		return;
	int64_t now = tether_clock_now(sv->clock);
	if (!sv->keep_check && now < sv->keep_retry_at)
		return;
	sv->keep_check = false;
	sv->keep_retry_at = TETHER_NEVER;
	int lost = tether_pidfile_check(sv->pidfile);
	if (!lost && !sv->keep_lost) {
		if (sv->keep_fd < 0)
			unwatched(sv);
		return;
	}
	char msg[PATH_MAX + 200];
	if (!sv->keep_lost) {
		sv->keep_lost = true;
		sv->keep_lost_at = now;
		snprintf(msg, sizeof msg, "the pidfile %s (or its directory) was removed or moved: restoring it",
			 sv->cfg.pidfile);
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
	}
	if (lost && !(lost & TETHER_PIDFILE_LOST_DIR)) {
		int64_t at = sv->keep_event_at + SETTLE;
		if (at > sv->keep_lost_at + SETTLE_MAX)
			at = sv->keep_lost_at + SETTLE_MAX;
		if (now < at) {
			sv->keep_retry_at = at;
			return;
		}
	}
	pid_t holder = 0;
	int r = tether_pidfile_restore(sv->pidfile, &sv->record, &holder);
	/* the directory now at the path, restored or not: its events wake us */
	watch_dir(sv);
	if (r == 1) {
		sv->keep_lost = sv->keep_warned = false;
		sv->keep_backoff = 0;
		snprintf(msg, sizeof msg, "restored the pidfile %s", sv->cfg.pidfile);
		tether_events_message(sv, TETHER_MSG_NOTICE, msg);
		if (sv->keep_fd < 0)
			unwatched(sv);
		return;
	}
	if (r == 2) {
		snprintf(msg, sizeof msg,
			 "%s was taken over by pid %d while its files were gone: stopping, so that one "
			 "supervisor remains",
			 sv->cfg.pidfile, (int)holder);
		tether_supervisor_request_end(sv, TETHER_OUTCOME_RUNNING, 0, msg);
		return;
	}
	if (r < 0) {
		if (!sv->keep_warned) {
			sv->keep_warned = true;
			snprintf(msg, sizeof msg, "cannot restore the pidfile %s: %s; retrying", sv->cfg.pidfile,
				 strerror(-r));
			tether_events_message(sv, TETHER_MSG_WARNING, msg);
		}
		retry_later(sv, ERROR_BACKOFF_MIN, ERROR_BACKOFF_MAX);
		return;
	}
	retry_later(sv, BUSY_BACKOFF_MIN, BUSY_BACKOFF_MAX);
}
