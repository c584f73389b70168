/* SPDX-License-Identifier: MIT */
/* stress_cycle.c — one cycle of `harness stress` (see stress.h).
 *
 * A cycle starts a fresh `tether run --pidfile P --min-mem 0 [--instances K]
 * -- worker` (a new supervisor every time, on the same pidfile), waits for the
 * READY=1 it sends on our NOTIFY_SOCKET once every instance is ready, checks
 * the running state (one lock holder, its complete record, K instances
 * running per its control socket), samples its fd count and VmRSS, stops it
 * (SIGTERM, or `tether stop`, as the plan drew) and waits for it to be gone
 * (pidfd), then checks the end state: exit 0, stop's exit 0, no pidfile, temp
 * or lock file, no lock held, and no process of the run left (orphans).
 *
 * Times (CLOCK_MONOTONIC, as bench/anchors/src/cycle.c defines a cycle):
 *   up   = fork of tether -> READY=1 received
 *   down = SIGTERM sent (or `tether stop` forked) -> tether reaped and, for
 *          `tether stop`, the command returned
 *   cycle = up + down; the checks in between are not counted.
 *
 * With a fault (stress_faults.c), the cycle checks what that fault must lead
 * to instead; a failed cycle is cleaned up (its processes killed, its files
 * removed) so the next one starts from nothing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "control.h"
#include "common/common.h"
#include "pidfile.h"
#include "proc.h"
#include "stress/stress.h"

#define READY_TIMEOUT (10 * NS_PER_SEC)
#define GONE_TIMEOUT (20 * NS_PER_SEC) /* above `tether stop`'s own 10 s */
#define ORPHAN_GRACE (2 * NS_PER_SEC)  /* G2's bound */
/* Cycles that check the running state with the library's own
 * tether_pidfile_probe rather than the harness's independent reading of the
 * record and /proc/PID/fdinfo (stress_check_running). */
#define PROBE_EVERY 100

struct cycle {
	struct stress *st;
	unsigned i;
	const struct stress_plan *pl;
	char what[200];
	char pidfile[PATH_MAX];
	char report[PATH_MAX]; /* TETHER_FAULT_REPORT */
	struct stress_proc run, stop;
	bool have_stop;
	int64_t up, down;
};

static void free_env(char **env, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	free(env);
}

/* Spawns `tether run` with the fault of plan pl (STRESS_FAULT_NONE for none). */
static int start(struct cycle *c, const struct stress_plan *pl)
{
	struct stress *st = c->st;
	char inst[16];
	snprintf(inst, sizeof inst, "%u", st->instances);
	const char *argv[16];
	size_t k = 0;
	argv[k++] = st->tether;
	argv[k++] = "run";
	argv[k++] = "--pidfile";
	argv[k++] = c->pidfile;
	argv[k++] = "--min-mem";
	argv[k++] = "0";
	if (st->instances != 1) {
		argv[k++] = "--instances";
		argv[k++] = inst;
	}
	if (pl->fault == STRESS_FAULT_EAGAIN) {
		argv[k++] = "--backoff-initial";
		argv[k++] = STRESS_EAGAIN_BACKOFF_ARG;
	}
	argv[k++] = "--";
	argv[k++] = st->worker;
	argv[k] = NULL;
	char **env = NULL;
	size_t nenv = 0;
	stress_fault_env(pl, c->report, &env, &nenv);
	char *null = NULL;
	if (env)
		xappend(&env, &nenv, &null, sizeof null);
	struct stress_spawn req = {.name = "run", .argv = (char *const *)argv, .env = env, .notify = true,
				   .barrier = -1, .barrier_w = -1};
	int r = stress_proc_spawn(st, &c->run, &req);
	free_env(env, nenv);
	return r;
}

/* Waits for READY=1 or an exit, up to deadline: true once ready. */
static bool wait_ready(struct cycle *c, int64_t deadline)
{
	struct stress_proc *one[1] = {&c->run};
	while (!c->run.ready && !c->run.exited && stress_proc_wait(c->st, one, 1, deadline))
		;
	return c->run.ready;
}

static void fail_proc(struct cycle *c, const char *expected, const struct stress_proc *p)
{
	char o[48];
	char *out = stress_proc_output(p);
	stress_fail(c->st, "%s: expected %s of %s, got %s; output: %s", c->what, expected, p->name,
		    stress_proc_outcome(p, o, sizeof o), out);
	free(out);
}

/* Stops the running supervisor as the plan says and waits until it is gone. */
static int stop(struct cycle *c, const struct stress_plan *pl)
{
	struct stress *st = c->st;
	int64_t t2 = lab_now();
	if (pl->stop_cmd) {
		const char *argv[] = {st->tether, "stop", "--pidfile", c->pidfile, NULL};
		/* under eintr the stop command gets the same injections */
		char **env = NULL;
		size_t nenv = 0;
		if (pl->fault == STRESS_FAULT_EINTR)
			stress_fault_env(pl, c->report, &env, &nenv);
		char *null = NULL;
		if (env)
			xappend(&env, &nenv, &null, sizeof null);
		struct stress_spawn req = {.name = "stop", .argv = (char *const *)argv, .env = env, .barrier = -1,
					   .barrier_w = -1};
		int r = stress_proc_spawn(st, &c->stop, &req);
		free_env(env, nenv);
		if (r < 0)
			return -1;
		c->have_stop = true;
		t2 = c->stop.t_spawn;
	} else if (stress_proc_signal(&c->run, SIGTERM) < 0) {
		stress_fail(st, "%s: cannot send SIGTERM to tether (pid %d): %s", c->what, (int)c->run.pid,
			    strerror(errno));
		return -1;
	}
	struct stress_proc *both[2] = {&c->run, &c->stop};
	size_t n = c->have_stop ? 2 : 1;
	int64_t deadline = t2 + GONE_TIMEOUT;
	while (!(c->run.exited && (!c->have_stop || c->stop.exited)) && stress_proc_wait(st, both, n, deadline))
		;
	int rc = 0;
	if (!c->run.exited || c->run.code != 0) {
		fail_proc(c, "exit 0", &c->run);
		rc = -1;
	}
	if (c->have_stop && (!c->stop.exited || c->stop.code != 0)) {
		fail_proc(c, "exit 0", &c->stop);
		rc = -1;
	}
	if (rc == 0) {
		int64_t gone = c->run.t_exit;
		if (c->have_stop && c->stop.t_exit > gone)
			gone = c->stop.t_exit;
		c->down = gone - t2;
	}
	return rc;
}

/* The end state of a supervisor that is gone. */
static int end_checks(struct cycle *c, int64_t grace)
{
	int rc = stress_check_clean(c->st, c->what, c->pidfile, &c->run);
	if (stress_check_orphans(c->st, c->what, grace, NULL) > 0)
		rc = -1;
	return rc;
}

/* After a failure: nothing of this cycle may disturb the next. */
static void reset(struct cycle *c)
{
	stress_proc_release(&c->run);
	if (c->have_stop)
		stress_proc_release(&c->stop);
	c->have_stop = false;
	orphans_kill_all(c->st->run_id, lab_now() + 5 * NS_PER_SEC);
	static const char *const suffixes[] = {"", ".tmp", ".lock"};
	for (size_t i = 0; i < 3; i++) {
		char path[PATH_MAX + 8];
		snprintf(path, sizeof path, "%s%s", c->pidfile, suffixes[i]);
		unlink(path);
	}
	unlink(c->report);
}

static void release(struct cycle *c)
{
	stress_proc_release(&c->run);
	if (c->have_stop)
		stress_proc_release(&c->stop);
	c->have_stop = false;
}

/* start -> ready -> checks -> stop -> gone -> checks, with pl's fault (none,
 * eintr or eagain). sample: record fds and RSS before the stop. */
static int plain_cycle(struct cycle *c, const struct stress_plan *pl, bool sample)
{
	struct stress *st = c->st;
	if (start(c, pl) < 0)
		return -1;
	if (!wait_ready(c, c->run.t_spawn + READY_TIMEOUT)) {
		fail_proc(c, "READY=1 within 10s", &c->run);
		return -1;
	}
	c->up = c->run.t_ready - c->run.t_spawn;
	int rc = stress_check_running(st, c->what, &c->run, c->pidfile, st->instances, c->i % PROBE_EVERY == 0);
	if (pl->fault == STRESS_FAULT_EAGAIN) {
		/* the fault fired, and cost a failed start with its backoff */
		char *fired = lab_read_file(c->report, 4096, &(size_t){0}, &(int){0});
		if (!fired || !strstr(fired, "fired tether/sys/fork"))
			rc = -1, stress_fail(st, "%s: the fork fault never fired (nothing in %s)", c->what, c->report);
		free(fired);
		struct tether_json *j = NULL;
		const struct tether_json *rt = NULL;
		if (tether_control_query(c->pidfile, "status", tether_clock_real(), 2 * TETHER_NSEC_PER_SEC, &j) == 0)
			rt = tether_json_get(j, "restarts_total");
		if (!rt || !rt->is_int || rt->integer < 1)
			rc = -1, stress_fail(st, "%s: after a failed fork, restarts_total should be >= 1", c->what);
		tether_json_free(j);
		if (c->up < STRESS_EAGAIN_BACKOFF_MS * NS_PER_MS)
			rc = -1, stress_fail(st, "%s: ready after %.3fms, before the %dms backoff", c->what,
					     (double)c->up / 1e6, STRESS_EAGAIN_BACKOFF_MS);
	}
	if (sample && rc == 0) {
		int fds = tether_proc_count_fds(c->run.pid);
		uint64_t rss = 0;
		tether_proc_rss_kb(c->run.pid, &rss);
		st->fds[st->nsample] = fds;
		st->rss[st->nsample] = (int64_t)rss;
		st->nsample++;
	}
	if (stop(c, pl) < 0)
		rc = -1;
	if (end_checks(c, ORPHAN_GRACE) < 0)
		rc = -1;
	return rc;
}

static int enospc_cycle(struct cycle *c)
{
	struct stress *st = c->st;
	if (start(c, c->pl) < 0)
		return -1;
	int rc = 0;
	if (!stress_proc_wait_exit(st, &c->run, c->run.t_spawn + READY_TIMEOUT) || c->run.code != 73) {
		fail_proc(c, "exit 73", &c->run);
		rc = -1;
	} else if (!stress_proc_output_has(&c->run, "No space left on device")) {
		fail_proc(c, "the message \"No space left on device\"", &c->run);
		rc = -1;
	}
	if (c->run.ready)
		rc = -1, stress_fail(st, "%s: a start that failed sent READY=1", c->what);
	char *fired = lab_read_file(c->report, 4096, &(size_t){0}, &(int){0});
	if (!fired || !strstr(fired, "fired tether/sys/write"))
		rc = -1, stress_fail(st, "%s: the write fault never fired", c->what);
	free(fired);
	unlink(c->report);
	/* a failed start leaves nothing behind (G3) */
	if (end_checks(c, ORPHAN_GRACE) < 0)
		rc = -1;
	return rc;
}

/* Does anybody hold the lock of pidfile? A try-lock (released at once) on
 * its lock file, when there is one: nothing else may be running now. */
static bool lock_taken(const char *pidfile)
{
	char lock[PATH_MAX + 8];
	snprintf(lock, sizeof lock, "%s.lock", pidfile);
	int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	bool taken = flock(fd, LOCK_EX | LOCK_NB) < 0;
	close(fd);
	return taken;
}

static int sigkill_cycle(struct cycle *c, const struct stress_plan *pl)
{
	struct stress *st = c->st;
	struct stress_plan none = *pl;
	none.fault = STRESS_FAULT_NONE;
	if (start(c, &none) < 0)
		return -1;
	int rc = 0;
	if (pl->kill_early) {
		/* a timed wait for the drawn moment, still watching the process */
		struct stress_proc *one[1] = {&c->run};
		int64_t at = c->run.t_spawn + pl->kill_delay;
		while (!c->run.exited && stress_proc_wait(st, one, 1, at))
			;
	} else if (!wait_ready(c, c->run.t_spawn + READY_TIMEOUT)) {
		fail_proc(c, "READY=1 within 10s", &c->run);
		return -1;
	} else if (stress_check_running(st, c->what, &c->run, c->pidfile, st->instances, c->i % PROBE_EVERY == 0) <
		   0) {
		rc = -1;
	}
	if (c->run.exited) {
		fail_proc(c, "a running tether to SIGKILL", &c->run);
		return -1;
	}
	int64_t tk = lab_now();
	stress_proc_signal(&c->run, SIGKILL);
	if (!stress_proc_wait_exit(st, &c->run, tk + 5 * NS_PER_SEC) || c->run.sig != SIGKILL) {
		fail_proc(c, "death by SIGKILL", &c->run);
		return -1;
	}
	/* G2: its whole tree gone within 2 s, without anyone's help */
	if (stress_check_orphans(st, c->what, ORPHAN_GRACE, NULL) > 0)
		rc = -1;
	st->kill_clean[st->nkill_clean++] = lab_now() - tk;
	/* G3: the record is absent or complete; nobody holds the lock */
	struct tether_pidrecord rec;
	int r = tether_pidfile_read(c->pidfile, &rec);
	if (r == 0)
		tether_pidrecord_done(&rec);
	else if (r != -ENOENT)
		rc = -1, stress_fail(st, "%s: after SIGKILL the pidfile is neither absent nor complete: %s", c->what,
				     strerror(-r));
	if (lock_taken(c->pidfile))
		rc = -1, stress_fail(st, "%s: after SIGKILL the lock of %s is still held", c->what, c->pidfile);
	if (rc < 0)
		return rc;
	/* a fresh supervisor over what the killed one left (record, lock file) */
	stress_proc_release(&c->run);
	size_t len = strlen(c->what);
	snprintf(c->what + len, sizeof c->what - len, ", fresh start");
	return plain_cycle(c, &none, false);
}

/* SIGTERM at the drawn moment, whatever tether is doing: a graceful stop. */
static int sigterm_cycle(struct cycle *c, const struct stress_plan *pl)
{
	struct stress *st = c->st;
	struct stress_plan none = *pl;
	none.fault = STRESS_FAULT_NONE;
	if (start(c, &none) < 0)
		return -1;
	struct stress_proc *one[1] = {&c->run};
	while (!c->run.exited && stress_proc_wait(st, one, 1, c->run.t_spawn + pl->kill_delay))
		;
	if (c->run.exited) {
		fail_proc(c, "a running tether to send SIGTERM", &c->run);
		return -1;
	}
	int rc = 0;
	stress_proc_signal(&c->run, SIGTERM);
	/* Exit 0, a graceful stop; or death by the signal itself when it came
	 * before tether could block it (while it was still being exec'd and
	 * linked): then it has published nothing, which the end checks verify. */
	if (!stress_proc_wait_exit(st, &c->run, lab_now() + GONE_TIMEOUT) ||
	    !(c->run.code == 0 || (c->run.code < 0 && c->run.sig == SIGTERM)))
		rc = -1, fail_proc(c, "exit 0 (a graceful stop) or death by SIGTERM before startup", &c->run);
	if (end_checks(c, ORPHAN_GRACE) < 0)
		rc = -1;
	if (rc == 0)
		st->sigterm_outcome[c->run.code == 0 ? 0 : 1]++;
	return rc;
}

int stress_cycle(struct stress *st, unsigned i, const struct stress_plan *pl)
{
	struct cycle c = {.st = st, .i = i, .pl = pl, .run = STRESS_PROC_NONE, .stop = STRESS_PROC_NONE};
	char desc[128];
	stress_plan_describe(pl, desc, sizeof desc);
	snprintf(c.what, sizeof c.what, "cycle %u (%s)", i, desc);
	snprintf(c.pidfile, sizeof c.pidfile, "%s/state/stress.pid", st->workdir);
	snprintf(c.report, sizeof c.report, "%s/fault-report", st->workdir);
	int rc;
	st->injected[pl->fault]++;
	unlink(c.report); /* a firing is this cycle's, never an earlier one's */
	switch (pl->fault) {
	case STRESS_FAULT_ENOSPC: rc = enospc_cycle(&c); break;
	case STRESS_FAULT_SIGKILL: rc = sigkill_cycle(&c, pl); break;
	case STRESS_FAULT_SIGTERM: rc = sigterm_cycle(&c, pl); break;
	case STRESS_FAULT_EAGAIN:
		rc = plain_cycle(&c, pl, false);
		if (rc == 0)
			st->eagain_up[st->neagain_up++] = c.up;
		unlink(c.report);
		break;
	default: rc = plain_cycle(&c, pl, pl->fault == STRESS_FAULT_NONE); break;
	}
	if (rc == 0 && pl->fault == STRESS_FAULT_NONE) {
		st->up[st->nclean] = c.up;
		st->down[st->nclean] = c.down;
		st->cyc[st->nclean] = c.up + c.down;
		st->by_cmd[st->nclean] = pl->stop_cmd;
		st->nclean++;
	}
	if (rc < 0) {
		st->fault_failed[pl->fault]++;
		reset(&c);
	} else {
		release(&c);
	}
	return rc;
}
