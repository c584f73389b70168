/* SPDX-License-Identifier: MIT */
/* stress_fail.c — what a stress run says as it goes (see stress.h): each
 * failure (on stderr while few, always counted, the first ones kept for
 * stress.json) and the progress line. On its own, so that every part of
 * the run that checks something reaches it without depending on stress.c,
 * which depends on all of them.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "stress/stress.h"

#define FAILS_KEPT 100   /* in the report */
#define FAILS_PRINTED 20 /* on stderr as they happen */

void stress_progress(struct stress *st, unsigned done, unsigned total, bool force)
{
	if (!st->tty)
		return;
	int64_t now = lab_now();
	if (!force && now - st->progress_at < 100 * NS_PER_MS && done < total)
		return;
	st->progress_at = now;
	double secs = (double)(now - st->phase_at) / 1e9;
	fprintf(stderr, "\r\033[Kstress: %s %u/%u (%.1f/s), %u failure%s", st->phase, done, total,
		secs > 0 ? done / secs : 0.0, st->nfail, st->nfail == 1 ? "" : "s");
	fflush(stderr);
}

void stress_fail(struct stress *st, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		lab_die("out of memory");
	va_end(ap);
	if (st->interrupted) {
		/* what an interrupted wait reports is the interruption, already said */
		free(msg);
		return;
	}
	st->nfail++;
	if (st->nfail <= FAILS_PRINTED) {
		fprintf(stderr, "%sharness stress: FAIL %s\n", st->tty ? "\r\033[K" : "", msg);
	} else if (st->nfail == FAILS_PRINTED + 1) {
		fprintf(stderr, "%sharness stress: further failures are only counted (and kept in the report)\n",
			st->tty ? "\r\033[K" : "");
	}
	if (st->nfails_kept < FAILS_KEPT) {
		st->fails = xrealloc(st->fails, (st->nfails_kept + 1) * sizeof *st->fails);
		st->fails[st->nfails_kept++] = msg;
	} else {
		free(msg);
	}
}
