/* SPDX-License-Identifier: MIT */
/* htmlreport_proofs.c — the lab's proofs about itself, after the matrix:
 *
 * Mutants (harness/mutants/, check-mutants): broken supervisors, each of
 * which some scenario must catch. Read from mutants.json (reports/README.md
 * gives its shape: name, promise, spec, caught_by, message, skipped) or,
 * without it, from mutants.txt ("NAME: scenario scenario", "NAME: (none)",
 * "NAME: (not run: why)"). A mutant whose `spec` names a guarantee (G1...)
 * is evidence for that row of the matrix.
 *
 * The enumeration (`harness faults --enumerate`, faults.json): per failure
 * point, how many injection runs, how they ended (unaffected, a clean
 * failure, degraded, failed) and the findings of the failed ones. It is
 * G9's evidence; G1-G3 findings in it count against those rows.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "report/report.h"

static const char *const gids[] = {
#define HARNESS_GUARANTEE(id, name, meaning) #id,
#include "common/guarantees.def"
#undef HARNESS_GUARANTEE
	NULL};

/* ---- mutants ------------------------------------------------------------------------ */

struct mutant {
	char *name, *promise, *spec, *message, *skipped;
	char **caught_by;
	size_t ncaught;
};

static void mutant_free(struct mutant *m)
{
	free(m->name);
	free(m->promise);
	free(m->spec);
	free(m->message);
	free(m->skipped);
	for (size_t i = 0; i < m->ncaught; i++)
		free(m->caught_by[i]);
	free(m->caught_by);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* mutants.json; -1 when its shape is not the one documented */
static long mutants_from_json(const struct tether_json *root, struct mutant **ret)
{
	const struct tether_json *list = tether_json_get(root, "mutants");
	if (!list || list->type != TETHER_JSON_ARRAY)
		return -1;
	struct mutant *v = xcalloc(list->count ? list->count : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < list->count; i++) {
		const struct tether_json *o = list->items[i];
		const char *name = report_jstr(o, "name");
		if (o->type != TETHER_JSON_OBJECT || !name)
			continue;
		struct mutant *m = &v[n++];
		*m = (struct mutant){.name = xstrdup(name), .promise = dup_or_null(report_jstr(o, "promise")),
				     .spec = dup_or_null(report_jstr(o, "spec")),
				     .message = dup_or_null(report_jstr(o, "message")),
				     .skipped = dup_or_null(report_jstr(o, "skipped"))};
		const struct tether_json *c = tether_json_get(o, "caught_by");
		for (size_t k = 0; c && c->type == TETHER_JSON_ARRAY && k < c->count; k++)
			if (c->items[k]->type == TETHER_JSON_STRING) {
				char *sc = xstrdup(c->items[k]->string);
				xappend(&m->caught_by, &m->ncaught, &sc, sizeof sc);
			}
	}
	*ret = v;
	return (long)n;
}

/* mutants.txt as check-mutants writes it */
static long mutants_from_txt(char *text, struct mutant **ret)
{
	char **lines;
	size_t nl = lab_split_lines(text, &lines);
	struct mutant *v = xcalloc(nl ? nl : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < nl; i++) {
		char *l = lines[i], *colon = strchr(l, ':');
		if (l[0] == '#' || !colon || colon == l)
			continue;
		struct mutant *m = &v[n++];
		*m = (struct mutant){.name = xstrndup(l, (size_t)(colon - l))};
		const char *rest = colon + 1 + strspn(colon + 1, " ");
		if (strncmp(rest, "(not run", 8) == 0) {
			const char *why = rest + 8 + strspn(rest + 8, ": ");
			size_t len = strlen(why);
			m->skipped = xstrndup(why, len && why[len - 1] == ')' ? len - 1 : len);
			continue;
		}
		if (strcmp(rest, "(none)") == 0)
			continue;
		char *copy = xstrdup(rest), *save = NULL;
		for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			char *sc = xstrdup(w);
			xappend(&m->caught_by, &m->ncaught, &sc, sizeof sc);
		}
		free(copy);
	}
	free(lines);
	*ret = v;
	return (long)n;
}

/* Evidence for each guarantee the mutant's spec names ("§8 G1", "G2, §1"). */
static void mutant_evidence(struct report_ctx *c, const struct mutant *m)
{
	if (!m->spec || m->skipped)
		return;
	char *copy = xstrdup(m->spec), *save = NULL;
	for (char *w = strtok_r(copy, " ,;()/", &save); w; w = strtok_r(NULL, " ,;()/", &save))
		for (size_t k = 0; gids[k]; k++)
			if (strcmp(w, gids[k]) == 0) {
				if (m->ncaught)
					report_evidence_add(c, gids[k], REPORT_OK, "mutants", "mutant %s caught", m->name);
				else
					report_evidence_add(c, gids[k], REPORT_BAD, "mutants", "mutant %s ESCAPED", m->name);
			}
	free(copy);
}

struct report_summary report_section_mutants(struct tether_buf *b, struct report_ctx *c)
{
	static const char *const files[] = {"mutants.json", "mutants.txt", NULL};
	report_section_open(b, c, "mutants", "Mutants caught", files, "check-mutants");
	struct report_doc d;
	report_doc_load(&d, c->dir, "mutants.json");
	struct mutant *m = NULL;
	long n = -1;
	bool from_json = false;
	char *txt = NULL;
	if (d.root) {
		n = mutants_from_json(d.root, &m);
		from_json = n >= 0;
		if (n < 0)
			tether_buf_puts(b, "<p class=\"bad\">mutants.json has no \"mutants\" array.</p>\n");
	} else if (d.err != ENOENT) {
		report_doc_error(b, &d);
	} else {
		size_t len;
		int err;
		txt = report_read(c->dir, "mutants.txt", &len, &err);
		if (txt)
			n = mutants_from_txt(txt, &m);
	}
	struct report_summary s;
	if (n < 0 && d.err == ENOENT && !txt) {
		tether_buf_puts(b, "<p class=\"none\">not run: no mutants.json or mutants.txt here "
				   "(harness/mutants/check-mutants writes them).</p>\n</section>\n");
		report_doc_done(&d);
		return report_summary_make(REPORT_NOT_RUN, "not run", NULL);
	}
	if (n <= 0) {
		tether_buf_puts(b, n == 0 ? "<p class=\"bad\">no mutant listed.</p>\n" : "");
		tether_buf_puts(b, "</section>\n");
		report_doc_done(&d);
		free(txt);
		free(m);
		return report_summary_make(REPORT_BAD, n == 0 ? "none" : "unreadable", NULL);
	}
	size_t caught = 0, escaped = 0, skipped = 0;
	struct tether_buf esc_names;
	tether_buf_init(&esc_names);
	for (long i = 0; i < n; i++) {
		caught += !m[i].skipped && m[i].ncaught;
		skipped += m[i].skipped != NULL;
		if (!m[i].skipped && !m[i].ncaught) {
			tether_buf_printf(&esc_names, "%s%s", escaped ? ", " : "", m[i].name);
			escaped++;
		}
		mutant_evidence(c, &m[i]);
	}
	enum report_state st = escaped ? REPORT_BAD : caught ? REPORT_OK : REPORT_NOT_RUN;
	tether_buf_printf(b, "<p class=\"verdict %s\">%zu of %zu mutants caught", report_state_class(st), caught,
			  (size_t)n - skipped);
	if (escaped) {
		tether_buf_puts(b, "; escaped: ");
		report_esc(b, esc_names.data);
	}
	if (skipped)
		tether_buf_printf(b, "; %zu not run", skipped);
	tether_buf_printf(b, ".</p>\n<table class=\"grid\"><thead><tr><th>mutant</th>%s<th>caught by</th>%s</tr></thead><tbody>\n",
			  from_json ? "<th>promise broken</th><th>SPEC</th>" : "", from_json ? "<th>how</th>" : "");
	for (long i = 0; i < n; i++) {
		const struct mutant *x = &m[i];
		enum report_state ms = x->skipped ? REPORT_NOT_RUN : x->ncaught ? REPORT_OK : REPORT_BAD;
		tether_buf_printf(b, "<tr class=\"%s\"><th>", ms == REPORT_BAD ? "bad" : "");
		report_esc(b, x->name);
		tether_buf_puts(b, "</th>");
		if (from_json) {
			tether_buf_puts(b, "<td>");
			report_esc(b, x->promise ? x->promise : "");
			tether_buf_puts(b, "</td><td>");
			report_esc(b, x->spec ? x->spec : "");
			tether_buf_puts(b, "</td>");
		}
		tether_buf_printf(b, "<td class=\"%s\">", report_state_class(ms));
		if (x->skipped) {
			tether_buf_puts(b, "not run: ");
			report_esc(b, x->skipped);
		} else if (!x->ncaught) {
			tether_buf_puts(b, "<b>ESCAPED: no scenario failed</b>");
		}
		for (size_t k = 0; k < x->ncaught; k++) {
			tether_buf_puts(b, k ? ", " : "");
			report_esc(b, x->caught_by[k]);
		}
		tether_buf_puts(b, "</td>");
		if (from_json) {
			tether_buf_puts(b, "<td class=\"msg\">");
			report_esc(b, x->message ? x->message : "");
			tether_buf_puts(b, "</td>");
		}
		tether_buf_puts(b, "</tr>\n");
	}
	tether_buf_puts(b, "</tbody></table>\n</section>\n");
	char value[48];
	snprintf(value, sizeof value, "%zu / %zu", caught, (size_t)n - skipped);
	s = report_summary_make(st, value, escaped ? "caught; escaped: %s" : "caught%s",
				escaped ? esc_names.data : skipped ? " (some not run)" : "");
	tether_buf_done(&esc_names);
	for (long i = 0; i < n; i++)
		mutant_free(&m[i]);
	free(m);
	free(txt);
	report_doc_done(&d);
	return s;
}

/* ---- the enumeration ---------------------------------------------------------------- */

static double count_of(const struct tether_json *o, const char *key)
{
	double v = report_jnum(o, key);
	return isfinite(v) ? v : 0;
}

static int by_failures(const void *a, const void *b)
{
	const struct tether_json *x = *(struct tether_json *const *)a, *y = *(struct tether_json *const *)b;
	double fx = count_of(x, "failures"), fy = count_of(y, "failures");
	if (fx != fy)
		return fx < fy ? 1 : -1;
	const char *px = report_jstr(x, "point"), *py = report_jstr(y, "point");
	return strcmp(px ? px : "", py ? py : "");
}

/* A bar of a point's runs by how they ended. */
static void outcome_bar(struct tether_buf *b, const struct tether_json *p)
{
	static const struct {
		const char *key, *cls;
	} parts[] = {{"unaffected", "o-none"}, {"clean", "o-clean"}, {"degraded", "o-deg"}};
	double runs = count_of(p, "runs"), fail = count_of(p, "failures");
	if (runs <= 0)
		return;
	tether_buf_puts(b, "<span class=\"obar\">");
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		double v = count_of(tether_json_get(p, "outcomes"), parts[i].key);
		if (v > 0)
			tether_buf_printf(b, "<span class=\"%s\" style=\"width:%.1f%%\" title=\"%s: %.0f\"></span>", parts[i].cls,
					  100 * v / runs, parts[i].key, v);
	}
	if (fail > 0)
		tether_buf_printf(b, "<span class=\"o-fail\" style=\"width:%.1f%%\" title=\"failed: %.0f\"></span>",
				  100 * fail / runs, fail);
	tether_buf_puts(b, "</span>");
}

struct report_summary report_section_enumeration(struct tether_buf *b, struct report_ctx *c)
{
	static const char *const files[] = {"faults.json", NULL};
	report_section_open(b, c, "enumeration", "Fault enumeration", files, "harness faults --enumerate");
	struct report_doc d;
	report_doc_load(&d, c->dir, "faults.json");
	const struct tether_json *points = d.root ? tether_json_get(d.root, "points") : NULL;
	if (d.err == ENOENT) {
		tether_buf_puts(b, "<p class=\"none\">not run: no faults.json here.</p>\n</section>\n");
		report_doc_done(&d);
		report_evidence_add(c, "G9", REPORT_NOT_RUN, "enumeration", "enumeration not run");
		return report_summary_make(REPORT_NOT_RUN, "not run", NULL);
	}
	if (!d.root || !points || points->type != TETHER_JSON_ARRAY) {
		if (d.root)
			tether_buf_puts(b, "<p class=\"bad\">faults.json has no \"points\" array.</p>\n");
		else
			report_doc_error(b, &d);
		tether_buf_puts(b, "</section>\n");
		report_doc_done(&d);
		return report_summary_make(REPORT_BAD, "unreadable", NULL);
	}
	double runs = count_of(d.root, "runs"), failures = count_of(d.root, "failures"), known = count_of(d.root, "known");
	double secs = report_jnum(d.root, "seconds"), nsc = report_jnum(d.root, "scenarios");
	enum report_state st = failures > 0 ? REPORT_BAD : REPORT_OK;
	tether_buf_printf(b, "<p class=\"verdict %s\">%.0f failure%s in %.0f injection runs", report_state_class(st),
			  failures, failures == 1 ? "" : "s", runs);
	if (isfinite(nsc))
		tether_buf_printf(b, " over %.0f scenario%s", nsc, nsc == 1 ? "" : "s");
	if (isfinite(secs))
		tether_buf_printf(b, " (%.0f min)", secs / 60);
	if (known > 0)
		tether_buf_printf(b, "; %.0f known (TODO)", known);
	tether_buf_puts(b, ".</p>\n");
	report_evidence_add(c, "G9", st, "enumeration", "enumeration: %.0f failed of %.0f", failures, runs);
	/* the judge's G1-G3 findings count against those rows */
	static const char *const judged[] = {"G1", "G2", "G3"};
	for (size_t k = 0; k < 3; k++) {
		double f = 0;
		for (size_t i = 0; i < points->count; i++)
			f += count_of(tether_json_get(points->items[i], "findings"), judged[k]);
		if (f > 0)
			report_evidence_add(c, judged[k], REPORT_BAD, "enumeration", "enumeration: %.0f %s findings", f,
					    judged[k]);
	}
	struct tether_json **sorted = xcalloc(points->count ? points->count : 1, sizeof *sorted);
	memcpy(sorted, points->items, points->count * sizeof *sorted);
	qsort(sorted, points->count, sizeof *sorted, by_failures);
	tether_buf_puts(b, "<p class=\"note\">per failure point: the runs that failed its k-th call (once, and from k "
			   "on), and how they ended: <span class=\"key o-none\"></span> unaffected "
			   "<span class=\"key o-clean\"></span> a clean failure <span class=\"key o-deg\"></span> degraded "
			   "<span class=\"key o-fail\"></span> failed</p>\n");
	tether_buf_puts(b, "<table class=\"grid enum\"><thead><tr><th>point</th><th>runs</th><th>failed</th>"
			   "<th>how they ended</th><th>findings of the failed runs</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < points->count; i++) {
		const struct tether_json *p = sorted[i];
		const char *name = report_jstr(p, "point");
		double f = count_of(p, "failures");
		tether_buf_printf(b, "<tr class=\"%s\"><th><code>", f > 0 ? "bad" : "");
		report_esc(b, name ? name : "?");
		tether_buf_printf(b, "</code></th><td class=\"n\">%.0f</td><td class=\"n\">%.0f</td><td>", count_of(p, "runs"), f);
		outcome_bar(b, p);
		tether_buf_puts(b, "</td><td>");
		const struct tether_json *fi = tether_json_get(p, "findings");
		for (size_t k = 0; fi && fi->type == TETHER_JSON_OBJECT && k < fi->count; k++)
			if (fi->items[k]->type == TETHER_JSON_NUMBER && fi->items[k]->number > 0) {
				tether_buf_puts(b, k ? ", " : "");
				report_esc(b, fi->keys[k]);
				tether_buf_printf(b, " %.0f", fi->items[k]->number);
			}
		tether_buf_puts(b, "</td></tr>\n");
	}
	tether_buf_puts(b, "</tbody></table>\n");
	free(sorted);
	const struct tether_json *failed = tether_json_get(d.root, "failed");
	if (failed && failed->type == TETHER_JSON_ARRAY && failed->count) {
		tether_buf_printf(b, "<details><summary>the failed runs (%zu), with the command that replays each</summary><ul>",
				  failed->count);
		for (size_t i = 0; i < failed->count; i++) {
			const struct tether_json *r = failed->items[i];
			const char *sc = report_jstr(r, "scenario"), *rule = report_jstr(r, "rule"),
				   *rep = report_jstr(r, "reproduce");
			const struct tether_json *fs = tether_json_get(r, "findings");
			tether_buf_puts(b, "<li>");
			report_esc(b, sc ? sc : "?");
			tether_buf_puts(b, " <code>");
			report_esc(b, rule ? rule : "?");
			tether_buf_puts(b, "</code>");
			for (size_t k = 0; fs && fs->type == TETHER_JSON_ARRAY && k < fs->count; k++)
				if (fs->items[k]->type == TETHER_JSON_STRING) {
					tether_buf_puts(b, k ? "; " : ": ");
					report_esc(b, fs->items[k]->string);
				}
			if (rep) {
				tether_buf_puts(b, "<pre>");
				report_esc(b, rep);
				tether_buf_puts(b, "</pre>");
			}
			tether_buf_puts(b, "</li>");
		}
		tether_buf_puts(b, "</ul></details>\n");
	}
	tether_buf_puts(b, "</section>\n");
	report_doc_done(&d);
	char value[48];
	snprintf(value, sizeof value, "%.0f failure%s", failures, failures == 1 ? "" : "s");
	return report_summary_make(st, value, "in %.0f runs%s", runs, known > 0 ? " (+ known)" : "");
}
