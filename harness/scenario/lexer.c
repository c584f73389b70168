/* SPDX-License-Identifier: MIT */
/* lexer.c — words of the scenario language (see scenario.h, scenarios/README.md).
 *
 * Shell-like on purpose, so a command line can be pasted from a terminal:
 * words are separated by blanks; "double quotes" keep blanks and expand
 * variables (\" \\ \$ \n \t are escapes); 'single quotes' are literal; a
 * backslash outside quotes escapes the next character; `#` at the start of a
 * word begins a comment; a backslash at the end of a line continues it.
 * Variables are not expanded here: a word is kept as a template in which a
 * literal dollar is `$$` (see expand.c).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "json.h"
#include "scenario/scenario.h"

struct lexer {
	const char *p;
	unsigned lineno; /* of p */
	unsigned col;    /* of p, 1-based */
	char *error;
};

static int lex_fail(struct lexer *lx, unsigned line, unsigned col, const char *msg)
{
	lx->error = xasprintf("%u:%u: %s", line, col, msg);
	return -1;
}

static void advance(struct lexer *lx)
{
	if (*lx->p == '\n') {
		lx->lineno++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->p++;
}

/* Appends one literal character to the template (a dollar doubles). */
static void put_literal(struct tether_buf *b, char c)
{
	if (c == '$')
		tether_buf_append(b, "$$", 2);
	else
		tether_buf_append(b, &c, 1);
}

/* Reads one word starting at lx->p (not blank, not a comment). */
static int lex_word(struct lexer *lx, struct word *ret)
{
	struct tether_buf b;
	tether_buf_init(&b);
	unsigned start_line = lx->lineno, start_col = lx->col;
	while (*lx->p && *lx->p != ' ' && *lx->p != '\t' && *lx->p != '\n') {
		char c = *lx->p;
		if (c == '\\') {
			const char *n = lx->p + 1;
			if (*n == '\n' || (n[0] == '\r' && n[1] == '\n'))
				break; /* a continuation ends the word; lex_lines joins the lines */
			advance(lx);
			if (*lx->p == '\0') {
				put_literal(&b, '\\');
				break;
			}
			put_literal(&b, *lx->p);
			advance(lx);
		} else if (c == '\'') {
			unsigned ql = lx->lineno, qc = lx->col;
			advance(lx);
			while (*lx->p != '\'') {
				if (*lx->p == '\0' || *lx->p == '\n') {
					tether_buf_done(&b);
					return lex_fail(lx, ql, qc, "unterminated single quote");
				}
				put_literal(&b, *lx->p);
				advance(lx);
			}
			advance(lx);
		} else if (c == '"') {
			unsigned ql = lx->lineno, qc = lx->col;
			advance(lx);
			while (*lx->p != '"') {
				if (*lx->p == '\0' || *lx->p == '\n') {
					tether_buf_done(&b);
					return lex_fail(lx, ql, qc, "unterminated double quote");
				}
				if (*lx->p == '\\') {
					advance(lx);
					char e = *lx->p;
					switch (e) {
					case 'n': put_literal(&b, '\n'); break;
					case 't': put_literal(&b, '\t'); break;
					case '"': case '\\': case '$': put_literal(&b, e); break;
					default:
						tether_buf_done(&b);
						return lex_fail(lx, lx->lineno, lx->col - 1,
								"unknown escape in double quotes (use \\\" \\\\ \\$ \\n \\t)");
					}
					advance(lx);
				} else {
					/* a dollar stays a variable reference here */
					tether_buf_append(&b, lx->p, 1);
					advance(lx);
				}
			}
			advance(lx);
		} else {
			tether_buf_append(&b, lx->p, 1);
			advance(lx);
		}
	}
	if (b.oom)
		lab_die("out of memory");
	ret->tmpl = b.data ? b.data : xstrdup("");
	ret->line = start_line;
	ret->col = start_col;
	return 0;
}

long lex_lines(const char *text, struct line **ret, char **ret_error)
{
	struct lexer lx = {.p = text, .lineno = 1, .col = 1};
	struct line *lines = NULL;
	size_t nlines = 0;
	struct line cur = {0};
	for (;;) {
		/* skip blanks */
		while (*lx.p == ' ' || *lx.p == '\t' || *lx.p == '\r')
			advance(&lx);
		char c = *lx.p;
		bool at_end = c == '\0';
		if (c == '#') {
			while (*lx.p && *lx.p != '\n')
				advance(&lx);
			continue;
		}
		if (c == '\\' && (lx.p[1] == '\n' || (lx.p[1] == '\r' && lx.p[2] == '\n'))) {
			/* continuation: the logical line goes on */
			advance(&lx);
			if (*lx.p == '\r')
				advance(&lx);
			advance(&lx);
			continue;
		}
		if (c == '\n' || at_end) {
			if (cur.n > 0) {
				xappend(&lines, &nlines, &cur, sizeof cur);
				memset(&cur, 0, sizeof cur);
			}
			if (at_end)
				break;
			advance(&lx);
			continue;
		}
		if (cur.n == 0)
			cur.lineno = lx.lineno;
		struct word w;
		if (lex_word(&lx, &w) < 0) {
			for (size_t i = 0; i < cur.n; i++)
				word_free(&cur.words[i]);
			free(cur.words);
			lines_free(lines, nlines);
			*ret_error = lx.error;
			return -1;
		}
		xappend(&cur.words, &cur.n, &w, sizeof w);
	}
	*ret = lines;
	return (long)nlines;
}

void word_free(struct word *w)
{
	free(w->tmpl);
	w->tmpl = NULL;
}

struct word word_dup(const struct word *w)
{
	return (struct word){.tmpl = w->tmpl ? xstrdup(w->tmpl) : NULL, .line = w->line, .col = w->col};
}

void lines_free(struct line *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < lines[i].n; j++)
			word_free(&lines[i].words[j]);
		free(lines[i].words);
	}
	free(lines);
}

bool word_is_literal(const struct word *w)
{
	for (const char *p = w->tmpl; *p; p++) {
		if (*p != '$')
			continue;
		if (p[1] == '$') {
			p++;
			continue;
		}
		if (p[1] == '{' || isalpha((unsigned char)p[1]) || p[1] == '_')
			return false;
	}
	return true;
}

char *word_literal(const struct word *w)
{
	char *out = xmalloc(strlen(w->tmpl) + 1), *o = out;
	for (const char *p = w->tmpl; *p; p++) {
		*o++ = *p;
		if (p[0] == '$' && p[1] == '$')
			p++;
	}
	*o = '\0';
	return out;
}
