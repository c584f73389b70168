/* SPDX-License-Identifier: MIT */
/* htmlreport.c — `harness report [--report DIR]`: DIR/index.html from
 * whatever the lab left in DIR (see report.h for the parts, and
 * reports/README.md for the files).
 *
 * This file: the command, the page around the sections, the summary table
 * at its top, and the scenarios (results.json, checked against junit.xml).
 * The page is written to a temporary name and renamed, like every report,
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
	"what DIR holds: results.json and junit.xml (harness run), stress.json\n"
	"(harness stress), soak.json (harness soak), coverage/ (ci/coverage) and\n"
	"leaks/ (harness run --valgrind). Missing parts are shown as not run.\n"
	"\n"
	"  --report DIR    the reports directory (default: the build tree's reports/\n"
	"                  when run from a build, else ./reports, as harness run)\n"
	"\n"
	"Exit 0 when the page was written (whatever it reports), 64 usage, 70 when it\n"
	"could not be written.\n";

/* ---- the scenarios ------------------------------------------------------------------ */

static const char *str_of(const struct tether_json *o, const char *key)
{
	const struct tether_json *v = tether_json_get(o, key);
	return v && v->type == TETHER_JSON_STRING ? v->string : NULL;
}

static const char *const known_scenario_keys[] = {"name", "file", "status", "duration_s", "location", "message",
						  "details", NULL};

static bool known_key(const char *k)
{
	for (size_t i = 0; known_scenario_keys[i]; i++)
		if (strcmp(known_scenario_keys[i], k) == 0)
			return true;
	return false;
}

static void scenario_row(struct tether_buf *b, const struct tether_json *sc, size_t i, double max_s, bool extras)
{
	const char *name = str_of(sc, "name"), *file = str_of(sc, "file"), *status = str_of(sc, "status");
	const char *loc = str_of(sc, "location"), *msg = str_of(sc, "message");
	const struct tether_json *dur = tether_json_get(sc, "duration_s"), *details = tether_json_get(sc, "details");
	status = status ? status : "?";
	const char *cls = !strcmp(status, "pass") ? "ok" : !strcmp(status, "fail") ? "bad" : "skip";
	tether_buf_printf(b, "<tr id=\"s-%zu\" class=\"%s\"><td class=\"n\">%zu</td><td title=\"", i, cls, i + 1);
	report_esc(b, file ? file : "");
	tether_buf_puts(b, "\">");
	report_esc(b, name ? name : file ? file : "?");
	tether_buf_puts(b, "</td><td>");
	report_esc(b, status);
	tether_buf_puts(b, "</td><td class=\"n\">");
	if (dur && dur->type == TETHER_JSON_NUMBER) {
		double frac = max_s > 0 ? dur->number / max_s : 0;
		tether_buf_printf(b, "<span class=\"meter\"><span class=\"info\" style=\"width:%.0f%%\"></span></span> ",
				  100 * (frac < 0 ? 0 : frac > 1 ? 1 : frac));
		report_num(b, dur->number);
		tether_buf_puts(b, " s");
	}
	tether_buf_puts(b, "</td><td>");
	if (loc) {
		tether_buf_puts(b, "<code>");
		report_esc(b, loc);
		tether_buf_puts(b, "</code>: ");
	}
	if (msg)
		report_esc(b, msg);
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
	tether_buf_puts(b, "</td>");
	if (extras) {
		/* fields added to results.json after this page was written */
		tether_buf_puts(b, "<td>");
		report_json_members(b, sc, known_scenario_keys);
		tether_buf_puts(b, "</td>");
	}
	tether_buf_puts(b, "</tr>\n");
}

/* "junit.xml: 31 test cases, 1 failure", from a plain count of its tags. */
static void junit_line(struct tether_buf *b, const char *dir, size_t n_results, size_t failed_results)
{
	size_t len;
	int err;
	char *x = report_read(dir, "junit.xml", &len, &err);
	tether_buf_puts(b, "<p>");
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

static struct report_summary section_scenarios(struct tether_buf *b, const char *dir)
{
	struct report_summary s = {.state = REPORT_NOT_RUN};
	tether_buf_puts(b, "<section id=\"scenarios\"><h2>Scenarios <span class=\"src\">(");
	report_link(b, dir, "results.json", "results.json");
	tether_buf_puts(b, ", harness run)</span></h2>\n");
	size_t len;
	int err;
	char *text = report_read(dir, "results.json", &len, &err);
	struct tether_json *root = NULL;
	int r = text ? tether_json_parse(text, len, 64, &root) : -err;
	const struct tether_json *list = root ? tether_json_get(root, "scenarios") : NULL;
	if (!text && err == ENOENT) {
		tether_buf_puts(b, "<p class=\"none\">not run: no results.json here.</p>\n");
		s.text = xstrdup("not run");
		junit_line(b, dir, 0, 0);
	} else if (r < 0 || !list || list->type != TETHER_JSON_ARRAY) {
		tether_buf_printf(b, "<p class=\"bad\">results.json cannot be read: %s.</p>\n",
				  r < 0 ? strerror(-r) : "no \"scenarios\" array");
		s = (struct report_summary){REPORT_BAD, xstrdup("results.json unreadable")};
	} else {
		size_t pass = 0, fail = 0, skip = 0, other = 0;
		double max_s = 0, total_s = 0;
		bool extras = false;
		for (size_t i = 0; i < list->count; i++) {
			const struct tether_json *sc = list->items[i], *d = tether_json_get(sc, "duration_s");
			const char *st = str_of(sc, "status");
			pass += st && !strcmp(st, "pass");
			fail += st && !strcmp(st, "fail");
			skip += st && !strcmp(st, "skip");
			other += !st || (strcmp(st, "pass") && strcmp(st, "fail") && strcmp(st, "skip"));
			if (d && d->type == TETHER_JSON_NUMBER) {
				max_s = fmax(max_s, d->number);
				total_s += d->number;
			}
			for (size_t k = 0; sc->type == TETHER_JSON_OBJECT && k < sc->count; k++)
				extras |= !known_key(sc->keys[k]);
		}
		/* a status this page does not know is not a pass */
		s.state = fail || other ? REPORT_BAD : REPORT_OK;
		s.text = other ? xasprintf("%zu passed, %zu failed, %zu skipped, %zu with no known status", pass, fail,
					   skip, other)
			       : xasprintf("%zu passed, %zu failed, %zu skipped", pass, fail, skip);
		tether_buf_printf(b, "<p class=\"%s verdict\">", report_state_class(s.state));
		report_esc(b, s.text);
		tether_buf_puts(b, " <span class=\"note\">(scenario time ");
		report_num(b, total_s);
		tether_buf_puts(b, " s)</span></p>\n");
		static const char *const not_here[] = {"scenarios", NULL};
		report_json_members(b, root, not_here);
		junit_line(b, dir, list->count, fail);
		if (fail) {
			tether_buf_puts(b, "<p><b>failed:</b> ");
			for (size_t i = 0, k = 0; i < list->count; i++) {
				const char *st = str_of(list->items[i], "status"), *nm = str_of(list->items[i], "name");
				if (!st || strcmp(st, "fail"))
					continue;
				tether_buf_printf(b, "%s<a href=\"#s-%zu\">", k++ ? ", " : "", i);
				report_esc(b, nm ? nm : "?");
				tether_buf_puts(b, "</a>");
			}
			tether_buf_puts(b, "</p>\n");
		}
		tether_buf_puts(b, "<table class=\"grid scen\"><thead><tr><th>#</th><th>scenario</th><th>status</th>"
				   "<th>time</th><th>message</th>");
		tether_buf_puts(b, extras ? "<th>other fields</th></tr></thead><tbody>\n" : "</tr></thead><tbody>\n");
		for (size_t i = 0; i < list->count; i++)
			if (list->items[i]->type == TETHER_JSON_OBJECT)
				scenario_row(b, list->items[i], i, max_s, extras);
		tether_buf_puts(b, "</tbody></table>\n");
	}
	tether_buf_puts(b, "</section>\n");
	if (root)
		tether_json_free(root);
	free(text);
	return s;
}

/* ---- the page ------------------------------------------------------------------------ */

/* No '<' or '&' in here: the page must stay well-formed XML too. */
static const char css[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;padding:0 1em;color:#222}"
	"h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.8em}"
	".src{font-size:.75em;font-weight:normal;color:#666}.meta,.note{color:#666;font-size:.9em}"
	"table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:2px 6px;"
	"text-align:left;vertical-align:top}thead th{background:#f3f3f3}table.kv th{background:#fafafa;"
	"font-weight:normal;color:#444}td.n{text-align:right;white-space:nowrap}td table{margin:0}"
	"pre{margin:.2em 0;white-space:pre-wrap;font-size:.9em}code{font-size:.95em}"
	".ok{color:#176f2c}.bad{color:#b00020}.none,.null,.skip{color:#888}.info{color:#1f4e8c}"
	"tr.bad td,tr.bad th{background:#fdecee}.verdict{font-weight:bold}"
	".meter{display:inline-block;width:60px;height:8px;background:#eee;vertical-align:middle}"
	".meter span{display:block;height:8px}.meter .ok{background:#3a9b50}.meter .warn{background:#d9a520}"
	".meter .bad{background:#c8374a}.meter .info{background:#7a9cc6}"
	"figure{margin:.6em 0}svg{max-width:100%;height:auto}"
	"table.summary td,table.summary th{padding:4px 10px}.first{margin:.5em 0}";

static void page(struct tether_buf *b, const char *dir, struct tether_buf *body, const struct report_summary *sum)
{
	static const struct {
		const char *id, *name;
	} parts[] = {{"scenarios", "scenarios"}, {"stress", "stress"}, {"soak", "soak"},
		     {"coverage", "coverage"},   {"leaks", "leaks"}};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char when[40];
	tether_format_iso8601((int64_t)now.tv_sec * NS_PER_SEC + now.tv_nsec, false, when, sizeof when);
	tether_buf_puts(b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
			   "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width\"/>\n"
			   "<title>tether lab report</title>\n<style>");
	tether_buf_puts(b, css);
	tether_buf_puts(b, "</style>\n</head>\n<body>\n<h1>tether lab report</h1>\n<p class=\"meta\">");
	tether_buf_printf(b, "generated %s by <code>harness report</code> from <code>", when);
	report_esc(b, dir);
	tether_buf_puts(b, "</code></p>\n<table class=\"summary\"><tbody>\n");
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		const char *st = sum[i].state == REPORT_OK ? "pass" : sum[i].state == REPORT_BAD ? "FAIL"
			       : sum[i].state == REPORT_INFO ? "" : "not run";
		tether_buf_printf(b, "<tr class=\"%s\"><th><a href=\"#%s\">%s</a></th><td class=\"%s\">%s</td><td>",
				  sum[i].state == REPORT_BAD ? "bad" : "", parts[i].id, parts[i].name,
				  report_state_class(sum[i].state), st);
		report_esc(b, sum[i].text ? sum[i].text : "");
		tether_buf_puts(b, "</td></tr>\n");
	}
	tether_buf_puts(b, "</tbody></table>\n");
	tether_buf_append(b, body->data ? body->data : "", body->len);
	tether_buf_puts(b, "<p class=\"meta\">reports/README.md describes every file of this directory.</p>\n"
			   "</body>\n</html>\n");
}

int harness_cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"report", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *report_arg = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (c) {
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
	lab_paths_done(&where);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "harness report: cannot create %s: %s\n", dir, strerror(errno));
		free(dir);
		return 70;
	}
	struct tether_buf body, out;
	tether_buf_init(&body);
	tether_buf_init(&out);
	struct report_summary sum[5];
	sum[0] = section_scenarios(&body, dir);
	sum[1] = report_section_bench(&body, dir, "stress.json", "stress", "Stress");
	sum[2] = report_section_bench(&body, dir, "soak.json", "soak", "Soak");
	sum[3] = report_section_coverage(&body, dir);
	sum[4] = report_section_leaks(&body, dir);
	page(&out, dir, &body, sum);
	static const char *const names[] = {"scenarios", "stress", "soak", "coverage", "leaks"};
	for (int i = 0; i < 5; i++) {
		printf("  %-10s %s\n", names[i], sum[i].text ? sum[i].text : "");
		free(sum[i].text);
	}
	int rc = 0;
	char *path = xasprintf("%s/index.html", dir), *tmp = xasprintf("%s/.index.html.tmp", dir);
	int r = body.oom || out.oom ? -ENOMEM : lab_write_file(tmp, out.data, out.len);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		fprintf(stderr, "harness report: cannot write %s: %s\n", path, strerror(-r));
		rc = 70;
	} else {
		printf("harness report: %s\n", path);
	}
	tether_buf_done(&body);
	tether_buf_done(&out);
	free(path);
	free(tmp);
	free(dir);
	return rc;
}
