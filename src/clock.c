/* SPDX-License-Identifier: MIT */
/* clock.c — see clock.h. */
#include "config.h"

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

static int64_t real_now(const struct tether_clock *c)
{
	(void)c;
	return read_clock(CLOCK_MONOTONIC);
}

static int64_t real_wall(const struct tether_clock *c)
{
	(void)c;
	return read_clock(CLOCK_REALTIME);
}

static int real_poll_timeout(const struct tether_clock *c, int64_t deadline)
{
	if (deadline == TETHER_NEVER)
		return -1;
	int64_t now = real_now(c);
	if (deadline <= now)
		return 0;
	int64_t ms = (deadline - now + TETHER_NSEC_PER_MSEC - 1) / TETHER_NSEC_PER_MSEC;
	return ms > 86400000 ? 86400000 : (int)ms;
}

static const struct tether_clock real_clock = {
	.now = real_now,
	.wall = real_wall,
	.poll_timeout = real_poll_timeout,
	.name = "real",
};

void tether_clock_init_real(struct tether_clock *c)
{
	*c = real_clock;
}

const struct tether_clock *tether_clock_real(void)
{
	return &real_clock;
}

int64_t tether_clock_now(const struct tether_clock *c)
{
	return c->now(c);
}

int64_t tether_clock_wall(const struct tether_clock *c)
{
	return c->wall(c);
}

int tether_clock_poll_timeout(const struct tether_clock *c, int64_t deadline)
{
	return c->poll_timeout(c, deadline);
}

/* The proleptic Gregorian date of a day count since 1970-01-01, computed by
 * hand rather than with gmtime_r: glibc's reads /etc/localtime on first use
 * (seven system calls at every start) for a zone UTC never needs. Days are
 * counted in 400-year eras of 146097 days from 0000-03-01, so that the leap
 * day ends each year. */
static void civil_from_days(int64_t days, int64_t *ret_y, int *ret_m, int *ret_d)
{
	int64_t z = days + 719468; /* days from 0000-03-01 */
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;                                     /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              /* [0, 365], from March 1 */
	int64_t mp = (5 * doy + 2) / 153;                                   /* [0, 11], March = 0 */
	*ret_d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*ret_m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*ret_y = yoe + era * 400 + (*ret_m <= 2);
}

char *tether_format_iso8601(int64_t wall_ns, bool ms, char *buf, unsigned long len)
{
	int64_t secs = wall_ns / TETHER_NSEC_PER_SEC;
	int64_t frac = wall_ns % TETHER_NSEC_PER_SEC;
	if (frac < 0) {
		frac += TETHER_NSEC_PER_SEC;
		secs--;
	}
	int64_t days = secs / 86400, sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	int hh = (int)(sod / 3600), mm = (int)(sod / 60 % 60), ss = (int)(sod % 60);
	if (ms)
		snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d, hh, mm, ss,
			 (int)(frac / TETHER_NSEC_PER_MSEC));
	else
		snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, hh, mm, ss);
	return buf;
}
