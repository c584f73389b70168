/* SPDX-License-Identifier: MIT */
/* runner.h — runs a list of scenario files (for `harness run`, and for later
 * subcommands that want scenarios run the same way): parse all, fork one
 * process per scenario (up to jobs at once; `exclusive` ones alone), print
 * TAP in file order, write the reports.
 */
#ifndef TETHER_HARNESS_RUNNER_H
#define TETHER_HARNESS_RUNNER_H

#include <stddef.h>

#include "run/run.h"

struct runner_config {
	const struct lab_options *opt;
	char **files;
	size_t nfiles;
	unsigned jobs;
};

/* Returns the number of failed scenarios, or -1 when the reports could not
 * be written. */
int runner_run(const struct runner_config *rc);

#endif
