/* SPDX-License-Identifier: MIT */
/* scenario.c — parses a scenario file into steps (see scenario.h and
 * scenarios/README.md for the language).
 *
 * Besides the grammar, the parser checks what a reader would: that every
 * process a step names was spawned on an earlier line, that every variable is
 * defined before it is used, that `repeat` has its `end`, and that `pause` is
 * followed by an expectation (a pause may only prove that nothing happens
 * during it; waiting for something to happen is `wait`'s job).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "parse.h"
#include "scenario/scenario.h"

static void steps_free(struct step *steps, size_t n);

static void step_free(struct step *st)
{
	free(st->name);
	for (size_t i = 0; i < st->argc; i++)
		word_free(&st->argv[i]);
	free(st->argv);
	cond_free(&st->cond);
	word_free(&st->pid);
	free(st->var);
	steps_free(st->body, st->nbody);
	free(st->point);
	word_free(&st->let_path);
	word_free(&st->let_key);
}

static void steps_free(struct step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		step_free(&steps[i]);
	free(steps);
}

static int parse_block(struct parse_ctx *ctx, struct scenario *scn, const struct line *lines, size_t nlines,
		       size_t *pos, const struct line *opener, struct step **ret, size_t *ret_n);

/* Parses one line into st (already zeroed, kind unset). 1 = not a step
 * (a directive), 0 = a step, -1 = error. */
static int parse_step(struct parse_ctx *ctx, struct scenario *scn, const struct line *lines, size_t nlines,
		      size_t *pos, bool nested, struct step *st)
{
	const struct line *ln = &lines[*pos];
	const char *kw = ln->words[0].tmpl;
	st->line = ln->lineno;
	st->within = -1;
	for (size_t i = 0; i < ln->n; i++)
		if (parse_check_vars(ctx, &ln->words[i]) < 0)
			return -1;
	(*pos)++;
	if (!strcmp(kw, "timeout") || !strcmp(kw, "step-timeout") || !strcmp(kw, "require") ||
	    !strcmp(kw, "pidfile-check") || !strcmp(kw, "exclusive") || !strcmp(kw, "guarantees"))
		return parse_directive(ctx, scn, ln, nested) < 0 ? -1 : 1;
	if (!strcmp(kw, "spawn") || !strcmp(kw, "run") || !strcmp(kw, "retry")) {
		st->kind = kw[0] == 's' ? S_SPAWN : kw[1] == 'u' ? S_RUN : S_RETRY;
		return parse_spawn(ctx, ln, st);
	}
	if (!strcmp(kw, "signal")) {
		st->kind = S_SIGNAL;
		return parse_signal(ctx, ln, st);
	}
	if (!strcmp(kw, "wait") || !strcmp(kw, "expect") || !strcmp(kw, "no-orphans")) {
		size_t end = ln->n, start = 1;
		st->kind = kw[0] == 'e' ? S_EXPECT : S_WAIT;
		if (st->kind != S_EXPECT && end >= 3 && strcmp(ln->words[end - 2].tmpl, "within") == 0) {
			if (parse_dur_word(ctx, ln, end - 1, &st->within) < 0)
				return -1;
			end -= 2;
		}
		if (kw[0] == 'n') {
			/* no-orphans is a condition of its own: a wait with `within`, else a check */
			start = 0;
			if (st->within < 0)
				st->kind = S_EXPECT;
		}
		return cond_parse(ctx, ln, start, end, &st->cond) < 0 ? -1 : 0;
	}
	if (!strcmp(kw, "set") || !strcmp(kw, "log")) {
		st->kind = kw[0] == 's' ? S_SET : S_LOG;
		if (parse_need(ctx, ln, st->kind == S_SET ? 2 : 1, (size_t)-1, kw[0] == 's' ? "set VAR WORD..." : "log WORD...") < 0)
			return -1;
		if (st->kind == S_SET) {
			if (!parse_valid_name(ln->words[1].tmpl) || strchr(ln->words[1].tmpl, '-'))
				return parse_error(ctx, ln->words[1].line, ln->words[1].col, "'%s' cannot name a variable",
						   ln->words[1].tmpl);
			st->name = xstrdup(ln->words[1].tmpl);
			parse_add_name(&ctx->vars, &ctx->nvars, st->name);
		}
		st->argv = parse_dup_words(ln, st->kind == S_SET ? 2 : 1, &st->argc);
		return 0;
	}
	if (!strcmp(kw, "let")) {
		st->kind = S_LET;
		if (parse_let(ctx, ln, st) < 0)
			return -1;
		parse_add_name(&ctx->vars, &ctx->nvars, st->name);
		return 0;
	}
	if (!strcmp(kw, "mark")) {
		st->kind = S_MARK;
		if (parse_need(ctx, ln, 2, 2, "mark LABEL") < 0)
			return -1;
		st->argv = parse_dup_words(ln, 1, &st->argc);
		return 0;
	}
	if (!strcmp(kw, "pause")) {
		st->kind = S_PAUSE;
		if (parse_need(ctx, ln, 2, 2, "pause DUR") < 0)
			return -1;
		return parse_dur_word(ctx, ln, 1, &st->pause);
	}
	if (!strcmp(kw, "write") || !strcmp(kw, "remove")) {
		st->kind = kw[0] == 'w' ? S_WRITE : S_REMOVE;
		if (parse_need(ctx, ln, kw[0] == 'w' ? 3 : 2, kw[0] == 'w' ? 3 : 2,
			       kw[0] == 'w' ? "write PATH TEXT" : "remove PATH") < 0)
			return -1;
		st->argv = parse_dup_words(ln, 1, &st->argc);
		return 0;
	}
	if (!strcmp(kw, "fault") || !strcmp(kw, "fiu") || !strcmp(kw, "env")) {
		st->kind = kw[0] == 'f' ? (kw[1] == 'a' ? S_FAULT : S_FIU) : S_ENV;
		if (st->kind == S_FAULT) {
			if (parse_fault(ctx, ln, st) < 0)
				return -1;
		} else {
			if (parse_need(ctx, ln, 3, st->kind == S_FIU ? 3 : (size_t)-1,
				       st->kind == S_FIU ? "fiu NAME \"COMMAND\"" : "env NAME KEY=VALUE...") < 0)
				return -1;
			if (!parse_valid_name(ln->words[1].tmpl))
				return parse_error(ctx, ln->words[1].line, ln->words[1].col, "'%s' cannot name a process",
						   ln->words[1].tmpl);
			st->name = xstrdup(ln->words[1].tmpl);
			st->argv = parse_dup_words(ln, 2, &st->argc);
			for (size_t i = 0; st->kind == S_ENV && i < st->argc; i++) {
				const char *eq = strchr(st->argv[i].tmpl, '=');
				if (!eq || eq == st->argv[i].tmpl)
					return parse_error(ctx, st->argv[i].line, st->argv[i].col, "expected KEY=VALUE");
			}
		}
		struct step mod = {.kind = st->kind, .line = st->line, .name = st->name};
		xappend(&ctx->mods, &ctx->nmods, &mod, sizeof mod);
		return 0;
	}
	if (!strcmp(kw, "limit")) {
		/* RLIMIT_NOFILE for the next spawn of NAME, set in the child before
		 * its exec: the program stays tether itself (--tether, --valgrind
		 * apply), where a `prlimit` wrapper would be the program. */
		st->kind = S_LIMIT;
		if (parse_need(ctx, ln, 4, 4, "limit NAME nofile SOFT:HARD") < 0)
			return -1;
		if (!parse_valid_name(ln->words[1].tmpl))
			return parse_error(ctx, ln->words[1].line, ln->words[1].col, "'%s' cannot name a process",
					   ln->words[1].tmpl);
		if (strcmp(ln->words[2].tmpl, "nofile") != 0)
			return parse_error(ctx, ln->words[2].line, ln->words[2].col, "expected nofile (the only limit)");
		const char *v = ln->words[3].tmpl, *colon = strchr(v, ':');
		char soft[32];
		if (!colon || (size_t)(colon - v) >= sizeof soft)
			return parse_error(ctx, ln->words[3].line, ln->words[3].col, "expected SOFT:HARD, e.g. 64:4096");
		memcpy(soft, v, (size_t)(colon - v));
		soft[colon - v] = '\0';
		if (tether_parse_uint(soft, 3, 1u << 30, &st->nofile_soft) < 0 ||
		    tether_parse_uint(colon + 1, st->nofile_soft, 1u << 30, &st->nofile_hard) < 0)
			return parse_error(ctx, ln->words[3].line, ln->words[3].col,
					   "expected SOFT:HARD with 3 <= SOFT <= HARD, e.g. 64:4096");
		st->name = xstrdup(ln->words[1].tmpl);
		struct step mod = {.kind = st->kind, .line = st->line, .name = st->name};
		xappend(&ctx->mods, &ctx->nmods, &mod, sizeof mod);
		return 0;
	}
	if (!strcmp(kw, "repeat")) {
		st->kind = S_REPEAT;
		uint64_t n;
		if (ln->n != 2 && !(ln->n == 4 && strcmp(ln->words[2].tmpl, "as") == 0))
			return parse_need(ctx, ln, 2, 2, "repeat N [as VAR] ... end");
		if (tether_parse_uint(ln->words[1].tmpl, 1, 1000000, &n) < 0)
			return parse_error(ctx, ln->words[1].line, ln->words[1].col, "expected a repetition count");
		st->count = (unsigned)n;
		st->var = xstrdup(ln->n == 4 ? ln->words[3].tmpl : "i");
		parse_add_name(&ctx->vars, &ctx->nvars, st->var);
		return parse_block(ctx, scn, lines, nlines, pos, ln, &st->body, &st->nbody);
	}
	if (!strcmp(kw, "end"))
		return parse_error(ctx, ln->lineno, ln->words[0].col, "'end' without 'repeat'");
	return parse_error(ctx, ln->lineno, ln->words[0].col,
			   "unknown step '%s' (spawn, run, retry, signal, wait, expect, no-orphans, set, let, mark, pause, "
			   "repeat, write, remove, fault, fiu, env, limit, log, or a directive: timeout, step-timeout, "
			   "require, pidfile-check, exclusive, guarantees)", kw);
}

static int parse_block(struct parse_ctx *ctx, struct scenario *scn, const struct line *lines, size_t nlines,
		       size_t *pos, const struct line *opener, struct step **ret, size_t *ret_n)
{
	struct step *steps = NULL;
	size_t n = 0;
	const struct step *pending_pause = NULL;
	bool closed = false;
	while (*pos < nlines) {
		const struct line *ln = &lines[*pos];
		if (opener && strcmp(ln->words[0].tmpl, "end") == 0) {
			(*pos)++;
			closed = true;
			if (ln->n != 1) {
				steps_free(steps, n);
				return parse_error(ctx, ln->lineno, ln->words[1].col, "'end' takes no words");
			}
			break;
		}
		struct step st = {0};
		int r = parse_step(ctx, scn, lines, nlines, pos, opener != NULL, &st);
		if (r < 0) {
			step_free(&st);
			steps_free(steps, n);
			return -1;
		}
		if (r == 1)
			continue;
		if (pending_pause && st.kind != S_EXPECT) {
			step_free(&st);
			steps_free(steps, n);
			return parse_error(ctx, ln->lineno, ln->words[0].col,
					   "a pause must be followed by expect: it may only prove that nothing "
					   "happens during it (to wait for something, use wait)");
		}
		xappend(&steps, &n, &st, sizeof st);
		pending_pause = st.kind == S_PAUSE ? &steps[n - 1] : NULL;
	}
	if (opener && !closed) {
		steps_free(steps, n);
		return parse_error(ctx, opener->lineno, opener->words[0].col, "'repeat' without 'end'");
	}
	if (pending_pause) {
		unsigned l = pending_pause->line;
		steps_free(steps, n);
		return parse_error(ctx, l, 1, "a pause must be followed by expect");
	}
	*ret = steps;
	*ret_n = n;
	return 0;
}

struct spawn_ref {
	const char *name;
	unsigned line;
};

static void collect_spawns(const struct step *steps, size_t n, struct spawn_ref **refs, size_t *nrefs)
{
	for (size_t i = 0; i < n; i++) {
		if (steps[i].kind == S_SPAWN || steps[i].kind == S_RUN) {
			struct spawn_ref r = {steps[i].name, steps[i].line};
			xappend(refs, nrefs, &r, sizeof r);
		}
		collect_spawns(steps[i].body, steps[i].nbody, refs, nrefs);
	}
}

/* Every fault/fiu/env is for a spawn or run of its name on a later line. */
static int check_mods(struct parse_ctx *ctx, const struct scenario *scn)
{
	struct spawn_ref *refs = NULL;
	size_t nrefs = 0;
	int r = 0;
	collect_spawns(scn->steps, scn->nsteps, &refs, &nrefs);
	for (size_t m = 0; m < ctx->nmods && r == 0; m++) {
		bool found = false;
		for (size_t i = 0; i < nrefs && !found; i++)
			found = refs[i].line > ctx->mods[m].line && strcmp(refs[i].name, ctx->mods[m].name) == 0;
		if (!found)
			r = parse_error(ctx, ctx->mods[m].line, 1, "no spawn or run of '%s' follows: what is this for?",
					ctx->mods[m].name);
	}
	free(refs);
	return r;
}

struct scenario *scenario_parse(const char *path, char **ret_error)
{
	int err;
	size_t len;
	char *text = lab_read_file(path, 1 << 20, &len, &err);
	if (!text) {
		*ret_error = xasprintf("%s: cannot read: %s", path, strerror(err));
		return NULL;
	}
	if (strlen(text) != len) {
		free(text);
		*ret_error = xasprintf("%s:1:1: the file contains a NUL byte", path);
		return NULL;
	}
	struct line *lines;
	char *lex_err;
	long nlines = lex_lines(text, &lines, &lex_err);
	free(text);
	if (nlines < 0) {
		*ret_error = xasprintf("%s:%s", path, lex_err);
		free(lex_err);
		return NULL;
	}
	struct scenario *scn = xcalloc(1, sizeof *scn);
	scn->path = xstrdup(path);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t blen = strlen(base);
	if (blen > 4 && strcmp(base + blen - 4, ".scn") == 0)
		blen -= 4;
	scn->name = xstrndup(base, blen);
	scn->timeout = SCENARIO_DEFAULT_TIMEOUT;
	scn->step_timeout = SCENARIO_DEFAULT_STEP_TIMEOUT;
	scn->pidfile_check = true;
	struct parse_ctx ctx = {.path = path};
	size_t pos = 0;
	int r = parse_block(&ctx, scn, lines, (size_t)nlines, &pos, NULL, &scn->steps, &scn->nsteps);
	if (r == 0)
		r = check_mods(&ctx, scn);
	lines_free(lines, (size_t)nlines);
	for (size_t i = 0; i < ctx.nnames; i++)
		free(ctx.names[i]);
	for (size_t i = 0; i < ctx.ngroups; i++)
		free(ctx.groups[i]);
	for (size_t i = 0; i < ctx.nvars; i++)
		free(ctx.vars[i]);
	free(ctx.names);
	free(ctx.groups);
	free(ctx.vars);
	free(ctx.mods);
	if (r < 0) {
		*ret_error = ctx.error ? ctx.error : xasprintf("%s: parse error", path);
		scenario_free(scn);
		return NULL;
	}
	return scn;
}

void scenario_free(struct scenario *s)
{
	if (!s)
		return;
	steps_free(s->steps, s->nsteps);
	for (size_t i = 0; i < s->nrequires; i++)
		free(s->requires[i]);
	free(s->requires);
	for (size_t i = 0; i < s->nguarantees; i++)
		free(s->guarantees[i]);
	free(s->guarantees);
	free(s->path);
	free(s->name);
	free(s);
}
