/* SPDX-License-Identifier: MIT */
/* enumerate_run.c — the runs of `harness faults`: each in a forked process
 * of its own, as `harness run` runs a scenario (so a crash or a hang of one
 * cannot take the enumeration along), which runs the plan with the rule in
 * every tether, judges it (faults_after_plan) and sends the judgement back as
 * JSON through a pipe. The parent waits on pipes, pidfds and a signalfd —
 * never blindly — and enforces a deadline per run (the pool of
 * common/jobs.c). Discovery is a run too: unfaulted, counting the calls of
 * every candidate point.
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
	const char *count_path;
};

static void run_one(int fd, void *arg)
{
	const struct run_arg *a = arg;
	struct judgement j = {0};
	struct lab_options o = a->c->opt;
	o.tether_fault = a->s->rule;
	o.fault_count = a->count_path;
	o.after_plan = faults_after_plan;
	o.after_plan_data = &j;
	struct lab_result r;
	lab_run_scenario(a->c->scn, &o, a->s->run_id, &r);
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

void faults_start_run(struct faults_ctx *c, struct chain *ch, const char *rule, const char *count_path)
{
	struct slot *s = xcalloc(1, sizeof *s);
	s->chain = ch;
	s->k = ch ? ch->k : 0;
	s->run_id = lab_run_id("faults", ++c->seq);
	s->rule = xstrdup(rule);
	struct lab_job *job = lab_jobs_idle(&c->pool);
	job->data = s;
	struct run_arg a = {c, s, count_path};
	/* the scenario's limit, its teardown (enumerate_judge.c) and clean-up */
	lab_job_start(&c->pool, job, s->run_id, lab_now() + c->scn->timeout + 60 * NS_PER_SEC, run_one, &a);
	c->runs++;
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
	job->data = NULL;
	return s;
}

void faults_slot_free(struct slot *s)
{
	free(s->run_id);
	free(s->rule);
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

/* ---- discovery ------------------------------------------------------------------------- */

int faults_discover(struct faults_ctx *c, const char *const *cands, size_t ncands, struct reached **ret, size_t *ret_n)
{
	struct tether_buf rules;
	tether_buf_init(&rules);
	for (size_t i = 0; i < ncands; i++)
		tether_buf_printf(&rules, "%s%s:%d:%llu:once", i ? ";" : "", cands[i], EIO, (unsigned long long)UINT64_MAX);
	char *count_path = xasprintf("%s/discovery.count", c->work);
	int64_t t0 = lab_now();
	faults_start_run(c, NULL, rules.data ? rules.data : "", count_path);
	tether_buf_done(&rules);
	struct judgement j;
	faults_slot_free(faults_end_run(c, lab_jobs_wait(&c->pool), &j));
	c->runs--; /* the baseline is not an injection */
	char d[32];
	printf("# discovery (unfaulted, counting): %s, %s\n", j.summary ? j.summary : "?",
	       lab_fmt_ns(lab_now() - t0, d, sizeof d));
	int rc = 0;
	if (j.plan != PLAN_PASSED) {
		printf("Bail out! the scenario does not pass without faults: %s\n", j.plan_msg ? j.plan_msg : "?");
		for (size_t i = 0; i < j.nfindings; i++)
			printf("#   %s\n", j.findings[i]);
		rc = -1;
	} else if (j.nfindings) {
		/* The scenario's own doing (e.g. a start it makes fail on purpose,
		 * with an undocumented code): a failure once, here, and not again
		 * in every injection run. */
		c->tap++;
		c->failed++;
		printf("not ok %lu - unfaulted run: %s\n", c->tap, j.findings[0]);
		for (size_t i = 1; i < j.nfindings; i++)
			printf("#   also: %s\n", j.findings[i]);
		printf("#   (the injection runs do not report these again)\n");
		for (size_t i = 0; i < j.nfindings; i++) {
			char *n = faults_normalize(j.findings[i]);
			xappend(&c->base_findings, &c->nbase_findings, &n, sizeof n);
		}
	}
	if (j.dir)
		lab_rm_rf(j.dir);
	c->base_artifacts = j.artifacts;
	c->nbase = j.nartifacts;
	j.artifacts = NULL;
	j.nartifacts = 0;
	faults_judgement_clear(&j);
	/* "count POINT N PID": the largest N of each point */
	int err;
	char *text = lab_read_file(count_path, 64u << 20, NULL, &err), **lines;
	size_t n = text ? lab_split_lines(text, &lines) : 0;
	struct reached *r = xcalloc(ncands + 1, sizeof *r);
	size_t nr = 0;
	for (size_t i = 0; i < ncands; i++) {
		unsigned long max = 0;
		size_t plen = strlen(cands[i]);
		for (size_t k = 0; k < n; k++) {
			unsigned long v;
			if (strncmp(lines[k], "count ", 6) == 0 && strncmp(lines[k] + 6, cands[i], plen) == 0 &&
			    lines[k][6 + plen] == ' ' && sscanf(lines[k] + 7 + plen, "%lu", &v) == 1 && v > max)
				max = v;
		}
		if (max)
			r[nr++] = (struct reached){cands[i], max};
	}
	if (n)
		free(lines);
	free(text);
	unlink(count_path);
	free(count_path);
	*ret = r;
	*ret_n = nr;
	return rc;
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
	tether_buf_printf(b, "{\"plan\":%d,\"sigkilled\":%s,\"fired\":[%lu,%u,%lu,%d]", (int)j->plan,
			  j->sigkilled ? "true" : "false", j->fired.lines, j->fired.procs, j->fired.max_k,
			  (int)j->fired.max_pid);
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
	free(j->plan_msg);
	free(j->summary);
	free(j->lab_details);
	free(j->dir);
	memset(j, 0, sizeof *j);
}
