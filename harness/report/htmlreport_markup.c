/* SPDX-License-Identifier: MIT */
/* htmlreport_markup.c — the markup every section of the page is written
 * with (see report.h): escaped text, numbers as a reader wants them, links
 * to files that exist, reading a report file, a state's CSS class. On its
 * own, so that the sections (htmlreport_json.c, htmlreport_svg.c,
 * htmlreport_files.c) do not depend on the command that assembles them.
 */
#include "config.h"

#include <math.h>
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
