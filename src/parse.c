/* SPDX-License-Identifier: MIT */
/* parse.c — see parse.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "parse.h"

#define MAX_DURATION_NS (INT64_C(100) * 366 * 86400 * TETHER_NSEC_PER_SEC)

int tether_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int tether_parse_duration(const char *s, int64_t *ret_ns)
{
	/* integer part, optional fraction (up to 9 digits), optional unit */
	uint64_t ip = 0, frac = 0, frac_scale = 1;
	const char *p = s;
	if (!s || !*s)
		return -EINVAL;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (ip > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (frac_scale >= 1000000000)
				return -EINVAL; /* more precision than a nanosecond */
			frac = frac * 10 + (uint64_t)(*p - '0');
			frac_scale *= 10;
		}
	}
	uint64_t unit;
	if (*p == '\0' || strcmp(p, "s") == 0)
		unit = TETHER_NSEC_PER_SEC;
	else if (strcmp(p, "ms") == 0)
		unit = TETHER_NSEC_PER_MSEC;
	else if (strcmp(p, "us") == 0)
		unit = 1000;
	else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0)
		unit = 60 * TETHER_NSEC_PER_SEC;
	else if (strcmp(p, "h") == 0)
		unit = 3600 * TETHER_NSEC_PER_SEC;
	else if (strcmp(p, "d") == 0)
		unit = 86400 * TETHER_NSEC_PER_SEC;
	else
		return -EINVAL;
	if (ip > (uint64_t)MAX_DURATION_NS / unit)
		return -ERANGE;
	/* frac * unit can pass 2^64 ("0.99999999h": 1e8 * 3.6e12), so split
	 * unit = q * frac_scale + rem; frac < frac_scale <= 1e9 keeps both
	 * products in range and the sum is the same floor (fuzz_parse). */
	uint64_t q = unit / frac_scale, rem = unit % frac_scale;
	uint64_t ns = ip * unit + frac * q + frac * rem / frac_scale;
	if (ns > (uint64_t)MAX_DURATION_NS)
		return -ERANGE;
	*ret_ns = (int64_t)ns;
	return 0;
}

int tether_parse_size(const char *s, uint64_t *ret_bytes)
{
	uint64_t v = 0;
	const char *p = s;
	if (!s || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	unsigned shift = 0;
	switch (*p) {
	case '\0': break;
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	case 't': case 'T': shift = 40; p++; break;
	case 'b': case 'B': break;
	default: return -EINVAL;
	}
	if (shift && (strcmp(p, "iB") == 0 || strcmp(p, "ib") == 0))
		p += 2;
	else if (*p == 'B' || *p == 'b')
		p++;
	if (*p != '\0')
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret_bytes = v << shift;
	return 0;
}

char *tether_format_duration(int64_t ns, char *buf, unsigned long len)
{
	if (ns < 0)
		ns = 0;
	if (ns % TETHER_NSEC_PER_SEC != 0 || ns < TETHER_NSEC_PER_SEC) {
		if (ns % TETHER_NSEC_PER_MSEC == 0)
			snprintf(buf, len, "%lldms", (long long)(ns / TETHER_NSEC_PER_MSEC));
		else
			snprintf(buf, len, "%lldus", (long long)(ns / 1000));
		return buf;
	}
	long long s = (long long)(ns / TETHER_NSEC_PER_SEC);
	if (s % 3600 == 0)
		snprintf(buf, len, "%lldh", s / 3600);
	else if (s % 60 == 0)
		snprintf(buf, len, "%lldm", s / 60);
	else
		snprintf(buf, len, "%llds", s);
	return buf;
}

char *tether_format_size(uint64_t bytes, char *buf, unsigned long len)
{
	static const char units[] = "KMGTPE";
	if (bytes < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return buf;
	}
	double v = (double)bytes;
	int u = -1;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (v >= 100 || v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f%c", v, units[u]);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}
