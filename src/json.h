/* SPDX-License-Identifier: MIT */
/* json.h — a small strict JSON reader and a writer's helpers.
 *
 * The reader builds a tree (tether_json_parse) and is meant for untrusted
 * input: the caller bounds the size, the reader bounds the depth, rejects
 * anything RFC 8259 rejects, plus duplicate keys, invalid UTF-8, "\u0000"
 * (so every string is a safe C string) and numbers beyond a double's range
 * (1e400). It never crashes on any input: it is fuzzed
 * (harness/fuzz/fuzz_json.c, fuzz_pidfile.c).
 *
 * The writer side is JSON string escaping into a growable buffer (buf.h).
 */
#ifndef TETHER_JSON_H
#define TETHER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tether_json_type {
	TETHER_JSON_NULL,
	TETHER_JSON_BOOL,
	TETHER_JSON_NUMBER,
	TETHER_JSON_STRING,
	TETHER_JSON_ARRAY,
	TETHER_JSON_OBJECT,
};

struct tether_json {
	enum tether_json_type type;
	bool boolean;
	double number;
	bool is_int;       /* number is an integer that fits int64 exactly */
	int64_t integer;
	char *string;      /* NUL-terminated, no embedded NUL */
	size_t count;      /* array items or object members */
	struct tether_json **items;
	char **keys;       /* objects only, parallel to items */
};

/* Parses exactly one JSON value (surrounding whitespace allowed) from
 * buf[0..len). Returns 0 and *ret (free with tether_json_free), -EINVAL for
 * malformed input, -ELOOP past max_depth nesting, -ENOMEM. */
int tether_json_parse(const char *buf, size_t len, unsigned max_depth, struct tether_json **ret);
void tether_json_free(struct tether_json *j);

/* Member of an object by key, or NULL (also when j is not an object). */
const struct tether_json *tether_json_get(const struct tether_json *j, const char *key);
/* Follows a dotted path: "instances.0.pid" (array indices are decimal). */
const struct tether_json *tether_json_path(const struct tether_json *j, const char *path);
/* Renders a value compactly into buf (for messages and comparisons). */
void tether_json_render(const struct tether_json *j, struct tether_buf *b);

/* Appends s as a quoted JSON string; bytes that are not valid UTF-8 become U+FFFD. */
void tether_buf_json_string(struct tether_buf *b, const char *s);

#ifdef __cplusplus
}
#endif

#endif
