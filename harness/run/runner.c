/* SPDX-License-Identifier: MIT */
/* runner.c — see runner.h.
 *
 * The parent never waits blindly: one poll() over every running scenario's
 * result pipe and pidfd, and a signalfd for INT/TERM/HUP (forwarded as
 * SIGTERM, which each scenario process turns into a failure and a clean-up).
 * A scenario process that outlives its timeout by a margin gets SIGTERM, then
 * SIGKILL; whatever carried its marker is then killed here.
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
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "json.h"
#include "run/results.h"
#include "run/runner.h"

struct entry {
	struct scenario *scn;
	char *parse_error;
	char *run_id;
	struct lab_result res;
	bool done;
};

struct job {
	size_t idx;
	pid_t pid;
	int pidfd;
	int pipe_fd;
	struct tether_buf out;
	bool eof, exited, exclusive, termed;
	int status;
	int64_t deadline;
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

static void start_job(const struct runner_config *rc, struct entry *e, size_t idx, struct job *job, int sig_fd)
{
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		rnd = (uint32_t)lab_now();
	e->run_id = xasprintf("lab-%d-%zu-%08x", (int)getpid(), idx + 1, rnd);
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
		close(sig_fd);
		struct lab_result r;
		lab_run_scenario(e->scn, rc->opt, e->run_id, &r);
		struct tether_buf b;
		tether_buf_init(&b);
		serialize(&r, &b);
		if (!b.oom)
			lab_write_all(p[1], b.data, b.len);
		/* _exit: the parent's stdio buffers are not ours to flush */
		_exit(0);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*job = (struct job){.idx = idx, .pid = pid, .pipe_fd = p[0], .exclusive = e->scn->exclusive};
	job->pidfd = pidfd_open(pid, 0);
	if (job->pidfd < 0)
		lab_die("pidfd_open: %s", strerror(errno));
	tether_buf_init(&job->out);
	/* the scenario's own limit, plus time for its clean-up (and memcheck) */
	job->deadline = lab_now() + e->scn->timeout * (rc->opt->valgrind ? 4 : 1) + 30 * NS_PER_SEC;
}

static void finish_job(struct entry *e, struct job *job)
{
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
	/* belt and braces: nothing with its marker may outlive it */
	size_t left = orphans_kill_all(e->run_id, lab_now() + 5 * NS_PER_SEC);
	if (left && e->res.status != LAB_FAIL) {
		e->res.status = LAB_FAIL;
		free(e->res.message);
		e->res.message = xasprintf("%zu processes with its run marker survived", left);
	}
	close(job->pipe_fd);
	close(job->pidfd);
	tether_buf_free(&job->out);
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
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	struct job *jobs = xcalloc(rc->jobs, sizeof *jobs);
	size_t running = 0, next = 0, printed = 0;
	bool interrupted = false;
	while (printed < n) {
		/* start what may start */
		while (next < n && running < rc->jobs) {
			struct entry *e = &entries[next];
			if (interrupted || !e->scn) {
				e->res.status = LAB_FAIL;
				e->res.location = xstrdup(rc->files[next]);
				e->res.message = interrupted ? xstrdup("not run: interrupted") : NULL;
				if (!interrupted) {
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
			for (size_t k = 0; k < running; k++)
				exclusive_running = exclusive_running || jobs[k].exclusive;
			if (exclusive_running || (e->scn->exclusive && running > 0))
				break;
			start_job(rc, e, next, &jobs[running++], sig_fd);
			next++;
		}
		while (printed < n && entries[printed].done) {
			print_tap(printed + 1, &entries[printed], rc->files[printed]);
			printed++;
		}
		if (printed == n)
			break;
		/* wait for any job's output, exit, deadline, or a signal */
		struct pollfd *pfd = xcalloc(2 * running + 1, sizeof *pfd);
		int64_t until = INT64_MAX;
		for (size_t k = 0; k < running; k++) {
			pfd[2 * k] = (struct pollfd){.fd = jobs[k].eof ? -1 : jobs[k].pipe_fd, .events = POLLIN};
			pfd[2 * k + 1] = (struct pollfd){.fd = jobs[k].exited ? -1 : jobs[k].pidfd, .events = POLLIN};
			if (jobs[k].deadline < until)
				until = jobs[k].deadline;
		}
		pfd[2 * running] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
		int64_t left = until - lab_now();
		poll(pfd, 2 * running + 1, until == INT64_MAX ? -1 : left <= 0 ? 0 : (int)(left / NS_PER_MS) + 1);
		free(pfd);
		struct signalfd_siginfo si;
		while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
			interrupted = true;
			for (size_t k = 0; k < running; k++)
				kill(jobs[k].pid, SIGTERM);
		}
		for (size_t k = 0; k < running;) {
			struct job *j = &jobs[k];
			siginfo_t wi = {0};
			if (!j->exited && waitid(P_PID, (id_t)j->pid, &wi, WEXITED | WNOHANG) == 0 && wi.si_pid) {
				j->exited = true;
				j->status = wi.si_code == CLD_EXITED ? W_EXITCODE(wi.si_status, 0) : wi.si_status;
			}
			/* non-blocking: take what is there (after the exit check, so that an
			 * exited job's last words are read below in this same round) */
			char buf[8192];
			while (!j->eof) {
				ssize_t got = read(j->pipe_fd, buf, sizeof buf);
				if (got > 0)
					tether_buf_append(&j->out, buf, (size_t)got);
				else if (got == 0)
					j->eof = true;
				else if (errno != EINTR)
					break;
			}
			if (!j->exited && lab_now() >= j->deadline) {
				/* first SIGTERM (the scenario cleans up), then SIGKILL */
				pidfd_send_signal(j->pidfd, j->termed ? SIGKILL : SIGTERM, NULL, 0);
				j->deadline = lab_now() + 10 * NS_PER_SEC;
				j->termed = true;
			}
			/* Once it has exited, what it wrote is all in the pipe (read above):
			 * no need to wait for an EOF that a leaked descriptor could delay. */
			if (j->exited) {
				finish_job(&entries[j->idx], j);
				jobs[k] = jobs[--running];
				continue;
			}
			k++;
		}
	}
	close(sig_fd);
	unsigned passed = 0, failed = 0, skipped = 0;
	struct report rep = {.started_wall_ns = (int64_t)wall.tv_sec * NS_PER_SEC + wall.tv_nsec,
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
		rep.entries[i] = (struct report_entry){.name = names[i],
						       .file = rc->files[i], .run_id = e->run_id, .res = e->res};
	}
	rep.passed = passed;
	rep.failed = failed;
	rep.skipped = skipped;
	rep.duration_s = (double)(lab_now() - t0) / 1e9;
	int wr = report_write(rc->opt->report_dir, &rep);
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
	free(jobs);
	return wr < 0 ? -1 : (int)failed;
}
