/* SPDX-License-Identifier: MIT */
/* stress_race.c — the races of `harness stress` (see stress.h).
 *
 * Processes that must race are forked first and released together: each
 * child blocks on a pipe (the barrier) until the harness closes its write end
 * after the last fork, so they all exec within microseconds of one another.
 *
 *   start race   M `tether run` on one pidfile: exactly one becomes ready and
 *                holds the lock with its record; every other exits 75 saying
 *                "already running" (G1). Then the winner is stopped cleanly.
 *   stop race    M `tether stop` of one ready supervisor: every one exits 0,
 *                the supervisor exits 0, nothing is left (stop is idempotent and
 *                safe to run concurrently, SPEC §3).
 *   start/stop   one `tether run` and one `tether stop` released together, many
 *                rounds. Clean means: stop exits 0, and either
 *                  (a) the supervisor exited 0 — stopped before or after it was
 *                      ready (stop waited for its record, then sent SIGTERM), or
 *                  (b) stop found nothing (it looked before the lock was taken)
 *                      and the supervisor runs: ready, holding the lock, its record
 *                      complete and naming it; SIGTERM then stops it with exit 0;
 *                and afterwards no pidfile, temp or lock file, no lock held, no
 *                process of the run. Anything else fails — notably a supervisor
 *                that dies by the SIGTERM instead of handling it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "stress/stress.h"

#define RACE_TIMEOUT (60 * NS_PER_SEC)
#define ORPHAN_GRACE (2 * NS_PER_SEC)

enum { SS_BEFORE_READY, SS_AFTER_READY, SS_STOP_MISSED };

/* Forks n processes held at a barrier, then releases them together. Returns
 * the release time, or -1 when a spawn failed (those spawned are released). */
static int64_t spawn_together(struct stress *st, struct stress_proc *ps, size_t n, const char *const *names,
			      char *const *const *argvs, const bool *notify)
{
	int b[2];
	if (pipe2(b, O_CLOEXEC) < 0)
		lab_die("pipe: %s", strerror(errno));
	int64_t rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct stress_spawn req = {.name = names[i], .argv = argvs[i], .notify = notify[i], .barrier = b[0],
					   .barrier_w = b[1]};
		if (stress_proc_spawn(st, &ps[i], &req) < 0) {
			rc = -1;
			for (size_t k = i; k < n; k++)
				ps[k] = STRESS_PROC_NONE;
			break;
		}
	}
	close(b[1]);
	close(b[0]);
	return rc < 0 ? -1 : lab_now();
}

static void cleanup(struct stress *st, struct stress_proc *ps, size_t n, const char *pidfile)
{
	for (size_t i = 0; i < n; i++)
		stress_proc_release(&ps[i]);
	orphans_kill_all(st->run_id, lab_now() + 5 * NS_PER_SEC);
	static const char *const suffixes[] = {"", ".tmp", ".lock"};
	for (size_t i = 0; i < 3; i++) {
		char path[PATH_MAX + 8];
		snprintf(path, sizeof path, "%s%s", pidfile, suffixes[i]);
		unlink(path);
	}
}

static void fail_proc(struct stress *st, const char *what, const char *expected, const struct stress_proc *p)
{
	char o[48];
	char *out = stress_proc_output(p);
	stress_fail(st, "%s: expected %s of %s, got %s; output: %s", what, expected, p->name,
		    stress_proc_outcome(p, o, sizeof o), out);
	free(out);
}

/* SIGTERM to a running supervisor: it must exit 0, leaving nothing. */
static int stop_and_check(struct stress *st, const char *what, struct stress_proc *p, const char *pidfile)
{
	int rc = 0;
	stress_proc_signal(p, SIGTERM);
	if (!stress_proc_wait_exit(st, p, lab_now() + RACE_TIMEOUT) || p->code != 0)
		rc = -1, fail_proc(st, what, "exit 0 after SIGTERM", p);
	if (stress_check_clean(st, what, pidfile, p) < 0)
		rc = -1;
	if (stress_check_orphans(st, what, ORPHAN_GRACE, NULL) > 0)
		rc = -1;
	return rc;
}

static char *run_argv_buf[16];

/* `tether run --pidfile P --min-mem 0 [--instances K] -- worker` (static storage). */
static char *const *run_argv(struct stress *st, const char *pidfile)
{
	static char inst[16];
	size_t k = 0;
	snprintf(inst, sizeof inst, "%u", st->instances);
	run_argv_buf[k++] = st->tether;
	run_argv_buf[k++] = "run";
	run_argv_buf[k++] = "--pidfile";
	run_argv_buf[k++] = (char *)pidfile;
	run_argv_buf[k++] = "--min-mem";
	run_argv_buf[k++] = "0";
	if (st->instances != 1) {
		run_argv_buf[k++] = "--instances";
		run_argv_buf[k++] = inst;
	}
	run_argv_buf[k++] = "--";
	run_argv_buf[k++] = st->worker;
	run_argv_buf[k] = NULL;
	return run_argv_buf;
}

static bool settled_start(struct stress_proc *ps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ps[i].exited && !ps[i].ready)
			return false;
	return true;
}

void stress_race_start(struct stress *st)
{
	size_t m = st->concurrency;
	char pidfile[PATH_MAX];
	snprintf(pidfile, sizeof pidfile, "%s/race/start.pid", st->workdir);
	struct stress_proc *ps = xcalloc(m, sizeof *ps), **pp = xcalloc(m, sizeof *pp);
	const char **names = xcalloc(m, sizeof *names);
	char *const **argvs = xcalloc(m, sizeof *argvs);
	bool *notify = xcalloc(m, sizeof *notify);
	char *const *argv = run_argv(st, pidfile);
	for (size_t i = 0; i < m; i++) {
		names[i] = xasprintf("racer.%zu", i);
		argvs[i] = argv;
		notify[i] = true;
		pp[i] = &ps[i];
	}
	st->race_start.lat = xcalloc(st->races, sizeof(int64_t));
	for (unsigned r = 0; r < st->races && !st->interrupted; r++) {
		char what[96];
		snprintf(what, sizeof what, "start race %u (%zu x tether run)", r, m);
		st->race_start.rounds++;
		int rc = 0;
		int64_t t0 = spawn_together(st, ps, m, names, argvs, notify);
		if (t0 < 0)
			rc = -1;
		while (rc == 0 && !settled_start(ps, m) && stress_proc_wait(st, pp, m, t0 + RACE_TIMEOUT))
			;
		size_t ready = 0, winner = 0, bad = 0;
		for (size_t i = 0; rc == 0 && i < m; i++) {
			if (ps[i].ready) {
				ready++;
				winner = i;
			} else if (!ps[i].exited || ps[i].code != 75 || !stress_proc_output_has(&ps[i], "already running")) {
				if (bad++ < 3)
					fail_proc(st, what, "exit 75 \"already running\"", &ps[i]);
			}
		}
		if (rc == 0 && ready != 1)
			rc = -1, stress_fail(st, "%s: %zu supervisors became ready, expected exactly 1 (G1)", what, ready);
		if (rc == 0 && bad)
			rc = -1, stress_fail(st, "%s: %zu of %zu losers did not exit 75", what, bad, m - 1);
		if (rc == 0 && ps[winner].exited)
			rc = -1, fail_proc(st, what, "the winner still running", &ps[winner]);
		if (rc == 0) {
			st->race_start.lat[st->race_start.nlat++] = ps[winner].t_ready - t0;
			if (stress_check_running(st, what, &ps[winner], pidfile, st->instances, true) < 0)
				rc = -1;
			if (stop_and_check(st, what, &ps[winner], pidfile) < 0)
				rc = -1;
		}
		if (rc < 0)
			st->race_start.failed++;
		cleanup(st, ps, m, pidfile);
		stress_progress(st, r + 1, st->races, false);
	}
	for (size_t i = 0; i < m; i++)
		free((char *)names[i]);
	free(names);
	free(argvs);
	free(notify);
	free(pp);
	free(ps);
}

void stress_race_stop(struct stress *st)
{
	size_t m = st->concurrency;
	char pidfile[PATH_MAX];
	snprintf(pidfile, sizeof pidfile, "%s/race/stop.pid", st->workdir);
	/* ps[0] the supervisor, ps[1..m] the stops */
	struct stress_proc *ps = xcalloc(m + 1, sizeof *ps), **pp = xcalloc(m + 1, sizeof *pp);
	const char **names = xcalloc(m, sizeof *names);
	char *const **argvs = xcalloc(m, sizeof *argvs);
	bool *notify = xcalloc(m, sizeof *notify);
	char *stop_argv[] = {st->tether, "stop", "--pidfile", pidfile, NULL};
	for (size_t i = 0; i < m; i++) {
		names[i] = xasprintf("stopper.%zu", i);
		argvs[i] = stop_argv;
	}
	for (size_t i = 0; i <= m; i++)
		pp[i] = &ps[i];
	st->race_stop.lat = xcalloc(st->races, sizeof(int64_t));
	for (unsigned r = 0; r < st->races && !st->interrupted; r++) {
		char what[96];
		snprintf(what, sizeof what, "stop race %u (%zu x tether stop)", r, m);
		st->race_stop.rounds++;
		int rc = 0;
		for (size_t i = 0; i <= m; i++)
			ps[i] = STRESS_PROC_NONE;
		struct stress_spawn req = {.name = "stopped", .argv = run_argv(st, pidfile), .notify = true,
					   .barrier = -1, .barrier_w = -1};
		if (stress_proc_spawn(st, &ps[0], &req) < 0) {
			rc = -1;
		} else {
			while (!ps[0].ready && !ps[0].exited && stress_proc_wait(st, pp, 1, ps[0].t_spawn + RACE_TIMEOUT))
				;
			if (!ps[0].ready || ps[0].exited)
				rc = -1, fail_proc(st, what, "READY=1", &ps[0]);
			else if (stress_check_running(st, what, &ps[0], pidfile, st->instances, true) < 0)
				rc = -1;
		}
		int64_t t0 = rc == 0 ? spawn_together(st, ps + 1, m, names, argvs, notify) : -1;
		if (rc == 0 && t0 < 0)
			rc = -1;
		bool all = false;
		while (rc == 0 && !all) {
			all = true;
			for (size_t i = 0; i <= m; i++)
				all = all && ps[i].exited;
			if (!all && !stress_proc_wait(st, pp, m + 1, t0 + RACE_TIMEOUT))
				break;
		}
		if (rc == 0) {
			int64_t end = t0;
			size_t bad = 0;
			for (size_t i = 0; i <= m; i++) {
				if (ps[i].exited && ps[i].code == 0) {
					end = ps[i].t_exit > end ? ps[i].t_exit : end;
				} else if (bad++ < 3) {
					fail_proc(st, what, "exit 0", &ps[i]);
				}
			}
			if (bad)
				rc = -1;
			else
				st->race_stop.lat[st->race_stop.nlat++] = end - t0;
			if (stress_check_clean(st, what, pidfile, &ps[0]) < 0)
				rc = -1;
			if (stress_check_orphans(st, what, ORPHAN_GRACE, NULL) > 0)
				rc = -1;
		}
		if (rc < 0)
			st->race_stop.failed++;
		cleanup(st, ps, m + 1, pidfile);
		stress_progress(st, r + 1, st->races, false);
	}
	for (size_t i = 0; i < m; i++)
		free((char *)names[i]);
	free(names);
	free(argvs);
	free(notify);
	free(pp);
	free(ps);
}

void stress_race_start_stop(struct stress *st)
{
	char pidfile[PATH_MAX];
	snprintf(pidfile, sizeof pidfile, "%s/race/start-stop.pid", st->workdir);
	char *stop_argv[] = {st->tether, "stop", "--pidfile", pidfile, NULL};
	const char *names[2] = {"starting", "stopping"};
	char *const *argvs[2] = {run_argv(st, pidfile), stop_argv};
	const bool notify[2] = {true, false};
	unsigned rounds = st->races * 10;
	for (unsigned r = 0; r < rounds && !st->interrupted; r++) {
		struct stress_proc ps[2];
		struct stress_proc *pp[2] = {&ps[0], &ps[1]};
		char what[96];
		snprintf(what, sizeof what, "start/stop race %u", r);
		st->race_start_stop.rounds++;
		int rc = 0;
		int64_t t0 = spawn_together(st, ps, 2, names, argvs, notify);
		if (t0 < 0)
			rc = -1;
		/* first the stop's verdict, then what became of the supervisor */
		while (rc == 0 && !ps[1].exited && stress_proc_wait(st, pp, 2, t0 + RACE_TIMEOUT))
			;
		if (rc == 0 && (!ps[1].exited || ps[1].code != 0))
			rc = -1, fail_proc(st, what, "exit 0", &ps[1]);
		while (rc == 0 && !ps[0].exited && !ps[0].ready && stress_proc_wait(st, pp, 1, lab_now() + RACE_TIMEOUT))
			;
		if (rc == 0 && ps[0].exited) {
			if (ps[0].code != 0)
				rc = -1, fail_proc(st, what, "exit 0 (stopped) or a running supervisor", &ps[0]);
			else
				st->race_start_stop.outcome[ps[0].ready ? SS_AFTER_READY : SS_BEFORE_READY]++;
			if (stress_check_clean(st, what, pidfile, &ps[0]) < 0)
				rc = -1;
			if (stress_check_orphans(st, what, ORPHAN_GRACE, NULL) > 0)
				rc = -1;
		} else if (rc == 0 && ps[0].ready) {
			/* stop looked before the lock was taken: the supervisor is
			 * legitimately up, and must own the pidfile */
			st->race_start_stop.outcome[SS_STOP_MISSED]++;
			if (stress_check_running(st, what, &ps[0], pidfile, st->instances, true) < 0)
				rc = -1;
			if (stop_and_check(st, what, &ps[0], pidfile) < 0)
				rc = -1;
		} else if (rc == 0) {
			rc = -1, fail_proc(st, what, "READY=1 or an exit", &ps[0]);
		}
		if (rc < 0)
			st->race_start_stop.failed++;
		cleanup(st, ps, 2, pidfile);
		stress_progress(st, r + 1, rounds, false);
	}
}
