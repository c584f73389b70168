/* SPDX-License-Identifier: MIT */
/* leaky — a stand-in for tether that leaks on purpose, for the self-test of
 * `harness run --valgrind`: 100 bytes definitely lost, one descriptor left
 * open, and one read of uninitialised memory that decides the exit code.
 *
 *   leaky --sanitized   exits 0 in a sanitizer build (valgrind cannot run
 *                       those: the self-test then skips), else 1
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--sanitized") == 0) {
#ifdef TETHER_SANITIZERS
		return 0;
#else
		return 1;
#endif
	}
	char *lost = malloc(100);
	if (!lost)
		return 2;
	strcpy(lost, "never freed");
	lost = NULL;
	int fd = open("/dev/null", O_RDONLY); /* never closed */
	/* volatile: the compiler must not see (and warn) what memcheck is to find */
	int *volatile uninit = malloc(sizeof(int));
	if (!uninit)
		return 2;
	if (*uninit == 0x5a5a5a5a) /* memcheck: a jump on an uninitialised value */
		puts("unlikely");
	free(uninit);
	return fd < 0;
}
