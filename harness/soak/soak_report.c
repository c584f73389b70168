/* SPDX-License-Identifier: MIT */
/* soak_report.c — the end of a soak: G6 over the samples, reports/soak.json,
 * and the summary (see soak.h).
 *
 * G6 (steady state) is judged per incarnation, since a fresh tether starts
 * from scratch: the first quarter of its life is warm-up; the largest
 * anonymous memory (RssAnon + RssShmem) and fd count of its last quarter must
 * not exceed those of its second quarter (fds exactly, memory within a
 * page-granular slack: malloc may settle a few pages later). VmRSS is
 * reported, not judged: most of it is file pages that a code path's first
 * run faults in, in steps larger than any slack, at any time
 * (soak_tether_sample). Samples are taken at quiescent points only, after a
 * settle, so transient descriptors of a stop or a spawn do not count. An
 * incarnation shorter than an hour of virtual time is reported, not judged.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "soak/soak.h"

#define ANON_SLACK_KB 64
#define SAMPLES_MAX 240 /* in soak.json */

struct g6 {
	unsigned incarnation;
	size_t samples;
	int64_t span;
	uint64_t rss_early, rss_late;   /* VmRSS, for information */
	uint64_t anon_early, anon_late; /* judged */
	unsigned fds_early, fds_late;
	bool judged, grew;
};

static void analyse(struct soak *s, unsigned n, struct g6 *ret)
{
	*ret = (struct g6){.incarnation = n};
	int64_t first = -1, last = -1;
	for (size_t i = 0; i < s->nsamples; i++) {
		if (s->samples[i].incarnation != n)
			continue;
		if (first < 0)
			first = s->samples[i].vms;
		last = s->samples[i].vms;
		ret->samples++;
	}
	ret->span = last - first;
	int64_t hour = MS_PER_HOUR / s->scale;
	if (first < 0 || ret->span < hour)
		return;
	for (size_t i = 0; i < s->nsamples; i++) {
		const struct soak_sample *x = &s->samples[i];
		if (x->incarnation != n)
			continue;
		int64_t at = x->vms - first;
		if (at >= ret->span / 4 && at < ret->span / 2) {
			ret->rss_early = x->rss_kb > ret->rss_early ? x->rss_kb : ret->rss_early;
			ret->anon_early = x->anon_kb > ret->anon_early ? x->anon_kb : ret->anon_early;
			ret->fds_early = x->fds > ret->fds_early ? x->fds : ret->fds_early;
		} else if (at >= ret->span * 3 / 4) {
			ret->rss_late = x->rss_kb > ret->rss_late ? x->rss_kb : ret->rss_late;
			ret->anon_late = x->anon_kb > ret->anon_late ? x->anon_kb : ret->anon_late;
			ret->fds_late = x->fds > ret->fds_late ? x->fds : ret->fds_late;
		}
	}
	ret->judged = true;
	ret->grew = ret->fds_late > ret->fds_early;
#ifndef TETHER_SANITIZERS
	/* (In a sanitizer build ASan's quarantine keeps freed memory for a
	 * while and memory says nothing: fds only.) */
	ret->grew = ret->grew || ret->anon_late > ret->anon_early + ANON_SLACK_KB;
#endif
}

static char *replay_command(const struct soak *s)
{
	struct tether_buf b;
	tether_buf_init(&b);
	tether_buf_printf(&b, "harness soak --seed %llu --duration %s --clock %s --instances %u --isolation %s",
			  (unsigned long long)s->seed, s->duration_arg, s->real ? "real" : "simulated", s->p.instances,
			  s->isolation);
	if (s->scale != 1)
		tether_buf_printf(&b, " --scale %u", s->scale);
	if (b.oom)
		lab_die("out of memory");
	return b.data;
}

static void write_json(struct soak *s, const struct g6 *g, unsigned ng, const struct soak_model_counts *mc,
		       double wall_s, const char *replay)
{
	struct tether_buf b;
	tether_buf_init(&b);
	tether_buf_printf(&b, "{\"seed\":%llu,\"schedule\":\"%016llx\",\"clock\":\"%s\",\"duration\":",
			  (unsigned long long)s->seed, (unsigned long long)s->sched.digest, s->real ? "real" : "simulated");
	tether_buf_json_string(&b, s->duration_arg);
	tether_buf_printf(&b, ",\"scale\":%u,\"instances\":%u,\"isolation\":\"%s\",\"passed\":%s,"
			      "\"virtual_s\":%.3f,\"wall_s\":%.3f,\"failures\":%u,\"failure\":",
			  s->scale, s->p.instances, s->isolation, s->failed ? "false" : "true", (double)s->vnow / 1000,
			  wall_s, s->nfailures);
	if (s->failed) {
		tether_buf_printf(&b, "{\"virtual_s\":%.3f,\"message\":", (double)s->fail_vms / 1000);
		tether_buf_json_string(&b, s->fail_msg);
		tether_buf_puts(&b, "}");
	} else {
		tether_buf_puts(&b, "null");
	}
	if (!s->real)
		tether_buf_printf(&b, ",\"outcome\":\"%016llx\"", (unsigned long long)mc->outcome);
	tether_buf_puts(&b, ",\"replay\":");
	tether_buf_json_string(&b, replay);
	tether_buf_puts(&b, ",\"events\":{");
	for (int k = 0; k < SOAK_EV_NKINDS; k++)
		tether_buf_printf(&b, "%s\"%s\":{\"injected\":%u,\"skipped\":%u}", k ? "," : "",
				  soak_kind_name((enum soak_kind)k), s->injected[k], s->skipped[k]);
	tether_buf_printf(&b, "},\"storm_crashes\":%u,\"notify_datagrams\":%u,\"notify_fds\":%u,"
			      "\"tether\":{\"incarnations\":%u,\"killed\":%u,\"gave_up\":%u},"
			      "\"journal\":{\"lines\":%u,\"heartbeats\":%u,\"heartbeats_checked\":%u,\"crashes\":%u,"
			      "\"restarts\":%u,\"delays_checked\":%u,\"give_ups\":%u,\"watchdog_kills\":%u,"
			      "\"start_failed\":%u,\"expectations_met\":%u,\"log_errors\":%u,\"lost_lines\":%u,"
			      "\"rotations\":%u},\"g2\":{\"max_ms\":%.1f,\"orphans\":%u},\"g6\":[",
			  s->storm_crashes, s->notify_sent, s->notify_fds_sent, s->incarnations, s->killed, s->gave_up,
			  mc->lines, mc->heartbeats, mc->checked_heartbeats, mc->crashes, mc->restarts, mc->checked_delays,
			  mc->give_ups, mc->watchdogs, mc->start_failed, mc->checked_expectations, mc->log_errors,
			  mc->lost_lines, soak_journal_rotations(s->journal), (double)s->g2_max_ns / 1e6, s->orphans);
	for (unsigned i = 0; i < ng; i++)
		tether_buf_printf(&b, "%s{\"incarnation\":%u,\"samples\":%zu,\"virtual_s\":%.0f,\"judged\":%s,"
				      "\"anon_kb_early\":%llu,\"anon_kb_late\":%llu,\"rss_kb_early\":%llu,\"rss_kb_late\":%llu,"
				      "\"fds_early\":%u,\"fds_late\":%u,\"grew\":%s}",
				  i ? "," : "", g[i].incarnation, g[i].samples, (double)g[i].span / 1000,
				  g[i].judged ? "true" : "false", (unsigned long long)g[i].anon_early,
				  (unsigned long long)g[i].anon_late, (unsigned long long)g[i].rss_early,
				  (unsigned long long)g[i].rss_late, g[i].fds_early, g[i].fds_late, g[i].grew ? "true" : "false");
	/* tether's footprint over virtual time, thinned to a plot's worth */
	tether_buf_puts(&b, "],\"samples\":[");
	size_t step = s->nsamples / SAMPLES_MAX + 1;
	for (size_t i = 0; i < s->nsamples; i += step)
		tether_buf_printf(&b, "%s{\"vms\":%lld,\"incarnation\":%u,\"rss_kb\":%llu,\"anon_kb\":%llu,\"fds\":%u}",
				  i ? "," : "", (long long)s->samples[i].vms, s->samples[i].incarnation,
				  (unsigned long long)s->samples[i].rss_kb, (unsigned long long)s->samples[i].anon_kb,
				  s->samples[i].fds);
	/* what happened when: every injected event and give-up, in order */
	tether_buf_puts(&b, "],\"timeline\":[");
	for (size_t i = 0; i < s->nmarks; i++) {
		const struct soak_mark *m = &s->marks[i];
		tether_buf_printf(&b, "%s{\"vms\":%lld,\"event\":\"%s\"", i ? "," : "", (long long)m->vms,
				  m->kind == SOAK_EV_NKINDS ? "give_up" : soak_kind_name((enum soak_kind)m->kind));
		if (m->instance >= 0)
			tether_buf_printf(&b, ",\"instance\":%d", m->instance);
		tether_buf_puts(&b, "}");
	}
	tether_buf_puts(&b, "]}\n");
	if (b.oom)
		lab_die("out of memory");
	char *path = xasprintf("%s/soak.json", s->report_dir);
	int r = lab_mkdir_p(s->report_dir);
	if (r == 0)
		r = lab_write_file(path, b.data, b.len);
	if (r < 0)
		fprintf(stderr, "harness soak: cannot write %s: %s\n", path, strerror(-r));
	free(path);
	tether_buf_done(&b);
}

void soak_finish_report(struct soak *s)
{
	unsigned ng = s->incarnations;
	struct g6 *g = xcalloc(ng ? ng : 1, sizeof *g);
	for (unsigned i = 0; i < ng; i++) {
		analyse(s, i + 1, &g[i]);
		if (g[i].grew)
			soak_fail(s, "G6: tether #%u grew after warm-up: anonymous memory %llu kB -> %llu kB, fds %u -> %u",
				  i + 1, (unsigned long long)g[i].anon_early, (unsigned long long)g[i].anon_late,
				  g[i].fds_early, g[i].fds_late);
	}
	struct soak_model_counts mc;
	soak_model_counts(s->model, &mc);
	double wall_s = (double)(lab_now() - s->wall_start) / 1e9;
	char *replay = replay_command(s);
	write_json(s, g, ng, &mc, wall_s, replay);

	char v[32];
	if (s->real)
		printf("soak: %s of real time (the schedule compressed x%u): %s\n", soak_fmt_vms(s->vnow, v, sizeof v),
		       s->scale, s->failed ? "FAILED" : "passed");
	else
		printf("soak: %s virtual in %.1f s wall (x%.0f), outcome %016llx: %s\n", soak_fmt_vms(s->vnow, v, sizeof v),
		       wall_s, wall_s > 0 ? (double)s->vnow / 1000 / wall_s : 0.0, (unsigned long long)mc.outcome,
		       s->failed ? "FAILED" : "passed");
	printf("  events:");
	for (int k = 0; k < SOAK_EV_NKINDS; k++) {
		printf(" %s %u", soak_kind_name((enum soak_kind)k), s->injected[k]);
		if (s->skipped[k])
			printf(" (+%u skipped)", s->skipped[k]);
		putchar(k + 1 < SOAK_EV_NKINDS ? ',' : '\n');
	}
	printf("  tether: %u incarnation(s): %u killed, %u gave up; %u crashes, %u restarts, %u watchdog kills, "
	       "%u failed starts, %u storm crashes\n",
	       s->incarnations, s->killed, s->gave_up, mc.crashes, mc.restarts, mc.watchdogs, mc.start_failed,
	       s->storm_crashes);
	printf("  journal: %u lines, %u rotations, %u heartbeats (%u on time), %u backoff delays and %u predicted "
	       "events checked, %u log_error (%u lines lost to ENOSPC)\n",
	       mc.lines, soak_journal_rotations(s->journal), mc.heartbeats, mc.checked_heartbeats, mc.checked_delays,
	       mc.checked_expectations, mc.log_errors, mc.lost_lines);
	printf("  G2: every tree gone at most %.1f ms after its supervisor's or guardian's SIGKILL; %u orphan(s)\n",
	       (double)s->g2_max_ns / 1e6, s->orphans);
	for (unsigned i = 0; i < ng; i++) {
		char span[32];
		if (g[i].judged)
			printf("  G6: tether #%u over %s: anonymous %llu -> %llu kB, fds %u -> %u (early -> late max; "
			       "VmRSS %llu -> %llu kB)%s\n",
			       g[i].incarnation, soak_fmt_vms(g[i].span, span, sizeof span),
			       (unsigned long long)g[i].anon_early, (unsigned long long)g[i].anon_late, g[i].fds_early,
			       g[i].fds_late, (unsigned long long)g[i].rss_early, (unsigned long long)g[i].rss_late,
			       g[i].grew ? ": GREW" : "");
		else
			printf("  G6: tether #%u ran %s: too short to judge\n", g[i].incarnation,
			       soak_fmt_vms(g[i].span, span, sizeof span));
	}
	if (s->failed) {
		printf("soak: FAILED at virtual %s: %s\n", soak_fmt_vms(s->fail_vms, v, sizeof v), s->fail_msg);
		if (s->nfailures > 1)
			printf("  (%u failures in all)\n", s->nfailures);
		printf("  seed %llu; replay: %s\n", (unsigned long long)s->seed, replay);
	}
	printf("  report: %s/soak.json\n", s->report_dir);
	fflush(stdout);
	free(replay);
	free(g);
}
