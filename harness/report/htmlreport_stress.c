/* SPDX-License-Identifier: MIT */
/* htmlreport_stress.c — what the lab measured of each build (see report.h):
 *
 * Stress: every stress.json of the reports directory (REPORT/stress.json,
 * the lab's build in ci/lab, and REPORT/DIR/stress.json, e.g. musl/ for the
 * production build), one column each, the production build first: the
 * build is what its `build` field says (`tether --version`: "fault points:
 * none" is the production build, SPEC §10), and the cycle target
 * (cycle p50 <= 3 fork+exec floors) is judged against that build; for the
 * others it is shown, not judged, since nobody installs them.
 *
 * Latency: histograms of start->ready, stop->gone and the cycle, the builds
 * overlaid (stress.json's latency_hist), each build in the same color in
 * every chart; percentile ladders for files without histograms.
 *
 * The stress runs also give the matrix its evidence (report.h): steady
 * state (G6), the races (G1), nothing left after a cycle (G2), the faults
 * injected (G2 G3 G7 G8).
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
	if (!s.value && !docs[0].root) {
		s = report_summary_make(REPORT_BAD, "unreadable", "%s", docs[0].rel);
	} else if (!s.value) {
		double ratio = report_jnum(docs[0].root, "ratio_cycle_p50_to_floor_p50");
		char v[40];
		snprintf(v, sizeof v, "%.3g × floor", isfinite(ratio) ? ratio : 0);
		s = report_summary_make(REPORT_INFO, v, "%s; no production run", short_label(&docs[0]));
	}
	s.state = st;
	return s;
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
