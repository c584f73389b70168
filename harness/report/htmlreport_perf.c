/* SPDX-License-Identifier: MIT */
/* htmlreport_perf.c — what the lab measured, after what it proved:
 *
 * Stress: every stress.json of the reports directory (REPORT/stress.json,
 * the lab's build in ci/lab, and REPORT/DIR/stress.json, e.g. musl/ for the
 * production build), one column each, the production build first: the
 * build is what its `build` field says (`tether --version`: "fault points:
 * none" is the production build, SPEC §10), and the cycle target
 * (cycle p50 <= 3 fork+exec floors) is judged against that build; for the
 * others it is shown, not judged, since nobody installs them.
 *
 * Soak: the verdict, the replay command, and its timeline: every injected
 * event at its virtual time over tether's RSS and descriptors.
 *
 * Benchmarks: ci/bench's tables (the .tsv files of REPORT/bench, titled by
 * summary.txt), tether's rows marked among the anchors'.
 *
 * Latency: histograms of start->ready, stop->gone and the cycle, the builds
 * overlaid (stress.json's latency_hist; percentile ladders for files without
 * one).
 *
 * Each also gives the matrix its evidence (report.h): steady state (G6), the
 * races (G1), the faults injected (G2 G3 G7 G8), the soak's G2 and G6.
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

/* ---- which build ---------------------------------------------------------------------- */

bool report_build_is_production(const struct report_doc *d)
{
	const char *v = report_jstr(d->root, "build.version"), *path = report_jstr(d->root, "tether");
	if (v)
		return strstr(v, "fault points: none") != NULL;
	/* a stress.json from before the build was recorded: ci/lab's musl/ */
	return path && strstr(path, "/musl/");
}

static const char *short_label(const struct report_doc *d)
{
	const char *v = report_jstr(d->root, "build.version");
	return report_build_is_production(d) ? "production" : v ? "lab" : "(build unknown)";
}

char *report_build_label(const struct report_ctx *c, const struct report_doc *d)
{
	(void)c;
	const char *v = report_jstr(d->root, "build.version"), *link = report_jstr(d->root, "build.linkage");
	const char *path = report_jstr(d->root, "tether");
	bool musl = path && strstr(path, "musl");
	struct tether_buf t;
	tether_buf_init(&t);
	tether_buf_puts(&t, report_build_is_production(d) ? "production build" : v ? "lab build" : "tether");
	const char *sep = " (";
	if (musl) {
		tether_buf_printf(&t, "%smusl", sep);
		sep = ", ";
	}
	if (link && strcmp(link, "unknown") != 0) {
		tether_buf_printf(&t, "%s%s", sep, link);
		sep = ", ";
	}
	if (v) {
		tether_buf_printf(&t, "%s%s", sep, strstr(v, "fault points: none") ? "no fault points" : "fault points");
		sep = ", ";
	}
	if (strcmp(sep, ", ") == 0)
		tether_buf_puts(&t, ")");
	if (t.oom)
		lab_die("out of memory");
	return t.data;
}

static int stress_order(const void *a, const void *b)
{
	const struct report_doc *x = a, *y = b;
	int px = x->root && report_build_is_production(x), py = y->root && report_build_is_production(y);
	if (px != py)
		return py - px;
	return strcmp(x->rel, y->rel);
}

size_t report_stress_load(const struct report_ctx *c, struct report_doc **ret)
{
	struct report_doc *v = NULL;
	size_t n = 0;
	struct report_doc d;
	report_doc_load(&d, c->dir, "stress.json");
	if (d.err != ENOENT)
		xappend(&v, &n, &d, sizeof d);
	else
		report_doc_done(&d);
	struct dirent **list;
	int k = scandir(c->dir, &list, NULL, alphasort);
	for (int i = 0; i < k; i++) {
		const char *name = list[i]->d_name;
		char *sub = xasprintf("%s/%s", c->dir, name);
		struct stat st;
		if (name[0] != '.' && stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *rel = xasprintf("%s/stress.json", name);
			report_doc_load(&d, c->dir, rel);
			if (d.err != ENOENT)
				xappend(&v, &n, &d, sizeof d);
			else
				report_doc_done(&d);
			free(rel);
		}
		free(sub);
		free(list[i]);
	}
	if (k >= 0)
		free(list);
	if (n > 1)
		qsort(v, n, sizeof *v, stress_order);
	*ret = v;
	return n;
}

/* ---- stress ----------------------------------------------------------------------------- */

static void ms(struct tether_buf *b, double v)
{
	if (!isfinite(v)) {
		tether_buf_puts(b, "–");
		return;
	}
	report_fixed(b, v, v < 10 ? 2 : v < 100 ? 1 : 0);
}

/* "p50 1.23 · p99 4.56 ms" of latency_ms.KEY */
static void p50_p99(struct tether_buf *b, const struct tether_json *r, const char *key)
{
	char *p50 = xasprintf("latency_ms.%s.p50", key), *p99 = xasprintf("latency_ms.%s.p99", key);
	double a = report_jnum(r, p50), z = report_jnum(r, p99);
	free(p50);
	free(p99);
	if (!isfinite(a)) {
		tether_buf_puts(b, "<span class=\"none\">–</span>");
		return;
	}
	tether_buf_puts(b, "<b>");
	ms(b, a);
	tether_buf_puts(b, "</b> · ");
	ms(b, z);
	tether_buf_puts(b, " ms");
}

static bool failures_mention(const struct tether_json *r, const char *word)
{
	const struct tether_json *f = tether_json_get(r, "failures");
	for (size_t i = 0; f && f->type == TETHER_JSON_ARRAY && i < f->count; i++)
		if (f->items[i]->type == TETHER_JSON_STRING && strstr(f->items[i]->string, word))
			return true;
	return false;
}

/* What one stress run shows for the guarantees. */
static void stress_evidence(struct report_ctx *c, const struct report_doc *d)
{
	const struct tether_json *r = d->root;
	const char *who = short_label(d);
	int passed = report_jbool(r, "passed");
	double cycles = report_jnum(r, "cycles.run");
	if (failures_mention(r, "orphan"))
		report_evidence_add(c, "G2", REPORT_BAD, "stress", "stress %s: orphans left", who);
	else if (passed == 1 && cycles > 0)
		report_evidence_add(c, "G2", REPORT_OK, "stress", "stress %s: %.0f cycles, none left", who, cycles);
	if (report_jbool(r, "steady_state.fds.judged") == 1) {
		bool grew = report_jbool(r, "steady_state.fds.grew") == 1 || report_jbool(r, "steady_state.rss_kb.grew") == 1;
		report_evidence_add(c, "G6", grew ? REPORT_BAD : REPORT_OK, "stress", "stress %s: fds, RSS %s",
				    who, grew ? "GREW" : "flat");
	}
	double races = report_jnum(r, "races.start.rounds"), rfail = report_jnum(r, "races.start.failed");
	double m = report_jnum(r, "races.start.concurrency");
	if (races > 0)
		report_evidence_add(c, "G1", rfail > 0 ? REPORT_BAD : REPORT_OK, "stress",
				    "stress %s: %.0f races of %.0f, %.0f failed", who, races, m, rfail);
	static const struct {
		const char *kind, *gid, *what;
	} faults[] = {{"sigkill", "G2", "SIGKILLs"}, {"sigkill", "G3", "SIGKILLs"}, {"enospc", "G3", "ENOSPC"},
		      {"eintr", "G7", "EINTR cycles"},   {"eagain", "G8", "EAGAIN forks"}};
	for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
		char *pc = xasprintf("faults_injected.%s.cycles", faults[i].kind),
		     *pf = xasprintf("faults_injected.%s.failed", faults[i].kind);
		double n = report_jnum(r, pc), f = report_jnum(r, pf);
		if (n > 0)
			report_evidence_add(c, faults[i].gid, f > 0 ? REPORT_BAD : REPORT_OK, "stress",
					    "stress %s: %.0f %s, %.0f failed", who, n, faults[i].what, f);
		free(pc);
		free(pf);
	}
}

struct report_summary report_section_stress(struct tether_buf *b, struct report_ctx *c, struct report_doc *docs,
					    size_t n)
{
	report_section_open(b, c, "stress", "Stress: every build measured", NULL, "harness stress");
	if (!n) {
		tether_buf_puts(b, "<p class=\"none\">not run: no stress.json here.</p>\n</section>\n");
		return report_summary_make(REPORT_NOT_RUN, "not run", NULL);
	}
	tether_buf_puts(b, "<p class=\"note\">Each column is one <code>harness stress</code> run: fresh supervisors "
			   "started, made ready and stopped, every cycle checked (lock, record, instances, orphans, "
			   "descriptors). Times are p50 · p99 of the clean cycles. The target, cycle p50 ≤ 3 × the "
			   "fork+exec floor of the same run, is the production build's: the one <code>make install</code> "
			   "installs (SPEC §10).</p>\n");
	tether_buf_puts(b, "<table class=\"grid builds\"><thead><tr><th></th>");
	for (size_t i = 0; i < n; i++) {
		tether_buf_puts(b, "<th>");
		if (docs[i].root) {
			char *label = report_build_label(c, &docs[i]);
			report_esc(b, label);
			free(label);
			const char *path = report_jstr(docs[i].root, "tether");
			if (path) {
				tether_buf_puts(b, "<div class=\"path\">");
				report_esc(b, report_rel(c, path));
				tether_buf_puts(b, "</div>");
			}
		}
		tether_buf_puts(b, "<div class=\"path\">");
		report_link(b, c->dir, docs[i].rel, docs[i].rel);
		tether_buf_puts(b, "</div></th>");
	}
	tether_buf_puts(b, "</tr></thead><tbody>\n");
	enum report_state st = REPORT_OK;
	struct report_summary s = {0};
	static const char *const rows[] = {"verdict",     "target",  "cycle",  "start→ready", "stop→gone",
					   "floor",       "cycles",  "steady", "races",       "faults",
					   "machine",     "run"};
	static const char *const heads[] = {
		"verdict",
		"cycle p50 ÷ floor p50<div class=\"note\">target ≤ 3</div>",
		"cycle (start→ready + stop→gone)",
		"start→ready<div class=\"note\">fork of tether → READY=1</div>",
		"stop→gone<div class=\"note\">SIGTERM · <code>tether stop</code>, p50</div>",
		"floor<div class=\"note\">fork+exec+wait of the worker</div>",
		"cycles",
		"steady state<div class=\"note\">fds max · RSS median, first → last decile</div>",
		"races",
		"faults injected",
		"other work on the machine",
		"run",
	};
	for (size_t row = 0; row < sizeof rows / sizeof rows[0]; row++) {
		tether_buf_printf(b, "<tr><th>%s</th>", heads[row]);
		for (size_t i = 0; i < n; i++) {
			const struct tether_json *r = docs[i].root;
			if (!r) {
				if (row == 0) {
					tether_buf_puts(b, "<td>");
					report_doc_error(b, &docs[i]);
					tether_buf_puts(b, "</td>");
					st = REPORT_BAD;
				} else {
					tether_buf_puts(b, "<td></td>");
				}
				continue;
			}
			bool prod = report_build_is_production(&docs[i]);
			if (!strcmp(rows[row], "verdict")) {
				int passed = report_jbool(r, "passed");
				double nf = report_jnum(r, "failures_total");
				tether_buf_printf(b, "<td class=\"%s\"><b>%s</b>", passed == 1 ? "ok" : "bad",
						  passed == 1 ? "PASS" : passed == 0 ? "FAIL" : "no verdict");
				if (nf > 0)
					tether_buf_printf(b, " · %.0f failure%s", nf, nf == 1 ? "" : "s");
				const struct tether_json *f = tether_json_get(r, "failures");
				if (f && f->type == TETHER_JSON_ARRAY && f->count) {
					tether_buf_puts(b, "<ul class=\"msgs\">");
					for (size_t k = 0; k < f->count && k < 3; k++)
						if (f->items[k]->type == TETHER_JSON_STRING) {
							tether_buf_puts(b, "<li>");
							report_esc(b, f->items[k]->string);
							tether_buf_puts(b, "</li>");
						}
					tether_buf_puts(b, "</ul>");
				}
				tether_buf_puts(b, "</td>");
				if (passed != 1)
					st = REPORT_BAD;
			} else if (!strcmp(rows[row], "target")) {
				double ratio = report_jnum(r, "ratio_cycle_p50_to_floor_p50"), target = report_jnum(r, "ratio_target");
				target = isfinite(target) ? target : 3;
				bool met = isfinite(ratio) && ratio > 0 && ratio <= target;
				const char *cls = !isfinite(ratio) || ratio <= 0 ? "none" : prod ? (met ? "ok" : "bad") : "info";
				tether_buf_printf(b, "<td class=\"%s target\"><span class=\"big\">", cls);
				if (isfinite(ratio) && ratio > 0)
					report_fixed(b, ratio, 2);
				else
					tether_buf_puts(b, "–");
				tether_buf_printf(b, "</span> %s", !isfinite(ratio) || ratio <= 0 ? "no clean cycle"
								  : met ? "met" : prod ? "NOT met" : "not met");
				if (!prod && isfinite(ratio) && ratio > 0)
					tether_buf_puts(b, "<div class=\"note\">not judged: not the production build</div>");
				double other = report_jnum(r, "cpu_pct.other");
				if (prod && !met && other > 10)
					tether_buf_printf(b, "<div class=\"note\">measured while other work took %.0f%% of the "
							     "machine: re-run on a quiet one</div>", other);
				tether_buf_puts(b, "</td>");
				if (prod && !s.value) {
					st = met ? st : REPORT_BAD;
					char v[40];
					snprintf(v, sizeof v, "%.3g × floor", isfinite(ratio) ? ratio : 0);
					s = report_summary_make(REPORT_OK, v, "production, ≤ %g: %s%s", target,
								met ? "met" : "NOT met", !met && other > 10 ? ", host busy" : "");
				}
			} else if (!strcmp(rows[row], "cycle")) {
				tether_buf_puts(b, "<td>");
				p50_p99(b, r, "cycle");
				tether_buf_puts(b, "</td>");
			} else if (!strcmp(rows[row], "start→ready")) {
				tether_buf_puts(b, "<td>");
				p50_p99(b, r, "start_ready");
				tether_buf_puts(b, "</td>");
			} else if (!strcmp(rows[row], "stop→gone")) {
				tether_buf_puts(b, "<td>");
				ms(b, report_jnum(r, "latency_ms.stop_gone_sigterm.p50"));
				tether_buf_puts(b, " · ");
				ms(b, report_jnum(r, "latency_ms.stop_gone_command.p50"));
				tether_buf_puts(b, " ms</td>");
			} else if (!strcmp(rows[row], "floor")) {
				tether_buf_puts(b, "<td><b>");
				ms(b, report_jnum(r, "floor_ms.stats.p50"));
				tether_buf_puts(b, "</b> · ");
				ms(b, report_jnum(r, "floor_ms.stats.p99"));
				tether_buf_puts(b, " ms</td>");
			} else if (!strcmp(rows[row], "cycles")) {
				tether_buf_printf(b, "<td>%.0f clean of %.0f · %.1f/s</td>", report_jnum(r, "cycles.clean"),
						  report_jnum(r, "cycles.run"), report_jnum(r, "cycles.per_s"));
			} else if (!strcmp(rows[row], "steady")) {
				if (report_jbool(r, "steady_state.fds.judged") != 1) {
					tether_buf_puts(b, "<td class=\"none\">not judged (too few cycles)</td>");
					continue;
				}
				bool grew = report_jbool(r, "steady_state.fds.grew") == 1 ||
					    report_jbool(r, "steady_state.rss_kb.grew") == 1;
				tether_buf_printf(b, "<td class=\"%s\">%s: fds %.0f → %.0f · RSS %.0f → %.0f kB</td>",
						  grew ? "bad" : "ok", grew ? "GREW" : "flat",
						  report_jnum(r, "steady_state.fds.first_decile.max"),
						  report_jnum(r, "steady_state.fds.last_decile.max"),
						  report_jnum(r, "steady_state.rss_kb.first_decile.p50"),
						  report_jnum(r, "steady_state.rss_kb.last_decile.p50"));
			} else if (!strcmp(rows[row], "races")) {
				double sr = report_jnum(r, "races.start.rounds"), pr = report_jnum(r, "races.stop.rounds"),
				       br = report_jnum(r, "races.start_stop.rounds");
				double fails = report_jnum(r, "races.start.failed") + report_jnum(r, "races.stop.failed") +
					       report_jnum(r, "races.start_stop.failed");
				if (!(sr > 0 || pr > 0 || br > 0)) {
					tether_buf_puts(b, "<td class=\"none\">none run</td>");
					continue;
				}
				tether_buf_printf(b, "<td class=\"%s\">start %.0f · stop %.0f · start/stop %.0f rounds of %.0f; "
						     "%.0f failed</td>", fails > 0 ? "bad" : "ok", sr, pr, br,
						  report_jnum(r, "races.start.concurrency"), fails);
			} else if (!strcmp(rows[row], "faults")) {
				const struct tether_json *fi = tether_json_get(r, "faults_injected");
				tether_buf_puts(b, "<td>");
				bool any = false;
				for (size_t k = 0; fi && fi->type == TETHER_JSON_OBJECT && k < fi->count; k++) {
					double nc = report_jnum(fi->items[k], "cycles"), nfl = report_jnum(fi->items[k], "failed");
					if (!(nc > 0))
						continue;
					tether_buf_printf(b, "%s<span class=\"%s\">", any ? " · " : "", nfl > 0 ? "bad" : "");
					report_esc(b, fi->keys[k]);
					tether_buf_printf(b, " %.0f", nc);
					if (nfl > 0)
						tether_buf_printf(b, " (%.0f failed)", nfl);
					tether_buf_puts(b, "</span>");
					any = true;
				}
				tether_buf_puts(b, any ? "</td>" : "<span class=\"none\">none</span></td>");
			} else if (!strcmp(rows[row], "machine")) {
				double other = report_jnum(r, "cpu_pct.other"), steal = report_jnum(r, "cpu_pct.steal");
				if (!(other >= 0)) {
					tether_buf_puts(b, "<td class=\"none\">unknown</td>");
					continue;
				}
				bool busy = other > 10 || steal > 5;
				tether_buf_printf(b, "<td class=\"%s\">%.0f%% other, %.0f%% steal%s</td>", busy ? "warn" : "", other,
						  steal, busy ? ": the latencies may be inflated" : "");
			} else {
				const char *when = report_jstr(r, "started_at");
				tether_buf_puts(b, "<td class=\"note\">");
				report_esc(b, when ? when : "");
				tether_buf_printf(b, " · %.0f s · seed %.0f</td>", report_jnum(r, "duration_s"), report_jnum(r, "seed"));
			}
		}
		tether_buf_puts(b, "</tr>\n");
	}
	tether_buf_puts(b, "</tbody></table>\n");
	for (size_t i = 0; i < n; i++)
		if (docs[i].root)
			stress_evidence(c, &docs[i]);
	if (!report_build_is_production(&docs[0]) || !docs[0].root)
		tether_buf_puts(b, "<p class=\"note\">No stress run of the production build here: ci/lab writes one "
				   "to musl/stress.json.</p>\n");
	tether_buf_puts(b, "</section>\n");
	if (!s.value) {
		double ratio = report_jnum(docs[0].root, "ratio_cycle_p50_to_floor_p50");
		char v[40];
		snprintf(v, sizeof v, "%.3g × floor", isfinite(ratio) ? ratio : 0);
		s = report_summary_make(REPORT_INFO, v, "%s; no production run", short_label(&docs[0]));
	}
	s.state = st;
	return s;
}

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
	tether_buf_puts(b, "<tr><th>G6 per tether incarnation<div class=\"note\">RSS · fds, early → late</div></th><td>");
	for (size_t k = 0; g6 && g6->type == TETHER_JSON_ARRAY && k < g6->count; k++) {
		const struct tether_json *g = g6->items[k];
		bool j = report_jbool(g, "judged") == 1, gr = report_jbool(g, "grew") == 1;
		judged += j;
		grew += gr;
		tether_buf_printf(b, "%s<span class=\"%s\">#%.0f ", k ? " · " : "", gr ? "bad" : j ? "" : "none",
				  report_jnum(g, "incarnation"));
		if (j)
			tether_buf_printf(b, "%.0f → %.0f kB, %.0f → %.0f", report_jnum(g, "rss_kb_early"), report_jnum(g, "rss_kb_late"),
					  report_jnum(g, "fds_early"), report_jnum(g, "fds_late"));
		else
			tether_buf_printf(b, "(%.1f h: too short)", report_jnum(g, "virtual_s") / 3600);
		tether_buf_puts(b, "</span>");
	}
	tether_buf_puts(b, "</td></tr></tbody></table>\n</section>\n");
	if (judged)
		report_evidence_add(c, "G6", grew ? REPORT_BAD : REPORT_OK, "soak", "soak: RSS, fds %s (%u of %u judged)",
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

/* ---- latency histograms ------------------------------------------------------------------- */

/* The numbers of an array (NULL when it is not one of numbers). */
static double *numbers(const struct tether_json *a, size_t *ret_n)
{
	if (!a || a->type != TETHER_JSON_ARRAY)
		return NULL;
	double *v = xcalloc(a->count ? a->count : 1, sizeof *v);
	for (size_t i = 0; i < a->count; i++) {
		if (a->items[i]->type != TETHER_JSON_NUMBER) {
			free(v);
			return NULL;
		}
		v[i] = a->items[i]->number;
	}
	*ret_n = a->count;
	return v;
}

void report_section_latency(struct tether_buf *b, struct report_ctx *c, struct report_doc *docs, size_t n)
{
	report_section_open(b, c, "latency", "Latency histograms", NULL, "harness stress");
	if (!n) {
		tether_buf_puts(b, "<p class=\"none\">not run: no stress.json here.</p>\n</section>\n");
		return;
	}
	static const struct {
		const char *key, *title;
	} measures[] = {{"cycle", "cycle: start→ready + stop→gone"},
			{"start_ready", "start→ready: fork of tether → READY=1"},
			{"stop_gone", "stop→gone: SIGTERM or tether stop → tether reaped"}};
	tether_buf_puts(b, "<p class=\"note\">The share of each run's clean cycles per bin (log bins, 20 to a decade); "
			   "a tick marks each build's p50. The floor is the same run's fork+exec+wait.</p>\n");
	unsigned drawn = 0;
	for (size_t m = 0; m < sizeof measures / sizeof measures[0]; m++) {
		struct report_hist h[8];
		char *labels[8];
		double *mem[16];
		size_t nh = 0, nmem = 0;
		for (size_t i = 0; i < n && nh < 7; i++) {
			const struct tether_json *r = docs[i].root;
			char *path = xasprintf("latency_hist.%s", measures[m].key);
			const struct tether_json *hj = r ? tether_json_path(r, path) : NULL;
			free(path);
			size_t ne = 0, nc = 0;
			double *e = hj ? numbers(tether_json_get(hj, "edges_ms"), &ne) : NULL;
			double *cn = hj ? numbers(tether_json_get(hj, "counts"), &nc) : NULL;
			if (!e || !cn || ne != nc + 1 || !nc) {
				free(e);
				free(cn);
				continue;
			}
			char *p50 = xasprintf("latency_ms.%s.p50", measures[m].key);
			labels[nh] = xstrdup(short_label(&docs[i]));
			h[nh] = (struct report_hist){.label = labels[nh], .edges = e, .counts = cn, .n = nc,
						     .p50 = report_jnum(r, p50), .color = (int)i};
			nh++;
			free(p50);
			mem[nmem++] = e;
			mem[nmem++] = cn;
			/* the floor of the first run with one, beside the cycle */
			if (!strcmp(measures[m].key, "cycle") && nh == 1) {
				size_t fe = 0, fc = 0;
				double *f_e = numbers(tether_json_path(r, "latency_hist.floor.edges_ms"), &fe);
				double *f_c = numbers(tether_json_path(r, "latency_hist.floor.counts"), &fc);
				if (f_e && f_c && fe == fc + 1 && fc) {
					labels[nh] = xasprintf("floor (%s run)", short_label(&docs[i]));
					h[nh] = (struct report_hist){.label = labels[nh], .edges = f_e, .counts = f_c,
								     .n = fc, .p50 = report_jnum(r, "floor_ms.stats.p50"),
								     .color = -1};
					nh++;
					mem[nmem++] = f_e;
					mem[nmem++] = f_c;
				} else {
					free(f_e);
					free(f_c);
				}
			}
		}
		if (nh) {
			report_svg_hist(b, measures[m].title, "ms", h, nh);
			drawn++;
		}
		for (size_t i = 0; i < nh; i++)
			free(labels[i]);
		for (size_t i = 0; i < nmem; i++)
			free(mem[i]);
	}
	if (!drawn) {
		/* files without histograms: their percentiles */
		struct report_ladder_row rows[24];
		size_t nr = 0;
		for (size_t i = 0; i < n && nr + 3 <= 24; i++)
			for (size_t m = 0; m < 3 && docs[i].root; m++) {
				char *path = xasprintf("latency_ms.%s", measures[m].key);
				const struct tether_json *o = tether_json_path(docs[i].root, path);
				free(path);
				if (!o || !isfinite(report_jnum(o, "p50")))
					continue;
				rows[nr++] = (struct report_ladder_row){
					.label = xasprintf("%s: %s", short_label(&docs[i]), measures[m].key),
					.n = report_jnum(o, "n"), .min = report_jnum(o, "min"), .p50 = report_jnum(o, "p50"),
					.p99 = report_jnum(o, "p99"), .max = report_jnum(o, "max"), .mean = report_jnum(o, "mean")};
			}
		if (nr)
			report_svg_ladder(b, "percentiles (these stress.json files have no histograms)", "ms", rows, nr);
		else
			tether_buf_puts(b, "<p class=\"note\">no latencies in these stress.json files.</p>\n");
		for (size_t i = 0; i < nr; i++)
			free(rows[i].label);
	}
	tether_buf_puts(b, "</section>\n");
}
