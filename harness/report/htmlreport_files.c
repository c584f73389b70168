/* SPDX-License-Identifier: MIT */
/* htmlreport_files.c — the coverage and leaks parts of index.html (see
 * report.h): what ci/coverage and `harness run --valgrind` leave behind.
 *
 * Coverage: the totals are computed from coverage/lcov.info (the tracefile
 * ci/coverage keeps next to genhtml's pages), not scraped from genhtml's
 * HTML, whose layout changes between lcov versions. A tracefile is lines of
 * KEY:VALUE per source file (SF: ... end_of_record): LF/LH lines found/hit,
 * BRF/BRH branches, FNF/FNH functions.
 *
 * Leaks: each REPORT/leaks/SCENARIO-PID.xml is memcheck's XML for one tether
 * process, with a .log beside it. Counted here as harness/run/valgrind.c judges
 * them: <error> blocks by <kind> (Leak_DefinitelyLost is a leak that fails a
 * scenario; indirect, possible and still-reachable ones are listed, not
 * counted as failures), and "Open file descriptor N" in the log beyond 0-2
 * that valgrind does not mark as inherited. An XML without its closing tag
 * belongs to a process killed before its final report (SIGKILL): its leaks
 * and descriptors are unknown.
 */
#include "config.h"

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "report/report.h"

/* ---- coverage --------------------------------------------------------------------- */

struct cov_file {
	char *path;
	long lf, lh, brf, brh, fnf, fnh;
};

static void pct(struct tether_buf *b, long hit, long found)
{
	if (found <= 0) {
		tether_buf_puts(b, "<td class=\"n\">-</td>");
		return;
	}
	double p = 100.0 * (double)hit / (double)found;
	const char *cls = p >= 80 ? "ok" : p >= 50 ? "warn" : "bad";
	tether_buf_printf(b, "<td class=\"n\"><span class=\"meter\"><span class=\"%s\" style=\"width:%.0f%%\"></span></span> "
			     "%.1f%% <span class=\"note\">%ld/%ld</span></td>", cls, p, p, hit, found);
}

static int by_uncovered(const void *a, const void *b)
{
	const struct cov_file *x = a, *y = b;
	long ux = x->lf - x->lh, uy = y->lf - y->lh;
	return ux != uy ? (ux < uy ? 1 : -1) : strcmp(x->path, y->path);
}

/* "src/spawn.c" out of "/work/main/src/spawn.c": from the last "/src/". */
static const char *short_path(const char *path)
{
	const char *p = path, *hit = NULL;
	while ((p = strstr(p, "/src/")))
		hit = ++p;
	return hit ? hit : path;
}

static size_t parse_tracefile(char *text, struct cov_file **ret)
{
	struct cov_file *files = NULL, cur = {0};
	size_t n = 0;
	char **lines;
	size_t nl = lab_split_lines(text, &lines);
	for (size_t i = 0; i < nl; i++) {
		const char *l = lines[i];
		if (strncmp(l, "SF:", 3) == 0) {
			free(cur.path);
			cur = (struct cov_file){.path = xstrdup(l + 3)};
		} else if (strcmp(l, "end_of_record") == 0 && cur.path) {
			xappend(&files, &n, &cur, sizeof cur);
			cur = (struct cov_file){0};
		} else if (cur.path) {
			long v;
			char key[8];
			if (sscanf(l, "%7[A-Z]:%ld", key, &v) != 2)
				continue;
			long *slot = !strcmp(key, "LF") ? &cur.lf : !strcmp(key, "LH") ? &cur.lh : !strcmp(key, "BRF") ? &cur.brf
				   : !strcmp(key, "BRH") ? &cur.brh : !strcmp(key, "FNF") ? &cur.fnf : !strcmp(key, "FNH") ? &cur.fnh
				   : NULL;
			if (slot)
				*slot = v;
		}
	}
	free(cur.path);
	free(lines);
	*ret = files;
	return n;
}

/* lcov --summary's "  lines......: 88.3% (1234 of 1398 lines)": hit and found. */
static bool summary_line(const char *text, const char *what, long *hit, long *found)
{
	char *key = xasprintf("%s.", what);
	const char *p = strstr(text, key);
	free(key);
	double pc;
	return p && (p = strchr(p, ':')) && sscanf(p + 1, " %lf%% (%ld of %ld", &pc, hit, found) == 3;
}

/* The totals as one row of big numbers. */
static void totals(struct tether_buf *b, const char *label, const struct cov_file *t)
{
	tether_buf_puts(b, "<table class=\"grid covtot\"><thead><tr><th></th><th>lines</th><th>branches</th>"
			   "<th>functions</th></tr></thead><tbody><tr><th>");
	report_esc(b, label);
	tether_buf_puts(b, "</th>");
	pct(b, t->lh, t->lf);
	pct(b, t->brh, t->brf);
	pct(b, t->fnh, t->fnf);
	tether_buf_puts(b, "</tr></tbody></table>\n");
}

static double percent(long hit, long found)
{
	return found > 0 ? 100.0 * (double)hit / (double)found : 0;
}

static struct report_summary cov_summary(const struct cov_file *t)
{
	char value[48];
	snprintf(value, sizeof value, "%.1f%% · %.1f%%", percent(t->lh, t->lf), percent(t->brh, t->brf));
	return report_summary_make(REPORT_INFO, value, "lines · branches of src/");
}

#define COV_SHOWN 12   /* files listed before the rest is folded */

struct report_summary report_section_coverage(struct tether_buf *b, struct report_ctx *c)
{
	static const char *const links[] = {"coverage/index.html", "coverage/lcov.info", NULL};
	report_section_open(b, c, "coverage", "Coverage of src/", links, "ci/coverage");
	size_t len;
	int err;
	char *text = report_read(c->dir, "coverage/lcov.info", &len, &err);
	if (!text) {
		/* lcov --summary's totals, when the tracefile is not kept */
		char *sum = report_read(c->dir, "coverage/summary.txt", &len, &err);
		struct cov_file t = {0};
		if (sum && summary_line(sum, "lines", &t.lh, &t.lf)) {
			summary_line(sum, "branches", &t.brh, &t.brf);
			summary_line(sum, "functions", &t.fnh, &t.fnf);
			totals(b, "src/", &t);
			tether_buf_puts(b, "<p class=\"note\">from coverage/summary.txt: no tracefile (lcov.info), so no "
					   "figures per file.</p>\n</section>\n");
			free(sum);
			return cov_summary(&t);
		}
		free(sum);
		tether_buf_puts(b, "<p class=\"none\">not run: no coverage/ here (ci/coverage makes it).</p>\n</section>\n");
		return report_summary_make(REPORT_NOT_RUN, "not run", NULL);
	}
	struct cov_file *files;
	size_t n = parse_tracefile(text, &files);
	free(text);
	struct cov_file all = {0}, src = {0};
	size_t nsrc = 0;
	for (size_t i = 0; i < n; i++) {
		struct cov_file *f = &files[i], *t[2] = {&all, &src};
		bool in_src = short_path(f->path) != f->path || strncmp(f->path, "src/", 4) == 0;
		nsrc += in_src;
		for (int k = 0; k < (in_src ? 2 : 1); k++) {
			t[k]->lf += f->lf, t[k]->lh += f->lh, t[k]->brf += f->brf;
			t[k]->brh += f->brh, t[k]->fnf += f->fnf, t[k]->fnh += f->fnh;
		}
	}
	const struct cov_file *tot = nsrc ? &src : &all;
	char *label = xasprintf("%s (%zu files)", nsrc ? "src/" : "all files", nsrc ? nsrc : n);
	totals(b, label, tot);
	free(label);
	/* ci/coverage: the lines that only processes ended by SIGKILL reach
	 * (the soak's tethers write their counters as they go) */
	char *killed = report_read(c->dir, "coverage/killed-only.txt", &len, &err);
	if (killed) {
		size_t nk = 0;
		for (const char *p = killed; *p; p++)
			nk += *p == '\n';
		tether_buf_printf(b, "<p class=\"note\">%zu line%s only processes ended by SIGKILL reach (the soak's "
				     "tethers, which write their counters before each wait): ",
				  nk, nk == 1 ? "" : "s");
		report_link(b, c->dir, "coverage/killed-only.txt", "killed-only.txt");
		tether_buf_puts(b, ".</p>\n");
		free(killed);
	}
	tether_buf_puts(b, "<table class=\"grid\"><thead><tr><th>file (most uncovered lines first)</th>"
			   "<th>uncovered lines</th><th>lines</th><th>branches</th><th>functions</th></tr></thead><tbody>");
	qsort(files, n, sizeof *files, by_uncovered);
	for (size_t i = 0; i < n; i++) {
		const struct cov_file *f = &files[i];
		const char *shown = short_path(f->path);
		char *page = xasprintf("coverage/%s.gcov.html", shown);
		if (i == COV_SHOWN)
			tether_buf_printf(b, "</tbody></table>\n<details><summary>the other %zu files</summary>"
					     "<table class=\"grid\"><tbody>", n - COV_SHOWN);
		tether_buf_puts(b, "<tr><th>");
		report_link(b, c->dir, page, shown);
		tether_buf_printf(b, "</th><td class=\"n\">%ld</td>", f->lf - f->lh);
		pct(b, f->lh, f->lf);
		pct(b, f->brh, f->brf);
		pct(b, f->fnh, f->fnf);
		tether_buf_puts(b, "</tr>");
		free(page);
		free(f->path);
	}
	free(files);
	tether_buf_puts(b, n > COV_SHOWN ? "</tbody></table></details>\n</section>\n" : "</tbody></table>\n</section>\n");
	return cov_summary(tot);
}

/* ---- leaks ------------------------------------------------------------------------ */

struct leak_file {
	char *name;          /* SCENARIO-PID.xml */
	unsigned errors, definite, other_leaks, fds;
	unsigned long long definite_bytes;
	bool complete;
};

/* The text of the first <tag>...</tag> in [p, end), or NULL. */
static char *tag_in(const char *p, const char *end, const char *tag)
{
	char *open = xasprintf("<%s>", tag), *close = xasprintf("</%s>", tag), *r = NULL;
	const char *a = strstr(p, open), *z = a ? strstr(a, close) : NULL;
	if (a && z && z < end)
		r = xstrndup(a + strlen(open), (size_t)(z - a - (ptrdiff_t)strlen(open)));
	free(open);
	free(close);
	return r;
}

static void count_xml(const char *xml, struct leak_file *lf)
{
	lf->complete = strstr(xml, "</valgrindoutput>") != NULL;
	for (const char *p = strstr(xml, "<error>"); p; p = strstr(p + 1, "<error>")) {
		const char *end = strstr(p, "</error>");
		if (!end)
			break;
		char *kind = tag_in(p, end, "kind");
		if (!kind || strncmp(kind, "Leak_", 5) != 0) {
			lf->errors++;
		} else if (strcmp(kind, "Leak_DefinitelyLost") == 0) {
			char *bytes = tag_in(p, end, "leakedbytes");
			lf->definite++;
			lf->definite_bytes += bytes ? strtoull(bytes, NULL, 10) : 0;
			free(bytes);
		} else {
			lf->other_leaks++;
		}
		free(kind);
	}
}

/* Descriptors left open at exit, as harness/run/valgrind.c counts them. */
static unsigned count_log_fds(char *log)
{
	char **lines;
	size_t nl = lab_split_lines(log, &lines);
	unsigned n = 0;
	for (size_t i = 0; i < nl; i++) {
		const char *o = strstr(lines[i], "Open file descriptor ");
		int fd;
		if (!o || sscanf(o, "Open file descriptor %d:", &fd) != 1 || fd <= 2)
			continue;
		bool inherited = false;
		for (size_t k = i + 1; k < nl && !strstr(lines[k], "Open file descriptor "); k++) {
			if (strstr(lines[k], "<inherited from parent>"))
				inherited = true;
			const char *tail = strstr(lines[k], "== ");
			if (tail && tail[3] == '\0')
				break;
		}
		n += !inherited;
	}
	free(lines);
	return n;
}

static int xml_only(const struct dirent *e)
{
	size_t len = strlen(e->d_name);
	return len > 4 && strcmp(e->d_name + len - 4, ".xml") == 0;
}

static void leak_row(struct tether_buf *b, const char *dir, const struct leak_file *f)
{
	bool bad = f->errors || f->definite || f->fds;
	char *xml = xasprintf("leaks/%s", f->name), *log = xasprintf("leaks/%.*s.log", (int)strlen(f->name) - 4, f->name);
	tether_buf_printf(b, "<tr class=\"%s\"><th>", bad ? "bad" : "ok");
	report_link(b, dir, xml, f->name);
	tether_buf_puts(b, " ");
	report_link(b, dir, log, "(log)");
	tether_buf_printf(b, "</th><td class=\"n\">%u</td><td class=\"n\">%u", f->errors, f->definite);
	if (f->definite)
		tether_buf_printf(b, " (%llu bytes)", f->definite_bytes);
	char fdcell[16] = "?";   /* no final report, no descriptor list */
	if (f->complete)
		snprintf(fdcell, sizeof fdcell, "%u", f->fds);
	tether_buf_printf(b, "</td><td class=\"n\">%u</td><td class=\"n\">%s</td><td>%s</td></tr>", f->other_leaks,
			  fdcell, f->complete ? "yes" : "no (killed: leaks unknown)");
	free(xml);
	free(log);
}

struct report_summary report_section_leaks(struct tether_buf *b, struct report_ctx *c)
{
	const char *dir = c->dir;
	static const char *const links[] = {"leaks", NULL};
	report_section_open(b, c, "leaks", "Memcheck", links, "harness run --valgrind");
	char *ldir = xasprintf("%s/leaks", dir);
	struct dirent **list = NULL;
	int k = scandir(ldir, &list, xml_only, alphasort);
	if (k <= 0) {
		tether_buf_printf(b, "<p class=\"none\">not run: %s.</p>",
				  k == 0 ? "leaks/ holds no memcheck report" : "no leaks/ here");
		free(list);
		free(ldir);
		tether_buf_puts(b, "</section>\n");
		return report_summary_make(REPORT_NOT_RUN, "not run", NULL);
	}
	struct leak_file *files = xcalloc((size_t)k, sizeof *files);
	unsigned errors = 0, definite = 0, fds = 0, killed = 0, nbad = 0;
	for (int i = 0; i < k; i++) {
		struct leak_file *f = &files[i];
		f->name = xstrdup(list[i]->d_name);
		free(list[i]);
		size_t len;
		int err;
		char *rel = xasprintf("leaks/%s", f->name);
		char *xml = report_read(dir, rel, &len, &err);
		free(rel);
		if (xml)
			count_xml(xml, f);
		free(xml);
		rel = xasprintf("leaks/%.*s.log", (int)strlen(f->name) - 4, f->name);
		char *log = f->complete ? report_read(dir, rel, &len, &err) : NULL;
		free(rel);
		if (log)
			f->fds = count_log_fds(log);
		free(log);
		errors += f->errors;
		definite += f->definite;
		fds += f->fds;
		killed += !f->complete;
		nbad += f->errors || f->definite || f->fds;
	}
	free(list);
	enum report_state st = nbad ? REPORT_BAD : REPORT_OK;
	char *text = xasprintf("%d report%s: %u error%s, %u definite leak%s, %u leaked fd%s%s", k, k == 1 ? "" : "s", errors,
			       errors == 1 ? "" : "s", definite, definite == 1 ? "" : "s", fds, fds == 1 ? "" : "s",
			       killed ? " (some processes were killed: incomplete)" : "");
	tether_buf_printf(b, "<p class=\"%s verdict\">", report_state_class(st));
	report_esc(b, text);
	tether_buf_puts(b, "</p>\n");
	/* G6: "valgrind reports no leak and no error" */
	report_evidence_add(c, "G6", st, "leaks", "memcheck: %u error%s, %u leak%s", errors, errors == 1 ? "" : "s", definite,
			    definite == 1 ? "" : "s");
	static const char head[] = "<table class=\"grid\"><thead><tr><th>report</th><th>errors</th><th>definite leaks</th>"
				   "<th>other leaks</th><th>open fds</th><th>final report</th></tr></thead><tbody>";
	if (nbad) {
		tether_buf_puts(b, head);
		for (int i = 0; i < k; i++)
			if (files[i].errors || files[i].definite || files[i].fds)
				leak_row(b, dir, &files[i]);
		tether_buf_puts(b, "</tbody></table>\n");
	}
	if ((unsigned)k > nbad) {
		tether_buf_printf(b, "<details><summary>%u clean report%s</summary>%s", (unsigned)k - nbad,
				  (unsigned)k - nbad == 1 ? "" : "s", head);
		for (int i = 0; i < k; i++)
			if (!(files[i].errors || files[i].definite || files[i].fds))
				leak_row(b, dir, &files[i]);
		tether_buf_puts(b, "</tbody></table></details>\n");
	}
	for (int i = 0; i < k; i++)
		free(files[i].name);
	free(files);
	free(ldir);
	tether_buf_puts(b, "</section>\n");
	struct report_summary s = report_summary_make(st, nbad ? "FAIL" : "clean", "%s", text);
	free(text);
	return s;
}
