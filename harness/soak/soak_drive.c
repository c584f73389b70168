/* SPDX-License-Identifier: MIT */
/* soak_drive.c — the loop that plays the schedule against tether (soak.h).
 *
 * Simulated time: nothing moves unless we say so. One round of the loop does
 * the first thing that is due at the virtual now — a fault window closing, a
 * scheduled event, the next crash of a storm, a round of signs from the
 * healthy workers — and when nothing is due, advances tether's clock to the
 * earliest of its own next deadline, the next event, the end of a fault
 * window and the next round of signs. After every action it waits for the
 * consequences ("settle"): only then is the journal read and checked, so
 * every check sees a quiescent tether, and everything tether did happened at
 * exactly the virtual time we chose.
 *
 * Healthy workers show progress: every watchdog/2 of virtual time each
 * running instance that we did not tell to hang gets `notify WATCHDOG=1` on
 * its ctl FIFO, and the settle waits until tether has counted every one of
 * those signs. The clock never moves past that round, so no healthy worker
 * can reach its watchdog deadline; a hung one reaches it exactly
 * watchdog after its last sign, which is when the model expects the kill.
 *
 * Real time: the same schedule at wall-clock times, workers petting
 * themselves (--pet), the journal and status read every tick. No faults of
 * tether's own (its fault requests need --sim-clock), and times are judged
 * within a tolerance.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "proc.h"
#include "soak/soak.h"

#define NEVER INT64_MAX
#define WRITE_POINT "tether/sys/write"
#define FORK_POINT "tether/sys/fork"
#define REAL_TICK_NS (100 * NS_PER_MS)

/* ---- what the last status says ------------------------------------------------------ */

static const struct tether_json *inst(const struct soak *s, unsigned i)
{
	const struct tether_json *ins = s->status ? tether_json_get(s->status, "instances") : NULL;
	return ins && i < ins->count ? ins->items[i] : NULL;
}

static const char *inst_str(const struct soak *s, unsigned i, const char *key)
{
	const struct tether_json *v = tether_json_get(inst(s, i), key);
	return v && v->string ? v->string : "";
}

/* An integer field (pid, counters); -1 when absent. */
static int64_t inst_int(const struct soak *s, unsigned i, const char *key)
{
	const struct tether_json *v = tether_json_get(inst(s, i), key);
	return v && v->type == TETHER_JSON_NUMBER && v->is_int ? v->integer : -1;
}

/* A field in seconds ("12.345"), in ms; -1 when absent. */
static int64_t inst_ms(const struct soak *s, unsigned i, const char *key)
{
	const struct tether_json *v = tether_json_get(inst(s, i), key);
	return v && v->type == TETHER_JSON_NUMBER ? (int64_t)llround(v->number * 1000.0) : -1;
}

/* What the last status said of instance i, for a failure to explain itself:
 * "status said: tether running, instance 0 running, pid 123 (gone)". */
static const char *said(const struct soak *s, unsigned i, char *buf, size_t len)
{
	const struct tether_json *st = s->status ? tether_json_get(s->status, "state") : NULL;
	pid_t pid = (pid_t)inst_int(s, i, "pid");
	struct tether_procstat ps;
	const char *alive = pid <= 0 ? "none"
			    : tether_proc_read_stat(pid, &ps) < 0 ? "gone"
			    : ps.state == 'Z' || ps.state == 'X' ? "exited, not reaped"
								  : "alive";
	snprintf(buf, len, "status said: tether %s, instance %u %s, pid %lld (%s now)",
		 st && st->string ? st->string : "?", i, inst_str(s, i, "state"), (long long)pid, alive);
	return buf;
}

static bool healthy(const struct soak *s, unsigned i)
{
	return !strcmp(inst_str(s, i, "state"), "running") && s->hung[i] != (pid_t)inst_int(s, i, "pid");
}

/* The first healthy instance from `from` on, or -1. */
static int pick(const struct soak *s, unsigned from)
{
	for (unsigned k = 0; k < s->p.instances; k++) {
		unsigned i = (from + k) % s->p.instances;
		if (healthy(s, i))
			return (int)i;
	}
	return -1;
}

/* ---- settling ------------------------------------------------------------------------ */

static void tether_ended(struct soak *s)
{
	soak_journal_read(s, s->journal);
	int code = soak_tether_reap(s, s->t);
	s->t = NULL;
	soak_model_check_exit(s, s->model, code, s->vnow);
	if (code == 1) {
		s->gave_up++;
		struct soak_mark m = {.vms = s->vnow, .kind = SOAK_EV_NKINDS, .instance = -1};
		xappend(&s->marks, &s->nmarks, &m, sizeof m);
	}
	tether_json_free(s->status);
	s->status = NULL;
}

/* What follows every settle: the journal, the model, the samples. */
static void checks(struct soak *s)
{
	soak_journal_read(s, s->journal);
	soak_model_check_due(s, s->model, s->vnow);
	if (!s->real)
		soak_model_check_status(s, s->model, s->status, s->vnow);
	soak_tether_sample(s, s->t, s->status, !s->real && s->iterations % 16 == 0);
	for (unsigned i = 0; i < s->p.instances; i++)
		if (s->hung[i] && s->hung[i] != (pid_t)inst_int(s, i, "pid"))
			s->hung[i] = 0; /* killed and restarted: a new, healthy worker */
}

/* Simulated: waits until more than notes-1 notes happened (pass the current
 * count + 1 when the action is bound to cause one) and `signs` signs arrived,
 * and tether is quiescent. Real: fetches the status. False when tether is
 * gone (handled) or the run must stop. */
static bool settle(struct soak *s, uint64_t notes, uint64_t signs)
{
	tether_json_free(s->status);
	s->status = NULL;
	int r = s->real ? soak_tether_query(s, s->t, "status", &s->status)
			: soak_tether_settle(s, s->t, notes, signs, &s->clk, &s->status);
	if (r == -ESRCH) {
		tether_ended(s);
		return false;
	}
	if (r < 0) {
		s->stop = true;
		return false;
	}
	s->iterations++;
	checks(s);
	return true;
}

static bool start_incarnation(struct soak *s)
{
	unsigned n = ++s->incarnations;
	const char *iso = s->isolation;
	if (!strcmp(iso, "mixed"))
		iso = s->pidns_ok && n % 2 == 0 ? "pidns" : "subreaper";
	s->t = soak_tether_start(s, n, iso);
	if (!s->t) {
		s->stop = true;
		return false;
	}
	soak_model_incarnation(s->model, s->t->vstart, s->t->wall_offset_ms);
	memset(s->hung, 0, sizeof s->hung);
	memset(s->storm_left, 0, sizeof s->storm_left);
	memset(s->fork_window, 0, sizeof s->fork_window);
	memset(s->ignored_expected, 0, sizeof s->ignored_expected);
	s->fds_closed_expected = 0;
	/* tether takes fault requests with --sim-clock, when built with libfiu. */
	if (n == 1 && !s->real) {
		s->faults_ok = soak_tether_fault(s, s->t, WRITE_POINT, 0) == 0;
		if (!s->faults_ok)
			soak_note(s, "this tether takes no fault requests: ENOSPC and fork-failure events are skipped");
	}
	/* A fault window open across the restart stays open. */
	if (s->faults_ok && s->enospc_until > s->vnow)
		soak_tether_fault(s, s->t, WRITE_POINT, 28);
	if (s->faults_ok && s->fork_until > s->vnow)
		soak_tether_fault(s, s->t, FORK_POINT, 11);
	s->pet_at = s->vnow + s->p.pet_every;
	return settle(s, 1, 0);
}

/* ---- the events ---------------------------------------------------------------------- */

static void say(struct soak *s, const char *what, int i)
{
	char t[32];
	if (!s->verbose)
		return;
	if (i >= 0)
		printf("[%s] %s instance %d (pid %lld)\n", soak_fmt_vms(s->vnow, t, sizeof t), what, i,
		       (long long)inst_int(s, (unsigned)i, "pid"));
	else
		printf("[%s] %s\n", soak_fmt_vms(s->vnow, t, sizeof t), what);
	fflush(stdout);
}

/* A ctl command that ends the worker: the crash line must follow, now. */
static void end_worker(struct soak *s, unsigned i, const char *cmd, enum soak_expect k, int detail)
{
	struct soak_clock c = s->clk;
	int r = soak_worker_ctl(s, i, cmd, strlen(cmd));
	if (r < 0) {
		char why[160];
		soak_fail(s, "instance %u runs, but its worker does not read its ctl FIFO: %s (%s)", i, strerror(-r),
			  said(s, i, why, sizeof why));
		return;
	}
	soak_model_expect(s->model, k, i, s->vnow, detail);
	settle(s, c.notes + 1, c.signs);
}

static void hang(struct soak *s, unsigned i)
{
	struct soak_clock c = s->clk;
	pid_t pid = (pid_t)inst_int(s, i, "pid");
	/* A last sign of its own, now, then the hang: its watchdog deadline is
	 * this instant plus --watchdog. With its last sign from the pet round,
	 * two instances that hang within one pet period would be killed at
	 * one virtual instant, and the order in which tether learns of their
	 * deaths (their crashes_in_window 1 and 2, or which one crosses the
	 * crash limit) would be the real kernel's: a seed would not give one
	 * outcome. No two events of a schedule share an instant. */
	if (soak_worker_ctl(s, i, "notify WATCHDOG=1\nhang\n", 23) < 0) {
		soak_fail(s, "instance %u runs, but cannot be told to hang", i);
		return;
	}
	s->hung[i] = pid;
	if (!settle(s, c.notes, c.signs + 1))
		return;
	int64_t age = inst_ms(s, i, "watchdog_age_s");
	if (age < 0) {
		soak_fail(s, "instance %u was told to hang, and status gives no watchdog age", i);
		return;
	}
	/* Its last sign was `age` ago: the watchdog fires --watchdog after it. */
	int64_t at = s->vnow - age + s->p.watchdog;
	soak_model_expect(s->model, SOAK_EXPECT_WATCHDOG, i, at, 0);
	soak_model_expect(s->model, SOAK_EXPECT_CRASH_WATCHDOG, i, at, 0);
}

static void flood(struct soak *s, unsigned i, const struct soak_event *e)
{
	struct soak_clock c = s->clk;
	pid_t pid = (pid_t)inst_int(s, i, "pid");
	/* The neighbour's datagrams first: the worker's last WATCHDOG=1, counted
	 * by the settle, then comes after all of them in tether's queue. */
	unsigned fds = soak_notify_fds(pid, e->fds);
	struct tether_buf b;
	tether_buf_init(&b);
	unsigned signs = 0, ignored = fds, last_status = 0;
	for (unsigned k = 0; k < e->n; k++) {
		switch (k % 8) {
		case 0: tether_buf_puts(&b, "notify WATCHDOG=1\n"); signs++; break;
		case 1: case 4: tether_buf_printf(&b, "notify STATUS=flood %u\n", k); last_status = k; break;
		case 2: case 5: tether_buf_printf(&b, "notify X_SOAK_%u=1\n", k); ignored++; break;
		case 3: case 6: tether_buf_printf(&b, "notify garbage-%u\n", k); ignored++; break;
		default: tether_buf_puts(&b, "notify READY=1\n"); break;
		}
	}
	tether_buf_puts(&b, "notify WATCHDOG=1\n");
	signs++;
	int r = b.oom ? -ENOMEM : soak_worker_ctl(s, i, b.data, b.len);
	tether_buf_done(&b);
	s->notify_sent += e->n + 1;
	s->notify_fds_sent += fds;
	s->ignored_expected[i] += ignored;
	s->fds_closed_expected += fds;
	if (r < 0) {
		soak_fail(s, "flood of instance %u: cannot write its ctl FIFO: %s", i, strerror(-r));
		return;
	}
	if (s->real || !settle(s, c.notes, c.signs + signs))
		return;
	/* Every datagram was read: the counters say exactly what was sent. */
	char want[64];
	snprintf(want, sizeof want, "flood %u", last_status);
	const struct tether_json *closed = tether_json_get(s->status, "notify_fds_closed");
	int64_t ign = inst_int(s, i, "notify_ignored");
	if (strcmp(inst_str(s, i, "status"), want) != 0 || (uint64_t)(ign < 0 ? 0 : ign) != s->ignored_expected[i] ||
	    !closed || !closed->is_int || (uint64_t)closed->integer != s->fds_closed_expected)
		soak_fail(s, "after a flood of instance %u: status \"%s\" (want \"%s\"), notify_ignored %lld (want %llu), "
			     "notify_fds_closed %lld (want %llu)", i, inst_str(s, i, "status"), want, (long long)ign,
			  (unsigned long long)s->ignored_expected[i], closed && closed->is_int ? (long long)closed->integer : -1LL,
			  (unsigned long long)s->fds_closed_expected);
}

static void forkfail(struct soak *s, unsigned i, int64_t len)
{
	struct soak_clock c = s->clk;
	pid_t pid = (pid_t)inst_int(s, i, "pid");
	if (soak_tether_fault(s, s->t, FORK_POINT, 11) < 0)
		return;
	if (s->vnow + len > s->fork_until)
		s->fork_until = s->vnow + len;
	/* Its guardian dies: its next start needs a fork, which fails until the
	 * window closes. Every other instance keeps its guardian. */
	s->fork_window[i] = true;
	soak_model_forks(s->model, i, s->vnow, s->fork_until);
	for (unsigned k = 0; k < s->p.instances; k++)
		if (s->fork_window[k] && k != i)
			soak_model_forks(s->model, k, -1, s->fork_until);
	soak_model_expect(s->model, SOAK_EXPECT_CRASH_SIGNAL, i, s->vnow, 9);
	if (soak_kill_guardian(s, s->t, pid) < 0) {
		soak_fail(s, "cannot find the guardian of instance %u (worker %d)", i, (int)pid);
		return;
	}
	settle(s, c.notes + 1, c.signs);
}

static void inject(struct soak *s, const struct soak_event *e)
{
	enum soak_kind k = e->kind;
	int i = -1;
	if (k <= SOAK_EV_FLOOD || k == SOAK_EV_FORKFAIL) {
		i = pick(s, e->target);
		if (i < 0 || ((k == SOAK_EV_FORKFAIL) && !s->faults_ok)) {
			s->skipped[k]++;
			return;
		}
	} else if (k == SOAK_EV_ENOSPC && !s->faults_ok) {
		s->skipped[k]++;
		return;
	}
	s->injected[k]++;
	struct soak_mark m = {.vms = s->vnow, .kind = (int)k, .instance = i};
	xappend(&s->marks, &s->nmarks, &m, sizeof m);
	say(s, soak_kind_name(k), i);
	char cmd[32];
	switch (k) {
	case SOAK_EV_CRASH:
		end_worker(s, (unsigned)i, "crash\n", SOAK_EXPECT_CRASH_SIGNAL, 6);
		break;
	case SOAK_EV_EXIT:
		snprintf(cmd, sizeof cmd, "exit %u\n", e->n);
		end_worker(s, (unsigned)i, cmd, SOAK_EXPECT_CRASH_EXIT, (int)e->n);
		break;
	case SOAK_EV_STORM:
		s->storm_left[i] = e->n - 1;
		s->storm_pid[i] = (pid_t)inst_int(s, (unsigned)i, "pid");
		s->storm_crashes++;
		end_worker(s, (unsigned)i, "crash\n", SOAK_EXPECT_CRASH_SIGNAL, 6);
		break;
	case SOAK_EV_HANG:
		hang(s, (unsigned)i);
		break;
	case SOAK_EV_FLOOD:
		flood(s, (unsigned)i, e);
		break;
	case SOAK_EV_ENOSPC:
		if (soak_tether_fault(s, s->t, WRITE_POINT, 28) < 0)
			break;
		if (!s->enospc_until)
			soak_model_loss(s->model, s->vnow, NEVER);
		if (s->vnow + e->len > s->enospc_until)
			s->enospc_until = s->vnow + e->len;
		break;
	case SOAK_EV_FORKFAIL:
		forkfail(s, (unsigned)i, e->len);
		break;
	case SOAK_EV_KILL:
		soak_journal_read(s, s->journal);
		soak_model_check_due(s, s->model, s->vnow);
		soak_tether_kill(s, s->t, "scheduled");
		s->t = NULL;
		s->killed++;
		tether_json_free(s->status);
		s->status = NULL;
		break;
	case SOAK_EV_INTRUDER:
		soak_intruder(s, s->t);
		break;
	case SOAK_EV_NKINDS:
		break;
	}
}

/* The next crash of a storm: when its instance is up again (a new worker). */
static bool storm_due(struct soak *s)
{
	for (unsigned i = 0; i < s->p.instances; i++) {
		pid_t pid = (pid_t)inst_int(s, i, "pid");
		if (s->storm_left[i] && healthy(s, i) && pid != s->storm_pid[i]) {
			s->storm_left[i]--;
			s->storm_pid[i] = pid;
			s->storm_crashes++;
			say(s, "storm: crash again", (int)i);
			end_worker(s, i, "crash\n", SOAK_EXPECT_CRASH_SIGNAL, 6);
			return true;
		}
	}
	return false;
}

/* Fault windows that close now. */
static bool window_due(struct soak *s)
{
	if (s->enospc_until && s->enospc_until <= s->vnow) {
		say(s, "enospc ends", -1);
		s->enospc_until = 0;
		if (soak_tether_fault(s, s->t, WRITE_POINT, 0) == 0)
			soak_model_loss(s->model, 0, s->vnow);
		return true;
	}
	if (s->fork_until && s->fork_until <= s->vnow) {
		say(s, "fork failures end", -1);
		s->fork_until = 0;
		memset(s->fork_window, 0, sizeof s->fork_window);
		soak_tether_fault(s, s->t, FORK_POINT, 0);
		return true;
	}
	return false;
}

/* A round of signs from every healthy worker. */
static void pet(struct soak *s)
{
	struct soak_clock c = s->clk;
	unsigned n = 0;
	for (unsigned i = 0; i < s->p.instances; i++) {
		if (!healthy(s, i))
			continue;
		int r = soak_worker_ctl(s, i, "notify WATCHDOG=1\n", 18);
		char why[160];
		if (r < 0)
			soak_fail(s, "instance %u runs, but its worker does not read its ctl FIFO: %s (%s)", i, strerror(-r),
				  said(s, i, why, sizeof why));
		else
			n++;
	}
	s->pet_at = s->vnow + s->p.pet_every;
	settle(s, c.notes, c.signs + n);
}

/* ---- the loops ------------------------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static void advance(struct soak *s, int64_t next_event)
{
	struct soak_tether *t = s->t;
	int64_t next = s->clk.next == NEVER ? NEVER : t->vstart + (s->clk.next - t->base) / NS_PER_MS;
	int64_t target = min64(min64(next, next_event), min64(s->pet_at, s->duration));
	if (s->enospc_until)
		target = min64(target, s->enospc_until);
	if (s->fork_until)
		target = min64(target, s->fork_until);
	if (target <= s->vnow) {
		char when[32];
		soak_fail(s, "tether's next deadline (%s) is not in the future, yet it did not act on it",
			  soak_fmt_vms(next, when, sizeof when));
		s->stop = true;
		return;
	}
	int r = soak_tether_advance(s, t, t->base + (target - t->vstart) * NS_PER_MS);
	if (r == -ESRCH) {
		tether_ended(s);
		return;
	}
	if (r < 0) {
		s->stop = true;
		return;
	}
	s->vnow = target;
	settle(s, s->clk.notes, s->clk.signs);
}

static void drive_sim(struct soak *s)
{
	size_t next = 0;
	while (!s->stop && s->vnow < s->duration) {
		if (!s->t && !start_incarnation(s))
			break;
		if (!s->t)
			continue;
		if (window_due(s))
			continue;
		if (next < s->sched.n && s->sched.ev[next].at <= s->vnow) {
			inject(s, &s->sched.ev[next++]);
			continue;
		}
		if (storm_due(s))
			continue;
		if (s->pet_at <= s->vnow) {
			pet(s);
			continue;
		}
		advance(s, next < s->sched.n ? s->sched.ev[next].at : NEVER);
	}
}

static void drive_real(struct soak *s)
{
	size_t next = 0;
	while (!s->stop) {
		s->vnow = (lab_now() - s->wall_start) / NS_PER_MS;
		if (s->vnow >= s->duration)
			break;
		if (!s->t && !start_incarnation(s))
			break;
		if (!s->t || !settle(s, 0, 0))
			continue;
		if (storm_due(s))
			continue;
		while (s->t && next < s->sched.n && s->sched.ev[next].at <= s->vnow)
			inject(s, &s->sched.ev[next++]);
		if (!s->t)
			continue;
		int64_t until = min64(s->duration, s->vnow + REAL_TICK_NS / NS_PER_MS);
		if (next < s->sched.n)
			until = min64(until, s->sched.ev[next].at);
		if (soak_wait_any(&s->t->pidfd, 1, s->wall_start + until * NS_PER_MS) == 0)
			tether_ended(s);
	}
}

void soak_drive(struct soak *s)
{
	s->journal = soak_journal_open(s->journal_path, s->p.log_max_bytes, s->p.log_keep);
	if (s->real)
		drive_real(s);
	else
		drive_sim(s);
	if (s->t) {
		soak_journal_read(s, s->journal);
		soak_model_check_due(s, s->model, s->vnow);
		soak_tether_kill(s, s->t, "the end of the soak");
		s->t = NULL;
	}
	tether_json_free(s->status);
	s->status = NULL;
}
