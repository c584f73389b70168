/* SPDX-License-Identifier: MIT */
/* htmlreport_guarantees.c — the first thing on the page: a row per
 * guarantee of SPEC §8 (common/guarantees.def), with the scenarios that
 * declare it (`guarantees G1 G3`, carried in results.json) and what else
 * showed it (stress, soak, the enumeration, memcheck, mutants: evidence the
 * other sections found, see report.h).
 *
 * A guarantee is red when anything that proves it failed, green when
 * something proved it and nothing failed, grey when nothing ran for it (its
 * scenarios were skipped, or none declares it). A skipped scenario is
 * neither: it is shown, grey, so that a guarantee held "by 1 of 3" reads as
 * such. Scenarios that declare no guarantee (promises of SPEC §1-§6) and
 * those that declare nothing follow the matrix, so that no scenario is out
 * of sight; then the message of every failed one.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "report/report.h"

static const struct {
	const char *id, *name, *meaning;
} guarantees[] = {
#define HARNESS_GUARANTEE(id, name, meaning) {#id, name, meaning},
#include "common/guarantees.def"
#undef HARNESS_GUARANTEE
};
#define NG (sizeof guarantees / sizeof guarantees[0])

struct scen {
	size_t index;               /* in results.json: the row id s-INDEX of the scenario list */
	const char *name, *status, *location, *message;
	const struct tether_json *gids;   /* array, or NULL: declares nothing */
};

static bool declares(const struct scen *s, const char *gid)
{
	for (size_t k = 0; s->gids && k < s->gids->count; k++)
		if (s->gids->items[k]->type == TETHER_JSON_STRING && strcmp(s->gids->items[k]->string, gid) == 0)
			return true;
	return false;
}

static enum report_state scen_state(const struct scen *s)
{
	return !strcmp(s->status, "pass") ? REPORT_OK : !strcmp(s->status, "skip") ? REPORT_NOT_RUN : REPORT_BAD;
}

/* <a class="chip ok" href="#s-3" title="...">name</a> */
static void chip(struct tether_buf *b, const struct scen *s)
{
	enum report_state st = scen_state(s);
	tether_buf_printf(b, "<a class=\"chip %s\" href=\"#s-%zu\" title=\"", report_state_class(st), s->index);
	report_esc(b, s->status);
	if (s->location || s->message) {
		tether_buf_puts(b, ": ");
		if (s->location) {
			report_esc(b, s->location);
			tether_buf_puts(b, ": ");
		}
		report_esc(b, s->message ? s->message : "");
	}
	tether_buf_puts(b, "\">");
	report_esc(b, s->name);
	tether_buf_puts(b, st == REPORT_BAD ? " ✗</a> " : st == REPORT_NOT_RUN ? " (skip)</a> " : "</a> ");
}

static size_t load_scenarios(const struct report_doc *results, struct scen **ret)
{
	*ret = NULL;
	const struct tether_json *list = results && results->root ? tether_json_get(results->root, "scenarios") : NULL;
	if (!list || list->type != TETHER_JSON_ARRAY)
		return 0;
	struct scen *v = xcalloc(list->count ? list->count : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < list->count; i++) {
		const struct tether_json *o = list->items[i];
		if (o->type != TETHER_JSON_OBJECT)
			continue;
		const struct tether_json *g = tether_json_get(o, "guarantees");
		const char *name = report_jstr(o, "name"), *status = report_jstr(o, "status");
		v[n++] = (struct scen){.index = i, .name = name ? name : "?",
				       .status = status ? status : "?",
				       .location = report_jstr(o, "location"), .message = report_jstr(o, "message"),
				       .gids = g && g->type == TETHER_JSON_ARRAY ? g : NULL};
	}
	*ret = v;
	return n;
}

static void evidence_chips(struct tether_buf *b, const struct report_ctx *c, const char *gid, unsigned *ok,
			   unsigned *bad)
{
	for (size_t i = 0; i < c->nev; i++) {
		const struct report_evidence *e = &c->ev[i];
		if (strcmp(e->gid, gid) != 0)
			continue;
		*ok += e->state == REPORT_OK;
		*bad += e->state == REPORT_BAD;
		tether_buf_printf(b, "<a class=\"ev %s\" href=\"#%s\">", report_state_class(e->state), e->anchor);
		report_esc(b, e->text);
		tether_buf_puts(b, "</a> ");
	}
}

static void other_row(struct tether_buf *b, const char *cls, const char *label, const char *why,
		      const struct scen *s, size_t n, bool (*pick)(const struct scen *))
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += pick(&s[i]);
	if (!k)
		return;
	tether_buf_printf(b, "<tr class=\"%s\"><td class=\"gv\"></td><td class=\"gname\" colspan=\"2\"><b>", cls);
	report_esc(b, label);
	tether_buf_printf(b, "</b> <span class=\"count\">(%zu)</span> <span class=\"meaning\">", k);
	report_esc(b, why);
	tether_buf_puts(b, "</span></td><td colspan=\"2\">");
	for (size_t i = 0; i < n; i++)
		if (pick(&s[i]))
			chip(b, &s[i]);
	tether_buf_puts(b, "</td></tr>\n");
}

static bool proves_none(const struct scen *s)
{
	return s->gids && s->gids->count == 0;
}

static bool undeclared(const struct scen *s)
{
	return !s->gids;
}

struct report_summary report_section_guarantees(struct tether_buf *b, struct report_ctx *c,
						const struct report_doc *results)
{
	static const char *const files[] = {"results.json", NULL};
	report_section_open(b, c, "guarantees", "Guarantees (SPEC §8)", files, "harness run and the sections below");
	struct scen *s;
	size_t n = load_scenarios(results, &s);
	if (results->err == ENOENT)
		tether_buf_puts(b, "<p class=\"none\">no results.json here (harness run): no scenario ran.</p>\n");
	else if (results->err)
		report_doc_error(b, results);
	else if (!tether_json_get(results->root, "scenarios"))
		tether_buf_puts(b, "<p class=\"bad\">results.json has no \"scenarios\" array.</p>\n");
	tether_buf_puts(b, "<table class=\"matrix\"><colgroup><col class=\"gv\"/><col class=\"gid\"/><col class=\"gname\"/>"
			   "<col class=\"gsc\"/><col class=\"gev\"/></colgroup><thead><tr><th>verdict</th><th>id</th>"
			   "<th>guarantee</th><th>scenarios that prove it</th><th>other evidence</th></tr></thead><tbody>\n");
	unsigned held = 0, broken = 0, unproven = 0;
	char *broken_ids = xstrdup(""), *unproven_ids = xstrdup("");
	for (size_t g = 0; g < NG; g++) {
		const char *gid = guarantees[g].id;
		unsigned pass = 0, fail = 0, skip = 0, eok = 0, ebad = 0;
		struct tether_buf chips, evs;
		tether_buf_init(&chips);
		tether_buf_init(&evs);
		for (size_t i = 0; i < n; i++) {
			if (!declares(&s[i], gid))
				continue;
			enum report_state st = scen_state(&s[i]);
			pass += st == REPORT_OK;
			fail += st == REPORT_BAD;
			skip += st == REPORT_NOT_RUN;
			chip(&chips, &s[i]);
		}
		evidence_chips(&evs, c, gid, &eok, &ebad);
		enum report_state st = fail || ebad ? REPORT_BAD : pass || eok ? REPORT_OK : REPORT_NOT_RUN;
		held += st == REPORT_OK;
		if (st == REPORT_BAD)
			report_append(&broken_ids, "%s%s", broken++ ? " " : "", gid);
		if (st == REPORT_NOT_RUN)
			report_append(&unproven_ids, "%s%s", unproven++ ? " " : "", gid);
		const char *verdict = st == REPORT_BAD ? "FAIL" : st == REPORT_OK ? "pass" : pass + fail + skip ? "not run" : "none";
		tether_buf_printf(b, "<tr id=\"%s\" class=\"g %s\"><td class=\"gv\"><span class=\"badge %s\">%s</span>", gid,
				  report_state_class(st), report_state_class(st), verdict);
		tether_buf_printf(b, "</td><th class=\"gid\">%s</th><td class=\"gname\"><b>", gid);
		report_esc(b, guarantees[g].name);
		tether_buf_puts(b, "</b> <span class=\"meaning\">");
		report_esc(b, guarantees[g].meaning);
		tether_buf_puts(b, "</span></td><td class=\"gsc\">");
		if (pass + fail + skip > 1)
			tether_buf_printf(b, "<span class=\"count\">%u/%u</span> ", pass, pass + fail + skip);
		if (chips.len)
			tether_buf_append(b, chips.data, chips.len);
		else
			tether_buf_puts(b, "<span class=\"none\">no scenario declares it</span>");
		tether_buf_puts(b, "</td><td class=\"gev\">");
		if (evs.len)
			tether_buf_append(b, evs.data, evs.len);
		tether_buf_puts(b, "</td></tr>\n");
		if (chips.oom || evs.oom)
			b->oom = true;
		tether_buf_done(&chips);
		tether_buf_done(&evs);
	}
	other_row(b, "other", "SPEC §1–§6 only",
		  "scenarios that prove promises of the command line, status, pidfile, notify and log sections, "
		  "no guarantee of §8 (they declare \"guarantees none\")",
		  s, n, proves_none);
	other_row(b, "other undeclared", "declare nothing",
		  "no \"guarantees\" line (scenarios/README.md, \"Which guarantees\"): in no row above", s, n, undeclared);
	tether_buf_puts(b, "</tbody></table>\n");

	/* what failed, where a reader looks next */
	size_t nfail = 0;
	for (size_t i = 0; i < n; i++)
		nfail += scen_state(&s[i]) == REPORT_BAD;
	if (nfail) {
		tether_buf_printf(b, "<div class=\"failures\"><b>%zu scenario%s failed:</b><ul>", nfail, nfail == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++) {
			if (scen_state(&s[i]) != REPORT_BAD)
				continue;
			tether_buf_printf(b, "<li><a href=\"#s-%zu\">", s[i].index);
			report_esc(b, s[i].name);
			tether_buf_puts(b, "</a> ");
			if (s[i].location) {
				tether_buf_puts(b, "<code>");
				report_esc(b, s[i].location);
				tether_buf_puts(b, "</code>: ");
			}
			report_esc(b, s[i].message ? s[i].message : "failed");
			tether_buf_puts(b, "</li>");
		}
		tether_buf_puts(b, "</ul></div>\n");
	}
	tether_buf_puts(b, "</section>\n");
	free(s);
	enum report_state st = broken ? REPORT_BAD : unproven ? REPORT_INFO : REPORT_OK;
	char value[32];
	snprintf(value, sizeof value, "%u / %zu", held, NG);
	/* which ones, when they fit: "FAILED: G3 G6" */
	char *detail = xstrdup(broken || unproven ? "" : "held, all");
	if (broken > 3)
		report_append(&detail, "%u FAILED", broken);
	else if (broken)
		report_append(&detail, "FAILED: %s", broken_ids);
	if (unproven > 3 || (unproven && broken > 1))
		report_append(&detail, "%s%u unproven", broken ? " · " : "", unproven);
	else if (unproven)
		report_append(&detail, "%sunproven: %s", broken ? " · " : "", unproven_ids);
	struct report_summary sum = report_summary_make(st, value, "%s", detail);
	free(detail);
	free(broken_ids);
	free(unproven_ids);
	return sum;
}
