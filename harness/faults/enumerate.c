/* SPDX-License-Identifier: MIT */
/* enumerate.c — `harness faults --enumerate SCENARIO.scn|DIR ...`: SQLite's
 * method over scenarios (see faults.h, harness/README.md).
 *
 *  1. Discovery, per target (a scenario in one isolation): the scenario runs
 *     once with a counting rule on every candidate point in every tether it
 *     spawns (TETHER_FAULT with K beyond any count, TETHER_FAULT_COUNT; in
 *     --ci also TETHER_FAULT_SITES, and the time each wait takes). That run
 *     is also the baseline: it must pass and keep every guarantee, and the
 *     files it leaves are what the scenario leaves on purpose.
 *  2. For each reached point, each of its errnos (enumerate_points.c) and
 *     each mode (once: only the k-th call fails; from: the k-th and every
 *     later call fail), a *chain* of runs. Full mode: k = 1, 2, ... until a
 *     run in which the rule fired nowhere (or --max-k). --ci: the first k of
 *     each k-class (enumerate_plan.c), all at once, plus the k's at which an
 *     injection run met a call site the discovery had not seen; a posix/
 *     point whose every call was its tether/sys/ twin's is left to the twin.
 *     "k-th call" is per process: every tether of the plan, and each forked
 *     guardian with the count it inherited.
 *  3. Each run is judged by the guarantees (enumerate_judge.c), not by the
 *     scenario's expectations, and printed as a TAP line; a failure carries
 *     the command that replays it. In --ci a failing rule is run once more
 *     before it counts: failing again, it fails; passing, it is reported as
 *     flaky (and does not fail the enumeration).
 * Every run of every target happens in one pool of forked jobs, up to --jobs
 * at once, the targets with the most work left first. An `exclusive`
 * scenario's runs come last, one at a time.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
	"Usage: harness faults --enumerate SCENARIO.scn|DIR [SCENARIO.scn|DIR ...] [OPTIONS]\n"
	"\n"
	"Fails the k-th call of every failure point the scenarios' tethers reach,\n"
	"once and from k on, and judges each run by tether's guarantees: no orphan,\n"
	"no partial pidfile, no lock left held, no hang, no spin, no crash,\n"
	"documented exit codes with a message. A TAP line per run, then\n"
	"'N passed, N failed'; exit 0 iff none failed. A directory: its *.scn.\n"
	"\n"
	"  --ci            the fast mode: one run per call site, errno class and mode\n"
	"                  over all the scenarios (the discoveries' call stacks),\n"
	"                  posix/ points that only repeat their tether/sys/ twin left\n"
	"                  out, waits cut to what the unfaulted run needed, both\n"
	"                  isolations; a failing rule is run again before it counts\n"
	"  --isolation pidns|subreaper|both|as-written\n"
	"                  add --isolation to every `tether run|start` that names none;\n"
	"                  both: each scenario whose tethers name none, in each (default:\n"
	"                  both with --ci, else as written)\n"
	"  --points GLOBS  comma-separated globs of points (default tether/sys/*,posix/*;\n"
	"                  libc/* adds malloc and strdup)\n"
	"  --errno E       fail with E (name or number) only, instead of the table\n"
	"  --max-k K       the highest k (default 32; 0: until nothing is injected)\n"
	"  --max-runs N    bound on the injection runs of each scenario (default 5000)\n"
	"  --jobs N        runs at once (default 1; exclusive scenarios one at a time)\n"
	"  --time-limit DUR  start no run after DUR and fail (the CI step's budget)\n"
	"  --step-timeout DUR  the scenario's default wait (not its explicit `within`s):\n"
	"                  a fault often makes a wait run to its end, and the judgement\n"
	"                  does not need it (default: the scenario's, 10s)\n"
	"  --only RULE     one injection, POINT:ERRNO:K:once|from (replays a failure)\n"
	"  --tether PATH   the supervisor under test (default: $TETHER, else the one\n"
	"                  built next to this harness)\n"
	"  --report FILE   write the results per point and the failures as JSON\n"
	"  --keep          keep the scenario's directory of each failed run\n"
	"  --skip FILE     scenarios left out: lines 'GLOB  # why' (the file name;\n"
	"                  each is printed with its why)\n"
	"  --known FILE    known failures: lines 'POINT-GLOB FINDING-GLOB'; a run whose\n"
	"                  every finding matches one is reported as TODO, not failed\n"
	"  --quiet         print the failures and the summary, not every passing run\n"
	"  --verbose       also list each chain's end and the errno table\n"
	"\n"
	"Errnos per point (first matching glob):\n";

/* ---- the scenarios ------------------------------------------------------------------------ */

static int collect(const char *arg, char ***files, size_t *n)
{
	struct stat st;
	if (stat(arg, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		char *f = xstrdup(arg);
		xappend(files, n, &f, sizeof f);
		return 0;
	}
	struct dirent **list;
	int k = scandir(arg, &list, NULL, alphasort);
	if (k < 0)
		return -errno;
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

/* Does some `tether run|start` of the plan leave its isolation to tether
 * (no --isolation)? Those are the steps --isolation changes. */
static bool isolation_left_open(const struct step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct step *st = &steps[i];
		if (st->kind == S_REPEAT && isolation_left_open(st->body, st->nbody))
			return true;
		if ((st->kind != S_SPAWN && st->kind != S_RUN) || st->argc < 2 ||
		    strcmp(st->argv[0].tmpl, "tether") != 0 ||
		    (strcmp(st->argv[1].tmpl, "run") != 0 && strcmp(st->argv[1].tmpl, "start") != 0))
			continue;
		bool named = false;
		for (size_t k = 2; k < st->argc && strcmp(st->argv[k].tmpl, "--") != 0 && !named; k++)
			named = strcmp(st->argv[k].tmpl, "--isolation") == 0 ||
				strncmp(st->argv[k].tmpl, "--isolation=", 12) == 0;
		if (!named)
			return true;
	}
	return false;
}

static bool excluded(char **own, const char *point)
{
	for (char **p = own; *p; p++)
		if (strcmp(*p, point) == 0 || fnmatch(*p, point, 0) == 0)
			return true;
	return false;
}

static struct target *new_target(struct faults_ctx *c, const char *arg, struct scenario *scn, const char *isolation)
{
	struct target *t = xcalloc(1, sizeof *t);
	t->c = c;
	t->arg = arg;
	t->scn = scn;
	t->isolation = isolation;
	t->exclusive = scn->exclusive;
	t->name = isolation ? xasprintf("%s [%s]", scn->name, isolation) : xstrdup(scn->name);
	t->own = faults_scenario_points(scn);
	/* candidates: selected, not faulted by the scenario itself, and loadable */
	for (const char *const *p = faults_all_points(); *p; p++) {
		bool preload = strncmp(*p, "tether/", 7) != 0;
		bool named = c->only ? strcmp(*p, c->one.point) == 0 : faults_glob_match(c->globs, *p);
		const char *why_not = faults_point_unrealistic(*p);
		if (named && why_not && !c->only && !faults_exact_match(c->globs, *p))
			continue;
		if (named && !excluded(t->own, *p) && (!preload || *FIU_POSIX_PRELOAD))
			xappend(&t->cands, &t->ncands, p, sizeof *p);
	}
	xappend(&c->targets, &c->ntargets, &t, sizeof t);
	return t;
}

static void free_target(struct target *t)
{
	for (size_t i = 0; i < t->nchains; i++) {
		free(t->chains[i].ks);
		free(t->chains[i].added);
	}
	free(t->chains);
	faults_reached_free(t->reached, t->nreached);
	for (size_t i = 0; i < t->nbase; i++)
		free(t->base_artifacts[i]);
	free(t->base_artifacts);
	for (size_t i = 0; i < t->nbase_findings; i++)
		free(t->base_findings[i]);
	free(t->base_findings);
	free(t->waits);
	for (char **p = t->own; *p; p++)
		free(*p);
	free(t->own);
	free(t->cands);
	free(t->name);
	free(t);
}

/* ---- the plan of a target, from its discovery ------------------------------------------------ */

static bool has_errno(const char *point, int err)
{
	int errs[8];
	size_t n = faults_point_errnos(point, errs, 8);
	for (size_t i = 0; i < n; i++)
		if (errs[i] == err)
			return true;
	return false;
}

static const struct reached *reached_point(const struct target *t, const char *point)
{
	for (size_t i = 0; i < t->nreached; i++)
		if (strcmp(t->reached[i].point, point) == 0)
			return &t->reached[i];
	return NULL;
}

/* Does the pidns sibling run a once k of point with errno err whose
 * signature is sig? */
static bool sibling_runs(const struct faults_ctx *c, const struct target *t, const char *point, int err,
			 uint64_t sig)
{
	const struct target *s = t->sibling;
	if (!s || s->state != T_PLANNED)
		return false;
	for (size_t i = 0; i < s->nchains; i++) {
		const struct chain *ch = &s->chains[i];
		if (ch->from || ch->err != err || strcmp(ch->point, point) != 0 || !ch->r || !ch->r->sig)
			continue;
		for (size_t k = 0; k < ch->nks; k++)
			if (ch->ks[k] <= ch->r->nclass && ch->r->sig[ch->ks[k] - 1] == sig)
				return true;
	}
	(void)c;
	return false;
}

static uint64_t key_mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		h = (h ^ ((v >> (8 * i)) & 0xff)) * UINT64_C(1099511628211);
	return h;
}

/* The key of a once or from k of point failing with err whose k-signature
 * is sig (never 0, the set's empty slot). */
static uint64_t class_key(const char *point, int err, bool from, uint64_t sig)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (const char *p = point; *p; p++)
		h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
	h = key_mix(key_mix(key_mix(h, (uint64_t)err), from), sig);
	return h ? h : 1;
}

/* Adds key to the set of classes run: false when it was there. */
static bool class_add(struct faults_ctx *c, uint64_t key)
{
	if (2 * (c->nclasses_run + 1) > c->classes_cap) {
		size_t cap = c->classes_cap ? 2 * c->classes_cap : 1024;
		uint64_t *n = xcalloc(cap, sizeof *n);
		for (size_t i = 0; i < c->classes_cap; i++) {
			uint64_t v = c->classes_run[i];
			size_t at = v & (cap - 1);
			while (v && n[at])
				at = (at + 1) & (cap - 1);
			if (v)
				n[at] = v;
		}
		free(c->classes_run);
		c->classes_run = n;
		c->classes_cap = cap;
	}
	size_t at = key & (c->classes_cap - 1);
	while (c->classes_run[at]) {
		if (c->classes_run[at] == key)
			return false;
		at = (at + 1) & (c->classes_cap - 1);
	}
	c->classes_run[at] = key;
	c->nclasses_run++;
	return true;
}

/* Marks the call sites of the k-th calls of r failing with err (once or
 * from) as run: true when one of them was not yet. *named: does one of
 * them tell err apart from other errnos? posix/ points' errnos are all
 * told apart (the C library may look at them). */
static bool new_sites(struct faults_ctx *c, const struct reached *r, unsigned long k, int err, bool from,
		      bool *named)
{
	bool any = false, posix = strncmp(r->point, "tether/sys/", 11) != 0;
	*named = false;
	for (size_t q = 0; q < r->nksites[k - 1]; q++) {
		uint64_t site = r->ksites[k - 1][q];
		bool n = posix || faults_site_names(c->sites, site, err);
		*named = *named || n;
		any = class_add(c, class_key(r->point, n ? err : -1, from, faults_site_near(c->sites, site))) || any;
	}
	return any;
}

static void plan_chains(struct faults_ctx *c, struct target *t)
{
	unsigned long runs = 0, ks = 0, same_site = 0, twins = 0, same_iso = 0, eintr = 0, unnamed = 0, other_t = 0,
		      bare = 0, other_errno = 0;
	if (c->only) {
		struct chain ch = c->one;
		ch.t = t;
		ch.r = reached_point(t, ch.point);
		ch.count = ch.r ? ch.r->count : 0;
		ch.budget = faults_budget(ch.count, ch.r ? ch.r->nsites : 1, ch.err, c->sys.eintr_max);
		xappend(&t->chains, &t->nchains, &ch, sizeof ch);
		runs = 1;
	}
	for (size_t i = 0; i < t->nreached && !c->only; i++) {
		const struct reached *r = &t->reached[i];
		int errs[8];
		size_t ne = c->only_errno ? 1 : faults_point_errnos(r->point, errs, 8);
		if (c->only_errno)
			errs[0] = c->only_errno;
		unsigned long top = c->max_k && r->count > c->max_k ? c->max_k : r->count;
		bool other = false; /* an errno tether never names ran: it stands for all of them */
		for (size_t e = 0; e < ne; e++) {
			if (c->ci && !c->only_errno && !faults_errno_named(&c->sys, errs[e])) {
				if (other) {
					unnamed += 2;
					continue;
				}
				other = true;
			}
			/* the tether/sys/ twin runs the same calls with the same errno */
			if (c->ci && r->twin && reached_point(t, r->twin) && has_errno(r->twin, errs[e])) {
				twins += 2;
				continue;
			}
			for (int from = 0; from < 2; from++) {
				struct chain ch = {.t = t, .r = r, .point = r->point, .err = errs[e], .from = from,
						   .count = r->count, .k = 1,
						   .budget = faults_budget(r->count, r->nsites, errs[e], c->sys.eintr_max)};
				/* once, EINTR: sys.c's wrapper makes the call again at
				 * once, whatever the call site; its first k shows that */
				bool retried = c->ci && !from && errs[e] == EINTR && faults_eintr_retried(&c->sys, r->point);
				if (c->ci) {
					bool named_any;
					for (unsigned long k = 1; k <= top; k++) {
						ks++;
						if (retried && k > 1) {
							eintr++;
							continue;
						}
						if (r->nclass >= k && r->class_of[k - 1] != k) {
							same_site++;
							continue;
						}
						/* once: the same call fails after the same calls
						 * in every process as in the pidns run of it */
						if (!from && r->nclass >= k && sibling_runs(c, t, r->point, errs[e], r->sig[k - 1])) {
							same_iso++;
							continue;
						}
						/* Every call site of the k-th calls (one per
						 * process that makes one) failed already with
						 * this errno, or, where the site's code does not
						 * tell it apart, with another: in this target or
						 * another, whatever the other processes did. */
						if (c->sites && r->nclass >= k && !new_sites(c, r, k, errs[e], from, &named_any)) {
							if (named_any)
								other_t++;
							else
								other_errno++;
							continue;
						}
						xappend(&ch.ks, &ch.nks, &k, sizeof k);
					}
					bare += ch.nks == 0;
					runs += ch.nks;
					ch.truncated = c->max_k && r->count > c->max_k;
					c->truncated += ch.truncated;
				} else {
					runs += c->max_k && r->count >= c->max_k ? c->max_k : r->count + 1;
				}
				xappend(&t->chains, &t->nchains, &ch, sizeof ch);
			}
		}
	}
	c->skipped_k += same_site;
	c->twins_skipped += twins;
	c->same_as_sibling += same_iso;
	c->eintr_once += eintr;
	c->unnamed_skipped += unnamed;
	c->same_as_other += other_t;
	c->errno_other += other_errno;
	t->skipped_k = same_site;
	t->same_as_sibling = same_iso;
	char d[32];
	printf("# %s: discovery %s, %zu of %zu points reached, %zu chains, %s%lu runs", t->name,
	       lab_fmt_ns(t->discovery_ns, d, sizeof d), t->nreached, t->ncands, t->nchains, c->ci ? "" : "about ",
	       runs);
	if (c->ci)
		printf(" (of %lu k's: %lu at a call site another k has, %lu once as in pidns, %lu once EINTR retried "
		       "by sys.c; %lu posix chains left to their twin, %lu chains of an errno tether never names as "
		       "another's; %lu as the same sites' in a target before, %lu as another errno no file of "
		       "their stack names; %lu chains left empty)",
		       ks, same_site, same_iso, eintr, twins, unnamed, other_t, other_errno, bare);
	printf("\n");
	if (c->verbose) {
		printf("#   calls per process (max):");
		for (size_t i = 0; i < t->nreached; i++)
			printf("%s %s=%lu%s%s", i % 5 ? "," : "\n#    ", t->reached[i].point, t->reached[i].count,
			       t->reached[i].twin ? " twin of " : "", t->reached[i].twin ? t->reached[i].twin : "");
		printf("\n");
	}
	for (size_t i = 0; c->verbose && c->ci && i < t->nchains; i++)
		printf("#   chain %s errno=%d %s: %zu runs\n", t->chains[i].point, t->chains[i].err,
		       t->chains[i].from ? "from" : "once", t->chains[i].nks);
	if (!t->nreached)
		printf("#   no tether of the plan reached a point: a tether started through another program\n"
		       "#   (sh -c '$TETHER ...', unshare ...) gets no rules: only `tether` steps do\n");
}

static int by_cost(const void *a, const void *b)
{
	const struct target *x = *(struct target *const *)a, *y = *(struct target *const *)b;
	if (x->exclusive != y->exclusive)
		return x->exclusive ? 1 : -1;
	return x->discovery_ns < y->discovery_ns ? -1 : x->discovery_ns > y->discovery_ns;
}

/* --ci: a call site runs in the first target planned that reaches it. Once
 * every discovery is in, the targets are planned cheapest first (the
 * shortest discovery; the exclusive ones, which run alone, last): a site a
 * short scenario reaches is not run in a real daemon's, and the plan does
 * not depend on which discovery happened to end first. */
static bool plan_by_cost(struct faults_ctx *c)
{
	/* the exclusive targets are discovered after the others have run
	 * (alone, one at a time): they are planned as they come */
	for (size_t i = 0; i < c->ntargets; i++)
		if (!c->targets[i]->exclusive &&
		    (c->targets[i]->state == T_WAITING || c->targets[i]->state == T_DISCOVERING))
			return false;
	struct target **v = xcalloc(c->ntargets ? c->ntargets : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < c->ntargets; i++)
		if (c->targets[i]->state == T_DISCOVERED)
			v[n++] = c->targets[i];
	qsort(v, n, sizeof *v, by_cost);
	for (size_t i = 0; i < n; i++) {
		struct target *t = v[i];
		if (t->state != T_DISCOVERED)
			continue;
		/* the subreaper target's once chains look at its pidns sibling's */
		if (t->sibling && t->sibling->state == T_DISCOVERED) {
			t->sibling->state = T_PLANNED;
			plan_chains(c, t->sibling);
		}
		t->state = T_PLANNED;
		plan_chains(c, t);
	}
	free(v);
	return true;
}

/* Plans every discovered target whose pidns sibling (if any) has its plan
 * (or will have none). */
static void plan_ready(struct faults_ctx *c)
{
	if (c->sites) {
		plan_by_cost(c);
		return;
	}
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < c->ntargets; i++) {
			struct target *t = c->targets[i];
			if (t->state != T_DISCOVERED ||
			    (t->sibling && t->sibling->state != T_PLANNED && t->sibling->state != T_BAILED))
				continue;
			t->state = T_PLANNED;
			plan_chains(c, t);
			again = true;
		}
	}
}

/* The unfaulted run of t ended with j: the baseline, the plan. Returns
 * false when it must run again (it failed, the first time). */
static bool discovered(struct faults_ctx *c, struct target *t, struct slot *s, struct judgement *j, bool again)
{
	t->discovery_ns = j->ns;
	if (j->plan != PLAN_PASSED || (j->nfindings && strncmp(j->findings[0], "lab:", 4) == 0)) {
		if (!again && !c->pool.interrupted) {
			/* a loaded machine may fail a timing-sensitive plan once */
			if (j->dir)
				lab_rm_rf(j->dir);
			unlink(s->count_path);
			if (s->sites_path)
				unlink(s->sites_path);
			return false;
		}
		c->tap++;
		c->failed++;
		t->failed++;
		t->state = T_BAILED;
		plan_ready(c); /* its subreaper sibling waits no more */
		const char *why = j->plan_msg ? j->plan_msg : j->nfindings ? j->findings[0] : "?";
		printf("not ok %lu - %s: the scenario does not pass without faults (twice): %s\n", c->tap, t->name, why);
		for (size_t i = 0; i < j->nfindings; i++)
			printf("#   %s\n", j->findings[i]);
		struct failure f = {t, xstrdup("unfaulted"), xasprintf("does not pass without faults: %s", why), false};
		xappend(&c->failures, &c->nfailures, &f, sizeof f);
		return true;
	}
	if (j->nfindings) {
		/* The scenario's own doing (e.g. a start it makes fail on purpose,
		 * with an undocumented code): a failure once, here, and not again
		 * in every injection run. */
		c->tap++;
		c->failed++;
		t->failed++;
		printf("not ok %lu - %s: unfaulted run: %s\n", c->tap, t->name, j->findings[0]);
		for (size_t i = 1; i < j->nfindings; i++)
			printf("#   also: %s\n", j->findings[i]);
		printf("#   (the injection runs do not report these again)\n");
		struct failure f = {t, xstrdup("unfaulted"), xstrdup(j->findings[0]), false};
		xappend(&c->failures, &c->nfailures, &f, sizeof f);
		for (size_t i = 0; i < j->nfindings; i++) {
			char *n = faults_normalize(j->findings[i]);
			xappend(&t->base_findings, &t->nbase_findings, &n, sizeof n);
		}
	}
	if (j->dir)
		lab_rm_rf(j->dir);
	t->base_artifacts = j->artifacts;
	t->nbase = j->nartifacts;
	j->artifacts = NULL;
	j->nartifacts = 0;
	t->waits = j->waits;
	t->nwaits = j->nwaits;
	j->waits = NULL;
	j->nwaits = 0;
	faults_read_discovery(s->count_path, s->sites_path, t->cands, t->ncands, c->sites, &t->reached, &t->nreached);
	if (c->sites)
		faults_site_db_resolve(c->sites);
	unlink(s->count_path);
	if (s->sites_path)
		unlink(s->sites_path);
	t->state = T_DISCOVERED;
	plan_ready(c);
	return true;
}

/* ---- the schedule ----------------------------------------------------------------------- */

/* What the pool runs next: a discovery, a replay, a chain's next k. */
struct work {
	struct target *t;
	struct chain *ch;       /* NULL: t's discovery */
	unsigned long k;
	char *replay_of;        /* a replay: the first run's finding */
};

struct replay {
	struct chain *ch;
	unsigned long k;
	char *finding;
	bool discovery;
	struct target *t;
};

struct sched {
	struct replay *replays;
	size_t nreplays;
	bool exclusive;         /* running an exclusive target's work, alone */
};

static unsigned long left_of(const struct faults_ctx *c, const struct target *t)
{
	unsigned long left = 0;
	for (size_t i = 0; i < t->nchains; i++) {
		const struct chain *ch = &t->chains[i];
		if (ch->done)
			continue;
		/* --only's chain has one k, and no ks[] (with --ci as well) */
		left += ch->single ? ch->next == 0 : c->ci ? ch->nks - ch->next : (ch->running ? 0 : 1);
	}
	return left;
}

/* A chain's next k, or 0 when it has none to start now. */
static unsigned long next_k(const struct faults_ctx *c, struct chain *ch)
{
	if (ch->done || ch->t->runs >= c->max_runs)
		return 0;
	if (c->ci || ch->single) {
		if (ch->single)
			return ch->next++ == 0 ? ch->k : 0;
		return ch->next < ch->nks ? ch->ks[ch->next++] : 0;
	}
	return ch->running ? 0 : ch->k;
}

static bool pick(struct faults_ctx *c, struct sched *sc, bool exclusive, struct work *w)
{
	for (size_t i = 0; i < sc->nreplays; i++) {
		struct replay *r = &sc->replays[i];
		if (r->t->exclusive != exclusive)
			continue;
		*w = (struct work){r->t, r->ch, r->k, r->finding};
		if (r->discovery)
			w->replay_of = xstrdup("");
		sc->replays[i] = sc->replays[--sc->nreplays];
		return true;
	}
	for (size_t i = 0; i < c->ntargets; i++) {
		struct target *t = c->targets[i];
		if (t->exclusive == exclusive && t->state == T_WAITING) {
			t->state = T_DISCOVERING;
			*w = (struct work){t, NULL, 0, NULL};
			return true;
		}
	}
	/* the target with the most work left: a long one's tail then overlaps
	 * the others' */
	struct target *best = NULL;
	unsigned long most = 0;
	for (size_t i = 0; i < c->ntargets; i++) {
		struct target *t = c->targets[i];
		unsigned long left;
		if (t->exclusive != exclusive || t->state != T_PLANNED || (left = left_of(c, t)) == 0)
			continue;
		if (left > most) {
			most = left;
			best = t;
		}
	}
	for (size_t i = 0; best && i < best->nchains; i++) {
		struct chain *ch = &best->chains[i];
		unsigned long k = next_k(c, ch);
		if (k) {
			*w = (struct work){best, ch, k, NULL};
			return true;
		}
	}
	return false;
}

static char *rule_of(const struct chain *ch, unsigned long k)
{
	return xasprintf("%s:%d:%lu:%s", ch->point, ch->err, k, ch->from ? "from" : "once");
}

static void start(struct faults_ctx *c, struct work *w)
{
	if (!w->ch) {
		struct tether_buf rules;
		tether_buf_init(&rules);
		for (size_t i = 0; i < w->t->ncands; i++)
			tether_buf_printf(&rules, "%s%s:%d:%llu:once", i ? ";" : "", w->t->cands[i], EIO,
					  (unsigned long long)UINT64_MAX);
		struct slot *s = faults_start_run(c, w->t, NULL, 0, rules.data ? rules.data : "");
		s->replay = w->replay_of != NULL;
		free(w->replay_of);
		tether_buf_done(&rules);
		return;
	}
	char *rule = rule_of(w->ch, w->k);
	if (!w->replay_of)
		w->ch->running++; /* a replay's was counted when it was queued */
	struct slot *s = faults_start_run(c, w->t, w->ch, w->k, rule);
	if (w->replay_of) {
		s->replay = true;
		s->first_finding = w->replay_of;
	}
	free(rule);
}

/* An injection run in --ci met call sites the discovery did not see (its
 * timing differed): their k's join every chain of the point. */
static void add_sites(struct target *t, const struct chain *from, const struct judgement *j)
{
	for (size_t s = 0; s < j->nsites; s++) {
		for (size_t i = 0; i < t->nchains; i++) {
			struct chain *ch = &t->chains[i];
			if (strcmp(ch->point, from->point) != 0 || ch->done)
				continue;
			bool have = false;
			for (size_t a = 0; a < ch->nadded && !have; a++)
				have = ch->added[a] == j->sites[s].hash;
			for (size_t k = 0; k < ch->nks && !have; k++)
				have = ch->ks[k] == j->sites[s].k;
			if (have)
				continue;
			xappend(&ch->added, &ch->nadded, &j->sites[s].hash, sizeof j->sites[s].hash);
			xappend(&ch->ks, &ch->nks, &j->sites[s].k, sizeof j->sites[s].k);
		}
	}
}

static void ended(struct faults_ctx *c, struct sched *sc, struct slot *s, struct judgement *j)
{
	struct target *t = s->t;
	struct chain *ch = s->chain;
	if (!ch) {
		if (!discovered(c, t, s, j, s->replay)) {
			struct replay r = {.t = t, .discovery = true};
			xappend(&sc->replays, &sc->nreplays, &r, sizeof r);
		}
		return;
	}
	ch->running--;
	t->run_ns += j->ns;
	enum verdict v = c->pool.interrupted ? V_QUIET : faults_verdict(c, s, j);
	/* the lab keeps the directory of a plan that failed (most injection
	 * runs' plans do): only --keep keeps a failure's */
	if (j->dir && !(c->keep && v == V_FAIL))
		lab_rm_rf(j->dir);
	if (c->pool.interrupted)
		return;
	if (c->ci && v == V_FAIL && !s->replay && !ch->single) {
		/* run once more before it counts */
		struct replay r = {ch, s->k, xstrdup(j->findings[0]), false, t};
		xappend(&sc->replays, &sc->nreplays, &r, sizeof r);
		ch->running++; /* the chain is not done while its replay waits */
		return;
	}
	const char *flaky = s->replay && v != V_FAIL && v != V_KNOWN ? s->first_finding : NULL;
	if (s->replay && v == V_QUIET)
		v = V_PASS; /* the first run injected; this one did not: it passed */
	faults_print_run(c, s, j, v, flaky);
	if (c->ci && !s->replay)
		add_sites(t, ch, j);
	/* the chain's end */
	if (c->ci || ch->single) {
		if (ch->single || (ch->next >= ch->nks && !ch->running))
			ch->done = true;
	} else if (!j->fired.lines) {
		ch->done = true;
	} else if (c->max_k && s->k >= c->max_k) {
		ch->done = ch->truncated = true;
		c->truncated++;
	} else {
		ch->k = s->k + 1;
	}
}

/* A line a minute: how far the enumeration is. */
static void progress(struct faults_ctx *c, int64_t *last)
{
	int64_t now = lab_now();
	if (now - *last < 60 * NS_PER_SEC)
		return;
	*last = now;
	unsigned long planned = 0, discovering = 0;
	for (size_t i = 0; i < c->ntargets; i++) {
		const struct target *t = c->targets[i];
		discovering += t->state == T_WAITING || t->state == T_DISCOVERING || t->state == T_DISCOVERED;
		for (size_t k = 0; k < t->nchains; k++)
			planned += c->ci ? t->chains[k].nks : 0;
	}
	char d[32];
	printf("# progress: %s, %lu runs", lab_fmt_ns(now - c->t0, d, sizeof d), c->runs);
	if (c->ci)
		printf(" of %lu planned%s", planned, discovering ? " so far" : "");
	printf(", %lu failed\n", c->failed);
}

static void run_all(struct faults_ctx *c)
{
	struct sched sc = {0};
	int64_t last = lab_now();
	for (int pass = 0; pass < 2; pass++) {
		/* first every other target, the pool full; then the exclusive
		 * ones, one run at a time */
		bool exclusive = pass == 1;
		size_t size = exclusive ? 1 : c->pool.size;
		for (;;) {
			struct work w;
			while (c->pool.busy < size && !c->pool.interrupted && !c->out_of_time && pick(c, &sc, exclusive, &w)) {
				if (c->time_limit && lab_now() - c->t0 > c->time_limit) {
					c->out_of_time = true;
					free(w.replay_of);
					break;
				}
				start(c, &w);
			}
			if (!c->pool.busy)
				break;
			struct judgement j;
			struct slot *s = faults_end_run(c, lab_jobs_wait(&c->pool), &j);
			ended(c, &sc, s, &j);
			faults_judgement_clear(&j);
			faults_slot_free(s);
			progress(c, &last);
		}
	}
	for (size_t i = 0; i < sc.nreplays; i++)
		free(sc.replays[i].finding);
	free(sc.replays);
}

/* ---- the command ------------------------------------------------------------------------- */

/* --skip FILE: lines "GLOB  # why", GLOB matched (fnmatch) against a
 * scenario's file name without its directory. A why is required: a
 * scenario is never left out without saying so. */
struct skip {
	char *glob;
	char *why;
};

static int load_skips(const char *path, struct skip **ret, size_t *n)
{
	int err;
	char *text = lab_read_file(path, 1u << 20, NULL, &err), **lines;
	if (!text) {
		errno = err;
		return -1;
	}
	size_t nl = lab_split_lines(text, &lines);
	int r = 0;
	for (size_t i = 0; i < nl; i++) {
		char *l = lines[i] + strspn(lines[i], " \t");
		if (!*l || *l == '#')
			continue;
		size_t glen = strcspn(l, " \t");
		char *hash = strstr(l + glen, "#");
		if (!hash || !hash[1 + strspn(hash + 1, " ")]) {
			errno = EINVAL; /* no reason given */
			r = -1;
			break;
		}
		struct skip s = {xstrndup(l, glen), xstrdup(hash + 1 + strspn(hash + 1, " "))};
		xappend(ret, n, &s, sizeof s);
	}
	if (nl)
		free(lines);
	free(text);
	return r;
}

static const struct skip *skipped(const struct skip *v, size_t n, const char *file)
{
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	for (size_t i = 0; i < n; i++)
		if (fnmatch(v[i].glob, base, 0) == 0)
			return &v[i];
	return NULL;
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
		{"enumerate", required_argument, NULL, 'e'},    {"points", required_argument, NULL, 'p'},
		{"errno", required_argument, NULL, 'E'},        {"max-k", required_argument, NULL, 'k'},
		{"max-runs", required_argument, NULL, 'm'},     {"jobs", required_argument, NULL, 'j'},
		{"only", required_argument, NULL, 'o'},         {"tether", required_argument, NULL, 't'},
		{"seed", required_argument, NULL, 's'},         {"verbose", no_argument, NULL, 'v'},
		{"step-timeout", required_argument, NULL, 'T'}, {"keep", no_argument, NULL, 'K'},
		{"known", required_argument, NULL, 'n'},        {"ci", no_argument, NULL, 'c'},
		{"isolation", required_argument, NULL, 'i'},    {"time-limit", required_argument, NULL, 'L'},
		{"report", required_argument, NULL, 'r'},       {"quiet", no_argument, NULL, 'q'},
		{"skip", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},               {NULL, 0, NULL, 0},
	};
	struct faults_ctx c = {.max_k = 32, .max_runs = 5000, .jobs = 1, .pool = {.sig_fd = -1},
			       .globs = "tether/sys/*,posix/*"};
	c.opt.grace = 2 * NS_PER_SEC;
	const char *report = NULL;
	struct skip *skips = NULL;
	size_t nskips = 0;
	char **args = NULL;
	size_t nargs = 0;
	int64_t step_timeout = 0;
	bool have_seed = false;
	char *end;
	int ch;
	while ((ch = getopt_long(argc, argv, "vhq", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': xappend(&args, &nargs, &optarg, sizeof optarg); break;
		case 'p': c.globs = optarg; break;
		case 'E':
			if ((c.only_errno = lab_errno_parse(optarg)) <= 0)
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
		case 'o': c.only = optarg; break;
		case 't': c.tether_arg = optarg; break;
		case 's':
			if (lab_seed_parse(optarg, &c.opt.seed) < 0)
				return usage_error("--seed takes a number, not '%s'", optarg);
			have_seed = true;
			break;
		case 'v': c.verbose = true; break;
		case 'q': c.quiet = true; break;
		case 'K': c.keep = true; break;
		case 'c': c.ci = true; break;
		case 'r': report = optarg; break;
		case 'S':
			if (load_skips(optarg, &skips, &nskips) < 0)
				return usage_error("--skip: cannot read %s: %s", optarg, strerror(errno));
			break;
		case 'i':
			if (strcmp(optarg, "pidns") != 0 && strcmp(optarg, "subreaper") != 0 && strcmp(optarg, "both") != 0 &&
			    strcmp(optarg, "as-written") != 0)
				return usage_error("--isolation takes pidns, subreaper, both or as-written, not '%s'", optarg);
			c.isolation_arg = optarg;
			break;
		case 'n':
			if (faults_load_known(&c, optarg) < 0)
				return usage_error("--known: cannot read %s: %s", optarg, strerror(errno));
			break;
		case 'T':
		case 'L': {
			int64_t v;
			if (tether_parse_duration(optarg, &v) < 0 || v <= 0)
				return usage_error("--%s takes a duration (250ms, 3s, 15m), not '%s'",
						   ch == 'T' ? "step-timeout" : "time-limit", optarg);
			if (ch == 'T') {
				step_timeout = v;
				c.step_timeout_arg = optarg;
			} else {
				c.time_limit = v;
			}
			break;
		}
		case 'h':
			fputs(faults_usage, stdout);
			faults_print_errno_table(stdout, "  ");
			return 0;
		default:
			fputs(faults_usage, stderr);
			return 64;
		}
	}
	for (; optind < argc && nargs; optind++)
		xappend(&args, &nargs, &argv[optind], sizeof argv[optind]);
	if (!nargs || optind != argc) {
		free(args);
		fputs(faults_usage, stderr);
		return 64;
	}
	if (c.only && parse_only(c.only, &c.one) < 0) {
		free(args);
		return usage_error("--only takes POINT:ERRNO:K:once|from with a known point, not '%s'", c.only);
	}
	if (!c.isolation_arg && c.ci)
		c.isolation_arg = "both";

	char *self = lab_absolute("/proc/self/exe");
	c.self = self ? self : xstrdup("harness");
	struct lab_paths where;
	lab_paths_find(&where, c.tether_arg, NULL, NULL);
	int rc = 0;
	char **files = NULL;
	size_t nfiles = 0;
	struct scenario **scns = NULL;
	size_t nscns = 0;
	if (!where.tether) {
		fprintf(stderr, "harness faults: no executable tether at %s (--tether PATH or TETHER=PATH)\n",
			where.tether_asked);
		rc = 64;
		goto out;
	}
	if (lab_paths_stage(&where) < 0) {
		fprintf(stderr, "harness faults: cannot copy tether and the fixtures where other users reach them: %s\n",
			strerror(errno));
		return 70;
	}
	c.opt.tether = where.tether;
	c.opt.fixtures = where.fixtures;
	c.opt.srcdir = where.srcdir;
	faults_read_sys(where.srcdir, &c.sys);
	if (c.ci && !c.only)
		c.sites = faults_site_db_new(c.opt.tether, c.opt.srcdir);
	if (!have_seed)
		c.opt.seed = lab_seed_random();
	for (size_t i = 0; i < nargs; i++) {
		int e = collect(args[i], &files, &nfiles);
		if (e < 0) {
			fprintf(stderr, "harness faults: %s: %s\n", args[i], strerror(-e));
			rc = 64;
			goto out;
		}
	}
	int r = lab_mkdtemp("faults", &c.work);
	if (r < 0)
		lab_die("cannot create %s: %s", c.work, strerror(-r));
	c.opt.report_dir = c.work;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# harness faults --enumerate: %zu scenario%s, %s mode, isolation %s, tether %s, seed %llu\n", nfiles,
	       nfiles == 1 ? "" : "s", c.ci ? "ci" : "full", c.isolation_arg ? c.isolation_arg : "as written",
	       c.opt.tether, (unsigned long long)c.opt.seed);
	if (!tether_fault_available() || !*FIU_RUN_PRELOAD || access(FIU_RUN_PRELOAD, R_OK) < 0) {
		printf("1..0 # SKIP needs libfiu (fault points compiled in, and its preload libraries)\n");
		goto out;
	}
	bool root = geteuid() == 0;
	for (size_t i = 0; i < nfiles; i++) {
		char *perr = NULL;
		struct scenario *scn = scenario_parse(files[i], &perr);
		if (!scn) {
			printf("Bail out! %s\n", perr);
			free(perr);
			rc = 1;
			goto out;
		}
		xappend(&scns, &nscns, &scn, sizeof scn);
		char *why = lab_requirements_unmet(scn, &c.opt);
		if (why) {
			printf("# %s: skipped: %s\n", scn->name, why);
			free(why);
			continue;
		}
		const struct skip *sk = skipped(skips, nskips, files[i]);
		if (sk) {
			printf("# %s: skipped (--skip): %s\n", scn->name, sk->why);
			c.skipped_scenarios++;
			continue;
		}
		if (step_timeout)
			scn->step_timeout = step_timeout;
		const char *iso = c.isolation_arg;
		if (!iso || strcmp(iso, "as-written") == 0 || !isolation_left_open(scn->steps, scn->nsteps)) {
			new_target(&c, files[i], scn, NULL);
		} else if (strcmp(iso, "both") == 0) {
			/* a PID namespace needs root: without it, tether's auto is subreaper */
			struct target *p = root ? new_target(&c, files[i], scn, "pidns") : NULL;
			new_target(&c, files[i], scn, "subreaper")->sibling = c.ci ? p : NULL;
		} else {
			new_target(&c, files[i], scn, iso);
		}
	}
	if (c.isolation_arg && strcmp(c.isolation_arg, "both") == 0 && !root)
		printf("# not root: no PID namespace, every tether runs --isolation subreaper\n");
	if (c.verbose)
		faults_print_errno_table(stdout, "# errnos: ");
	lab_jobs_init(&c.pool, c.jobs);
	/* a marker inherited from an enclosing run would be ours by mistake */
	unsetenv(LAB_ENV_RUN);
	unsetenv(LAB_ENV_SPAWN);
	c.t0 = lab_now();
	run_all(&c);
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("# CPU time of the runs: %.0f s user, %.0f s system\n",
	       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	r = faults_summary(&c, report);
	if (r < 0)
		fprintf(stderr, "harness faults: cannot write %s: %s\n", report, strerror(-r));
	rc = c.failed || c.unscheduled || c.pool.interrupted || c.out_of_time || r < 0 ? 1 : 0;
out:
	lab_jobs_done(&c.pool);
	for (size_t i = 0; i < c.nknowns; i++) {
		free(c.knowns[i].point);
		free(c.knowns[i].finding);
		free(c.knowns[i].why);
		free(c.knowns[i].scenario);
	}
	free(c.knowns);
	for (size_t i = 0; i < nskips; i++) {
		free(skips[i].glob);
		free(skips[i].why);
	}
	free(skips);
	for (size_t i = 0; i < c.nfailures; i++) {
		free(c.failures[i].rule);
		free(c.failures[i].finding);
	}
	free(c.failures);
	for (size_t i = 0; i < c.npoints; i++) {
		for (size_t k = 0; k < c.points[i].nkinds; k++)
			free(c.points[i].kinds[k]);
		free(c.points[i].kinds);
		free(c.points[i].nkind);
	}
	free(c.points);
	faults_sys_facts_done(&c.sys);
	faults_site_db_free(c.sites);
	free(c.classes_run);
	for (size_t i = 0; i < c.ntargets; i++)
		free_target(c.targets[i]);
	free(c.targets);
	for (size_t i = 0; i < nscns; i++)
		scenario_free(scns[i]);
	free(scns);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(args);
	if (c.work) {
		lab_rm_rf(c.work);
		free(c.work);
	}
	free(c.self);
	lab_paths_done(&where);
	return rc;
}
