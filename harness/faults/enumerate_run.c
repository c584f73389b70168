/* SPDX-License-Identifier: MIT */
/* enumerate_run.c — the runs of `harness faults`: each in a forked process
 * of its own, as `harness run` runs a scenario (so a crash or a hang of one
 * cannot take the enumeration along), which runs the plan with the rule in
 * every tether, judges it (faults_after_plan) and sends the judgement back as
 * JSON through a pipe. The parent waits on pipes, pidfds and a signalfd —
 * never blindly — and enforces a deadline per run (the pool of
 * common/jobs.c). Discovery is a run too: unfaulted, counting the calls of
 * every candidate point (and in --ci where each was made, and how long each
 * wait took: enumerate_plan.c, enumerate_watch.c).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults/faults.h"
#include "common/common.h"
#include "run/run.h"

/* In the run's own process (a job of the pool): the plan with the rule in
 * every tether, judged (faults_after_plan); the judgement goes to fd. */
struct run_arg {
	const struct faults_ctx *c;
	const struct slot *s;
};

static void run_one(int fd, void *arg)
{
	const struct run_arg *a = arg;
	const struct faults_ctx *c = a->c;
	const struct slot *s = a->s;
	const struct target *t = s->t;
	const struct chain *ch = s->chain;
	struct judgement j = {0};
	struct run_ctx x = {.j = &j, .tether = c->opt.tether, .sites_path = s->sites_path};
	struct lab_options o = c->opt;
	char budget[64];
	o.tether_fault = s->rule;
	o.fault_count = s->count_path;
	o.fault_sites = s->sites_path;
	o.isolation = t->isolation;
	if (ch) {
		x.point = ch->point;
		x.k = s->k;
		x.from = ch->from;
		x.count = ch->count;
		if (ch->r) {
			x.known_sites = ch->r->sites;
			x.nknown_sites = ch->r->nsites;
		}
		if (ch->from) {
			/* the spin budget, relative to the unfaulted run (SPEC G9) */
			x.budget = ch->budget;
			snprintf(budget, sizeof budget, "%lu:16", x.budget);
			o.fault_budget = budget;
		}
		if (c->ci) {
			/* waits cut to what the unfaulted run needed, and ended when
			 * nothing of the scenario is left to make them hold */
			x.limits = t->waits;
			x.nlimits = t->nwaits;
			x.floor_ns = ch->from ? FAULTS_FROM_WAIT_NS : FAULTS_ONCE_WAIT_NS;
			o.end_idle_waits = true;
		}
	}
	struct lab_hooks hooks = faults_hooks;
	hooks.data = &x;
	o.hooks = &hooks;
	o.after_plan = faults_after_plan;
	o.after_plan_data = &x;
	struct lab_result r;
	int64_t t0 = lab_now();
	lab_run_scenario(t->scn, &o, s->run_id, &r);
	j.ns = lab_now() - t0;
	if (!j.summary) /* the plan never ran: the lab could not set up */
		faults_judgement_add(&j, "lab: %s", r.message ? r.message : "the scenario did not run");
	j.lab_details = r.details;
	j.dir = r.dir;
	r.details = r.dir = NULL;
	lab_result_clear(&r);
	struct tether_buf b;
	tether_buf_init(&b);
	faults_judgement_write(&j, &b);
	if (!b.oom)
		lab_write_all(fd, b.data, b.len);
}

struct slot *faults_start_run(struct faults_ctx *c, struct target *t, struct chain *ch, unsigned long k,
			      const char *rule)
{
	struct slot *s = xcalloc(1, sizeof *s);
	s->t = t;
	s->chain = ch;
	s->k = k;
	s->run_id = lab_run_id("faults", ++c->seq);
	s->rule = xstrdup(rule);
	s->t0 = lab_now();
	if (!ch) {
		/* the discovery: every candidate's calls counted, and in --ci
		 * where each was made */
		s->count_path = xasprintf("%s/discovery-%u.count", c->work, c->seq);
		if (c->ci)
			s->sites_path = xasprintf("%s/discovery-%u.sites", c->work, c->seq);
	} else if (c->ci && ch->r && ch->r->nsites) {
		/* where the calls before the rule's k-th were made: a site the
		 * discovery did not see adds its k */
		s->sites_path = xasprintf("%s/run-%u.sites", c->work, c->seq);
	}
	struct lab_job *job = lab_jobs_idle(&c->pool);
	job->data = s;
	struct run_arg a = {c, s};
	/* the scenario's limit, its teardown (enumerate_judge.c) and clean-up */
	lab_job_start(&c->pool, job, s->run_id, lab_now() + t->scn->timeout + 60 * NS_PER_SEC, run_one, &a);
	if (ch) {
		c->runs++;
		t->runs++;
	}
	return s;
}

struct slot *faults_end_run(struct faults_ctx *c, struct lab_job *job, struct judgement *j)
{
	struct slot *s = job->data;
	if (!job->out.len || job->out.oom || faults_judgement_read(job->out.data, job->out.len, j) < 0) {
		memset(j, 0, sizeof *j);
		if (WIFSIGNALED(job->status))
			faults_judgement_add(j, "lab: the run's process died by SIG%s before reporting%s",
					     lab_signal_name(WTERMSIG(job->status)),
					     job->termed ? " (it overran its timeout)" : "");
		else
			faults_judgement_add(j, "lab: the run's process exited %d before reporting",
					     WEXITSTATUS(job->status));
	}
	size_t left = lab_job_end(&c->pool, job);
	if (left)
		faults_judgement_add(j, "lab: %zu processes with the run's marker survived SIGKILL", left);
	if (!j->ns)
		j->ns = lab_now() - s->t0;
	if (s->chain && s->sites_path)
		unlink(s->sites_path);
	job->data = NULL;
	return s;
}

void faults_slot_free(struct slot *s)
{
	free(s->run_id);
	free(s->rule);
	free(s->count_path);
	free(s->sites_path);
	free(s->first_finding);
	free(s);
}

char *faults_normalize(const char *finding)
{
	/* pids and the scenario directory's random name differ from run to run */
	struct tether_buf b;
	tether_buf_init(&b);
	for (const char *p = finding; *p;) {
		if (*p >= '0' && *p <= '9') {
			while (*p >= '0' && *p <= '9')
				p++;
			tether_buf_puts(&b, "#");
		} else if (strncmp(p, "tether-lab.", 11) == 0) {
			p += strcspn(p, "/ ");
			tether_buf_puts(&b, "tether-lab.*");
		} else {
			tether_buf_append(&b, p++, 1);
		}
	}
	if (b.oom)
		lab_die("out of memory");
	return b.data ? b.data : xstrdup("");
}

/* ---- to the parent and back ------------------------------------------------------------------ */

static void write_strv(struct tether_buf *b, const char *key, char **v, size_t n)
{
	tether_buf_printf(b, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			tether_buf_puts(b, ",");
		tether_buf_json_string(b, v[i]);
	}
	tether_buf_puts(b, "]");
}

static void write_str(struct tether_buf *b, const char *key, const char *s)
{
	tether_buf_printf(b, ",\"%s\":", key);
	s ? tether_buf_json_string(b, s) : tether_buf_puts(b, "null");
}

void faults_judgement_write(const struct judgement *j, struct tether_buf *b)
{
	tether_buf_printf(b, "{\"plan\":%d,\"sigkilled\":%s,\"spin\":%s,\"ns\":%lld,\"fired\":[%lu,%u,%lu,%d]",
			  (int)j->plan, j->sigkilled ? "true" : "false", j->spin ? "true" : "false", (long long)j->ns,
			  j->fired.lines, j->fired.procs, j->fired.max_k, (int)j->fired.max_pid);
	tether_buf_puts(b, ",\"waits\":[");
	for (size_t i = 0; i < j->nwaits; i++)
		tether_buf_printf(b, "%s[%u,%lld]", i ? "," : "", j->waits[i].line, (long long)j->waits[i].ns);
	tether_buf_puts(b, "],\"sites\":[");
	/* hashes as strings: JSON numbers are doubles */
	for (size_t i = 0; i < j->nsites; i++)
		tether_buf_printf(b, "%s[%lu,\"%016llx\"]", i ? "," : "", j->sites[i].k,
				  (unsigned long long)j->sites[i].hash);
	tether_buf_puts(b, "]");
	write_str(b, "plan_msg", j->plan_msg);
	write_str(b, "summary", j->summary);
	write_str(b, "details", j->lab_details);
	write_str(b, "dir", j->dir);
	write_strv(b, "findings", j->findings, j->nfindings);
	write_strv(b, "artifacts", j->artifacts, j->nartifacts);
	tether_buf_puts(b, "}");
}

static char *read_str(const struct tether_json *o, const char *key)
{
	const struct tether_json *v = tether_json_get(o, key);
	return v && v->type == TETHER_JSON_STRING ? xstrdup(v->string) : NULL;
}

static void read_strv(const struct tether_json *o, const char *key, char ***v, size_t *n)
{
	const struct tether_json *a = tether_json_get(o, key);
	for (size_t i = 0; a && a->type == TETHER_JSON_ARRAY && i < a->count; i++) {
		if (a->items[i]->type != TETHER_JSON_STRING)
			continue;
		char *s = xstrdup(a->items[i]->string);
		xappend(v, n, &s, sizeof s);
	}
}

int faults_judgement_read(const char *text, size_t len, struct judgement *ret)
{
	struct tether_json *o;
	memset(ret, 0, sizeof *ret);
	if (tether_json_parse(text, len, 8, &o) < 0)
		return -1;
	const struct tether_json *plan = tether_json_get(o, "plan"), *k = tether_json_get(o, "sigkilled");
	ret->plan = plan && plan->is_int ? (enum plan_outcome)plan->integer : PLAN_DEGRADED;
	ret->sigkilled = k && k->type == TETHER_JSON_BOOL && k->boolean;
	const struct tether_json *spin = tether_json_get(o, "spin"), *ns = tether_json_get(o, "ns");
	ret->spin = spin && spin->type == TETHER_JSON_BOOL && spin->boolean;
	ret->ns = ns && ns->is_int ? ns->integer : 0;
	const struct tether_json *w = tether_json_get(o, "waits"), *st = tether_json_get(o, "sites");
	for (size_t i = 0; w && w->type == TETHER_JSON_ARRAY && i < w->count; i++) {
		const struct tether_json *e = w->items[i];
		if (e->type != TETHER_JSON_ARRAY || e->count != 2 || !e->items[0]->is_int || !e->items[1]->is_int)
			continue;
		struct wait_time wt = {(unsigned)e->items[0]->integer, e->items[1]->integer};
		xappend(&ret->waits, &ret->nwaits, &wt, sizeof wt);
	}
	for (size_t i = 0; st && st->type == TETHER_JSON_ARRAY && i < st->count; i++) {
		const struct tether_json *e = st->items[i];
		if (e->type != TETHER_JSON_ARRAY || e->count != 2 || !e->items[0]->is_int ||
		    e->items[1]->type != TETHER_JSON_STRING)
			continue;
		struct new_site ns2 = {(unsigned long)e->items[0]->integer, strtoull(e->items[1]->string, NULL, 16)};
		xappend(&ret->sites, &ret->nsites, &ns2, sizeof ns2);
	}
	const struct tether_json *f = tether_json_get(o, "fired");
	if (f && f->type == TETHER_JSON_ARRAY && f->count == 4) {
		ret->fired.lines = (unsigned long)f->items[0]->number;
		ret->fired.procs = (unsigned)f->items[1]->number;
		ret->fired.max_k = (unsigned long)f->items[2]->number;
		ret->fired.max_pid = (pid_t)f->items[3]->number;
	}
	ret->plan_msg = read_str(o, "plan_msg");
	ret->summary = read_str(o, "summary");
	ret->lab_details = read_str(o, "details");
	ret->dir = read_str(o, "dir");
	read_strv(o, "findings", &ret->findings, &ret->nfindings);
	read_strv(o, "artifacts", &ret->artifacts, &ret->nartifacts);
	tether_json_free(o);
	return 0;
}

void faults_judgement_clear(struct judgement *j)
{
	for (size_t i = 0; i < j->nfindings; i++)
		free(j->findings[i]);
	for (size_t i = 0; i < j->nartifacts; i++)
		free(j->artifacts[i]);
	free(j->findings);
	free(j->artifacts);
	free(j->waits);
	free(j->sites);
	free(j->plan_msg);
	free(j->summary);
	free(j->lab_details);
	free(j->dir);
	memset(j, 0, sizeof *j);
}
