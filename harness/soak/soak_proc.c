/* SPDX-License-Identifier: MIT */
/* soak_proc.c — the processes around the soak's tether: commands to the
 * workers, floods from a neighbour, a guardian's death, a second supervisor
 * on the same pidfile, and the samples of tether's own footprint (see soak.h).
 *
 * Commands reach a worker through its ctl FIFO (fixtures/README.md), opened
 * for each command with O_NONBLOCK: with no reader the open fails (ENXIO)
 * instead of queueing a command for the next worker of that instance — a
 * `crash` meant for a dead worker must not kill its successor.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "proc.h"
#include "soak/soak.h"

#define CTL_TIMEOUT_NS (10 * NS_PER_SEC)
#define INTRUDER_TIMEOUT_NS (10 * NS_PER_SEC)
#define ORPHAN_GRACE_NS (2 * NS_PER_SEC)
/* More loop rounds than this between two samples is a busy loop: a sample
 * follows a handful of requests and worker messages. */
#define WAKEUPS_MAX 5000

int soak_worker_ctl(struct soak *s, unsigned i, const char *text, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/ctl.%u", s->dir, i);
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int64_t deadline = lab_now() + CTL_TIMEOUT_NS;
	size_t off = 0;
	int r = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			r = -errno; /* EPIPE: the worker went away (SIGPIPE is ignored) */
			break;
		}
		/* The FIFO is full: wait until the worker has read some. */
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int64_t left = deadline - lab_now();
		if (left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		poll(&p, 1, (int)(left / NS_PER_MS) + 1);
	}
	close(fd);
	return r;
}

unsigned soak_notify_fds(pid_t worker, unsigned n)
{
	char name[128];
	if (n == 0 || tether_proc_environ_get(worker, "NOTIFY_SOCKET", name, sizeof name) != 1 || name[0] != '@')
		return 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	if (len >= sizeof sa.sun_path)
		return 0;
	memcpy(sa.sun_path, name, len);
	sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Blocking sends, as sd_notify's: when tether's queue is full we wait
	 * for it to drain — but not forever. */
	struct timeval tv = {.tv_sec = 5};
	unsigned sent = 0;
	if (fd >= 0 && devnull >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0) {
		for (; sent < n; sent++) {
			static const char payload[] = "X_SOAK_FLOOD=1";
			union {
				char b[CMSG_SPACE(sizeof(int))];
				struct cmsghdr align;
			} cm;
			struct iovec iov = {.iov_base = (void *)payload, .iov_len = sizeof payload - 1};
			struct msghdr mh = {.msg_name = &sa,
					    .msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len),
					    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
					    .msg_controllen = sizeof cm.b};
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &devnull, sizeof devnull);
			if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
				break;
		}
	}
	if (fd >= 0)
		close(fd);
	if (devnull >= 0)
		close(devnull);
	return sent;
}

static pid_t parent_of(pid_t pid, char *comm, size_t len)
{
	struct tether_procstat st;
	if (tether_proc_read_stat(pid, &st) < 0)
		return -1;
	if (comm)
		snprintf(comm, len, "%s", st.comm);
	return st.ppid;
}

int soak_kill_guardian(struct soak *s, struct soak_tether *t, pid_t worker)
{
	/* Pin the guardian first, then check the family: the pidfd makes sure
	 * that what we checked is what we signal. Its tree (the worker and its
	 * grandchild) must follow it within 2 s: in a PID namespace the kernel
	 * kills it, else the worker's PDEATHSIG and tether's sweep of adopted
	 * orphans do. */
	pid_t guardian = parent_of(worker, NULL, 0);
	int gfd = guardian > 1 ? pidfd_open(guardian, 0) : -1;
	char comm[64] = "";
	int fds[4], r = 0;
	size_t nf = 0;
	pid_t *kids = NULL;
	size_t nk = 0;
	if (gfd < 0 || parent_of(worker, NULL, 0) != guardian || parent_of(guardian, comm, sizeof comm) != t->pid ||
	    strcmp(comm, "tether-guard") != 0 || tether_proc_children(guardian, &kids, &nk) < 0) {
		r = -ESRCH;
		goto out;
	}
	for (size_t k = 0; k < nk && nf < 4; k++)
		if ((fds[nf] = pidfd_open(kids[k], 0)) >= 0)
			nf++;
	int64_t since = lab_now();
	if (pidfd_send_signal(gfd, SIGKILL, NULL, 0) < 0) {
		r = -errno;
		goto out;
	}
	for (size_t k = 0; k < nf; k++) {
		if (soak_wait_any(&fds[k], 1, since + ORPHAN_GRACE_NS) < 0) {
			soak_fail(s, "G2: process %d of instance tree of worker %d outlived its guardian %d by 2 s (%s)",
				  (int)kids[k], (int)worker, (int)guardian, t->isolation);
			pidfd_send_signal(fds[k], SIGKILL, NULL, 0);
			s->orphans++;
		}
	}
	if (lab_now() - since > s->g2_max_ns)
		s->g2_max_ns = lab_now() - since;
out:
	for (size_t k = 0; k < nf; k++)
		close(fds[k]);
	free(kids);
	if (gfd >= 0)
		close(gfd);
	return r;
}

void soak_intruder(struct soak *s, struct soak_tether *t)
{
	static unsigned seq;
	char *out = xasprintf("%s/intruder.%u.out", s->dir, ++seq), *err = xasprintf("%s/intruder.%u.err", s->dir, seq);
	int pidfd;
	pid_t pid = soak_tether_spawn(s, t->isolation, t->run_id, NULL, out, err, &pidfd);
	if (soak_wait_any(&pidfd, 1, lab_now() + INTRUDER_TIMEOUT_NS) < 0) {
		soak_fail(s, "G1: a second tether on the pidfile of tether %d still runs after 10 s", (int)t->pid);
		pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	}
	siginfo_t si = {0};
	waitid(P_PID, (id_t)pid, &si, WEXITED);
	close(pidfd);
	size_t len;
	int e;
	char *text = lab_read_file(err, 65536, &len, &e);
	char want[64];
	snprintf(want, sizeof want, "already running (pid %d)", (int)t->pid);
	if (si.si_code != CLD_EXITED || si.si_status != 75 || !text || !strstr(text, want))
		soak_fail(s, "G1: a second tether on the pidfile exited %s%d (want 75 and \"%s\"): %s",
			  si.si_code == CLD_EXITED ? "" : "by signal ", si.si_status, want,
			  text ? lab_excerpt(text, 200) : "(no stderr)");
	else {
		unlink(out);
		unlink(err);
	}
	free(text);
	free(out);
	free(err);
}

/* G1 seen from the kernel: the flocks on the lock file are held by tether
 * alone. /proc/locks is no snapshot: it is produced a page per read() and
 * the list may change in between (this machine's other lock users), so one
 * lock can be listed twice, or not at all; distinct holders are what count,
 * and tether's own lock, when the list skipped it, is confirmed in tether's
 * descriptors (fdinfo's "lock:" lines, a look at one process). */
static void check_lock(struct soak *s, struct soak_tether *t)
{
	char *text;
	size_t len;
	int e;
	if (!(text = lab_read_file("/proc/locks", 1 << 22, &len, &e)))
		return;
	pid_t other = -1;
	bool ours = false;
	char **lines;
	size_t n = lab_split_lines(text, &lines);
	for (size_t i = 0; i < n; i++) {
		pid_t pid;
		if (tether_proc_parse_lock_line(lines[i], t->lock_dev, t->lock_ino, &pid) == 1) {
			if (pid == t->pid)
				ours = true;
			else
				other = pid;
		}
	}
	if (!ours && tether_proc_holds_flock(t->pid, t->lock_dev, t->lock_ino) == 1)
		ours = true;
	if (!ours || other >= 0)
		soak_fail(s, "G1: the lock of %s is %s (tether is %d)", t->pidfile,
			  other < 0 ? "held by nobody" : other == 0 ? "held by a process in another PID namespace"
							: "held by another process", (int)t->pid);
	free(lines);
	free(text);
}

static bool has_pid(const pid_t *list, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == pid)
			return true;
	return false;
}

/* The trees under tether's guardians are the running instances of status:
 * a guardian whose instance runs holds its worker and the worker's setsid()
 * grandchild, nothing else; one whose instance waits to restart holds
 * nothing (a restarted worker never meets leftovers of the previous one). */
static void check_workers(struct soak *s, struct soak_tether *t, const struct tether_json *status)
{
	pid_t *guardians = NULL, *running = NULL;
	size_t ng = 0, nr = 0, found = 0;
	if (tether_proc_children(t->pid, &guardians, &ng) < 0)
		return;
	const struct tether_json *ins = tether_json_get(status, "instances");
	for (size_t i = 0; ins && i < ins->count; i++) {
		const struct tether_json *st = tether_json_get(ins->items[i], "state");
		const struct tether_json *pid = tether_json_get(ins->items[i], "pid");
		if (st && st->string && !strcmp(st->string, "running") && pid && pid->is_int) {
			pid_t p = (pid_t)pid->integer;
			xappend(&running, &nr, &p, sizeof p);
		}
	}
	for (size_t g = 0; g < ng; g++) {
		pid_t *kids = NULL;
		size_t nk = 0, live = 0;
		bool runs = false;
		char comm[64];
		if (parent_of(guardians[g], comm, sizeof comm) != t->pid)
			continue; /* gone meanwhile */
		if (strcmp(comm, "tether-guard") != 0) {
			soak_fail(s, "tether has a child that is no guardian: %d (%s)", (int)guardians[g], comm);
			continue;
		}
		if (tether_proc_children(guardians[g], &kids, &nk) < 0)
			continue; /* gone meanwhile */
		for (size_t k = 0; k < nk; k++) {
			if (tether_proc_alive(kids[k]) != 1)
				continue;
			live++;
			if (has_pid(running, nr, kids[k])) {
				runs = true;
				found++;
			}
		}
		if (runs ? live != 2 : live != 0)
			soak_fail(s, "guardian %d holds %zu live process(es) while its instance %s (want %d)", (int)guardians[g],
				  live, runs ? "runs" : "waits to restart", runs ? 2 : 0);
		free(kids);
	}
	if (found != nr)
		soak_fail(s, "%zu of the %zu running instances of status have no worker under a guardian of tether",
			  nr - found, nr);
	free(guardians);
	free(running);
}

/* A "Key:   N kB" line of /proc/PID/status; false when absent. */
static bool status_kb(const char *text, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			char *end;
			unsigned long long v = strtoull(line + klen + 1, &end, 10);
			if (end == line + klen + 1)
				return false;
			*ret = v;
			return true;
		}
	}
	return false;
}

/* tether's memory from one read of /proc/PID/status: VmRSS, and what of it is
 * anonymous (RssAnon + RssShmem). G6 judges the anonymous part only: about
 * 90% of an idle tether's VmRSS are file pages (libc, libtether, libfiu),
 * faulted in by a code path's first run (a first give-up, rotation or
 * ENOSPC message) in steps of up to ~170 kB at any time of its life, and
 * reclaimed and faulted in again as the page cache pleases: no sign of
 * growth. A leak is anonymous memory. */
static int sample_memory(pid_t pid, uint64_t *ret_rss, uint64_t *ret_anon)
{
	char path[64];
	size_t len;
	int err;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	char *text = lab_read_file(path, 1 << 16, &len, &err);
	if (!text)
		return -err;
	uint64_t anon = 0, shmem = 0;
	bool ok = status_kb(text, "VmRSS", ret_rss) && status_kb(text, "RssAnon", &anon);
	status_kb(text, "RssShmem", &shmem);
	free(text);
	*ret_anon = anon + shmem;
	return ok ? 0 : -ENOENT;
}

void soak_tether_sample(struct soak *s, struct soak_tether *t, const struct tether_json *status, bool full)
{
	uint64_t rss = 0, anon = 0;
	int fds = tether_proc_count_fds(t->pid);
	if (sample_memory(t->pid, &rss, &anon) == 0 && fds >= 0) {
		struct soak_sample smp = {
			.vms = s->vnow, .incarnation = t->n, .rss_kb = rss, .anon_kb = anon, .fds = (unsigned)fds};
		xappend(&s->samples, &s->nsamples, &smp, sizeof smp);
	}
	const struct tether_json *w = tether_json_get(status, "wakeups");
	if (w && w->is_int) {
		uint64_t now = (uint64_t)w->integer;
		if (t->wakeups && now - t->wakeups > WAKEUPS_MAX)
			soak_fail(s, "tether's loop woke %llu times since the last sample: a busy loop",
				  (unsigned long long)(now - t->wakeups));
		t->wakeups = now;
	}
	if (full) {
		check_lock(s, t);
		check_workers(s, t, status);
	}
}
