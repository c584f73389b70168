/* SPDX-License-Identifier: MIT */
/* soak_schedule.c — the soak's events, drawn up front from the seed.
 *
 * Determinism is the point: the same (seed, duration, instances) gives the
 * same list on any machine, so a failure replays from its seed. Hence our own
 * PRNG (xoshiro256**, seeded through splitmix64 — never rand(), whose
 * sequence is libc's business) and integer arithmetic only: no libm, whose
 * last bits may differ between versions. Each kind of event draws from its
 * own stream, so changing one kind's rate leaves the others' times alone.
 *
 * The digest (FNV-1a over the parameters and every field of every event)
 * names the schedule: `schedule <hex>` is printed before the run, and a
 * replay that prints another digest is not a replay.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "soak/soak.h"

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n), n > 0, without modulo bias (rejection). */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = rng_next(r);
	while (x >= limit);
	return x % n;
}

/* How often each kind happens (mean gap between two, virtual ms). Tuned for a
 * day with a handful of everything: crashes every few minutes somewhere in
 * the pool, a hang an hour, storms long enough to give up about once a day,
 * two or three tether kills, a few ENOSPC and fork-failure spells. */
static const int64_t mean_gap[SOAK_EV_NKINDS] = {
	[SOAK_EV_CRASH] = 20 * MS_PER_MIN,
	[SOAK_EV_EXIT] = 30 * MS_PER_MIN,
	[SOAK_EV_HANG] = 60 * MS_PER_MIN,
	[SOAK_EV_STORM] = 150 * MS_PER_MIN,
	[SOAK_EV_FLOOD] = 60 * MS_PER_MIN,
	[SOAK_EV_ENOSPC] = 6 * MS_PER_HOUR,
	[SOAK_EV_FORKFAIL] = 4 * MS_PER_HOUR,
	[SOAK_EV_KILL] = 8 * MS_PER_HOUR,
	[SOAK_EV_INTRUDER] = 6 * MS_PER_HOUR,
};

const char *soak_kind_name(enum soak_kind k)
{
	static const char *const names[SOAK_EV_NKINDS] = {
		[SOAK_EV_CRASH] = "crash",     [SOAK_EV_EXIT] = "exit",         [SOAK_EV_HANG] = "hang",
		[SOAK_EV_STORM] = "storm",     [SOAK_EV_FLOOD] = "flood",       [SOAK_EV_ENOSPC] = "enospc",
		[SOAK_EV_FORKFAIL] = "forkfail", [SOAK_EV_KILL] = "kill_tether", [SOAK_EV_INTRUDER] = "intruder",
	};
	return (unsigned)k < SOAK_EV_NKINDS ? names[k] : "?";
}

/* The details of one event of kind k, drawn from its stream. */
static void draw(struct rng *r, enum soak_kind k, unsigned instances, struct soak_event *e)
{
	static const unsigned exit_codes[] = {1, 2, 3, 42, 70, 255};
	e->target = (unsigned)rng_below(r, instances);
	switch (k) {
	case SOAK_EV_EXIT:
		e->n = exit_codes[rng_below(r, sizeof exit_codes / sizeof exit_codes[0])];
		break;
	case SOAK_EV_STORM:
		/* Mostly short bursts; one in eight runs past any crash limit up
		 * to 8 (with backoff 1s..60s, nine crashes of one instance take
		 * about 3 minutes, inside the 5-minute window): a give-up. */
		e->n = rng_below(r, 8) == 0 ? 9 + (unsigned)rng_below(r, 4) : 2 + (unsigned)rng_below(r, 5);
		break;
	case SOAK_EV_FLOOD:
		e->n = 100 + (unsigned)rng_below(r, 1900);
		e->fds = (unsigned)rng_below(r, 256);
		break;
	case SOAK_EV_ENOSPC:
		e->len = 2 * MS_PER_MIN + (int64_t)rng_below(r, (uint64_t)(38 * MS_PER_MIN));
		break;
	case SOAK_EV_FORKFAIL:
		e->len = 5 * MS_PER_SEC + (int64_t)rng_below(r, (uint64_t)(40 * MS_PER_SEC));
		break;
	default:
		break;
	}
}

static int cmp_event(const void *a, const void *b)
{
	const struct soak_event *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->target < y->target ? -1 : x->target > y->target;
}

static void fnv(uint64_t *h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		*h ^= (v >> (8 * i)) & 0xff;
		*h *= UINT64_C(0x100000001b3);
	}
}

void soak_schedule_make(uint64_t seed, int64_t duration_ms, unsigned instances, struct soak_schedule *ret)
{
	struct soak_event *ev = NULL;
	size_t n = 0;
	for (int k = 0; k < SOAK_EV_NKINDS; k++) {
		struct rng r;
		rng_seed(&r, seed ^ (UINT64_C(0x5851f42d4c957f2d) * (uint64_t)(k + 1)));
		/* Gaps uniform in [1, 2 * mean]: the mean rate, and no libm. */
		for (int64_t at = 0;;) {
			at += 1 + (int64_t)rng_below(&r, (uint64_t)(2 * mean_gap[k]));
			if (at >= duration_ms)
				break;
			struct soak_event e = {.at = at, .kind = (enum soak_kind)k};
			draw(&r, (enum soak_kind)k, instances, &e);
			xappend(&ev, &n, &e, sizeof e);
		}
	}
	if (n)
		qsort(ev, n, sizeof *ev, cmp_event);
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	fnv(&h, seed);
	fnv(&h, (uint64_t)duration_ms);
	fnv(&h, instances);
	for (size_t i = 0; i < n; i++) {
		fnv(&h, (uint64_t)ev[i].at);
		fnv(&h, (uint64_t)ev[i].kind);
		fnv(&h, ev[i].target);
		fnv(&h, ev[i].n);
		fnv(&h, ev[i].fds);
		fnv(&h, (uint64_t)ev[i].len);
	}
	*ret = (struct soak_schedule){.ev = ev, .n = n, .digest = h};
}

void soak_schedule_free(struct soak_schedule *s)
{
	free(s->ev);
	*s = (struct soak_schedule){0};
}
