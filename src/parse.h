/* SPDX-License-Identifier: MIT */
/* parse.h — the command line's value parsers: durations and sizes.
 *
 * Strict and bounded: the whole string must be a value, no sign, no spaces,
 * no overflow. They are fuzzed (harness/fuzz/fuzz_parse.c).
 */
#ifndef TETHER_PARSE_H
#define TETHER_PARSE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* DUR: "250ms", "5s", "10m", "24h", "1.5s"; a plain number is seconds.
 * Range 0 .. 100 years. Returns 0 and *ret_ns, or -EINVAL / -ERANGE. */
int tether_parse_duration(const char *s, int64_t *ret_ns);

/* SIZE: "512", "64K", "10M", "1G", "2T" (powers of 1024; k/m/g/t too, an
 * optional trailing "B" or "iB"). Returns 0 and *ret_bytes, or -EINVAL / -ERANGE. */
int tether_parse_size(const char *s, uint64_t *ret_bytes);

/* A non-negative decimal integer within [min, max]. 0, -EINVAL or -ERANGE. */
int tether_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* Formats a duration for humans ("250ms", "90s", "5m", "2h": the largest unit that divides it) into buf. */
char *tether_format_duration(int64_t ns, char *buf, unsigned long len);

/* Formats a byte count for humans ("512", "64K", "1.5G") into buf. */
char *tether_format_size(uint64_t bytes, char *buf, unsigned long len);

#ifdef __cplusplus
}
#endif

#endif
