/* SPDX-License-Identifier: MIT */
/* simclock.c — see simclock.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fault.h"
#include "simclock.h"

/* ---- the clock ---------------------------------------------------------------------- */

static const struct tether_sim_clock *sim_of(const struct tether_clock *c)
{
	return (const struct tether_sim_clock *)c;
}

static int64_t sim_now(const struct tether_clock *c)
{
	return sim_of(c)->now;
}

static int64_t sim_wall(const struct tether_clock *c)
{
	const struct tether_sim_clock *s = sim_of(c);
	return s->wall_base + (s->now - s->mono_base);
}

static int sim_poll_timeout(const struct tether_clock *c, int64_t deadline)
{
	if (deadline == TETHER_NEVER)
		return -1;
	/* never a wait in real time for a virtual deadline: the driver moves
	 * the clock */
	return deadline <= sim_of(c)->now ? 0 : -1;
}

static int64_t read_clock(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * TETHER_NSEC_PER_SEC + ts.tv_nsec;
}

void tether_sim_clock_init(struct tether_sim_clock *c)
{
	*c = (struct tether_sim_clock){
		.clock = {.now = sim_now, .wall = sim_wall, .poll_timeout = sim_poll_timeout, .name = "simulated"},
	};
	c->mono_base = c->now = read_clock(CLOCK_MONOTONIC);
	c->wall_base = read_clock(CLOCK_REALTIME);
}

void tether_sim_clock_advance(struct tether_sim_clock *c, int64_t to)
{
	if (to > c->now)
		c->now = to;
}

/* ---- the driver --------------------------------------------------------------------- */

static void count_note(void *data)
{
	struct tether_lab *lab = data;
	lab->notes++;
}

static void count_sign(void *data)
{
	struct tether_lab *lab = data;
	lab->signs++;
}

static void clock_json(struct tether_lab *lab, struct tether_supervisor *sv, struct tether_buf *out)
{
	int64_t next = tether_supervisor_next_deadline(sv);
	tether_buf_printf(out, "{\"now\":%lld,\"wall\":%lld,\"notes\":%llu,\"signs\":%llu,\"next\":",
			  (long long)lab->clock.now, (long long)sim_wall(&lab->clock.clock),
			  (unsigned long long)lab->notes, (unsigned long long)lab->signs);
	if (next == TETHER_NEVER)
		tether_buf_puts(out, "null}");
	else
		tether_buf_printf(out, "%lld}", (long long)next);
}

static int request(void *data, struct tether_supervisor *sv, const char *req, const struct tether_control_peer *peer,
		   struct tether_buf *out)
{
	struct tether_lab *lab = data;
	if (strcmp(req, "clock") == 0) {
		clock_json(lab, sv, out);
		return 1;
	}
	unsigned long long after, signs = 0;
	if (sscanf(req, "settle %llu %llu", &after, &signs) >= 1) {
		/* answered later, by answer_settles, when true */
		for (size_t i = 0; i < TETHER_LAB_SETTLES; i++)
			if (!lab->settles[i].used) {
				lab->settles[i].used = true;
				lab->settles[i].peer = *peer;
				lab->settles[i].after = after;
				lab->settles[i].signs = signs;
				return 1;
			}
		tether_buf_puts(out, "{\"error\":\"too many pending settle requests\"}");
		return 1;
	}
	long long to;
	if (sscanf(req, "advance %lld", &to) == 1) {
		tether_sim_clock_advance(&lab->clock, to);
		tether_buf_printf(out, "{\"now\":%lld}", (long long)lab->clock.now);
		return 1;
	}
	if (strncmp(req, "fault ", 6) == 0) {
		tether_fault_request(req, out);
		return 1;
	}
	return 0;
}

/* The end of a round: answers the pending "settle" requests now satisfied. */
static void answer_settles(void *data, struct tether_supervisor *sv)
{
	struct tether_lab *lab = data;
	for (size_t i = 0; i < TETHER_LAB_SETTLES; i++) {
		if (!lab->settles[i].used || lab->notes <= lab->settles[i].after || lab->signs < lab->settles[i].signs ||
		    !tether_supervisor_quiescent(sv))
			continue;
		struct tether_buf out;
		tether_buf_init(&out);
		clock_json(lab, sv, &out);
		if (!out.oom)
			tether_supervisor_reply(sv, &lab->settles[i].peer, out.data, out.len);
		tether_buf_done(&out);
		lab->settles[i].used = false;
	}
}

const struct tether_lab_hooks *tether_lab_init(struct tether_lab *lab)
{
	*lab = (struct tether_lab){0};
	tether_sim_clock_init(&lab->clock);
	lab->hooks = (struct tether_lab_hooks){
		.data = lab,
		.note = count_note,
		.sign = count_sign,
		.request = request,
		.round = answer_settles,
	};
	return &lab->hooks;
}
