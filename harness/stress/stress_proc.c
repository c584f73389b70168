/* SPDX-License-Identifier: MIT */
/* stress_proc.c — the processes `harness stress` starts, its waits, and the
 * checks of a supervisor's state (see stress.h).
 *
 * A spawned process is started by lab_spawn (common/spawn.c), as the
 * scenarios' are, in a leaner form since a stress run spawns tens of
 * thousands: stdout+stderr in one file of the work directory (truncated at
 * each spawn of that name), only the dispositions the harness itself sets
 * reset, the environment prepared once; the run marker and its spawn number
 * in its environment; and, for supervisors, a NOTIFY_SOCKET owned by the
 * harness (an abstract datagram socket), on which tether sends READY=1 once
 * all its instances are ready — the event a cycle waits for. Exec failure
 * shows as exit 127 with a line in its output.
 *
 * Each child is held by a pidfd opened right after fork (ours and unreaped,
 * its pid cannot have been reused), and every wait is one ppoll() over pidfds
 * and notify sockets with a deadline.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "common/common.h"
#include "pidfile.h"
#include "proc.h"
#include "stress/stress.h"

void stress_env_init(struct stress *st)
{
	st->base_env = lab_env_inherited(NULL, NULL);
}

void stress_env_free(struct stress *st)
{
	lab_strv_free(st->base_env);
	st->base_env = NULL;
}

int stress_proc_spawn(struct stress *st, struct stress_proc *p, const struct stress_spawn *req)
{
	*p = (struct stress_proc){.pidfd = -1, .notify_fd = -1, .code = -1, .lock_fd = -1};
	snprintf(p->name, sizeof p->name, "%s", req->name);
	unsigned seq = ++st->next_seq;
	char notify[108] = "";
	if (req->notify) {
		p->notify_fd = lab_notify_open("stress", st->run_id, seq, notify, sizeof notify);
		if (p->notify_fd < 0) {
			stress_fail(st, "%s: cannot create its NOTIFY_SOCKET: %s", p->name, strerror(-p->notify_fd));
			return -1;
		}
	}
	p->out_path = xasprintf("%s/%s.out", st->workdir, req->name);
	/* the environment: ours (prepared once) + marker + spawn number + socket + extra */
	struct lab_env env;
	lab_env_make(&env, st->base_env, st->run_id, seq, req->name, req->notify ? notify : NULL, req->env);
	int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	int rc = -1;
	if (out < 0) {
		stress_fail(st, "%s: cannot open %s: %s", p->name, p->out_path, strerror(errno));
		goto out;
	}
	struct lab_spawn sp = {.argv = req->argv, .envp = env.envp, .out = out, .err = out, .barrier = req->barrier,
			       .barrier_w = req->barrier_w, .errpipe = -1, .who = "harness stress"};
	p->t_spawn = lab_now();
	int r = lab_spawn(&sp, &p->pid, &p->pidfd);
	if (r < 0) {
		stress_fail(st, "%s: cannot fork: %s", p->name, strerror(-r));
		goto out;
	}
	rc = 0;
out:
	if (out >= 0)
		close(out);
	lab_env_done(&env);
	if (rc < 0 && p->notify_fd >= 0) {
		close(p->notify_fd);
		p->notify_fd = -1;
	}
	return rc;
}

static void drain_notify(struct stress_proc *p, int64_t now)
{
	if (p->notify_fd < 0)
		return;
	char buf[4097];
	while (lab_recv_notify(p->notify_fd, buf, sizeof buf) >= 0)
		for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (strcmp(l, "READY=1") == 0 && !p->ready) {
				p->ready = true;
				p->t_ready = now;
			}
}

static bool reap(struct stress_proc *p, int64_t now)
{
	if (p->exited || p->pidfd < 0)
		return false;
	siginfo_t si = {0};
	/* P_PID is safe: the child is ours and unreaped, its pid cannot be reused */
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return false;
	p->exited = true;
	p->t_exit = now;
	if (si.si_code == CLD_EXITED) {
		p->code = si.si_status;
	} else {
		p->code = -1;
		p->sig = si.si_status;
	}
	close(p->pidfd);
	p->pidfd = -1;
	return true;
}

int stress_proc_wait(struct stress *st, struct stress_proc *const *ps, size_t n, int64_t deadline)
{
	struct pollfd stackfds[16], *pfd = n * 2 <= 16 ? stackfds : xcalloc(n * 2, sizeof *pfd);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct stress_proc *p = ps[i];
		pfd[k++] = (struct pollfd){.fd = p->exited ? -1 : p->pidfd, .events = POLLIN};
		pfd[k++] = (struct pollfd){.fd = p->ready ? -1 : p->notify_fd, .events = POLLIN};
	}
	int r = 0;
	for (;;) {
		int64_t left = deadline - lab_now();
		if (left <= 0 || st->interrupted)
			break;
		struct timespec ts = {.tv_sec = left / NS_PER_SEC, .tv_nsec = left % NS_PER_SEC};
		int got = ppoll(pfd, k, &ts, NULL);
		if (got > 0) {
			r = 1;
			break;
		}
		if (got < 0 && errno != EINTR)
			lab_die("ppoll: %s", strerror(errno));
	}
	if (r) {
		/* the notify socket first: a READY=1 sent just before exiting still counts */
		int64_t now = lab_now();
		for (size_t i = 0; i < n; i++) {
			if (pfd[2 * i + 1].revents)
				drain_notify(ps[i], now);
			if (pfd[2 * i].revents && reap(ps[i], now))
				drain_notify(ps[i], now);
		}
	}
	if (pfd != stackfds)
		free(pfd);
	return r;
}

bool stress_proc_wait_exit(struct stress *st, struct stress_proc *p, int64_t deadline)
{
	struct stress_proc *one[1] = {p};
	while (!p->exited && stress_proc_wait(st, one, 1, deadline))
		;
	return p->exited;
}

int stress_proc_signal(struct stress_proc *p, int sig)
{
	if (p->exited || p->pidfd < 0)
		return -ESRCH;
	return pidfd_send_signal(p->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

char *stress_proc_output(const struct stress_proc *p)
{
	size_t len;
	int err;
	char *text = p->out_path ? lab_read_file(p->out_path, 1 << 16, &len, &err) : NULL;
	if (!text || !*text) {
		free(text);
		return xstrdup("(no output)");
	}
	/* the last three lines, joined: the message that matters is at the end */
	char **lines;
	size_t n = lab_split_lines(text, &lines);
	struct tether_buf b;
	tether_buf_init(&b);
	for (size_t i = n > 3 ? n - 3 : 0; i < n; i++)
		tether_buf_printf(&b, "%s%s", b.len ? " | " : "", lines[i]);
	free(lines);
	free(text);
	char *s = lab_excerpt(b.data ? b.data : "", 400);
	tether_buf_done(&b);
	return s;
}

bool stress_proc_output_has(const struct stress_proc *p, const char *needle)
{
	size_t len;
	int err;
	char *text = p->out_path ? lab_read_file(p->out_path, 1 << 16, &len, &err) : NULL;
	bool has = text && strstr(text, needle);
	free(text);
	return has;
}

void stress_proc_release(struct stress_proc *p)
{
	if (!p->exited && p->pidfd >= 0) {
		pidfd_send_signal(p->pidfd, SIGKILL, NULL, 0);
		siginfo_t si;
		while (waitid(P_PID, (id_t)p->pid, &si, WEXITED) < 0 && errno == EINTR)
			;
		p->exited = true;
		p->code = -1;
		p->sig = SIGKILL;
	}
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->notify_fd >= 0)
		close(p->notify_fd);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->pidfd = p->notify_fd = p->lock_fd = -1;
	free(p->out_path);
	p->out_path = NULL;
}

const char *stress_proc_outcome(const struct stress_proc *p, char *buf, size_t len)
{
	if (!p->exited)
		snprintf(buf, len, "still running");
	else if (p->code >= 0)
		snprintf(buf, len, "exit %d", p->code);
	else
		snprintf(buf, len, "signal %s", lab_signal_name(p->sig));
	return buf;
}

/* ---- checks --------------------------------------------------------------------------- */

/* Does pid hold an exclusive flock on (dev, ino)? Read from its
 * /proc/PID/fdinfo "lock:" lines, which the kernel prints under the file's
 * own lock, unlike /proc/locks (which takes file_rwsem for writing and waits
 * for an RCU grace period, ~10 ms here). */
static bool holds_flock(pid_t pid, dev_t dev, ino_t ino)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%d/fdinfo", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool held = false;
	struct dirent *e;
	while (!held && (e = readdir(d))) {
		char path[400], buf[4096];
		size_t len;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (tether_proc_read_file(path, buf, sizeof buf, &len) < 0)
			continue;
		for (char *l = strstr(buf, "\nlock:\t"); l && !held; l = strstr(l + 1, "\nlock:\t")) {
			char line[256];
			size_t n = strcspn(l + 7, "\n");
			snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), l + 7);
			pid_t who;
			held = tether_proc_parse_lock_line(line, dev, ino, &who) == 1 && strstr(line, " WRITE ");
		}
	}
	closedir(d);
	return held;
}

/* The record is complete and describes p: pid, start time, boot. */
static int check_record(struct stress *st, const char *what, const struct stress_proc *p, const char *pidfile)
{
	struct tether_pidrecord rec;
	int r = tether_pidfile_read(pidfile, &rec);
	if (r < 0) {
		stress_fail(st, "%s: the pidfile is not a complete record: %s", what, strerror(-r));
		return -1;
	}
	char boot[TETHER_BOOT_ID_LEN + 1] = "";
	struct tether_procstat ps;
	tether_proc_boot_id(boot);
	int rc = 0;
	if (rec.legacy || rec.pid != p->pid || tether_proc_read_stat(p->pid, &ps) < 0 ||
	    ps.start_time != rec.start_time || strcmp(rec.boot_id, boot) != 0) {
		stress_fail(st, "%s: the record names pid %d (start time %llu, boot %s), not our tether %d", what,
			    (int)rec.pid, (unsigned long long)rec.start_time, rec.boot_id, (int)p->pid);
		rc = -1;
	}
	tether_pidrecord_done(&rec);
	return rc;
}

/* A live process of this run: it carries the run's marker, or it descends
 * from the tether under test. The second covers a worker whose exec is
 * still in progress: the kernel closes the exec's close-on-exec descriptors
 * (the error pipe's end of file, which tether takes for "exec succeeded" and,
 * without --notify-ready, for ready) before it sets up the environment that
 * /proc/PID/environ shows, so a read right after that can find it empty
 * (seen once in a thousand cycles on a loaded machine). */
static bool of_this_run(struct stress *st, pid_t pid, pid_t tether)
{
	if (lab_has_marker(pid, st->run_id))
		return true;
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		struct tether_procstat ps;
		if (tether_proc_read_stat(pid, &ps) < 0 || ps.state == 'Z' || ps.state == 'X')
			return false;
		if (ps.ppid == tether)
			return true;
		pid = ps.ppid;
	}
	return false;
}

int stress_check_running(struct stress *st, const char *what, struct stress_proc *p, const char *pidfile,
			 unsigned instances, bool probe)
{
	int rc = 0;
	char lock[4096];
	struct stat ls;
	snprintf(lock, sizeof lock, "%s.lock", pidfile);
	if (p->lock_fd < 0 && (p->lock_fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0 &&
	    fstat(p->lock_fd, &ls) == 0) {
		p->lock_dev = ls.st_dev;
		p->lock_ino = ls.st_ino;
	}
	if (probe) {
		/* the library's own verdict: record, its pid's fdinfo for the lock
		 * (/proc/locks only when no record names one), identity */
		struct tether_pidfile_probe pr;
		int r = tether_pidfile_probe(pidfile, &pr);
		if (r < 0) {
			stress_fail(st, "%s: cannot probe %s: %s", what, pidfile, strerror(-r));
			return -1;
		}
		if (pr.state != TETHER_PIDFILE_RUNNING)
			rc = -1, stress_fail(st, "%s: pidfile state is %s, expected running (%s)", what,
					      tether_pidfile_state_name(pr.state), pr.why);
		else if (pr.lock_pid != p->pid || pr.rec.pid != p->pid)
			rc = -1, stress_fail(st, "%s: the lock is held by pid %d and the record names %d, expected %d",
					      what, (int)pr.lock_pid, (int)pr.rec.pid, (int)p->pid);
		tether_pidfile_probe_done(&pr);
	} else {
		/* the same facts, asked independently of the library: an
		 * exclusive flock held by our tether on the inode PATH.lock names
		 * (so nobody else holds it), and a complete record that describes it */
		if (p->lock_fd < 0 || !holds_flock(p->pid, p->lock_dev, p->lock_ino))
			rc = -1, stress_fail(st, "%s: tether (pid %d) does not hold the lock of %s", what, (int)p->pid,
					      lock);
		else if (check_record(st, what, p, pidfile) < 0)
			rc = -1;
	}
	if (rc < 0)
		return rc;

	/* the instances, as the supervisor itself reports them */
	struct tether_json *j = NULL;
	int r = tether_control_query(pidfile, "status", tether_clock_real(), 2 * TETHER_NSEC_PER_SEC, &j);
	if (r < 0) {
		stress_fail(st, "%s: control socket status query failed: %s", what, strerror(-r));
		return -1;
	}
	const struct tether_json *ins = tether_json_get(j, "instances");
	size_t running = 0;
	for (size_t i = 0; ins && ins->type == TETHER_JSON_ARRAY && i < ins->count; i++) {
		const struct tether_json *state = tether_json_get(ins->items[i], "state");
		const struct tether_json *pid = tether_json_get(ins->items[i], "pid");
		if (!state || state->type != TETHER_JSON_STRING || strcmp(state->string, "running") != 0 || !pid ||
		    !pid->is_int || pid->integer <= 1)
			continue;
		/* a live process of this run, not a stale number */
		if (!orphans_is_ours((pid_t)pid->integer, st->run_id) && !of_this_run(st, (pid_t)pid->integer, p->pid)) {
			stress_fail(st, "%s: instance %zu reports pid %lld, which is not a live process of this run", what,
				    i, (long long)pid->integer);
			rc = -1;
			continue;
		}
		running++;
	}
	if (rc == 0 && running != instances) {
		struct tether_buf b;
		tether_buf_init(&b);
		tether_json_render(j, &b);
		char *ex = lab_excerpt(b.data ? b.data : "", 300);
		stress_fail(st, "%s: %zu of %u instances running: %s", what, running, instances, ex);
		free(ex);
		tether_buf_done(&b);
		rc = -1;
	}
	tether_json_free(j);
	return rc;
}

int stress_check_clean(struct stress *st, const char *what, const char *pidfile, struct stress_proc *p)
{
	static const char *const suffixes[] = {"", ".tmp", ".lock"};
	int rc = 0;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char path[4096], held[64] = "";
		struct stat s;
		snprintf(path, sizeof path, "%s%s", pidfile, suffixes[i]);
		if (lstat(path, &s) < 0)
			continue;
		pid_t holder = 0;
		if (i == 2 && tether_proc_lock_holder(s.st_dev, s.st_ino, &holder) == 1)
			snprintf(held, sizeof held, " and is locked by pid %d", (int)holder);
		stress_fail(st, "%s: %s remains%s", what, path, held);
		rc = -1;
	}
	/* The lock file is unlinked while locked: a process that kept (or
	 * reopened) it would still hold the lock, invisible by path. Asked
	 * through our own fd on that inode: a try-lock, released at once. */
	struct stress_proc *mp = p;
	struct stat s;
	char lock[4096];
	snprintf(lock, sizeof lock, "%s.lock", pidfile);
	bool reported = lstat(lock, &s) == 0 && mp && s.st_ino == mp->lock_ino && s.st_dev == mp->lock_dev;
	if (mp && mp->lock_fd >= 0 && !reported) {
		if (flock(mp->lock_fd, LOCK_EX | LOCK_NB) == 0) {
			flock(mp->lock_fd, LOCK_UN);
		} else {
			pid_t holder = 0;
			tether_proc_lock_holder(mp->lock_dev, mp->lock_ino, &holder);
			stress_fail(st, "%s: the lock of %s (inode %llu, now unlinked) is still held by pid %d", what,
				    pidfile, (unsigned long long)mp->lock_ino, (int)holder);
			rc = -1;
		}
	}
	if (mp && mp->lock_fd >= 0) {
		close(mp->lock_fd);
		mp->lock_fd = -1;
	}
	return rc;
}

size_t stress_check_orphans(struct stress *st, const char *what, int64_t grace, int64_t *ret_wait)
{
	int64_t t0 = lab_now();
	struct marked *m;
	size_t n = orphans_wait_gone(st->run_id, t0 + grace, &m);
	if (ret_wait)
		*ret_wait = lab_now() - t0;
	if (n > 0) {
		struct tether_buf b;
		tether_buf_init(&b);
		for (size_t i = 0; i < n && i < 8; i++)
			tether_buf_printf(&b, "%spid %d (%s, from spawn %s)", i ? ", " : "", (int)m[i].pid, m[i].comm,
					  m[i].spawn);
		char g[32];
		stress_fail(st, "%s: %zu orphan%s alive after %s: %s%s; killed", what, n, n == 1 ? "" : "s",
			    lab_fmt_ns(grace, g, sizeof g), b.data ? b.data : "", n > 8 ? ", ..." : "");
		tether_buf_done(&b);
		orphans_kill_all(st->run_id, lab_now() + 5 * NS_PER_SEC);
	}
	free(m);
	return n;
}
