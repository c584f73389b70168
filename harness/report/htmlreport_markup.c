/* SPDX-License-Identifier: MIT */
/* htmlreport_markup.c — the markup every section of the page is written
 * with (see report.h): escaped text, numbers as a reader wants them, links
 * to files that exist, reading and parsing a report file, a state's CSS
 * class, section headings, evidence for the matrix. On its own, so that the
 * sections do not depend on the command that assembles them.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "report/report.h"

void report_esc(struct tether_buf *b, const char *s)
{
	lab_xml_escape(b, s);
}

void report_num(struct tether_buf *b, double v)
{
	if (!isfinite(v)) {
		tether_buf_puts(b, isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf");
	} else if (v == floor(v) && fabs(v) < 1e15) {
		tether_buf_printf(b, "%.0f", v);
	} else if (fabs(v) >= 1e7 || fabs(v) < 1e-3) {
		tether_buf_printf(b, "%.4g", v);
	} else {
		char s[64];
		snprintf(s, sizeof s, "%.3f", v);
		size_t n = strlen(s);
		while (n && s[n - 1] == '0')
			n--;
		if (n && s[n - 1] == '.')
			n--;
		tether_buf_append(b, s, n);
	}
}

void report_link(struct tether_buf *b, const char *dir, const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", dir, rel);
	bool exists = access(path, F_OK) == 0;
	free(path);
	if (!exists) {
		report_esc(b, text);
		return;
	}
	/* a relative URL: the page works wherever the directory is copied */
	tether_buf_puts(b, "<a href=\"");
	for (const unsigned char *p = (const unsigned char *)rel; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("._~/-", *p))
			tether_buf_append(b, (const char *)p, 1);
		else
			tether_buf_printf(b, "%%%02X", *p);
	}
	tether_buf_puts(b, "\">");
	report_esc(b, text);
	tether_buf_puts(b, "</a>");
}

char *report_read(const char *dir, const char *name, size_t *ret_len, int *ret_err)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *text = lab_read_file(path, 64u << 20, ret_len, ret_err);
	free(path);
	return text;
}

const char *report_state_class(enum report_state s)
{
	return s == REPORT_OK ? "ok" : s == REPORT_BAD ? "bad" : s == REPORT_INFO ? "info" : "none";
}

void report_fixed(struct tether_buf *b, double v, int decimals)
{
	if (!isfinite(v))
		report_num(b, v);
	else
		tether_buf_printf(b, "%.*f", decimals, v);
}

void report_doc_load(struct report_doc *ret, const char *dir, const char *rel)
{
	*ret = (struct report_doc){.rel = xstrdup(rel)};
	size_t len;
	int err;
	ret->text = report_read(dir, rel, &len, &err);
	if (!ret->text) {
		ret->err = err;
		return;
	}
	int r = tether_json_parse(ret->text, len, 64, &ret->root);
	if (r < 0) {
		ret->root = NULL;
		ret->err = -r;
	} else if (ret->root->type != TETHER_JSON_OBJECT) {
		tether_json_free(ret->root);
		ret->root = NULL;
		ret->err = EINVAL;
		ret->not_object = true;
	}
}

void report_doc_done(struct report_doc *d)
{
	if (d->root)
		tether_json_free(d->root);
	free(d->text);
	free(d->rel);
	*d = (struct report_doc){0};
}

void report_doc_error(struct tether_buf *b, const struct report_doc *d)
{
	tether_buf_puts(b, "<p class=\"bad\">");
	report_esc(b, d->rel);
	tether_buf_printf(b, " cannot be read: %s.</p>\n", d->not_object ? "not a JSON object" : strerror(d->err));
}

const char *report_rel(const struct report_ctx *c, const char *path)
{
	size_t n = c->top ? strlen(c->top) : 0;
	if (n && strncmp(path, c->top, n) == 0 && path[n] == '/' && path[n + 1])
		return path + n + 1;
	return path;
}

void report_evidence_add(struct report_ctx *c, const char *gid, enum report_state st, const char *anchor,
			 const char *fmt, ...)
{
	struct report_evidence e = {.state = st, .anchor = anchor};
	snprintf(e.gid, sizeof e.gid, "%s", gid);
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&e.text, fmt, ap) < 0)
		lab_die("out of memory");
	va_end(ap);
	xappend(&c->ev, &c->nev, &e, sizeof e);
}

double report_jnum(const struct tether_json *o, const char *path)
{
	const struct tether_json *v = o ? tether_json_path(o, path) : NULL;
	return v && v->type == TETHER_JSON_NUMBER ? v->number : NAN;
}

const char *report_jstr(const struct tether_json *o, const char *path)
{
	const struct tether_json *v = o ? tether_json_path(o, path) : NULL;
	return v && v->type == TETHER_JSON_STRING ? v->string : NULL;
}

int report_jbool(const struct tether_json *o, const char *path)
{
	const struct tether_json *v = o ? tether_json_path(o, path) : NULL;
	return v && v->type == TETHER_JSON_BOOL ? v->boolean : -1;
}

struct report_summary report_summary_make(enum report_state st, const char *value, const char *detail_fmt, ...)
{
	struct report_summary s = {.state = st, .value = xstrdup(value)};
	if (detail_fmt) {
		va_list ap;
		va_start(ap, detail_fmt);
		if (vasprintf(&s.detail, detail_fmt, ap) < 0)
			lab_die("out of memory");
		va_end(ap);
	}
	return s;
}

void report_append(char **s, const char *fmt, ...)
{
	char *more;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&more, fmt, ap) < 0)
		lab_die("out of memory");
	va_end(ap);
	char *joined = xasprintf("%s%s", *s, more);
	free(more);
	free(*s);
	*s = joined;
}

void report_section_open(struct tether_buf *b, const struct report_ctx *c, const char *id, const char *title,
			 const char *const *files, const char *how)
{
	tether_buf_printf(b, "<section id=\"%s\"><h2>", id);
	report_esc(b, title);
	tether_buf_puts(b, " <span class=\"src\">");
	for (size_t i = 0; files && files[i]; i++) {
		if (i)
			tether_buf_puts(b, ", ");
		report_link(b, c->dir, files[i], files[i]);
	}
	if (how) {
		tether_buf_puts(b, files && files[0] ? " · " : "");
		report_esc(b, how);
	}
	tether_buf_puts(b, "</span></h2>\n");
}
