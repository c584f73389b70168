/* SPDX-License-Identifier: MIT */
/* enumerate.c — `harness faults --enumerate SCENARIO.scn`: SQLite's method.
 *
 *  1. Discovery: the scenario runs once with a counting rule (TETHER_FAULT
 *     with K beyond any count, TETHER_FAULT_COUNT) on every candidate point
 *     in every tether it spawns. That run is also the baseline: it must pass
 *     and keep every guarantee, and the files it leaves are what the
 *     scenario leaves on purpose.
 *  2. For each reached point, each of its errnos (enumerate_points.c) and
 *     each mode (once: only the k-th call fails; from: the k-th and every
 *     later call fail), a *chain* of runs k = 1, 2, ... ends with the first
 *     run in which the rule fired nowhere (the k-th call is never reached),
 *     or at --max-k. "k-th call" is per process: every tether of the plan,
 *     and each forked guardian with the count it inherited.
 *  3. Each run is judged by the guarantees (enumerate_judge.c), not by the
 *     scenario's expectations, and printed as a TAP line; a failure carries
 *     the command that replays it.
 * Runs happen in forked processes (like `harness run`'s scenarios), up to
 * --jobs at once, each chain's runs in order.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faults/faults.h"
#include "fault.h"
#include "common/common.h"
#include "run/run.h"
#include "parse.h"

static const char faults_usage[] =
	"Usage: harness faults --enumerate SCENARIO.scn [OPTIONS]\n"
	"\n"
	"Fails the k-th call of every failure point the scenario's tethers reach,\n"
	"k = 1, 2, ... until a run injects nothing, once and from k on, and judges\n"
	"each run by tether's guarantees: no orphan, no partial pidfile, no lock\n"
	"left held, no hang, no crash, documented exit codes with a message.\n"
	"A TAP line per run, then 'N passed, N failed'; exit 0 iff none failed.\n"
	"\n"
	"  --points GLOBS  comma-separated globs of points (default tether/sys/*,posix/*;\n"
	"                  libc/* adds malloc and strdup)\n"
	"  --errno E       fail with E (name or number) only, instead of the table\n"
	"  --max-k K       longest chain (default 32; 0: until nothing is injected)\n"
	"  --max-runs N    bound on the injection runs (default 5000)\n"
	"  --jobs N        runs at once (default 1; exclusive scenarios always 1)\n"
	"  --step-timeout DUR  the scenario's default wait (not its explicit `within`s):\n"
	"                  a fault often makes a wait run to its end, and the judgement\n"
	"                  does not need it (default: the scenario's, 10s)\n"
	"  --only RULE     one injection, POINT:ERRNO:K:once|from (replays a failure)\n"
	"  --tether PATH   the supervisor under test (default: $TETHER, else the one\n"
	"                  built next to this harness)\n"
	"  --keep          keep the scenario's directory of each failed run\n"
	"  --known FILE    known failures: lines 'POINT-GLOB FINDING-GLOB'; a run whose\n"
	"                  every finding matches one is reported as TODO, not failed\n"
	"  --verbose       also list each chain's end and the errno table\n"
	"\n"
	"Errnos per point (first matching glob):\n";

/* ---- known failures --------------------------------------------------------------------- */

/* Lines "POINT-GLOB FINDING-GLOB  # why" (fnmatch); '#' at the start: a comment. */
static int load_known(struct faults_ctx *c, const char *path)
{
	int err;
	char *text = lab_read_file(path, 1u << 20, NULL, &err), **lines;
	if (!text) {
		errno = err;
		return -1;
	}
	size_t n = lab_split_lines(text, &lines);
	for (size_t i = 0; i < n; i++) {
		char *l = lines[i] + strspn(lines[i], " \t");
		size_t plen = strcspn(l, " \t");
		if (!*l || *l == '#' || !l[plen])
			continue;
		char *rest = l + plen + strspn(l + plen, " \t"), *hash = strstr(rest, "  #");
		size_t flen = hash ? (size_t)(hash - rest) : strlen(rest);
		while (flen && (rest[flen - 1] == ' ' || rest[flen - 1] == '\t'))
			flen--;
		struct known k = {xstrndup(l, plen), xstrndup(rest, flen),
				  hash ? xstrdup(hash + 3 + strspn(hash + 3, " ")) : xstrndup(rest, flen)};
		xappend(&c->knowns, &c->nknowns, &k, sizeof k);
	}
	if (n)
		free(lines);
	free(text);
	return 0;
}

/* The known failure that explains every finding of the run, or NULL. */
static const struct known *known_failure(const struct faults_ctx *c, const char *point, const struct judgement *j)
{
	const struct known *first = NULL;
	for (size_t f = 0; f < j->nfindings; f++) {
		const struct known *hit = NULL;
		for (size_t i = 0; i < c->nknowns && !hit; i++)
			if (fnmatch(c->knowns[i].point, point, 0) == 0 && fnmatch(c->knowns[i].finding, j->findings[f], 0) == 0)
				hit = &c->knowns[i];
		if (!hit)
			return NULL;
		first = first ? first : hit;
	}
	return first;
}

/* ---- the verdict of one injection -------------------------------------------------------- */

/* A rule that failed this many calls of one point in one process ran into a
 * loop: a scenario's tether makes at most a few hundred calls of any point. */
#define BUSY_CALLS 100000

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* A fault in the call that removes files explains files left behind. */
static bool cleanup_point(const char *point)
{
	return fnmatch("*/unlink", point, 0) == 0 || fnmatch("*/rmdir", point, 0) == 0 ||
	       fnmatch("*/remove", point, 0) == 0;
}

static void print_replay(struct faults_ctx *c, const char *rule)
{
	printf("#   reproduce: %s faults --enumerate %s%s%s%s%s --only '%s'\n", c->self, c->scn_arg,
	       c->tether_arg ? " --tether " : "", c->tether_arg ? c->tether_arg : "",
	       c->step_timeout_arg ? " --step-timeout " : "", c->step_timeout_arg ? c->step_timeout_arg : "", rule);
	printf("#   inspect:   %s run --keep%s%s --fault '%s' %s\n", c->self, c->tether_arg ? " --tether " : "",
	       c->tether_arg ? c->tether_arg : "", rule, c->scn_arg);
}

static void report_run(struct faults_ctx *c, const struct chain *ch, unsigned long k, const char *rule,
		       struct judgement *j)
{
	const struct fired *f = &j->fired;
	/* what the unfaulted run shows already is not this fault's doing */
	size_t kept = 0;
	for (size_t i = 0; i < j->nfindings; i++) {
		char *n = faults_normalize(j->findings[i]);
		if (in_list(c->base_findings, c->nbase_findings, n))
			free(j->findings[i]);
		else
			j->findings[kept++] = j->findings[i];
		free(n);
	}
	j->nfindings = kept;
	/* a record or temp file the unfaulted run does not leave: G3's "a failed
	 * start leaves nothing behind" (unless a SIGKILL or a fault in unlink
	 * explains it). A lock file may stay: only its holder may remove it,
	 * and a start that failed before locking holds nothing. */
	for (size_t i = 0; i < j->nartifacts; i++)
		if (!ends_with(j->artifacts[i], ".lock") && !in_list(c->base_artifacts, c->nbase, j->artifacts[i]) &&
		    !j->sigkilled && !cleanup_point(ch->point))
			faults_judgement_add(j, "G3: %s left behind (the unfaulted run leaves no such file)", j->artifacts[i]);
	/* G8's spirit for every call: a failing call is not retried in a loop */
	if (f->max_k >= BUSY_CALLS)
		faults_judgement_add(j, "busy loop: %s failed up to its %lu-th call in pid %d (the unfaulted run makes %lu)",
				     ch->point, f->max_k, (int)f->max_pid, ch->count);
	unsigned long fired = f->lines;
	if (!fired && !j->nfindings) {
		c->quiet_runs++;
		if (c->verbose)
			printf("# %s errno=%d %s: k=%lu injects nothing (discovery counted %lu calls): chain done\n",
			       ch->point, ch->err, ch->from ? "from" : "once", k, ch->count);
		if (j->dir)
			lab_rm_rf(j->dir);
		return;
	}
	c->tap++;
	const char *what = fired ? "" : " (nothing injected)";
	if (!j->nfindings) {
		c->passed++;
		c->clean += j->plan == PLAN_CLEAN;
		c->degraded += j->plan == PLAN_DEGRADED;
		c->unaffected += j->plan == PLAN_PASSED;
		printf("ok %lu - %s errno=%d k=%lu %s: %s%s\n", c->tap, ch->point, ch->err, k, ch->from ? "from" : "once",
		       j->summary ? j->summary : "?", what);
		if (j->dir)
			lab_rm_rf(j->dir);
		return;
	}
	const struct known *kn = known_failure(c, ch->point, j);
	c->failed += !kn;
	c->known += kn != NULL;
	char *first = lab_excerpt(j->findings[0], 400);
	printf("not ok %lu - %s errno=%d k=%lu %s: %s%s%s%s\n", c->tap, ch->point, ch->err, k,
	       ch->from ? "from" : "once", first, what, kn ? " # TODO known: " : "", kn ? kn->why : "");
	free(first);
	for (size_t i = 1; i < j->nfindings; i++)
		printf("#   also: %s\n", j->findings[i]);
	printf("#   outcome: %s (fired in %u process%s)\n", j->summary ? j->summary : "?", f->procs,
	       f->procs == 1 ? "" : "es");
	if (j->lab_details) {
		char *copy = xstrdup(j->lab_details), **lines;
		size_t n = lab_split_lines(copy, &lines);
		/* the lab's details say where the directory is kept: true only with --keep */
		for (size_t i = 0; i < n && i < 24; i++)
			if (c->keep || strncmp(lines[i], "the scenario's directory is kept", 32) != 0)
				printf("#   %s\n", lines[i]);
		if (n)
			free(lines);
		free(copy);
	}
	if (j->dir && !c->keep)
		lab_rm_rf(j->dir);
	print_replay(c, rule);
}

/* ---- the chains ----------------------------------------------------------------------- */

static struct chain *next_chain(struct faults_ctx *c, struct chain *chains, size_t n)
{
	if (c->pool.interrupted || c->runs >= c->max_runs)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!chains[i].done && !chains[i].running)
			return &chains[i];
	return NULL;
}

static void run_chains(struct faults_ctx *c, struct chain *chains, size_t n)
{
	for (;;) {
		struct chain *ch;
		while (c->pool.busy < c->pool.size && (ch = next_chain(c, chains, n))) {
			char *rule = xasprintf("%s:%d:%lu:%s", ch->point, ch->err, ch->k, ch->from ? "from" : "once");
			ch->running = true;
			faults_start_run(c, ch, rule, NULL);
			free(rule);
		}
		if (!c->pool.busy)
			break;
		struct judgement j;
		struct slot *s = faults_end_run(c, lab_jobs_wait(&c->pool), &j);
		ch = s->chain;
		unsigned long k = s->k;
		bool fired = j.fired.lines > 0;
		ch->running = false;
		if (!c->pool.interrupted)
			report_run(c, ch, k, s->rule, &j);
		faults_judgement_clear(&j);
		faults_slot_free(s);
		if (!fired || ch->single) {
			ch->done = true;
		} else if (c->max_k && k >= c->max_k) {
			ch->done = ch->truncated = true;
			c->truncated++;
		} else {
			ch->k = k + 1;
		}
	}
}

/* ---- the command ------------------------------------------------------------------------- */

static bool excluded(char **own, const char *point)
{
	for (char **p = own; *p; p++)
		if (strcmp(*p, point) == 0 || fnmatch(*p, point, 0) == 0)
			return true;
	return false;
}

/* "POINT:ERRNO:K:once|from" for --only. */
static int parse_only(const char *spec, struct chain *ret)
{
	char *copy = xstrdup(spec), *f[4] = {0};
	int n = 0;
	for (char *save = NULL, *t = strtok_r(copy, ":", &save); t && n < 4; t = strtok_r(NULL, ":", &save))
		f[n++] = t;
	int err = n == 4 ? lab_errno_parse(f[1]) : -1;
	char *end;
	unsigned long k = n == 4 ? strtoul(f[2], &end, 10) : 0;
	const char *const *all = faults_all_points();
	while (*all && (n != 4 || strcmp(*all, f[0]) != 0))
		all++;
	int r = -1;
	if (*all && err > 0 && k > 0 && !*end && (strcmp(f[3], "once") == 0 || strcmp(f[3], "from") == 0)) {
		*ret = (struct chain){.point = *all, .err = err, .k = k, .from = strcmp(f[3], "from") == 0, .single = true};
		r = 0;
	}
	free(copy);
	return r;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("harness faults: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	return 64;
}

int harness_cmd_faults(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"enumerate", required_argument, NULL, 'e'}, {"points", required_argument, NULL, 'p'},
		{"errno", required_argument, NULL, 'E'},     {"max-k", required_argument, NULL, 'k'},
		{"max-runs", required_argument, NULL, 'm'},  {"jobs", required_argument, NULL, 'j'},
		{"only", required_argument, NULL, 'o'},      {"tether", required_argument, NULL, 't'},
		{"seed", required_argument, NULL, 's'},      {"verbose", no_argument, NULL, 'v'},
		{"step-timeout", required_argument, NULL, 'T'}, {"keep", no_argument, NULL, 'K'},
		{"known", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
	};
	struct faults_ctx c = {.max_k = 32, .max_runs = 5000, .jobs = 1, .pool = {.sig_fd = -1}};
	c.opt.grace = 2 * NS_PER_SEC;
	const char *globs = "tether/sys/*,posix/*", *only = NULL;
	int only_errno = 0, ch;
	int64_t step_timeout = 0;
	bool have_seed = false;
	char *end;
	while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': c.scn_arg = optarg; break;
		case 'p': globs = optarg; break;
		case 'E':
			if ((only_errno = lab_errno_parse(optarg)) <= 0)
				return usage_error("--errno: unknown errno '%s'", optarg);
			break;
		case 'k':
		case 'm':
			errno = 0;
			*(ch == 'k' ? &c.max_k : &c.max_runs) = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg)
				return usage_error("--max-k and --max-runs take a number, not '%s'", optarg);
			break;
		case 'j':
			c.jobs = (unsigned)strtoul(optarg, &end, 10);
			if (*end || c.jobs < 1 || c.jobs > 64)
				return usage_error("--jobs takes 1 to 64, not '%s'", optarg);
			break;
		case 'o': only = optarg; break;
		case 't': c.tether_arg = optarg; break;
		case 's':
			if (lab_seed_parse(optarg, &c.opt.seed) < 0)
				return usage_error("--seed takes a number, not '%s'", optarg);
			have_seed = true;
			break;
		case 'v': c.verbose = true; break;
		case 'K': c.keep = true; break;
		case 'n':
			if (load_known(&c, optarg) < 0)
				return usage_error("--known: cannot read %s: %s", optarg, strerror(errno));
			break;
		case 'T':
			if (tether_parse_duration(optarg, &step_timeout) < 0 || step_timeout <= 0)
				return usage_error("--step-timeout takes a duration (250ms, 3s), not '%s'", optarg);
			c.step_timeout_arg = optarg;
			break;
		case 'h':
			fputs(faults_usage, stdout);
			faults_print_errno_table(stdout, "  ");
			return 0;
		default:
			fputs(faults_usage, stderr);
			return 64;
		}
	}
	if (!c.scn_arg || optind != argc) {
		fputs(faults_usage, stderr);
		return 64;
	}
	struct chain one;
	if (only && parse_only(only, &one) < 0)
		return usage_error("--only takes POINT:ERRNO:K:once|from with a known point, not '%s'", only);

	char *self = lab_absolute("/proc/self/exe");
	c.self = self ? self : xstrdup("harness");
	struct lab_paths where;
	lab_paths_find(&where, c.tether_arg, NULL, NULL);
	if (!where.tether) {
		fprintf(stderr, "harness faults: no executable tether at %s (--tether PATH or TETHER=PATH)\n",
			where.tether_asked);
		return 64;
	}
	if (lab_paths_stage(&where) < 0) {
		fprintf(stderr, "harness faults: cannot copy tether and the fixtures where other users reach them: %s\n",
			strerror(errno));
		return 70;
	}
	c.opt.tether = where.tether;
	c.opt.fixtures = where.fixtures;
	c.opt.srcdir = where.srcdir;
	if (!have_seed)
		c.opt.seed = lab_seed_random();
	char *perr = NULL;
	c.scn = scenario_parse(c.scn_arg, &perr);
	if (!c.scn) {
		printf("Bail out! %s\n", perr);
		free(perr);
		return 1;
	}
	int r = lab_mkdtemp("faults", &c.work);
	if (r < 0)
		lab_die("cannot create %s: %s", c.work, strerror(-r));
	c.opt.report_dir = c.work;
	char *why = lab_requirements_unmet(c.scn, &c.opt);
	if (!why && (!tether_fault_available() || !*FIU_RUN_PRELOAD || access(FIU_RUN_PRELOAD, R_OK) < 0))
		why = xstrdup("needs libfiu (fault points compiled in, and its preload libraries)");
	int rc = 0;
	if (why) {
		printf("1..0 # SKIP %s: %s\n", c.scn->name, why);
		free(why);
		goto out;
	}
	if (c.scn->exclusive)
		c.jobs = 1; /* it says it is timing-sensitive */
	if (step_timeout)
		c.scn->step_timeout = step_timeout;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# harness faults --enumerate %s: tether %s, seed %llu\n", c.scn_arg, c.opt.tether,
	       (unsigned long long)c.opt.seed);
	/* candidates: selected, not faulted by the scenario itself, and loadable */
	char **own = faults_scenario_points(c.scn);
	const char **cands = NULL;
	size_t ncands = 0;
	for (const char *const *p = faults_all_points(); *p; p++) {
		bool preload = strncmp(*p, "tether/", 7) != 0;
		bool named = only ? strcmp(*p, one.point) == 0 : faults_glob_match(globs, *p);
		const char *why_not = faults_point_unrealistic(*p);
		if (named && why_not && !only && !faults_exact_match(globs, *p)) {
			printf("# %s: left out (%s)\n", *p, why_not);
			continue;
		}
		if (named && !excluded(own, *p) && (!preload || *FIU_POSIX_PRELOAD))
			xappend(&cands, &ncands, p, sizeof *p);
	}
	lab_jobs_init(&c.pool, c.jobs);
	/* a marker inherited from an enclosing run would be ours by mistake */
	unsetenv(LAB_ENV_RUN);
	unsetenv(LAB_ENV_SPAWN);
	int64_t t0 = lab_now();
	for (char **p = own; *p; p++)
		printf("# %s: faulted by the scenario itself, not enumerated\n", *p);

	struct reached *reached = NULL;
	size_t nreached = 0;
	if (faults_discover(&c, cands, ncands, &reached, &nreached) < 0) {
		rc = 1;
		goto out_points;
	}
	struct chain *chains = NULL;
	size_t nchains = 0;
	unsigned long bound = 0;
	if (only) {
		for (size_t i = 0; i < nreached; i++)
			one.count = reached[i].count;
		xappend(&chains, &nchains, &one, sizeof one);
		bound = 1;
	}
	for (size_t i = 0; i < nreached && !only; i++) {
		int errs[8];
		size_t ne = only_errno ? 1 : faults_point_errnos(reached[i].point, errs, 8);
		if (only_errno)
			errs[0] = only_errno;
		for (size_t e = 0; e < ne; e++) {
			for (int from = 0; from < 2; from++) {
				struct chain chn = {.point = reached[i].point, .err = errs[e], .from = from,
						    .count = reached[i].count, .k = 1};
				xappend(&chains, &nchains, &chn, sizeof chn);
				unsigned long runs = c.max_k && reached[i].count >= c.max_k ? c.max_k : reached[i].count + 1;
				bound += runs;
			}
		}
	}
	printf("# %zu of %zu points reached (calls per process, max):", nreached, ncands);
	for (size_t i = 0; i < nreached; i++)
		printf("%s %s=%lu", i % 6 ? "," : "\n#  ", reached[i].point, reached[i].count);
	printf("\n# %zu chains, about %lu runs (bound: --max-k %lu, --max-runs %lu), --jobs %u\n", nchains,
	       bound, c.max_k, c.max_runs, c.jobs);
	if (!nreached)
		printf("# no tether of the plan reached a point: a tether started through another program\n"
		       "# (sh -c '$TETHER ...', unshare ...) gets no rules: only `tether` steps do\n");
	if (c.verbose)
		faults_print_errno_table(stdout, "# errnos: ");
	run_chains(&c, chains, nchains);

	unsigned long unfinished = 0;
	for (size_t i = 0; i < nchains; i++)
		unfinished += !chains[i].done;
	char d[32];
	printf("1..%lu\n", c.tap);
	printf("# %lu injection runs in %s (%lu with nothing injected); passed: %lu unaffected, %lu clean failures, "
	       "%lu degraded\n", c.runs, lab_fmt_ns(lab_now() - t0, d, sizeof d), c.quiet_runs, c.unaffected,
	       c.clean, c.degraded);
	if (c.truncated)
		printf("# %lu chains cut at --max-k %lu (their point is called more often)\n", c.truncated, c.max_k);
	if (unfinished)
		printf("# %lu chains not finished (%s)\n", unfinished, c.pool.interrupted ? "interrupted" : "--max-runs reached");
	if (c.known)
		printf("# %lu known failures (TODO: --known)\n", c.known);
	printf("%lu passed, %lu failed\n", c.passed, c.failed);
	rc = c.failed || c.pool.interrupted ? 1 : 0;
	free(chains);
out_points:
	free(reached);
	free(cands);
	for (char **p = own; *p; p++)
		free(*p);
	free(own);
out:
	lab_jobs_done(&c.pool);
	for (size_t i = 0; i < c.nknowns; i++) {
		free(c.knowns[i].point);
		free(c.knowns[i].finding);
		free(c.knowns[i].why);
	}
	free(c.knowns);
	for (size_t i = 0; i < c.nbase; i++)
		free(c.base_artifacts[i]);
	for (size_t i = 0; i < c.nbase_findings; i++)
		free(c.base_findings[i]);
	free(c.base_findings);
	free(c.base_artifacts);
	lab_rm_rf(c.work);
	free(c.work);
	scenario_free(c.scn);
	free(c.self);
	lab_paths_done(&where);
	return rc;
}
