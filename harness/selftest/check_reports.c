/* SPDX-License-Identifier: MIT */
/* check_reports — validates what `harness run --report DIR` wrote.
 *
 *   check_reports DIR [NAME STATUS TAP-MESSAGE]...
 *
 * results.json must parse with tether_json_parse (the project's strict
 * reader) and follow the schema documented in scenarios/README.md, with
 * counts that add up; junit.xml must be well-formed XML (checked here by a
 * small independent reader: balanced tags, quoted attributes, known
 * entities, valid UTF-8, no control characters) and agree with the counts.
 * Each NAME STATUS TAP-MESSAGE triple asserts one scenario's status and its
 * "LOCATION: MESSAGE" text. Prints one line per problem; exits 0 iff none.
 * It shares no code with harness/run/results.c on purpose.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int problems;

__attribute__((format(printf, 1, 2))) static void problem(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("check_reports: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	problems++;
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	*ret_len = len;
	return buf;
}

static const struct tether_json *member(const struct tether_json *o, const char *key, enum tether_json_type t,
					 bool nullable, const char *where)
{
	const struct tether_json *v = tether_json_get(o, key);
	if (!v)
		problem("%s: no \"%s\"", where, key);
	else if (v->type != t && !(nullable && v->type == TETHER_JSON_NULL))
		problem("%s: \"%s\" has the wrong type", where, key);
	else
		return v;
	return NULL;
}

static void check_results(const char *dir, int nexp, char **exp, long counts[3])
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof path, "%s/results.json", dir);
	char *text = slurp(path, &len);
	struct tether_json *j = NULL;
	if (!text) {
		problem("cannot read %s", path);
		return;
	}
	int r = tether_json_parse(text, len, 16, &j);
	if (r < 0) {
		problem("%s is not JSON (tether_json_parse: %d)", path, r);
		free(text);
		return;
	}
	const struct tether_json *fmt = member(j, "format", TETHER_JSON_STRING, false, "results");
	if (fmt && strcmp(fmt->string, "tether-lab-results/1") != 0)
		problem("results: unknown format %s", fmt->string);
	member(j, "started_at", TETHER_JSON_STRING, false, "results");
	member(j, "seed", TETHER_JSON_NUMBER, false, "results");
	member(j, "valgrind", TETHER_JSON_BOOL, false, "results");
	const char *keys[3] = {"passed", "failed", "skipped"};
	for (int k = 0; k < 3; k++) {
		const struct tether_json *c = member(j, keys[k], TETHER_JSON_NUMBER, false, "results");
		counts[k] = c ? (long)c->number : -1;
	}
	const struct tether_json *sc = member(j, "scenarios", TETHER_JSON_ARRAY, false, "results");
	long tally[3] = {0, 0, 0};
	for (size_t i = 0; sc && i < sc->count; i++) {
		const struct tether_json *e = sc->items[i];
		char where[64];
		snprintf(where, sizeof where, "scenarios[%zu]", i);
		const struct tether_json *name = member(e, "name", TETHER_JSON_STRING, false, where);
		member(e, "file", TETHER_JSON_STRING, false, where);
		const struct tether_json *st = member(e, "status", TETHER_JSON_STRING, false, where);
		const struct tether_json *d = member(e, "duration_s", TETHER_JSON_NUMBER, false, where);
		const struct tether_json *loc = member(e, "location", TETHER_JSON_STRING, true, where);
		const struct tether_json *msg = member(e, "message", TETHER_JSON_STRING, true, where);
		const struct tether_json *det = member(e, "details", TETHER_JSON_ARRAY, false, where);
		member(e, "run_id", TETHER_JSON_STRING, true, where);
		member(e, "dir", TETHER_JSON_STRING, true, where);
		if (d && d->number < 0)
			problem("%s: negative duration", where);
		for (size_t k = 0; det && k < det->count; k++)
			if (det->items[k]->type != TETHER_JSON_STRING)
				problem("%s: details[%zu] is not a string", where, k);
		if (!st || !name)
			continue;
		int s = strcmp(st->string, "pass") == 0 ? 0 : strcmp(st->string, "fail") == 0 ? 1
			: strcmp(st->string, "skip") == 0 ? 2 : -1;
		if (s < 0)
			problem("%s: unknown status %s", where, st->string);
		else
			tally[s]++;
		for (int x = 0; x + 2 < nexp; x += 3) {
			if (strcmp(exp[x], name->string) != 0)
				continue;
			if (strcmp(exp[x + 1], st->string) != 0)
				problem("%s: status %s, expected %s", name->string, st->string, exp[x + 1]);
			char got[2048];
			snprintf(got, sizeof got, "%s%s%s", loc && loc->type == TETHER_JSON_STRING ? loc->string : "",
				 loc && loc->type == TETHER_JSON_STRING ? ": " : "",
				 msg && msg->type == TETHER_JSON_STRING ? msg->string : "");
			if (strcmp(got, exp[x + 2]) != 0)
				problem("%s: message \"%s\", expected \"%s\"", name->string, got, exp[x + 2]);
		}
	}
	for (int k = 0; k < 3; k++)
		if (counts[k] != tally[k])
			problem("results: %s is %ld but %ld scenarios say so", keys[k], counts[k], tally[k]);
	tether_json_free(j);
	free(text);
}

/* ---- a small, strict XML well-formedness reader ------------------------------ */

struct xml {
	const char *p;
	int depth;
	char stack[32][64];
	long tests, failures, skipped; /* of <testsuites> */
};

static bool utf8_ok(const unsigned char *s, size_t *ret_len)
{
	unsigned c = s[0];
	size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2 : (c & 0xf0) == 0xe0 ? 3
		   : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4 : 0;
	for (size_t k = 1; k < n; k++)
		if ((s[k] & 0xc0) != 0x80)
			return false;
	*ret_len = n;
	return n > 0 && !(c < 0x20 && c != '\t' && c != '\n' && c != '\r');
}

/* Character data up to '<' (or, in an attribute, up to the quote). */
static bool xml_chars(struct xml *x, char stop)
{
	while (*x->p && *x->p != stop && *x->p != '<') {
		size_t n;
		if (*x->p == '&') {
			static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
			bool ok = false;
			for (int k = 0; k < 5 && !ok; k++)
				if (strncmp(x->p, ents[k], strlen(ents[k])) == 0) {
					x->p += strlen(ents[k]);
					ok = true;
				}
			if (!ok)
				return false;
			continue;
		}
		if (stop == '"' && *x->p == '>')
			return false;
		if (!utf8_ok((const unsigned char *)x->p, &n))
			return false;
		x->p += n;
	}
	return true;
}

static bool xml_element(struct xml *x)
{
	/* at '<' of a start tag */
	const char *name = ++x->p;
	while (*x->p && strchr(" \t\n/>", *x->p) == NULL)
		x->p++;
	size_t nlen = (size_t)(x->p - name);
	if (nlen == 0 || nlen >= 64 || x->depth >= 32)
		return false;
	memcpy(x->stack[x->depth], name, nlen);
	x->stack[x->depth][nlen] = '\0';
	bool top = x->depth == 0;
	for (;;) {
		while (*x->p == ' ' || *x->p == '\n' || *x->p == '\t')
			x->p++;
		if (*x->p == '/' && x->p[1] == '>') {
			x->p += 2;
			return true;
		}
		if (*x->p == '>')
			break;
		const char *an = x->p;
		while (*x->p && *x->p != '=' && *x->p != ' ' && *x->p != '>')
			x->p++;
		if (*x->p != '=' || x->p[1] != '"' || x->p == an)
			return false;
		size_t alen = (size_t)(x->p - an);
		x->p += 2;
		const char *v = x->p;
		if (!xml_chars(x, '"') || *x->p != '"')
			return false;
		if (top && alen == 5 && strncmp(an, "tests", 5) == 0)
			x->tests = strtol(v, NULL, 10);
		if (top && alen == 8 && strncmp(an, "failures", 8) == 0)
			x->failures = strtol(v, NULL, 10);
		if (top && alen == 7 && strncmp(an, "skipped", 7) == 0)
			x->skipped = strtol(v, NULL, 10);
		x->p++;
	}
	x->p++;
	x->depth++;
	for (;;) {
		if (!xml_chars(x, '\0'))
			return false;
		if (*x->p != '<')
			return false;
		if (x->p[1] == '/') {
			x->depth--;
			size_t l = strlen(x->stack[x->depth]);
			if (strncmp(x->p + 2, x->stack[x->depth], l) != 0 || x->p[2 + l] != '>')
				return false;
			x->p += 3 + l;
			return true;
		}
		if (!xml_element(x))
			return false;
	}
}

static void check_junit(const char *dir, const long counts[3])
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof path, "%s/junit.xml", dir);
	char *text = slurp(path, &len);
	if (!text) {
		problem("cannot read %s", path);
		return;
	}
	struct xml x = {.p = text, .tests = -1};
	const char *decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
	if (strlen(text) != len || strncmp(text, decl, strlen(decl)) != 0) {
		problem("%s: no XML declaration (or a NUL byte)", path);
	} else {
		x.p += strlen(decl);
		if (*x.p != '<' || !xml_element(&x))
			problem("%s: not well-formed near byte %ld", path, (long)(x.p - text));
		else if (*x.p != '\n' || x.p[1] != '\0')
			problem("%s: content after the root element", path);
		else if (x.tests != counts[0] + counts[1] + counts[2] || x.failures != counts[1] || x.skipped != counts[2])
			problem("%s: counts (tests %ld, failures %ld, skipped %ld) disagree with results.json", path,
				x.tests, x.failures, x.skipped);
	}
	free(text);
}

int main(int argc, char **argv)
{
	if (argc < 2 || (argc - 2) % 3 != 0) {
		fprintf(stderr, "usage: check_reports DIR [NAME STATUS TAP-MESSAGE]...\n");
		return 2;
	}
	long counts[3] = {-1, -1, -1};
	check_results(argv[1], argc - 2, argv + 2, counts);
	check_junit(argv[1], counts);
	return problems ? 1 : 0;
}
