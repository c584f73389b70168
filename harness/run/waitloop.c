/* SPDX-License-Identifier: MIT */
/* waitloop.c — the scenario's event loop: how `wait` waits and `expect` checks.
 *
 * Everything a condition can depend on arrives as an event: a process's exit
 * (its pidfd becomes readable), a notify datagram (READY=1, STATUS=...), a
 * file change (inotify on the scenario directory, and on the directory of any
 * file a condition reads), a signal to the lab (signalfd). `wait` evaluates
 * its condition, then sleeps in poll() until one of those happens or its
 * deadline passes, and evaluates again. Only conditions that no event can
 * announce — `tether status` fields, /proc process and fd counts — are
 * re-evaluated on a timer too, with a backoff from 5 ms to 200 ms.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "run/run.h"

void lab_pump(struct lab *lab)
{
	for (size_t i = 0; i < lab->nprocs; i++) {
		struct proc *p = lab->procs[i];
		proc_drain_notify(p);
		proc_reap(lab, p);
	}
	/* inotify: the events themselves do not matter, only that something
	 * changed — but a change of a fault report (NAME.faults) is told to
	 * harness faults, which may end the run (a rule that spins) */
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t got;
	bool report = false;
	while (lab->inotify_fd >= 0 && (got = read(lab->inotify_fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + got;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			size_t len = e->len ? strlen(e->name) : 0;
			report = report || (len > 7 && strcmp(e->name + len - 7, ".faults") == 0);
			p += sizeof *e + e->len;
		}
	}
	const struct lab_hooks *h = lab->opt->hooks;
	if (report && h && h->fault_report && !lab->interrupted && h->fault_report(lab, h->data))
		lab->interrupted = true;
	struct signalfd_siginfo si;
	while (lab->sig_fd >= 0 && read(lab->sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
		lab->interrupted = true;
}

void lab_wait_event(struct lab *lab, int64_t until, const int *fds, size_t nfds)
{
	size_t cap = 2 * lab->nprocs + nfds + 2, n = 0;
	struct pollfd *pfd = xcalloc(cap, sizeof *pfd);
	for (size_t i = 0; i < lab->nprocs; i++) {
		struct proc *p = lab->procs[i];
		if (p->pidfd >= 0)
			pfd[n++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
		if (p->notify_fd >= 0)
			pfd[n++] = (struct pollfd){.fd = p->notify_fd, .events = POLLIN};
	}
	for (size_t i = 0; i < nfds; i++)
		pfd[n++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	if (lab->inotify_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = lab->inotify_fd, .events = POLLIN};
	if (lab->sig_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = lab->sig_fd, .events = POLLIN};
	int timeout = -1;
	if (until != INT64_MAX) {
		int64_t left = until - lab_now();
		/* round up: waking before the deadline would only spin once more */
		timeout = left <= 0 ? 0 : left / NS_PER_MS + 1 > INT_MAX ? INT_MAX : (int)(left / NS_PER_MS + 1);
	}
	/* EINTR needs nothing: the caller evaluates again either way */
	(void)poll(pfd, n, timeout);
	free(pfd);
}

int lab_watch_path(struct lab *lab, const char *path)
{
	char *dir = xstrdup(path);
	int wd = -1;
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (!slash)
			break;
		*slash = '\0';
		const char *d = *dir ? dir : "/";
		struct stat st;
		if (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) {
			/* The nearest existing ancestor: a directory created later shows
			 * up as IN_CREATE here, and the next round watches it. */
			wd = inotify_add_watch(lab->inotify_fd, d,
					       IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM |
						       IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF);
			break;
		}
		if (!*dir)
			break;
	}
	free(dir);
	return wd;
}

void lab_unwatch(struct lab *lab, int wd)
{
	/* the scenario directory's own watch stays (inotify gives one wd per inode) */
	if (wd >= 0 && wd != lab->dir_wd)
		inotify_rm_watch(lab->inotify_fd, wd);
}

void cond_watch_clear(struct cond_watch *w)
{
	for (size_t i = 0; i < w->nfds; i++)
		close(w->fds[i]);
	free(w->path);
	free(w->fds);
	memset(w, 0, sizeof *w);
}

/* Has every process of the scenario ended (end_idle_waits)? */
static bool idle(struct lab *lab)
{
	for (size_t i = 0; i < lab->nprocs; i++)
		if (!lab->procs[i]->exited)
			return false;
	struct marked *m;
	size_t n = orphans_scan_tree(lab->run_id, &m);
	free(m);
	return n == 0;
}

int lab_wait_cond(struct lab *lab, const struct cond *c, int64_t within, unsigned line)
{
	const struct lab_hooks *h = lab->opt->hooks;
	if (h && h->wait_limit)
		within = h->wait_limit(lab, line, within, h->data);
	int64_t start = lab_now();
	int64_t deadline = start + within;
	bool scenario_limit = false;
	if (deadline > lab->deadline) {
		deadline = lab->deadline;
		scenario_limit = true;
	}
	int64_t backoff = 5 * NS_PER_MS;
	int wd = -1;
	char *watched = NULL;
	int rc = -1;
	for (;;) {
		lab_pump(lab);
		struct cond_watch w = {0};
		char *observed = NULL;
		int r = lab_cond_eval(lab, c, line, &w, &observed);
		if (r < 0) {
			cond_watch_clear(&w);
			break;
		}
		if (r == COND_TRUE) {
			free(observed);
			cond_watch_clear(&w);
			rc = 0;
			break;
		}
		int64_t now = lab_now();
		bool ended = r == COND_NOT_YET && lab->opt->end_idle_waits && !lab->interrupted && idle(lab);
		if (r == COND_FALSE || lab->interrupted || now >= deadline || ended) {
			char d[32];
			if (r == COND_FALSE)
				lab_fail(lab, line, "%s", observed);
			else if (ended)
				lab_fail(lab, line, "%s (every process of the scenario has ended)", observed);
			else if (lab->interrupted)
				lab_fail(lab, line, "interrupted while waiting: %s", observed);
			else if (scenario_limit)
				lab_fail(lab, line, "scenario timeout (%s) reached while waiting: %s",
					 lab_fmt_ns(lab->scn->timeout, d, sizeof d), observed);
			else
				lab_fail(lab, line, "timed out after %s: %s", lab_fmt_ns(within, d, sizeof d), observed);
			free(observed);
			cond_watch_clear(&w);
			break;
		}
		free(observed);
		if (w.path && (!watched || strcmp(watched, w.path) != 0)) {
			/* watch first, then look again: no change between the two is lost */
			lab_unwatch(lab, wd);
			free(watched);
			watched = xstrdup(w.path);
			wd = lab_watch_path(lab, w.path);
			cond_watch_clear(&w);
			continue;
		}
		int64_t until = deadline;
		if (w.polled) {
			/* Polled: no event announces a change of `tether status` or of a
			 * /proc count. Re-check with a backoff, up to the deadline. */
			if (now + backoff < until)
				until = now + backoff;
			backoff = backoff * 2 > 200 * NS_PER_MS ? 200 * NS_PER_MS : backoff * 2;
		}
		lab_wait_event(lab, until, w.fds, w.nfds);
		cond_watch_clear(&w);
	}
	lab_unwatch(lab, wd);
	free(watched);
	if (h && h->waited)
		h->waited(lab, line, lab_now() - start, rc == 0, h->data);
	return rc;
}

int lab_expect_cond(struct lab *lab, const struct cond *c, unsigned line)
{
	lab_pump(lab);
	struct cond_watch w = {0};
	char *observed = NULL;
	int r = lab_cond_eval(lab, c, line, &w, &observed);
	cond_watch_clear(&w);
	if (r < 0)
		return -1;
	if (r != COND_TRUE) {
		lab_fail(lab, line, "%s", observed);
		free(observed);
		return -1;
	}
	free(observed);
	return 0;
}
