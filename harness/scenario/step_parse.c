/* SPDX-License-Identifier: MIT */
/* step_parse.c — the steps whose grammar is more than "KEYWORD WORDS":
 * spawn/run, signal, fault, let, and the directives (see scenarios/README.md).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "parse.h"
#include "scenario/scenario.h"

int parse_spawn(struct parse_ctx *ctx, const struct line *ln, struct step *st)
{
	bool is_run = st->kind == S_RUN, is_retry = st->kind == S_RETRY;
	const char *usage = is_run     ? "run NAME PROGRAM [ARG...]"
			    : is_retry ? "retry NAME [within DUR] PROGRAM [ARG...]"
				       : "spawn NAME [xN] PROGRAM [ARG...]";
	if (parse_need(ctx, ln, 3, (size_t)-1, usage) < 0)
		return -1;
	const struct word *nw = &ln->words[1];
	if (!parse_valid_name(nw->tmpl))
		return parse_error(ctx, nw->line, nw->col,
				   "'%s' cannot name a process (letters, digits, _ and -; not a keyword)", nw->tmpl);
	st->name = xstrdup(nw->tmpl);
	size_t from = 2;
	const char *x = ln->words[2].tmpl;
	if (is_retry && strcmp(x, "within") == 0) {
		if (parse_need(ctx, ln, 5, (size_t)-1, usage) < 0 || parse_dur_word(ctx, ln, 3, &st->within) < 0)
			return -1;
		from = 4;
	}
	if (!is_run && !is_retry && x[0] == 'x' && x[1] && strspn(x + 1, "0123456789") == strlen(x + 1)) {
		uint64_t n;
		if (tether_parse_uint(x + 1, 1, 10000, &n) < 0)
			return parse_error(ctx, ln->words[2].line, ln->words[2].col, "copies: 1 to 10000");
		st->copies = (unsigned)n;
		from = 3;
		if (parse_need(ctx, ln, 4, (size_t)-1, usage) < 0)
			return -1;
		parse_add_name(&ctx->groups, &ctx->ngroups, st->name);
	}
	st->argv = parse_dup_words(ln, from, &st->argc);
	parse_add_name(&ctx->names, &ctx->nnames, st->name);
	return 0;
}

int parse_signal(struct parse_ctx *ctx, const struct line *ln, struct step *st)
{
	const char *usage = "signal NAME [group] SIG | signal pid PID SIG";
	if (parse_need(ctx, ln, 3, 4, usage) < 0)
		return -1;
	size_t i = 1;
	if (strcmp(ln->words[1].tmpl, "pid") == 0) {
		if (parse_need(ctx, ln, 4, 4, usage) < 0)
			return -1;
		st->by_pid = true;
		st->pid = word_dup(&ln->words[2]);
		i = 3;
	} else {
		st->name = xstrdup(ln->words[1].tmpl);
		if (parse_check_name(ctx, st->name, ln->words[1].line, ln->words[1].col) < 0)
			return -1;
		i = 2;
		if (strcmp(ln->words[2].tmpl, "group") == 0) {
			st->group = true;
			i = 3;
		}
	}
	if (i + 1 != ln->n)
		return parse_need(ctx, ln, i + 1, i + 1, usage);
	st->sig = lab_signal_parse(ln->words[i].tmpl);
	if (st->sig <= 0)
		return parse_error(ctx, ln->words[i].line, ln->words[i].col, "unknown signal '%s'", ln->words[i].tmpl);
	return 0;
}

int parse_fault(struct parse_ctx *ctx, const struct line *ln, struct step *st)
{
	const char *usage = "fault NAME POINT ERRNO [once | call K | from call K | probability P]";
	if (parse_need(ctx, ln, 4, 7, usage) < 0)
		return -1;
	if (!parse_valid_name(ln->words[1].tmpl))
		return parse_error(ctx, ln->words[1].line, ln->words[1].col, "'%s' cannot name a process",
				   ln->words[1].tmpl);
	st->name = xstrdup(ln->words[1].tmpl);
	st->point = xstrdup(ln->words[2].tmpl);
	if (strspn(st->point, "abcdefghijklmnopqrstuvwxyz0123456789_/*") != strlen(st->point))
		return parse_error(ctx, ln->words[2].line, ln->words[2].col, "'%s' is not a libfiu point name", st->point);
	bool kill = strcmp(ln->words[3].tmpl, "SIGKILL") == 0;
	st->err = kill ? FAULT_KILL_ERR : lab_errno_parse(ln->words[3].tmpl);
	if (st->err <= 0)
		return parse_error(ctx, ln->words[3].line, ln->words[3].col,
				   "unknown errno '%s' (a name like ENOSPC, a number, or SIGKILL)", ln->words[3].tmpl);
	st->fault_mode = FAULT_ALWAYS;
	size_t i = 4;
	if (kill && (i == ln->n || (strcmp(ln->words[i].tmpl, "call") != 0 && strcmp(ln->words[i].tmpl, "from") != 0)))
		return parse_error(ctx, ln->words[3].line, ln->words[3].col,
				   "SIGKILL at a point is counted inside tether: add 'call K' or 'from call K'");
	if (i == ln->n)
		return 0;
	const char *m = ln->words[i].tmpl;
	uint64_t k;
	if (strcmp(m, "once") == 0 && ln->n == 5) {
		st->fault_mode = FAULT_ONCE;
		return 0;
	}
	if (strcmp(m, "from") == 0) {
		st->fault_mode = FAULT_FROM;
		i++;
		m = i < ln->n ? ln->words[i].tmpl : "";
	} else {
		st->fault_mode = FAULT_CALL;
	}
	if (strcmp(m, "call") == 0 && i + 2 == ln->n) {
		if (tether_parse_uint(ln->words[i + 1].tmpl, 1, UINT32_MAX, &k) < 0)
			return parse_error(ctx, ln->words[i + 1].line, ln->words[i + 1].col, "expected a call number (1, 2, ...)");
		st->k = (unsigned long)k;
		return 0;
	}
	if (strcmp(m, "probability") == 0 && st->fault_mode == FAULT_CALL && i + 2 == ln->n) {
		char *end;
		st->fault_mode = FAULT_RANDOM;
		st->probability = strtod(ln->words[i + 1].tmpl, &end);
		if (*end || st->probability <= 0 || st->probability > 1)
			return parse_error(ctx, ln->words[i + 1].line, ln->words[i + 1].col, "expected a probability in (0, 1]");
		return 0;
	}
	return parse_error(ctx, ln->words[4].line, ln->words[4].col, "usage: %s", usage);
}

int parse_let(struct parse_ctx *ctx, const struct line *ln, struct step *st)
{
	const char *usage = "let VAR = status PIDFILE JSONPATH | let VAR = file PATH json JSONPATH | "
			    "let VAR = file PATH field LINE COLUMN | let VAR = fds NAME";
	if (parse_need(ctx, ln, 5, 8, usage) < 0)
		return -1;
	if (!parse_valid_name(ln->words[1].tmpl) || strchr(ln->words[1].tmpl, '-'))
		return parse_error(ctx, ln->words[1].line, ln->words[1].col, "'%s' cannot name a variable",
				   ln->words[1].tmpl);
	if (strcmp(ln->words[2].tmpl, "=") != 0)
		return parse_error(ctx, ln->words[2].line, ln->words[2].col, "expected '='");
	st->name = xstrdup(ln->words[1].tmpl);
	st->let_path = word_dup(&ln->words[4]);
	const char *src = ln->words[3].tmpl;
	if (strcmp(src, "fds") == 0 && ln->n == 5) {
		st->let_source = LET_FDS;
		return 0;
	}
	if (strcmp(src, "status") == 0 && ln->n == 6) {
		st->let_source = LET_STATUS;
		st->let_key = word_dup(&ln->words[5]);
		return 0;
	}
	if (strcmp(src, "file") == 0 && ln->n == 7 && strcmp(ln->words[5].tmpl, "json") == 0) {
		st->let_source = LET_FILE_JSON;
		st->let_key = word_dup(&ln->words[6]);
		return 0;
	}
	if (strcmp(src, "file") == 0 && ln->n == 8 && strcmp(ln->words[5].tmpl, "field") == 0) {
		char *end;
		uint64_t col;
		st->let_source = LET_FILE_FIELD;
		st->let_line = strtol(ln->words[6].tmpl, &end, 10);
		if (*end || st->let_line == 0)
			return parse_error(ctx, ln->words[6].line, ln->words[6].col,
					   "expected a line number (1 = first, -1 = last)");
		if (tether_parse_uint(ln->words[7].tmpl, 1, 64, &col) < 0)
			return parse_error(ctx, ln->words[7].line, ln->words[7].col, "expected a field number (1 = first)");
		st->let_field = (unsigned)col;
		return 0;
	}
	return parse_error(ctx, ln->words[3].line, ln->words[3].col, "usage: %s", usage);
}

/* The ids a `guarantees` line may name: SPEC §8, as common/guarantees.def lists it. */
static const char *const guarantee_ids[] = {
#define HARNESS_GUARANTEE(id, name, meaning) #id,
#include "common/guarantees.def"
#undef HARNESS_GUARANTEE
	NULL};

/* `guarantees G1 G3` or `guarantees none`, once per file: what the scenario
 * proves, for the report's matrix (and the check that every scenario of
 * scenarios/ says it). A typo must not silently move a scenario out of its
 * guarantee's row: unknown ids and repeats are errors. */
static int parse_guarantees(struct parse_ctx *ctx, struct scenario *scn, const struct line *ln)
{
	if (scn->guarantees_declared)
		return parse_error(ctx, ln->lineno, ln->words[0].col, "a second 'guarantees' line: say them all on one");
	if (parse_need(ctx, ln, 2, 32, "guarantees none|G1 G2 ...") < 0)
		return -1;
	scn->guarantees_declared = true;
	if (strcmp(ln->words[1].tmpl, "none") == 0) {
		if (ln->n > 2)
			return parse_error(ctx, ln->words[2].line, ln->words[2].col, "'none' stands alone");
		return 0;
	}
	for (size_t i = 1; i < ln->n; i++) {
		const struct word *w = &ln->words[i];
		size_t k = 0;
		while (guarantee_ids[k] && strcmp(guarantee_ids[k], w->tmpl) != 0)
			k++;
		if (!guarantee_ids[k])
			return parse_error(ctx, w->line, w->col,
					   "unknown guarantee '%s' (G1, G1b, G2 ... G10 of SPEC section 8, or none)", w->tmpl);
		for (size_t j = 0; j < scn->nguarantees; j++)
			if (strcmp(scn->guarantees[j], w->tmpl) == 0)
				return parse_error(ctx, w->line, w->col, "%s named twice", w->tmpl);
		char *id = xstrdup(w->tmpl);
		xappend(&scn->guarantees, &scn->nguarantees, &id, sizeof id);
	}
	return 0;
}

int parse_directive(struct parse_ctx *ctx, struct scenario *scn, const struct line *ln, bool nested)
{
	const char *kw = ln->words[0].tmpl;
	if (nested)
		return parse_error(ctx, ln->lineno, ln->words[0].col, "'%s' applies to the whole scenario: not inside repeat", kw);
	if (strcmp(kw, "timeout") == 0 || strcmp(kw, "step-timeout") == 0) {
		if (parse_need(ctx, ln, 2, 2, strcmp(kw, "timeout") == 0 ? "timeout DUR" : "step-timeout DUR") < 0)
			return -1;
		return parse_dur_word(ctx, ln, 1, strcmp(kw, "timeout") == 0 ? &scn->timeout : &scn->step_timeout);
	}
	if (strcmp(kw, "pidfile-check") == 0) {
		if (parse_need(ctx, ln, 2, 2, "pidfile-check on|off") < 0)
			return -1;
		if (strcmp(ln->words[1].tmpl, "on") != 0 && strcmp(ln->words[1].tmpl, "off") != 0)
			return parse_error(ctx, ln->words[1].line, ln->words[1].col, "expected on or off");
		scn->pidfile_check = strcmp(ln->words[1].tmpl, "on") == 0;
		return 0;
	}
	if (strcmp(kw, "exclusive") == 0)
		return parse_need(ctx, ln, 1, 1, "exclusive") < 0 ? -1 : (scn->exclusive = true, 0);
	if (strcmp(kw, "guarantees") == 0)
		return parse_guarantees(ctx, scn, ln);
	/* require WHAT... */
	if (parse_need(ctx, ln, 2, 16, "require root|fiu|sdnotify|no-valgrind|program NAME ...") < 0)
		return -1;
	for (size_t i = 1; i < ln->n; i++) {
		const char *w = ln->words[i].tmpl;
		char *req;
		if (strcmp(w, "program") == 0 && i + 1 < ln->n) {
			req = xasprintf("program %s", ln->words[++i].tmpl);
		} else if (strcmp(w, "root") == 0 || strcmp(w, "fiu") == 0 || strcmp(w, "sdnotify") == 0 ||
			   strcmp(w, "no-valgrind") == 0) {
			req = xstrdup(w);
		} else {
			return parse_error(ctx, ln->words[i].line, ln->words[i].col,
					   "unknown requirement '%s' (root, fiu, sdnotify, no-valgrind, program NAME)", w);
		}
		xappend(&scn->requires, &scn->nrequires, &req, sizeof req);
	}
	return 0;
}
