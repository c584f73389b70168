/* SPDX-License-Identifier: MIT */
/* soak_fail.c — the record of a soak's failures and notes (see soak.h),
 * stamped with the virtual time they happened at. On its own, so that the
 * driver, the model, the journal reader and the process checks reach it
 * without depending on soak.c, which depends on all of them.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "soak/soak.h"

/* After this many failures the run stops: the first one is what matters,
 * the rest is usually its consequences. */
#define FAILURES_MAX 50
#define FAILURES_SHOWN 10

char *soak_fmt_vms(int64_t vms, char *buf, size_t len)
{
	if (vms == INT64_MAX) {
		snprintf(buf, len, "never");
		return buf;
	}
	bool neg = vms < 0;
	uint64_t v = (uint64_t)(neg ? -vms : vms);
	snprintf(buf, len, "%s%02lluh%02llum%02llu.%03llus", neg ? "-" : "", (unsigned long long)(v / 3600000),
		 (unsigned long long)(v / 60000 % 60), (unsigned long long)(v / 1000 % 60),
		 (unsigned long long)(v % 1000));
	return buf;
}

void soak_fail(struct soak *s, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		lab_die("out of memory");
	va_end(ap);
	char t[32];
	if (s->nfailures < FAILURES_SHOWN)
		fprintf(stderr, "soak: FAIL at %s: %s\n", soak_fmt_vms(s->vnow, t, sizeof t), msg);
	else if (s->nfailures == FAILURES_SHOWN)
		fprintf(stderr, "soak: (further failures counted, not shown)\n");
	if (!s->failed) {
		s->failed = true;
		s->fail_msg = msg;
		s->fail_vms = s->vnow;
	} else {
		free(msg);
	}
	if (++s->nfailures >= FAILURES_MAX)
		s->stop = true;
}

void soak_note(struct soak *s, const char *fmt, ...)
{
	va_list ap;
	char t[32];
	fprintf(stderr, "soak: note at %s: ", soak_fmt_vms(s->vnow, t, sizeof t));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
