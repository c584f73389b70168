/* SPDX-License-Identifier: MIT */
/* run.c — `harness run [--jobs N] [--report DIR] [--valgrind] [--seed S]
 * [--tether PATH] [--keep] [--fault RULE] SCENARIO.scn|DIR ...`
 *
 * Every scenario runs in a process of its own (forked, one per scenario, up
 * to --jobs at once), with its own directory and run marker: a crash or a hang
 * of one cannot take the others along, and the marker lets the runner clean
 * up after a scenario process that died without doing it itself. Results come
 * back as one JSON object through a pipe, and are printed as TAP in file
 * order ("ok 3 - double_start", "not ok 4 - x # FILE:LINE: what was seen"),
 * then "N passed, N failed"; exit 0 iff nothing failed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "common/common.h"
#include "run/run.h"

static const char run_usage[] =
	"Usage: harness run [OPTIONS] SCENARIO.scn|DIR ...\n"
	"\n"
	"Runs scenario files (a directory: its *.scn, sorted by name); prints a TAP\n"
	"line per scenario and 'N passed, N failed'; exits 0 iff all passed.\n"
	"\n"
	"  --jobs N        run N scenarios at once (default 1)\n"
	"  --report DIR    where results.json, junit.xml and leaks/ go (default: the\n"
	"                  build tree's reports/ when run from a build, else ./reports)\n"
	"  --valgrind      run every spawned tether under memcheck; fail on errors,\n"
	"                  definite leaks and leaked descriptors\n"
	"  --seed S        seed for randomised faults (default: from the clock; printed)\n"
	"  --tether PATH   the supervisor under test (default: $TETHER, else the one\n"
	"                  built next to this harness)\n"
	"  --keep          keep every scenario's directory (failed ones are always kept)\n"
	"  --fault RULE    add a counted fault to every tether spawned, on top of the\n"
	"                  scenario's own: POINT:ERRNO:K[:once|from][;...] (TETHER_FAULT\n"
	"                  syntax, src/fault.h); replays a `harness faults` injection\n"
	"  --list          run nothing: parse each scenario and print the guarantees it\n"
	"                  declares (`guarantees` line); exit 1 when one does not parse\n"
	"                  or declares none\n"
	"\n"
	"The language: scenarios/README.md.\n";

static int collect(const char *arg, char ***files, size_t *n)
{
	struct stat st;
	if (stat(arg, &st) < 0) {
		fprintf(stderr, "harness: %s: %s\n", arg, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		char *f = xstrdup(arg);
		xappend(files, n, &f, sizeof f);
		return 0;
	}
	struct dirent **list;
	int k = scandir(arg, &list, NULL, alphasort);
	if (k < 0) {
		fprintf(stderr, "harness: %s: %s\n", arg, strerror(errno));
		return -1;
	}
	size_t alen = strlen(arg);
	for (int i = 0; i < k; i++) {
		size_t len = strlen(list[i]->d_name);
		if (len > 4 && strcmp(list[i]->d_name + len - 4, ".scn") == 0) {
			char *f = xasprintf("%s%s%s", arg, alen && arg[alen - 1] == '/' ? "" : "/", list[i]->d_name);
			xappend(files, n, &f, sizeof f);
		}
		free(list[i]);
	}
	free(list);
	return 0;
}

/* --list: "FILE: G1 G3", "FILE: none", "FILE: no guarantees line" or the
 * parse error, a line each. 0 when every file parsed and declared what it
 * proves, else 1 (make check's harness/scenario/guarantees-check). */
static int list_guarantees(char **files, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *err = NULL;
		struct scenario *scn = scenario_parse(files[i], &err);
		if (!scn) {
			printf("%s: parse error: %s\n", files[i], err);
			free(err);
			rc = 1;
			continue;
		}
		printf("%s:", files[i]);
		if (!scn->guarantees_declared) {
			printf(" no guarantees line\n");
			rc = 1;
		} else if (!scn->nguarantees) {
			printf(" none\n");
		} else {
			for (size_t k = 0; k < scn->nguarantees; k++)
				printf(" %s", scn->guarantees[k]);
			printf("\n");
		}
		scenario_free(scn);
	}
	return rc;
}

int harness_cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"jobs", required_argument, NULL, 'j'},   {"report", required_argument, NULL, 'r'},
		{"valgrind", no_argument, NULL, 'V'},     {"seed", required_argument, NULL, 's'},
		{"tether", required_argument, NULL, 't'}, {"keep", no_argument, NULL, 'k'},
		{"fault", required_argument, NULL, 'f'},  {"help", no_argument, NULL, 'h'},
		{"list", no_argument, NULL, 'L'},         {NULL, 0, NULL, 0},
	};
	struct runner_config rc = {.jobs = 1};
	struct lab_options opt = {.grace = 2 * NS_PER_SEC};
	const char *report_arg = NULL, *tether_arg = NULL;
	bool have_seed = false, list = false;
	int c;
	while ((c = getopt_long(argc, argv, "j:r:s:t:kh", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'j':
			rc.jobs = (unsigned)strtoul(optarg, &end, 10);
			if (*end || rc.jobs < 1 || rc.jobs > 64) {
				fprintf(stderr, "harness run: --jobs takes 1 to 64\n");
				return 64;
			}
			break;
		case 'r': report_arg = optarg; break;
		case 'V': opt.valgrind = true; break;
		case 's':
			if (lab_seed_parse(optarg, &opt.seed) < 0) {
				fprintf(stderr, "harness run: --seed takes a number\n");
				return 64;
			}
			have_seed = true;
			break;
		case 't': tether_arg = optarg; break;
		case 'k': opt.keep = true; break;
		case 'f': opt.tether_fault = optarg; break;
		case 'L': list = true; break;
		case 'h': fputs(run_usage, stdout); return 0;
		default: fputs(run_usage, stderr); return 64;
		}
	}
	if (optind >= argc) {
		fputs(run_usage, stderr);
		return 64;
	}
	if (list) {
		char **files = NULL;
		size_t nfiles = 0;
		int status = 0;
		for (int i = optind; i < argc && status == 0; i++)
			if (collect(argv[i], &files, &nfiles) < 0)
				status = 64;
		if (status == 0)
			status = list_guarantees(files, nfiles);
		for (size_t i = 0; i < nfiles; i++)
			free(files[i]);
		free(files);
		return status;
	}
	struct lab_paths where;
	lab_paths_find(&where, tether_arg, NULL, report_arg);
	if (!where.tether) {
		fprintf(stderr, "harness run: no executable tether at %s (--tether PATH or TETHER=PATH)\n",
			where.tether_asked);
		return 64;
	}
	if (lab_paths_stage(&where) < 0) {
		fprintf(stderr, "harness run: cannot copy tether and the fixtures where other users reach them: %s\n",
			strerror(errno));
		return 70;
	}
	opt.tether = where.tether;
	opt.fixtures = where.fixtures;
	const char *srcdir = where.srcdir;
	opt.srcdir = srcdir;
	const char *report = where.report;
	char *leaks = xasprintf("%s/leaks", report);
	if (lab_mkdir_p(report) < 0 || (opt.valgrind && lab_mkdir_p(leaks) < 0)) {
		fprintf(stderr, "harness run: cannot create %s: %s\n", report, strerror(errno));
		return 64;
	}
	char *report_abs = lab_absolute(report);
	opt.report_dir = report_abs;
	char *supp = xasprintf("%s/harness/valgrind.supp", srcdir);
	opt.valgrind_supp = supp;
	if (opt.valgrind && access(supp, R_OK) < 0) {
		fprintf(stderr, "harness run: %s: %s\n", supp, strerror(errno));
		return 64;
	}
	if (!have_seed)
		opt.seed = lab_seed_random();
	char **files = NULL;
	size_t nfiles = 0;
	for (int i = optind; i < argc; i++)
		if (collect(argv[i], &files, &nfiles) < 0)
			return 64;
	/* a marker inherited from an enclosing run would be ours by mistake */
	unsetenv(LAB_ENV_RUN);
	unsetenv(LAB_ENV_SPAWN);
	rc.opt = &opt;
	rc.files = files;
	rc.nfiles = nfiles;
	int failed = runner_run(&rc);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	lab_paths_done(&where);
	free(leaks);
	free(report_abs);
	free(supp);
	return failed < 0 ? 70 : failed > 0 ? 1 : 0;
}
