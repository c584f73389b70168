/* SPDX-License-Identifier: MIT */
/* htmlreport_json.c — JSON as tables, and the plots found in it (see
 * report.h).
 *
 * stress.json and soak.json are written by other parts of the lab and grow
 * fields as the lab does, so nothing here depends on their exact shape: the
 * whole document is rendered generically, and the plots are found by what
 * the values look like, not by where they are:
 *   - an object with a numeric p50 and a p99 or max is a distribution (with
 *     n, min, mean when present): a row of a percentile ladder. Rows are
 *     grouped by unit, read from the key suffixes on their path (latency_ms,
 *     rss_kb, duration_s), so that milliseconds and kilobytes never share an
 *     axis;
 *   - a numeric member named ratio* is drawn against its *_target sibling, or
 *     ratio_target;
 *   - an array of numbers, or of objects with numeric fields (samples over
 *     cycles or virtual time), is a series: a line per numeric field, over
 *     the field that looks like a position (cycle, vms, t, ...) or the index.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "report/report.h"

#define MAX_DEPTH 10         /* deeper values are shown as compact JSON */
#define MAX_ROWS 50          /* rows of a table made from an array */
#define MAX_COLS 16          /* columns of such a table */
#define MAX_LIST 100         /* items of a list of scalars */
#define MAX_SERIES_CHARTS 8  /* line charts per array of samples */
#define MIN_SERIES 8         /* fewer points (soak's g6 rows: one per incarnation) are a table only */

static bool is_scalar(const struct tether_json *j)
{
	return j->type != TETHER_JSON_ARRAY && j->type != TETHER_JSON_OBJECT;
}

/* An object whose members are all scalars: one row of a table. */
static bool is_flat_object(const struct tether_json *j)
{
	if (j->type != TETHER_JSON_OBJECT || j->count == 0)
		return false;
	for (size_t i = 0; i < j->count; i++)
		if (!is_scalar(j->items[i]))
			return false;
	return true;
}

static void scalar(struct tether_buf *b, const struct tether_json *j)
{
	switch (j->type) {
	case TETHER_JSON_NULL: tether_buf_puts(b, "<span class=\"null\">null</span>"); break;
	case TETHER_JSON_BOOL: tether_buf_puts(b, j->boolean ? "true" : "false"); break;
	case TETHER_JSON_NUMBER:
		if (j->is_int)
			tether_buf_printf(b, "%lld", (long long)j->integer);
		else
			report_num(b, j->number);
		break;
	case TETHER_JSON_STRING:
		if (strchr(j->string, '\n') || strlen(j->string) > 160) {
			tether_buf_puts(b, "<pre>");
			report_esc(b, j->string);
			tether_buf_puts(b, "</pre>");
		} else {
			report_esc(b, j->string);
		}
		break;
	default: break;
	}
}

/* The union of the keys of the objects among items[0..n), in order of first
 * appearance, at most MAX_COLS. */
static size_t key_union(struct tether_json *const *items, size_t n, const char **keys)
{
	size_t nk = 0;
	for (size_t i = 0; i < n; i++) {
		if (items[i]->type != TETHER_JSON_OBJECT)
			continue;
		for (size_t k = 0; k < items[i]->count && nk < MAX_COLS; k++) {
			size_t m = 0;
			while (m < nk && strcmp(keys[m], items[i]->keys[k]) != 0)
				m++;
			if (m == nk)
				keys[nk++] = items[i]->keys[k];
		}
	}
	return nk;
}

/* A table: a row per object of items (row headers from names, if any). */
static void object_table(struct tether_buf *b, struct tether_json *const *items, char *const *names, size_t n,
			 unsigned depth)
{
	const char *keys[MAX_COLS];
	size_t nk = key_union(items, n, keys), shown = n > MAX_ROWS ? MAX_ROWS : n;
	tether_buf_puts(b, "<table class=\"grid\"><thead><tr>");
	tether_buf_puts(b, names ? "<th></th>" : "<th>#</th>");
	for (size_t k = 0; k < nk; k++) {
		tether_buf_puts(b, "<th>");
		report_esc(b, keys[k]);
		tether_buf_puts(b, "</th>");
	}
	tether_buf_puts(b, "</tr></thead><tbody>");
	for (size_t i = 0; i < shown; i++) {
		tether_buf_puts(b, "<tr><th>");
		if (names)
			report_esc(b, names[i]);
		else
			tether_buf_printf(b, "%zu", i);
		tether_buf_puts(b, "</th>");
		for (size_t k = 0; k < nk; k++) {
			const struct tether_json *v = tether_json_get(items[i], keys[k]);
			tether_buf_puts(b, v && v->type == TETHER_JSON_NUMBER ? "<td class=\"n\">" : "<td>");
			if (v)
				report_json_value(b, v, depth + 1);
			tether_buf_puts(b, "</td>");
		}
		tether_buf_puts(b, "</tr>");
	}
	tether_buf_puts(b, "</tbody></table>");
	if (shown < n)
		tether_buf_printf(b, "<p class=\"note\">the first %zu of %zu rows</p>", shown, n);
}

static void array(struct tether_buf *b, const struct tether_json *j, unsigned depth)
{
	size_t nobj = 0, nscalar = 0, nlong = 0;
	for (size_t i = 0; i < j->count; i++) {
		nobj += j->items[i]->type == TETHER_JSON_OBJECT;
		nscalar += is_scalar(j->items[i]);
		nlong += j->items[i]->type == TETHER_JSON_STRING && strlen(j->items[i]->string) > 40;
	}
	if (j->count == 0) {
		tether_buf_puts(b, "<span class=\"null\">none</span>");
	} else if (nobj == j->count) {
		object_table(b, j->items, NULL, j->count, depth);
	} else if (nscalar == j->count && !nlong) {
		/* short values inline; a long run of numbers as its ends */
		size_t head = j->count > MAX_LIST ? 10 : j->count;
		for (size_t i = 0; i < head; i++) {
			if (i)
				tether_buf_puts(b, ", ");
			scalar(b, j->items[i]);
		}
		if (head < j->count) {
			tether_buf_puts(b, ", ...");
			for (size_t i = j->count - 5; i < j->count; i++) {
				tether_buf_puts(b, ", ");
				scalar(b, j->items[i]);
			}
			tether_buf_printf(b, " <span class=\"note\">(%zu values)</span>", j->count);
		}
	} else {
		size_t shown = j->count > MAX_LIST ? MAX_LIST : j->count;
		tether_buf_puts(b, "<ol start=\"0\">");
		for (size_t i = 0; i < shown; i++) {
			tether_buf_puts(b, "<li>");
			report_json_value(b, j->items[i], depth + 1);
			tether_buf_puts(b, "</li>");
		}
		tether_buf_puts(b, "</ol>");
		if (shown < j->count)
			tether_buf_printf(b, "<p class=\"note\">the first %zu of %zu items</p>", shown, j->count);
	}
}

static bool skipped(const char *key, const char *const *skip)
{
	for (size_t i = 0; skip && skip[i]; i++)
		if (strcmp(skip[i], key) == 0)
			return true;
	return false;
}

/* Two flat objects are alike when they have the same keys in the same order
 * (the writers of these files emit each kind of record one way). */
static bool alike(const struct tether_json *x, const struct tether_json *y)
{
	if (!is_flat_object(x) || !is_flat_object(y) || x->count != y->count)
		return false;
	for (size_t i = 0; i < x->count; i++)
		if (strcmp(x->keys[i], y->keys[i]) != 0)
			return false;
	return true;
}

/* An object: its members as key/value rows, except that two or more alike
 * flat objects among them (statistics, per-kind counts) become one table,
 * a row each, in the place of the first of them. */
static void object(struct tether_buf *b, const struct tether_json *j, const char *const *skip, unsigned depth)
{
	size_t *group = xcalloc(j->count ? j->count : 1, sizeof *group);   /* index of its group's first member */
	size_t shown = 0;
	for (size_t i = 0; i < j->count; i++) {
		group[i] = i;
		if (skipped(j->keys[i], skip))
			continue;
		shown++;
		for (size_t k = 0; k < i; k++)
			if (group[k] == k && !skipped(j->keys[k], skip) && alike(j->items[k], j->items[i])) {
				group[i] = k;
				break;
			}
	}
	if (!shown) {
		free(group);
		return;
	}
	struct tether_json **items = xcalloc(j->count ? j->count : 1, sizeof *items);
	char **names = xcalloc(j->count ? j->count : 1, sizeof *names);
	tether_buf_puts(b, "<table class=\"kv\"><tbody>");
	for (size_t i = 0; i < j->count; i++) {
		const struct tether_json *v = j->items[i];
		if (skipped(j->keys[i], skip) || group[i] != i)
			continue;
		size_t n = 0;
		for (size_t k = i; k < j->count; k++)
			if (group[k] == i && !skipped(j->keys[k], skip)) {
				items[n] = j->items[k];
				names[n++] = j->keys[k];
			}
		if (n >= 2) {
			tether_buf_puts(b, "<tr><td colspan=\"2\">");
			object_table(b, items, names, n, depth);
			tether_buf_puts(b, "</td></tr>");
			continue;
		}
		tether_buf_puts(b, "<tr><th>");
		report_esc(b, j->keys[i]);
		tether_buf_puts(b, v->type == TETHER_JSON_NUMBER ? "</th><td class=\"n\">" : "</th><td>");
		report_json_value(b, v, depth + 1);
		tether_buf_puts(b, "</td></tr>");
	}
	tether_buf_puts(b, "</tbody></table>");
	free(items);
	free(names);
	free(group);
}

void report_json_value(struct tether_buf *b, const struct tether_json *j, unsigned depth)
{
	if (depth > MAX_DEPTH && !is_scalar(j)) {
		struct tether_buf c;
		tether_buf_init(&c);
		tether_json_render(j, &c);
		tether_buf_puts(b, "<code>");
		report_esc(b, c.oom ? "(out of memory)" : c.data);
		tether_buf_puts(b, "</code>");
		tether_buf_done(&c);
	} else if (j->type == TETHER_JSON_OBJECT) {
		if (j->count)
			object(b, j, NULL, depth);
		else
			tether_buf_puts(b, "<span class=\"null\">{}</span>");
	} else if (j->type == TETHER_JSON_ARRAY) {
		array(b, j, depth);
	} else {
		scalar(b, j);
	}
}

void report_json_members(struct tether_buf *b, const struct tether_json *obj, const char *const *skip)
{
	if (obj && obj->type == TETHER_JSON_OBJECT)
		object(b, obj, skip, 0);
}

/* ---- plots ------------------------------------------------------------------------ */

struct ladder_group {
	char *unit;
	struct report_ladder_row *rows;
	size_t n;
};

struct finder {
	struct tether_buf *b;
	struct ladder_group *groups;
	size_t ngroups;
	unsigned plots;
};

static double num_or_nan(const struct tether_json *o, const char *key)
{
	const struct tether_json *v = tether_json_get(o, key);
	return v && v->type == TETHER_JSON_NUMBER ? v->number : NAN;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The unit of a value at path: the suffix of the nearest key that has one. */
static const char *unit_of(const char *path)
{
	static const struct {
		const char *suffix, *unit;
	} units[] = {
		{"_ms", "ms"}, {"_ns", "ns"}, {"_us", "us"},    {"_s", "s"},       {"_kb", "kB"},
		{"_bytes", "bytes"}, {"_pct", "%"}, {"_per_s", "/s"}, {"_mb", "MB"},
	};
	char *copy = xstrdup(path);
	const char *found = "";
	for (;;) {
		char *dot = strrchr(copy, '.');
		const char *key = dot ? dot + 1 : copy;
		for (size_t i = 0; i < sizeof units / sizeof units[0] && !*found; i++)
			if (ends_with(key, units[i].suffix) || strcmp(key, units[i].suffix + 1) == 0)
				found = units[i].unit;
		if (*found || !dot)
			break;
		*dot = '\0';
	}
	free(copy);
	return found;
}

static void add_ladder_row(struct finder *f, const char *path, const struct tether_json *o)
{
	struct report_ladder_row r = {.n = num_or_nan(o, "n"), .min = num_or_nan(o, "min"), .p50 = num_or_nan(o, "p50"),
				  .p99 = num_or_nan(o, "p99"), .max = num_or_nan(o, "max"), .mean = num_or_nan(o, "mean")};
	if (r.n == 0)   /* an empty distribution: nothing to draw */
		return;
	const char *unit = unit_of(path);
	size_t g = 0;
	while (g < f->ngroups && strcmp(f->groups[g].unit, unit) != 0)
		g++;
	if (g == f->ngroups) {
		struct ladder_group ng = {.unit = xstrdup(unit)};
		xappend(&f->groups, &f->ngroups, &ng, sizeof ng);
	}
	/* "floor_ms.stats" reads better as "floor_ms" */
	r.label = ends_with(path, ".stats") ? xstrndup(path, strlen(path) - 6) : xstrdup(path);
	xappend(&f->groups[g].rows, &f->groups[g].n, &r, sizeof r);
}

static const char *const x_keys[] = {"cycle", "cycles", "i", "index", "vms", "t", "t_s", "time_s", "ts",
				     "elapsed_s", "virtual_s", "vtime_s", "hour", "hours", NULL};

/* A position in milliseconds or seconds over hours reads better in hours:
 * rescales x in place, and returns the axis label. */
static char *x_label(const char *xkey, double *x, size_t n)
{
	double per_s = ends_with(xkey, "ms") ? 1000 : ends_with(xkey, "_s") || !strcmp(xkey, "t") ? 1 : 0, max = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			max = fmax(max, x[i]);
	double div = 0;
	const char *unit = NULL;
	if (per_s > 0 && max > 3 * 3600 * per_s)
		div = 3600 * per_s, unit = "hours";
	else if (per_s > 0 && max > 3 * 60 * per_s)
		div = 60 * per_s, unit = "minutes";
	if (!div)
		return xstrdup(xkey);
	for (size_t i = 0; i < n; i++)
		x[i] /= div;
	return xasprintf("%s (%s)", xkey, unit);
}

static void series_of_objects(struct finder *f, const char *path, const struct tether_json *a)
{
	const struct tether_json *first = a->items[0];
	const char *xkey = NULL;
	for (size_t k = 0; x_keys[k] && !xkey; k++) {
		const struct tether_json *v = tether_json_get(first, x_keys[k]);
		if (v && v->type == TETHER_JSON_NUMBER)
			xkey = x_keys[k];
	}
	double *x = xcalloc(a->count, sizeof *x), *y = xcalloc(a->count, sizeof *y);
	for (size_t i = 0; i < a->count; i++)
		x[i] = xkey ? num_or_nan(a->items[i], xkey) : (double)i;
	char *xl = x_label(xkey ? xkey : "index", x, a->count);
	unsigned charts = 0;
	for (size_t k = 0; k < first->count && charts < MAX_SERIES_CHARTS; k++) {
		const char *key = first->keys[k];
		if (xkey && strcmp(key, xkey) == 0)
			continue;
		/* a field that is a number (or null: a missed sample) in every item */
		size_t numeric = 0, other = 0;
		for (size_t i = 0; i < a->count; i++) {
			const struct tether_json *v = tether_json_get(a->items[i], key);
			y[i] = num_or_nan(a->items[i], key);
			numeric += isfinite(y[i]);
			other += v && v->type != TETHER_JSON_NUMBER && v->type != TETHER_JSON_NULL;
		}
		if (numeric < 2 || other)
			continue;
		char *title = xasprintf("%s: %s", path, key);
		report_svg_line(f->b, title, xl, x, y, a->count);
		free(title);
		charts++;
		f->plots++;
	}
	free(xl);
	free(x);
	free(y);
}

/* An array of numbers; x: a sibling array of the same length named like a
 * position, if the parent has one. */
static void series_of_numbers(struct finder *f, const char *path, const struct tether_json *a,
			      const struct tether_json *parent)
{
	const char *leaf = strrchr(path, '.') ? strrchr(path, '.') + 1 : path;
	const struct tether_json *xa = NULL;
	const char *xkey = "index";
	for (size_t k = 0; x_keys[k] && parent && !xa; k++) {
		const struct tether_json *v = tether_json_get(parent, x_keys[k]);
		if (v && v != a && v->type == TETHER_JSON_ARRAY && v->count == a->count) {
			xa = v;
			xkey = x_keys[k];
		}
	}
	for (size_t k = 0; x_keys[k]; k++)
		if (xa && strcmp(leaf, x_keys[k]) == 0)
			return;   /* this is the x of its siblings */
	double *x = xa ? xcalloc(a->count, sizeof *x) : NULL, *y = xcalloc(a->count, sizeof *y);
	for (size_t i = 0; i < a->count; i++) {
		y[i] = a->items[i]->type == TETHER_JSON_NUMBER ? a->items[i]->number : NAN;
		if (x)
			x[i] = xa->items[i]->type == TETHER_JSON_NUMBER ? xa->items[i]->number : NAN;
	}
	char *xl = x ? x_label(xkey, x, a->count) : xstrdup(xkey);
	report_svg_line(f->b, path, xl, x, y, a->count);
	f->plots++;
	free(xl);
	free(x);
	free(y);
}

static void find(struct finder *f, const char *path, const struct tether_json *j, const struct tether_json *parent)
{
	if (j->type == TETHER_JSON_ARRAY) {
		if (j->count < MIN_SERIES)
			return;
		size_t nnum = 0, nobj = 0;
		for (size_t i = 0; i < j->count; i++) {
			nnum += j->items[i]->type == TETHER_JSON_NUMBER;
			nobj += j->items[i]->type == TETHER_JSON_OBJECT;
		}
		if (nnum == j->count)
			series_of_numbers(f, path, j, parent);
		else if (nobj == j->count)
			series_of_objects(f, path, j);
		return;
	}
	if (j->type != TETHER_JSON_OBJECT)
		return;
	if (isfinite(num_or_nan(j, "p50")) && (isfinite(num_or_nan(j, "p99")) || isfinite(num_or_nan(j, "max")))) {
		add_ladder_row(f, *path ? path : "(top)", j);
		return;
	}
	for (size_t i = 0; i < j->count; i++) {
		const char *key = j->keys[i];
		const struct tether_json *v = j->items[i];
		char *sub = *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
		if (v->type == TETHER_JSON_NUMBER && strncmp(key, "ratio", 5) == 0 && !ends_with(key, "_target")) {
			char *tkey = xasprintf("%s_target", key);
			double target = num_or_nan(j, tkey);
			if (!isfinite(target))
				target = num_or_nan(j, "ratio_target");
			report_svg_ratio(f->b, sub, v->number, target);
			f->plots++;
			free(tkey);
		} else {
			find(f, sub, v, j);
		}
		free(sub);
	}
}

unsigned report_json_plots(struct tether_buf *b, const struct tether_json *root)
{
	/* The walk draws ratios and series as it meets them, into a buffer of
	 * its own, and collects the distributions: those come first on the page,
	 * one ladder per unit. */
	struct tether_buf rest;
	tether_buf_init(&rest);
	struct finder f = {.b = &rest};
	find(&f, "", root, NULL);
	for (size_t g = 0; g < f.ngroups; g++) {
		struct ladder_group *lg = &f.groups[g];
		report_svg_ladder(b, *lg->unit ? "distributions" : "distributions (counts)", lg->unit, lg->rows, lg->n);
		f.plots++;
		for (size_t i = 0; i < lg->n; i++)
			free(lg->rows[i].label);
		free(lg->rows);
		free(lg->unit);
	}
	free(f.groups);
	if (rest.oom)
		b->oom = true;
	else if (rest.len)
		tether_buf_append(b, rest.data, rest.len);
	tether_buf_done(&rest);
	return f.plots;
}

/* ---- stress.json, soak.json ---------------------------------------------------- */

/* Numbers worth a place in the summary line, when a document has them. */
static const struct {
	const char *path, *label, *unit;
} headline[] = {
	{"cycles.run", "cycles", ""},
	{"cycles.per_s", "", "cycles/s"},
	{"latency_ms.cycle.p50", "cycle p50", "ms"},
	{"ratio_cycle_p50_to_floor_p50", "cycle/floor", ""},
	{"duration_s", "took", "s"},
	{"virtual_s", "virtual", "s"},
	{"wall_s", "in", "s"},
	{"tether.incarnations", "incarnations", ""},
	{"failures_total", "failures", ""},
	{"failures", "failures", ""},
	{"seed", "seed", ""},
};

static char *summary_text(const struct tether_json *root, const char *verdict)
{
	struct tether_buf t;
	tether_buf_init(&t);
	tether_buf_puts(&t, verdict);
	for (size_t i = 0; i < sizeof headline / sizeof headline[0]; i++) {
		const struct tether_json *v = tether_json_path(root, headline[i].path);
		if (!v || v->type != TETHER_JSON_NUMBER)
			continue;
		tether_buf_printf(&t, ", %s%s", headline[i].label, *headline[i].label ? " " : "");
		if (v->is_int)   /* a seed must read exactly as it replays */
			tether_buf_printf(&t, "%lld", (long long)v->integer);
		else
			report_num(&t, v->number);
		if (*headline[i].unit)
			tether_buf_printf(&t, " %s", headline[i].unit);
	}
	if (t.oom)
		lab_die("out of memory");
	return t.data;
}

struct report_summary report_section_bench(struct tether_buf *b, const char *dir, const char *file, const char *id,
					   const char *title)
{
	struct report_summary s = {.state = REPORT_NOT_RUN};
	tether_buf_printf(b, "<section id=\"%s\"><h2>", id);
	report_esc(b, title);
	tether_buf_puts(b, " <span class=\"src\">(");
	report_link(b, dir, file, file);
	tether_buf_puts(b, ")</span></h2>\n");
	size_t len;
	int err;
	char *text = report_read(dir, file, &len, &err);
	struct tether_json *root = NULL;
	int r = text ? tether_json_parse(text, len, 64, &root) : -err;
	if (!text && err == ENOENT) {
		tether_buf_printf(b, "<p class=\"none\">not run: no %s here.</p>", file);
		s.text = xstrdup("not run");
	} else if (r < 0 || root->type != TETHER_JSON_OBJECT) {
		tether_buf_printf(b, "<p class=\"bad\">%s cannot be read: %s.</p>", file,
				  r < 0 ? strerror(-r) : "not a JSON object");
		s.state = REPORT_BAD;
		s.text = xasprintf("%s unreadable", file);
	} else {
		const struct tether_json *passed = tether_json_get(root, "passed");
		bool known = passed && passed->type == TETHER_JSON_BOOL;
		s.state = !known ? REPORT_INFO : passed->boolean ? REPORT_OK : REPORT_BAD;
		const char *verdict = !known ? "no verdict" : passed->boolean ? "PASS" : "FAIL";
		s.text = summary_text(root, verdict);
		tether_buf_printf(b, "<p class=\"%s verdict\">", report_state_class(s.state));
		report_esc(b, s.text);
		tether_buf_puts(b, "</p>\n");
		/* the failure and the replay command, where a reader looks first */
		for (size_t i = 0; i < root->count; i++) {
			const struct tether_json *v = root->items[i];
			if ((!strstr(root->keys[i], "fail") && !strstr(root->keys[i], "replay")) ||
			    (v->type != TETHER_JSON_STRING && v->type != TETHER_JSON_OBJECT))
				continue;
			tether_buf_puts(b, "<div class=\"first\"><b>");
			report_esc(b, root->keys[i]);
			tether_buf_puts(b, "</b>");
			if (v->type == TETHER_JSON_STRING) {
				tether_buf_puts(b, "<pre>");
				report_esc(b, v->string);
				tether_buf_puts(b, "</pre>");
			} else {
				report_json_value(b, v, 1);
			}
			tether_buf_puts(b, "</div>\n");
		}
		tether_buf_puts(b, "<div class=\"plots\">");
		if (report_json_plots(b, root) == 0)
			tether_buf_puts(b, "<p class=\"note\">nothing to plot in this file.</p>");
		tether_buf_puts(b, "</div>\n<details open=\"open\"><summary>every field</summary>");
		report_json_value(b, root, 0);
		tether_buf_puts(b, "</details>\n");
	}
	tether_buf_puts(b, "</section>\n");
	if (root)
		tether_json_free(root);
	free(text);
	return s;
}
