/* SPDX-License-Identifier: MIT */
/* htmlreport_svg.c — the report's plots, as inline SVG (see report.h).
 *
 * Drawn here rather than by a JavaScript library because the page must open
 * anywhere, offline, years later, from a CI artifact: a plot is a few
 * hundred bytes of markup. Every chart has a fixed coordinate system (a
 * viewBox) and scales with the page; every mark carries a <title>, which
 * browsers show as a tooltip with the exact numbers.
 *
 * Scales: a latency distribution spans decades (a 2 ms median, a 900 ms
 * outlier under load), so the ladder switches to a log axis when max/min
 * exceeds LOG_SPREAD; sample series (RSS, fds over cycles) use a linear axis
 * fitted to their range, not from zero, because the question they answer is
 * "does it grow", and a 4 kB creep on 3 MB is invisible from zero.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "report/report.h"

#define W 640.0           /* viewBox width of every chart */
#define LOG_SPREAD 20.0   /* max/min beyond which the ladder's axis is logarithmic */
#define MAX_POINTS 1200   /* a longer series is reduced to per-bucket min and max */
#define MAX_TICKS 40      /* loops over ticks stop here whatever the numbers (1e16 + 0.5 == 1e16) */

struct axis {
	double lo, hi;   /* domain */
	double x0, x1;   /* range, in viewBox units */
	bool log;
};

/* Numbers at the edge of a double's range make no drawable axis. */
static bool axis_ok(const struct axis *a)
{
	return isfinite(a->lo) && isfinite(a->hi) && a->hi > a->lo && isfinite(a->hi - a->lo) &&
	       (!a->log || a->lo > 0);
}

static double axis_map(const struct axis *a, double v)
{
	double t;
	if (a->log)
		t = (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
	else
		t = (v - a->lo) / (a->hi - a->lo);
	if (t < 0)
		t = 0;
	if (t > 1)
		t = 1;
	return a->x0 + t * (a->x1 - a->x0);
}

/* 1, 2 or 5 times a power of ten, near range/ticks */
static double nice_step(double range, int ticks)
{
	double raw = range / ticks, mag = pow(10, floor(log10(raw))), f = raw / mag;
	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/* Linear domain covering [lo, hi] on whole steps (a flat series gets room). */
static void linear_domain(struct axis *a, double lo, double hi, int ticks, double *ret_step)
{
	if (!(hi > lo)) {
		double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
		lo -= pad;
		hi += pad;
	}
	double step = nice_step(hi - lo, ticks);
	a->lo = floor(lo / step) * step;
	a->hi = ceil(hi / step) * step;
	if (!(a->hi > a->lo))
		a->hi = a->lo + step;
	a->log = false;
	*ret_step = step;
}

/* Presentation attributes rather than the page's CSS: a chart copied out of
 * the page (or shown by a viewer that drops <style>) still looks the same. */
static const char *text_style(const char *cls)
{
	return !strcmp(cls, "ttl") ? "font-weight=\"bold\" font-size=\"12\"" : !strcmp(cls, "lbl") ? "fill=\"#222\""
											    : "fill=\"#666\"";
}

static void text(struct tether_buf *b, double x, double y, const char *anchor, const char *cls, const char *s)
{
	tether_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" %s>", x, y, anchor, text_style(cls));
	report_esc(b, s);
	tether_buf_puts(b, "</text>");
}

static void text_num(struct tether_buf *b, double x, double y, const char *anchor, double v)
{
	tether_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#666\">", x, y, anchor);
	report_num(b, v);
	tether_buf_puts(b, "</text>");
}

static void svg_open_w(struct tether_buf *b, double w, double h, const char *title)
{
	tether_buf_printf(b, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
			     "width=\"%.0f\" height=\"%.0f\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\"><title>",
			  w, h, w, h);
	report_esc(b, title);
	tether_buf_puts(b, "</title>");
	text(b, 8, 16, "start", "ttl", title);
}

static void svg_open(struct tether_buf *b, double h, const char *title)
{
	svg_open_w(b, W, h, title);
}

static void svg_close(struct tether_buf *b)
{
	tether_buf_puts(b, "</svg></figure>\n");
}

/* Vertical grid lines and labels of a horizontal axis at y0..y1. */
static void x_ticks(struct tether_buf *b, const struct axis *a, double y0, double y1)
{
	if (a->log) {
		double decades = log10(a->hi) - log10(a->lo);
		for (int e = 0; e < MAX_TICKS && a->lo * pow(10, e) <= a->hi * 1.0001; e++)
			for (int m = 1; m < 10; m++) {
				double d = a->lo * pow(10, e);
				double v = d * m;
				if (v > a->hi * 1.0001 || (m != 1 && (decades > 3 || (m != 2 && m != 5))))
					continue;
				double x = axis_map(a, v);
				tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", x,
						  y0, x, y1);
				text_num(b, x, y1 + 13, "middle", v);
			}
		return;
	}
	double step = nice_step(a->hi - a->lo, 5);
	for (int i = 0; i < MAX_TICKS && a->lo + i * step <= a->hi + step / 1000; i++) {
		double v = a->lo + i * step, x = axis_map(a, v);
		tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", x, y0, x,
				  y1);
		text_num(b, x, y1 + 13, "middle", fabs(v) < step / 1000 ? 0 : v);
	}
}

/* "p50 1.2 · p99 3.4": the numbers of a row, for its tooltip and its label. */
static void row_numbers(struct tether_buf *b, const struct report_ladder_row *r, const char *unit)
{
	static const char *const names[] = {"n", "min", "p50", "p99", "max", "mean"};
	const double v[] = {r->n, r->min, r->p50, r->p99, r->max, r->mean};
	bool first = true;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		if (!isfinite(v[i]))
			continue;
		tether_buf_printf(b, "%s%s ", first ? "" : ", ", names[i]);
		report_num(b, v[i]);
		first = false;
	}
	if (*unit) {
		tether_buf_puts(b, " (");
		report_esc(b, unit);
		tether_buf_puts(b, ")");
	}
}

void report_svg_ladder(struct tether_buf *b, const char *title, const char *unit, const struct report_ladder_row *rows,
		       size_t n)
{
	const double row_h = 24, top = 28, label_w = 205, right_w = 90;
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		const double v[] = {rows[i].min, rows[i].p50, rows[i].p99, rows[i].max, rows[i].mean};
		for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
			if (isfinite(v[k])) {
				lo = fmin(lo, v[k]);
				hi = fmax(hi, v[k]);
			}
	}
	if (!n || !isfinite(lo))
		return;
	struct axis a = {.x0 = label_w, .x1 = W - right_w};
	if (lo > 0 && hi / lo > LOG_SPREAD) {
		a.log = true;
		a.lo = pow(10, floor(log10(lo)));
		a.hi = pow(10, ceil(log10(hi)));
	} else {
		/* from zero, unless that squeezes the rows into a sliver (two deciles
		 * of RSS around 3.4 MB: the question is whether they differ) */
		double step;
		linear_domain(&a, lo > 0 && lo < hi / 2 ? 0 : lo, hi, 5, &step);
	}
	if (!axis_ok(&a))
		return;
	double plot_bottom = top + row_h * (double)n, h = plot_bottom + 42;
	char *full = xasprintf("%s%s%s%s", title, *unit ? " (" : "", unit, *unit ? ")" : "");
	svg_open(b, h, full);
	free(full);
	x_ticks(b, &a, top, plot_bottom);
	for (size_t i = 0; i < n; i++) {
		const struct report_ladder_row *r = &rows[i];
		double y = top + row_h * (double)i + row_h / 2;
		tether_buf_puts(b, "<g><title>");
		report_esc(b, r->label);
		tether_buf_puts(b, ": ");
		row_numbers(b, r, unit);
		tether_buf_puts(b, "</title>");
		/* a long path keeps its last components: "...rss_kb.first_decile" */
		const char *tail = r->label;
		while (strlen(tail) > 30 && strchr(tail, '.'))
			tail = strchr(tail, '.') + 1;
		char *label = tail == r->label ? xstrdup(r->label) : xasprintf("...%.27s", tail);
		text(b, label_w - 8, y + 4, "end", "lbl", label);
		free(label);
		if (isfinite(r->min) && isfinite(r->max))
			tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" stroke-width=\"1.2\"/>",
					  axis_map(&a, r->min), y, axis_map(&a, r->max), y);
		if (isfinite(r->p50) && isfinite(r->p99)) {
			double x0 = axis_map(&a, r->p50), x1 = axis_map(&a, r->p99);
			tether_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"12\" fill=\"#9dbbe0\" stroke=\"#3d6aa5\"/>", x0,
					  y - 6, fmax(x1 - x0, 1.5));
		}
		if (isfinite(r->p50))
			tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#123f7a\" stroke-width=\"2\"/>",
					  axis_map(&a, r->p50), y - 8, axis_map(&a, r->p50), y + 8);
		if (isfinite(r->mean))
			tether_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#c05000\"/>",
					  axis_map(&a, r->mean), y);
		tether_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#333\">p50 ", W - right_w + 8, y + 4);
		if (isfinite(r->p50))
			report_num(b, r->p50);
		else
			tether_buf_puts(b, "-");
		tether_buf_puts(b, "</text></g>");
	}
	text(b, label_w, h - 8, "start", "note",
	     a.log ? "log scale. line: min to max; box: p50 to p99; bar: p50; dot: mean"
		   : "line: min to max; box: p50 to p99; bar: p50; dot: mean");
	svg_close(b);
}

/* The points to draw: all of them, or per bucket of x the lowest and the
 * highest (in x order), which keeps every spike a reader must see. */
static size_t reduce(const double *x, const double *y, size_t n, double *ox, double *oy)
{
	size_t m = 0;
	if (n <= MAX_POINTS) {
		for (size_t i = 0; i < n; i++)
			if (isfinite(x[i]) && isfinite(y[i])) {
				ox[m] = x[i];
				oy[m++] = y[i];
			}
		return m;
	}
	size_t buckets = MAX_POINTS / 2;
	for (size_t k = 0; k < buckets; k++) {
		size_t from = n * k / buckets, to = n * (k + 1) / buckets, lo = n, hi = n;
		for (size_t i = from; i < to; i++) {
			if (!isfinite(x[i]) || !isfinite(y[i]))
				continue;
			if (lo == n || y[i] < y[lo])
				lo = i;
			if (hi == n || y[i] > y[hi])
				hi = i;
		}
		if (lo == n)
			continue;
		size_t first = lo < hi ? lo : hi, second = lo < hi ? hi : lo;
		ox[m] = x[first];
		oy[m++] = y[first];
		if (second != first) {
			ox[m] = x[second];
			oy[m++] = y[second];
		}
	}
	return m;
}

void report_svg_line(struct tether_buf *b, const char *title, const char *xlabel, const double *x, const double *y,
		     size_t n)
{
	double *xs = xcalloc(n ? n : 1, sizeof *xs);
	for (size_t i = 0; i < n; i++)
		xs[i] = x ? x[i] : (double)i;
	double *px = xcalloc(n ? n : 1, sizeof *px), *py = xcalloc(n ? n : 1, sizeof *py);
	size_t m = reduce(xs, y, n, px, py);
	if (m < 2)
		goto out;
	double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
	for (size_t i = 0; i < m; i++) {
		xlo = fmin(xlo, px[i]);
		xhi = fmax(xhi, px[i]);
		ylo = fmin(ylo, py[i]);
		yhi = fmax(yhi, py[i]);
	}
	const double h = 216, top = 34, bottom = h - 38, left = 64, right = W - 16;
	struct axis ax = {.x0 = left, .x1 = right, .lo = xlo, .hi = xhi > xlo ? xhi : xlo + 1};
	struct axis ay = {.x0 = bottom, .x1 = top};
	double ystep;
	linear_domain(&ay, ylo, yhi, 4, &ystep);
	if (!axis_ok(&ax) || !axis_ok(&ay))
		goto out;
	svg_open(b, h, title);
	for (int i = 0; i < MAX_TICKS && ay.lo + i * ystep <= ay.hi + ystep / 1000; i++) {
		double v = ay.lo + i * ystep, yy = axis_map(&ay, v);
		tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", left, yy,
				  right, yy);
		text_num(b, left - 6, yy + 4, "end", fabs(v) < ystep / 1000 ? 0 : v);
	}
	double xstep = nice_step(ax.hi - ax.lo, 6);
	double x_first = ceil(ax.lo / xstep) * xstep;
	for (int i = 0; i < MAX_TICKS && x_first + i * xstep <= ax.hi + xstep / 1000; i++) {
		double v = x_first + i * xstep, xx = axis_map(&ax, v);
		tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", xx, bottom,
				  xx, bottom + 4);
		text_num(b, xx, bottom + 16, "middle", v);
	}
	text(b, (left + right) / 2, h - 6, "middle", "note", xlabel);
	tether_buf_puts(b, "<polyline fill=\"none\" stroke=\"#2b63b0\" stroke-width=\"1.3\" points=\"");
	for (size_t i = 0; i < m; i++)
		tether_buf_printf(b, "%s%.1f,%.1f", i ? " " : "", axis_map(&ax, px[i]), axis_map(&ay, py[i]));
	tether_buf_puts(b, "\"><title>");
	tether_buf_printf(b, "%zu points; min ", n);
	report_num(b, ylo);
	tether_buf_puts(b, ", max ");
	report_num(b, yhi);
	tether_buf_printf(b, "; first ");
	report_num(b, py[0]);
	tether_buf_puts(b, ", last ");
	report_num(b, py[m - 1]);
	tether_buf_puts(b, "</title></polyline>");
	svg_close(b);
out:
	free(xs);
	free(px);
	free(py);
}

/* ---- histograms ------------------------------------------------------------------------- */

static const char *const palette[] = {"#2b63b0", "#c05000", "#2a8f5a", "#8a4fb0", "#b0306a", "#5a6a7a", "#a08000"};

#define HW 400.0   /* a histogram's viewBox width: three side by side on the page */

void report_svg_hist(struct tether_buf *b, const char *title, const char *unit, const struct report_hist *h, size_t n)
{
	const double hh = 230, top = 44, bottom = hh - 36, left = 40, right = HW - 12;
	double lo = INFINITY, hi = -INFINITY, ymax = 0;
	for (size_t s = 0; s < n; s++) {
		double total = 0;
		for (size_t i = 0; i < h[s].n; i++)
			total += h[s].counts[i];
		for (size_t i = 0; i < h[s].n && total > 0; i++) {
			ymax = fmax(ymax, 100 * h[s].counts[i] / total);
			if (h[s].counts[i] > 0) {
				lo = fmin(lo, h[s].edges[i]);
				hi = fmax(hi, h[s].edges[i + 1]);
			}
		}
	}
	if (!(lo > 0) || !(hi > lo) || !(ymax > 0) || !isfinite(hi))
		return;
	/* the axis on 1-2-5 steps around the data, at least a factor 4 wide */
	struct axis ax = {.x0 = left, .x1 = right, .log = true};
	static const double steps[] = {1, 2, 5};
	double e = floor(log10(lo));
	ax.lo = pow(10, e);
	for (size_t k = 0; k < 3; k++)
		if (steps[k] * pow(10, e) <= lo)
			ax.lo = steps[k] * pow(10, e);
	e = floor(log10(hi));
	ax.hi = pow(10, e + 1);
	for (int k = 2; k >= 0; k--)
		if (steps[k] * pow(10, e) >= hi)
			ax.hi = steps[k] * pow(10, e);
	if (ax.hi < ax.lo * 4)
		ax.hi = ax.lo * 4;
	struct axis ay = {.x0 = bottom, .x1 = top};
	double ystep;
	linear_domain(&ay, 0, ymax, 4, &ystep);
	if (!axis_ok(&ax) || !axis_ok(&ay))
		return;
	char *full = xasprintf("%s (%s)", title, unit);
	svg_open_w(b, HW, hh, full);
	free(full);
	for (int i = 0; i < MAX_TICKS && ay.lo + i * ystep <= ay.hi + ystep / 1000; i++) {
		double v = ay.lo + i * ystep, yy = axis_map(&ay, v);
		tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", left, yy,
				  right, yy);
		tether_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#666\">", left - 5, yy + 4);
		report_num(b, v);
		tether_buf_puts(b, "%</text>");
	}
	/* 1, 2, 5 ticks of every decade in range */
	for (int k = 0; k < MAX_TICKS; k++) {
		double d = pow(10, floor(log10(ax.lo)) + k / 3), v = d * steps[k % 3];
		if (v > ax.hi * 1.0001)
			break;
		if (v < ax.lo * 0.9999)
			continue;
		double x = axis_map(&ax, v);
		tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", x, top, x,
				  bottom + 4);
		text_num(b, x, bottom + 16, "middle", v);
	}
	text(b, (left + right) / 2, hh - 4, "middle", "note", unit);
	double lx = HW - 12;
	for (size_t s = n; s-- > 0;) {
		/* the legend, right-aligned at the top */
		bool floor_series = h[s].color < 0;
		const char *col = floor_series ? "#999" : palette[(size_t)h[s].color % (sizeof palette / sizeof palette[0])];
		double w = 6.5 * (double)strlen(h[s].label) + 18;
		lx -= w;
		tether_buf_printf(b, "<rect x=\"%.1f\" y=\"23\" width=\"10\" height=\"10\" fill=\"%s\" fill-opacity=\"%s\"/>", lx,
				  col, floor_series ? "0.5" : "0.8");
		text(b, lx + 14, 32, "start", "lbl", h[s].label);
	}
	for (size_t s = 0; s < n; s++) {
		bool floor_series = h[s].color < 0;
		const char *col = floor_series ? "#999" : palette[(size_t)h[s].color % (sizeof palette / sizeof palette[0])];
		double total = 0;
		for (size_t i = 0; i < h[s].n; i++)
			total += h[s].counts[i];
		if (!(total > 0))
			continue;
		/* a step outline, filled lightly: overlapping builds stay readable */
		tether_buf_printf(b, "<g><title>");
		report_esc(b, h[s].label);
		tether_buf_printf(b, ": %.0f samples", total);
		if (isfinite(h[s].p50)) {
			tether_buf_puts(b, ", p50 ");
			report_num(b, h[s].p50);
			tether_buf_printf(b, " %s", unit);
		}
		tether_buf_printf(b, "</title><polygon fill=\"%s\" fill-opacity=\"%s\" stroke=\"%s\" stroke-width=\"1.2\"%s points=\"",
				  col, floor_series ? "0.12" : "0.22", col, floor_series ? " stroke-dasharray=\"3 2\"" : "");
		double y0 = axis_map(&ay, 0);
		tether_buf_printf(b, "%.1f,%.1f", axis_map(&ax, h[s].edges[0]), y0);
		for (size_t i = 0; i < h[s].n; i++) {
			double y = axis_map(&ay, 100 * h[s].counts[i] / total);
			tether_buf_printf(b, " %.1f,%.1f %.1f,%.1f", axis_map(&ax, h[s].edges[i]), y,
					  axis_map(&ax, h[s].edges[i + 1]), y);
		}
		tether_buf_printf(b, " %.1f,%.1f\"/>", axis_map(&ax, h[s].edges[h[s].n]), y0);
		if (isfinite(h[s].p50) && h[s].p50 > 0) {
			double x = axis_map(&ax, h[s].p50);
			tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>",
					  x, top - 4, x, top + 6, col);
		}
		tether_buf_puts(b, "</g>");
	}
	svg_close(b);
}

/* ---- the soak's timeline ------------------------------------------------------------------ */

#define TW 1100.0   /* the timeline's viewBox width: it spans the page */

/* A small line chart of y over the timeline's x axis in [y0, y1]. */
static void strip(struct tether_buf *b, const struct axis *ax, double y0, double y1, const char *label,
		  const double *x, const double *y, size_t n, const char *color, bool integer)
{
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++)
		if (isfinite(y[i]) && y[i] > 0) {
			lo = fmin(lo, y[i]);
			hi = fmax(hi, y[i]);
		}
	text(b, ax->x0 - 8, (y0 + y1) / 2 + 4, "end", "lbl", label);
	if (!isfinite(lo))
		return;
	struct axis ay = {.x0 = y1, .x1 = y0};
	double step;
	linear_domain(&ay, lo, hi, 2, &step);
	if (integer && step < 1) {
		/* a count of descriptors has no half */
		step = 1;
		ay.lo = floor(lo) - (hi > lo ? 0 : 1);
		ay.hi = ceil(hi) + (hi > lo ? 0 : 1);
	}
	if (!axis_ok(&ay))
		return;
	for (int i = 0; i < MAX_TICKS && ay.lo + i * step <= ay.hi + step / 1000; i++) {
		double v = ay.lo + i * step, yy = axis_map(&ay, v);
		tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>", ax->x0, yy,
				  ax->x1, yy);
		text_num(b, ax->x1 + 4, yy + 4, "start", v);
	}
	tether_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.3\" points=\"", color);
	bool first = true;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]) && isfinite(y[i]) && y[i] > 0) {
			tether_buf_printf(b, "%s%.1f,%.1f", first ? "" : " ", axis_map(ax, x[i]), axis_map(&ay, y[i]));
			first = false;
		}
	tether_buf_puts(b, "\"/>");
}

void report_svg_timeline(struct tether_buf *b, const struct report_timeline *t)
{
	const double left = 96, right = TW - 50, lane_h = 16, top = 30;
	if (!(t->end_h > 0))
		return;
	struct axis ax = {.x0 = left, .x1 = right, .lo = 0, .hi = t->end_h};
	double lanes_bottom = top + lane_h * (double)t->nlanes, rss_top = lanes_bottom + 14, rss_bottom = rss_top + 70,
	       fds_top = rss_bottom + 18, fds_bottom = fds_top + 44, h = fds_bottom + 34;
	if (!t->nsamples)
		h = lanes_bottom + 34, rss_top = fds_bottom = lanes_bottom;
	svg_open_w(b, TW, h, "the soak's timeline: injected events, and tether's RSS and descriptors");
	/* incarnations of tether, alternately shaded, numbered */
	for (size_t i = 0; i < t->nsamples;) {
		size_t j = i;
		while (j < t->nsamples && t->incarnation[j] == t->incarnation[i])
			j++;
		double x0 = axis_map(&ax, t->sample_h[i]), x1 = j < t->nsamples ? axis_map(&ax, t->sample_h[j]) : right;
		if (t->incarnation[i] % 2 == 0)
			tether_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f2f5fa\"/>", x0,
					  rss_top - 6, fmax(x1 - x0, 0.5), fds_bottom - rss_top + 6);
		if (x1 - x0 > 24) {
			char lbl[24];
			snprintf(lbl, sizeof lbl, "#%u", t->incarnation[i]);
			tether_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#99a\" font-size=\"9\">%s</text>", x0 + 3,
					  rss_top + 3, lbl);
		}
		i = j;
	}
	/* hours */
	double step = nice_step(t->end_h, 12);
	step = step < 1 && t->end_h >= 6 ? 1 : step;
	for (int i = 0; i < MAX_TICKS * 10 && i * step <= t->end_h + step / 1000; i++) {
		double v = i * step, x = axis_map(&ax, v);
		tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e8e8e8\"/>", x, top - 4, x,
				  fds_bottom + 4);
		text_num(b, x, fds_bottom + 16, "middle", v);
	}
	text(b, (left + right) / 2, h - 4, "middle", "note", "virtual hours");
	for (size_t l = 0; l < t->nlanes; l++) {
		const struct report_lane *ln = &t->lanes[l];
		double y = top + lane_h * (double)l + lane_h / 2;
		const char *col = !strcmp(ln->label, "give_up") || !strcmp(ln->label, "kill_tether") ? "#b00020"
												   : palette[l % 5];
		char lbl[64];
		snprintf(lbl, sizeof lbl, "%s (%zu)", ln->label, ln->n);
		tether_buf_printf(b, "<g><title>%s events</title>", lbl);
		text(b, left - 8, y + 4, "end", "lbl", lbl);
		tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#f0f0f0\"/>", left, y, right, y);
		tether_buf_printf(b, "<path stroke=\"%s\" stroke-width=\"1.5\" d=\"", col);
		for (size_t i = 0; i < ln->n; i++)
			if (isfinite(ln->at_h[i]))
				tether_buf_printf(b, "M%.1f %.1fv10", axis_map(&ax, ln->at_h[i]), y - 5);
		tether_buf_puts(b, "\"/></g>");
	}
	if (t->nsamples) {
		strip(b, &ax, rss_top, rss_bottom, "RSS (kB)", t->sample_h, t->rss_kb, t->nsamples, "#2b63b0", false);
		strip(b, &ax, fds_top, fds_bottom, "fds", t->sample_h, t->fds, t->nsamples, "#2a8f5a", true);
	}
	if (isfinite(t->fail_h)) {
		double x = axis_map(&ax, t->fail_h);
		tether_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#b00020\" stroke-width=\"2\"/>",
				  x, top - 8, x, fds_bottom);
		text(b, x + 4, top - 10, "start", "ttl", "failure");
	}
	svg_close(b);
}
