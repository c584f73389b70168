/* SPDX-License-Identifier: MIT */
/* enumerate_report.c — the verdicts of `harness faults`: one TAP line per
 * injection run (its details and replay commands when it failed), --known
 * failures, the summary, and REPORT/faults.json (see faults.h).
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faults/faults.h"
#include "common/common.h"

/* ---- known failures --------------------------------------------------------------------- */

/* Lines "[SCENARIO-GLOB:]POINT-GLOB[:once|:from] FINDING-GLOB  # why"
 * (fnmatch, the scenario's name without .scn); '#' at the start: a
 * comment. */
int faults_load_known(struct faults_ctx *c, const char *path)
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
				  hash ? xstrdup(hash + 3 + strspn(hash + 3, " ")) : xstrndup(rest, flen), NULL, 0};
		char *last = strrchr(k.point, ':');
		if (last && (strcmp(last, ":once") == 0 || strcmp(last, ":from") == 0)) {
			k.mode = last[1] == 'o' ? 1 : 2;
			*last = '\0';
		}
		char *colon = strchr(k.point, ':');
		if (colon) {
			k.scenario = xstrndup(k.point, (size_t)(colon - k.point));
			memmove(k.point, colon + 1, strlen(colon + 1) + 1);
		}
		xappend(&c->knowns, &c->nknowns, &k, sizeof k);
	}
	if (n)
		free(lines);
	free(text);
	return 0;
}

/* The known failure that explains every finding of the run, or NULL. */
static const struct known *known_failure(const struct faults_ctx *c, const struct target *t, const struct chain *ch,
					 const struct judgement *j)
{
	const char *point = ch->point;
	const struct known *first = NULL;
	for (size_t f = 0; f < j->nfindings; f++) {
		const struct known *hit = NULL;
		for (size_t i = 0; i < c->nknowns && !hit; i++)
			if ((!c->knowns[i].scenario || fnmatch(c->knowns[i].scenario, t->scn->name, 0) == 0) &&
			    (!c->knowns[i].mode || c->knowns[i].mode == (ch->from ? 2 : 1)) &&
			    fnmatch(c->knowns[i].point, point, 0) == 0 && fnmatch(c->knowns[i].finding, j->findings[f], 0) == 0)
				hit = &c->knowns[i];
		if (!hit)
			return NULL;
		first = first ? first : hit;
	}
	return first;
}

/* ---- the verdict of one injection -------------------------------------------------------- */

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

enum verdict faults_verdict(struct faults_ctx *c, const struct slot *s, struct judgement *j)
{
	const struct target *t = s->t;
	const struct chain *ch = s->chain;
	/* what the unfaulted run shows already is not this fault's doing */
	size_t kept = 0;
	for (size_t i = 0; i < j->nfindings; i++) {
		char *n = faults_normalize(j->findings[i]);
		if (in_list(t->base_findings, t->nbase_findings, n))
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
		if (!ends_with(j->artifacts[i], ".lock") && !in_list(t->base_artifacts, t->nbase, j->artifacts[i]) &&
		    !j->sigkilled && !cleanup_point(ch->point))
			faults_judgement_add(j, "G3: %s left behind (the unfaulted run leaves no such file)", j->artifacts[i]);
	if (!j->fired.lines && !j->nfindings)
		return V_QUIET;
	if (!j->nfindings)
		return V_PASS;
	return known_failure(c, t, ch, j) ? V_KNOWN : V_FAIL;
}

static const char *mode(const struct chain *ch)
{
	return ch->from ? "from" : "once";
}

void faults_print_replay(struct faults_ctx *c, const struct target *t, const char *rule)
{
	char iso[64] = "";
	if (t->isolation)
		snprintf(iso, sizeof iso, " --isolation %s", t->isolation);
	printf("#   reproduce: %s faults --enumerate %s%s%s%s%s%s%s --only '%s'\n", c->self, t->arg, c->ci ? " --ci" : "",
	       iso, c->tether_arg ? " --tether " : "", c->tether_arg ? c->tether_arg : "",
	       c->step_timeout_arg ? " --step-timeout " : "", c->step_timeout_arg ? c->step_timeout_arg : "", rule);
	printf("#   inspect:   %s run --keep%s%s --fault '%s' %s\n", c->self, c->tether_arg ? " --tether " : "",
	       c->tether_arg ? c->tether_arg : "", rule, t->arg);
}

/* "busy loop", "G2", "hang", "exit", "crash", "lab": what kind of finding. */
static char *kind_of(const char *finding)
{
	size_t n = strcspn(finding, ":");
	if (strncmp(finding, "libfiu", 6) == 0)
		return xstrdup("libfiu");
	return xstrndup(finding, n < 24 ? n : 24);
}

void faults_tally(struct faults_ctx *c, const char *point, bool failed, bool flaky, char **findings, size_t n)
{
	struct point_tally *p = NULL;
	for (size_t i = 0; i < c->npoints && !p; i++)
		if (strcmp(c->points[i].point, point) == 0)
			p = &c->points[i];
	if (!p) {
		struct point_tally z = {.point = point};
		xappend(&c->points, &c->npoints, &z, sizeof z);
		p = &c->points[c->npoints - 1];
	}
	p->runs++;
	p->failures += failed;
	p->flaky += flaky;
	for (size_t f = 0; f < n && (failed || flaky); f++) {
		char *kind = kind_of(findings[f]);
		size_t i = 0;
		while (i < p->nkinds && strcmp(p->kinds[i], kind) != 0)
			i++;
		if (i == p->nkinds) {
			unsigned long zero = 0;
			size_t m = p->nkinds;
			xappend(&p->kinds, &p->nkinds, &kind, sizeof kind);
			xappend(&p->nkind, &m, &zero, sizeof zero);
		} else {
			free(kind);
		}
		p->nkind[i]++;
	}
}

static void record_failure(struct faults_ctx *c, const struct slot *s, const char *finding, bool flaky)
{
	struct failure f = {s->t, xstrdup(s->rule), xstrdup(finding), flaky};
	xappend(&c->failures, &c->nfailures, &f, sizeof f);
}

void faults_print_run(struct faults_ctx *c, const struct slot *s, struct judgement *j, enum verdict v,
		      const char *flaky)
{
	const struct chain *ch = s->chain;
	struct target *t = s->t;
	const struct fired *f = &j->fired;
	faults_tally(c, ch->point, v == V_FAIL, flaky != NULL, j->findings, j->nfindings);
	if (v == V_QUIET) {
		c->quiet_runs++;
		if (c->verbose)
			printf("# %s: %s errno=%d %s: k=%lu injects nothing (discovery counted %lu calls)%s\n", t->name,
			       ch->point, ch->err, mode(ch), s->k, ch->count, c->ci ? "" : ": chain done");
		return;
	}
	c->tap++;
	const char *what = f->lines ? "" : " (nothing injected)";
	if (v == V_PASS) {
		c->passed++;
		t->passed++;
		c->clean += j->plan == PLAN_CLEAN;
		c->degraded += j->plan == PLAN_DEGRADED;
		c->unaffected += j->plan == PLAN_PASSED;
		if (flaky) {
			c->flaky++;
			t->flaky++;
			record_failure(c, s, flaky, true);
			printf("ok %lu - %s: %s errno=%d k=%lu %s: %s%s # flaky: failed once, passed when run again: %s\n",
			       c->tap, t->name, ch->point, ch->err, s->k, mode(ch), j->summary ? j->summary : "?", what,
			       flaky);
			faults_print_replay(c, t, s->rule);
		} else if (!c->quiet) {
			char d[32] = "";
			if (c->verbose)
				lab_fmt_ns(j->ns, d, sizeof d);
			printf("ok %lu - %s: %s errno=%d k=%lu %s: %s%s%s%s%s\n", c->tap, t->name, ch->point, ch->err, s->k,
			       mode(ch), j->summary ? j->summary : "?", what, *d ? " [" : "", d, *d ? "]" : "");
		}
		return;
	}
	const struct known *kn = v == V_KNOWN ? known_failure(c, t, ch, j) : NULL;
	c->failed += !kn;
	t->failed += !kn;
	c->known += kn != NULL;
	t->known += kn != NULL;
	if (!kn)
		record_failure(c, s, j->findings[0], false);
	char *first = lab_excerpt(j->findings[0], 600), d[32] = "";
	if (c->verbose)
		lab_fmt_ns(j->ns, d, sizeof d);
	printf("not ok %lu - %s: %s errno=%d k=%lu %s: %s%s%s%s%s%s%s\n", c->tap, t->name, ch->point, ch->err, s->k,
	       mode(ch), first, what, *d ? " [" : "", d, *d ? "]" : "", kn ? " # TODO known: " : "", kn ? kn->why : "");
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
	faults_print_replay(c, t, s->rule);
}

/* ---- the summary -------------------------------------------------------------------------- */

static void json_str(struct tether_buf *b, const char *key, const char *v, bool comma)
{
	tether_buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
	v ? tether_buf_json_string(b, v) : tether_buf_puts(b, "null");
}

static int target_cmp(const void *a, const void *b)
{
	const struct target *x = *(struct target *const *)a, *y = *(struct target *const *)b;
	return x->run_ns < y->run_ns ? 1 : x->run_ns > y->run_ns ? -1 : 0;
}

static void loadavg(char *buf, size_t len)
{
	int err;
	char *t = lab_read_file("/proc/loadavg", 4096, NULL, &err);
	double a = 0, b = 0, c = 0;
	if (t && sscanf(t, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(buf, len, "%.2f %.2f %.2f", a, b, c);
	else
		snprintf(buf, len, "?");
	free(t);
}

int faults_summary(struct faults_ctx *c, const char *path)
{
	char d[32], load[64];
	int64_t took = lab_now() - c->t0;
	loadavg(load, sizeof load);
	unsigned long unfinished = 0, chains = 0;
	for (size_t i = 0; i < c->ntargets; i++)
		for (size_t k = 0; k < c->targets[i]->nchains; k++) {
			const struct chain *ch = &c->targets[i]->chains[k];
			/* --ci: a chain is done when its ks[] ran (none: nothing to run) */
			unfinished += c->ci && !ch->single ? ch->next < ch->nks || ch->running : !ch->done;
			chains++;
		}
	printf("1..%lu\n", c->tap);
	printf("# %lu injection runs in %s on --jobs %u (load average at the end: %s)", c->runs,
	       lab_fmt_ns(took, d, sizeof d), c->jobs, load);
	printf("; %lu with nothing injected; passed: %lu unaffected, %lu clean failures, %lu degraded\n", c->quiet_runs,
	       c->unaffected, c->clean, c->degraded);
	if (c->ci)
		printf("# --ci: %lu k's left out as the same call site as a k that ran, %lu once k's of a subreaper run "
		       "as their pidns run's, %lu once EINTR k's as sys.c's retry, %lu chains of posix/ points left "
		       "out as their tether/sys/ twin's, %lu chains of an errno tether never names as another's\n",
		       c->skipped_k, c->same_as_sibling, c->eintr_once, c->twins_skipped, c->unnamed_skipped);
	if (c->truncated)
		printf("# %lu chains cut at --max-k %lu (their point is called more often)\n", c->truncated, c->max_k);
	if (unfinished)
		printf("# %lu of %lu chains not finished (%s)\n", unfinished, chains,
		       c->pool.interrupted ? "interrupted" : c->out_of_time ? "--time-limit reached" : "--max-runs reached");
	/* --ci has no --max-runs bound in practice: runs planned and never
	 * started are the schedule's fault, and must not pass for a clean
	 * enumeration */
	if (c->ci && unfinished && !c->pool.interrupted && !c->out_of_time) {
		bool bounded = false;
		for (size_t i = 0; i < c->ntargets && !bounded; i++)
			bounded = c->targets[i]->runs >= c->max_runs;
		if (!bounded) {
			printf("not ok - %lu chains have runs that were never started\n", unfinished);
			c->unscheduled = unfinished;
		}
	}
	if (c->known)
		printf("# %lu known failures (TODO: --known)\n", c->known);
	if (c->skipped_scenarios)
		printf("# %lu scenarios left out (--skip, each named above with its reason)\n", c->skipped_scenarios);
	if (c->ntargets > 1) {
		struct target **byt = xcalloc(c->ntargets, sizeof *byt);
		memcpy(byt, c->targets, c->ntargets * sizeof *byt);
		qsort(byt, c->ntargets, sizeof *byt, target_cmp);
		printf("# the scenarios by the time their runs took (summed over the jobs):\n");
		for (size_t i = 0; i < c->ntargets; i++) {
			struct target *t = byt[i];
			char a[32], b[32];
			printf("#   %-40s %5lu runs %9s (discovery %s)%s%s\n", t->name, t->runs, lab_fmt_ns(t->run_ns, a, sizeof a),
			       lab_fmt_ns(t->discovery_ns, b, sizeof b), t->failed ? ", FAILED" : "",
			       t->state == T_BAILED ? ", bailed out" : t->state == T_SKIPPED ? ", skipped" : "");
		}
		free(byt);
	}
	if (c->nfailures) {
		printf("# failures:\n");
		for (size_t i = 0; i < c->nfailures; i++)
			printf("#   %s%s: %s: %s\n", c->failures[i].flaky ? "(flaky) " : "", c->failures[i].t->name,
			       c->failures[i].rule, c->failures[i].finding);
	}
	if (c->out_of_time)
		printf("not ok - the enumeration ran out of its time (--time-limit): %lu chains not finished\n", unfinished);
	printf("%lu passed, %lu failed%s", c->passed, c->failed, c->flaky ? "" : "\n");
	if (c->flaky)
		printf(" (%lu flaky: failed once, passed when run again)\n", c->flaky);
	if (!path)
		return 0;

	struct tether_buf b;
	tether_buf_init(&b);
	tether_buf_puts(&b, "{\"format\":\"tether-lab-faults/1\"");
	json_str(&b, "tether", c->opt.tether, true);
	json_str(&b, "mode", c->ci ? "ci" : "full", true);
	json_str(&b, "isolation", c->isolation_arg ? c->isolation_arg : "as written", true);
	tether_buf_printf(&b, ",\"jobs\":%u,\"duration_s\":%.1f", c->jobs, (double)took / 1e9);
	json_str(&b, "loadavg_end", load, true);
	tether_buf_printf(&b, ",\"runs\":%lu,\"passed\":%lu,\"failed\":%lu,\"flaky\":%lu,\"known\":%lu,\"quiet\":%lu",
			  c->runs, c->passed, c->failed, c->flaky, c->known, c->quiet_runs);
	tether_buf_printf(&b, ",\"complete\":%s", unfinished || c->pool.interrupted ? "false" : "true");
	tether_buf_puts(&b, ",\"scenarios\":[");
	for (size_t i = 0; i < c->ntargets; i++) {
		const struct target *t = c->targets[i];
		tether_buf_puts(&b, i ? ",{" : "{");
		json_str(&b, "scenario", t->scn->name, false);
		json_str(&b, "isolation", t->isolation, true);
		json_str(&b, "state",
			 t->state == T_BAILED ? "bailed out" : t->state == T_SKIPPED ? "skipped" : "enumerated", true);
		tether_buf_printf(&b, ",\"runs\":%lu,\"passed\":%lu,\"failed\":%lu,\"flaky\":%lu,\"points\":%zu,"
				      "\"run_s\":%.1f,\"discovery_s\":%.2f}",
				  t->runs, t->passed, t->failed, t->flaky, t->nreached, (double)t->run_ns / 1e9,
				  (double)t->discovery_ns / 1e9);
	}
	tether_buf_puts(&b, "],\"points\":[");
	for (size_t i = 0; i < c->npoints; i++) {
		const struct point_tally *p = &c->points[i];
		tether_buf_puts(&b, i ? ",{" : "{");
		json_str(&b, "point", p->point, false);
		tether_buf_printf(&b, ",\"runs\":%lu,\"failures\":%lu,\"flaky\":%lu,\"classes\":{", p->runs, p->failures,
				  p->flaky);
		for (size_t k = 0; k < p->nkinds; k++) {
			if (k)
				tether_buf_puts(&b, ",");
			tether_buf_json_string(&b, p->kinds[k]);
			tether_buf_printf(&b, ":%lu", p->nkind[k]);
		}
		tether_buf_puts(&b, "}}");
	}
	tether_buf_puts(&b, "],\"failures\":[");
	for (size_t i = 0; i < c->nfailures; i++) {
		const struct failure *f = &c->failures[i];
		tether_buf_puts(&b, i ? ",{" : "{");
		json_str(&b, "scenario", f->t->scn->name, false);
		json_str(&b, "isolation", f->t->isolation, true);
		json_str(&b, "rule", f->rule, true);
		json_str(&b, "finding", f->finding, true);
		tether_buf_printf(&b, ",\"flaky\":%s", f->flaky ? "true" : "false");
		char *replay = xasprintf("harness faults --enumerate %s%s%s%s --only '%s'", f->t->arg, c->ci ? " --ci" : "",
					 f->t->isolation ? " --isolation " : "", f->t->isolation ? f->t->isolation : "",
					 f->rule);
		json_str(&b, "replay", replay, true);
		free(replay);
		tether_buf_puts(&b, "}");
	}
	tether_buf_puts(&b, "]}\n");
	if (b.oom)
		lab_die("out of memory");
	char *tmp = xasprintf("%s.tmp", path);
	int r = lab_write_file(tmp, b.data, b.len);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	free(tmp);
	tether_buf_done(&b);
	return r;
}
