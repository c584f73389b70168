/* SPDX-License-Identifier: MIT */
/* stress_faults.c — `--faults SPEC`, the schedule drawn from the seed, and
 * the environment that gives one tether its fault (see stress.h).
 *
 * SPEC is a comma-separated list of KIND[:SHARE]: SHARE is the fraction of
 * cycles given to that fault (default 0.1); "all[:SHARE]" is every kind;
 * "none" is no fault. The shares must add up to at most 1; each cycle gets at
 * most one fault. The kinds, and how each is injected:
 *
 *   enospc   the pidfile record's write fails with ENOSPC (TETHER_FAULT, the
 *            counted rule inside tether: tether/sys/write, 1st call): the start
 *            must fail with 73 and the strerror, and leave no file and no process.
 *   eintr    every tether/sys/ call fails with EINTR at random (libfiu's
 *            enable_random on tether/sys/ *, probability STRESS_EINTR_RATE per
 *            call, FIU_PRNG_SEED drawn from the seed); also in `tether stop`:
 *            the cycle must pass as usual (G7). sys.c retries or tolerates an
 *            EINTR from every point, close and fork included.
 *   eagain   the k-th process creation in tether fails with EAGAIN, once
 *            (TETHER_FAULT tether/sys/fork, k drawn in 1..instances): a failed
 *            start with backoff (STRESS_EAGAIN_BACKOFF_MS), after which the
 *            restart must make every instance ready.
 *   sigkill  tether is SIGKILLed at a drawn moment: during startup (0–5 ms
 *            after the spawn) or right after ready; its tree must be gone within
 *            2 s, and a fresh start on the same pidfile must then succeed.
 *   sigterm  tether gets SIGTERM at a drawn moment 0–5 ms after the spawn
 *            (mostly during startup): whenever it lands, tether must stop
 *            gracefully — exit 0, no record, no lock, no process left (SPEC §1).
 *
 * The draw for cycle i is a pure function of (seed, i): the same seed gives
 * the same schedule, whatever the timing of the run.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "json.h"
#include "stress/stress.h"

#define DEFAULT_SHARE 0.1
/* sigkill during startup: the kill lands in [0, this) after the spawn,
 * which spans a start→ready on this machine kind (a few ms) */
#define KILL_EARLY_SPAN_NS (5 * NS_PER_MS)

static const char *const kind_names[STRESS_FAULT_KINDS] = {"none", "enospc", "eintr", "eagain", "sigkill", "sigterm"};

const char *stress_fault_name(enum stress_fault f)
{
	return (unsigned)f < STRESS_FAULT_KINDS ? kind_names[f] : "?";
}

uint64_t stress_mix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static bool parse_share(const char *s, double *ret)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1))
		return false;
	*ret = v;
	return true;
}

int stress_mix_parse(const char *spec, struct stress_mix *ret, const char **ret_err)
{
	*ret = (struct stress_mix){0};
	char *copy = xstrdup(spec), *save = NULL;
	int rc = 0;
	for (char *item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		double share = DEFAULT_SHARE;
		if (colon) {
			*colon = '\0';
			if (!parse_share(colon + 1, &share)) {
				*ret_err = "a SHARE is a number from 0 to 1 (e.g. eintr:0.2)";
				rc = -1;
				break;
			}
		}
		if (strcmp(item, "none") == 0 && !colon)
			continue;
		if (strcmp(item, "all") == 0) {
			for (int k = STRESS_FAULT_ENOSPC; k < STRESS_FAULT_KINDS; k++)
				ret->share[k] = share;
			continue;
		}
		int kind = -1;
		for (int k = STRESS_FAULT_ENOSPC; k < STRESS_FAULT_KINDS; k++)
			if (strcmp(item, kind_names[k]) == 0)
				kind = k;
		if (kind < 0) {
			*ret_err = "unknown fault kind (enospc, eintr, eagain, sigkill, sigterm, all, none)";
			rc = -1;
			break;
		}
		ret->share[kind] = share;
	}
	free(copy);
	double sum = 0;
	for (int k = STRESS_FAULT_ENOSPC; k < STRESS_FAULT_KINDS; k++)
		sum += ret->share[k];
	if (rc == 0 && sum > 1.0 + 1e-9) {
		*ret_err = "the shares add up to more than 1 (a cycle gets at most one fault)";
		rc = -1;
	}
	if (rc < 0)
		return -1;
	/* normalised, for the report and the replay command */
	struct tether_buf b;
	tether_buf_init(&b);
	for (int k = STRESS_FAULT_ENOSPC; k < STRESS_FAULT_KINDS; k++)
		if (ret->share[k] > 0)
			tether_buf_printf(&b, "%s%s:%g", b.len ? "," : "", kind_names[k], ret->share[k]);
	ret->text = xstrdup(b.len ? b.data : "none");
	tether_buf_done(&b);
	return 0;
}

void stress_mix_free(struct stress_mix *m)
{
	free(m->text);
	m->text = NULL;
}

/* The cycle's own stream of draws. */
struct draws {
	uint64_t state;
};

static uint64_t next(struct draws *d)
{
	d->state += UINT64_C(0x9e3779b97f4a7c15);
	return stress_mix64(d->state);
}

static double unit(struct draws *d)
{
	return (double)(next(d) >> 11) / (double)(UINT64_C(1) << 53);
}

void stress_plan_draw(uint64_t seed, unsigned cycle, unsigned instances, const struct stress_mix *mix,
		      struct stress_plan *ret)
{
	struct draws d = {.state = stress_mix64(seed) ^ stress_mix64(UINT64_C(0x5354524553530000) + cycle)};
	*ret = (struct stress_plan){.fault = STRESS_FAULT_NONE};
	/* Every draw is made whatever the outcome, so adding a fault kind's
	 * share does not shift the stop methods of the other cycles. */
	double u = unit(&d);
	uint64_t stop = next(&d), early = next(&d), delay = next(&d), k = next(&d), fiu = next(&d);
	double acc = 0;
	for (int kind = STRESS_FAULT_ENOSPC; kind < STRESS_FAULT_KINDS; kind++) {
		acc += mix->share[kind];
		if (u < acc) {
			ret->fault = (enum stress_fault)kind;
			break;
		}
	}
	/* `tether stop` in a quarter of the cycles, SIGTERM in the rest: the
	 * command adds a process of its own and kernel grace periods (about
	 * 10 ms), so a half-and-half mix would put the cycle p50 on the edge
	 * between two modes; each method is reported on its own as well. */
	ret->stop_cmd = stop % 4 == 0;
	if (ret->fault == STRESS_FAULT_SIGKILL) {
		ret->kill_early = early & 1;
		ret->kill_delay = ret->kill_early ? (int64_t)(delay % (uint64_t)KILL_EARLY_SPAN_NS) : 0;
	} else if (ret->fault == STRESS_FAULT_SIGTERM) {
		ret->kill_early = true;
		ret->kill_delay = (int64_t)(delay % (uint64_t)KILL_EARLY_SPAN_NS);
	} else if (ret->fault == STRESS_FAULT_EAGAIN) {
		ret->fork_k = 1 + (unsigned)(k % (instances ? instances : 1));
	} else if (ret->fault == STRESS_FAULT_EINTR) {
		/* libfiu's PRNG wants a seed that fits its 32-bit state */
		ret->fiu_seed = (uint32_t)(fiu % 4294967291ULL);
	}
}

void stress_plan_describe(const struct stress_plan *p, char *buf, size_t len)
{
	const char *stop = p->stop_cmd ? "stop by command" : "stop by SIGTERM";
	switch (p->fault) {
	case STRESS_FAULT_NONE: snprintf(buf, len, "no fault, %s", stop); break;
	case STRESS_FAULT_ENOSPC: snprintf(buf, len, "enospc on the pidfile write"); break;
	case STRESS_FAULT_EINTR: snprintf(buf, len, "eintr (libfiu seed %u), %s", p->fiu_seed, stop); break;
	case STRESS_FAULT_EAGAIN: snprintf(buf, len, "eagain on fork %u, %s", p->fork_k, stop); break;
	case STRESS_FAULT_SIGKILL:
		if (p->kill_early)
			snprintf(buf, len, "sigkill during startup (+%.3fms), then a fresh start, %s",
				 (double)p->kill_delay / 1e6, stop);
		else
			snprintf(buf, len, "sigkill after ready, then a fresh start, %s", stop);
		break;
	case STRESS_FAULT_SIGTERM:
		snprintf(buf, len, "sigterm at +%.3fms", (double)p->kill_delay / 1e6);
		break;
	default: snprintf(buf, len, "?"); break;
	}
}

static void add(char ***env, size_t *n, char *s)
{
	xappend(env, n, &s, sizeof s);
}

void stress_fault_env(const struct stress_plan *p, const char *report_path, char ***env, size_t *n)
{
	switch (p->fault) {
	case STRESS_FAULT_ENOSPC:
		add(env, n, xasprintf("TETHER_FAULT=tether/sys/write:%d:1:once", ENOSPC));
		add(env, n, xasprintf("TETHER_FAULT_REPORT=%s", report_path));
		break;
	case STRESS_FAULT_EAGAIN:
		add(env, n, xasprintf("TETHER_FAULT=tether/sys/fork:%d:%u:once", EAGAIN, p->fork_k));
		add(env, n, xasprintf("TETHER_FAULT_REPORT=%s", report_path));
		break;
	case STRESS_FAULT_EINTR: {
		/* one wildcard rule: every tether/sys/ point, each call drawn anew */
		add(env, n, xasprintf("FIU_ENABLE=enable_random name=tether/sys/*,probability=%g,failinfo=%d",
				      STRESS_EINTR_RATE, EINTR));
		add(env, n, xasprintf("LD_PRELOAD=%s", FIU_RUN_PRELOAD));
		/* no control FIFO: it would leave /tmp/fiu-ctrl-PID.* behind */
		add(env, n, xasprintf("FIU_CTRL_FIFO="));
		add(env, n, xasprintf("FIU_PRNG_SEED=%u", p->fiu_seed));
		/* a sanitizer build wants its runtime first; the preload comes first by design */
		const char *asan = getenv("ASAN_OPTIONS");
		add(env, n,
		    xasprintf("ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan ? asan : "", asan && *asan ? ":" : ""));
		/* ... and its LeakSanitizer must not count libfiu's own leak
		 * (harness/lsan.supp, as harness/run/fault_env.c does) */
		const char *lsan = getenv("LSAN_OPTIONS");
		add(env, n, xasprintf("LSAN_OPTIONS=%s%ssuppressions=%s/harness/lsan.supp", lsan ? lsan : "",
				      lsan && *lsan ? ":" : "", lab_srcdir()));
		break;
	}
	default:
		break;
	}
}
