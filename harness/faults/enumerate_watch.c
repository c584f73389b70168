/* SPDX-License-Identifier: MIT */
/* enumerate_watch.c — what `harness faults` does in a run while its plan
 * goes (lab_options.hooks, data a struct run_ctx):
 *
 *  - the waits: the discovery notes how long each wait took (the longest at
 *    each line); an injection run in --ci gives each wait
 *    min(the scenario's, max(floor, 10 x the unfaulted run's)). A fault that
 *    stalls a wait rarely lets it succeed later (a persistent fault stays),
 *    and the judgement does not depend on the plan's waits: cutting one
 *    moves the judge's SIGTERM earlier, which tests the stop as well.
 *  - the spin watch: a `from` rule that tether retries without pausing is
 *    reported by the fault layer ("spin POINT N PID FRAMES" once the rule has
 *    failed the run's budget of calls in one process, src/lab/fault.h); the
 *    watch reads the fault reports as they change (inotify, through the
 *    lab's loop), and at such a line kills every process of the run at once:
 *    the run fails with "busy loop: ..." and where the call was made,
 *    instead of running into the spin's end or the hang bound. A tether
 *    whose fault layer has no budget (one built before it) says nothing
 *    but its firings: a firing past the budget, in a process that did not
 *    say its retries are paced, counts as the spin.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults/faults.h"
#include "common/common.h"
#include "run/run.h"
#include "proc.h"

/* ---- waits ------------------------------------------------------------------------- */

static int64_t wait_limit(struct lab *lab, unsigned line, int64_t within, void *data)
{
	(void)lab;
	const struct run_ctx *x = data;
	if (!x->floor_ns)
		return within;
	for (size_t i = 0; i < x->nlimits; i++) {
		if (x->limits[i].line != line)
			continue;
		int64_t limit = 10 * x->limits[i].ns;
		if (limit < x->floor_ns)
			limit = x->floor_ns;
		return limit < within ? limit : within;
	}
	return within; /* a wait the unfaulted run never reached */
}

static void waited(struct lab *lab, unsigned line, int64_t elapsed, bool held, void *data)
{
	(void)lab;
	struct run_ctx *x = data;
	if (x->point || !held)
		return; /* the discovery's, of the waits that ended well */
	struct judgement *j = x->j;
	for (size_t i = 0; i < j->nwaits; i++) {
		if (j->waits[i].line == line) {
			if (elapsed > j->waits[i].ns)
				j->waits[i].ns = elapsed;
			return;
		}
	}
	struct wait_time w = {line, elapsed};
	xappend(&j->waits, &j->nwaits, &w, sizeof w);
}

/* ---- the spin watch -------------------------------------------------------------- */

static bool paced(const struct run_ctx *x, pid_t pid)
{
	for (size_t i = 0; i < x->npaced; i++)
		if (x->paced[i] == pid)
			return true;
	return false;
}

/* "first (tether run, pid 4242)", "the guardian of first (tether-guard,
 * pid 4243)", "pid 4250 (tether, from first.faults)": who made the calls. */
static char *who(struct lab *lab, pid_t pid, const char *report)
{
	for (size_t i = 0; i < lab->nprocs; i++)
		if (lab->procs[i]->pid == pid)
			return xasprintf("%s (pid %d)", lab->procs[i]->name, (int)pid);
	size_t len = strlen(report) - strlen(".faults");
	struct tether_procstat st;
	if (tether_proc_read_stat(pid, &st) == 0 && strcmp(st.comm, "tether-guard") == 0)
		return xasprintf("the guardian of %.*s (pid %d)", (int)len, report, (int)pid);
	return xasprintf("pid %d (%s, under %.*s)", (int)pid, tether_proc_read_stat(pid, &st) == 0 ? st.comm : "?",
			 (int)len, report);
}

/* Reads the complete lines of path added since *off; calls line() on each
 * until it returns true (then returns true). */
static bool read_new_lines(const char *path, size_t *off, bool (*line)(char *l, void *arg), void *arg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct tether_buf b;
	tether_buf_init(&b);
	char chunk[8192];
	ssize_t got;
	off_t at = (off_t)*off;
	while ((got = pread(fd, chunk, sizeof chunk, at)) > 0 && b.len < (4u << 20)) {
		tether_buf_append(&b, chunk, (size_t)got);
		at += got;
	}
	close(fd);
	bool hit = false;
	size_t done = 0;
	for (size_t i = 0; i < b.len && !hit; i++) {
		if (b.data[i] != '\n')
			continue;
		b.data[i] = '\0';
		hit = line(b.data + done, arg);
		done = i + 1;
	}
	*off += done; /* a line still being written is read next time */
	tether_buf_done(&b);
	return hit;
}

struct line_arg {
	struct lab *lab;
	struct run_ctx *x;
	const char *report;
};

static bool spin_line(char *l, void *arg)
{
	struct line_arg *a = arg;
	struct run_ctx *x = a->x;
	char what[16], point[128];
	unsigned long n;
	int pid, used = 0;
	if (sscanf(l, "%15s %127s %lu %d%n", what, point, &n, &pid, &used) != 4 || strcmp(point, x->point) != 0)
		return false;
	if (!x->fired_at && strcmp(what, "fired") == 0)
		x->fired_at = lab_now();
	if (!x->from || !x->budget)
		return false;
	if (strcmp(what, "paced") == 0) {
		pid_t p = pid;
		if (!paced(x, p))
			xappend(&x->paced, &x->npaced, &p, sizeof p);
		return false;
	}
	char *by = NULL;
	if (strcmp(what, "spin") == 0) {
		by = who(a->lab, pid, a->report);
		x->spin_what = xasprintf("busy loop: %s failed %lu times in a row without a pause in %s "
					 "(the unfaulted run makes %lu calls of it; budget %lu)",
					 x->point, n, by, x->count, x->budget);
		x->spin_frames = xstrdup(l + used);
	} else if (strcmp(what, "fired") == 0 && n >= x->k && n - x->k + 1 >= x->budget && !paced(x, pid)) {
		/* a fault layer without the budget: its firings say how far */
		by = who(a->lab, pid, a->report);
		x->spin_what = xasprintf("busy loop: %s failed up to its %lu-th call in %s "
					 "(the unfaulted run makes %lu calls of it; budget %lu)",
					 x->point, n, by, x->count, x->budget);
	}
	free(by);
	return x->spin_what != NULL;
}

static bool fault_report(struct lab *lab, void *data)
{
	struct run_ctx *x = data;
	if (!x->point || x->spin_what || (x->fired_at && (!x->from || !x->budget)))
		return false;
	DIR *d = opendir(lab->dir);
	struct dirent *e;
	bool hit = false;
	while (d && !hit && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len <= 7 || strcmp(e->d_name + len - 7, ".faults") != 0)
			continue;
		struct report_pos *pos = NULL;
		for (size_t i = 0; i < x->nreports && !pos; i++)
			if (strcmp(x->reports[i].name, e->d_name) == 0)
				pos = &x->reports[i];
		if (!pos) {
			struct report_pos p = {xstrdup(e->d_name), 0};
			xappend(&x->reports, &x->nreports, &p, sizeof p);
			pos = &x->reports[x->nreports - 1];
		}
		char *path = xasprintf("%s/%s", lab->dir, e->d_name);
		struct line_arg a = {lab, x, e->d_name};
		hit = read_new_lines(path, &pos->off, spin_line, &a);
		free(path);
	}
	if (d)
		closedir(d);
	if (!hit)
		return false;
	/* the run ends here: the finding is the spin, nothing else is judged */
	x->j->spin = true;
	lab_fail(lab, lab->last_line ? lab->last_line : 1, "%s", x->spin_what);
	orphans_kill_all(lab->run_id, lab_now() + 5 * NS_PER_SEC);
	return true;
}

/* --ci: a pause ("nothing happens for DUR") lasts its whole DUR until the
 * rule fires — the calls it makes room for are k's of the plan — and
 * FAULTS_FROM_WAIT_NS from then on: what follows a fault is judged after
 * the plan, whatever the plan expected. */
static int64_t pause_end(struct lab *lab, int64_t started, int64_t dur, void *data)
{
	(void)lab;
	const struct run_ctx *x = data;
	if (!x->floor_ns || !x->fired_at)
		return started + dur;
	int64_t from = x->fired_at > started ? x->fired_at : started, end = from + FAULTS_FROM_WAIT_NS;
	return end < started + dur ? end : started + dur;
}

const struct lab_hooks faults_hooks = {
	.wait_limit = wait_limit, .waited = waited, .pause_end = pause_end, .fault_report = fault_report};

/* ---- the spin's stack ------------------------------------------------------------ */

/* The frames of the fault layer and of libfiu are the same for every call:
 * they say nothing of where tether was. */
static bool own_frame(const char *fn)
{
	return strcmp(fn, "counted") == 0 || strcmp(fn, "spend_budget") == 0 || strcmp(fn, "call_stack") == 0 ||
	       strcmp(fn, "site_line") == 0;
}

/* addr2line -f on the offsets into tether: "function\nfile:line\n" each. */
char *faults_addr2line(const char *tether, char **offsets, size_t n)
{
	if (!n)
		return NULL;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return NULL;
	char **argv = xcalloc(n + 5, sizeof *argv);
	size_t a = 0;
	argv[a++] = "addr2line";
	argv[a++] = "-f";
	argv[a++] = "-e";
	argv[a++] = (char *)tether;
	for (size_t i = 0; i < n; i++)
		argv[a++] = offsets[i];
	extern char **environ;
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct lab_spawn sp = {.argv = argv, .envp = environ, .out = fds[1], .err = devnull, .search_path = true,
			       .barrier = -1, .barrier_w = -1, .errpipe = -1};
	pid_t pid;
	int pidfd = -1;
	int r = lab_spawn(&sp, &pid, &pidfd);
	close(fds[1]);
	if (devnull >= 0)
		close(devnull);
	free(argv);
	struct tether_buf b;
	tether_buf_init(&b);
	char chunk[4096];
	ssize_t got;
	while (r == 0 && ((got = read(fds[0], chunk, sizeof chunk)) > 0 || (got < 0 && errno == EINTR)))
		if (got > 0)
			tether_buf_append(&b, chunk, (size_t)got);
	close(fds[0]);
	if (r == 0) {
		siginfo_t si;
		while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
			;
		close(pidfd);
	}
	return b.data;
}

char *faults_spin_stack(const char *tether, const char *frames)
{
	if (!frames || !*frames)
		return NULL;
	const char *base = strrchr(tether, '/') ? strrchr(tether, '/') + 1 : tether;
	size_t blen = strlen(base);
	char *copy = xstrdup(frames), **words = NULL, **offs = NULL;
	size_t nwords = 0, noffs = 0;
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		xappend(&words, &nwords, &w, sizeof w);
		if (strncmp(w, base, blen) == 0 && w[blen] == '+') {
			/* a return address: the call is the byte before it */
			char *o = xasprintf("0x%lx", strtoul(w + blen + 1, NULL, 16) - 1);
			xappend(&offs, &noffs, &o, sizeof o);
		}
	}
	char *text = faults_addr2line(tether, offs, noffs), **lines = NULL;
	size_t nlines = text ? lab_split_lines(text, &lines) : 0, next = 0;
	struct tether_buf b;
	tether_buf_init(&b);
	size_t shown = 0;
	for (size_t i = 0; i < nwords && shown < 12; i++) {
		const char *w = words[i];
		if (strncmp(w, "libfiu", 6) == 0 || strncmp(w, "fiu_", 4) == 0)
			continue;
		if (strncmp(w, base, blen) == 0 && w[blen] == '+') {
			const char *fn = next < nlines ? lines[next] : "?";
			const char *at = next + 1 < nlines ? lines[next + 1] : "";
			next += 2;
			if (own_frame(fn))
				continue;
			char *file = xstrdup(strrchr(at, '/') ? strrchr(at, '/') + 1 : at);
			file[strcspn(file, " ")] = '\0'; /* " (discriminator N)" */
			if (strcmp(fn, "??") == 0)
				tether_buf_printf(&b, "%s%s", shown ? " <- " : "", w);
			else
				tether_buf_printf(&b, "%s%s%s%s%s", shown ? " <- " : "", fn, *file && *file != '?' ? " (" : "",
						  *file && *file != '?' ? file : "", *file && *file != '?' ? ")" : "");
			free(file);
			shown++;
			if (strcmp(fn, "main") == 0)
				break;
		} else if (shown) {
			break; /* the C library's start of the program */
		} else {
			tether_buf_printf(&b, "%s%s", shown ? " <- " : "", w);
			shown++;
		}
	}
	for (size_t i = 0; i < noffs; i++)
		free(offs[i]);
	free(offs);
	free(words);
	free(copy);
	if (nlines)
		free(lines);
	free(text);
	return b.data;
}
