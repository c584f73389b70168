/* SPDX-License-Identifier: MIT */
/* exec.c — runs one parsed scenario, step by step (see run.h).
 *
 * The first failure ends the plan: the step's line and what was observed
 * become the scenario's result, and finish.c then runs the end-of-scenario
 * checks (orphans, pidfiles, libfiu, memcheck) and cleans up.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "common/common.h"
#include "proc.h"
#include "run/run.h"

static char **expand_argv(struct lab *lab, const struct step *st)
{
	char **argv = xcalloc(st->argc + 3, sizeof *argv);
	for (size_t i = 0; i < st->argc; i++) {
		argv[i] = lab_expand(lab, &st->argv[i], st->line);
		if (!argv[i]) {
			for (size_t k = 0; k < i; k++)
				free(argv[k]);
			free(argv);
			return NULL;
		}
	}
	/* `tether` as the program is the supervisor under test */
	if (strcmp(argv[0], "tether") == 0) {
		free(argv[0]);
		argv[0] = xstrdup(lab->opt->tether);
		if (lab->opt->isolation && st->argc > 1 &&
		    (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "start") == 0)) {
			/* harness faults --isolation: unless the step names one */
			bool named = false;
			for (size_t i = 2; i < st->argc && strcmp(argv[i], "--") != 0 && !named; i++)
				named = strcmp(argv[i], "--isolation") == 0 || strncmp(argv[i], "--isolation=", 12) == 0;
			if (!named) {
				memmove(argv + 4, argv + 2, (st->argc - 2) * sizeof *argv);
				argv[2] = xstrdup("--isolation");
				argv[3] = xstrdup(lab->opt->isolation);
			}
		}
	}
	return argv;
}

static bool still_running(struct lab *lab, const char *name)
{
	for (size_t i = 0; i < lab->nprocs; i++) {
		struct proc *p = lab->procs[i];
		if (p->probe || p->exited)
			continue;
		size_t len = strlen(name);
		if (strcmp(p->name, name) == 0 || (p->group && strcmp(p->group, name) == 0 && p->name[len] == '.'))
			return true;
	}
	return false;
}

/* spawn, run and each try of retry: the processes of st; then, when
 * wait_within >= 0, waits that long for their exit (run, retry). */
static int spawn_step(struct lab *lab, const struct step *st, int64_t wait_within)
{
	lab_pump(lab);
	if (still_running(lab, st->name))
		return lab_fail(lab, st->line, "%s is still running: wait for it to exit, or give the new one another name",
				st->name);
	char **argv = expand_argv(lab, st);
	if (!argv)
		return -1;
	bool is_tether = strcmp(argv[0], lab->opt->tether) == 0;
	/* the fault/fiu/env lines waiting for this name apply to this spawn, once */
	char **env = NULL;
	size_t nenv = 0;
	unsigned fiu_line = 0;
	char *report = xasprintf("%s/%s.faults", lab->dir, st->name);
	int r = lab_fault_env(lab, lab->mods, lab->nmods, st->name, is_tether, report, &env, &nenv, &fiu_line);
	const struct step *limit = NULL; /* the last `limit` for this name */
	for (size_t i = 0; i < lab->nmods; i++)
		if (lab->mods[i]->kind == S_LIMIT && strcmp(lab->mods[i]->name, st->name) == 0)
			limit = lab->mods[i];
	size_t kept = 0;
	for (size_t i = 0; i < lab->nmods; i++)
		if (strcmp(lab->mods[i]->name, st->name) != 0)
			lab->mods[kept++] = lab->mods[i];
	lab->nmods = kept;
	char *null = NULL;
	xappend(&env, &nenv, &null, sizeof null);
	if (r < 0)
		goto out;
	int barrier[2] = {-1, -1};
	if (st->copies && pipe2(barrier, O_CLOEXEC) < 0) {
		r = lab_fail(lab, st->line, "pipe: %s", strerror(errno));
		goto out;
	}
	unsigned copies = st->copies ? st->copies : 1, batch = 0;
	size_t first = lab->nprocs;
	for (unsigned k = 0; k < copies && r == 0; k++) {
		char *name = st->copies ? xasprintf("%s.%u", st->name, k) : xstrdup(st->name);
		struct spawn_req req = {
			.name = name, .group = st->copies ? st->name : NULL, .batch = batch, .line = st->line,
			.argv = argv, .env = env, .is_tether = is_tether, .fiu_line = fiu_line,
			.barrier_fd = barrier[0], .barrier_wfd = barrier[1], .fault_report = report,
			.nofile = limit != NULL, .nofile_soft = limit ? limit->nofile_soft : 0,
			.nofile_hard = limit ? limit->nofile_hard : 0,
		};
		struct proc *p = proc_fork(lab, &req);
		free(name);
		if (!p) {
			r = -1;
			break;
		}
		if (!batch)
			batch = p->seq;
		xappend(&lab->procs, &lab->nprocs, &p, sizeof p);
	}
	if (barrier[0] >= 0) {
		/* every copy is forked: EOF on the barrier starts them together */
		close(barrier[0]);
		close(barrier[1]);
	}
	for (size_t i = first; i < lab->nprocs; i++)
		if (proc_confirm_exec(lab, lab->procs[i]) < 0)
			r = -1;
	if (r == 0 && wait_within >= 0) {
		struct cond c = {.kind = C_EXIT, .name = st->name, .exit_any = true, .exit_code = -1};
		r = lab_wait_cond(lab, &c, wait_within, st->line);
	}
out:
	free(report);
	lab_strv_free(env);
	lab_strv_free(argv);
	return r;
}

static int64_t step_timeout(const struct lab *lab)
{
	return lab->scn->step_timeout * (lab->opt->valgrind ? 4 : 1);
}

/* The first line of a file, at most 160 bytes of it, for a message. */
static char *first_line(const char *path)
{
	int err;
	size_t len;
	char *text = lab_read_file(path, 4096, &len, &err);
	if (!text)
		return xstrdup("");
	text[strcspn(text, "\n")] = '\0';
	if (strlen(text) > 160)
		strcpy(text + 157, "...");
	return text;
}

/* retry NAME [within DUR] PROGRAM ARG...: runs the program again, after a
 * backoff of 5 ms doubling to 200 ms, until one run exits 0; a run that
 * exits otherwise is no failure while time is left. No run starts after
 * the deadline; one that started before it has the step timeout to exit,
 * as `run`, and is judged by its exit. For what no event announces and
 * only a question can tell: a daemon without notify answering, the last
 * process of a killed tree gone from /proc. The last run's output stays in
 * NAME.out and NAME.err, for the expects after it. */
static int run_retry(struct lab *lab, const struct step *st)
{
	int64_t within = st->within >= 0 ? st->within : step_timeout(lab);
	int64_t deadline = lab_now() + within, backoff = 5 * NS_PER_MS;
	unsigned tries = 0;
	struct proc *p = NULL;
	for (;;) {
		int64_t now = lab_now();
		if (p && (now >= deadline || lab->interrupted))
			break;
		tries++;
		/* each run has the step timeout to exit, as `run`: one that began
		 * before the deadline is judged by its exit */
		if (spawn_step(lab, st, step_timeout(lab)) < 0)
			return -1;
		p = lab_find_proc(lab, st->name);
		if (p->code == 0)
			return 0;
		/* a try's notify socket is of no use once it has exited: no
		 * descriptor piles up over many tries */
		proc_drain_notify(p);
		if (p->notify_fd >= 0)
			close(p->notify_fd);
		p->notify_fd = -1;
		int64_t until = lab_now() + backoff;
		if (until > deadline)
			until = deadline;
		/* other events (a file the daemon writes) must not shorten it */
		while (lab_now() < until && !lab->interrupted) {
			lab_wait_event(lab, until, NULL, 0);
			lab_pump(lab);
		}
		backoff = backoff * 2 > 200 * NS_PER_MS ? 200 * NS_PER_MS : backoff * 2;
	}
	if (lab->interrupted)
		return lab_fail(lab, st->line, "interrupted");
	char d[32], how[48];
	if (p->code >= 0)
		snprintf(how, sizeof how, "exited %d", p->code);
	else
		snprintf(how, sizeof how, "was killed by SIG%s", lab_signal_name(p->sig));
	char *out = first_line(p->out_path), *err = first_line(p->err_path);
	lab_fail(lab, st->line, "%s did not exit 0 within %s: %u tries, the last %s (stdout \"%s\", stderr \"%s\")",
		 st->name, lab_fmt_ns(within, d, sizeof d), tries, how, out, err);
	free(out);
	free(err);
	return -1;
}

/* Does an ancestor of pid carry the scenario's marker? A daemon that writes
 * its process title over its environment (nginx's master: its pid is the
 * instance's main pid in `tether status`) hides the marker, but its parent,
 * a guardian, shows it: whatever descends from a marked process was started
 * under this scenario. */
static bool marked_ancestor(struct lab *lab, pid_t pid)
{
	for (int depth = 0; depth < 64; depth++) {
		struct tether_procstat st;
		if (tether_proc_read_stat(pid, &st) < 0 || st.ppid <= 1)
			return false;
		pid = st.ppid;
		if (lab_has_marker(pid, lab->run_id))
			return true;
	}
	return false;
}

static int signal_pid(struct lab *lab, const struct step *st)
{
	char *v = lab_expand(lab, &st->pid, st->line);
	if (!v)
		return -1;
	char *end;
	long pid = strtol(v, &end, 10);
	if (!*v || *end || pid <= 1) {
		lab_fail(lab, st->line, "'%s' is not a pid", v);
		free(v);
		return -1;
	}
	free(v);
	int fd = pidfd_open((pid_t)pid, 0);
	if (fd < 0)
		return lab_fail(lab, st->line, "cannot signal pid %ld: %s", pid, strerror(errno));
	/* with the pidfd held, the check is about the process we will signal */
	bool ours = orphans_is_ours((pid_t)pid, lab->run_id) || marked_ancestor(lab, (pid_t)pid);
	int r = 0;
	if (!ours)
		r = lab_fail(lab, st->line,
			     "pid %ld is not this scenario's (no run marker, not its descendant nor a marked process's): the lab signals only its own processes",
			     pid);
	else if (pidfd_send_signal(fd, st->sig, NULL, 0) < 0)
		r = lab_fail(lab, st->line, "cannot signal pid %ld: %s", pid, strerror(errno));
	close(fd);
	return r;
}

static int run_signal(struct lab *lab, const struct step *st)
{
	if (st->by_pid)
		return signal_pid(lab, st);
	lab_pump(lab);
	size_t n = 0;
	struct proc **m = lab_find_group(lab, st->name, &n);
	struct proc *one = m ? NULL : lab_find_proc(lab, st->name);
	if (!m && !one)
		return lab_fail(lab, st->line, "no process '%s' has been spawned", st->name);
	if (one) {
		m = xcalloc(1, sizeof *m);
		m[0] = one;
		n = 1;
	}
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		int e = proc_signal(lab, m[i], st->sig, st->group);
		if (e < 0 && !(n > 1 && e == -ESRCH))
			r = lab_fail(lab, st->line, "cannot send SIG%s to %s%s: %s", lab_signal_name(st->sig),
				     st->group ? "the process group of " : "", m[i]->name,
				     e == -ESRCH ? "it has exited" : strerror(-e));
	}
	free(m);
	return r;
}

/* let VAR = fds NAME: the descriptor count that `fds NAME OP N` compares */
static int run_let_fds(struct lab *lab, const struct step *st)
{
	const char *name = st->let_path.tmpl;
	struct proc *p = lab_find_proc(lab, name);
	if (!p || p->exited)
		return lab_fail(lab, st->line, "cannot set %s: %s is not running", st->name, name);
	long long n = lab_count_fds(lab, p, NULL);
	if (n < 0)
		return lab_fail(lab, st->line, "cannot set %s: /proc/%d/fd: %s", st->name, (int)p->pid,
				strerror((int)-n));
	char *value = xasprintf("%lld", n);
	lab_set_var(lab, st->name, value);
	free(value);
	return 0;
}

static int run_let(struct lab *lab, const struct step *st)
{
	if (st->let_source == LET_FDS)
		return run_let_fds(lab, st);
	char *path = lab_expand(lab, &st->let_path, st->line);
	char *key = path && st->let_source != LET_FILE_FIELD ? lab_expand(lab, &st->let_key, st->line) : NULL;
	char *value = NULL, *text = NULL;
	struct tether_json *j = NULL;
	int code, err, r = -1;
	size_t len;
	if (!path || (st->let_source != LET_FILE_FIELD && !key))
		goto out;
	if (st->let_source == LET_STATUS) {
		if (lab_status_query(lab, path, st->line, &code, &j) < 0)
			goto out;
	} else {
		text = lab_read_file(path, 16u << 20, &len, &err);
		if (!text) {
			lab_fail(lab, st->line, "cannot read %s: %s", path, strerror(err));
			goto out;
		}
		if (st->let_source == LET_FILE_JSON && tether_json_parse(text, len, 64, &j) < 0) {
			lab_fail(lab, st->line, "%s is not JSON", path);
			goto out;
		}
	}
	if (j) {
		const struct tether_json *v = tether_json_path(j, key);
		if (!v || v->type == TETHER_JSON_NULL) {
			lab_fail(lab, st->line, "cannot set %s: %s has no %s", st->name, path, key);
			goto out;
		}
		if (v->type == TETHER_JSON_STRING) {
			value = xstrdup(v->string);
		} else {
			struct tether_buf b;
			tether_buf_init(&b);
			tether_json_render(v, &b);
			value = b.data;
		}
	} else if (st->let_source == LET_STATUS) {
		lab_fail(lab, st->line, "`tether status --json --pidfile %s` printed no JSON (exit %d)", path, code);
		goto out;
	} else {
		char **lines;
		size_t nl = lab_split_lines(text, &lines);
		long idx = st->let_line > 0 ? st->let_line - 1 : (long)nl + st->let_line;
		if (idx >= 0 && idx < (long)nl) {
			char *save = NULL, *tok = strtok_r(lines[idx], " \t", &save);
			for (unsigned f = 1; tok && f < st->let_field; f++)
				tok = strtok_r(NULL, " \t", &save);
			if (tok)
				value = xstrdup(tok);
		}
		free(lines);
		if (!value) {
			lab_fail(lab, st->line, "cannot set %s: %s has no field %u on line %ld (it has %zu lines)", st->name,
				 path, st->let_field, st->let_line, nl);
			goto out;
		}
	}
	lab_set_var(lab, st->name, value);
	r = 0;
out:
	tether_json_free(j);
	free(path);
	free(key);
	free(value);
	free(text);
	return r;
}

static int run_pause(struct lab *lab, const struct step *st)
{
	/* Only "nothing happens during DUR" (the parser makes an expect follow):
	 * the loop keeps reaping and reading notify datagrams meanwhile. */
	const struct lab_hooks *h = lab->opt->hooks;
	int64_t started = lab_now(), until = started + st->pause;
	for (;;) {
		if (h && h->pause_end)
			until = h->pause_end(lab, started, st->pause, h->data);
		if (until > lab->deadline)
			until = lab->deadline;
		if (lab_now() >= until || lab->interrupted)
			break;
		lab_wait_event(lab, until, NULL, 0);
		lab_pump(lab);
	}
	return lab->interrupted ? lab_fail(lab, st->line, "interrupted") : 0;
}

static int run_words(struct lab *lab, const struct step *st, char **ret)
{
	struct tether_buf b;
	tether_buf_init(&b);
	for (size_t i = 0; i < st->argc; i++) {
		char *v = lab_expand(lab, &st->argv[i], st->line);
		if (!v) {
			tether_buf_done(&b);
			return -1;
		}
		tether_buf_printf(&b, "%s%s", i ? " " : "", v);
		free(v);
	}
	*ret = b.data ? b.data : xstrdup("");
	return 0;
}

int lab_run_steps(struct lab *lab, const struct step *steps, size_t n)
{
	for (size_t i = 0; i < n && !lab->failed; i++) {
		const struct step *st = &steps[i];
		char *text = NULL, *path = NULL;
		if (lab_now() >= lab->deadline) {
			char d[32];
			return lab_fail(lab, st->line, "scenario timeout (%s) reached before this step",
					lab_fmt_ns(lab->scn->timeout, d, sizeof d));
		}
		lab->last_line = st->line;
		switch (st->kind) {
		case S_SPAWN:
			spawn_step(lab, st, -1);
			break;
		case S_RUN:
			spawn_step(lab, st, step_timeout(lab));
			break;
		case S_RETRY:
			run_retry(lab, st);
			break;
		case S_SIGNAL:
			run_signal(lab, st);
			break;
		case S_WAIT:
			lab_wait_cond(lab, &st->cond,
				      st->within >= 0 ? st->within : step_timeout(lab),
				      st->line);
			break;
		case S_EXPECT:
			lab_expect_cond(lab, &st->cond, st->line);
			break;
		case S_SET:
			if (run_words(lab, st, &text) == 0)
				lab_set_var(lab, st->name, text);
			break;
		case S_LOG:
			if (run_words(lab, st, &text) == 0)
				lab_detail(lab, "%s:%u: log: %s", lab->scn->path, st->line, text);
			break;
		case S_LET:
			run_let(lab, st);
			break;
		case S_MARK:
			if ((text = lab_expand(lab, &st->argv[0], st->line))) {
				struct lab_mark m = {xstrdup(text), lab_now()};
				xappend(&lab->marks, &lab->nmarks, &m, sizeof m);
			}
			break;
		case S_PAUSE:
			run_pause(lab, st);
			break;
		case S_REPEAT:
			for (unsigned k = 0; k < st->count && !lab->failed; k++) {
				char num[16];
				snprintf(num, sizeof num, "%u", k);
				lab_set_var(lab, st->var, num);
				lab_run_steps(lab, st->body, st->nbody);
			}
			break;
		case S_WRITE:
			path = lab_expand(lab, &st->argv[0], st->line);
			text = path ? lab_expand(lab, &st->argv[1], st->line) : NULL;
			if (text) {
				int e = lab_write_file(path, text, strlen(text));
				if (e < 0)
					lab_fail(lab, st->line, "cannot write %s: %s", path, strerror(-e));
			}
			break;
		case S_REMOVE:
			path = lab_expand(lab, &st->argv[0], st->line);
			if (path && unlink(path) < 0 && errno != ENOENT) {
				if (errno == EISDIR || errno == EPERM)
					lab_rm_rf(path);
				else
					lab_fail(lab, st->line, "cannot remove %s: %s", path, strerror(errno));
			}
			break;
		case S_FAULT:
		case S_FIU:
		case S_ENV:
		case S_LIMIT:
			xappend(&lab->mods, &lab->nmods, &st, sizeof st);
			break;
		}
		free(text);
		free(path);
		if (lab->interrupted && !lab->failed)
			lab_fail(lab, st->line, "interrupted");
	}
	return lab->failed ? -1 : 0;
}
