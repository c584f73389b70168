/* SPDX-License-Identifier: MIT */
/* orphans.c — finding, awaiting and killing what a run left behind (a
 * scenario, a stress cycle, a soak incarnation), through /proc.
 *
 * Every process the lab starts carries its run's marker (TETHER_LAB_RUN=<run
 * id>, lab_env_make) in its environment, and everything they start inherits
 * it: tether passes its environment to its workers, and workers to their
 * children. So whatever still carries the marker after the run is an
 * orphan, whichever way it escaped (double fork, setsid, a new process
 * group). A process that scrubs its environment (env -i) would escape this
 * scan; none of the fixtures does.
 *
 * Killing is by pidfd, and only after the marker is read again *with the
 * pidfd held*: the pidfd pins one process, so if its pid was reused between
 * the scan and the kill, the new owner lacks the marker and is left alone.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "proc.h"

struct scan {
	const char *run_id;
	pid_t self;
	struct marked *list;
	size_t n;
};

bool lab_has_marker(pid_t pid, const char *run_id)
{
	char value[128];
	return tether_proc_environ_get(pid, LAB_ENV_RUN, value, sizeof value) == 1 && strcmp(value, run_id) == 0;
}

static int scan_one(pid_t pid, void *userdata)
{
	struct scan *s = userdata;
	if (pid == s->self || !lab_has_marker(pid, s->run_id))
		return 0;
	struct tether_procstat st;
	/* a zombie is dead already: only its parent's wait() is missing */
	if (tether_proc_read_stat(pid, &st) < 0 || st.state == 'Z' || st.state == 'X')
		return 0;
	struct marked m = {.pid = pid, .pgid = st.pgid};
	snprintf(m.comm, sizeof m.comm, "%s", st.comm);
	if (tether_proc_environ_get(pid, LAB_ENV_SPAWN, m.spawn, sizeof m.spawn) == 1)
		m.seq = (unsigned)strtoul(m.spawn, NULL, 10);
	else
		snprintf(m.spawn, sizeof m.spawn, "?");
	xappend(&s->list, &s->n, &m, sizeof m);
	return 0;
}

size_t orphans_scan(const char *run_id, struct marked **ret)
{
	struct scan s = {.run_id = run_id, .self = getpid()};
	(void)tether_proc_scan(scan_one, &s);
	*ret = s.list;
	return s.n;
}

size_t orphans_kill(const char *run_id, const struct marked *m, size_t n, int **ret_fds)
{
	int *fds = NULL;
	size_t nfds = 0;
	for (size_t i = 0; i < n; i++) {
		int fd = pidfd_open(m[i].pid, 0);
		if (fd < 0)
			continue; /* gone already */
		if (!lab_has_marker(m[i].pid, run_id)) {
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
	for (;;) {
		struct marked *m;
		size_t n = orphans_scan(run_id, &m);
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
