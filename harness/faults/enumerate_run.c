/* SPDX-License-Identifier: MIT */
/* enumerate_run.c — the runs of `harness faults`: each in a forked process
 * of its own, as `harness run` runs a scenario (so a crash or a hang of one
 * cannot take the enumeration along), which runs the plan with the rule in
 * every tether, judges it (enum_after_plan) and sends the judgement back as
 * JSON through a pipe. The parent waits on pipes, pidfds and a signalfd —
 * never blindly — and enforces a deadline per run. Discovery is a run too:
 * unfaulted, counting the calls of every candidate point.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults/faults.h"
#include "common/common.h"
#include "run/run.h"

void enum_start_run(struct enum_ctx *c, struct slot *s, const char *rule, const char *count_path)
{
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		rnd = (uint32_t)lab_now();
	c->seq++;
	s->run_id = xasprintf("lab-faults-%d-%u-%08x", (int)getpid(), c->seq, rnd);
	s->rule = xstrdup(rule);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		lab_die("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		lab_die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		close(c->sig_fd);
		struct judgement j = {0};
		struct lab_options o = c->opt;
		o.tether_fault = s->rule;
		o.fault_count = count_path;
		o.after_plan = enum_after_plan;
		o.after_plan_data = &j;
		struct lab_result r;
		lab_run_scenario(c->scn, &o, s->run_id, &r);
		if (!j.summary) /* the plan never ran: the lab could not set up */
			enum_judgement_add(&j, "lab: %s", r.message ? r.message : "the scenario did not run");
		j.lab_details = r.details;
		j.dir = r.dir;
		r.details = r.dir = NULL;
		lab_result_clear(&r);
		struct tether_buf b;
		tether_buf_init(&b);
		enum_judgement_write(&j, &b);
		if (!b.oom)
			lab_write_all(p[1], b.data, b.len);
		_exit(0);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	s->pid = pid;
	s->pipe_fd = p[0];
	s->busy = true;
	s->eof = s->exited = s->termed = false;
	s->pidfd = pidfd_open(pid, 0);
	if (s->pidfd < 0)
		lab_die("pidfd_open: %s", strerror(errno));
	tether_buf_init(&s->out);
	/* the scenario's limit, its teardown (enumerate_judge.c) and clean-up */
	s->deadline = lab_now() + c->scn->timeout + 60 * NS_PER_SEC;
	c->runs++;
}

/* Reads what is there, reaps, enforces the deadline (SIGTERM, then SIGKILL
 * 10 s later). Returns whether the run is over. */
static bool poll_run(struct slot *s)
{
	char buf[8192];
	if (!s->exited) {
		siginfo_t wi = {0};
		if (waitid(P_PID, (id_t)s->pid, &wi, WEXITED | WNOHANG) == 0 && wi.si_pid) {
			s->exited = true;
			s->status = wi.si_code == CLD_EXITED ? W_EXITCODE(wi.si_status, 0) : wi.si_status;
		}
	}
	while (!s->eof) {
		ssize_t got = read(s->pipe_fd, buf, sizeof buf);
		if (got > 0)
			tether_buf_append(&s->out, buf, (size_t)got);
		else if (got == 0)
			s->eof = true;
		else if (errno != EINTR)
			break;
	}
	if (!s->exited && lab_now() >= s->deadline) {
		pidfd_send_signal(s->pidfd, s->termed ? SIGKILL : SIGTERM, NULL, 0);
		s->deadline = lab_now() + 10 * NS_PER_SEC;
		s->termed = true;
	}
	return s->exited;
}

void enum_end_run(struct slot *s, struct judgement *j)
{
	if (!s->out.len || s->out.oom || enum_judgement_read(s->out.data, s->out.len, j) < 0) {
		memset(j, 0, sizeof *j);
		if (WIFSIGNALED(s->status))
			enum_judgement_add(j, "lab: the run's process died by SIG%s before reporting%s",
					   lab_signal_name(WTERMSIG(s->status)), s->termed ? " (it overran its timeout)" : "");
		else
			enum_judgement_add(j, "lab: the run's process exited %d before reporting", WEXITSTATUS(s->status));
	}
	/* belt and braces, as `harness run` does: nothing of it may outlive it */
	size_t left = orphans_kill_all(s->run_id, lab_now() + 5 * NS_PER_SEC);
	if (left)
		enum_judgement_add(j, "lab: %zu processes with the run's marker survived SIGKILL", left);
	close(s->pipe_fd);
	close(s->pidfd);
	tether_buf_free(&s->out);
	free(s->run_id);
	free(s->rule);
	s->chain = NULL;
	s->busy = false;
}

char *enum_normalize(const char *finding)
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

struct slot *enum_wait_any(struct enum_ctx *c, struct slot *slots, size_t nslots)
{
	for (;;) {
		for (size_t i = 0; i < nslots; i++)
			if (slots[i].busy && poll_run(&slots[i]))
				return &slots[i];
		struct pollfd *pfd = xcalloc(2 * nslots + 1, sizeof *pfd);
		int64_t until = INT64_MAX;
		for (size_t i = 0; i < nslots; i++) {
			struct slot *s = &slots[i];
			pfd[2 * i] = (struct pollfd){.fd = s->busy && !s->eof ? s->pipe_fd : -1, .events = POLLIN};
			/* once exited, its pidfd stays readable: the pipe's EOF is what is left */
			pfd[2 * i + 1] = (struct pollfd){.fd = s->busy && !s->exited ? s->pidfd : -1, .events = POLLIN};
			if (s->busy && s->deadline < until)
				until = s->deadline;
		}
		pfd[2 * nslots] = (struct pollfd){.fd = c->sig_fd, .events = POLLIN};
		int64_t left = until - lab_now();
		poll(pfd, 2 * nslots + 1, until == INT64_MAX ? -1 : left <= 0 ? 0 : (int)(left / NS_PER_MS) + 1);
		free(pfd);
		struct signalfd_siginfo si;
		while (read(c->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
			/* each run cleans up on SIGTERM (lab_run_scenario's signalfd) */
			c->interrupted = true;
			for (size_t i = 0; i < nslots; i++)
				if (slots[i].busy)
					pidfd_send_signal(slots[i].pidfd, SIGTERM, NULL, 0);
		}
	}
}

/* ---- discovery ------------------------------------------------------------------------- */

int enum_discover(struct enum_ctx *c, const char *const *cands, size_t ncands, struct reached **ret, size_t *ret_n)
{
	struct tether_buf rules;
	tether_buf_init(&rules);
	for (size_t i = 0; i < ncands; i++)
		tether_buf_printf(&rules, "%s%s:%d:%llu:once", i ? ";" : "", cands[i], EIO, (unsigned long long)UINT64_MAX);
	char *count_path = xasprintf("%s/discovery.count", c->work);
	struct slot s = {0};
	int64_t t0 = lab_now();
	enum_start_run(c, &s, rules.data ? rules.data : "", count_path);
	tether_buf_free(&rules);
	enum_wait_any(c, &s, 1);
	struct judgement j;
	enum_end_run(&s, &j);
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
			char *n = enum_normalize(j.findings[i]);
			xappend(&c->base_findings, &c->nbase_findings, &n, sizeof n);
		}
	}
	if (j.dir)
		lab_rm_rf(j.dir);
	c->base_artifacts = j.artifacts;
	c->nbase = j.nartifacts;
	j.artifacts = NULL;
	j.nartifacts = 0;
	enum_judgement_clear(&j);
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

void enum_judgement_write(const struct judgement *j, struct tether_buf *b)
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

int enum_judgement_read(const char *text, size_t len, struct judgement *ret)
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

void enum_judgement_clear(struct judgement *j)
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
