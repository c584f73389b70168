/* SPDX-License-Identifier: MIT */
/* orphans.c — finding, awaiting and killing what a run left behind (a
 * scenario, a stress cycle, a soak incarnation), through /proc.
 *
 * A run's processes are found two ways, and a scan takes their union:
 *
 *  - By the marker. Every process the lab starts carries its run's marker
 *    (TETHER_LAB_RUN=<run id>, lab_env_make) in its environment, and
 *    everything they start inherits it: tether passes its environment to its
 *    workers, and workers to their children. So whatever still carries the
 *    marker after the run is an orphan, whichever way it escaped (double
 *    fork, setsid, a new process group).
 *  - By descent. A daemon may write its process title over the memory
 *    /proc/PID/environ shows (PostgreSQL's children, nginx, Redis:
 *    fixtures/daemons/README.md), and a process may scrub its environment
 *    (env -i): the marker is then unreadable. A process that runs one run
 *    (a scenario's own process, `harness stress`) makes itself the child
 *    subreaper of what it starts (orphans_subreaper): whatever is orphaned
 *    below it — a double fork, a setsid'd grandchild, the tree of a
 *    SIGKILLed tether — re-parents to it instead of to init, so everything
 *    the run started stays among its descendants, whatever it did to its
 *    environment or title. Those descendants are the run's processes too.
 *    A descendant whose environment cannot be read is attributed to the
 *    nearest ancestor whose can (its spawn tag, LAB_ENV_SPAWN).
 *
 * The walk of the descendants reads a dozen /proc files; the marker scan
 * would read the environment of every process on the machine. It reads
 * only those of the processes started since the run began: the kernel
 * gives pids in increasing order, wrapping around at pid_max, so a process
 * started after the run's first one (the subreaper itself, or the one a
 * caller names) has a pid between that one and the last pid given out,
 * counting around the wrap (a run that forks more than pid_max processes
 * would defeat this; none comes near). So the checks made
 * while a run goes (process counts, which spawn a process belongs to) look at
 * the descendants alone when there are any to look at (orphans_scan_tree),
 * and the checks that judge what is left at the end take the union
 * (orphans_scan).
 *
 * A subreaper must reap what re-parents to it: the walk reaps every zombie
 * child that the process did not spawn itself (lab_spawn and the job pool
 * register theirs, whose exit status their owner waits for by pid).
 *
 * Killing is by pidfd, and only after the process is checked again to be the
 * run's *with the pidfd held*: the pidfd pins one process, so if its pid was
 * reused between the scan and the kill, the new owner lacks the marker, is
 * no descendant, and is left alone.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "proc.h"

/* The process that made itself its run's subreaper (0: none). A forked
 * child (a job of the pool) is not it: it compares with getpid(). */
static pid_t subreaper;

/* Children this process spawned and reaps by pid itself (lab_spawn, the job
 * pool): never reaped by the walk. Pruned of the ones no longer our children. */
static pid_t *own;
static size_t nown, capown;

void orphans_own_child(pid_t pid)
{
	if (nown == capown) {
		capown = capown ? 2 * capown : 16;
		own = xrealloc(own, capown * sizeof *own);
	}
	own[nown++] = pid;
}

static bool is_own(pid_t pid)
{
	for (size_t i = 0; i < nown; i++)
		if (own[i] == pid)
			return true;
	return false;
}

/* Drops the registered pids that are not among kids (our current children,
 * zombies included): their owner has reaped them. */
static void prune_own(const pid_t *kids, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < nown; i++) {
		bool child = false;
		for (size_t k = 0; k < n && !child; k++)
			child = kids[k] == own[i];
		if (child)
			own[kept++] = own[i];
	}
	nown = kept;
}

int orphans_subreaper(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return -errno;
	subreaper = getpid();
	return 0;
}

static bool am_subreaper(void)
{
	return subreaper && subreaper == getpid();
}

bool lab_has_marker(pid_t pid, const char *run_id)
{
	char value[128];
	return tether_proc_environ_get(pid, LAB_ENV_RUN, value, sizeof value) == 1 && strcmp(value, run_id) == 0;
}

/* Is pid a descendant of this process (which is its run's subreaper)? */
static bool descends(pid_t pid)
{
	if (!am_subreaper())
		return false;
	for (int depth = 0; depth < 256 && pid > 1; depth++) {
		struct tether_procstat st;
		if (tether_proc_read_stat(pid, &st) < 0)
			return false;
		if (st.ppid == subreaper)
			return true;
		pid = st.ppid;
	}
	return false;
}

bool orphans_is_ours(pid_t pid, const char *run_id)
{
	return descends(pid) || lab_has_marker(pid, run_id);
}

struct scan {
	const char *run_id;
	pid_t self;
	pid_t first, last;   /* the run's pids are from first to last, around a wrap (first 0: any) */
	struct marked *list;
	size_t n;
};

/* The kernel's last pid given out, or 0 when unknown. */
static pid_t last_pid(void)
{
	char buf[128];
	size_t len = 0;
	if (tether_proc_read_file("/proc/loadavg", buf, sizeof buf, &len) < 0)
		return 0;
	buf[len < sizeof buf ? len : sizeof buf - 1] = '\0';
	const char *sp = strrchr(buf, ' ');
	return sp ? (pid_t)atoi(sp + 1) : 0;
}

static bool in_run(const struct scan *s, pid_t pid)
{
	if (!s->first || !s->last)
		return true;
	if (s->first <= s->last)
		return pid >= s->first && pid <= s->last;
	return pid >= s->first || pid <= s->last; /* wrapped around */
}

static bool listed(const struct scan *s, pid_t pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->list[i].pid == pid)
			return true;
	return false;
}

/* Adds pid (alive, not a zombie) with its spawn tag, or inherit when its
 * environment does not say. Returns the entry. */
static struct marked *add(struct scan *s, pid_t pid, const struct tether_procstat *st, const char *inherit)
{
	struct marked m = {.pid = pid, .pgid = st->pgid};
	snprintf(m.comm, sizeof m.comm, "%s", st->comm);
	if (tether_proc_environ_get(pid, LAB_ENV_SPAWN, m.spawn, sizeof m.spawn) != 1)
		snprintf(m.spawn, sizeof m.spawn, "%s", inherit);
	m.seq = m.spawn[0] != '?' ? (unsigned)strtoul(m.spawn, NULL, 10) : 0;
	xappend(&s->list, &s->n, &m, sizeof m);
	return &s->list[s->n - 1];
}

/* The descendants of pid, depth first; inherit: the spawn tag of pid. */
static void walk(struct scan *s, pid_t pid, const char *inherit, int depth)
{
	pid_t *kids = NULL;
	size_t n = 0;
	if (depth > 64 || tether_proc_children(pid, &kids, &n) < 0)
		return;
	if (pid == s->self)
		prune_own(kids, n);
	for (size_t i = 0; i < n; i++) {
		struct tether_procstat st;
		if (tether_proc_read_stat(kids[i], &st) < 0)
			continue;
		if (st.state == 'Z' || st.state == 'X') {
			/* an orphan that re-parented to us and died: ours to reap */
			if (pid == s->self && !is_own(kids[i])) {
				siginfo_t si;
				waitid(P_PID, (id_t)kids[i], &si, WEXITED | WNOHANG);
			}
			continue;
		}
		if (listed(s, kids[i]))
			continue;
		char tag[80];
		snprintf(tag, sizeof tag, "%s",
			 add(s, kids[i], &st, inherit ? inherit : "? (a descendant without the marker)")->spawn);
		walk(s, kids[i], tag[0] != '?' ? tag : inherit, depth + 1);
	}
	free(kids);
}

static int scan_one(pid_t pid, void *userdata)
{
	struct scan *s = userdata;
	if (!in_run(s, pid) || pid == s->self || listed(s, pid) || !lab_has_marker(pid, s->run_id))
		return 0;
	struct tether_procstat st;
	/* a zombie is dead already: only its parent's wait() is missing */
	if (tether_proc_read_stat(pid, &st) < 0 || st.state == 'Z' || st.state == 'X')
		return 0;
	add(s, pid, &st, "?");
	return 0;
}

static size_t scan(const char *run_id, pid_t first, bool markers, struct marked **ret)
{
	struct scan s = {.run_id = run_id, .self = getpid(), .first = first};
	if (am_subreaper()) {
		walk(&s, s.self, NULL, 0);
		s.first = subreaper;
	} else {
		markers = true;
	}
	if (markers) {
		s.last = s.first ? last_pid() : 0;
		(void)tether_proc_scan(scan_one, &s);
	}
	*ret = s.list;
	return s.n;
}

size_t orphans_scan(const char *run_id, struct marked **ret)
{
	return scan(run_id, 0, true, ret);
}

size_t orphans_scan_since(const char *run_id, pid_t first, struct marked **ret)
{
	return scan(run_id, first, true, ret);
}

size_t orphans_scan_tree(const char *run_id, struct marked **ret)
{
	return scan(run_id, 0, false, ret);
}

size_t orphans_kill(const char *run_id, const struct marked *m, size_t n, int **ret_fds)
{
	int *fds = NULL;
	size_t nfds = 0;
	for (size_t i = 0; i < n; i++) {
		int fd = pidfd_open(m[i].pid, 0);
		if (fd < 0)
			continue; /* gone already */
		if (!orphans_is_ours(m[i].pid, run_id)) {
			close(fd);
			continue;
		}
		if (pidfd_send_signal(fd, SIGKILL, NULL, 0) < 0) {
			close(fd);
			continue;
		}
		xappend(&fds, &nfds, &fd, sizeof fd);
	}
	*ret_fds = fds;
	return nfds;
}

/* Waits until every pidfd is readable (its process exited) or the deadline. */
static void wait_all(const int *fds, size_t n, int64_t deadline)
{
	struct pollfd *pfd = xcalloc(n ? n : 1, sizeof *pfd);
	for (size_t i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	size_t left = n;
	while (left > 0) {
		int64_t rem = deadline - lab_now();
		if (rem <= 0)
			break;
		struct timespec ts = {.tv_sec = rem / NS_PER_SEC, .tv_nsec = rem % NS_PER_SEC};
		if (ppoll(pfd, n, &ts, NULL) <= 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (pfd[i].fd >= 0 && pfd[i].revents) {
				pfd[i].fd = -1; /* poll ignores negative fds */
				left--;
			}
		}
	}
	free(pfd);
}

size_t orphans_wait_gone(const char *run_id, int64_t deadline, struct marked **ret)
{
	for (;;) {
		struct marked *m;
		size_t n = orphans_scan(run_id, &m);
		if (n == 0 || lab_now() >= deadline) {
			*ret = m;
			return n;
		}
		int *fds = xcalloc(n, sizeof *fds);
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			int fd = pidfd_open(m[i].pid, 0);
			if (fd >= 0)
				fds[k++] = fd;
		}
		free(m);
		wait_all(fds, k, deadline);
		for (size_t i = 0; i < k; i++)
			close(fds[i]);
		free(fds);
	}
}

size_t orphans_kill_all(const char *run_id, int64_t deadline)
{
	return orphans_kill_all_since(run_id, 0, deadline);
}

size_t orphans_kill_all_since(const char *run_id, pid_t first, int64_t deadline)
{
	for (;;) {
		struct marked *m;
		size_t n = orphans_scan_since(run_id, first, &m);
		if (n == 0 || lab_now() >= deadline) {
			free(m);
			return n;
		}
		int *fds;
		size_t nfds = orphans_kill(run_id, m, n, &fds);
		free(m);
		/* Rescan after they died: one may have forked between scan and kill. */
		wait_all(fds, nfds, deadline);
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		free(fds);
	}
}
