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
#include <sys/stat.h>

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

static int content_test(struct lab *lab, const struct cond *c, unsigned line, const char *what, char *text,
			size_t len, char **ret_observed);

struct seq_key {
	char *key;
	unsigned long long next; /* the number its next line must carry */
};

/* sequence REGEX N: over the lines matching REGEX, each key (group 1) has
 * the numbers (group 2) 0, 1, 2, ... N-1, each once, in that order, and
 * there is at least one key. A line out of turn (a gap, a repeat, a step
 * back) can never be mended by waiting; a key short of N, or no key yet,
 * may still be written. */
static int sequence_test(struct lab *lab, const struct cond *c, unsigned line, const char *what, char *text,
			 const char *re_text, char **ret_observed)
{
	long long n;
	if (parse_count(lab, &c->value, line, &n) < 0)
		return -1;
	regex_t re;
	if (regcomp(&re, re_text, REG_EXTENDED) != 0 || re.re_nsub < 2)
		return lab_fail(lab, line, "a sequence needs a valid regular expression with two groups: '%s'", re_text);
	char **lines;
	size_t nl = lab_split_lines(text, &lines);
	struct seq_key *keys = NULL;
	size_t nkeys = 0, last = 0, matched = 0;
	int r = COND_TRUE;
	for (size_t i = 0; i < nl && r == COND_TRUE; i++) {
		regmatch_t m[3];
		if (regexec(&re, lines[i], 3, m, 0) != 0 || m[1].rm_so < 0 || m[2].rm_so < 0)
			continue;
		matched++;
		const char *k = lines[i] + m[1].rm_so;
		size_t klen = (size_t)(m[1].rm_eo - m[1].rm_so);
		/* the same key as the line before, most of the time */
		if (!(last < nkeys && strlen(keys[last].key) == klen && strncmp(keys[last].key, k, klen) == 0)) {
			for (last = 0; last < nkeys; last++)
				if (strlen(keys[last].key) == klen && strncmp(keys[last].key, k, klen) == 0)
					break;
			if (last == nkeys) {
				struct seq_key sk = {.key = xstrndup(k, klen)};
				xappend(&keys, &nkeys, &sk, sizeof sk);
			}
		}
		char numbuf[32];
		size_t nlen = (size_t)(m[2].rm_eo - m[2].rm_so);
		snprintf(numbuf, sizeof numbuf, "%.*s", (int)(nlen < 31 ? nlen : 31), lines[i] + m[2].rm_so);
		char *end;
		unsigned long long v = strtoull(numbuf, &end, 10);
		if (!*numbuf || *end) {
			*ret_observed = xasprintf("expected the sequences of /%s/ in %s to run 0..%lld, got line %zu: "
						  "'%s' is not a number", re_text, what, n - 1, i + 1, numbuf);
			r = COND_FALSE;
		} else if (v != keys[last].next || (long long)v >= n) {
			char *ex = lab_excerpt(lines[i], 120);
			*ret_observed = xasprintf("expected the sequences of /%s/ in %s to run 0..%lld, got key '%s' at %llu "
						  "where %llu was due (line %zu: %s)", re_text, what, n - 1,
						  keys[last].key, v, keys[last].next, i + 1, ex);
			free(ex);
			r = COND_FALSE;
		} else {
			keys[last].next++;
		}
	}
	if (r == COND_TRUE && nkeys == 0) {
		/* no sequence at all is not a complete one */
		*ret_observed = xasprintf("expected the sequences of /%s/ in %s to run 0..%lld, got no line matching",
					  re_text, what, n - 1);
		r = COND_NOT_YET;
	}
	if (r == COND_TRUE) {
		for (size_t k = 0; k < nkeys; k++)
			if ((long long)keys[k].next < n) {
				*ret_observed = xasprintf("expected the sequences of /%s/ in %s to run 0..%lld, got key '%s' "
							  "at %llu so far", re_text, what, n - 1, keys[k].key,
							  keys[k].next);
				r = COND_NOT_YET;
				break;
			}
	}
	if (r == COND_TRUE)
		*ret_observed = xasprintf("expected the sequences of /%s/ in %s to run 0..%lld, got %zu keys, %zu lines",
					  re_text, what, n - 1, nkeys, matched);
	for (size_t k = 0; k < nkeys; k++)
		free(keys[k].key);
	free(keys);
	free(lines);
	regfree(&re);
	return r;
}

/* The content tests shared by files and process outputs. */
int cond_text_test(struct lab *lab, const struct cond *c, unsigned line, const char *what, const char *path,
		     char **ret_observed)
{
	int err = 0;
	size_t len = 0;
	char *text = lab_read_file(path, FILE_MAX, &len, &err);
	int r = COND_FALSE;
	char *got = NULL;
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
	r = content_test(lab, c, line, what, text, len, ret_observed);
out:
	free(text);
	free(got);
	return r;
}

/* The tests of a text that exists (all but absent and pidfile). */
static int content_test(struct lab *lab, const struct cond *c, unsigned line, const char *what, char *text,
			size_t len, char **ret_observed)
{
	int r = COND_FALSE;
	char *got = NULL, *want = NULL;
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
	case T_BYTES: {
		long long n;
		if (parse_count(lab, &c->value, line, &n) < 0) {
			r = -1;
			break;
		}
		r = cond_compare_num((int64_t)len, c->op, n) ? COND_TRUE : COND_NOT_YET;
		*ret_observed = xasprintf("expected %s to have bytes %s %lld, got %zu", what, cmp_op_name(c->op), n, len);
		break;
	}
	case T_SEQUENCE:
		r = sequence_test(lab, c, line, what, text, want, ret_observed);
		break;
	default:
		r = lab_fail(lab, line, "internal: unknown text test");
	}
out:
	free(got);
	free(want);
	return r;
}

/* ---- rotation chains ------------------------------------------------------------------- */

/* PATH.k .. PATH.1, PATH: the rotated files that exist in an unbroken run
 * from PATH.1, oldest first, then PATH (when it exists). malloc'd names. */
static size_t chain_files(const char *path, char ***ret)
{
	unsigned k = 0;
	struct stat st;
	for (;;) {
		char *name = xasprintf("%s.%u", path, k + 1);
		bool there = stat(name, &st) == 0;
		free(name);
		if (!there || k >= 1000000)
			break;
		k++;
	}
	char **names = NULL;
	size_t n = 0;
	for (unsigned i = k; i > 0; i--) {
		char *name = xasprintf("%s.%u", path, i);
		xappend(&names, &n, &name, sizeof name);
	}
	if (stat(path, &st) == 0) {
		char *name = xstrdup(path);
		xappend(&names, &n, &name, sizeof name);
	}
	*ret = names;
	return n;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* file PATH chain TEST: the chain as one text. file PATH each TEST: every
 * file of it on its own (the first that fails is named). */
int cond_chain_test(struct lab *lab, const struct cond *c, unsigned line, const char *path, char **ret_observed)
{
	char **names;
	size_t n = chain_files(path, &names);
	int r = COND_TRUE;
	if (n == 0) {
		*ret_observed = xasprintf("expected file %s or %s.1 to exist, got neither", path, path);
		free_names(names, n);
		return COND_NOT_YET;
	}
	if (c->scope == SCOPE_EACH) {
		for (size_t i = 0; i < n && r == COND_TRUE; i++) {
			int err = 0;
			size_t len = 0;
			char *text = lab_read_file(names[i], FILE_MAX, &len, &err);
			char *what = xasprintf("file %s (of %zu in the chain)", names[i], n);
			free(*ret_observed);
			*ret_observed = NULL;
			if (!text) {
				*ret_observed = xasprintf("expected %s to be readable, got: %s", what, strerror(err));
				r = COND_NOT_YET;
			} else {
				r = content_test(lab, c, line, what, text, len, ret_observed);
			}
			free(what);
			free(text);
		}
		free_names(names, n);
		return r;
	}
	struct tether_buf all;
	tether_buf_init(&all);
	for (size_t i = 0; i < n; i++) {
		int err = 0;
		size_t len = 0;
		char *text = lab_read_file(names[i], FILE_MAX, &len, &err);
		if (!text) {
			*ret_observed = xasprintf("expected %s to be readable, got: %s", names[i], strerror(err));
			tether_buf_done(&all);
			free_names(names, n);
			return COND_NOT_YET;
		}
		tether_buf_append(&all, text, len);
		free(text);
	}
	if (all.oom)
		lab_die("out of memory");
	char *what = xasprintf("the chain of %s (%zu files)", path, n);
	r = content_test(lab, c, line, what, all.data ? all.data : (char[]){0}, all.len, ret_observed);
	free(what);
	tether_buf_done(&all);
	free_names(names, n);
	return r;
}
