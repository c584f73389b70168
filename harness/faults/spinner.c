/* SPDX-License-Identifier: MIT */
/* spinner — a stand-in for tether in harness/faults/spin-check: the
 * judge's spin watch needs a supervisor that retries a failing call
 * without a pause, and one that paces its retries, whatever tether itself
 * does today. It takes tether's fault rules (src/lab/fault.h) and reads a
 * non-blocking pipe through sys_read until the read says "nothing there"
 * (-EAGAIN: exit 0, what an unfaulted run sees at once). A rule that fails
 * tether/sys/read from some call on keeps it reading:
 *   spinner run ...           at once again: a spin
 *   spinner run --paced ...   after a 2 ms pause each time: paced, for ever
 *                             (until the judge's SIGTERM)
 *   spinner run --no-budget   a spin, by a fault layer that says nothing of
 *                             its budget (as a tether built before it):
 *                             only its firings show how far it went
 * `spinner --version` answers as a lab build of tether does. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "sys.h"

static __attribute__((noinline)) int read_until_empty(int fd, bool paced)
{
	char c;
	for (;;) {
		ssize_t r = sys_read(fd, &c, 1);
		if (r == -EAGAIN)
			return 0;
		if (paced)
			poll(NULL, 0, 2);
	}
}

int main(int argc, char **argv)
{
	bool paced = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			puts("spinner (a stand-in for tether)\nfault points: tether/sys/* (libfiu)");
			return 0;
		}
		if (strcmp(argv[i], "--paced") == 0)
			paced = true;
		if (strcmp(argv[i], "--no-budget") == 0)
			unsetenv("TETHER_FAULT_BUDGET");
	}
	if (tether_fault_setup() < 0) {
		fputs("spinner: TETHER_FAULT: malformed\n", stderr);
		return 64;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return 71;
	return read_until_empty(p[0], paced);
}
