/* SPDX-License-Identifier: MIT */
/* cond_parse.c — the conditions of `wait` and `expect` (see scenario.h).
 *
 * One grammar serves both: `wait COND` waits until COND holds, `expect COND`
 * checks it now. Everything that can be checked at parse time is: operators,
 * durations, signal names, regular expressions without variables, and that a
 * condition uses every word of its line.
 */
#include "config.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "parse.h"
#include "scenario/scenario.h"

struct cursor {
	struct parse_ctx *ctx;
	const struct line *ln;
	size_t i, end;
};

static const char *peek(const struct cursor *c)
{
	return c->i < c->end ? c->ln->words[c->i].tmpl : NULL;
}

static bool accept(struct cursor *c, const char *kw)
{
	const char *w = peek(c);
	if (w && strcmp(w, kw) == 0) {
		c->i++;
		return true;
	}
	return false;
}

/* Column for an error at the cursor: the word there, or just past the line. */
static unsigned here_col(const struct cursor *c, unsigned *ret_line)
{
	if (c->i < c->end) {
		*ret_line = c->ln->words[c->i].line;
		return c->ln->words[c->i].col;
	}
	const struct word *last = &c->ln->words[c->end - 1];
	*ret_line = last->line;
	return last->col + (unsigned)strlen(last->tmpl);
}

__attribute__((format(printf, 2, 3))) static int fail_here(struct cursor *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	unsigned line;
	unsigned col = here_col(c, &line);
	const char *w = peek(c);
	if (w)
		return parse_error(c->ctx, line, col, "%s, got '%s'", msg, w);
	return parse_error(c->ctx, line, col, "%s at the end of the line", msg);
}

/* Takes the next word whatever it is. */
static int take_word(struct cursor *c, const char *what, struct word *ret)
{
	if (c->i >= c->end)
		return fail_here(c, "expected %s", what);
	*ret = word_dup(&c->ln->words[c->i++]);
	return 0;
}

static int take_op(struct cursor *c, enum cmp_op *ret)
{
	if (c->i >= c->end)
		return fail_here(c, "expected an operator (== != < <= > >=)");
	if (parse_op_word(c->ctx, c->ln, c->i, ret) < 0)
		return -1;
	c->i++;
	return 0;
}

/* A count: a non-negative integer, or a variable. */
static int take_count(struct cursor *c, const char *what, struct word *ret)
{
	if (c->i >= c->end)
		return fail_here(c, "expected %s", what);
	const struct word *w = &c->ln->words[c->i];
	uint64_t v;
	if (word_is_literal(w) && tether_parse_uint(w->tmpl, 0, 1000000000, &v) < 0)
		return fail_here(c, "expected %s (a whole number)", what);
	*ret = word_dup(w);
	c->i++;
	return 0;
}

static int take_dur(struct cursor *c, int64_t *ret)
{
	if (c->i >= c->end)
		return fail_here(c, "expected a duration (e.g. 250ms, 2s)");
	if (parse_dur_word(c->ctx, c->ln, c->i, ret) < 0)
		return -1;
	c->i++;
	return 0;
}

/* A regular expression is compiled now when it has no variables. */
static int check_regex(struct cursor *c, const struct word *w)
{
	if (!word_is_literal(w))
		return 0;
	char *lit = word_literal(w);
	regex_t re;
	int r = regcomp(&re, lit, REG_EXTENDED | REG_NOSUB);
	free(lit);
	if (r != 0)
		return parse_error(c->ctx, w->line, w->col, "invalid regular expression");
	regfree(&re);
	return 0;
}

/* sequence's REGEX names a key (its first group) and a number (its second). */
static int check_sequence_regex(struct cursor *c, const struct word *w)
{
	if (!word_is_literal(w))
		return 0;
	char *lit = word_literal(w);
	regex_t re;
	int r = regcomp(&re, lit, REG_EXTENDED);
	free(lit);
	if (r != 0)
		return parse_error(c->ctx, w->line, w->col, "invalid regular expression");
	size_t groups = re.re_nsub;
	regfree(&re);
	if (groups < 2)
		return parse_error(c->ctx, w->line, w->col,
				   "a sequence's regular expression needs two groups: (key) and (number)");
	return 0;
}

/* The test of a file's or an output's content. */
static int parse_text_test(struct cursor *c, bool is_file, struct cond *ret)
{
	static const struct {
		const char *kw;
		enum text_test test;
		bool file_only;
		bool takes_text;
	} tests[] = {
		{"absent", T_ABSENT, true, false},     {"present", T_PRESENT, true, false},
		{"empty", T_EMPTY, false, false},      {"nonempty", T_NONEMPTY, false, false},
		{"contains", T_CONTAINS, false, true}, {"lacks", T_LACKS, false, true},
		{"matches", T_MATCHES, false, true},   {"equals", T_EQUALS, false, true},
		{"lines", T_LINES, false, false},      {"json", T_JSON, true, false},
		{"jsonl", T_JSONL, true, false},       {"pidfile", T_PIDFILE, true, false},
		{"bytes", T_BYTES, false, false},      {"sequence", T_SEQUENCE, false, true},
	};
	const char *w = peek(c);
	for (size_t k = 0; w && k < sizeof tests / sizeof tests[0]; k++) {
		if (strcmp(w, tests[k].kw) != 0 || (tests[k].file_only && !is_file))
			continue;
		c->i++;
		ret->test = tests[k].test;
		if (ret->scope != SCOPE_FILE && (ret->test == T_ABSENT || ret->test == T_PRESENT ||
						  ret->test == T_JSON || ret->test == T_PIDFILE)) {
			c->i--;
			return fail_here(c, "expected a content test after chain or each (not absent, present, json, pidfile)");
		}
		if (tests[k].takes_text) {
			if (take_word(c, ret->test == T_SEQUENCE ? "a regular expression" : "a text", &ret->text) < 0)
				return -1;
			if ((ret->test == T_MATCHES || ret->test == T_SEQUENCE) && check_regex(c, &ret->text) < 0)
				return -1;
			if (ret->test == T_SEQUENCE && check_sequence_regex(c, &ret->text) < 0)
				return -1;
			/* sequence REGEX N: the count each key's numbers reach */
			if (ret->test == T_SEQUENCE && take_count(c, "how many lines each key has", &ret->value) < 0)
				return -1;
		} else if (ret->test == T_BYTES) {
			if (take_op(c, &ret->op) < 0 || take_count(c, "a size in bytes", &ret->value) < 0)
				return -1;
		} else if (ret->test == T_LINES) {
			/* lines [matching REGEX] OP N */
			if (accept(c, "matching") &&
			    (take_word(c, "a regular expression", &ret->text) < 0 || check_regex(c, &ret->text) < 0))
				return -1;
			if (take_op(c, &ret->op) < 0 || take_count(c, "a line count", &ret->value) < 0)
				return -1;
		} else if (ret->test == T_JSON) {
			if (take_word(c, "a JSON path (e.g. instances.0.pid)", &ret->text) < 0 ||
			    take_op(c, &ret->op) < 0 || take_word(c, "a value", &ret->value) < 0)
				return -1;
		}
		return 0;
	}
	return fail_here(c, is_file ? "expected absent, present, empty, nonempty, contains, lacks, matches, "
				      "equals, lines, json, jsonl, pidfile, bytes or sequence"
				    : "expected empty, nonempty, contains, lacks, matches, equals, lines, bytes or sequence");
}

/* NAME ready | exit ... | running | stdout/stderr ... | exited N | exits ... */
static int parse_proc_cond(struct cursor *c, struct cond *ret)
{
	const struct word *nw = &c->ln->words[c->i++];
	ret->name = xstrdup(nw->tmpl);
	if (parse_check_name(c->ctx, ret->name, nw->line, nw->col) < 0)
		return -1;
	if (accept(c, "ready")) {
		ret->kind = C_READY;
	} else if (accept(c, "running")) {
		ret->kind = C_RUNNING;
	} else if (accept(c, "exit")) {
		ret->kind = C_EXIT;
		ret->exit_code = -1;
		if (accept(c, "signal")) {
			const char *s = peek(c);
			if (!s || (ret->exit_signal = lab_signal_parse(s)) <= 0)
				return fail_here(c, "expected a signal name (e.g. KILL, TERM)");
			c->i++;
		} else if (peek(c)) {
			uint64_t v;
			if (tether_parse_uint(peek(c), 0, 255, &v) < 0)
				return fail_here(c, "expected an exit code (0-255) or 'signal SIG'");
			ret->exit_code = (int)v;
			c->i++;
		} else {
			ret->exit_any = true;
		}
	} else if (accept(c, "stdout") || accept(c, "stderr")) {
		ret->kind = C_OUTPUT;
		ret->stream = strcmp(c->ln->words[c->i - 1].tmpl, "stdout") == 0 ? 1 : 2;
		return parse_text_test(c, false, ret);
	} else if (accept(c, "exited")) {
		ret->kind = C_EXITED;
		return take_count(c, "how many members", &ret->value);
	} else if (accept(c, "exits")) {
		ret->kind = C_EXITS;
		while (peek(c)) {
			const char *w = peek(c);
			const char *eq = strchr(w, '=');
			struct exit_count ec = {0};
			uint64_t code, n;
			char codebuf[8];
			if (!eq || (size_t)(eq - w) >= sizeof codebuf)
				return fail_here(c, "expected CODE=COUNT or CODE=rest");
			memcpy(codebuf, w, (size_t)(eq - w));
			codebuf[eq - w] = '\0';
			if (tether_parse_uint(codebuf, 0, 255, &code) < 0)
				return fail_here(c, "expected an exit code (0-255) before '='");
			ec.code = (int)code;
			if (strcmp(eq + 1, "rest") == 0)
				ec.rest = true;
			else if (tether_parse_uint(eq + 1, 0, 1000000, &n) == 0)
				ec.count = (unsigned)n;
			else
				return fail_here(c, "expected a count or 'rest' after '='");
			xappend(&ret->exits, &ret->nexits, &ec, sizeof ec);
			c->i++;
		}
		if (ret->nexits == 0)
			return fail_here(c, "expected CODE=COUNT (e.g. 0=1 75=rest)");
	} else {
		return fail_here(c, "expected ready, running, exit, stdout, stderr, exited or exits");
	}
	return 0;
}

long cond_parse(struct parse_ctx *ctx, const struct line *ln, size_t start, size_t end, struct cond *ret)
{
	struct cursor c = {.ctx = ctx, .ln = ln, .i = start, .end = end};
	memset(ret, 0, sizeof *ret);
	ret->exit_code = -1;
	if (start >= end)
		return fail_here(&c, "expected a condition");
	ret->col = ln->words[start].col;
	int r;
	if (accept(&c, "file")) {
		ret->kind = C_FILE;
		r = take_word(&c, "a file path", &ret->subject);
		if (r == 0 && accept(&c, "chain"))
			ret->scope = SCOPE_CHAIN;
		else if (r == 0 && accept(&c, "each"))
			ret->scope = SCOPE_EACH;
		if (r == 0)
			r = parse_text_test(&c, true, ret);
	} else if (accept(&c, "status")) {
		ret->kind = C_STATUS;
		r = take_word(&c, "a pidfile path", &ret->subject);
		if (r == 0 && accept(&c, "exit")) {
			ret->status_exit = true;
			ret->op = OP_EQ;
			r = take_count(&c, "an exit code", &ret->value);
		} else if (r == 0) {
			r = take_word(&c, "a JSON path (e.g. instances.0.state) or 'exit'", &ret->text);
			if (r == 0)
				r = take_op(&c, &ret->op);
			if (r == 0)
				r = take_word(&c, "a value", &ret->value);
		}
	} else if (accept(&c, "processes")) {
		ret->kind = C_PROCESSES;
		ret->subject = (struct word){.tmpl = xstrdup(""), .line = ln->lineno};
		r = 0;
		const char *w = peek(&c);
		enum cmp_op ignored;
		/* an optional COMM comes first: any word that is neither `of` nor an operator */
		if (w && strcmp(w, "of") != 0 && parse_op_word(NULL, ln, c.i, &ignored) < 0) {
			word_free(&ret->subject);
			r = take_word(&c, "a process name (comm)", &ret->subject);
		}
		if (r == 0 && accept(&c, "of")) {
			const char *n = peek(&c);
			if (!n)
				r = fail_here(&c, "expected a spawned process name after 'of'");
			else {
				ret->name = xstrdup(n);
				r = parse_check_name(ctx, n, ln->words[c.i].line, ln->words[c.i].col);
				c.i++;
			}
		}
		if (r == 0)
			r = take_op(&c, &ret->op);
		if (r == 0)
			r = take_count(&c, "a process count", &ret->value);
	} else if (accept(&c, "fds")) {
		ret->kind = C_FDS;
		const char *n = peek(&c);
		if (!n) {
			r = fail_here(&c, "expected a spawned process name");
		} else {
			ret->name = xstrdup(n);
			r = parse_check_name(ctx, n, ln->words[c.i].line, ln->words[c.i].col);
			c.i++;
		}
		if (r == 0)
			r = take_op(&c, &ret->op);
		if (r == 0)
			r = take_count(&c, "a descriptor count", &ret->value);
	} else if (accept(&c, "gaps")) {
		ret->kind = C_GAPS;
		ret->tolerance = 50 * NS_PER_MS;
		r = take_word(&c, "a --record file", &ret->subject);
		while (r == 0 && peek(&c) && strcmp(peek(&c), "tolerance") != 0) {
			int64_t d;
			r = take_dur(&c, &d);
			if (r == 0)
				xappend(&ret->gaps, &ret->ngaps, &d, sizeof d);
		}
		if (r == 0 && ret->ngaps == 0)
			r = fail_here(&c, "expected the gaps (e.g. 100ms 200ms 400ms)");
		if (r == 0 && accept(&c, "tolerance"))
			r = take_dur(&c, &ret->tolerance);
	} else if (accept(&c, "elapsed")) {
		ret->kind = C_ELAPSED;
		r = take_word(&c, "an event (NAME.spawn, NAME.ready, NAME.exit or a mark)", &ret->subject);
		if (r == 0)
			r = take_word(&c, "a second event", &ret->subject2);
		if (r == 0)
			r = take_op(&c, &ret->op);
		if (r == 0)
			r = take_dur(&c, &ret->dur);
	} else if (accept(&c, "fault")) {
		ret->kind = C_FAULT_FIRED;
		const char *n = peek(&c);
		if (!n) {
			r = fail_here(&c, "expected a spawned process name");
		} else {
			ret->name = xstrdup(n);
			r = parse_check_name(ctx, n, ln->words[c.i].line, ln->words[c.i].col);
			c.i++;
		}
		if (r == 0 && !accept(&c, "fired"))
			r = fail_here(&c, "expected 'fired'");
		ret->subject2 = (struct word){.tmpl = xstrdup(""), .line = ln->lineno};
		if (r == 0 && peek(&c)) {
			word_free(&ret->subject2);
			r = take_word(&c, "a fault point", &ret->subject2);
		}
	} else if (accept(&c, "no-orphans")) {
		ret->kind = C_NO_ORPHANS;
		r = 0;
		if (accept(&c, "of")) {
			const char *n = peek(&c);
			if (!n) {
				r = fail_here(&c, "expected a spawned process name after 'of'");
			} else {
				ret->name = xstrdup(n);
				r = parse_check_name(ctx, n, ln->words[c.i].line, ln->words[c.i].col);
				c.i++;
			}
		}
	} else {
		r = parse_proc_cond(&c, ret);
	}
	if (r < 0)
		return -1;
	if (c.i < c.end)
		return fail_here(&c, "unexpected word after the condition");
	return (long)(c.i - start);
}

void cond_free(struct cond *c)
{
	free(c->name);
	word_free(&c->subject);
	word_free(&c->subject2);
	word_free(&c->text);
	word_free(&c->value);
	free(c->exits);
	free(c->gaps);
	memset(c, 0, sizeof *c);
}
