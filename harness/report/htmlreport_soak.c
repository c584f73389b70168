/* SPDX-License-Identifier: MIT */
/* htmlreport_soak.c — the soak and the benchmarks (see report.h):
 *
 * Soak: the verdict, the replay command, and its timeline: every injected
 * event at its virtual time over tether's RSS and descriptors; the soak's
 * G2 and G6 (and its refused intruders, G1) are evidence for the matrix.
 *
 * Benchmarks: ci/bench's tables (the .tsv files of REPORT/bench, titled by
 * summary.txt), tether's rows marked among the anchors'.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "report/report.h"

/* ---- soak ------------------------------------------------------------------------------- */

struct report_summary report_section_soak(struct tether_buf *b, struct report_ctx *c)
{
	static const char *const files[] = {"soak.json", NULL};
	report_section_open(b, c, "soak", "Soak", files, "harness soak");
	struct report_doc d;
	report_doc_load(&d, c->dir, "soak.json");
	if (!d.root) {
		if (d.err == ENOENT)
			tether_buf_puts(b, "<p class=\"none\">not run: no soak.json here (ci/nightly runs 24 hours).</p>\n");
		else
			report_doc_error(b, &d);
		tether_buf_puts(b, "</section>\n");
		enum report_state st = d.err == ENOENT ? REPORT_NOT_RUN : REPORT_BAD;
		report_doc_done(&d);
		return report_summary_make(st, st == REPORT_BAD ? "unreadable" : "not run", NULL);
	}
	const struct tether_json *r = d.root;
	int passed = report_jbool(r, "passed");
	double vs = report_jnum(r, "virtual_s"), wall = report_jnum(r, "wall_s");
	const char *dur = report_jstr(r, "duration"), *clock = report_jstr(r, "clock");
	enum report_state st = passed == 1 ? REPORT_OK : REPORT_BAD;
	tether_buf_printf(b, "<p class=\"verdict %s\">%s: %.1f hours of %s time in %.1f s, %.0f instances, seed %.0f", report_state_class(st),
			  passed == 1 ? "PASS" : "FAIL", vs / 3600, clock ? clock : "?", wall, report_jnum(r, "instances"),
			  report_jnum(r, "seed"));
	tether_buf_puts(b, ".</p>\n");
	const char *fmsg = report_jstr(r, "failure.message"), *replay = report_jstr(r, "replay");
	if (fmsg) {
		tether_buf_puts(b, "<div class=\"failures\"><b>failure</b>, at virtual ");
		report_esc(b, fmsg);
		tether_buf_puts(b, "</div>\n");
	}
	if (replay) {
		tether_buf_puts(b, "<p class=\"note\">replay: <code>");
		report_esc(b, replay);
		tether_buf_puts(b, "</code></p>\n");
	}

	/* the timeline: a lane per event kind, tether's footprint below */
	const struct tether_json *tl = tether_json_get(r, "timeline"), *sm = tether_json_get(r, "samples");
	struct report_lane lanes[16];
	size_t nl = 0;
	for (size_t i = 0; tl && tl->type == TETHER_JSON_ARRAY && i < tl->count; i++) {
		const char *ev = report_jstr(tl->items[i], "event");
		double v = report_jnum(tl->items[i], "vms");
		if (!ev || !isfinite(v))
			continue;
		size_t k = 0;
		while (k < nl && strcmp(lanes[k].label, ev) != 0)
			k++;
		if (k == nl) {
			if (nl == sizeof lanes / sizeof lanes[0])
				continue;
			lanes[nl++] = (struct report_lane){.label = ev};
		}
		double h = v / 3.6e6;
		xappend(&lanes[k].at_h, &lanes[k].n, &h, sizeof h);
	}
	size_t ns = sm && sm->type == TETHER_JSON_ARRAY ? sm->count : 0;
	double *sh = xcalloc(ns ? ns : 1, sizeof *sh), *rss = xcalloc(ns ? ns : 1, sizeof *rss),
	       *fds = xcalloc(ns ? ns : 1, sizeof *fds);
	unsigned *inc = xcalloc(ns ? ns : 1, sizeof *inc);
	for (size_t i = 0; i < ns; i++) {
		sh[i] = report_jnum(sm->items[i], "vms") / 3.6e6;
		rss[i] = report_jnum(sm->items[i], "rss_kb");
		fds[i] = report_jnum(sm->items[i], "fds");
		double in = report_jnum(sm->items[i], "incarnation");
		inc[i] = isfinite(in) ? (unsigned)in : 0;
	}
	if (nl || ns) {
		struct report_timeline t = {.end_h = isfinite(vs) ? vs / 3600 : 0,
					    .fail_h = fmsg ? report_jnum(r, "failure.virtual_s") / 3600 : NAN,
					    .lanes = lanes, .nlanes = nl, .sample_h = sh, .rss_kb = rss, .fds = fds,
					    .incarnation = inc, .nsamples = ns};
		report_svg_timeline(b, &t);
	} else {
		tether_buf_puts(b, "<p class=\"note\">no timeline in this soak.json.</p>\n");
	}
	for (size_t k = 0; k < nl; k++)
		free(lanes[k].at_h);
	free(sh);
	free(rss);
	free(fds);
	free(inc);

	/* what was checked, in one table */
	tether_buf_puts(b, "<table class=\"grid kv soak\"><tbody>");
	const struct tether_json *ev = tether_json_get(r, "events");
	tether_buf_puts(b, "<tr><th>events injected</th><td>");
	for (size_t k = 0; ev && ev->type == TETHER_JSON_OBJECT && k < ev->count; k++) {
		tether_buf_puts(b, k ? " · " : "");
		report_esc(b, ev->keys[k]);
		tether_buf_printf(b, " %.0f", report_jnum(ev->items[k], "injected"));
	}
	tether_buf_printf(b, "</td></tr><tr><th>the journal, checked against the model</th><td>%.0f restarts (%.0f delays "
			     "checked) · %.0f give-ups · %.0f watchdog kills · %.0f heartbeats checked · %.0f log rotations</td></tr>",
			  report_jnum(r, "journal.restarts"), report_jnum(r, "journal.delays_checked"),
			  report_jnum(r, "journal.give_ups"), report_jnum(r, "journal.watchdog_kills"),
			  report_jnum(r, "journal.heartbeats_checked"), report_jnum(r, "journal.rotations"));
	double orphans = report_jnum(r, "g2.orphans"), g2ms = report_jnum(r, "g2.max_ms");
	tether_buf_printf(b, "<tr><th>G2 after every SIGKILL, give-up and at the end</th><td class=\"%s\">%.0f orphans; "
			     "the slowest tree gone %.1f ms after its supervisor</td></tr>",
			  orphans > 0 ? "bad" : "ok", orphans, g2ms);
	if (isfinite(orphans))
		report_evidence_add(c, "G2", orphans > 0 ? REPORT_BAD : REPORT_OK, "soak", "soak: %.0f orphans in %.0f h", orphans,
				    vs / 3600);
	const struct tether_json *g6 = tether_json_get(r, "g6");
	unsigned judged = 0, grew = 0;
	tether_buf_puts(b, "<tr><th>G6 per tether incarnation<div class=\"note\">anonymous memory · fds, early → late</div>"
			   "</th><td>");
	for (size_t k = 0; g6 && g6->type == TETHER_JSON_ARRAY && k < g6->count; k++) {
		const struct tether_json *g = g6->items[k];
		bool j = report_jbool(g, "judged") == 1, gr = report_jbool(g, "grew") == 1;
		judged += j;
		grew += gr;
		tether_buf_printf(b, "%s<span class=\"%s\">#%.0f ", k ? " · " : "", gr ? "bad" : j ? "" : "none",
				  report_jnum(g, "incarnation"));
		/* what G6 judges: anonymous memory (a soak.json older than that:
		 * its VmRSS) */
		const char *early = tether_json_get(g, "anon_kb_early") ? "anon_kb_early" : "rss_kb_early";
		const char *late = tether_json_get(g, "anon_kb_late") ? "anon_kb_late" : "rss_kb_late";
		if (j)
			tether_buf_printf(b, "%.0f → %.0f kB, %.0f → %.0f", report_jnum(g, early), report_jnum(g, late),
					  report_jnum(g, "fds_early"), report_jnum(g, "fds_late"));
		else
			tether_buf_printf(b, "(%.1f h: too short)", report_jnum(g, "virtual_s") / 3600);
		tether_buf_puts(b, "</span>");
	}
	tether_buf_puts(b, "</td></tr></tbody></table>\n</section>\n");
	if (judged)
		report_evidence_add(c, "G6", grew ? REPORT_BAD : REPORT_OK, "soak", "soak: anonymous memory, fds %s (%u of %u judged)",
				    grew ? "GREW" : "flat", judged, (unsigned)(g6 ? g6->count : 0));
	if (report_jnum(r, "events.intruder.injected") > 0 && passed == 1)
		report_evidence_add(c, "G1", REPORT_OK, "soak", "soak: %.0f intruders refused",
				    report_jnum(r, "events.intruder.injected"));
	char value[40];
	snprintf(value, sizeof value, "%s %s", dur ? dur : "", passed == 1 ? "passed" : "FAILED");
	double seed = report_jnum(r, "seed");
	struct report_summary s = isfinite(seed) ? report_summary_make(st, value, "seed %.0f%s", seed,
								       clock && strcmp(clock, "simulated") ? ", real clock" : "")
						 : report_summary_make(st, value, NULL);
	report_doc_done(&d);
	return s;
}

/* ---- ci/bench --------------------------------------------------------------------------- */

static int tsv_only(const struct dirent *e)
{
	size_t len = strlen(e->d_name);
	return len > 4 && strcmp(e->d_name + len - 4, ".tsv") == 0;
}

static bool numeric(const char *s)
{
	char *end;
	if (!*s)
		return false;
	strtod(s, &end);
	return *end == '\0';
}

/* One .tsv as a table, tether's rows marked; title: summary.txt's "## (b) ..." */
static void bench_table(struct tether_buf *b, char *text, const char *title, const char *name)
{
	char **lines;
	size_t nl = lab_split_lines(text, &lines);
	tether_buf_puts(b, "<h3>");
	report_esc(b, title ? title : name);
	tether_buf_puts(b, "</h3>\n<table class=\"grid bench\">");
	for (size_t i = 0; i < nl; i++) {
		if (!*lines[i])
			continue;
		bool head = i == 0, ours = !head && (strncmp(lines[i], "tether", 6) == 0 || strstr(lines[i], "+its guardian"));
		tether_buf_puts(b, head ? "<thead><tr>" : ours ? "<tr class=\"ours\">" : "<tr>");
		/* strsep, not strtok: an empty cell (a row without a note) keeps its column */
		char *rest = lines[i];
		size_t col = 0;
		for (char *cell = strsep(&rest, "\t"); cell; cell = strsep(&rest, "\t"), col++) {
			tether_buf_puts(b, head ? "<th>" : numeric(cell) ? "<td class=\"n\">" : col == 0 ? "<th>" : "<td>");
			report_esc(b, cell);
			tether_buf_puts(b, head ? "</th>" : numeric(cell) ? "</td>" : col == 0 ? "</th>" : "</td>");
		}
		tether_buf_puts(b, head ? "</tr></thead><tbody>" : "</tr>\n");
	}
	tether_buf_puts(b, "</tbody></table>\n");
	free(lines);
}

struct report_summary report_section_bench(struct tether_buf *b, struct report_ctx *c)
{
	static const char *const files[] = {"bench/summary.txt", NULL};
	report_section_open(b, c, "bench", "Benchmarks against the supervisor anchors", files, "ci/bench");
	size_t len;
	int err;
	char *sum = report_read(c->dir, "bench/summary.txt", &len, &err);
	if (!sum) {
		tether_buf_puts(b, "<p class=\"none\">not run: no bench/ here (ci/bench, 4–5 minutes, measures tether beside "
				   "s6, runit, daemontools, supervisord, start-stop-daemon and tini).</p>\n</section>\n");
		return report_summary_make(REPORT_NOT_RUN, "not run", NULL);
	}
	/* the "# ..." head (date, host, load) and the "## (x) title" of each table */
	char **lines;
	size_t nl = lab_split_lines(sum, &lines);
	char *titles[26] = {0};
	tether_buf_puts(b, "<p class=\"note\">");
	for (size_t i = 0; i < nl; i++) {
		const char *l = lines[i];
		if (l[0] == '#' && l[1] == ' ' && (i < 6 || strstr(l, "WARNING"))) {
			/* the head (date, host, load), and a warning wherever it is */
			tether_buf_puts(b, strstr(l, "WARNING") ? "<span class=\"warn\">" : "<span>");
			report_esc(b, l + 2);
			tether_buf_puts(b, "</span><br/>");
		} else if (strncmp(l, "## (", 4) == 0 && l[4] >= 'a' && l[4] <= 'z' && l[5] == ')') {
			titles[l[4] - 'a'] = xstrdup(l + 3);
		}
	}
	tether_buf_puts(b, "tether's rows are marked; the others are the anchors', measured the same way in the same run.</p>\n");
	free(lines);
	char *bdir = xasprintf("%s/bench", c->dir);
	struct dirent **list;
	int k = scandir(bdir, &list, tsv_only, alphasort);
	free(bdir);
	/* the cycle (b) and idle (d) tables first: the comparisons people ask
	 * for; the others folded under them */
	bool folded = false;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < k; i++) {
			const char *name = list[i]->d_name;
			bool main_table = name[0] == 'b' || name[0] == 'd';
			if (main_table != (pass == 0))
				continue;
			if (pass == 1 && !folded) {
				tether_buf_puts(b, "<details><summary>the other anchor tables</summary>\n");
				folded = true;
			}
			char *rel = xasprintf("bench/%s", name);
			char *tsv = report_read(c->dir, rel, &len, &err);
			if (tsv)
				bench_table(b, tsv, name[0] >= 'a' && name[0] <= 'z' && name[1] == '-' ? titles[name[0] - 'a'] : NULL,
					    name);
			free(tsv);
			free(rel);
		}
	if (folded)
		tether_buf_puts(b, "</details>\n");
	for (int i = 0; i < k; i++)
		free(list[i]);
	if (k >= 0)
		free(list);
	for (size_t i = 0; i < 26; i++)
		free(titles[i]);
	free(sum);
	tether_buf_puts(b, "</section>\n");
	return report_summary_make(REPORT_INFO, "measured", "%d tables", k > 0 ? k : 0);
}

