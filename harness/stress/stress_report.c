/* SPDX-License-Identifier: MIT */
/* stress_report.c — statistics, the fork+exec floor, the summary of a
 * `harness stress` run and REPORT/stress.json (see stress.h).
 *
 * The floor is measured in the same run, the way bench/anchors/src/floor.c
 * measures it: fork, execve of the fixture worker in `--exit 0` mode, waitpid,
 * timed from before the fork to after the wait, warm-up runs first;
 * percentiles are nearest-rank. Comparing a cycle with a floor of the same run
 * cancels most of the machine's moment-to-moment speed (a shared 2-vCPU VM:
 * ±30 % between runs on sub-millisecond numbers) — as long as both are
 * sampled at the same moments: one floor sample is taken right before each
 * cycle (after one unrecorded run, see stress_floor_sample), the rest of
 * --floor N up front. A floor measured in a phase of its own, before the
 * cycles, put the ratio anywhere between 2.9 and 3.6 for the same tether on
 * this machine, as the machine's speed drifted between the two phases.
 *
 * Steady state: each cycle's supervisor is sampled (fd count, VmRSS) right
 * before it is stopped; after a warm-up of the first tenth of the samples, the
 * first and the last deciles are compared. The fd counts of identical
 * supervisors must not differ at all (the largest of the last decile is at most
 * the largest of the first); RSS may wobble by a page or so, so its median may
 * grow by at most RSS_SLACK_KB + RSS_SLACK_PCT.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "common/common.h"
#include "json.h"
#include "stress/stress.h"

#define LAT_WARMUP 3          /* cycles not counted in the latencies, as in the anchors' cycle.c */
#define STEADY_MIN 20         /* fewer samples after warm-up: no verdict */
#define RSS_SLACK_KB 128
#define RSS_SLACK_PCT 10
#define RATIO_TARGET 3.0
/* Other work above this share of the machine's CPU time (or steal above
 * STEAL_BUSY_PCT) during the run: the latencies may be inflated. */
#define OTHER_BUSY_PCT 10.0
#define STEAL_BUSY_PCT 5.0
#define HIST_PER_DECADE 20    /* latency histogram bins: edges 10^(k/20) ms, each ~12 % wide */

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static double rank(const int64_t *sorted, size_t n, double q)
{
	size_t i = (size_t)ceil(q * (double)n);
	return (double)sorted[i ? i - 1 : 0];
}

/* 1: an ELF file without a program interpreter (static), 0: with one,
 * -1: not an ELF file we can read (a wrapper script, as stress-check uses). */
static int elf_static(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	Elf64_Ehdr eh;
	int r = -1;
	if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr)) {
		r = 1;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph)) != (ssize_t)sizeof ph) {
				r = -1;
				break;
			}
			if (ph.p_type == PT_INTERP) {
				r = 0;
				break;
			}
		}
	}
	close(fd);
	return r;
}

void stress_build_probe(struct stress *st)
{
	st->tether_static = elf_static(st->tether);
	char *argv[] = {st->tether, "--version", NULL};
	struct stress_proc p;
	struct stress_spawn req = {.name = "version", .argv = argv, .barrier = -1, .barrier_w = -1};
	if (stress_proc_spawn(st, &p, &req) < 0)
		return;
	if (stress_proc_wait_exit(st, &p, lab_now() + 5 * NS_PER_SEC) && p.code == 0)
		st->tether_version = stress_proc_output(&p);
	stress_proc_release(&p);
}

struct stress_stats stress_stats_of(int64_t *v, size_t n)
{
	struct stress_stats s = {.n = n};
	if (!n)
		return s;
	qsort(v, n, sizeof *v, cmp64);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	s.mean = sum / (double)n;
	s.p50 = rank(v, n, 0.50);
	s.p99 = rank(v, n, 0.99);
	s.min = (double)v[0];
	s.max = (double)v[n - 1];
	return s;
}

/* A sorted copy of v[from..from+n): stats without disturbing the order. */
static struct stress_stats stats_range(const int64_t *v, size_t from, size_t n)
{
	int64_t *copy = xcalloc(n ? n : 1, sizeof *copy);
	if (n) /* v may be NULL when nothing was measured */
		memcpy(copy, v + from, n * sizeof *copy);
	struct stress_stats s = stress_stats_of(copy, n);
	free(copy);
	return s;
}

/* One fork+execve+waitpid of the worker in --exit 0 mode: its time in ns,
 * or -1 (a failure, reported). Bare system calls, not lab_spawn: the floor
 * is what the system costs, with nothing of the harness's in it. */
static int64_t floor_once(struct stress *st)
{
	extern char **environ;
	char *argv[] = {st->worker, "--exit", "0", NULL};
	int64_t t0 = lab_now();
	pid_t p = fork();
	if (p == 0) {
		execve(argv[0], argv, environ);
		_exit(127);
	}
	int status;
	if (p < 0 || waitpid(p, &status, 0) != p || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		stress_fail(st, "floor: a run of %s --exit 0 failed", st->worker);
		return -1;
	}
	return lab_now() - t0;
}

void stress_floor_begin(struct stress *st, unsigned n, unsigned warm)
{
	size_t cap = (size_t)n + st->cycles;
	st->floor = xcalloc(cap ? cap : 1, sizeof *st->floor);
	for (unsigned i = 0; i < warm; i++)
		if (floor_once(st) < 0) {
			st->floor_failed = true;
			return;
		}
	unsigned upfront = n > st->cycles ? n - st->cycles : 0;
	for (unsigned i = 0; i < upfront; i++)
		stress_floor_sample(st);
}

void stress_floor_sample(struct stress *st)
{
	if (!st->floor || st->floor_failed)
		return;
	/* Not the first run after a cycle: that one pays for what the cycle
	 * left to the kernel (freeing its processes' memory, its namespace),
	 * which made the floor 10-15 % slower and flattered the ratio. The
	 * second runs as the cycle does, right after a floor run. */
	if (floor_once(st) < 0) {
		st->floor_failed = true;
		return;
	}
	int64_t t = floor_once(st);
	if (t < 0)
		st->floor_failed = true;
	else
		st->floor[st->nfloor++] = t;
}

void stress_cpu_sample(struct stress_cpu *ret)
{
	*ret = (struct stress_cpu){0};
	size_t len = 0;
	char *s = lab_read_file("/proc/stat", 1 << 20, &len, &(int){0});
	unsigned long long v[8] = {0};
	long hz = sysconf(_SC_CLK_TCK);
	if (s && hz > 0 &&
	    sscanf(s, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
		   &v[7]) == 8) {
		/* user nice system idle iowait irq softirq steal, in ticks */
		int64_t tick = NS_PER_SEC / hz;
		ret->busy_ns = (int64_t)(v[0] + v[1] + v[2] + v[5] + v[6]) * tick;
		ret->steal_ns = (int64_t)v[7] * tick;
		ret->all_ns = (int64_t)(v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]) * tick;
		ret->ok = true;
	}
	free(s);
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	const struct timeval *t[] = {&self.ru_utime, &self.ru_stime, &kids.ru_utime, &kids.ru_stime};
	for (size_t i = 0; i < 4; i++)
		ret->ours_ns += (int64_t)t[i]->tv_sec * NS_PER_SEC + (int64_t)t[i]->tv_usec * 1000;
}

struct steady {
	bool judged, grew;
	struct stress_stats first, last;
};

static struct steady steady_of(const int64_t *v, size_t n, bool exact)
{
	struct steady s = {0};
	size_t warm = n / 10, after = n - warm, dec = after / 10 ? after / 10 : 1;
	if (after < STEADY_MIN)
		return s;
	s.judged = true;
	s.first = stats_range(v, warm, dec);
	s.last = stats_range(v, n - dec, dec);
	if (exact)
		s.grew = s.last.max > s.first.max;
	else
		s.grew = s.last.p50 > s.first.p50 + RSS_SLACK_KB + s.first.p50 * RSS_SLACK_PCT / 100.0;
	return s;
}

static void json_stats(struct tether_buf *b, const char *key, const struct stress_stats *s, double div)
{
	tether_buf_printf(b, "\"%s\":{\"n\":%zu,\"mean\":%.4f,\"p50\":%.4f,\"p99\":%.4f,\"min\":%.4f,\"max\":%.4f}", key,
			  s->n, s->mean / div, s->p50 / div, s->p99 / div, s->min / div, s->max / div);
}

static void json_steady(struct tether_buf *b, const char *key, const struct steady *s)
{
	tether_buf_printf(b, "\"%s\":{\"judged\":%s,\"grew\":%s,", key, s->judged ? "true" : "false",
			  s->grew ? "true" : "false");
	json_stats(b, "first_decile", &s->first, 1);
	tether_buf_puts(b, ",");
	json_stats(b, "last_decile", &s->last, 1);
	tether_buf_puts(b, "}");
}

/* A histogram of v[from..from+n) (ns) in ms, on log bins HIST_PER_DECADE
 * to a decade, from the first bin that has a sample to the last: the shape
 * of a distribution (two modes, a tail) that its percentiles hide. The same
 * edges for every run, so that two builds' histograms compare bin by bin. */
static void json_hist(struct tether_buf *b, const char *key, const int64_t *v, size_t from, size_t n)
{
	tether_buf_printf(b, "\"%s\":{\"bins_per_decade\":%d,\"edges_ms\":[", key, HIST_PER_DECADE);
	int lo = INT32_MAX, hi = INT32_MIN;
	int *bin = xcalloc(n ? n : 1, sizeof *bin);
	for (size_t i = 0; i < n; i++) {
		double ms = (double)v[from + i] / 1e6;
		bin[i] = (int)floor(log10(ms > 1e-6 ? ms : 1e-6) * HIST_PER_DECADE);
		lo = bin[i] < lo ? bin[i] : lo;
		hi = bin[i] > hi ? bin[i] : hi;
	}
	for (int k = lo; n && k <= hi + 1; k++)
		tether_buf_printf(b, "%s%.4g", k > lo ? "," : "", pow(10, (double)k / HIST_PER_DECADE));
	tether_buf_puts(b, "],\"counts\":[");
	for (int k = lo; n && k <= hi; k++) {
		size_t c = 0;
		for (size_t i = 0; i < n; i++)
			c += bin[i] == k;
		tether_buf_printf(b, "%s%zu", k > lo ? "," : "", c);
	}
	tether_buf_puts(b, "]}");
	free(bin);
}

static void json_race(struct tether_buf *b, const char *key, const struct stress_race_result *r, unsigned m)
{
	struct stress_stats s = stats_range(r->lat, 0, r->nlat);
	tether_buf_printf(b, "\"%s\":{\"rounds\":%u,\"failed\":%u,\"concurrency\":%u,", key, r->rounds, r->failed, m);
	json_stats(b, "latency_ms", &s, 1e6);
	tether_buf_puts(b, "}");
}

/* vals (down or cyc) of the clean cycles after warm-up stopped one way */
static struct stress_stats by_stop(const struct stress *st, const int64_t *vals, size_t from, bool by_cmd)
{
	int64_t *v = xcalloc(st->nclean ? st->nclean : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = from; i < st->nclean; i++)
		if (st->by_cmd[i] == by_cmd)
			v[n++] = vals[i];
	struct stress_stats s = stress_stats_of(v, n);
	free(v);
	return s;
}

static const char *verdict(const struct steady *s)
{
	return !s->judged ? "not judged (too few cycles)" : s->grew ? "GREW" : "no growth";
}

static void print_lat(const char *label, const struct stress_stats *s)
{
	printf("  %-14s %6zu %9.3f %9.3f %9.3f %9.3f\n", label, s->n, s->p50 / 1e6, s->p99 / 1e6, s->max / 1e6,
	       s->mean / 1e6);
}

static int write_json(const char *dir, const struct tether_buf *b)
{
	if (b->oom)
		return -ENOMEM;
	char *path = xasprintf("%s/stress.json", dir), *tmp = xasprintf("%s/.stress.json.tmp", dir);
	int r = lab_write_file(tmp, b->data, b->len);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	free(path);
	free(tmp);
	return r;
}

int stress_report(struct stress *st, bool passed_so_far, bool *ret_passed)
{
	double secs = (double)(lab_now() - st->started_mono) / 1e9;
	size_t from = st->nclean > LAT_WARMUP ? LAT_WARMUP : 0, n = st->nclean - from;
	struct stress_stats up = stats_range(st->up, from, n), down = stats_range(st->down, from, n),
		     cyc = stats_range(st->cyc, from, n), flo = stats_range(st->floor, 0, st->nfloor);
	struct stress_stats down_sig = by_stop(st, st->down, from, false), down_cmd = by_stop(st, st->down, from, true);
	struct stress_stats cyc_sig = by_stop(st, st->cyc, from, false), cyc_cmd = by_stop(st, st->cyc, from, true);
	struct steady fds = steady_of(st->fds, st->nsample, true), rss = steady_of(st->rss, st->nsample, false);
	double ratio = flo.p50 > 0 && cyc.n ? cyc.p50 / flo.p50 : 0;
	bool ratio_ok = ratio > 0 && ratio <= (st->max_ratio > 0 ? st->max_ratio : RATIO_TARGET);
	bool passed = passed_so_far && st->nfail == 0 && !fds.grew && !rss.grew && !st->interrupted;
	if (st->max_ratio > 0 && !ratio_ok) {
		passed = false;
		if (cyc.n)
			stress_fail(st, "cycle p50 / floor p50 = %.2f, above --max-ratio %.2f", ratio, st->max_ratio);
	}
	if (fds.grew)
		stress_fail(st, "tether's fd count grew across cycles: first decile max %.0f, last decile max %.0f",
			    fds.first.max, fds.last.max);
	if (rss.grew)
		stress_fail(st, "tether's RSS grew across cycles: first decile median %.0f kB, last decile median %.0f kB",
			    rss.first.p50, rss.last.p50);
	unsigned failed_cycles = 0;
	for (int k = 0; k < STRESS_FAULT_KINDS; k++)
		failed_cycles += st->fault_failed[k];

	printf("harness stress: %u cycles (%zu clean, %u failed) in %.1f s: %.1f cycles/s; seed %llu\n",
	       st->cycles_run, st->nclean, failed_cycles, secs, secs > 0 ? st->cycles_run / secs : 0,
	       (unsigned long long)st->seed);
	printf("  tether %s, %u instance%s, faults %s\n", st->tether, st->instances, st->instances == 1 ? "" : "s",
	       st->mix.text);
	printf("  %-14s %6s %9s %9s %9s %9s   (ms; clean cycles after %d warm-up)\n", "", "n", "p50", "p99", "max",
	       "mean", LAT_WARMUP);
	print_lat("start->ready", &up);
	print_lat("stop->gone", &down);
	print_lat("  by SIGTERM", &down_sig);
	print_lat("  by command", &down_cmd);
	print_lat("cycle", &cyc);
	print_lat("  by SIGTERM", &cyc_sig);
	print_lat("  by command", &cyc_cmd);
	print_lat("floor", &flo);
	printf("  floor: fork+execve+waitpid of %s --exit 0, same run\n", st->worker);
	if (cyc.n)
		printf("  ratio cycle p50 / floor p50: %.2f (target <= %.1f: %s)\n", ratio,
		       st->max_ratio > 0 ? st->max_ratio : RATIO_TARGET, ratio_ok ? "met" : "NOT met");
	else
		printf("  ratio cycle p50 / floor p50: n/a (no clean cycle)\n");
	double r_sig = flo.p50 > 0 ? cyc_sig.p50 / flo.p50 : 0, r_cmd = flo.p50 > 0 ? cyc_cmd.p50 / flo.p50 : 0;
	if (cyc_sig.n && cyc_cmd.n)
		printf("  ratio by stop method: SIGTERM %.2f, tether stop %.2f\n", r_sig, r_cmd);
	/* The interleaved floor absorbs a machine that is slower all over, not
	 * other work that delays the cycle's several wake-ups more than the
	 * floor's one: say what else used the CPUs meanwhile (other processes,
	 * and the hypervisor's steal), from /proc/stat less our own tree. */
	struct stress_cpu end;
	stress_cpu_sample(&end);
	double ours_pct = -1, other_pct = -1, steal_pct = -1;
	int64_t all = end.all_ns - st->cpu_start.all_ns;
	if (st->cpu_start.ok && end.ok && all > 0) {
		int64_t ours = end.ours_ns - st->cpu_start.ours_ns;
		int64_t other = end.busy_ns - st->cpu_start.busy_ns - ours;
		ours_pct = 100.0 * (double)ours / (double)all;
		other_pct = other > 0 ? 100.0 * (double)other / (double)all : 0;
		steal_pct = 100.0 * (double)(end.steal_ns - st->cpu_start.steal_ns) / (double)all;
		bool busy = other_pct > OTHER_BUSY_PCT || steal_pct > STEAL_BUSY_PCT;
		printf("  CPU time of the machine during the run: ours %.0f%%, other work %.0f%%, steal %.0f%%%s\n",
		       ours_pct, other_pct, steal_pct, busy ? ": latencies may be inflated, re-run on a quiet machine" : "");
	}
	if (fds.judged) {
		printf("  fds before stop: first decile max %.0f, last decile max %.0f: %s\n", fds.first.max,
		       fds.last.max, verdict(&fds));
		printf("  VmRSS before stop: first decile median %.0f kB, last decile median %.0f kB: %s\n",
		       rss.first.p50, rss.last.p50, verdict(&rss));
	} else {
		printf("  fds and VmRSS before stop: %s: %zu samples, %d needed after warm-up\n", verdict(&fds),
		       st->nsample, STEADY_MIN);
	}
	for (int k = STRESS_FAULT_ENOSPC; k < STRESS_FAULT_KINDS; k++)
		if (st->injected[k])
			printf("  fault %-8s %u cycles, %u failed\n", stress_fault_name(k), st->injected[k],
			       st->fault_failed[k]);
	struct stress_stats kc = stats_range(st->kill_clean, 0, st->nkill_clean);
	struct stress_stats eu = stats_range(st->eagain_up, 0, st->neagain_up);
	if (kc.n)
		printf("  sigkill -> no process of the run left: p50 %.3f ms, max %.3f ms\n", kc.p50 / 1e6, kc.max / 1e6);
	if (eu.n)
		printf("  eagain: start->ready with one failed fork and backoff: p50 %.3f ms, max %.3f ms\n",
		       eu.p50 / 1e6, eu.max / 1e6);
	if (st->injected[STRESS_FAULT_SIGTERM])
		printf("  sigterm: stopped gracefully (exit 0) %u, died by it before blocking it (nothing left) %u\n",
		       st->sigterm_outcome[0], st->sigterm_outcome[1]);
	const struct stress_race_result *rs = &st->race_start, *rp = &st->race_stop, *rb = &st->race_start_stop;
	struct stress_stats rsl = stats_range(rs->lat, 0, rs->nlat), rpl = stats_range(rp->lat, 0, rp->nlat);
	if (rs->rounds)
		printf("  start race (%u x tether run): %u rounds, %u failed; release -> winner ready p50 %.3f ms\n",
		       st->concurrency, rs->rounds, rs->failed, rsl.p50 / 1e6);
	if (rp->rounds)
		printf("  stop race (%u x tether stop): %u rounds, %u failed; release -> all gone p50 %.3f ms\n",
		       st->concurrency, rp->rounds, rp->failed, rpl.p50 / 1e6);
	if (rb->rounds)
		printf("  start/stop race: %u rounds, %u failed (stopped before ready %u, after ready %u, "
		       "stop came first %u)\n", rb->rounds, rb->failed, rb->outcome[0], rb->outcome[1], rb->outcome[2]);

	struct tether_buf b;
	tether_buf_init(&b);
	char when[40];
	tether_format_iso8601(st->started_wall, false, when, sizeof when);
	tether_buf_printf(&b, "{\"format\":\"tether-lab-stress/1\",\"passed\":%s,\"started_at\":\"%s\",\"duration_s\":%.3f,"
			      "\"seed\":%llu,\"tether\":", passed ? "true" : "false", when, secs,
			  (unsigned long long)st->seed);
	tether_buf_json_string(&b, st->tether);
	tether_buf_puts(&b, ",\"build\":{\"version\":");
	if (st->tether_version)
		tether_buf_json_string(&b, st->tether_version);
	else
		tether_buf_puts(&b, "null");
	tether_buf_printf(&b, ",\"linkage\":\"%s\"}", st->tether_static > 0 ? "static"
							: st->tether_static == 0      ? "dynamic"
										      : "unknown");
	tether_buf_puts(&b, ",\"worker\":");
	tether_buf_json_string(&b, st->worker);
	tether_buf_printf(&b, ",\"instances\":%u,\"concurrency\":%u,\"faults\":", st->instances, st->concurrency);
	tether_buf_json_string(&b, st->mix.text);
	tether_buf_printf(&b, ",\"interrupted\":%s,\"cycles\":{\"requested\":%u,\"run\":%u,\"clean\":%zu,\"failed\":%u,"
			      "\"per_s\":%.3f},\"latency_ms\":{\"warmup\":%d,", st->interrupted ? "true" : "false",
			  st->cycles, st->cycles_run, st->nclean, failed_cycles, secs > 0 ? st->cycles_run / secs : 0,
			  LAT_WARMUP);
	json_stats(&b, "start_ready", &up, 1e6);
	tether_buf_puts(&b, ",");
	json_stats(&b, "stop_gone", &down, 1e6);
	tether_buf_puts(&b, ",");
	json_stats(&b, "stop_gone_sigterm", &down_sig, 1e6);
	tether_buf_puts(&b, ",");
	json_stats(&b, "stop_gone_command", &down_cmd, 1e6);
	tether_buf_puts(&b, ",");
	json_stats(&b, "cycle", &cyc, 1e6);
	tether_buf_puts(&b, ",");
	json_stats(&b, "cycle_sigterm", &cyc_sig, 1e6);
	tether_buf_puts(&b, ",");
	json_stats(&b, "cycle_command", &cyc_cmd, 1e6);
	tether_buf_puts(&b, "},\"latency_hist\":{");
	json_hist(&b, "start_ready", st->up, from, n);
	tether_buf_puts(&b, ",");
	json_hist(&b, "stop_gone", st->down, from, n);
	tether_buf_puts(&b, ",");
	json_hist(&b, "cycle", st->cyc, from, n);
	tether_buf_puts(&b, ",");
	json_hist(&b, "floor", st->floor, 0, st->nfloor);
	tether_buf_puts(&b, "},\"floor_ms\":{\"method\":\"fork+execve+waitpid of worker --exit 0\",");
	json_stats(&b, "stats", &flo, 1e6);
	tether_buf_printf(&b, "},\"ratio_sigterm\":%.3f,\"ratio_command\":%.3f", r_sig, r_cmd);
	tether_buf_printf(&b, ",\"cpu_pct\":{\"ours\":%.1f,\"other\":%.1f,\"steal\":%.1f}", ours_pct, other_pct, steal_pct);
	tether_buf_printf(&b, ",\"ratio_cycle_p50_to_floor_p50\":%.3f,\"ratio_target\":%.2f,\"ratio_met\":%s,"
			      "\"ratio_enforced\":%s,\"steady_state\":{\"samples\":%zu,",
			  ratio, st->max_ratio > 0 ? st->max_ratio : RATIO_TARGET, ratio_ok ? "true" : "false",
			  st->max_ratio > 0 ? "true" : "false", st->nsample);
	json_steady(&b, "fds", &fds);
	tether_buf_puts(&b, ",");
	json_steady(&b, "rss_kb", &rss);
	tether_buf_puts(&b, "},\"faults_injected\":{");
	for (int k = STRESS_FAULT_ENOSPC; k < STRESS_FAULT_KINDS; k++)
		tether_buf_printf(&b, "%s\"%s\":{\"cycles\":%u,\"failed\":%u}", k > STRESS_FAULT_ENOSPC ? "," : "",
				  stress_fault_name(k), st->injected[k], st->fault_failed[k]);
	tether_buf_printf(&b, "},\"sigterm_outcomes\":{\"exit_0\":%u,\"died_before_startup\":%u},",
			  st->sigterm_outcome[0], st->sigterm_outcome[1]);
	json_stats(&b, "sigkill_to_clean_ms", &kc, 1e6);
	tether_buf_puts(&b, ",");
	json_stats(&b, "eagain_start_ready_ms", &eu, 1e6);
	tether_buf_puts(&b, ",\"races\":{");
	json_race(&b, "start", rs, st->concurrency);
	tether_buf_puts(&b, ",");
	json_race(&b, "stop", rp, st->concurrency);
	tether_buf_printf(&b, ",\"start_stop\":{\"rounds\":%u,\"failed\":%u,\"stopped_before_ready\":%u,"
			      "\"stopped_after_ready\":%u,\"stop_came_first\":%u}},\"failures_total\":%u,\"failures\":[",
			  rb->rounds, rb->failed, rb->outcome[0], rb->outcome[1], rb->outcome[2], st->nfail);
	for (size_t i = 0; i < st->nfails_kept; i++) {
		if (i)
			tether_buf_puts(&b, ",");
		tether_buf_json_string(&b, st->fails[i]);
	}
	tether_buf_puts(&b, "]}\n");
	int r = write_json(st->report_dir, &b);
	tether_buf_done(&b);
	if (r < 0)
		fprintf(stderr, "harness stress: cannot write %s/stress.json: %s\n", st->report_dir, strerror(-r));
	else
		printf("  report: %s/stress.json\n", st->report_dir);
	if (st->nfail)
		printf("FAIL: %u failure%s (the first are listed above and in the report)\n", st->nfail,
		       st->nfail == 1 ? "" : "s");
	else
		printf("%s\n", passed ? "PASS" : "FAIL");
	*ret_passed = passed && st->nfail == 0;
	return r;
}
