/* SPDX-License-Identifier: MIT */
/* mutant_notreekill.c — "a tether that never kills the tree": in the guardians
 * (the processes that signal an instance's tree), SIGTERM and SIGKILL through
 * kill() and pidfd_send_signal() are silently dropped. Stops, give-ups and
 * watchdog kills then leave the workers running: the supervisor waits for a
 * tree that never empties (or, where it does not wait, leaves orphans). */
#include "config.h"

#include <signal.h>
#include <sys/pidfd.h>

#include "mutant.h"

static bool dropped(int sig)
{
	return mutant_active && (sig == SIGTERM || sig == SIGKILL) && mutant_in_guardian();
}

int kill(pid_t pid, int sig)
{
	static int (*real)(pid_t, int);
	if (dropped(sig))
		return 0;
	if (!real)
		real = (int (*)(pid_t, int))mutant_next("kill");
	return real(pid, sig);
}

int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags)
{
	static int (*real)(int, int, siginfo_t *, unsigned int);
	if (dropped(sig))
		return 0;
	if (!real)
		real = (int (*)(int, int, siginfo_t *, unsigned int))mutant_next("pidfd_send_signal");
	return real(pidfd, sig, info, flags);
}
