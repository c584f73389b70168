/* SPDX-License-Identifier: MIT */
/* cond_text.c — the tests a condition makes of a text (a file's, or a
 * process's output), and the comparisons of numbers and JSON values that
 * both cond.c and cond_proc.c use (see run.h).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "run/run.h"
#include "pidfile.h"

#define FILE_MAX (16u << 20)

/* "text" quoted for a message: at most max bytes, newlines as \n. */
static char *quoted(const char *s, size_t max)
{
	struct tether_buf b;
	tether_buf_init(&b);
	tether_buf_puts(&b, "\"");
	size_t n = 0;
	for (; s[n] && n < max; n++) {
		if (s[n] == '\n')
			tether_buf_puts(&b, "\\n");
		else if ((unsigned char)s[n] < 0x20)
			tether_buf_printf(&b, "\\x%02x", (unsigned char)s[n]);
		else
			tether_buf_append(&b, s + n, 1);
	}
	tether_buf_puts(&b, s[n] ? "...\"" : "\"");
	if (b.oom)
		lab_die("out of memory");
	return b.data;
}

static size_t count_lines(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n + (len > 0 && s[len - 1] != '\n');
}

bool cond_compare_num(int64_t got, enum cmp_op op, int64_t want)
{
	switch (op) {
	case OP_EQ: return got == want;
	case OP_NE: return got != want;
	case OP_LT: return got < want;
	case OP_LE: return got <= want;
	case OP_GT: return got > want;
	case OP_GE: return got >= want;
	}
	return false;
}

static bool compare_double(double got, enum cmp_op op, double want)
{
	switch (op) {
	case OP_EQ: return got == want;
	case OP_NE: return got != want;
	case OP_LT: return got < want;
	case OP_LE: return got <= want;
	case OP_GT: return got > want;
	case OP_GE: return got >= want;
	}
	return false;
}

bool cond_compare_json(const struct tether_json *j, enum cmp_op op, const char *value, char **ret_got)
{
	if (!j) {
		*ret_got = xstrdup("(missing)");
		return false;
	}
	struct tether_buf b;
	tether_buf_init(&b);
	tether_json_render(j, &b);
	*ret_got = b.data ? b.data : xstrdup("?");
	char *end;
	double want = strtod(value, &end);
	if (j->type == TETHER_JSON_NUMBER && *value && !*end)
		return compare_double(j->number, op, want);
	if (j->type == TETHER_JSON_STRING) {
		int c = strcmp(j->string, value);
		return cond_compare_num(c, op, 0);
	}
	/* true, false, null, arrays, objects: as their compact JSON text */
	int c = strcmp(*ret_got, value);
	return (op == OP_EQ && c == 0) || (op == OP_NE && c != 0);
}

static int parse_count(struct lab *lab, const struct word *w, unsigned line, long long *ret)
{
	char *v = lab_expand(lab, w, line);
	if (!v)
		return -1;
	char *end;
	*ret = strtoll(v, &end, 10);
	if (!*v || *end) {
		lab_fail(lab, line, "'%s' is not a number", v);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

/* The content tests shared by files and process outputs. */
int cond_text_test(struct lab *lab, const struct cond *c, unsigned line, const char *what, const char *path,
		     char **ret_observed)
{
	int err = 0;
	size_t len = 0;
	char *text = lab_read_file(path, FILE_MAX, &len, &err);
	int r = COND_FALSE;
	char *got = NULL, *want = NULL;
	if (c->test == T_ABSENT) {
		r = !text && err == ENOENT ? COND_TRUE : COND_NOT_YET;
		if (text) {
			got = quoted(text, 200);
			*ret_observed = xasprintf("expected %s to be absent, got a file of %zu bytes: %s", what, len, got);
		} else {
			*ret_observed = xasprintf("expected %s to be absent, got: %s", what, strerror(err));
		}
		goto out;
	}
	if (c->test == T_PIDFILE) {
		struct tether_pidrecord rec;
		int pr = tether_pidfile_read(path, &rec);
		if (pr == 0)
			tether_pidrecord_done(&rec);
		r = pr == 0 ? COND_TRUE : COND_NOT_YET;
		*ret_observed = xasprintf("expected %s to be a complete pidfile record, got: %s", what,
					  pr == 0 ? "one" : strerror(-pr));
		goto out;
	}
	if (!text) {
		*ret_observed = xasprintf("expected %s to exist, got: %s", what, strerror(err));
		r = COND_NOT_YET;
		goto out;
	}
	if (c->test != T_PRESENT && c->test != T_EMPTY && c->test != T_NONEMPTY && c->test != T_JSONL &&
	    c->text.tmpl && !(want = lab_expand(lab, &c->text, line))) {
		r = -1;
		goto out;
	}
	switch (c->test) {
	case T_PRESENT:
		r = COND_TRUE;
		*ret_observed = xasprintf("expected %s to exist, got it", what);
		break;
	case T_EMPTY:
	case T_NONEMPTY:
		r = (len == 0) == (c->test == T_EMPTY) ? COND_TRUE : COND_NOT_YET;
		got = quoted(text, 200);
		*ret_observed = xasprintf("expected %s to be %s, got %s", what, c->test == T_EMPTY ? "empty" : "nonempty", got);
		break;
	case T_CONTAINS:
	case T_LACKS:
		r = (strstr(text, want) != NULL) == (c->test == T_CONTAINS) ? COND_TRUE : COND_NOT_YET;
		got = quoted(text, 300);
		*ret_observed = xasprintf("expected %s to %s \"%s\", got %s", what,
					  c->test == T_CONTAINS ? "contain" : "lack", want, got);
		break;
	case T_EQUALS: {
		size_t wl = strlen(want);
		r = strcmp(text, want) == 0 || (len == wl + 1 && strncmp(text, want, wl) == 0 && text[wl] == '\n')
			    ? COND_TRUE : COND_NOT_YET;
		got = quoted(text, 300);
		*ret_observed = xasprintf("expected %s to equal \"%s\", got %s", what, want, got);
		break;
	}
	case T_MATCHES: {
		regex_t re;
		if (regcomp(&re, want, REG_EXTENDED | REG_NOSUB | REG_NEWLINE) != 0) {
			r = lab_fail(lab, line, "invalid regular expression '%s'", want);
			break;
		}
		r = regexec(&re, text, 0, NULL, 0) == 0 ? COND_TRUE : COND_NOT_YET;
		regfree(&re);
		got = quoted(text, 300);
		*ret_observed = xasprintf("expected %s to match /%s/, got %s", what, want, got);
		break;
	}
	case T_LINES: {
		long long n;
		if (parse_count(lab, &c->value, line, &n) < 0) {
			r = -1;
			break;
		}
		size_t have = 0;
		if (want) {
			/* lines matching REGEX: count only those */
			regex_t re;
			if (regcomp(&re, want, REG_EXTENDED | REG_NOSUB) != 0) {
				r = lab_fail(lab, line, "invalid regular expression '%s'", want);
				break;
			}
			char **lines;
			size_t nl = lab_split_lines(text, &lines);
			for (size_t i = 0; i < nl; i++)
				have += regexec(&re, lines[i], 0, NULL, 0) == 0;
			free(lines);
			regfree(&re);
		} else {
			have = count_lines(text, len);
		}
		r = cond_compare_num((int64_t)have, c->op, n) ? COND_TRUE : COND_NOT_YET;
		*ret_observed = xasprintf("expected %s to have lines%s%s%s %s %lld, got %zu", what, want ? " matching /" : "",
					  want ? want : "", want ? "/" : "", cmp_op_name(c->op), n, have);
		break;
	}
	case T_JSON: {
		struct tether_json *j = NULL;
		char *value = lab_expand(lab, &c->value, line);
		if (!value) {
			r = -1;
			break;
		}
		if (tether_json_parse(text, len, 64, &j) < 0) {
			got = quoted(text, 200);
			*ret_observed = xasprintf("expected %s to be JSON with %s %s %s, got %s", what, want,
						  cmp_op_name(c->op), value, got);
			r = COND_NOT_YET;
		} else {
			r = cond_compare_json(tether_json_path(j, want), c->op, value, &got) ? COND_TRUE : COND_NOT_YET;
			*ret_observed = xasprintf("expected %s json %s %s %s, got %s", what, want, cmp_op_name(c->op),
						  value, got);
		}
		tether_json_free(j);
		free(value);
		break;
	}
	case T_JSONL: {
		char **lines;
		size_t n = lab_split_lines(text, &lines);
		r = COND_TRUE;
		*ret_observed = xasprintf("expected every line of %s to be JSON, got %zu JSON lines", what, n);
		for (size_t i = 0; i < n; i++) {
			struct tether_json *j = NULL;
			if (tether_json_parse(lines[i], strlen(lines[i]), 64, &j) < 0) {
				free(*ret_observed);
				got = quoted(lines[i], 200);
				*ret_observed = xasprintf("expected every line of %s to be JSON, got line %zu: %s", what,
							  i + 1, got);
				r = COND_NOT_YET;
				break;
			}
			tether_json_free(j);
		}
		free(lines);
		break;
	}
	default:
		r = lab_fail(lab, line, "internal: unknown text test");
	}
out:
	free(text);
	free(got);
	free(want);
	return r;
}
