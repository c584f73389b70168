/* SPDX-License-Identifier: MIT */
/* cond.c — evaluating conditions: files, timing, faults (processes and
 * /proc-based conditions are in cond_proc.c, the tests of a text and the
 * comparisons both use in cond_text.c).
 *
 * Every evaluation says what it saw in the form "expected X, got Y": that
 * text becomes the failure message, after "FILE:LINE: ", when an expectation
 * does not hold or a wait times out.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "run/run.h"

#define FILE_MAX (16u << 20)

/* gaps FILE D1 D2 ... [tolerance T]: between consecutive `exec` records of a
 * worker's --record file (their CLOCK_MONOTONIC stamps). */
static int gaps_test(struct lab *lab, const struct cond *c, const char *path, char **ret_observed)
{
	int err;
	size_t len;
	char *text = lab_read_file(path, FILE_MAX, &len, &err);
	int64_t *stamps = NULL;
	size_t n = 0;
	char **lines = NULL;
	size_t nl = text ? lab_split_lines(text, &lines) : 0;
	for (size_t i = 0; i < nl; i++) {
		long long pid, mono;
		if (sscanf(lines[i], "exec %lld %lld", &pid, &mono) == 2) {
			int64_t t = mono;
			xappend(&stamps, &n, &t, sizeof t);
		}
	}
	free(lines);
	free(text);
	struct tether_buf want, got;
	tether_buf_init(&want);
	tether_buf_init(&got);
	char d[32];
	for (size_t i = 0; i < c->ngaps; i++)
		tether_buf_printf(&want, "%s%s", i ? " " : "", lab_fmt_ns(c->gaps[i], d, sizeof d));
	tether_buf_printf(&want, " (+-%s)", lab_fmt_ns(c->tolerance, d, sizeof d));
	int r = COND_TRUE;
	if (n < c->ngaps + 1) {
		r = COND_NOT_YET;
		tether_buf_printf(&got, "%zu exec records in %s (need %zu)", n, path, c->ngaps + 1);
	} else {
		size_t worst = 0;
		int64_t worst_off = -1;
		for (size_t i = 0; i < c->ngaps; i++) {
			int64_t g = stamps[i + 1] - stamps[i], off = llabs(g - c->gaps[i]);
			tether_buf_printf(&got, "%s%s", i ? " " : "", lab_fmt_ns(g, d, sizeof d));
			if (off > c->tolerance && off > worst_off) {
				worst = i;
				worst_off = off;
			}
		}
		if (worst_off >= 0) {
			r = COND_FALSE;
			tether_buf_printf(&got, " (gap %zu is off by %s)", worst + 1, lab_fmt_ns(worst_off, d, sizeof d));
		}
	}
	*ret_observed = xasprintf("expected gaps %s, got %s", want.data, got.data);
	tether_buf_done(&want);
	tether_buf_done(&got);
	free(stamps);
	return r;
}

static int elapsed_test(struct lab *lab, const struct cond *c, unsigned line, char **ret_observed)
{
	char *a = lab_expand(lab, &c->subject, line), *b = a ? lab_expand(lab, &c->subject2, line) : NULL;
	int r = -1;
	int64_t ta = 0, tb = 0;
	char d1[32], d2[32];
	if (!b)
		goto out;
	int ha = lab_event_time(lab, a, &ta), hb = lab_event_time(lab, b, &tb);
	if (ha < 0 || hb < 0) {
		lab_fail(lab, line, "unknown event '%s' (NAME.spawn, NAME.ready, NAME.exit or a mark)", ha < 0 ? a : b);
		goto out;
	}
	if (!ha || !hb) {
		*ret_observed = xasprintf("expected elapsed %s..%s %s %s, got: %s has not happened yet", a, b,
					  cmp_op_name(c->op), lab_fmt_ns(c->dur, d1, sizeof d1), !ha ? a : b);
		r = COND_NOT_YET;
		goto out;
	}
	r = cond_compare_num(tb - ta, c->op, c->dur) ? COND_TRUE : COND_FALSE;
	*ret_observed = xasprintf("expected elapsed %s..%s %s %s, got %s", a, b, cmp_op_name(c->op),
				  lab_fmt_ns(c->dur, d1, sizeof d1), lab_fmt_ns(tb - ta, d2, sizeof d2));
out:
	free(a);
	free(b);
	return r;
}

static int fault_test(struct lab *lab, const struct cond *c, unsigned line, struct cond_watch *w, char **ret_observed)
{
	struct proc *p = lab_find_proc(lab, c->name);
	if (!p || !p->fault_report)
		return lab_fail(lab, line, "%s was spawned without a counted fault (fault ... call K)", c->name);
	char *point = lab_expand(lab, &c->subject2, line);
	if (!point)
		return -1;
	w->path = xstrdup(p->fault_report);
	int err;
	char *text = lab_read_file(p->fault_report, FILE_MAX, NULL, &err);
	bool fired = false;
	char **lines = NULL;
	size_t n = text ? lab_split_lines(text, &lines) : 0;
	for (size_t i = 0; i < n && !fired; i++) {
		char pt[128];
		fired = sscanf(lines[i], "fired %127s", pt) == 1 && (!*point || strcmp(pt, point) == 0);
	}
	*ret_observed = xasprintf("expected a fault of %s to fire%s%s, got %zu firings", c->name, *point ? " at " : "",
				  point, n);
	free(lines);
	free(text);
	free(point);
	return fired ? COND_TRUE : COND_NOT_YET;
}

int lab_cond_eval(struct lab *lab, const struct cond *c, unsigned line, struct cond_watch *w, char **ret_observed)
{
	*ret_observed = NULL;
	int r;
	switch (c->kind) {
	case C_FILE: {
		char *path = lab_expand(lab, &c->subject, line);
		if (!path)
			return -1;
		char *what = xasprintf("file %s", path);
		if (c->scope == SCOPE_FILE)
			r = cond_text_test(lab, c, line, what, path, ret_observed);
		else
			r = cond_chain_test(lab, c, line, path, ret_observed);
		w->path = path;
		free(what);
		break;
	}
	case C_GAPS: {
		char *path = lab_expand(lab, &c->subject, line);
		if (!path)
			return -1;
		r = gaps_test(lab, c, path, ret_observed);
		w->path = path;
		break;
	}
	case C_ELAPSED:
		r = elapsed_test(lab, c, line, ret_observed);
		break;
	case C_FAULT_FIRED:
		r = fault_test(lab, c, line, w, ret_observed);
		break;
	default:
		r = cond_eval_proc(lab, c, line, w, ret_observed);
	}
	if (r >= 0 && !*ret_observed)
		*ret_observed = xstrdup("(nothing observed)");
	return r;
}
