/* SPDX-License-Identifier: MIT */
/* soak_tether.c — one tether incarnation of the soak: its start, the control
 * client that drives its simulated clock, and its end (see soak.h).
 *
 * tether is our child, held by a pidfd from the fork on: every wait here
 * polls the pidfd next to whatever it waits for, so a tether that dies (a
 * give-up, a crash of tether itself) ends the wait at once instead of
 * running into its deadline. It runs (lab_spawn) in its own process group with
 * PR_SET_PDEATHSIG(SIGKILL): if the harness dies, so does tether, and its
 * guardians take the trees.
 *
 * Its processes carry a run marker of their own per incarnation
 * (TETHER_LAB_RUN, inherited by guardians and workers), so the orphan check
 * after a SIGKILL looks for exactly what that tether started.
 *
 * The control client makes one connection per question to tether's control
 * socket, found and verified by the library (tether_control_connect: the
 * listener's SO_PEERCRED must be our tether's pid); the answer is the one
 * message that comes back on it.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "common/common.h"
#include "pidfile.h"
#include "soak/soak.h"

/* How long anything may take in real time before it counts as a hang: a
 * settle is a few process starts and exits. */
#define QUERY_TIMEOUT_NS (10 * NS_PER_SEC)
/* Settles in a row that saw a note come meanwhile, before the soak says that
 * tether never settles: a few are a burst of exits; a thousand is a loop. */
#define SETTLE_ROUNDS_MAX 1000
/* G2: a tree must be gone this long after its supervisor's SIGKILL. */
#define ORPHAN_GRACE_NS (2 * NS_PER_SEC)

/* tether's command line: the soak's policy, and the worker behind a shell
 * that gives each instance its own ctl FIFO (the worker's --ctl does not
 * expand %i). --ctl before --ready: a worker is ready only once it listens,
 * so no command sent to a ready instance can find the FIFO without a reader.
 * Each worker leaves a double-forked, setsid() grandchild beside it (before
 * it opens the FIFO, so that the grandchild holds none of it): the tree that
 * G2 says must vanish is then more than one process that tether knows. */
static char **tether_argv(const struct soak *s, const char *isolation)
{
	const struct soak_params *p = &s->p;
	char **v = NULL;
	size_t n = 0;
#define ARG(...)                                                                                     \
	do {                                                                                         \
		char *a_ = xasprintf(__VA_ARGS__);                                                   \
		xappend(&v, &n, &a_, sizeof a_);                                                     \
	} while (0)
	ARG("%s", s->tether);
	ARG("run");
	if (!s->real)
		ARG("--sim-clock");
	ARG("--pidfile=%s/state/tether.pid", s->dir);
	ARG("--instances=%u", p->instances);
	ARG("--restart=on-failure");
	ARG("--backoff-initial=%lldms", (long long)p->backoff_initial);
	ARG("--backoff-max=%lldms", (long long)p->backoff_max);
	ARG("--crash-limit=%u", p->crash_limit);
	ARG("--crash-window=%lldms", (long long)p->crash_window);
	ARG("--watchdog=%lldms", (long long)p->watchdog);
	ARG("--notify-ready");
	ARG("--stop-timeout=%lldms", (long long)p->stop_timeout);
	ARG("--heartbeat-log=%s", s->journal_path);
	ARG("--heartbeat-interval=%lldms", (long long)p->heartbeat);
	ARG("--log-max-bytes=%llu", (unsigned long long)p->log_max_bytes);
	ARG("--log-keep=%u", p->log_keep);
	ARG("--min-disk=1");
	ARG("--min-mem=1");
	ARG("--isolation=%s", isolation);
	ARG("--");
	ARG("/bin/sh");
	ARG("-c");
	/* In a sanitizer build LeakSanitizer would replace the code of a worker's
	 * `exit N` with its own (and cannot run at all in a PID namespace): the
	 * worker is not what the soak checks. */
	ARG("w=$1; c=$2; shift 2; ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0; export ASAN_OPTIONS; "
	    "exec \"$w\" \"$@\" --ctl \"$c.$TETHER_INSTANCE\" --ready");
	ARG("soak-worker");
	ARG("%s", s->worker);
	ARG("%s/ctl", s->dir);
	ARG("--setsid-grandchild");
	if (s->real) {
		ARG("--pet");
		ARG("%lldms", (long long)(p->pet_every / 2 > 0 ? p->pet_every / 2 : 1));
	}
#undef ARG
	char *end = NULL;
	xappend(&v, &n, &end, sizeof end);
	return v;
}

pid_t soak_tether_spawn(const struct soak *s, const char *isolation, const char *run_id, const char *notify,
			const char *out, const char *err, int *ret_pidfd)
{
	/* Our environment but for the markers, sockets and fault settings of an
	 * enclosing lab run (lab_env_inherited), any LD_PRELOAD, and
	 * LSAN_OPTIONS, which gets the soak's suppressions: a sanitizer build
	 * of tether checks its leaks at exit (a give-up), and the names libfiu
	 * copies in fiu_enable are libfiu's to keep. */
	static const char *const drop[] = {"LD_PRELOAD=", NULL};
	char **base = lab_env_inherited(drop, NULL);
	const char *lsan = getenv("LSAN_OPTIONS");
	char *lsan_supp =
		xasprintf("LSAN_OPTIONS=%s%ssuppressions=%s/lsan.supp", lsan ? lsan : "", lsan && *lsan ? ":" : "", s->dir);
	/* ci/coverage: every tether of the soak ends by SIGKILL, which loses
	 * its coverage counters unless it writes them as it goes (fault.h) */
	const char *flush = getenv("TETHER_SOAK_FLUSH_COUNTERS");
	char *flush_env = flush && *flush ? xasprintf("TETHER_FAULT_FLUSH=%s", flush) : NULL;
	char *extra[] = {lsan_supp, flush_env, NULL};
	struct lab_env env;
	lab_env_make(&env, base, run_id, 0, NULL, notify, extra);
	char **argv = tether_argv(s, isolation);
	int ofd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int efd = open(err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (ofd < 0 || efd < 0)
		lab_die("soak: cannot open %s or %s: %s", out, err, strerror(errno));
	struct lab_spawn sp = {.argv = argv, .envp = env.envp, .out = ofd, .err = efd, .barrier = -1, .barrier_w = -1,
			       .errpipe = -1, .who = "harness soak"};
	pid_t pid;
	int r = lab_spawn(&sp, &pid, ret_pidfd);
	if (r < 0)
		lab_die("soak: fork: %s", strerror(-r));
	close(ofd);
	close(efd);
	lab_env_done(&env);
	lab_strv_free(argv);
	lab_strv_free(base);
	free(lsan_supp);
	free(flush_env);
	return pid;
}

/* Waits for one of fds (at most 4) to become readable until deadline (real
 * ns). Returns the index, or -1 at the deadline. */
int soak_wait_any(const int *fds, size_t n, int64_t deadline)
{
	struct pollfd pfd[4];
	if (n > 4)
		lab_die("soak: soak_wait_any takes at most 4 fds");
	for (size_t i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	for (;;) {
		int64_t left = deadline - lab_now();
		if (left <= 0)
			return -1;
		int r = poll(pfd, (nfds_t)n, (int)((left + NS_PER_MS - 1) / NS_PER_MS));
		if (r < 0 && errno != EINTR)
			lab_die("soak: poll: %s", strerror(errno));
		for (size_t i = 0; r > 0 && i < n; i++)
			if (pfd[i].revents)
				return (int)i;
	}
}

static void reap(struct soak_tether *t)
{
	if (t->reaped)
		return;
	siginfo_t si = {0};
	if (waitid(P_PID, (id_t)t->pid, &si, WEXITED) == 0) {
		t->reaped = true;
		t->exit_code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	}
}

static int control_open(struct soak_tether *t, const char *pidfile)
{
	char *lock = xasprintf("%s.lock", pidfile);
	struct stat st;
	int r = lstat(lock, &st);
	free(lock);
	if (r < 0)
		return -errno;
	t->lock_dev = st.st_dev;
	t->lock_ino = st.st_ino;
	return 0;
}

int soak_tether_query(struct soak *s, struct soak_tether *t, const char *req, struct tether_json **ret)
{
	*ret = NULL;
	if (t->reaped)
		return -ESRCH;
	int64_t deadline = lab_now() + QUERY_TIMEOUT_NS;
	/* one connection per question (control.h), to our tether's socket */
	int fd = tether_control_connect(t->pidfile, t->pid);
	if (fd < 0 || send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		int e = fd < 0 ? -fd : errno;
		if (fd >= 0)
			close(fd);
		/* its control socket is closed, which it does last before it
		 * exits */
		if (soak_wait_any(&t->pidfd, 1, deadline) == 0) {
			reap(t);
			return -ESRCH;
		}
		soak_fail(s, "cannot send \"%s\" to tether (pid %d): %s", req, (int)t->pid, strerror(e));
		return -EIO;
	}
	int fds[2] = {fd, t->pidfd};
	int rc;
	for (;;) {
		int which = soak_wait_any(fds, 2, deadline);
		if (which < 0) {
			soak_fail(s, "tether (pid %d) did not answer \"%s\" within %llds of real time", (int)t->pid, req,
				  (long long)(QUERY_TIMEOUT_NS / NS_PER_SEC));
			rc = -ETIMEDOUT;
			break;
		}
		if (which == 1) {
			reap(t);
			rc = -ESRCH;
			break;
		}
		ssize_t n = recv(fd, t->buf, TETHER_CONTROL_MAX_MSG, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			/* it closed the connection unanswered: it is exiting */
			if (soak_wait_any(&t->pidfd, 1, deadline) == 0) {
				reap(t);
				rc = -ESRCH;
				break;
			}
			soak_fail(s, "tether (pid %d) closed its control connection without exiting", (int)t->pid);
			rc = -EIO;
			break;
		}
		t->buf[n] = '\0';
		if (tether_json_parse(t->buf, (size_t)n, 16, ret) < 0) {
			soak_fail(s, "tether answered \"%s\" with malformed JSON: %.200s", req, t->buf);
			rc = -EPROTO;
			break;
		}
		rc = 0;
		/* tether closes the connection once it has answered: wait for
		 * that, so its descriptors are settled when the soak samples
		 * them next (G6 counts them) */
		struct pollfd eof = {.fd = fd, .events = POLLIN};
		char c;
		int64_t left;
		while ((left = deadline - lab_now()) > 0 && poll(&eof, 1, (int)((left + NS_PER_MS - 1) / NS_PER_MS)) > 0 &&
		       recv(fd, &c, 1, MSG_DONTWAIT) > 0)
			;
		if (tether_json_get(*ret, "error")) {
			const struct tether_json *e = tether_json_get(*ret, "error");
			soak_note(s, "tether refused \"%s\": %s", req, e->string ? e->string : "?");
			tether_json_free(*ret);
			*ret = NULL;
			rc = -EPROTO;
		}
		break;
	}
	close(fd);
	return rc;
}

static int64_t jint(const struct tether_json *j, const char *key, int64_t dflt)
{
	const struct tether_json *v = tether_json_get(j, key);
	return v && v->type == TETHER_JSON_NUMBER && v->is_int ? v->integer : dflt;
}

static void clock_from(const struct tether_json *j, struct soak_clock *c)
{
	c->now = jint(j, "now", 0);
	c->wall = jint(j, "wall", 0);
	c->next = jint(j, "next", INT64_MAX);
	c->notes = (uint64_t)jint(j, "notes", 0);
	c->signs = (uint64_t)jint(j, "signs", 0);
}

int soak_tether_clock(struct soak *s, struct soak_tether *t, struct soak_clock *ret)
{
	struct tether_json *j;
	int r = soak_tether_query(s, t, "clock", &j);
	if (r == 0) {
		clock_from(j, ret);
		tether_json_free(j);
	}
	return r;
}

/* An instance on its way somewhere: its next note is on its way too. A
 * supervisor that is stopping (it gave up) is on its way out: waiting for
 * one more note ends when it exits, so its end is seen at the virtual time
 * of the give-up, not after some later advance. */
static bool transitional(const struct tether_json *status)
{
	const struct tether_json *state = tether_json_get(status, "state");
	if (state && state->string && strcmp(state->string, "running") != 0)
		return true;
	const struct tether_json *ins = tether_json_get(status, "instances");
	for (size_t i = 0; ins && i < ins->count; i++) {
		const struct tether_json *st = tether_json_get(ins->items[i], "state");
		const char *v = st && st->string ? st->string : "";
		if (!strcmp(v, "starting") || !strcmp(v, "stopping") || !strcmp(v, "hung") || !strcmp(v, "exited"))
			return true;
	}
	return false;
}

int soak_tether_settle(struct soak *s, struct soak_tether *t, uint64_t notes, uint64_t signs, struct soak_clock *ret,
		       struct tether_json **ret_status)
{
	/* "settle G" waits for more than G notes: G = notes - 1 asks for none
	 * beyond those counted, only quiescence (and the signs). */
	uint64_t after = notes ? notes - 1 : 0;
	for (unsigned round = 0;; round++) {
		if (round == SETTLE_ROUNDS_MAX) {
			soak_fail(s, "tether never settles: %u settles in a row saw something happen meanwhile", round);
			return -ETIMEDOUT;
		}
		char req[80];
		struct tether_json *j, *status;
		snprintf(req, sizeof req, "settle %llu %llu", (unsigned long long)after, (unsigned long long)signs);
		int r = soak_tether_query(s, t, req, &j);
		if (r < 0)
			return r;
		clock_from(j, ret);
		tether_json_free(j);
		/* settle does not wait for an instance that is up but not yet
		 * ready, or stopping: the worker may never answer, and only the
		 * driver knows ours will. Ask for the next note then: the clock
		 * came first, so a note after it is still to come. */
		r = soak_tether_query(s, t, "status", &status);
		if (r < 0)
			return r;
		if (!transitional(status)) {
			/* The count again: a note may have come between the settle's
			 * answer and the status. Then the status may have been taken
			 * in the middle of what happened: in the very round that a
			 * worker's death made tether give up, before it began to stop
			 * (every other instance still "running", while their SIGTERM
			 * is on its way: the next command to one of them found no
			 * reader, ENXIO — seed 20261207, 20h50m41.913s). Only a
			 * status with no note since the settle's answer describes a
			 * quiescent tether: else settle again. */
			uint64_t settled_notes = ret->notes;
			r = soak_tether_clock(s, t, ret);
			if (r < 0) {
				tether_json_free(status);
				return r;
			}
			if (ret->notes == settled_notes) {
				*ret_status = status;
				return 0;
			}
			tether_json_free(status);
			after = ret->notes - 1; /* quiescence again, no more notes */
			continue;
		}
		tether_json_free(status);
		after = ret->notes;
	}
}

int soak_tether_advance(struct soak *s, struct soak_tether *t, int64_t to_ns)
{
	char req[64];
	struct tether_json *j;
	snprintf(req, sizeof req, "advance %lld", (long long)to_ns);
	int r = soak_tether_query(s, t, req, &j);
	tether_json_free(j);
	return r;
}

int soak_tether_fault(struct soak *s, struct soak_tether *t, const char *point, int err)
{
	char req[160];
	struct tether_json *j;
	if (err > 0)
		snprintf(req, sizeof req, "fault enable %s %d", point, err);
	else
		snprintf(req, sizeof req, "fault disable %s", point);
	int r = soak_tether_query(s, t, req, &j);
	tether_json_free(j);
	return r;
}

struct soak_tether *soak_tether_start(struct soak *s, unsigned n, const char *isolation)
{
	struct soak_tether *t = xcalloc(1, sizeof *t);
	t->n = n;
	t->notify = t->pidfd = -1;
	t->buf = xmalloc(TETHER_CONTROL_MAX_MSG + 1);
	snprintf(t->isolation, sizeof t->isolation, "%s", isolation);
	snprintf(t->run_id, sizeof t->run_id, "soak-%llu-%d-%u", (unsigned long long)s->seed, (int)getpid(), n);
	t->pidfile = xasprintf("%s/state/tether.pid", s->dir);
	/* Our NOTIFY_SOCKET for tether: its READY=1 says every instance is ready. */
	char name[108];
	t->notify = lab_notify_open("soak", t->run_id, 0, name, sizeof name);
	if (t->notify < 0)
		lab_die("soak: notify socket: %s", strerror(-t->notify));
	char *out = xasprintf("%s/tether.%u.out", s->dir, n), *err = xasprintf("%s/tether.%u.err", s->dir, n);
	t->pid = soak_tether_spawn(s, isolation, t->run_id, name, out, err, &t->pidfd);
	free(out);
	free(err);
	/* Ready: READY=1 on our socket (tether then holds the lock and listens). */
	int64_t deadline = lab_now() + QUERY_TIMEOUT_NS;
	int fds[2] = {t->notify, t->pidfd};
	for (bool ready = false; !ready;) {
		int which = soak_wait_any(fds, 2, deadline);
		if (which != 0) {
			if (which == 1)
				reap(t);
			soak_fail(s, "tether #%u (pid %d) %s before all instances were ready (see %s/tether.%u.err)", n,
				  (int)t->pid, which < 0 ? "took more than 10 s" : "exited", s->dir, n);
			soak_tether_kill(s, t, "failed start");
			return NULL;
		}
		char buf[512];
		ssize_t got;
		while ((got = recv(t->notify, buf, sizeof buf - 1, MSG_DONTWAIT)) > 0) {
			buf[got] = '\0';
			ready = ready || strstr(buf, "READY=1") != NULL;
		}
	}
	if (control_open(t, t->pidfile) < 0) {
		soak_fail(s, "tether #%u is ready but its lock file is missing", n);
		soak_tether_kill(s, t, "failed start");
		return NULL;
	}
	/* It took the pidfile over from whatever run came before (a SIGKILLed
	 * one left its record behind): the record names it now. */
	struct tether_pidrecord rec;
	int rr = tether_pidfile_read(t->pidfile, &rec);
	if (rr < 0 || rec.pid != t->pid)
		soak_fail(s, "tether #%u (pid %d) is ready but its pidfile %s %s", n, (int)t->pid, t->pidfile,
			  rr < 0 ? "cannot be read" : "names another pid");
	if (rr == 0)
		tether_pidrecord_done(&rec);
	if (s->real) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		t->base = lab_now();
		s->vnow = (t->base - s->wall_start) / NS_PER_MS;
		t->vstart = s->vnow;
		t->wall_offset_ms = ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000) - t->vstart;
		return t;
	}
	t->vstart = s->vnow;
	/* Nobody but us moves its clock: now is still its start. Journal "ts"
	 * is floor(wall / 1 ms), and every virtual time we reach is the start
	 * plus whole milliseconds, so "ts" - vms is one constant. */
	struct soak_clock c;
	struct tether_json *status = NULL;
	if (soak_tether_clock(s, t, &c) < 0 || soak_tether_settle(s, t, c.notes, c.signs, &c, &status) < 0) {
		soak_fail(s, "tether #%u does not answer its control socket", n);
		soak_tether_kill(s, t, "failed start");
		return NULL;
	}
	tether_json_free(status);
	t->base = c.now;
	t->wall_offset_ms = c.wall / NS_PER_MS - t->vstart;
	return t;
}

/* G2: everything that carries the run marker must be gone by deadline. */
static void check_orphans(struct soak *s, struct soak_tether *t, const char *why, int64_t since)
{
	struct marked *m;
	size_t n = orphans_wait_gone(t->run_id, since + ORPHAN_GRACE_NS, &m);
	if (n == 0) {
		int64_t took = lab_now() - since;
		if (took > s->g2_max_ns)
			s->g2_max_ns = took;
		return;
	}
	struct tether_buf b;
	tether_buf_init(&b);
	for (size_t i = 0; i < n && i < 8; i++)
		tether_buf_printf(&b, "%s%d (%s)", i ? ", " : "", (int)m[i].pid, m[i].comm);
	soak_fail(s, "G2: %zu process(es) of tether #%u (%s) alive 2 s after %s: %s", n, t->n, t->isolation, why,
		  b.data ? b.data : "");
	tether_buf_done(&b);
	s->orphans += (unsigned)n;
	free(m);
	orphans_kill_all(t->run_id, lab_now() + ORPHAN_GRACE_NS);
}

static void tether_free(struct soak_tether *t)
{
	if (t->notify >= 0)
		close(t->notify);
	if (t->pidfd >= 0)
		close(t->pidfd);
	free(t->pidfile);
	free(t->buf);
	free(t);
}

void soak_tether_kill(struct soak *s, struct soak_tether *t, const char *why)
{
	int64_t since = lab_now();
	if (!t->reaped) {
		pidfd_send_signal(t->pidfd, SIGKILL, NULL, 0);
		reap(t);
	}
	char what[96];
	snprintf(what, sizeof what, "the SIGKILL of tether (%s)", why);
	check_orphans(s, t, what, since);
	tether_free(t);
}

int soak_tether_reap(struct soak *s, struct soak_tether *t)
{
	reap(t);
	int code = t->exit_code;
	check_orphans(s, t, "tether's own exit", lab_now());
	tether_free(t);
	return code;
}
