/* SPDX-License-Identifier: MIT */
/* mutant_nolock.c — "a tether that takes no lock": flock() pretends to lock.
 * Every supervisor then believes it holds its pidfile (G1 breaks: a second
 * `tether run` on a live pidfile supervises too), and the kernel names no
 * holder in /proc/locks (status and stop see no live supervisor). */
#include "config.h"

#include <sys/file.h>

#include "mutant.h"

int flock(int fd, int operation)
{
	static int (*real)(int, int);
	if (mutant_active)
		return 0;
	if (!real)
		real = (int (*)(int, int))mutant_next("flock");
	return real(fd, operation);
}
