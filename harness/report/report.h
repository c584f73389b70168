/* SPDX-License-Identifier: MIT */
/* report.h — `harness report`: REPORT/index.html from whatever the lab
 * left in the reports directory (see reports/README.md for who writes what).
 *
 * The page leads with what the lab proves: a matrix of the guarantees of
 * SPEC §8 against the scenarios that declare them (their `guarantees` line,
 * carried in results.json) and the other evidence (stress, soak, the fault
 * enumeration, memcheck), then the mutants caught, the enumeration per
 * failure point and the coverage of src/; then the performance: the stress
 * run of every build measured (the production build first) against its
 * target, the soak's timeline, the benchmark tables of ci/bench, latency
 * histograms; then every scenario and the memcheck reports. Numbers a reader
 * needs are shown; raw JSON fields are not (the files are linked).
 *
 * The page is one self-contained file: no script, no stylesheet or font from
 * the network, plots drawn here as inline SVG. It is written as polyglot
 * markup (XHTML syntax that HTML parsers read the same way) so that an XML
 * parser can prove it well-formed: harness/report/htmlreport-check does.
 * Every input may be missing, truncated or malformed: a missing part says
 * "not run", a malformed one says why, and the rest of the page is written.
 *
 * The parts:
 *   htmlreport.c            the command, the page, its headline cards, the scenario list
 *   htmlreport_guarantees.c the guarantee matrix (and the failures under it)
 *   htmlreport_proofs.c     mutants (mutants.json or mutants.txt), the enumeration (faults.json)
 *   htmlreport_files.c      coverage/ (lcov tracefile or lcov --summary) and leaks/ (memcheck XML)
 *   htmlreport_stress.c     stress.json of each build, latency histograms
 *   htmlreport_soak.c       soak.json (its timeline), bench/ (ci/bench's tables)
 *   htmlreport_svg.c        the plots
 *   htmlreport_markup.c     escaping, numbers, links, reading and parsing the files
 */
#ifndef TETHER_HARNESS_REPORT_H
#define TETHER_HARNESS_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

/* What a part of the report amounts to. */
enum report_state { REPORT_NOT_RUN, REPORT_OK, REPORT_BAD, REPORT_INFO };

/* A headline card at the top of the page: "48 / 49" and "passed; 1 skipped". */
struct report_summary {
	enum report_state state;
	char *value;    /* malloc'd plain text (escaped when rendered), short */
	char *detail;   /* malloc'd plain text, or NULL */
};

/* Evidence for a guarantee other than its scenarios: "stress (production):
 * 1000 cycles, fds and RSS flat", found by the section that reads it. */
struct report_evidence {
	char gid[8];                /* "G6" */
	enum report_state state;
	char *text;                 /* malloc'd plain text */
	const char *anchor;         /* the section it comes from ("stress") */
};

/* What the sections share while the page is made. */
struct report_ctx {
	const char *dir;            /* the reports directory */
	const char *top;            /* the source tree's top: paths under it are shown relative (or NULL) */
	struct report_evidence *ev; /* evidence found so far */
	size_t nev;
};

/* One input file, read and parsed once. */
struct report_doc {
	char *rel;                  /* its name under the reports directory: "musl/stress.json" */
	char *text;
	struct tether_json *root;   /* a JSON object, or NULL */
	int err;                    /* 0 parsed; ENOENT missing; else why not (errno) */
	bool not_object;            /* parsed, but not a JSON object (err EINVAL) */
};

/* ---- htmlreport_markup.c ---------------------------------------------------------- */

/* Appends s escaped for HTML text and attribute values. */
void report_esc(struct tether_buf *b, const char *s);
/* Appends a number the way a reader wants it: integers exactly, others with
 * at most 3 decimals (or 4 significant digits when tiny or huge). */
void report_num(struct tether_buf *b, double v);
/* The same with a fixed number of decimals ("2.50"). */
void report_fixed(struct tether_buf *b, double v, int decimals);
/* <a href="rel">text</a> when dir/rel exists, else the text alone. */
void report_link(struct tether_buf *b, const char *dir, const char *rel, const char *text);
/* Reads dir/name (at most 64 MiB). NULL and *ret_err (errno) if it cannot. */
char *report_read(const char *dir, const char *name, size_t *ret_len, int *ret_err);
/* Reads and parses dir/rel; ret->err says what became of it. */
void report_doc_load(struct report_doc *ret, const char *dir, const char *rel);
void report_doc_done(struct report_doc *d);
/* "results.json cannot be read: Invalid argument" for a doc that did not load. */
void report_doc_error(struct tether_buf *b, const struct report_doc *d);
/* A short CSS class for a state: "ok", "bad", "none", "info". */
const char *report_state_class(enum report_state s);
/* path relative to the source tree when it is under it, else path itself. */
const char *report_rel(const struct report_ctx *c, const char *path);
/* Adds evidence for guarantee gid (text: printf format). */
__attribute__((format(printf, 5, 6))) void report_evidence_add(struct report_ctx *c, const char *gid,
							       enum report_state st, const char *anchor,
							       const char *fmt, ...);
/* JSON access: a number (NaN when missing), a string (NULL), a boolean (-1 missing). */
double report_jnum(const struct tether_json *o, const char *path);
const char *report_jstr(const struct tether_json *o, const char *path);
int report_jbool(const struct tether_json *o, const char *path);
/* A summary's value and detail (detail: printf format, may be NULL). */
__attribute__((format(printf, 3, 4))) struct report_summary report_summary_make(enum report_state st,
										  const char *value,
										  const char *detail_fmt, ...);
/* Appends to a malloc'd string (printf format). */
__attribute__((format(printf, 2, 3))) void report_append(char **s, const char *fmt, ...);
/* "<h2>" of a section: its title and the files it comes from (links). */
void report_section_open(struct tether_buf *b, const struct report_ctx *c, const char *id, const char *title,
			 const char *const *files, const char *how);

/* ---- htmlreport_guarantees.c ------------------------------------------------------ */

/* The matrix: a row per guarantee of common/guarantees.def with its
 * scenarios (from results, which may be NULL) and the evidence in c; then
 * the scenarios that prove no guarantee and those that declare nothing;
 * then the failed scenarios' messages. */
struct report_summary report_section_guarantees(struct tether_buf *b, struct report_ctx *c,
						const struct report_doc *results);

/* ---- htmlreport_proofs.c ------------------------------------------------------------ */

struct report_summary report_section_mutants(struct tether_buf *b, struct report_ctx *c);
struct report_summary report_section_enumeration(struct tether_buf *b, struct report_ctx *c);

/* ---- htmlreport_files.c --------------------------------------------------------- */

struct report_summary report_section_coverage(struct tether_buf *b, struct report_ctx *c);
struct report_summary report_section_leaks(struct tether_buf *b, struct report_ctx *c);

/* ---- htmlreport_stress.c, htmlreport_soak.c ---------------------------------------- */

/* The stress.json files of the directory (REPORT/stress.json and
 * REPORT/ * /stress.json), the production build first. */
size_t report_stress_load(const struct report_ctx *c, struct report_doc **ret);
/* "production build (static, no fault points)" or "lab build (...)" */
char *report_build_label(const struct report_ctx *c, const struct report_doc *d);
bool report_build_is_production(const struct report_doc *d);
struct report_summary report_section_stress(struct tether_buf *b, struct report_ctx *c, struct report_doc *docs,
					    size_t n);
struct report_summary report_section_soak(struct tether_buf *b, struct report_ctx *c);
struct report_summary report_section_bench(struct tether_buf *b, struct report_ctx *c);
void report_section_latency(struct tether_buf *b, struct report_ctx *c, struct report_doc *docs, size_t n);

/* ---- htmlreport_svg.c ----------------------------------------------------------- */

/* One row of a percentile ladder: a line from min to max, a box from p50
 * to p99, a tick at the mean (each may be absent: NaN). */
struct report_ladder_row {
	char *label;
	double n, min, p50, p99, max, mean;
};
void report_svg_ladder(struct tether_buf *b, const char *title, const char *unit, const struct report_ladder_row *rows,
		       size_t n);

/* A histogram on a log axis: bins [edges[i], edges[i+1]) with counts[i]. */
struct report_hist {
	const char *label;
	const double *edges;     /* n + 1 */
	const double *counts;    /* n */
	size_t n;
	double p50;              /* marked when finite */
	int color;               /* the series' color: its build's index (the same in every chart); -1: grey, dashed */
};
/* Several histograms over one log axis, each as the share of its samples
 * per bin (builds with different sample counts compare), in the order given. */
void report_svg_hist(struct tether_buf *b, const char *title, const char *unit, const struct report_hist *h, size_t n);

/* A line chart of y over x (n points; x may be NULL: 0, 1, ...). */
void report_svg_line(struct tether_buf *b, const char *title, const char *xlabel, const double *x, const double *y,
		     size_t n);

/* The soak's timeline over [0, end_h] hours: a lane of ticks per event kind,
 * then tether's RSS and fds over the same axis, incarnations alternately
 * shaded, the failure (fail_h, NaN: none) marked. */
struct report_lane {
	const char *label;
	double *at_h;            /* event times, hours */
	size_t n;
};
struct report_timeline {
	double end_h, fail_h;
	const struct report_lane *lanes;
	size_t nlanes;
	const double *sample_h, *rss_kb, *fds;   /* nsamples each */
	const unsigned *incarnation;
	size_t nsamples;
};
void report_svg_timeline(struct tether_buf *b, const struct report_timeline *t);

#endif
