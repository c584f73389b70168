/* SPDX-License-Identifier: MIT */
/* fdlimit.c — see fdlimit.h. */
#include "config.h"

#include <errno.h>
#include <sys/resource.h>

#include "fdlimit.h"
#include "sys.h"

unsigned tether_fds_per_instance(const struct tether_config *cfg)
{
	unsigned n = 0;
	n += 1; /* the guardian's channel (a socketpair's end) */
	n += 1; /* the instance's notify socket */
	if (cfg->output) {
		n += 4; /* --output: both ends of its stdout and stderr pipes (output.c) */
		n += 1; /* its own output file, when the name holds %i */
	}
	return n;
}

uint64_t tether_fds_needed(const struct tether_config *cfg)
{
	return TETHER_FDS_FIXED + (uint64_t)cfg->instances * tether_fds_per_instance(cfg);
}

uint64_t tether_fds_instances_within(const struct tether_config *cfg, uint64_t limit)
{
	return limit > TETHER_FDS_FIXED ? (limit - TETHER_FDS_FIXED) / tether_fds_per_instance(cfg) : 0;
}

int tether_fdlimit_prepare(const struct tether_config *cfg, struct tether_fdlimit *ret)
{
	struct rlimit rl;
	*ret = (struct tether_fdlimit){0};
	int r = sys_getrlimit(RLIMIT_NOFILE, &rl);
	if (r < 0)
		return 0; /* cannot tell: as before, every descriptor is tried */
	ret->soft = rl.rlim_cur;
	ret->hard = rl.rlim_max;
	uint64_t need = tether_fds_needed(cfg);
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		return -EMFILE;
	struct rlimit raised = {.rlim_cur = need, .rlim_max = rl.rlim_max};
	r = sys_setrlimit(RLIMIT_NOFILE, &raised);
	if (r < 0)
		return r;
	ret->raised = true;
	return 0;
}

void tether_fdlimit_restore(const struct tether_fdlimit *lim)
{
	if (!lim->raised)
		return;
	struct rlimit rl = {.rlim_cur = lim->soft, .rlim_max = lim->hard};
	sys_setrlimit(RLIMIT_NOFILE, &rl);
}
