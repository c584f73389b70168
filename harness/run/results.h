/* SPDX-License-Identifier: MIT */
/* report.h — the results of a `harness run`, as files other tools read:
 * REPORT/results.json (one JSON object; schema in scenarios/README.md) and
 * REPORT/junit.xml (JUnit XML for CI). Both are written to a temporary name
 * and renamed, so a reader never sees half a file.
 */
#ifndef TETHER_HARNESS_REPORT_H
#define TETHER_HARNESS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run/run.h"

struct results_entry {
	const char *name;
	const char *file;
	const char *run_id;
	struct lab_result res;
};

struct results {
	int64_t started_wall_ns;
	double duration_s;
	uint64_t seed;
	const char *tether;
	bool valgrind;
	unsigned jobs;
	struct results_entry *entries;
	size_t n;
	unsigned passed, failed, skipped;
};

/* Writes results.json and junit.xml under dir. 0 or -errno. */
int results_write(const char *dir, const struct results *r);

#endif
