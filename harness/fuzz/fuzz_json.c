/* SPDX-License-Identifier: MIT */
/* fuzz_json.c — libFuzzer target for tether_json_parse / tether_json_render.
 *
 * The input is parsed with a depth limit of MAX_DEPTH. Properties:
 *   - the result is 0, -EINVAL, -ELOOP or -ENOMEM;
 *   - an accepted tree is sane: object keys unique, every string and key
 *     valid UTF-8 (the reader promises safe C strings), is_int numbers exact;
 *   - the depth limit is exact: a tree of depth D parses with max_depth D and
 *     fails with -ELOOP at D - 1;
 *   - render(tree) parses again (same depth limit) and renders identically.
 * Any violation calls abort(), which libFuzzer reports as a crash.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_DEPTH 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_json: property violated: %s (line %d)\n", \
				#cond, __LINE__);                                     \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* RFC 3629: shortest form, no surrogates, at most U+10FFFF. */
static bool valid_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	while (*s) {
		unsigned c = *s, n, cp, min;
		if (c < 0x80) {
			s++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

/* Checks the tree and returns its container depth. */
static unsigned check_tree(const struct tether_json *j)
{
	unsigned depth = 0;
	switch (j->type) {
	case TETHER_JSON_NULL:
	case TETHER_JSON_BOOL:
		break;
	case TETHER_JSON_NUMBER:
		if (j->is_int)
			CHECK((double)j->integer == j->number);
		break;
	case TETHER_JSON_STRING:
		CHECK(j->string && valid_utf8(j->string));
		break;
	case TETHER_JSON_ARRAY:
	case TETHER_JSON_OBJECT:
		CHECK(j->count == 0 || j->items);
		for (size_t i = 0; i < j->count; i++) {
			if (j->type == TETHER_JSON_OBJECT) {
				CHECK(valid_utf8(j->keys[i]));
				for (size_t k = 0; k < i; k++)
					CHECK(strcmp(j->keys[k], j->keys[i]) != 0);
				CHECK(tether_json_get(j, j->keys[i]) == j->items[i]);
			}
			unsigned d = check_tree(j->items[i]);
			if (d > depth)
				depth = d;
		}
		depth++;
		break;
	default:
		CHECK(!"unknown node type");
	}
	return depth;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_json *j = NULL, *again = NULL;
	const char *buf = (const char *)data;
	int r = tether_json_parse(buf, size, MAX_DEPTH, &j);
	CHECK(r == 0 || r == -EINVAL || r == -ELOOP || r == -ENOMEM);
	if (r != 0)
		return 0;
	unsigned depth = check_tree(j);
	CHECK(depth <= MAX_DEPTH);

	/* The limit is exact. */
	CHECK(tether_json_parse(buf, size, depth, &again) == 0);
	tether_json_free(again);
	if (depth > 0)
		CHECK(tether_json_parse(buf, size, depth - 1, &again) == -ELOOP);

	/* render -> parse -> render is a fixed point. */
	struct tether_buf b1, b2;
	tether_buf_init(&b1);
	tether_buf_init(&b2);
	tether_json_render(j, &b1);
	CHECK(!b1.oom);
	r = tether_json_parse(b1.data, b1.len, MAX_DEPTH, &again);
	if (r != 0)
		fprintf(stderr, "fuzz_json: rendered text does not parse (%d): %.200s\n", r, b1.data);
	CHECK(r == 0);
	CHECK(check_tree(again) == depth);
	tether_json_render(again, &b2);
	CHECK(!b2.oom);
	if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
		fprintf(stderr, "fuzz_json: render is not stable:\n  %.200s\n  %.200s\n", b1.data, b2.data);
	CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
	tether_buf_done(&b1);
	tether_buf_done(&b2);
	tether_json_free(again);
	tether_json_free(j);
	return 0;
}
