/* SPDX-License-Identifier: MIT */
/* parse_words.c — what the parser checks in the words of any line (see
 * scenario.h): errors with their file, line and column; names of processes
 * and groups spawned earlier, and of variables defined earlier; durations,
 * operators and word counts. Shared by scenario.c, step_parse.c and
 * cond_parse.c, which call into it and never into each other's checks.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "parse.h"
#include "scenario/scenario.h"

int parse_error(struct parse_ctx *ctx, unsigned line, unsigned col, const char *fmt, ...)
{
	if (!ctx || ctx->error)
		return -1;
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ctx->error = xasprintf("%s:%u:%u: %s", ctx->path, line, col, msg);
	return -1;
}

int parse_dur_word(struct parse_ctx *ctx, const struct line *ln, size_t i, int64_t *ret)
{
	const struct word *w = &ln->words[i];
	if (tether_parse_duration(w->tmpl, ret) < 0)
		return parse_error(ctx, w->line, w->col, "expected a duration (e.g. 250ms, 2s), got '%s'", w->tmpl);
	return 0;
}

int parse_op_word(struct parse_ctx *ctx, const struct line *ln, size_t i, enum cmp_op *ret)
{
	const struct word *w = &ln->words[i];
	for (int op = OP_EQ; op <= OP_GE; op++) {
		if (strcmp(w->tmpl, cmp_op_name((enum cmp_op)op)) == 0) {
			*ret = (enum cmp_op)op;
			return 0;
		}
	}
	return parse_error(ctx, w->line, w->col, "expected an operator (== != < <= > >=), got '%s'", w->tmpl);
}

static bool in_list(char **list, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && strncmp(list[i], s, len) == 0)
			return true;
	return false;
}

int parse_check_name(struct parse_ctx *ctx, const char *name, unsigned line, unsigned col)
{
	if (in_list(ctx->names, ctx->nnames, name, strlen(name)))
		return 0;
	/* a member of a group: GROUP.K */
	const char *dot = strrchr(name, '.');
	if (dot && in_list(ctx->groups, ctx->ngroups, name, (size_t)(dot - name)) && dot[1] &&
	    strspn(dot + 1, "0123456789") == strlen(dot + 1))
		return 0;
	return parse_error(ctx, line, col, "'%s' is no process spawned on an earlier line (nor a known condition)",
			   name);
}

static const char *const builtin_vars[] = {
	"DIR", "RUN", "SEED", "TETHER", "WORKER", "SDNOTIFY", "FIXTURES", "SCENARIO", "SRCDIR", NULL,
};
static const char *const proc_attrs[] = {"pid", "pgid", "exit", "out", "err", "notify", "status", NULL};

/* Is name[0..len) a variable defined by now? */
static bool var_defined(struct parse_ctx *ctx, const char *name, size_t len, unsigned line, unsigned col)
{
	if (in_list(ctx->vars, ctx->nvars, name, len) ||
	    in_list((char **)builtin_vars, sizeof builtin_vars / sizeof builtin_vars[0] - 1, name, len))
		return true;
	if (len > 4 && strncmp(name, "env.", 4) == 0)
		return true;
	const char *dot = memrchr(name, '.', len);
	if (!dot)
		return false;
	size_t alen = len - (size_t)(dot - name) - 1;
	bool attr_ok = false;
	for (const char *const *a = proc_attrs; *a; a++)
		if (strlen(*a) == alen && strncmp(*a, dot + 1, alen) == 0)
			attr_ok = true;
	if (!attr_ok)
		return false;
	/* NAME.attr: NAME must be spawned earlier (parse_check_name would report) */
	char *proc = xstrndup(name, (size_t)(dot - name));
	char *saved = ctx->error;
	bool ok = parse_check_name(ctx, proc, line, col) == 0;
	if (!saved && ctx->error) {
		free(ctx->error);
		ctx->error = NULL;
	}
	free(proc);
	return ok;
}

int parse_check_vars(struct parse_ctx *ctx, const struct word *w)
{
	const char *t = w->tmpl;
	for (size_t i = 0; t[i]; i++) {
		if (t[i] != '$')
			continue;
		if (t[i + 1] == '$') {
			i++;
			continue;
		}
		const char *name;
		size_t len;
		if (t[i + 1] == '{') {
			name = t + i + 2;
			const char *close = strchr(name, '}');
			if (!close)
				return parse_error(ctx, w->line, w->col, "unterminated ${ in '%s'", t);
			len = (size_t)(close - name);
			i = (size_t)(close - t);
		} else if (isalpha((unsigned char)t[i + 1]) || t[i + 1] == '_') {
			name = t + i + 1;
			len = 0;
			while (isalnum((unsigned char)name[len]) || name[len] == '_')
				len++;
			i += len;
		} else {
			continue; /* a lone dollar is literal */
		}
		if (!var_defined(ctx, name, len, w->line, w->col))
			return parse_error(ctx, w->line, w->col,
					   "unknown variable '%.*s' (a built-in, env.X, one set on an earlier line, or "
					   "PROC.pid|pgid|exit|out|err|status of a process spawned earlier)", (int)len, name);
	}
	return 0;
}

bool parse_valid_name(const char *s)
{
	static const char *const reserved[] = {"file", "status", "processes", "fds", "gaps", "elapsed", "fault",
					       "no-orphans", "pid", "group", "env", "of", NULL};
	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return false;
	for (const char *const *r = reserved; *r; r++)
		if (strcmp(s, *r) == 0)
			return false;
	return true;
}

void parse_add_name(char ***list, size_t *n, const char *s)
{
	if (!in_list(*list, *n, s, strlen(s))) {
		char *copy = xstrdup(s);
		xappend(list, n, &copy, sizeof copy);
	}
}

struct word *parse_dup_words(const struct line *ln, size_t from, size_t *ret_n)
{
	size_t n = ln->n - from;
	struct word *w = xcalloc(n, sizeof *w);
	for (size_t i = 0; i < n; i++)
		w[i] = word_dup(&ln->words[from + i]);
	*ret_n = n;
	return w;
}

int parse_need(struct parse_ctx *ctx, const struct line *ln, size_t min, size_t max, const char *usage)
{
	if (ln->n >= min && ln->n <= max)
		return 0;
	const struct word *w = ln->n > max ? &ln->words[max] : &ln->words[ln->n - 1];
	unsigned col = ln->n > max ? w->col : w->col + (unsigned)strlen(w->tmpl);
	return parse_error(ctx, w->line, col, "%s: usage: %s", ln->n > max ? "too many words" : "missing words",
			   usage);
}

const char *cmp_op_name(enum cmp_op op)
{
	static const char *const names[] = {"==", "!=", "<", "<=", ">", ">="};
	return names[op];
}
