/* SPDX-License-Identifier: MIT */
/* mutant.h — what every mutant's LD_PRELOAD shim shares (see README.md here).
 *
 * A shim is preloaded into tether by its wrapper script and changes one libc
 * call there, to make a deliberately broken supervisor that the scenarios
 * must catch. It acts only in tether itself (and in what tether forks without
 * exec: its guardians and their children before exec), never in the programs
 * the lab or tether run: at load time it checks that the executable is
 * tether, and it takes itself out of LD_PRELOAD, so workers (and anything
 * else tether execs) run unmutated.
 *
 * One translation unit per shim includes this once.
 */
#ifndef TETHER_MUTANT_H
#define TETHER_MUTANT_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The process is tether (or a fork of it): the shim's change applies. */
static bool mutant_active;

/* Is the calling process a guardian (or a worker it forked, before exec)? */
static inline bool mutant_in_guardian(void)
{
	char name[17] = "";
	return prctl(PR_GET_NAME, (unsigned long)name, 0, 0, 0) == 0 && strcmp(name, "tether-guard") == 0;
}

/* The next definition of a libc function (the real one). */
static inline void *mutant_next(const char *symbol)
{
	return dlsym(RTLD_NEXT, symbol);
}

__attribute__((constructor)) static void mutant_init(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		const char *base = strrchr(exe, '/');
		mutant_active = strcmp(base ? base + 1 : exe, "tether") == 0;
	}
	/* Drop every mutant_*.so from LD_PRELOAD (blank- or colon-separated),
	 * keeping the rest (libfiu's preload libraries, a sanitizer runtime). */
	const char *pre = getenv("LD_PRELOAD");
	if (!pre)
		return;
	char *out = calloc(1, strlen(pre) + 1);
	if (!out)
		return;
	for (const char *p = pre; *p;) {
		size_t len = strcspn(p, ": ");
		const char *slash = p;
		for (const char *q = p; q < p + len; q++)
			if (*q == '/')
				slash = q + 1;
		if (len && strncmp(slash, "mutant_", 7) != 0) {
			if (*out)
				strcat(out, " ");
			strncat(out, p, len);
		}
		p += len;
		while (*p == ':' || *p == ' ')
			p++;
	}
	if (*out)
		setenv("LD_PRELOAD", out, 1);
	else
		unsetenv("LD_PRELOAD");
	free(out);
}

#endif
