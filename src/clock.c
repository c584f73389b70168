/* clock.c — see clock.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "clock.h"

static int64_t read_clock(clockid_t id)
{
	struct timespec ts;
	/* clock_gettime cannot fail for these ids on Linux (vDSO). */
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * TETHER_NSEC_PER_SEC + ts.tv_nsec;
}

void tether_clock_init_real(struct tether_clock *c)
{
	*c = (struct tether_clock){.simulated = false};
}

void tether_clock_init_sim(struct tether_clock *c)
{
	*c = (struct tether_clock){.simulated = true};
	c->sim_mono_base = c->sim_now = read_clock(CLOCK_MONOTONIC);
	c->sim_wall_base = read_clock(CLOCK_REALTIME);
}

int64_t tether_clock_now(const struct tether_clock *c)
{
	return c->simulated ? c->sim_now : read_clock(CLOCK_MONOTONIC);
}

int64_t tether_clock_wall(const struct tether_clock *c)
{
	if (c->simulated)
		return c->sim_wall_base + (c->sim_now - c->sim_mono_base);
	return read_clock(CLOCK_REALTIME);
}

int tether_clock_poll_timeout(const struct tether_clock *c, int64_t deadline)
{
	if (deadline == TETHER_NEVER)
		return -1;
	int64_t now = tether_clock_now(c);
	if (deadline <= now)
		return 0;
	if (c->simulated)
		return -1;
	int64_t ms = (deadline - now + TETHER_NSEC_PER_MSEC - 1) / TETHER_NSEC_PER_MSEC;
	return ms > 86400000 ? 86400000 : (int)ms;
}

int tether_clock_sim_advance(struct tether_clock *c, int64_t to)
{
	if (!c->simulated)
		return -EINVAL;
	if (to > c->sim_now)
		c->sim_now = to;
	return 0;
}

char *tether_format_iso8601(int64_t wall_ns, bool ms, char *buf, unsigned long len)
{
	time_t secs = (time_t)(wall_ns / TETHER_NSEC_PER_SEC);
	struct tm tm;
	gmtime_r(&secs, &tm);
	if (ms)
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)((wall_ns / TETHER_NSEC_PER_MSEC) % 1000));
	else
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}
