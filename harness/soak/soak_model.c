/* SPDX-License-Identifier: MIT */
/* soak_model.c — what the journal must say, worked out independently of
 * libtether (see soak.h).
 *
 * Two kinds of knowledge meet here:
 *   - the policy (SPEC §1, src/policy.h), re-derived from the journal's own
 *     lines: every `crash` goes into a crash log per instance and one for all;
 *     the `restart` that follows must carry min(initial * 2^(k-1), max) with k
 *     the instance's crashes in the sliding window (now - t < window), and a
 *     crash that makes more than crash_limit in the window must be followed by
 *     `give_up` (and tether's exit 1); the instance's next `start` comes
 *     exactly that delay after the crash; heartbeats come every interval, and
 *     their counts agree with the logs;
 *   - the driver's own actions (soak_model_expect): every crash, exit, hang and
 *     lost guardian it caused must show as the matching `crash` (and
 *     `watchdog`) line at the virtual time it predicted, and no other crash may
 *     show at all — except a failed start inside a fork-failure window.
 * Nothing here uses policy.c: an error shared by both would hide itself.
 *
 * Lost lines: while the heartbeat log fails (ENOSPC), lines are lost, and
 * after it recovers tether keeps the journal suspended until the next
 * heartbeat (journal.h). Lines in [begin, first heartbeat after end) may be
 * missing, so the crash history is incomplete for one crash window after
 * that: exact policy checks pause until then ("degraded"), and per-instance
 * state is taken from `status` meanwhile.
 *
 * Simulated time is exact (tolerance 0): every virtual instant is tether's
 * start plus whole ms, and the journal's ms are those instants. With a real
 * clock, times match within p.tolerance, and window edges closer than that
 * are not judged.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "soak/soak.h"

#define NEVER INT64_MAX

struct minst {
	bool backoff;          /* a restart is due at restart_at (-1: unknown) */
	int64_t restart_at;
	bool restart_pending;  /* crashed; its `restart` line is next */
	int64_t expected_delay;
	int64_t last_crash;
	int64_t *crashes;      /* its crash times in the window, oldest first */
	size_t ncrash;
	int64_t fork_begin, fork_end; /* starts need a fork (its guardian was lost) */
};

struct expectation {
	enum soak_expect kind;
	unsigned inst;
	int64_t at;
	int detail;
};

struct window {
	int64_t begin, end;    /* end: NEVER while open */
	int64_t lost_until;    /* lines may be missing before this (the heartbeat after end) */
};

struct soak_model {
	struct soak_params p;
	int64_t inc_start;
	int64_t wall_offset;
	struct minst in[SOAK_MAX_INSTANCES];
	int64_t *all;
	size_t nall;
	unsigned restarts_total;
	bool give_up_due, give_up_seen;
	int64_t next_hb, last_line;
	int64_t degraded_until;
	struct expectation *x;
	size_t nx;
	struct window *loss;
	size_t nloss;
	struct soak_model_counts c;
};

struct soak_model *soak_model_new(const struct soak_params *p)
{
	struct soak_model *m = xcalloc(1, sizeof *m);
	m->p = *p;
	return m;
}

static void hash_bytes(uint64_t *h, const void *data, size_t len)
{
	const unsigned char *b = data;
	for (size_t i = 0; i < len; i++) {
		*h ^= b[i];
		*h *= UINT64_C(0x100000001b3);
	}
}

/* The line's meaning, without what differs between two runs of one seed
 * (pids, the wall clock's base), added to the outcome: a sum, because lines
 * of one virtual instant come in the order the processes happened to
 * answer (two instances that start together), and that order is noise. */
static void hash_line(struct soak_model *m, const struct tether_json *j, const char *event, int64_t vms)
{
	static const char *const keys[] = {"instance", "reason", "code", "signal", "delay_s", "crashes_in_window",
					   "restarts_total", "instances_active", "silent_s", "lost_lines", NULL};
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	hash_bytes(&h, &vms, sizeof vms);
	hash_bytes(&h, event, strlen(event) + 1);
	for (const char *const *k = keys; *k; k++) {
		const struct tether_json *v = tether_json_get(j, *k);
		if (!v)
			continue;
		hash_bytes(&h, *k, strlen(*k) + 1);
		if (v->type == TETHER_JSON_NUMBER) {
			int64_t x = v->is_int ? v->integer : llround(v->number * 1000.0);
			hash_bytes(&h, &x, sizeof x);
		} else if (v->string) {
			hash_bytes(&h, v->string, strlen(v->string) + 1);
		}
	}
	m->c.outcome += h;
}

void soak_model_free(struct soak_model *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < SOAK_MAX_INSTANCES; i++)
		free(m->in[i].crashes);
	free(m->all);
	free(m->x);
	free(m->loss);
	free(m);
}

void soak_model_counts(const struct soak_model *m, struct soak_model_counts *ret)
{
	*ret = m->c;
}

static bool degraded(const struct soak_model *m, int64_t vms)
{
	return vms < m->degraded_until;
}

/* SPEC §1: min(initial * 2^(k-1), max), by doubling (no shifts to overflow). */
static int64_t backoff(const struct soak_params *p, size_t k)
{
	int64_t d = p->backoff_initial;
	for (size_t i = 1; i < k && d < p->backoff_max; i++)
		d *= 2;
	return d < p->backoff_max ? d : p->backoff_max;
}

/* Drops times that left the window at now (now - t >= window): a crash log
 * only ever grows at its end, in time order. */
static size_t in_window(int64_t **log, size_t *n, int64_t now, int64_t window)
{
	size_t drop = 0;
	while (drop < *n && now - (*log)[drop] >= window)
		drop++;
	if (drop) {
		memmove(*log, *log + drop, (*n - drop) * sizeof **log);
		*n -= drop;
	}
	return *n;
}

/* With a real clock, a crash within tolerance of the window's edge may be in
 * or out: such counts are not judged. */
static bool edge_ambiguous(const int64_t *log, size_t n, int64_t now, const struct soak_params *p)
{
	for (size_t i = 0; p->tolerance && i < n; i++)
		if (llabs(now - log[i] - p->crash_window) <= p->tolerance)
			return true;
	return false;
}

void soak_model_incarnation(struct soak_model *m, int64_t vms, int64_t wall_offset_ms)
{
	for (unsigned i = 0; i < SOAK_MAX_INSTANCES; i++) {
		free(m->in[i].crashes);
		m->in[i] = (struct minst){.restart_at = -1, .fork_begin = NEVER, .fork_end = NEVER};
	}
	m->nall = 0;
	m->restarts_total = 0;
	m->give_up_due = m->give_up_seen = false;
	m->inc_start = vms;
	m->wall_offset = wall_offset_ms;
	m->next_hb = vms + m->p.heartbeat;
	m->last_line = vms;
	/* What the last one was still waiting for died with it. */
	m->nx = 0;
	/* A loss still open goes on (the driver turns the fault on again). */
	m->degraded_until = m->nloss && m->loss[m->nloss - 1].end == NEVER ? NEVER : 0;
}

void soak_model_expect(struct soak_model *m, enum soak_expect k, unsigned instance, int64_t vms, int detail)
{
	struct expectation e = {.kind = k, .inst = instance, .at = vms, .detail = detail};
	xappend(&m->x, &m->nx, &e, sizeof e);
}

/* The first heartbeat at or after t of the running incarnation. */
static int64_t heartbeat_after(const struct soak_model *m, int64_t t)
{
	int64_t hb = m->p.heartbeat;
	int64_t k = (t - m->inc_start + hb - 1) / hb;
	return m->inc_start + (k < 1 ? 1 : k) * hb + m->p.tolerance;
}

void soak_model_loss(struct soak_model *m, int64_t begin_vms, int64_t end_vms)
{
	if (end_vms == NEVER) {
		struct window w = {.begin = begin_vms, .end = NEVER, .lost_until = NEVER};
		xappend(&m->loss, &m->nloss, &w, sizeof w);
		m->degraded_until = NEVER;
		return;
	}
	struct window *w = &m->loss[m->nloss - 1];
	w->end = end_vms;
	/* The journal stays suspended until the next heartbeat retries it. */
	w->lost_until = heartbeat_after(m, end_vms + 1);
	m->degraded_until = w->lost_until + m->p.crash_window + m->p.tolerance;
}

void soak_model_forks(struct soak_model *m, unsigned instance, int64_t begin_vms, int64_t end_vms)
{
	if (begin_vms >= 0) /* else: the window grows, from where it began */
		m->in[instance].fork_begin = begin_vms;
	m->in[instance].fork_end = end_vms;
}

static bool maybe_lost(const struct soak_model *m, int64_t t)
{
	for (size_t i = 0; i < m->nloss; i++)
		if (t >= m->loss[i].begin - m->p.tolerance && t < m->loss[i].lost_until)
			return true;
	return false;
}

static bool near(const struct soak_model *m, int64_t a, int64_t b)
{
	return llabs(a - b) <= m->p.tolerance;
}

/* Does expectation e match a line at vms? Exactly with a simulated clock.
 * With a real one within the tolerance, and a watchdog up to one round of
 * signs later: the worker may have petted once more between our look at its
 * watchdog age and its reading of `hang`. */
static bool matches(const struct soak_model *m, const struct expectation *e, int64_t vms)
{
	if (near(m, e->at, vms))
		return true;
	bool watchdog = e->kind == SOAK_EXPECT_WATCHDOG || e->kind == SOAK_EXPECT_CRASH_WATCHDOG;
	return m->p.tolerance && watchdog && vms >= e->at && vms - e->at <= m->p.tolerance + m->p.pet_every;
}

static bool take_expectation(struct soak_model *m, enum soak_expect k, unsigned inst, int64_t vms, int detail)
{
	for (size_t i = 0; i < m->nx; i++) {
		struct expectation *e = &m->x[i];
		if (e->kind == k && e->inst == inst && e->detail == detail && matches(m, e, vms)) {
			m->x[i] = m->x[--m->nx];
			m->c.checked_expectations++;
			return true;
		}
	}
	return false;
}

static int64_t jnum_ms(const struct tether_json *j, const char *key)
{
	const struct tether_json *v = tether_json_get(j, key);
	return v && v->type == TETHER_JSON_NUMBER ? (int64_t)llround(v->number * 1000.0) : -1;
}

static int64_t jint(const struct tether_json *j, const char *key, int64_t dflt)
{
	const struct tether_json *v = tether_json_get(j, key);
	return v && v->type == TETHER_JSON_NUMBER && v->is_int ? v->integer : dflt;
}

static void on_start(struct soak *s, struct soak_model *m, unsigned i, int64_t vms)
{
	struct minst *in = &m->in[i];
	char t[32];
	if (in->backoff && in->restart_at >= 0 && !near(m, vms, in->restart_at) &&
	    !(m->p.tolerance && vms > in->restart_at && vms - in->restart_at <= 4 * m->p.tolerance))
		soak_fail(s, "instance %u restarted at %s, expected at %s (its crash + the backoff)", i,
			  soak_fmt_vms(vms, t, sizeof t), soak_fmt_vms(in->restart_at, (char[32]){0}, 32));
	if (!m->p.tolerance && vms > in->fork_begin && vms <= in->fork_end)
		soak_fail(s, "instance %u started at %s although every fork failed (window until %s)", i,
			  soak_fmt_vms(vms, t, sizeof t), soak_fmt_vms(in->fork_end, (char[32]){0}, 32));
	in->backoff = false;
	in->restart_at = -1;
}

static void on_crash(struct soak *s, struct soak_model *m, const struct tether_json *j, unsigned i, int64_t vms)
{
	struct minst *in = &m->in[i];
	const struct tether_json *reason = tether_json_get(j, "reason");
	const char *r = reason && reason->string ? reason->string : "?";
	char t[32];
	m->c.crashes++;
	bool explained;
	if (!strcmp(r, "signal"))
		explained = take_expectation(m, SOAK_EXPECT_CRASH_SIGNAL, i, vms, (int)jint(j, "signal", -1));
	else if (!strcmp(r, "exit"))
		explained = take_expectation(m, SOAK_EXPECT_CRASH_EXIT, i, vms, (int)jint(j, "code", -1));
	else if (!strcmp(r, "watchdog"))
		explained = take_expectation(m, SOAK_EXPECT_CRASH_WATCHDOG, i, vms, 0);
	else if (!strcmp(r, "start_failed")) {
		m->c.start_failed++;
		explained = in->fork_begin != NEVER && vms >= in->fork_begin - m->p.tolerance &&
			    vms <= in->fork_end + m->p.tolerance;
		if (explained && in->backoff && in->restart_at >= 0 && !near(m, vms, in->restart_at) && !m->p.tolerance)
			soak_fail(s, "instance %u tried to restart at %s, expected at %s", i, soak_fmt_vms(vms, t, sizeof t),
				  soak_fmt_vms(in->restart_at, (char[32]){0}, 32));
	} else
		explained = false;
	if (!explained)
		soak_fail(s, "unexplained crash of instance %u at %s (reason %s): nothing the schedule did causes it", i,
			  soak_fmt_vms(vms, t, sizeof t), r);
	in->backoff = false;
	xappend(&in->crashes, &in->ncrash, &vms, sizeof vms);
	xappend(&m->all, &m->nall, &vms, sizeof vms);
	size_t k = in_window(&in->crashes, &in->ncrash, vms, m->p.crash_window);
	size_t total = in_window(&m->all, &m->nall, vms, m->p.crash_window);
	in->last_crash = vms;
	in->restart_pending = true;
	in->expected_delay = backoff(&m->p, k);
	bool judge = !degraded(m, vms) && !edge_ambiguous(m->all, m->nall, vms, &m->p);
	int64_t said = jint(j, "crashes_in_window", -1);
	if (judge && said != (int64_t)total)
		soak_fail(s, "crash of instance %u at %s: crashes_in_window %lld, the model counts %zu", i,
			  soak_fmt_vms(vms, t, sizeof t), (long long)said, total);
	if (total > m->p.crash_limit)
		m->give_up_due = true;
	if (!judge)
		in->expected_delay = -1;
}

static void on_restart(struct soak *s, struct soak_model *m, const struct tether_json *j, unsigned i, int64_t vms)
{
	struct minst *in = &m->in[i];
	int64_t delay = jnum_ms(j, "delay_s");
	char t[32];
	m->c.restarts++;
	m->restarts_total++;
	if (!in->restart_pending && !degraded(m, vms))
		soak_fail(s, "restart of instance %u at %s without a crash before it", i, soak_fmt_vms(vms, t, sizeof t));
	if (m->give_up_due && !degraded(m, vms))
		soak_fail(s, "instance %u restarted at %s after the crash limit was passed (a give-up was due)", i,
			  soak_fmt_vms(vms, t, sizeof t));
	if (in->restart_pending && in->expected_delay >= 0) {
		m->c.checked_delays++;
		if (delay != in->expected_delay)
			soak_fail(s, "restart of instance %u at %s: delay %.3fs, the policy says %.3fs (%zu crash(es) of it in the window)",
				  i, soak_fmt_vms(vms, t, sizeof t), (double)delay / 1000, (double)in->expected_delay / 1000,
				  in->ncrash);
	}
	in->restart_pending = false;
	in->backoff = true;
	in->restart_at = delay >= 0 ? in->last_crash + delay : -1;
}

static void on_heartbeat(struct soak *s, struct soak_model *m, const struct tether_json *j, int64_t vms)
{
	char t[32], u[32];
	m->c.heartbeats++;
	/* A whole interval (or more) since the one expected: those in between
	 * must all have been lost to ENOSPC. */
	for (; vms >= m->next_hb + m->p.heartbeat - m->p.tolerance; m->next_hb += m->p.heartbeat)
		if (!maybe_lost(m, m->next_hb))
			soak_fail(s, "no heartbeat at %s (the next one came at %s)", soak_fmt_vms(m->next_hb, t, sizeof t),
				  soak_fmt_vms(vms, u, sizeof u));
	if (!near(m, vms, m->next_hb))
		soak_fail(s, "heartbeat at %s, expected at %s (every %llds)", soak_fmt_vms(vms, t, sizeof t),
			  soak_fmt_vms(m->next_hb, u, sizeof u), (long long)(m->p.heartbeat / 1000));
	else
		m->c.checked_heartbeats++;
	m->next_hb = vms + m->p.heartbeat;
	size_t total = in_window(&m->all, &m->nall, vms, m->p.crash_window);
	if (degraded(m, vms)) {
		m->restarts_total = (unsigned)jint(j, "restarts_total", m->restarts_total);
		return;
	}
	if (edge_ambiguous(m->all, m->nall, vms, &m->p))
		return;
	unsigned active = 0;
	for (unsigned i = 0; i < m->p.instances; i++)
		active += !m->in[i].backoff || (m->in[i].restart_at >= 0 && m->in[i].restart_at <= vms);
	if (jint(j, "crashes_in_window", -1) != (int64_t)total || jint(j, "restarts_total", -1) != m->restarts_total ||
	    (!m->p.tolerance && jint(j, "instances_active", -1) != active))
		soak_fail(s, "heartbeat at %s says crashes_in_window %lld, restarts_total %lld, instances_active %lld; "
			     "the model: %zu, %u, %u", soak_fmt_vms(vms, t, sizeof t), (long long)jint(j, "crashes_in_window", -1),
			  (long long)jint(j, "restarts_total", -1), (long long)jint(j, "instances_active", -1), total,
			  m->restarts_total, active);
}

/* A journal line's "ts", "2026-11-25T17:00:00.250Z" (or without .mmm), in
 * ms since the epoch; -1 when it is not one. */
static int64_t parse_ts(const char *ts)
{
	struct tm tm = {0};
	int ms = 0, used = 0;
	if (!ts || sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			  &tm.tm_min, &tm.tm_sec, &used) != 6)
		return -1;
	const char *rest = ts + used;
	if (rest[0] == '.') {
		if (sscanf(rest, ".%3d", &ms) != 1 || strlen(rest) != 5)
			return -1;
	} else if (strcmp(rest, "Z") != 0) {
		return -1;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	return t < 0 ? -1 : (int64_t)t * 1000 + ms;
}

void soak_model_line(struct soak *s, struct soak_model *m, const char *line, size_t len)
{
	struct tether_json *j;
	m->c.lines++;
	if (tether_json_parse(line, len, 32, &j) < 0) {
		soak_fail(s, "journal: a line that is not JSON: %.*s", (int)(len > 160 ? 160 : len), line);
		return;
	}
	const struct tether_json *ts = tether_json_get(j, "ts"), *ev = tether_json_get(j, "event");
	int64_t ms = parse_ts(ts ? ts->string : NULL);
	const char *e = ev && ev->string ? ev->string : "";
	if (ms < 0 || !*e) {
		soak_fail(s, "journal: a line without a valid ts or event: %.*s", (int)(len > 160 ? 160 : len), line);
		tether_json_free(j);
		return;
	}
	int64_t vms = ms - m->wall_offset;
	char t[32];
	/* every line, log_error's too (journal.c), has a ts in milliseconds */
	if (vms + m->p.tolerance < m->last_line)
		soak_fail(s, "journal: time goes back, %s after %s: %.100s", soak_fmt_vms(vms, t, sizeof t),
			  soak_fmt_vms(m->last_line, (char[32]){0}, 32), line);
	if (vms > m->last_line)
		m->last_line = vms;
	hash_line(m, j, e, vms);
	int64_t inst = jint(j, "instance", -1);
	bool has_inst = inst >= 0 && inst < (int64_t)m->p.instances;
	if (!strcmp(e, "heartbeat")) {
		on_heartbeat(s, m, j, vms);
	} else if (!strcmp(e, "start") && has_inst) {
		on_start(s, m, (unsigned)inst, vms);
	} else if (!strcmp(e, "crash") && has_inst) {
		on_crash(s, m, j, (unsigned)inst, vms);
	} else if (!strcmp(e, "restart") && has_inst) {
		on_restart(s, m, j, (unsigned)inst, vms);
	} else if (!strcmp(e, "watchdog") && has_inst) {
		m->c.watchdogs++;
		int64_t silent = jnum_ms(j, "silent_s");
		if (!take_expectation(m, SOAK_EXPECT_WATCHDOG, (unsigned)inst, vms, 0))
			soak_fail(s, "watchdog killed instance %lld at %s, which was not hung", (long long)inst,
				  soak_fmt_vms(vms, t, sizeof t));
		else if (silent < m->p.watchdog || silent > m->p.watchdog + m->p.tolerance + m->p.pet_every * (m->p.tolerance > 0))
			soak_fail(s, "watchdog fired at %s after %.3fs of silence, --watchdog is %.3fs",
				  soak_fmt_vms(vms, t, sizeof t), (double)silent / 1000, (double)m->p.watchdog / 1000);
	} else if (!strcmp(e, "give_up")) {
		m->c.give_ups++;
		m->give_up_seen = true;
		if (!m->give_up_due && !degraded(m, vms))
			soak_fail(s, "give-up at %s with %lld crashes in the window, the limit being %u", soak_fmt_vms(vms, t, sizeof t),
				  (long long)jint(j, "crashes_in_window", -1), m->p.crash_limit);
	} else if (!strcmp(e, "log_error")) {
		m->c.log_errors++;
		m->c.lost_lines += (unsigned)jint(j, "lost_lines", 0);
		if (jint(j, "errno", 0) != 28 || jint(j, "lost_lines", 0) < 1 || !maybe_lost(m, vms - 1000))
			soak_fail(s, "journal: unexpected log_error at %s: %.160s", soak_fmt_vms(vms, t, sizeof t), line);
	} else if (!strcmp(e, "start") || !strcmp(e, "crash") || !strcmp(e, "restart") || !strcmp(e, "watchdog")) {
		soak_fail(s, "journal: %s line without a valid instance: %.160s", e, line);
	}
	tether_json_free(j);
}

void soak_model_check_due(struct soak *s, struct soak_model *m, int64_t vms)
{
	static const char *const what[] = {
		[SOAK_EXPECT_CRASH_SIGNAL] = "crash by signal", [SOAK_EXPECT_CRASH_EXIT] = "crash by exit code",
		[SOAK_EXPECT_WATCHDOG] = "watchdog kill", [SOAK_EXPECT_CRASH_WATCHDOG] = "crash by the watchdog",
	};
	char t[32];
	for (size_t i = 0; i < m->nx;) {
		struct expectation *e = &m->x[i];
		int64_t late = e->at + m->p.tolerance + (e->kind >= SOAK_EXPECT_WATCHDOG && m->p.tolerance ? m->p.pet_every : 0);
		if (late > vms) {
			i++;
			continue;
		}
		if (!maybe_lost(m, e->at))
			soak_fail(s, "expected a %s (%d) of instance %u at %s: not in the journal", what[e->kind], e->detail,
				  e->inst, soak_fmt_vms(e->at, t, sizeof t));
		m->x[i] = m->x[--m->nx];
	}
}

void soak_model_check_exit(struct soak *s, struct soak_model *m, int code, int64_t vms)
{
	char t[32];
	if (code != 1 || (!m->give_up_due && !degraded(m, vms)))
		soak_fail(s, "tether exited by itself at %s with code %d%s", soak_fmt_vms(vms, t, sizeof t), code,
			  m->give_up_due ? "" : " without passing the crash limit");
	else if (!m->give_up_seen && !maybe_lost(m, vms))
		soak_fail(s, "tether gave up at %s without a give_up line", soak_fmt_vms(vms, t, sizeof t));
}

void soak_model_check_status(struct soak *s, struct soak_model *m, const struct tether_json *status, int64_t vms)
{
	const struct tether_json *ins = tether_json_get(status, "instances");
	char t[32];
	if (!ins || ins->count != m->p.instances) {
		soak_fail(s, "status at %s lists %zu instances, not %u", soak_fmt_vms(vms, t, sizeof t), ins ? ins->count : 0,
			  m->p.instances);
		return;
	}
	bool judge = !degraded(m, vms) && !m->give_up_due;
	for (unsigned i = 0; i < m->p.instances; i++) {
		const struct tether_json *st = tether_json_get(ins->items[i], "state");
		const char *v = st && st->string ? st->string : "?";
		bool backoff = !strcmp(v, "backoff");
		if (!backoff && strcmp(v, "running") != 0) {
			if (!m->give_up_due)
				soak_fail(s, "instance %u is %s at %s: after a settle every instance runs or waits to restart",
					  i, v, soak_fmt_vms(vms, t, sizeof t));
			continue;
		}
		if (judge && backoff != m->in[i].backoff)
			soak_fail(s, "instance %u is %s at %s; its journal says %s", i, v, soak_fmt_vms(vms, t, sizeof t),
				  m->in[i].backoff ? "backoff" : "running");
		if (!judge && backoff != m->in[i].backoff) {
			/* Lines were lost: take tether's word until the model is exact again. */
			m->in[i].backoff = backoff;
			m->in[i].restart_at = -1;
		}
	}
	if (judge && !edge_ambiguous(m->all, m->nall, vms, &m->p)) {
		size_t total = in_window(&m->all, &m->nall, vms, m->p.crash_window);
		const struct tether_json *c = tether_json_get(status, "crashes_in_window");
		if (!c || !c->is_int || c->integer != (int64_t)total)
			soak_fail(s, "status at %s: crashes_in_window %lld, the model counts %zu", soak_fmt_vms(vms, t, sizeof t),
				  c && c->is_int ? (long long)c->integer : -1LL, total);
	}
}
