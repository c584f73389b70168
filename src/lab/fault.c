/* SPDX-License-Identifier: MIT */
/* fault.c — see fault.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "parse.h"

#ifdef TETHER_FAULT_INJECTION
#include <dlfcn.h>
#include <execinfo.h>
#include <fiu-control.h>
#include <fiu.h>
#include <sys/resource.h>
#endif

const char *const tether_sys_points[] = {
#define SYS_POINT(name) "tether/sys/" #name,
#include "sys_points.def"
#undef SYS_POINT
	NULL,
};

bool tether_fault_available(void)
{
#ifdef TETHER_FAULT_INJECTION
	return true;
#else
	return false;
#endif
}

#ifdef TETHER_FAULT_INJECTION

/* Enough for a counting rule on every tether/sys/ point and every point of
 * the POSIX preload at once (harness faults' discovery run). */
#define MAX_RULES 256

struct rule {
	char point[96];
	int err;       /* 0: kill instead of failing */
	uint64_t k;
	bool from;     /* fail from the k-th call on, else only the k-th */
	uint64_t calls;
	/* the spin budget's bookkeeping, per process: a forked child starts
	 * its own (its parent's failures are not its loop) */
	pid_t owner;
	uint64_t fails;       /* failed calls in owner */
	uint64_t next_check;  /* fails at which the budget is looked at next */
	long switches;        /* owner's voluntary context switches at the last check */
	bool judged;          /* "spin" said (once per process) */
};

static struct rule rules[MAX_RULES];
static size_t nrules;
static const char *report_path;
static const char *count_path;
static const char *sites_path;
/* The calls of a point per process whose sites are recorded (fault.h). */
#define SITES_MAX 256
static uint64_t budget;          /* TETHER_FAULT_BUDGET's B, 0: none */
static uint64_t budget_ratio = 16; /* ... and R */
/* Set while counted() runs: the calls the fault layer makes itself (the
 * dynamic loader's open when backtrace() first loads its unwinder, under
 * the POSIX preload) are neither counted nor failed. */
static bool inside;

/* The pid the lab knows this process by: a guardian in a PID namespace of
 * its own is 1 there (getpid), and every such guardian would be "1" in
 * the reports; /proc, mounted in the lab's namespace, names it as the lab
 * sees it. Looked up once per process (a fork makes a new one). */
static int lab_pid(void)
{
	static pid_t for_pid;
	static int cached;
	pid_t me = getpid();
	if (me != for_pid) {
		char buf[32];
		long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self", buf, sizeof buf - 1);
		cached = (int)me;
		if (n > 0) {
			buf[n] = '\0';
			cached = atoi(buf) > 0 ? atoi(buf) : (int)me;
		}
		for_pid = me;
	}
	return cached;
}

/* Appends "WHAT POINT N PID" to path with raw system calls: the POSIX preload
 * wraps libc's open/write, and this must neither recurse into a rule nor be
 * failed by one. */
static void append_line(const char *path, const char *what, const struct rule *r)
{
	char line[160];
	if (!path)
		return;
	int n = snprintf(line, sizeof line, "%s %s %llu %d\n", what, r->point,
			 (unsigned long long)r->calls, lab_pid());
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (n > 0)
		(void)syscall(SYS_write, (int)fd, line, (size_t)n);
	(void)syscall(SYS_close, (int)fd);
}

static void report(const struct rule *r)
{
	append_line(report_path, "fired", r);
}

/* Appends text (len bytes) to path, raw system calls as above. */
static void append_raw(const char *path, const char *text, size_t len)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)syscall(SYS_write, (int)fd, text, len);
	(void)syscall(SYS_close, (int)fd);
}

/* The call stack of the call being counted, as " MODULE+OFFSET" frames
 * (the module's file name and the return address's offset in it: the same
 * in every run of the same binaries, whatever the address space layout),
 * into buf; returns the FNV-1a hash of the frames. The two innermost frames
 * (this function and counted()) are left out; libfiu's own stay, and are
 * the same for every call of a point. */
static __attribute__((noinline)) uint64_t call_stack(char *buf, size_t len)
{
	void *frames[24];
	int n = backtrace(frames, 24);
	uint64_t h = UINT64_C(1469598103934665603);
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 2; i < n; i++) {
		Dl_info di;
		uintptr_t a = (uintptr_t)frames[i];
		const char *mod = "?";
		if (dladdr(frames[i], &di) && di.dli_fname) {
			a -= (uintptr_t)di.dli_fbase;
			mod = strrchr(di.dli_fname, '/') ? strrchr(di.dli_fname, '/') + 1 : di.dli_fname;
		}
		for (const char *c = mod; *c; c++)
			h = (h ^ (unsigned char)*c) * UINT64_C(1099511628211);
		h = (h ^ a) * UINT64_C(1099511628211);
		if (off + 80 < len)
			off += (size_t)snprintf(buf + off, len - off, " %s+%lx", mod, (unsigned long)a);
	}
	return h;
}

/* "site POINT N PID HASH FRAMES": where this call of r's point was made. */
static void site_line(const struct rule *r)
{
	char frames[1400], line[1600];
	uint64_t h = call_stack(frames, sizeof frames);
	int n = snprintf(line, sizeof line, "site %s %llu %d %016llx%s\n", r->point, (unsigned long long)r->calls,
			 lab_pid(), (unsigned long long)h, frames);
	if (n > 0)
		append_raw(sites_path, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static long voluntary_switches(void)
{
	struct rusage ru;
	/* raw: the POSIX preload must not see the fault layer's own calls */
	if (syscall(SYS_getrusage, RUSAGE_THREAD, &ru) < 0)
		return 0;
	return ru.ru_nvcsw;
}

/* The spin budget (TETHER_FAULT_BUDGET=B[:R]): r, a `from` rule, has just
 * failed another call. When its failures in this process reach B, and then
 * at 2B, 4B, ..., look at how often the process slept meanwhile: fewer than
 * one voluntary context switch (a poll or read that blocked, a pause) per R
 * failures means it retries without waiting — a spin: "spin POINT N PID
 * FRAMES" (N failures so far, where the last one was made), once. Else it
 * paces its retries: "paced POINT N PID", and the next look is at twice as
 * many. Voluntary switches, not elapsed time: a loaded machine preempts a
 * spinning process (involuntary switches) but never makes it sleep, so the
 * verdict does not depend on the load. */
static void spend_budget(struct rule *r)
{
	pid_t me = getpid();
	if (r->owner != me) {
		r->owner = me;
		r->fails = 0;
		r->next_check = budget;
		r->switches = voluntary_switches();
		r->judged = false;
	}
	r->fails++;
	if (r->judged || r->fails < r->next_check)
		return;
	long now = voluntary_switches();
	uint64_t window = r->fails - (r->next_check == budget ? 0 : r->next_check / 2);
	uint64_t slept = (uint64_t)(now - r->switches);
	r->switches = now;
	r->next_check *= 2;
	char frames[1400], line[1600];
	int n;
	if (window >= budget_ratio * (slept + 1)) {
		r->judged = true;
		call_stack(frames, sizeof frames);
		n = snprintf(line, sizeof line, "spin %s %llu %d%s\n", r->point, (unsigned long long)r->fails, lab_pid(),
			     frames);
	} else {
		n = snprintf(line, sizeof line, "paced %s %llu %d\n", r->point, (unsigned long long)r->fails, lab_pid());
	}
	if (n > 0 && report_path)
		append_raw(report_path, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static bool power_of_two(uint64_t n)
{
	return n && (n & (n - 1)) == 0;
}

/* At exit(): the final counts that the powers of two did not already say. */
static void count_at_exit(void)
{
	for (size_t i = 0; i < nrules; i++)
		if (rules[i].calls && !power_of_two(rules[i].calls))
			append_line(count_path, "count", &rules[i]);
}

static int counted(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
	(void)failnum;
	(void)flags;
	if (inside)
		return 0;
	inside = true;
	/* Several rules may name one point (a scenario's and a lab-wide one):
	 * each counts every call, and the first that fires gives the errno. */
	int fired = 0;
	bool sited = false;
	for (size_t i = 0; i < nrules; i++) {
		struct rule *r = &rules[i];
		if (strcmp(r->point, name) != 0)
			continue;
		r->calls++;
		if (count_path && power_of_two(r->calls))
			append_line(count_path, "count", r);
		/* where the calls before the rule fires were made: a counting
		 * rule's are all of them */
		if (sites_path && !sited && r->calls < r->k && r->calls <= SITES_MAX) {
			site_line(r);
			sited = true;
		}
		bool fire = r->from ? r->calls >= r->k : r->calls == r->k;
		if (fire && !r->err) {
			/* SIGKILL here, before the call: the raw system call, as
			 * the POSIX preload may wrap kill() */
			report(r);
			(void)syscall(SYS_kill, getpid(), SIGKILL);
		}
		if (fire) {
			if (!fired)
				*failinfo = (void *)(intptr_t)r->err;
			fired = 1;
			/* the budget's verdict before the firing's line: a reader
			 * that sees a firing beyond the budget has seen it too */
			if (r->from && budget)
				spend_budget(r);
			/* failing from the k-th call on, a rule may fire in a loop:
			 * its first firing, then powers of two, never fill a disk */
			if (!r->from || r->calls == r->k || power_of_two(r->calls))
				report(r);
		}
	}
	inside = false;
	return fired;
}

static int parse_rule(char *spec, struct rule *r)
{
	char *fields[4] = {0};
	int n = 0;
	/* strsep, not strtok: an empty field ("open::13:2") is an error, not
	 * skipped, and a field too many is refused, not ignored. */
	while (spec && n < 4)
		fields[n++] = strsep(&spec, ":");
	if (spec || n < 3 || !*fields[0] || strlen(fields[0]) >= sizeof r->point)
		return -EINVAL;
	uint64_t err = 0, k;
	if ((strcmp(fields[1], "kill") != 0 && tether_parse_uint(fields[1], 1, 4095, &err) < 0) ||
	    tether_parse_uint(fields[2], 1, UINT64_MAX, &k) < 0)
		return -EINVAL;
	if (n == 4 && strcmp(fields[3], "once") != 0 && strcmp(fields[3], "from") != 0)
		return -EINVAL;
	*r = (struct rule){.err = (int)err, .k = k, .from = n == 4 && strcmp(fields[3], "from") == 0};
	memcpy(r->point, fields[0], strlen(fields[0]) + 1);
	return 0;
}

/* "B" or "B:R", B >= 1, R >= 1. */
static int parse_budget(const char *spec)
{
	char copy[64];
	uint64_t bv, rv = 16;
	if (strlen(spec) >= sizeof copy)
		return -EINVAL;
	memcpy(copy, spec, strlen(spec) + 1);
	char *colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	if (tether_parse_uint(copy, 1, UINT64_MAX / 4, &bv) < 0 ||
	    (colon && tether_parse_uint(colon + 1, 1, 1u << 20, &rv) < 0))
		return -EINVAL;
	budget = bv;
	budget_ratio = rv;
	return 0;
}

#ifdef TETHER_COVERAGE
extern void __gcov_dump(void) __attribute__((weak));
extern void __gcov_reset(void) __attribute__((weak));

static const char *flush_dir;
static pid_t flush_pid;
static struct timespec flushed_at;

/* Before each poll of the process that set up (fault.h, TETHER_FAULT_FLUSH):
 * what it ran so far goes to flush_dir, and counting starts afresh, so a
 * SIGKILL loses at most what ran since. Guardians inherit the callback but
 * not the flushing: they may end by a normal exit, and then their counters
 * belong with the other processes'. Never fails the call. */
static int flush_counters(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
	(void)name;
	(void)failnum;
	(void)failinfo;
	(void)flags;
	struct timespec now;
	if (getpid() != flush_pid || clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return 0;
	int64_t gap = (int64_t)(now.tv_sec - flushed_at.tv_sec) * 1000000000 + (now.tv_nsec - flushed_at.tv_nsec);
	if (flushed_at.tv_sec && gap < 50000000)
		return 0; /* a dump writes every counter file: not on each of a burst of polls */
	flushed_at = now;
	/* libgcov reads GCOV_PREFIX at each dump; it is set only around it, so
	 * nothing tether spawns inherits it */
	if (setenv("GCOV_PREFIX", flush_dir, 1) == 0) {
		__gcov_dump();
		/* the counts of these two lines are reset by the second: LCOV_EXCL_START */
		unsetenv("GCOV_PREFIX");
		__gcov_reset(); /* also lets the next dump (and the one at exit) write */
		/* LCOV_EXCL_STOP */
	}
	return 0;
}

static void flush_setup(void)
{
	flush_dir = getenv("TETHER_FAULT_FLUSH");
	if (!flush_dir || !*flush_dir || !__gcov_dump || !__gcov_reset)
		return;
	flush_pid = getpid();
	fiu_init(0);
	fiu_enable_external("tether/sys/poll", 1, NULL, 0, flush_counters);
}
#else
static void flush_setup(void)
{
}
#endif

int tether_fault_setup(void)
{
	/* first: a rule of TETHER_FAULT on tether/sys/poll takes the point over */
	flush_setup();
	const char *spec = getenv("TETHER_FAULT");
	report_path = getenv("TETHER_FAULT_REPORT");
	count_path = getenv("TETHER_FAULT_COUNT");
	sites_path = getenv("TETHER_FAULT_SITES");
	const char *b = getenv("TETHER_FAULT_BUDGET");
	if (count_path && !*count_path)
		count_path = NULL;
	if (sites_path && !*sites_path)
		sites_path = NULL;
	if (!spec || !*spec)
		return 0;
	budget = 0;
	if (b && *b && parse_budget(b) < 0)
		return -EINVAL;
	if (sites_path || budget) {
		/* backtrace() loads its unwinder on first use: now, before any
		 * rule is armed, not in the middle of a counted call */
		void *warm[2];
		(void)backtrace(warm, 2);
	}
	char *copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	int r = 0;
	nrules = 0;
	for (char *save = NULL, *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		if (nrules == MAX_RULES || parse_rule(tok, &rules[nrules]) < 0) {
			r = -EINVAL;
			break;
		}
		nrules++;
	}
	free(copy);
	if (r == 0 && nrules == 0)
		r = -EINVAL; /* ";": asked for faults, named none */
	if (r < 0) {
		nrules = 0;
		return r;
	}
	/* fiu_init is idempotent; the fiu-run preload may have called it. */
	fiu_init(0);
	for (size_t i = 0; i < nrules; i++)
		if (fiu_enable_external(rules[i].point, 1, NULL, 0, counted) < 0)
			return -EINVAL;
	if (count_path && atexit(count_at_exit) != 0)
		return -ENOMEM;
	return 0;
}

#else

int tether_fault_setup(void)
{
	const char *spec = getenv("TETHER_FAULT");
	/* Asked for faults this build cannot inject: refuse rather than pass. */
	return spec && *spec ? -ENOTSUP : 0;
}

#endif

void tether_fault_request(const char *request, struct tether_buf *out)
{
#ifdef TETHER_FAULT_INJECTION
	/* libfiu 1.1 crashes in fiu_disable of a point it never saw: only
	 * disable what was enabled here. */
	static char enabled[8][96];
	char point[96];
	int err = 0, r = -1;
	size_t slot = sizeof enabled / sizeof enabled[0];
	bool enable = sscanf(request, "fault enable %95s %d", point, &err) == 2 && err > 0 && err < 4096;
	if (!enable && sscanf(request, "fault disable %95s", point) != 1)
		point[0] = '\0';
	if (strncmp(point, "tether/", 7) != 0) {
		tether_buf_puts(out, "{\"error\":\"usage: fault enable tether/POINT ERRNO | fault disable tether/POINT\"}");
		return;
	}
	for (size_t i = 0; i < sizeof enabled / sizeof enabled[0]; i++)
		if (strcmp(enabled[i], point) == 0 || (!enabled[i][0] && slot == sizeof enabled / sizeof enabled[0]))
			slot = i;
	if (enable && slot < sizeof enabled / sizeof enabled[0]) {
		fiu_init(0); /* idempotent */
		r = fiu_enable(point, 1, (void *)(intptr_t)err, 0);
		if (r == 0)
			snprintf(enabled[slot], sizeof enabled[slot], "%s", point);
	} else if (!enable) {
		r = 0;
		if (slot < sizeof enabled / sizeof enabled[0] && enabled[slot][0]) {
			r = fiu_disable(point);
			enabled[slot][0] = '\0';
		}
	}
	tether_buf_puts(out, "{\"fault\":");
	tether_buf_json_string(out, point);
	tether_buf_printf(out, ",\"enabled\":%s,\"ok\":%s}", enable && r == 0 ? "true" : "false", r == 0 ? "true" : "false");
#else
	(void)request;
	tether_buf_puts(out, "{\"error\":\"fault injection is not compiled in\"}");
#endif
}
