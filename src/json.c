/* SPDX-License-Identifier: MIT */
/* json.c — see json.h. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ---- reader ---------------------------------------------------------------- */

struct reader {
	const char *p, *end;
	unsigned depth, max_depth;
	int err;
};

static void skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int fail(struct reader *r, int err)
{
	if (!r->err)
		r->err = err;
	return r->err;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	unsigned cp = c & (0x3f >> (n - 1));
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void put_utf8(char *out, size_t *o, unsigned cp)
{
	if (cp < 0x80) {
		out[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (char)(0xc0 | (cp >> 6));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xe0 | (cp >> 12));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | (cp >> 18));
		out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static int hex4(struct reader *r, unsigned *ret)
{
	unsigned v = 0;
	if (r->end - r->p < 4)
		return fail(r, -EINVAL);
	for (int i = 0; i < 4; i++) {
		char c = *r->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(r, -EINVAL);
	}
	*ret = v;
	return 0;
}

/* Reads a string starting at the opening quote into a fresh allocation. */
static char *read_string(struct reader *r)
{
	const char *start = ++r->p; /* after the quote */
	/* An escaped string never grows when decoded: \uXXXX (6 bytes) gives at
	 * most 3 UTF-8 bytes, a surrogate pair (12) gives 4. */
	const char *q = start;
	while (q < r->end && *q != '"') {
		if (*q == '\\' && q + 1 < r->end)
			q++;
		q++;
	}
	if (q >= r->end) {
		fail(r, -EINVAL);
		return NULL;
	}
	char *out = malloc((size_t)(q - start) + 1);
	if (!out) {
		fail(r, -ENOMEM);
		return NULL;
	}
	size_t o = 0;
	while (r->p < r->end && *r->p != '"') {
		unsigned char c = (unsigned char)*r->p;
		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			size_t n = utf8_len((const unsigned char *)r->p, (const unsigned char *)r->end);
			if (n == 0)
				goto bad;
			memcpy(out + o, r->p, n);
			o += n;
			r->p += n;
			continue;
		}
		/* No check for the end here nor after the loop: the scan above
		 * found an unescaped closing quote, and decoding stops at it (an
		 * escape takes the character after the backslash as the scan
		 * did, \u takes four hex digits, a UTF-8 character continuation
		 * bytes: neither is a quote). */
		r->p++;
		char e = *r->p++;
		switch (e) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '/': out[o++] = '/'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (hex4(r, &cp) < 0)
				goto bad;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				goto bad;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
					goto bad;
				r->p += 2;
				if (hex4(r, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0)
				goto bad; /* keeps every string a safe C string */
			put_utf8(out, &o, cp);
			break;
		}
		default:
			goto bad;
		}
	}
	r->p++; /* closing quote */
	out[o] = '\0';
	return out;
bad:
	free(out);
	fail(r, -EINVAL);
	return NULL;
}

static int read_number(struct reader *r, struct tether_json *j)
{
	const char *s = r->p;
	bool integral = true;
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p >= r->end)
		return fail(r, -EINVAL);
	if (*r->p == '0') {
		r->p++;
	} else if (*r->p >= '1' && *r->p <= '9') {
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	} else {
		return fail(r, -EINVAL);
	}
	if (r->p < r->end && *r->p == '.') {
		integral = false;
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return fail(r, -EINVAL);
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		integral = false;
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return fail(r, -EINVAL);
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	size_t n = (size_t)(r->p - s);
	char tmp[64];
	if (n >= sizeof tmp) {
		/* Only absurdly long literals get here; they are valid JSON but
		 * no field of ours takes one. */
		return fail(r, -EINVAL);
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	j->type = TETHER_JSON_NUMBER;
	j->number = strtod(tmp, NULL);
	if (isinf(j->number)) {
		/* 1e400 is valid JSON but no double: refuse it rather than keep
		 * an inf that renders as "inf", which is not JSON (fuzz_json). */
		return fail(r, -EINVAL);
	}
	if (integral) {
		/* exact int64 parse with overflow detection */
		const char *d = tmp;
		bool neg = *d == '-';
		if (neg)
			d++;
		uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		bool ok = true;
		for (; *d; d++) {
			unsigned dig = (unsigned)(*d - '0');
			if (v > (lim - dig) / 10) {
				ok = false;
				break;
			}
			v = v * 10 + dig;
		}
		if (ok) {
			j->is_int = true;
			j->integer = neg ? (int64_t)(0 - v) : (int64_t)v;
		}
	}
	return 0;
}

static struct tether_json *read_value(struct reader *r);

static int push(struct tether_json *j, struct tether_json *item, char *key, size_t *cap)
{
	if (j->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct tether_json **ni = realloc(j->items, ncap * sizeof *ni);
		if (!ni)
			return -ENOMEM;
		j->items = ni;
		if (j->type == TETHER_JSON_OBJECT) {
			char **nk = realloc(j->keys, ncap * sizeof *nk);
			if (!nk)
				return -ENOMEM;
			j->keys = nk;
		}
		*cap = ncap;
	}
	j->items[j->count] = item;
	if (j->type == TETHER_JSON_OBJECT)
		j->keys[j->count] = key;
	j->count++;
	return 0;
}

static struct tether_json *read_container(struct reader *r, struct tether_json *j)
{
	bool object = *r->p == '{';
	char close = object ? '}' : ']';
	size_t cap = 0;
	j->type = object ? TETHER_JSON_OBJECT : TETHER_JSON_ARRAY;
	if (++r->depth > r->max_depth) {
		fail(r, -ELOOP);
		return j;
	}
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		r->depth--;
		return j;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(r);
		if (object) {
			if (r->p >= r->end || *r->p != '"') {
				fail(r, -EINVAL);
				return j;
			}
			key = read_string(r);
			if (!key)
				return j;
			for (size_t i = 0; i < j->count; i++)
				if (strcmp(j->keys[i], key) == 0) {
					free(key);
					fail(r, -EINVAL);
					return j;
				}
			skip_ws(r);
			if (r->p >= r->end || *r->p != ':') {
				free(key);
				fail(r, -EINVAL);
				return j;
			}
			r->p++;
		}
		struct tether_json *item = read_value(r);
		if (!item) {
			free(key);
			return j;
		}
		if (push(j, item, key, &cap) < 0) {
			free(key);
			tether_json_free(item);
			fail(r, -ENOMEM);
			return j;
		}
		if (r->err)
			return j;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			r->depth--;
			return j;
		}
		fail(r, -EINVAL);
		return j;
	}
}

static bool literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return false;
	r->p += n;
	return true;
}

/* Returns a node even when an error occurred inside a container (so the
 * partial tree can be freed by the caller); NULL only when nothing was built. */
static struct tether_json *read_value(struct reader *r)
{
	skip_ws(r);
	if (r->p >= r->end) {
		fail(r, -EINVAL);
		return NULL;
	}
	struct tether_json *j = calloc(1, sizeof *j);
	if (!j) {
		fail(r, -ENOMEM);
		return NULL;
	}
	char c = *r->p;
	if (c == '{' || c == '[')
		return read_container(r, j);
	if (c == '"') {
		j->type = TETHER_JSON_STRING;
		j->string = read_string(r);
		if (!j->string) {
			free(j);
			return NULL;
		}
		return j;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		if (read_number(r, j) < 0) {
			free(j);
			return NULL;
		}
		return j;
	}
	if (literal(r, "true")) {
		j->type = TETHER_JSON_BOOL;
		j->boolean = true;
	} else if (literal(r, "false")) {
		j->type = TETHER_JSON_BOOL;
	} else if (literal(r, "null")) {
		j->type = TETHER_JSON_NULL;
	} else {
		free(j);
		fail(r, -EINVAL);
		return NULL;
	}
	return j;
}

int tether_json_parse(const char *buf, size_t len, unsigned max_depth, struct tether_json **ret)
{
	struct reader r = {.p = buf, .end = buf + len, .max_depth = max_depth};
	struct tether_json *j = read_value(&r);
	if (!r.err) {
		skip_ws(&r);
		if (r.p != r.end)
			fail(&r, -EINVAL);
	}
	if (r.err) {
		tether_json_free(j);
		return r.err;
	}
	*ret = j;
	return 0;
}

void tether_json_free(struct tether_json *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->count; i++) {
		tether_json_free(j->items[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->string);
	free(j);
}

const struct tether_json *tether_json_get(const struct tether_json *j, const char *key)
{
	if (!j || j->type != TETHER_JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < j->count; i++)
		if (strcmp(j->keys[i], key) == 0)
			return j->items[i];
	return NULL;
}

const struct tether_json *tether_json_path(const struct tether_json *j, const char *path)
{
	char part[256];
	while (j && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof part)
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		path += n;
		if (*path == '.')
			path++;
		if (j->type == TETHER_JSON_ARRAY) {
			char *endp;
			unsigned long idx = strtoul(part, &endp, 10);
			if (!*part || *endp || idx >= j->count)
				return NULL;
			j = j->items[idx];
		} else {
			j = tether_json_get(j, part);
		}
	}
	return j;
}

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double:
 * what a writer printed as 0.011 (a duration in milliseconds, SPEC §3) is
 * rendered 0.011 again, not 0.010999999999999999, and nothing is lost. */
static void render_number(double v, struct tether_buf *b)
{
	char text[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(text, sizeof text, "%.*g", prec, v);
		if (strtod(text, NULL) == v)
			break;
	}
	tether_buf_puts(b, text);
}

void tether_json_render(const struct tether_json *j, struct tether_buf *b)
{
	if (!j) {
		tether_buf_puts(b, "(missing)");
		return;
	}
	switch (j->type) {
	case TETHER_JSON_NULL: tether_buf_puts(b, "null"); break;
	case TETHER_JSON_BOOL: tether_buf_puts(b, j->boolean ? "true" : "false"); break;
	case TETHER_JSON_NUMBER:
		if (j->is_int)
			tether_buf_printf(b, "%lld", (long long)j->integer);
		else if (j->number == 0)
			tether_buf_puts(b, "0"); /* -0.0 as "-0" would read back as the integer 0 */
		else
			render_number(j->number, b);
		break;
	case TETHER_JSON_STRING: tether_buf_json_string(b, j->string); break;
	case TETHER_JSON_ARRAY:
	case TETHER_JSON_OBJECT:
		tether_buf_puts(b, j->type == TETHER_JSON_ARRAY ? "[" : "{");
		for (size_t i = 0; i < j->count; i++) {
			if (i)
				tether_buf_puts(b, ",");
			if (j->type == TETHER_JSON_OBJECT) {
				tether_buf_json_string(b, j->keys[i]);
				tether_buf_puts(b, ":");
			}
			tether_json_render(j->items[i], b);
		}
		tether_buf_puts(b, j->type == TETHER_JSON_ARRAY ? "]" : "}");
		break;
	}
}

/* ---- writer ---------------------------------------------------------------- */

void tether_buf_json_string(struct tether_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);
	tether_buf_append(b, "\"", 1);
	while (p < end) {
		unsigned c = *p;
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			tether_buf_append(b, esc, 2);
			p++;
		} else if (c < 0x20) {
			char esc[8];
			switch (c) {
			case '\n': tether_buf_append(b, "\\n", 2); break;
			case '\r': tether_buf_append(b, "\\r", 2); break;
			case '\t': tether_buf_append(b, "\\t", 2); break;
			default:
				snprintf(esc, sizeof esc, "\\u%04x", c);
				tether_buf_append(b, esc, 6);
			}
			p++;
		} else {
			size_t n = utf8_len(p, end);
			if (n == 0) {
				tether_buf_append(b, "\xef\xbf\xbd", 3); /* U+FFFD */
				p++;
			} else {
				tether_buf_append(b, (const char *)p, n);
				p += n;
			}
		}
	}
	tether_buf_append(b, "\"", 1);
}
