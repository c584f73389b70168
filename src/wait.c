/* SPDX-License-Identifier: MIT */
/* wait.c — see wait.h. */
#include "config.h"

#include <errno.h>

#include "sys.h"
#include "wait.h"

/* A poll that came back early after having waited at least this long was a
 * real wait that something interrupted (a signal every 50 ms must not end a
 * query: harness/unit/test_control.c); only returns quicker than this are
 * counted, as a fault that keeps failing the call returns at once. */
#define EARLY_NS TETHER_NSEC_PER_MSEC

int tether_wait_fd(struct pollfd *pfd, const struct tether_clock *clock, int64_t deadline)
{
	int last = -EINTR;
	for (int early = 0; early < TETHER_WAIT_EARLY_MAX;) {
		int timeout = tether_clock_poll_timeout(clock, deadline);
		int64_t t0 = tether_clock_now(clock);
		pfd->revents = 0;
		int r = sys_poll(pfd, 1, timeout);
		if (r > 0)
			return 1;
		int64_t now = tether_clock_now(clock);
		if (r == 0 && (timeout == 0 || now >= deadline))
			return 0;
		/* an error, or no event before the deadline: interrupted */
		last = r < 0 ? r : -EINTR;
		early = now - t0 >= EARLY_NS ? 0 : early + 1;
	}
	return last;
}

int tether_wait_until(const struct tether_clock *clock, int64_t until)
{
	int last = -EINTR;
	for (int early = 0; early < TETHER_WAIT_EARLY_MAX;) {
		int64_t t0 = tether_clock_now(clock);
		if (t0 >= until)
			return 0;
		int timeout = tether_clock_poll_timeout(clock, until);
		if (timeout < 0)
			return -ETIME;
		int r = sys_poll(NULL, 0, timeout);
		int64_t now = tether_clock_now(clock);
		if (r == 0 && now >= until)
			return 0;
		last = r < 0 ? r : -EINTR;
		early = now - t0 >= EARLY_NS ? 0 : early + 1;
	}
	return last;
}

void tether_backoff_init(struct tether_backoff *b, int64_t first, int64_t max)
{
	b->gap = first;
	b->max = max;
}

int64_t tether_backoff_next(struct tether_backoff *b)
{
	int64_t gap = b->gap;
	b->gap = gap > b->max / 2 ? b->max : gap * 2;
	return gap;
}
