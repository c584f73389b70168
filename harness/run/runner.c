/* SPDX-License-Identifier: MIT */
/* runner.c — a list of scenario files run for `harness run` (see run.h).
 *
 * Each scenario runs in a job of the pool (common/jobs.c): a process of its
 * own, which sends its result back as JSON. The pool never waits blindly,
 * forwards INT/TERM/HUP as SIGTERM (which each scenario process turns into
 * a failure and a clean-up), gives a scenario process that outlives its
 * timeout by a margin SIGTERM, then SIGKILL, and kills whatever carried its
 * marker once it ended.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "run/run.h"
#include "json.h"

struct entry {
	struct scenario *scn;
	char *parse_error;
	char *run_id;
	struct lab_result res;
	bool done;
};

static void serialize(const struct lab_result *r, struct tether_buf *b)
{
	tether_buf_printf(b, "{\"status\":%d,\"duration_s\":%.6f,\"location\":", (int)r->status, r->duration_s);
	r->location ? tether_buf_json_string(b, r->location) : tether_buf_puts(b, "null");
	tether_buf_puts(b, ",\"message\":");
	r->message ? tether_buf_json_string(b, r->message) : tether_buf_puts(b, "null");
	tether_buf_puts(b, ",\"details\":");
	r->details ? tether_buf_json_string(b, r->details) : tether_buf_puts(b, "null");
	tether_buf_puts(b, ",\"dir\":");
	r->dir ? tether_buf_json_string(b, r->dir) : tether_buf_puts(b, "null");
	tether_buf_puts(b, "}");
}

static char *json_str(const struct tether_json *j, const char *key)
{
	const struct tether_json *v = tether_json_get(j, key);
	return v && v->type == TETHER_JSON_STRING ? xstrdup(v->string) : NULL;
}

static int deserialize(const char *buf, size_t len, struct lab_result *r)
{
	struct tether_json *j;
	if (tether_json_parse(buf, len, 8, &j) < 0)
		return -1;
	const struct tether_json *st = tether_json_get(j, "status"), *d = tether_json_get(j, "duration_s");
	r->status = st && st->is_int ? (enum lab_status)st->integer : LAB_FAIL;
	r->duration_s = d ? d->number : 0;
	r->location = json_str(j, "location");
	r->message = json_str(j, "message");
	r->details = json_str(j, "details");
	r->dir = json_str(j, "dir");
	tether_json_free(j);
	return 0;
}

/* In the scenario's own process (a job of the pool): runs it, sends the result. */
struct job_arg {
	const struct scenario *scn;
	const struct lab_options *opt;
	const char *run_id;
};

static void run_one(int fd, void *arg)
{
	const struct job_arg *a = arg;
	struct lab_result r;
	lab_run_scenario(a->scn, a->opt, a->run_id, &r);
	struct tether_buf b;
	tether_buf_init(&b);
	serialize(&r, &b);
	if (!b.oom)
		lab_write_all(fd, b.data, b.len);
}

static void start_job(const struct runner_config *rc, struct entry *e, size_t idx, struct lab_jobs *pool)
{
	e->run_id = lab_run_id(NULL, idx + 1);
	struct job_arg a = {e->scn, rc->opt, e->run_id};
	struct lab_job *j = lab_jobs_idle(pool);
	j->data = e;
	/* the scenario's own limit, plus time for its clean-up (and memcheck) */
	int64_t deadline = lab_now() + e->scn->timeout * (rc->opt->valgrind ? 4 : 1) + 30 * NS_PER_SEC;
	lab_job_start(pool, j, e->run_id, deadline, run_one, &a);
}

static void finish_job(struct lab_jobs *pool, struct lab_job *job)
{
	struct entry *e = job->data;
	if (!job->out.len || job->out.oom || deserialize(job->out.data, job->out.len, &e->res) < 0) {
		lab_result_clear(&e->res);
		e->res.status = LAB_FAIL;
		e->res.location = xstrdup(e->scn->path);
		if (WIFSIGNALED(job->status))
			e->res.message = xasprintf("the scenario's process died by signal %s before reporting%s",
						   lab_signal_name(WTERMSIG(job->status)),
						   job->termed ? " (it overran its timeout)" : "");
		else
			e->res.message = xasprintf("the scenario's process exited %d before reporting",
						   WEXITSTATUS(job->status));
	}
	size_t left = lab_job_end(pool, job);
	if (left && e->res.status != LAB_FAIL) {
		e->res.status = LAB_FAIL;
		free(e->res.message);
		e->res.message = xasprintf("%zu processes with its run marker survived", left);
	}
	e->done = true;
}

/* A scenario's name: its file's, without directory and .scn. */
static char *file_name(const char *file)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	size_t len = strlen(base);
	return xstrndup(base, len > 4 && strcmp(base + len - 4, ".scn") == 0 ? len - 4 : len);
}

static void print_tap(size_t num, const struct entry *e, const char *file)
{
	char *fname = file_name(file);
	const char *name = e->scn ? e->scn->name : fname;
	if (e->res.status == LAB_PASS) {
		printf("ok %zu - %s\n", num, name);
	} else if (e->res.status == LAB_SKIP) {
		printf("ok %zu - %s # SKIP %s\n", num, name, e->res.message ? e->res.message : "");
	} else {
		/* one line: a newline would end the TAP line */
		char *msg = xstrdup(e->res.message ? e->res.message : "failed");
		for (char *p = msg; *p; p++)
			if (*p == '\n')
				*p = ' ';
		printf("not ok %zu - %s # %s%s%s\n", num, name, e->res.location ? e->res.location : "",
		       e->res.location ? ": " : "", msg);
		free(msg);
		if (e->res.details) {
			char *copy = xstrdup(e->res.details), **lines;
			size_t n = lab_split_lines(copy, &lines);
			for (size_t i = 0; i < n; i++)
				printf("#   %s\n", lines[i]);
			free(lines);
			free(copy);
		}
	}
	free(fname);
	fflush(stdout);
}

int runner_run(const struct runner_config *rc)
{
	size_t n = rc->nfiles;
	struct entry *entries = xcalloc(n, sizeof *entries);
	int64_t t0 = lab_now();
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%zu\n# seed %llu, tether %s%s\n", n, (unsigned long long)rc->opt->seed, rc->opt->tether,
	       rc->opt->valgrind ? ", under valgrind" : "");
	for (size_t i = 0; i < n; i++)
		entries[i].scn = scenario_parse(rc->files[i], &entries[i].parse_error);
	struct lab_jobs pool;
	lab_jobs_init(&pool, rc->jobs);
	size_t next = 0, printed = 0;
	while (printed < n) {
		/* start what may start */
		while (next < n && pool.busy < rc->jobs) {
			struct entry *e = &entries[next];
			if (pool.interrupted || !e->scn) {
				e->res.status = LAB_FAIL;
				e->res.location = xstrdup(rc->files[next]);
				e->res.message = pool.interrupted ? xstrdup("not run: interrupted") : NULL;
				if (!pool.interrupted) {
					/* "FILE:LINE:COL: msg": the location is all before the message */
					free(e->res.location);
					e->res.location = NULL;
					e->res.message = xstrdup(e->parse_error);
				}
				e->done = true;
				next++;
				continue;
			}
			char *why = lab_requirements_unmet(e->scn, rc->opt);
			if (why) {
				e->res.status = LAB_SKIP;
				e->res.message = why;
				e->done = true;
				next++;
				continue;
			}
			bool exclusive_running = false;
			for (size_t k = 0; k < pool.size; k++)
				exclusive_running = exclusive_running ||
						    (pool.job[k].busy && ((struct entry *)pool.job[k].data)->scn->exclusive);
			if (exclusive_running || (e->scn->exclusive && pool.busy > 0))
				break;
			start_job(rc, e, next, &pool);
			next++;
		}
		while (printed < n && entries[printed].done) {
			print_tap(printed + 1, &entries[printed], rc->files[printed]);
			printed++;
		}
		/* Nothing runs only when every entry is done (then all are printed):
		 * an idle pool with entries left starts one above. */
		if (printed == n)
			break;
		finish_job(&pool, lab_jobs_wait(&pool));
	}
	lab_jobs_done(&pool);
	unsigned passed = 0, failed = 0, skipped = 0;
	struct results rep = {.started_wall_ns = (int64_t)wall.tv_sec * NS_PER_SEC + wall.tv_nsec,
			     .seed = rc->opt->seed, .tether = rc->opt->tether, .valgrind = rc->opt->valgrind,
			     .jobs = rc->jobs, .n = n};
	rep.entries = xcalloc(n, sizeof *rep.entries);
	char **names = xcalloc(n, sizeof *names);
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &entries[i];
		passed += e->res.status == LAB_PASS;
		failed += e->res.status == LAB_FAIL;
		skipped += e->res.status == LAB_SKIP;
		names[i] = file_name(rc->files[i]);
		rep.entries[i] = (struct results_entry){.name = names[i], .file = rc->files[i], .run_id = e->run_id,
						       .scn = e->scn, .res = e->res};
	}
	rep.passed = passed;
	rep.failed = failed;
	rep.skipped = skipped;
	rep.duration_s = (double)(lab_now() - t0) / 1e9;
	int wr = results_write(rc->opt->report_dir, &rep);
	if (wr < 0)
		fprintf(stderr, "harness: cannot write the reports in %s: %s\n", rc->opt->report_dir, strerror(-wr));
	if (skipped)
		printf("# %u skipped\n", skipped);
	printf("# reports: %s/results.json, %s/junit.xml\n", rc->opt->report_dir, rc->opt->report_dir);
	printf("%u passed, %u failed\n", passed, failed);
	for (size_t i = 0; i < n; i++) {
		scenario_free(entries[i].scn);
		free(entries[i].parse_error);
		free(entries[i].run_id);
		lab_result_clear(&entries[i].res);
		free(names[i]);
	}
	free(names);
	free(rep.entries);
	free(entries);
	return wr < 0 ? -1 : (int)failed;
}
