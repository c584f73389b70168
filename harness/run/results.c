/* SPDX-License-Identifier: MIT */
/* report.c — results.json and junit.xml (see report.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "common/common.h"
#include "run/run.h"
#include "json.h"

static const char *status_name(enum lab_status s)
{
	return s == LAB_PASS ? "pass" : s == LAB_FAIL ? "fail" : "skip";
}

static void json_str_or_null(struct tether_buf *b, const char *s)
{
	if (s)
		tether_buf_json_string(b, s);
	else
		tether_buf_puts(b, "null");
}

static void render_json(struct tether_buf *b, const struct results *r)
{
	char when[40];
	tether_format_iso8601(r->started_wall_ns, false, when, sizeof when);
	tether_buf_printf(b, "{\"format\":\"tether-lab-results/1\",\"started_at\":\"%s\",\"duration_s\":%.3f,", when,
			  r->duration_s);
	tether_buf_printf(b, "\"seed\":%llu,\"tether\":", (unsigned long long)r->seed);
	json_str_or_null(b, r->tether);
	tether_buf_printf(b, ",\"valgrind\":%s,\"jobs\":%u,\"passed\":%u,\"failed\":%u,\"skipped\":%u,\"scenarios\":[",
			  r->valgrind ? "true" : "false", r->jobs, r->passed, r->failed, r->skipped);
	for (size_t i = 0; i < r->n; i++) {
		const struct results_entry *e = &r->entries[i];
		tether_buf_printf(b, "%s\n{\"name\":", i ? "," : "");
		tether_buf_json_string(b, e->name);
		tether_buf_puts(b, ",\"file\":");
		tether_buf_json_string(b, e->file);
		tether_buf_printf(b, ",\"status\":\"%s\",\"duration_s\":%.3f,\"location\":", status_name(e->res.status),
				  e->res.duration_s);
		json_str_or_null(b, e->res.location);
		tether_buf_puts(b, ",\"message\":");
		json_str_or_null(b, e->res.message);
		tether_buf_puts(b, ",\"details\":[");
		if (e->res.details) {
			char *copy = xstrdup(e->res.details), **lines;
			size_t n = lab_split_lines(copy, &lines);
			for (size_t k = 0; k < n; k++) {
				if (k)
					tether_buf_puts(b, ",");
				tether_buf_json_string(b, lines[k]);
			}
			free(lines);
			free(copy);
		}
		tether_buf_puts(b, "],\"run_id\":");
		json_str_or_null(b, e->run_id);
		tether_buf_puts(b, ",\"dir\":");
		json_str_or_null(b, e->res.dir);
		/* what it proves (`guarantees`): [] for `guarantees none`, null when
		 * it says nothing or did not parse */
		tether_buf_puts(b, ",\"guarantees\":");
		if (e->scn && e->scn->guarantees_declared) {
			tether_buf_puts(b, "[");
			for (size_t k = 0; k < e->scn->nguarantees; k++) {
				if (k)
					tether_buf_puts(b, ",");
				tether_buf_json_string(b, e->scn->guarantees[k]);
			}
			tether_buf_puts(b, "]");
		} else {
			tether_buf_puts(b, "null");
		}
		tether_buf_puts(b, "}");
	}
	tether_buf_puts(b, "\n]}\n");
}

static void render_junit(struct tether_buf *b, const struct results *r)
{
	char when[40];
	tether_format_iso8601(r->started_wall_ns, false, when, sizeof when);
	unsigned total = r->passed + r->failed + r->skipped;
	tether_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	tether_buf_printf(b, "<testsuites name=\"tether-lab\" tests=\"%u\" failures=\"%u\" skipped=\"%u\" time=\"%.3f\">\n",
			  total, r->failed, r->skipped, r->duration_s);
	tether_buf_printf(b, "  <testsuite name=\"scenarios\" tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"%u\" "
			     "time=\"%.3f\" timestamp=\"%s\">\n", total, r->failed, r->skipped, r->duration_s, when);
	tether_buf_printf(b, "    <properties>\n      <property name=\"seed\" value=\"%llu\"/>\n",
			  (unsigned long long)r->seed);
	tether_buf_puts(b, "      <property name=\"tether\" value=\"");
	lab_xml_escape(b, r->tether ? r->tether : "");
	tether_buf_printf(b, "\"/>\n      <property name=\"valgrind\" value=\"%s\"/>\n    </properties>\n",
			  r->valgrind ? "true" : "false");
	for (size_t i = 0; i < r->n; i++) {
		const struct results_entry *e = &r->entries[i];
		/* classname: the scenario's directory, as CI tools group by it */
		const char *slash = strrchr(e->file, '/');
		char *cls = slash ? xstrndup(e->file, (size_t)(slash - e->file)) : xstrdup(".");
		tether_buf_puts(b, "    <testcase classname=\"");
		lab_xml_escape(b, cls);
		tether_buf_puts(b, "\" name=\"");
		lab_xml_escape(b, e->name);
		tether_buf_puts(b, "\" file=\"");
		lab_xml_escape(b, e->file);
		tether_buf_printf(b, "\" time=\"%.3f\">\n", e->res.duration_s);
		free(cls);
		if (e->res.status == LAB_FAIL) {
			tether_buf_puts(b, "      <failure type=\"expectation\" message=\"");
			if (e->res.location) {
				lab_xml_escape(b, e->res.location);
				tether_buf_puts(b, ": ");
			}
			lab_xml_escape(b, e->res.message ? e->res.message : "failed");
			tether_buf_puts(b, "\">");
			lab_xml_escape(b, e->res.details ? e->res.details : "");
			tether_buf_puts(b, "</failure>\n");
		} else if (e->res.status == LAB_SKIP) {
			tether_buf_puts(b, "      <skipped message=\"");
			lab_xml_escape(b, e->res.message ? e->res.message : "");
			tether_buf_puts(b, "\"/>\n");
		}
		tether_buf_puts(b, "      <system-out>run id: ");
		lab_xml_escape(b, e->run_id ? e->run_id : "-");
		if (e->res.dir) {
			tether_buf_puts(b, "\ndirectory: ");
			lab_xml_escape(b, e->res.dir);
		}
		tether_buf_puts(b, "</system-out>\n    </testcase>\n");
	}
	tether_buf_puts(b, "  </testsuite>\n</testsuites>\n");
}

static int write_atomic(const char *dir, const char *name, const struct tether_buf *b)
{
	if (b->oom)
		return -ENOMEM;
	char *path = xasprintf("%s/%s", dir, name), *tmp = xasprintf("%s/.%s.tmp", dir, name);
	int r = lab_write_file(tmp, b->data, b->len);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	free(path);
	free(tmp);
	return r;
}

int results_write(const char *dir, const struct results *r)
{
	struct tether_buf b;
	tether_buf_init(&b);
	render_json(&b, r);
	int rc = write_atomic(dir, "results.json", &b);
	tether_buf_reset(&b);
	render_junit(&b, r);
	if (rc == 0)
		rc = write_atomic(dir, "junit.xml", &b);
	tether_buf_done(&b);
	return rc;
}
