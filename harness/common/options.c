/* SPDX-License-Identifier: MIT */
/* options.c — what the subcommands' options share (see common.h): where
 * tether, the fixtures, the sources and the reports are, and the seed.
 *
 * One rule for all of them, so that `harness run`, `stress`, `soak`,
 * `faults` and `report` started from the same place test the same tether
 * and write to the same reports: a harness run from a build tree uses that
 * tree's tether, fixtures and reports/ unless told otherwise.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "parse.h"

/* The top of the tree this harness was built in (.../harness/harness -> ...). */
static char *build_top(void)
{
	char *top = lab_absolute("/proc/self/exe");
	if (!top)
		return xstrdup(".");
	for (int i = 0; i < 2; i++) {
		char *slash = strrchr(top, '/');
		if (slash)
			*slash = '\0';
	}
	return top;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

/* path made absolute, if it is an executable file; else NULL. */
static char *executable(const char *path)
{
	char *abs = lab_absolute(path);
	if (abs && access(abs, X_OK) == 0)
		return abs;
	free(abs);
	return NULL;
}

void lab_paths_find(struct lab_paths *ret, const char *tether_arg, const char *worker_arg, const char *report_arg)
{
	char *top = build_top();
	char *built = xasprintf("%s/src/tether", top);
	*ret = (struct lab_paths){.srcdir = lab_srcdir()};
	ret->tether_asked = xstrdup(tether_arg ? tether_arg : env_or("TETHER", built));
	ret->tether = executable(ret->tether_asked);
	const char *fixtures = getenv("HARNESS_FIXTURES");
	ret->fixtures = fixtures && *fixtures ? xstrdup(fixtures) : xasprintf("%s/fixtures", top);
	ret->worker_asked = worker_arg ? xstrdup(worker_arg) : xasprintf("%s/worker", ret->fixtures);
	ret->worker = executable(ret->worker_asked);
	ret->report = report_arg ? xstrdup(report_arg)
		      : access(built, X_OK) == 0 ? xasprintf("%s/reports", top) : xstrdup("reports");
	free(built);
	free(top);
}

void lab_paths_done(struct lab_paths *p)
{
	free(p->tether);
	free(p->tether_asked);
	free(p->fixtures);
	free(p->worker);
	free(p->worker_asked);
	free(p->report);
	*p = (struct lab_paths){0};
}

const char *lab_srcdir(void)
{
	return env_or("TETHER_SRCDIR", HARNESS_SRCDIR);
}

int lab_seed_parse(const char *s, uint64_t *ret)
{
	return tether_parse_uint(s, 0, UINT64_MAX, ret) < 0 ? -1 : 0;
}

uint64_t lab_seed_random(void)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	return r % 1000000000ULL;
}
