/* SPDX-License-Identifier: MIT */
/* mutant_deaf.c — "a tether whose stop does nothing": SIGTERM, SIGINT and
 * SIGHUP are taken out of every signalfd mask. tether still blocks them (for
 * its signalfd), so they stay pending for ever, unseen: a stop signal, and
 * `tether stop` (until its timeout kills everything), change nothing. */
#include "config.h"

#include <signal.h>
#include <sys/signalfd.h>

#include "mutant.h"

int signalfd(int fd, const sigset_t *mask, int flags)
{
	static int (*real)(int, const sigset_t *, int);
	if (!real)
		real = (int (*)(int, const sigset_t *, int))mutant_next("signalfd");
	if (!mutant_active)
		return real(fd, mask, flags);
	sigset_t deaf = *mask;
	sigdelset(&deaf, SIGTERM);
	sigdelset(&deaf, SIGINT);
	sigdelset(&deaf, SIGHUP);
	return real(fd, &deaf, flags);
}
