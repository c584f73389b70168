/* SPDX-License-Identifier: MIT */
/* mutant_fdleak.c — "a tether that does not close descriptors for its
 * workers": close_range() does nothing. Descriptors that tether inherited
 * without O_CLOEXEC (its wrapper, fdleak, gives it one: fd 7) then reach
 * every worker, which must start with exactly 0, 1 and 2 (G5). */
#include "config.h"

#include <unistd.h>

#include "mutant.h"

int close_range(unsigned int first, unsigned int last, int flags)
{
	static int (*real)(unsigned int, unsigned int, int);
	if (mutant_active)
		return 0;
	if (!real)
		real = (int (*)(unsigned int, unsigned int, int))mutant_next("close_range");
	return real(first, last, flags);
}
