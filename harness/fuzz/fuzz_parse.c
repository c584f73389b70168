/* SPDX-License-Identifier: MIT */
/* fuzz_parse.c — libFuzzer target for the command line's value parsers
 * (src/parse.h): tether_parse_duration, tether_parse_size, tether_parse_uint.
 *
 * The input is split on NUL; every piece goes to all three parsers. Each
 * answer is compared with a reference written here from the documented
 * grammar, in 128-bit arithmetic so it cannot overflow where parse.c might:
 *   DUR  = DIGITS [ "." 1*9DIGIT ] [ "s" | "ms" | "us" | "m" | "min" | "h" | "d" ]
 *          value = integer part * unit + floor(fraction * unit), 0 .. 100 years
 *   SIZE = DIGITS [ UNIT [ "iB" | "ib" | "B" | "b" ] | "B" | "b" ],
 *          UNIT one of kKmMgGtT; value = DIGITS << 0/10/20/30/40, < 2^64
 *   UINT = DIGITS, within [min, max]
 * Properties: a parser accepts exactly what the reference accepts, with the
 * same value; a well-formed value out of range is -ERANGE; it fails only
 * with -EINVAL or -ERANGE and then leaves its output untouched. For
 * durations also: tether_format_duration of the value parses back to a value
 * <= it and less than 1us below it (the format's precision), and that value
 * formats and parses back exactly.
 * Any violation calls abort(), which libFuzzer reports as a crash.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "parse.h"

#define MAX_DURATION_NS ((unsigned __int128)100 * 366 * 86400 * 1000000000)
/* Digit strings saturate here: past UINT64_MAX, small enough that value *
 * unit cannot overflow 128 bits. */
#define HUGE_DIGITS ((unsigned __int128)1 << 64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, s)                                                                     \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_parse: property violated: %s (line %d) for \"%s\"\n", \
				#cond, __LINE__, (s));                                     \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Leading decimal digits of *p, saturated at HUGE_DIGITS; false if none. */
static bool ref_digits(const char **p, unsigned __int128 *ret, unsigned *ndigits)
{
	unsigned __int128 v = 0;
	unsigned n = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
		v = v * 10 + (unsigned)(**p - '0');
		if (v > HUGE_DIGITS)
			v = HUGE_DIGITS;
	}
	*ret = v;
	if (ndigits)
		*ndigits = n;
	return n > 0;
}

/* 1 valid and in range (*ret), 0 malformed, -1 well-formed but too large. */
static int ref_duration(const char *s, uint64_t *ret)
{
	unsigned __int128 ip, frac = 0, scale = 1, unit;
	const char *p = s;
	unsigned nfrac = 0;
	if (!ref_digits(&p, &ip, NULL))
		return 0;
	if (*p == '.') {
		p++;
		if (!ref_digits(&p, &frac, &nfrac) || nfrac > 9)
			return 0;
		for (unsigned i = 0; i < nfrac; i++)
			scale *= 10;
	}
	if (!*p || !strcmp(p, "s"))
		unit = 1000000000;
	else if (!strcmp(p, "ms"))
		unit = 1000000;
	else if (!strcmp(p, "us"))
		unit = 1000;
	else if (!strcmp(p, "m") || !strcmp(p, "min"))
		unit = (unsigned __int128)60 * 1000000000;
	else if (!strcmp(p, "h"))
		unit = (unsigned __int128)3600 * 1000000000;
	else if (!strcmp(p, "d"))
		unit = (unsigned __int128)86400 * 1000000000;
	else
		return 0;
	if (ip >= HUGE_DIGITS)
		return -1;
	unsigned __int128 v = ip * unit + frac * unit / scale;
	if (v > MAX_DURATION_NS)
		return -1;
	*ret = (uint64_t)v;
	return 1;
}

static int ref_size(const char *s, uint64_t *ret)
{
	unsigned __int128 v;
	const char *p = s;
	unsigned shift = 0;
	if (!ref_digits(&p, &v, NULL))
		return 0;
	switch (*p) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	}
	if (shift) {
		p++;
		if (!strcmp(p, "iB") || !strcmp(p, "ib"))
			p += 2;
	}
	if (*p == 'B' || *p == 'b')
		p++;
	if (*p)
		return 0;
	if (v >= HUGE_DIGITS || (v << shift) > UINT64_MAX)
		return -1;
	*ret = (uint64_t)(v << shift);
	return 1;
}

static void check_duration(const char *s)
{
	int64_t ns = -42;
	uint64_t want = 0;
	int r = tether_parse_duration(s, &ns);
	int ref = ref_duration(s, &want);
	CHECK(r == 0 || r == -EINVAL || r == -ERANGE, s);
	CHECK(r != 0 || ns != -42, s);
	CHECK(r == 0 || ns == -42, s);
	CHECK((r == 0) == (ref == 1), s);
	CHECK(ref != -1 || r == -ERANGE, s);
	if (r != 0)
		return;
	CHECK(ns >= 0 && (unsigned __int128)ns <= MAX_DURATION_NS, s);
	CHECK((uint64_t)ns == want, s);

	char text[64], text2[64];
	int64_t back = -1, again = -1;
	tether_format_duration(ns, text, sizeof text);
	CHECK(tether_parse_duration(text, &back) == 0, text);
	CHECK(back <= ns && ns - back < 1000, text);
	/* back is a whole number of microseconds: that the format keeps exactly
	 * (though not always in the same words: 250ns is "0us", 0 is "0ms"). */
	tether_format_duration(back, text2, sizeof text2);
	CHECK(tether_parse_duration(text2, &again) == 0 && again == back, text2);
}

static void check_size(const char *s)
{
	uint64_t v = 42, want = 0, back = 0;
	int r = tether_parse_size(s, &v);
	int ref = ref_size(s, &want);
	CHECK(r == 0 || r == -EINVAL || r == -ERANGE, s);
	CHECK(r == 0 || v == 42, s);
	CHECK((r == 0) == (ref == 1), s);
	CHECK(ref != -1 || r == -ERANGE, s);
	if (r != 0)
		return;
	CHECK(v == want, s);
	char text[32];
	snprintf(text, sizeof text, "%llu", (unsigned long long)v);
	CHECK(tether_parse_size(text, &back) == 0 && back == v, text);
	if (v % 1024 == 0) {
		snprintf(text, sizeof text, "%lluKiB", (unsigned long long)(v / 1024));
		CHECK(tether_parse_size(text, &back) == 0 && back == v, text);
	}
}

static void check_uint(const char *s)
{
	uint64_t v = 42, w;
	int r = tether_parse_uint(s, 0, UINT64_MAX, &v);
	CHECK(r == 0 || r == -EINVAL || r == -ERANGE, s);
	CHECK(r == 0 || v == 42, s);
	/* Same grammar as SIZE without a suffix. */
	uint64_t want = 0;
	int ref = *s && strspn(s, "0123456789") == strlen(s) ? ref_size(s, &want) : 0;
	CHECK((r == 0) == (ref == 1), s);
	CHECK(ref != -1 || r == -ERANGE, s);
	if (r != 0)
		return;
	CHECK(v == want, s);
	/* The bounds are inclusive and exact. */
	CHECK(tether_parse_uint(s, v, v, &w) == 0 && w == v, s);
	if (v < UINT64_MAX)
		CHECK(tether_parse_uint(s, v + 1, UINT64_MAX, &w) == -ERANGE, s);
	if (v > 0)
		CHECK(tether_parse_uint(s, 0, v - 1, &w) == -ERANGE, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *s = buf; s <= buf + size; s += strlen(s) + 1) {
		check_duration(s);
		check_size(s);
		check_uint(s);
	}
	free(buf);
	return 0;
}
