/* SPDX-License-Identifier: MIT */
/* valgrind.c — `harness run --valgrind`: every spawned tether under memcheck.
 *
 *   valgrind -q --leak-check=full --errors-for-leak-kinds=definite
 *     --track-fds=yes --xml=yes --xml-file=REPORT/leaks/SCENARIO-%p.xml
 *     --log-file=REPORT/leaks/SCENARIO-%p.log --trace-children=no
 *     --child-silent-after-fork=yes --suppressions=harness/valgrind.supp tether ...
 *
 * Why these:
 *   - tether forks its guardians without exec, so memcheck follows them
 *     whatever --trace-children says: each forked copy would write its own
 *     report (under %p — and a guardian that is init of its PID namespace has
 *     pid 1 there, so two guardians would write the same file) listing the
 *     parent's heap, which the child inherited and never frees, and the
 *     parent's descriptors, which it inherited too. Those reports say nothing
 *     about tether, so --child-silent-after-fork=yes: only the supervisor
 *     process itself reports. The workers (exec'd) are not traced.
 *   - memcheck 3.19 writes --track-fds findings to the text log, not to the
 *     XML, so both are kept: errors and leaks come from the XML, open
 *     descriptors from the log ("Open file descriptor N: ..." beyond 0, 1, 2,
 *     except the ones valgrind marks "<inherited from parent>", which are its
 *     own log files: the lab spawns tether with fds 0, 1, 2 only).
 *   - a tether killed by SIGKILL writes no final report: its leaks and fds
 *     cannot be judged (errors reported before the kill still count).
 *   - no --error-exitcode: tether's exit code stays tether's.
 * Known limit: valgrind 3.19 does not implement pidfd_open, pidfd_send_signal
 * or clone3 (ENOSYS): a supervisor that signals only through pidfds cannot
 * stop anything under it. The log's "unhandled syscall" warnings say so.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/common.h"
#include "run/run.h"

static char *leaks_dir(const struct lab_options *opt)
{
	return xasprintf("%s/leaks", opt->report_dir);
}

char **valgrind_wrap(const struct lab_options *opt, const char *scenario, char **argv)
{
	char *dir = leaks_dir(opt);
	char *pre[] = {
		xstrdup("valgrind"),
		xstrdup("-q"),
		xstrdup("--leak-check=full"),
		xstrdup("--errors-for-leak-kinds=definite"),
		xstrdup("--track-fds=yes"),
		xstrdup("--xml=yes"),
		xasprintf("--xml-file=%s/%s-%%p.xml", dir, scenario),
		xasprintf("--log-file=%s/%s-%%p.log", dir, scenario),
		xstrdup("--trace-children=no"),
		xstrdup("--child-silent-after-fork=yes"),
		xstrdup("--num-callers=30"),
		xasprintf("--suppressions=%s", opt->valgrind_supp),
	};
	free(dir);
	size_t npre = sizeof pre / sizeof pre[0], n = 0;
	while (argv[n])
		n++;
	char **out = xcalloc(npre + n + 1, sizeof *out);
	memcpy(out, pre, sizeof pre);
	for (size_t i = 0; i < n; i++)
		out[npre + i] = xstrdup(argv[i]);
	return out;
}

/* Text of the first <tag>...</tag> at or after p, before end (malloc'd). */
static char *tag_text(const char *p, const char *end, const char *tag)
{
	char open[32], close[32];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	const char *a = strstr(p, open);
	if (!a || a > end)
		return NULL;
	a += strlen(open);
	const char *b = strstr(a, close);
	if (!b || b > end)
		return NULL;
	return xstrndup(a, (size_t)(b - a));
}

/* The <error> blocks of a memcheck XML report that count as failures. */
static size_t xml_errors(const char *xml, struct tether_buf *out)
{
	size_t n = 0;
	for (const char *p = strstr(xml, "<error>"); p; p = strstr(p + 1, "<error>")) {
		const char *end = strstr(p, "</error>");
		if (!end)
			break;
		char *kind = tag_text(p, end, "kind");
		char *text = tag_text(p, end, "text");
		if (!text)
			text = tag_text(p, end, "what");
		/* --errors-for-leak-kinds=definite: possible and reachable leaks are not errors */
		bool counts = kind && strcmp(kind, "Leak_PossiblyLost") != 0 && strcmp(kind, "Leak_StillReachable") != 0 &&
			      strcmp(kind, "Leak_IndirectlyLost") != 0;
		if (counts) {
			n++;
			if (n <= 5)
				tether_buf_printf(out, "%s%s: %s", out->len ? "; " : "", kind, text ? text : "?");
		}
		free(kind);
		free(text);
	}
	return n;
}

/* "Open file descriptor N: WHAT" entries of the text log, but 0-2 and inherited ones. */
static size_t log_fds(char *log, struct tether_buf *out)
{
	char **lines;
	size_t nl = lab_split_lines(log, &lines), n = 0;
	for (size_t i = 0; i < nl; i++) {
		const char *o = strstr(lines[i], "Open file descriptor ");
		int fd;
		if (!o || sscanf(o, "Open file descriptor %d:", &fd) != 1 || fd <= 2)
			continue;
		bool inherited = false;
		/* the entry runs until valgrind's empty "==PID== " line */
		for (size_t k = i + 1; k < nl && !strstr(lines[k], "Open file descriptor "); k++) {
			if (strstr(lines[k], "<inherited from parent>"))
				inherited = true;
			const char *tail = strstr(lines[k], "== ");
			if (tail && tail[3] == '\0')
				break;
		}
		if (inherited)
			continue;
		n++;
		const char *what = strchr(o, ':');
		tether_buf_printf(out, "%s%d%s", out->len ? ", " : "", fd, what && what[1] ? what + 1 : "");
	}
	free(lines);
	return n;
}

int valgrind_check(const struct lab_options *opt, const char *scenario, pid_t pid, char **ret_msg)
{
	char *dir = leaks_dir(opt);
	char *xml_path = xasprintf("%s/%s-%d.xml", dir, scenario, (int)pid);
	char *log_path = xasprintf("%s/%s-%d.log", dir, scenario, (int)pid);
	free(dir);
	int err;
	char *xml = lab_read_file(xml_path, 64u << 20, NULL, &err);
	char *log = lab_read_file(log_path, 64u << 20, NULL, &err);
	struct tether_buf errs, fds;
	tether_buf_init(&errs);
	tether_buf_init(&fds);
	size_t nerr = xml ? xml_errors(xml, &errs) : 0;
	/* the final report (leaks, fds) exists only if the process ended normally */
	bool complete = xml && strstr(xml, "</valgrindoutput>");
	size_t nfds = complete && log ? log_fds(log, &fds) : 0;
	int rc = 0;
	if (nerr || nfds) {
		struct tether_buf msg;
		tether_buf_init(&msg);
		tether_buf_printf(&msg, "memcheck: %zu error%s", nerr, nerr == 1 ? "" : "s");
		if (nerr)
			tether_buf_printf(&msg, " (%s)", errs.data);
		if (nfds)
			tether_buf_printf(&msg, ", %zu leaked fd%s: %s", nfds, nfds == 1 ? "" : "s", fds.data);
		tether_buf_printf(&msg, " (see %s)", xml_path);
		if (msg.oom)
			lab_die("out of memory");
		*ret_msg = msg.data;
		rc = -1;
	}
	tether_buf_done(&errs);
	tether_buf_done(&fds);
	free(xml);
	free(log);
	free(xml_path);
	free(log_path);
	return rc;
}

void valgrind_clear(const struct lab_options *opt, const char *scenario)
{
	char *dir = leaks_dir(opt);
	DIR *d = opendir(dir);
	size_t len = strlen(scenario);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		/* SCENARIO-PID.xml / .log: not another scenario whose name starts alike */
		const char *rest = e->d_name + len + 1;
		if (strncmp(e->d_name, scenario, len) != 0 || e->d_name[len] != '-')
			continue;
		size_t digits = strspn(rest, "0123456789");
		if (digits == 0 || (strcmp(rest + digits, ".xml") != 0 && strcmp(rest + digits, ".log") != 0))
			continue;
		char *path = xasprintf("%s/%s", dir, e->d_name);
		unlink(path);
		free(path);
	}
	if (d)
		closedir(d);
	free(dir);
}

bool valgrind_own_fd(const struct lab_options *opt, pid_t pid, int fd)
{
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	char *dir = leaks_dir(opt);
	bool own = strncmp(target, dir, strlen(dir)) == 0;
	free(dir);
	/* valgrind keeps its own descriptors just below the process's hard limit */
	struct rlimit rl;
	if (!own && prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    (rlim_t)fd + 64 >= rl.rlim_max && fd >= 1024)
		own = true;
	return own;
}
