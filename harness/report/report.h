/* SPDX-License-Identifier: MIT */
/* report.h — `harness report`: REPORT/index.html from whatever the lab
 * left in the reports directory (see reports/README.md for who writes what).
 *
 * The page is one self-contained file: no script, no stylesheet or font from
 * the network, plots drawn here as inline SVG. It is written as polyglot
 * markup (XHTML syntax that HTML parsers read the same way) so that an XML
 * parser can prove it well-formed: harness/report/htmlreport-check does.
 *
 * Every input may be missing, truncated, malformed or of a newer shape than
 * this code knows: a missing part says "not run", a malformed one says why,
 * and fields nobody told us about are rendered generically (tables of their
 * values) rather than dropped.
 *
 * The parts:
 *   htmlreport.c        the command, the page, the summary, results.json/junit.xml
 *   htmlreport_markup.c escaping, numbers, links, reading a report file
 *   htmlreport_json.c   generic JSON -> tables, stress.json and soak.json (finds
 *                       what can be plotted: percentile stats, ratios, series)
 *   htmlreport_svg.c    the plots
 *   htmlreport_files.c  coverage/ (lcov tracefile totals) and leaks/ (memcheck XML)
 */
#ifndef TETHER_HARNESS_REPORT_H
#define TETHER_HARNESS_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

/* What a part of the report amounts to, for the summary table at the top. */
enum report_state { REPORT_NOT_RUN, REPORT_OK, REPORT_BAD, REPORT_INFO };

struct report_summary {
	enum report_state state;
	char *text;   /* malloc'd, plain text (escaped when rendered) */
};

/* ---- htmlreport_markup.c ---------------------------------------------------------- */

/* Appends s escaped for HTML text and attribute values. */
void report_esc(struct tether_buf *b, const char *s);
/* Appends a number the way a reader wants it: integers exactly, others with
 * at most 3 decimals (or 4 significant digits when tiny or huge). */
void report_num(struct tether_buf *b, double v);
/* <a href="rel">text</a> when dir/rel exists, else the text alone. */
void report_link(struct tether_buf *b, const char *dir, const char *rel, const char *text);
/* Reads dir/name (at most 64 MiB). NULL and *ret_err (errno) if it cannot. */
char *report_read(const char *dir, const char *name, size_t *ret_len, int *ret_err);
/* A short CSS class for a state: "ok", "bad", "none", "info". */
const char *report_state_class(enum report_state s);

/* ---- htmlreport_json.c ---------------------------------------------------------- */

/* Any JSON value as HTML: scalars inline, objects as key/value tables (a
 * table with a row per member when the members are alike), arrays of
 * objects as tables (the first rows when long). */
void report_json_value(struct tether_buf *b, const struct tether_json *j, unsigned depth);
/* The members of an object as a key/value table, but for the keys in skip
 * (NULL-terminated; skip may be NULL). Nothing when none is left. */
void report_json_members(struct tether_buf *b, const struct tether_json *obj, const char *const *skip);
/* The plots that can be found in a benchmark's JSON: percentile statistics
 * (objects with p50 and p99/max) as ladders, grouped by unit; ratio fields
 * against their target; arrays of samples (numbers, or objects with numeric
 * fields) as lines over cycles or time. Returns how many plots it drew. */
unsigned report_json_plots(struct tether_buf *b, const struct tether_json *root);
/* The section for stress.json or soak.json: file "stress.json", title. */
struct report_summary report_section_bench(struct tether_buf *b, const char *dir, const char *file, const char *id,
					   const char *title);

/* ---- htmlreport_svg.c ----------------------------------------------------------- */

/* One row of a percentile ladder: a line from min to max, a box from p50
 * to p99, a tick at the mean (each may be absent: NaN). */
struct report_ladder_row {
	char *label;
	double n, min, p50, p99, max, mean;
};
void report_svg_ladder(struct tether_buf *b, const char *title, const char *unit, const struct report_ladder_row *rows,
		       size_t n);

/* A ratio against a target (target NaN: none): a bar with the target line. */
void report_svg_ratio(struct tether_buf *b, const char *title, double ratio, double target);

/* A line chart of y over x (n points; x may be NULL: 0, 1, ...). */
void report_svg_line(struct tether_buf *b, const char *title, const char *xlabel, const double *x, const double *y,
		     size_t n);

/* ---- htmlreport_files.c --------------------------------------------------------- */

struct report_summary report_section_coverage(struct tether_buf *b, const char *dir);
struct report_summary report_section_leaks(struct tether_buf *b, const char *dir);

#endif
