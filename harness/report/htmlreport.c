/* SPDX-License-Identifier: MIT */
/* htmlreport.c — `harness report [--report DIR]`: DIR/index.html from
 * whatever the lab left in DIR (see report.h for the parts, and
 * reports/README.md for the files).
 *
 * This file: the command, the page (its style, its title, the headline
 * cards, the order of the sections) and the list of every scenario. The
 * sections are made first, in an order of their own (each may give the
 * guarantee matrix evidence), then the page is put together with the matrix
 * first. It is written to a temporary name and renamed, like every report,
 * so a browser or a CI artifact step never sees half of it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "common/common.h"
#include "report/report.h"

static const char report_usage[] =
	"Usage: harness report [--report DIR]\n"
	"\n"
	"Writes DIR/index.html, one self-contained page (no script, no network) over\n"
	"what DIR holds: first the guarantees of SPEC section 8 against the scenarios\n"
	"that prove them (results.json), the mutants caught (mutants.json or\n"
	"mutants.txt), the fault enumeration (faults.json) and the coverage of src/\n"
	"(coverage/); then the stress run of every build (stress.json, */stress.json:\n"
	"the production build first), the soak (soak.json), the benchmarks of ci/bench\n"
	"(bench/), latency histograms, every scenario, memcheck (leaks/). Missing\n"
	"parts are shown as not run.\n"
	"\n"
	"  --report DIR    the reports directory (default: the build tree's reports/\n"
	"                  when run from a build, else ./reports, as harness run)\n"
	"\n"
	"Exit 0 when the page was written (whatever it reports), 64 usage, 70 when it\n"
	"could not be written.\n";

/* ---- every scenario ------------------------------------------------------------------ */

static void scenario_row(struct tether_buf *b, const struct report_ctx *c, const struct tether_json *sc, size_t i,
			 double max_s)
{
	const char *name = report_jstr(sc, "name"), *file = report_jstr(sc, "file"), *status = report_jstr(sc, "status");
	const char *loc = report_jstr(sc, "location"), *msg = report_jstr(sc, "message"), *kept = report_jstr(sc, "dir");
	const struct tether_json *details = tether_json_get(sc, "details"), *g = tether_json_get(sc, "guarantees");
	double dur = report_jnum(sc, "duration_s");
	status = status ? status : "?";
	const char *cls = !strcmp(status, "pass") ? "ok" : !strcmp(status, "fail") ? "bad" : "skip";
	tether_buf_printf(b, "<tr id=\"s-%zu\" class=\"%s\"><td class=\"n\">%zu</td><th title=\"", i, cls, i + 1);
	report_esc(b, file ? file : "");
	tether_buf_puts(b, "\">");
	report_esc(b, name ? name : file ? file : "?");
	tether_buf_puts(b, "</th><td>");
	if (g && g->type == TETHER_JSON_ARRAY) {
		for (size_t k = 0; k < g->count; k++)
			if (g->items[k]->type == TETHER_JSON_STRING) {
				tether_buf_printf(b, "%s<a href=\"#", k ? " " : "");
				report_esc(b, g->items[k]->string);
				tether_buf_puts(b, "\">");
				report_esc(b, g->items[k]->string);
				tether_buf_puts(b, "</a>");
			}
		if (!g->count)
			tether_buf_puts(b, "<span class=\"none\">none</span>");
	} else {
		tether_buf_puts(b, "<span class=\"bad\">undeclared</span>");
	}
	tether_buf_printf(b, "</td><td class=\"%s\">", cls);
	report_esc(b, status);
	tether_buf_puts(b, "</td><td class=\"n\">");
	if (isfinite(dur)) {
		double frac = max_s > 0 ? dur / max_s : 0;
		tether_buf_printf(b, "<span class=\"meter\"><span class=\"info\" style=\"width:%.0f%%\"></span></span> ",
				  100 * (frac < 0 ? 0 : frac > 1 ? 1 : frac));
		report_fixed(b, dur, dur < 10 ? 2 : 1);
		tether_buf_puts(b, " s");
	}
	tether_buf_puts(b, "</td><td class=\"msg\">");
	if (loc) {
		tether_buf_puts(b, "<code>");
		report_esc(b, loc);
		tether_buf_puts(b, "</code>: ");
	}
	if (msg)
		report_esc(b, msg);
	if (kept) {
		tether_buf_puts(b, " <span class=\"note\">(kept in <code>");
		report_esc(b, report_rel(c, kept));
		tether_buf_puts(b, "</code>)</span>");
	}
	if (details && details->type == TETHER_JSON_ARRAY && details->count) {
		tether_buf_printf(b, "<details><summary>details (%zu line%s)</summary><pre>", details->count,
				  details->count == 1 ? "" : "s");
		for (size_t k = 0; k < details->count; k++)
			if (details->items[k]->type == TETHER_JSON_STRING) {
				report_esc(b, details->items[k]->string);
				tether_buf_puts(b, "\n");
			}
		tether_buf_puts(b, "</pre></details>");
	}
	tether_buf_puts(b, "</td></tr>\n");
}

/* "junit.xml: 31 test cases, 1 failure", from a plain count of its tags. */
static void junit_line(struct tether_buf *b, const char *dir, size_t n_results, size_t failed_results)
{
	size_t len;
	int err;
	char *x = report_read(dir, "junit.xml", &len, &err);
	tether_buf_puts(b, "<p class=\"note\">");
	report_link(b, dir, "junit.xml", "junit.xml");
	if (!x) {
		tether_buf_printf(b, ": %s.</p>\n", err == ENOENT ? "not written" : strerror(err));
		return;
	}
	size_t cases = 0, failures = 0;
	for (const char *p = strstr(x, "<testcase "); p; p = strstr(p + 1, "<testcase "))
		cases++;
	for (const char *p = strstr(x, "<failure"); p; p = strstr(p + 1, "<failure"))
		failures++;
	tether_buf_printf(b, ": %zu test case%s, %zu failure%s", cases, cases == 1 ? "" : "s", failures,
			  failures == 1 ? "" : "s");
	if (cases != n_results || failures != failed_results)
		tether_buf_puts(b, " <span class=\"bad\">(does not match results.json: from another run?)</span>");
	tether_buf_puts(b, ".</p>\n");
	free(x);
}

static struct report_summary section_scenarios(struct tether_buf *b, struct report_ctx *c,
					       const struct report_doc *results)
{
	static const char *const files[] = {"results.json", "junit.xml", NULL};
	report_section_open(b, c, "scenarios", "Every scenario", files, "harness run");
	const struct tether_json *list = results->root ? tether_json_get(results->root, "scenarios") : NULL;
	struct report_summary s;
	if (results->err == ENOENT) {
		tether_buf_puts(b, "<p class=\"none\">not run: no results.json here.</p>\n");
		s = report_summary_make(REPORT_NOT_RUN, "not run", NULL);
		junit_line(b, c->dir, 0, 0);
	} else if (!list || list->type != TETHER_JSON_ARRAY) {
		if (results->err)
			report_doc_error(b, results);
		else
			tether_buf_puts(b, "<p class=\"bad\">results.json cannot be read: no \"scenarios\" array.</p>\n");
		s = report_summary_make(REPORT_BAD, "unreadable", "results.json");
	} else {
		size_t pass = 0, fail = 0, skip = 0, other = 0;
		double max_s = 0, total_s = 0;
		for (size_t i = 0; i < list->count; i++) {
			const struct tether_json *sc = list->items[i];
			const char *st = report_jstr(sc, "status");
			double d = report_jnum(sc, "duration_s");
			pass += st && !strcmp(st, "pass");
			fail += st && !strcmp(st, "fail");
			skip += st && !strcmp(st, "skip");
			other += !st || (strcmp(st, "pass") && strcmp(st, "fail") && strcmp(st, "skip"));
			if (isfinite(d)) {
				max_s = fmax(max_s, d);
				total_s += d;
			}
		}
		/* a status this page does not know is not a pass */
		enum report_state state = fail || other ? REPORT_BAD : REPORT_OK;
		char value[48];
		snprintf(value, sizeof value, "%zu / %zu", pass, list->count);
		char *detail = xstrdup(fail || skip || other ? "" : "passed, all");
		if (fail)
			report_append(&detail, "%zu FAILED", fail);
		if (skip)
			report_append(&detail, "%s%zu skipped", fail ? " · " : "", skip);
		if (other)
			report_append(&detail, "%s%zu unknown", fail || skip ? " · " : "", other);
		s = report_summary_make(state, value, "%s", detail);
		free(detail);
		tether_buf_printf(b, "<p class=\"%s verdict\">%zu passed, %zu failed, %zu skipped", report_state_class(state),
				  pass, fail, skip);
		if (other)
			tether_buf_printf(b, ", %zu with no known status", other);
		tether_buf_puts(b, "</p>\n<p class=\"note\">");
		const char *when = report_jstr(results->root, "started_at"), *tether = report_jstr(results->root, "tether");
		double seed = report_jnum(results->root, "seed"), jobs = report_jnum(results->root, "jobs");
		if (when) {
			tether_buf_puts(b, "run ");
			report_esc(b, when);
			tether_buf_puts(b, " · ");
		}
		if (isfinite(seed))
			tether_buf_printf(b, "seed %.0f · ", seed);
		if (isfinite(jobs))
			tether_buf_printf(b, "%.0f at once · ", jobs);
		if (report_jbool(results->root, "valgrind") == 1)
			tether_buf_puts(b, "under valgrind · ");
		tether_buf_printf(b, "scenario time %.0f s", total_s);
		if (tether) {
			tether_buf_puts(b, " · tether <code>");
			report_esc(b, report_rel(c, tether));
			tether_buf_puts(b, "</code>");
		}
		tether_buf_puts(b, "</p>\n");
		junit_line(b, c->dir, list->count, fail);
		tether_buf_puts(b, "<table class=\"grid scen\"><thead><tr><th>#</th><th>scenario</th><th>guarantees</th>"
				   "<th>status</th><th>time</th><th>failure</th></tr></thead><tbody>\n");
		for (size_t i = 0; i < list->count; i++)
			if (list->items[i]->type == TETHER_JSON_OBJECT)
				scenario_row(b, c, list->items[i], i, max_s);
		tether_buf_puts(b, "</tbody></table>\n");
	}
	tether_buf_puts(b, "</section>\n");
	return s;
}

/* ---- the page ------------------------------------------------------------------------ */

/* No '<' or '&' in here: the page must stay well-formed XML too. */
static const char css[] =
	"body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1240px;"
	"padding:10px 20px 40px;color:#1d1d1f}"
	"h1{font-size:20px;margin:2px 0 0}h1 .meta{font-size:13px;font-weight:normal;margin-left:10px}"
	"h2{font-size:17px;border-bottom:1px solid #d0d4da;margin:26px 0 6px;padding-bottom:3px}"
	"#guarantees h2{margin-top:12px}"
	"h3{font-size:14px;margin:14px 0 4px}"
	".src{font-size:12px;font-weight:normal;color:#6b7280;margin-left:6px}.meta,.note{color:#6b7280;font-size:12.5px}"
	"a{color:#1f5fbf;text-decoration:none}a:hover{text-decoration:underline}"
	"table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #e1e4e8;padding:3px 7px;"
	"text-align:left;vertical-align:top}thead th{background:#f4f6f8;font-weight:600;font-size:12.5px}"
	"td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
	"pre{margin:3px 0;white-space:pre-wrap;font-size:12px}code{font-size:12.5px}"
	".ok{color:#17692c}.bad{color:#b3001b}.none,.skip{color:#8a8f98}.info{color:#1f4e8c}.warn{color:#8a5a00}"
	"tr.bad td,tr.bad th{background:#fdecee}.verdict{font-weight:600;margin:6px 0}"
	".meter{display:inline-block;width:56px;height:7px;background:#e8eaed;vertical-align:middle;border-radius:2px}"
	".meter span{display:block;height:7px;border-radius:2px}.meter .ok{background:#3a9b50}"
	".meter .warn{background:#d9a520}.meter .bad{background:#c8374a}.meter .info{background:#7a9cc6}"
	"figure{margin:8px 0;display:inline-block;vertical-align:top}svg{max-width:100%;height:auto}"
	/* the headline cards */
	".cards{display:flex;gap:8px;margin:8px 0 2px}"
	".card{flex:1 1 auto;min-width:0;border:1px solid #e1e4e8;border-top:4px solid #c4c9d0;border-radius:4px;"
	"padding:3px 9px 4px;color:inherit;background:#fafbfc}.card:hover{text-decoration:none;background:#f1f4f8}"
	".card .k{font-size:11px;color:#6b7280;text-transform:uppercase;letter-spacing:.04em}"
	".card .v{font-size:17px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
	".card .d{font-size:11.5px;color:#4b5563;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
	".card.ok{border-top-color:#3a9b50}.card.ok .v{color:#17692c}.card.bad{border-top-color:#c8374a;"
	"background:#fff5f6}.card.bad .v{color:#b3001b}.card.info{border-top-color:#7a9cc6}.card.none .v{color:#8a8f98}"
	/* the matrix */
	"table.matrix{width:100%;table-layout:fixed}table.matrix td,table.matrix th{padding:3px 6px}"
	"table.matrix col.gv{width:66px}table.matrix col.gid{width:40px}table.matrix col.gname{width:31%}"
	"table.matrix col.gev{width:23%}table.matrix td.gv{text-align:center}"
	"table.matrix th.gid{font-size:14px;background:#f8f9fa}"
	"table.matrix .meaning{font-size:12px;color:#4b5563}table.matrix td.gname{line-height:1.3}"
	".badge{display:inline-block;min-width:46px;padding:1px 6px;border-radius:10px;font-size:12px;font-weight:600;"
	"color:#fff;background:#9aa1ab;white-space:nowrap}.badge.ok{background:#2e8b45}.badge.bad{background:#c8374a}"
	"tr.g.bad{background:#fff3f4}tr.g.none td,tr.g.none th{color:#8a8f98}"
	".count{font-size:11px;color:#6b7280}"
	".chip{display:inline-block;margin:1px 0;padding:0 5px;border-radius:9px;font-size:11.5px;line-height:18px;"
	"border:1px solid #b9dcc2;background:#edf7ef;color:#17692c;white-space:nowrap}"
	".chip.bad{border-color:#e8a3ad;background:#fdecee;color:#b3001b;font-weight:600}"
	".chip.none{border-color:#d5d8dc;background:#f3f4f6;color:#6b7280}"
	".ev{display:inline-block;margin:1px 0;padding:0 5px;border-radius:3px;font-size:11.5px;line-height:18px;"
	"border:1px solid #b9dcc2;color:#17692c;white-space:nowrap}.ev.bad{border-color:#e8a3ad;background:#fdecee;"
	"color:#b3001b;font-weight:600}.ev.none,.ev.info{border-color:#d5d8dc;color:#6b7280}"
	"tr.other td{background:#fafbfc;font-size:12.5px}tr.other.undeclared td{background:#fff8e6}"
	".failures{border-left:4px solid #c8374a;background:#fff5f6;padding:4px 10px;margin:8px 0}"
	".failures ul{margin:4px 0;padding-left:20px}"
	/* sections */
	"table.builds th{min-width:150px}table.builds thead th{font-size:13px}table.builds .path{font-weight:normal;"
	"font-size:11.5px;color:#6b7280}table.builds td.target .big{font-size:17px;font-weight:600}"
	"table.builds td.ok.target{background:#edf7ef}table.builds td.bad.target{background:#fdecee}"
	"ul.msgs{margin:2px 0;padding-left:16px;font-size:12px;font-weight:normal;color:#b3001b}"
	"table.bench tr.ours th,table.bench tr.ours td{background:#eaf1fb;font-weight:600}"
	"table.bench td,table.bench th{padding:2px 6px;font-size:12.5px}"
	"table.kv th{font-weight:normal;color:#374151;background:#fafbfc;width:250px}"
	".obar{display:inline-flex;width:180px;height:9px;background:#f0f0f0;vertical-align:middle}"
	".obar span,.key{display:inline-block;height:9px}.key{width:10px;vertical-align:middle}"
	".o-none{background:#c9ced6}.o-clean{background:#7a9cc6}.o-deg{background:#d9a520}.o-fail{background:#c8374a}"
	"table.scen th{font-weight:normal}table.scen td.msg{max-width:560px}"
	"td.msg{font-size:12.5px}table.covtot td{font-size:15px}";

static void card(struct tether_buf *b, const char *anchor, const char *label, const struct report_summary *s)
{
	tether_buf_printf(b, "<a class=\"card %s\" href=\"#%s\"><div class=\"k\">%s</div><div class=\"v\">",
			  report_state_class(s->state), anchor, label);
	report_esc(b, s->value && *s->value ? s->value : s->state == REPORT_NOT_RUN ? "not run" : "");
	tether_buf_puts(b, "</div><div class=\"d\">");
	report_esc(b, s->detail ? s->detail : "");
	tether_buf_puts(b, "</div></a>\n");
}

enum part { P_GUARANTEES, P_SCENARIOS, P_MUTANTS, P_ENUM, P_COVERAGE, P_STRESS, P_SOAK, P_BENCH, P_LEAKS, P_N };

static const struct {
	const char *anchor, *label;
} parts[P_N] = {
	[P_GUARANTEES] = {"guarantees", "guarantees"}, [P_SCENARIOS] = {"scenarios", "scenarios"},
	[P_MUTANTS] = {"mutants", "mutants"},          [P_ENUM] = {"enumeration", "enumeration"},
	[P_COVERAGE] = {"coverage", "coverage"},       [P_STRESS] = {"stress", "stress"},
	[P_SOAK] = {"soak", "soak"},                   [P_BENCH] = {"bench", "bench"},
	[P_LEAKS] = {"leaks", "memcheck"},
};

int harness_cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"report", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *report_arg = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': report_arg = optarg; break;
		case 'h': fputs(report_usage, stdout); return 0;
		default: fputs(report_usage, stderr); return 64;
		}
	}
	if (optind < argc) {
		fputs(report_usage, stderr);
		return 64;
	}
	struct lab_paths where;
	lab_paths_find(&where, NULL, NULL, report_arg);
	char *dir = xstrdup(where.report);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "harness report: cannot create %s: %s\n", dir, strerror(errno));
		free(dir);
		lab_paths_done(&where);
		return 70;
	}
	char *top = where.srcdir ? lab_absolute(where.srcdir) : NULL;
	struct report_ctx c = {.dir = dir, .top = top};
	struct report_doc results, *stress;
	report_doc_load(&results, dir, "results.json");
	size_t nstress = report_stress_load(&c, &stress);

	/* the sections in the order that collects the matrix's evidence; each
	 * into a buffer of its own, put in the page's order below */
	struct tether_buf sec[P_N + 1], out;
	for (int i = 0; i <= P_N; i++)
		tether_buf_init(&sec[i]);
	tether_buf_init(&out);
	struct report_summary sum[P_N];
	sum[P_MUTANTS] = report_section_mutants(&sec[P_MUTANTS], &c);
	sum[P_ENUM] = report_section_enumeration(&sec[P_ENUM], &c);
	sum[P_COVERAGE] = report_section_coverage(&sec[P_COVERAGE], &c);
	sum[P_STRESS] = report_section_stress(&sec[P_STRESS], &c, stress, nstress);
	sum[P_SOAK] = report_section_soak(&sec[P_SOAK], &c);
	sum[P_BENCH] = report_section_bench(&sec[P_BENCH], &c);
	report_section_latency(&sec[P_N], &c, stress, nstress);
	sum[P_SCENARIOS] = section_scenarios(&sec[P_SCENARIOS], &c, &results);
	sum[P_LEAKS] = report_section_leaks(&sec[P_LEAKS], &c);
	sum[P_GUARANTEES] = report_section_guarantees(&sec[P_GUARANTEES], &c, &results);

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char when[40];
	tether_format_iso8601((int64_t)now.tv_sec * NS_PER_SEC + now.tv_nsec, false, when, sizeof when);
	tether_buf_puts(&out, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
			      "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width\"/>\n"
			      "<title>tether lab report</title>\n<style>");
	tether_buf_puts(&out, css);
	tether_buf_puts(&out, "</style>\n</head>\n<body>\n<h1>tether lab report<span class=\"meta\">");
	char *absdir = lab_absolute(dir);
	tether_buf_printf(&out, "%.19s UTC · ", when);
	report_esc(&out, report_rel(&c, absdir));
	free(absdir);
	tether_buf_puts(&out, " · <a href=\"#guarantees\">guarantees</a> · <a href=\"#stress\">stress</a> · "
			      "<a href=\"#soak\">soak</a> · <a href=\"#bench\">bench</a> · <a href=\"#latency\">latency</a> · "
			      "<a href=\"#scenarios\">scenarios</a></span></h1>\n<div class=\"cards\">\n");
	static const enum part order[] = {P_GUARANTEES, P_SCENARIOS, P_MUTANTS, P_ENUM, P_COVERAGE, P_STRESS, P_SOAK};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		card(&out, parts[order[i]].anchor, parts[order[i]].label, &sum[order[i]]);
	tether_buf_puts(&out, "</div>\n");
	/* the page's order: what is proven, then what was measured, then detail */
	static const int page_order[] = {P_GUARANTEES, P_MUTANTS, P_ENUM, P_COVERAGE, P_STRESS,
					 P_SOAK,       P_BENCH,   P_N,    P_SCENARIOS, P_LEAKS};
	bool oom = out.oom;
	for (size_t i = 0; i < sizeof page_order / sizeof page_order[0]; i++) {
		const struct tether_buf *s = &sec[page_order[i]];
		oom |= s->oom;
		if (s->len)
			tether_buf_append(&out, s->data, s->len);
	}
	tether_buf_puts(&out, "<p class=\"meta\">reports/README.md describes every file of this directory; "
			      "scenarios/README.md the <code>guarantees</code> line each scenario declares.</p>\n"
			      "</body>\n</html>\n");
	for (int i = 0; i < P_N; i++) {
		printf("  %-12s %s%s%s\n", parts[i].label, sum[i].value && *sum[i].value ? sum[i].value : "",
		       sum[i].detail && sum[i].value && *sum[i].value ? " " : "", sum[i].detail ? sum[i].detail : "");
		free(sum[i].value);
		free(sum[i].detail);
	}
	int rc = 0;
	char *path = xasprintf("%s/index.html", dir), *tmp = xasprintf("%s/.index.html.tmp", dir);
	int r = oom || out.oom ? -ENOMEM : lab_write_file(tmp, out.data, out.len);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		fprintf(stderr, "harness report: cannot write %s: %s\n", path, strerror(-r));
		rc = 70;
	} else {
		printf("harness report: %s\n", path);
	}
	for (int i = 0; i <= P_N; i++)
		tether_buf_done(&sec[i]);
	tether_buf_done(&out);
	for (size_t i = 0; i < nstress; i++)
		report_doc_done(&stress[i]);
	free(stress);
	report_doc_done(&results);
	for (size_t i = 0; i < c.nev; i++)
		free(c.ev[i].text);
	free(c.ev);
	free(path);
	free(tmp);
	free(top);
	free(dir);
	lab_paths_done(&where);
	return rc;
}
