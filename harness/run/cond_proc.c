/* SPDX-License-Identifier: MIT */
/* cond_proc.c — conditions on processes: readiness, exits, outputs, groups,
 * `tether status`, /proc counts and orphans.
 *
 * Readiness and exits are events (notify datagrams, pidfds); `tether status`
 * fields and /proc counts are not, so their conditions mark themselves
 * `polled` and the wait loop re-evaluates them with a backoff.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "common/common.h"
#include "run/run.h"

static char *describe_end(const struct proc *p)
{
	if (p->code >= 0)
		return xasprintf("exit %d", p->code);
	return xasprintf("signal %s", lab_signal_name(p->sig));
}

static int ready_one(struct proc *p, char **ret_observed)
{
	if (p->ready) {
		*ret_observed = xasprintf("expected %s to be ready, got READY=1", p->name);
		return COND_TRUE;
	}
	if (p->exited) {
		char *end = describe_end(p);
		*ret_observed = xasprintf("expected %s to become ready (READY=1), got %s before it", p->name, end);
		free(end);
		return COND_FALSE;
	}
	*ret_observed = xasprintf("expected %s to become ready (READY=1), got: no READY=1 yet (pid %d running)",
				  p->name, (int)p->pid);
	return COND_NOT_YET;
}

static int exit_one(const struct cond *c, struct proc *p, char **ret_observed)
{
	char want[48];
	if (c->exit_signal)
		snprintf(want, sizeof want, "signal %s", lab_signal_name(c->exit_signal));
	else if (c->exit_code >= 0)
		snprintf(want, sizeof want, "exit %d", c->exit_code);
	else
		snprintf(want, sizeof want, "exit");
	if (!p->exited) {
		*ret_observed = xasprintf("expected %s of %s, got: still running (pid %d)", want, p->name, (int)p->pid);
		return COND_NOT_YET;
	}
	char *got = describe_end(p);
	bool ok = c->exit_any || (c->exit_signal ? p->code < 0 && p->sig == c->exit_signal : p->code == c->exit_code);
	/* the shape the lab's own tests assert: "expected exit 75, got 0" */
	*ret_observed = xasprintf("expected %s, got %s", want, got + (strncmp(got, "exit ", 5) == 0 && !c->exit_signal ? 5 : 0));
	free(got);
	return ok ? COND_TRUE : COND_FALSE;
}

static int group_cond(struct lab *lab, const struct cond *c, struct proc **m, size_t n, char **ret_observed)
{
	size_t exited = 0;
	for (size_t i = 0; i < n; i++)
		exited += m[i]->exited;
	if (c->kind == C_EXITED) {
		long long want = strtoll(c->value.tmpl, NULL, 10);
		*ret_observed = xasprintf("expected at least %lld of %s to have exited, got %zu of %zu", want, c->name,
					  exited, n);
		return (long long)exited >= want ? COND_TRUE : COND_NOT_YET;
	}
	if (c->kind == C_EXITS) {
		/* tally of what happened, e.g. "0=1 75=99" */
		struct tether_buf got;
		tether_buf_init(&got);
		if (exited < n) {
			*ret_observed = xasprintf("expected every member of %s to exit, got %zu of %zu still running", c->name,
						  n - exited, n);
			tether_buf_done(&got);
			return COND_NOT_YET;
		}
		bool ok = true;
		size_t explicit_total = 0;
		for (size_t e = 0; e < c->nexits; e++) {
			size_t have = 0;
			for (size_t i = 0; i < n; i++)
				have += m[i]->code == c->exits[e].code;
			if (!c->exits[e].rest) {
				ok = ok && have == c->exits[e].count;
				explicit_total += c->exits[e].count;
			}
		}
		for (size_t e = 0; e < c->nexits; e++) {
			if (!c->exits[e].rest)
				continue;
			size_t have = 0;
			for (size_t i = 0; i < n; i++)
				have += m[i]->code == c->exits[e].code;
			ok = ok && have == n - explicit_total;
		}
		/* codes nobody asked for fail it too */
		for (size_t i = 0; i < n; i++) {
			bool listed = false;
			for (size_t e = 0; e < c->nexits; e++)
				listed = listed || m[i]->code == c->exits[e].code;
			ok = ok && listed;
		}
		for (int code = -1; code < 256; code++) {
			size_t have = 0;
			for (size_t i = 0; i < n; i++)
				have += m[i]->code == code;
			if (have && code < 0)
				tether_buf_printf(&got, "%ssignal=%zu", got.len ? " " : "", have);
			else if (have)
				tether_buf_printf(&got, "%s%d=%zu", got.len ? " " : "", code, have);
		}
		struct tether_buf want;
		tether_buf_init(&want);
		for (size_t e = 0; e < c->nexits; e++) {
			if (c->exits[e].rest)
				tether_buf_printf(&want, "%s%d=rest", e ? " " : "", c->exits[e].code);
			else
				tether_buf_printf(&want, "%s%d=%u", e ? " " : "", c->exits[e].code, c->exits[e].count);
		}
		*ret_observed = xasprintf("expected exits of %s %s, got %s", c->name, want.data, got.data);
		tether_buf_done(&want);
		tether_buf_done(&got);
		return ok ? COND_TRUE : COND_FALSE;
	}
	/* ready / exit / running: every member */
	for (size_t i = 0; i < n; i++) {
		char *obs = NULL;
		int r = c->kind == C_READY ? ready_one(m[i], &obs) : c->kind == C_EXIT ? exit_one(c, m[i], &obs)
			: (m[i]->exited ? COND_FALSE : COND_TRUE);
		if (r != COND_TRUE) {
			*ret_observed = obs ? obs : xasprintf("expected every member of %s to be running, got %s exited",
							      c->name, m[i]->name);
			return r;
		}
		free(obs);
	}
	(void)lab;
	*ret_observed = xasprintf("%s: all %zu members as expected", c->name, n);
	return COND_TRUE;
}

static int status_cond(struct lab *lab, const struct cond *c, unsigned line, struct cond_watch *w, char **ret_observed)
{
	/* Polled: `tether status` is a question, no event announces its answer. */
	w->polled = true;
	char *pidfile = lab_expand(lab, &c->subject, line);
	char *value = pidfile ? lab_expand(lab, &c->value, line) : NULL;
	char *key = value && !c->status_exit ? lab_expand(lab, &c->text, line) : NULL;
	int r = -1, code;
	struct tether_json *j = NULL;
	if (!value || (!c->status_exit && !key) || lab_status_query(lab, pidfile, line, &code, &j) < 0)
		goto out;
	if (c->status_exit) {
		long long want = strtoll(value, NULL, 10);
		r = cond_compare_num(code, c->op, want) ? COND_TRUE : COND_NOT_YET;
		*ret_observed = xasprintf("expected `tether status` to exit %s, got %d", value, code);
	} else if (!j) {
		*ret_observed = xasprintf("expected status %s %s %s, got no JSON from `tether status` (exit %d)", key,
					  cmp_op_name(c->op), value, code);
		r = COND_NOT_YET;
	} else {
		char *got;
		r = cond_compare_json(tether_json_path(j, key), c->op, value, &got) ? COND_TRUE : COND_NOT_YET;
		*ret_observed = xasprintf("expected status %s %s %s, got %s", key, cmp_op_name(c->op), value, got);
		free(got);
	}
out:
	tether_json_free(j);
	free(pidfile);
	free(value);
	free(key);
	return r;
}

/* Does a marked process descend from a spawn named name (or a member of a group of that name)? */
static bool spawned_as(const struct marked *m, const char *name)
{
	const char *colon = strchr(m->spawn, ':');
	if (!colon)
		return false;
	const char *n = colon + 1;
	size_t len = strlen(name);
	return strcmp(n, name) == 0 || (strncmp(n, name, len) == 0 && n[len] == '.');
}

static int processes_cond(struct lab *lab, const struct cond *c, unsigned line, struct cond_watch *w,
			  char **ret_observed)
{
	/* Polled: /proc has no event for "a process appeared". */
	w->polled = true;
	char *comm = lab_expand(lab, &c->subject, line);
	long long want;
	char *v = comm ? lab_expand(lab, &c->value, line) : NULL;
	if (!v) {
		free(comm);
		return -1;
	}
	want = strtoll(v, NULL, 10);
	free(v);
	struct marked *m;
	size_t n = orphans_scan_tree(lab->run_id, &m), have = 0;
	for (size_t i = 0; i < n; i++)
		have += (!*comm || strcmp(m[i].comm, comm) == 0) && (!c->name || spawned_as(&m[i], c->name));
	free(m);
	*ret_observed = xasprintf("expected processes%s%s%s%s %s %lld, got %zu", *comm ? " " : "", comm,
				  c->name ? " of " : "", c->name ? c->name : "", cmp_op_name(c->op), want, have);
	free(comm);
	return cond_compare_num((int64_t)have, c->op, want) ? COND_TRUE : COND_NOT_YET;
}

long long lab_count_fds(struct lab *lab, const struct proc *p, struct tether_buf *list)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)p->pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	long long have = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		/* memcheck keeps descriptors of its own in the process (its logs) */
		if (p->under_valgrind && valgrind_own_fd(lab->opt, p->pid, fd))
			continue;
		have++;
		if (list)
			tether_buf_printf(list, "%s%d", list->len ? " " : "", fd);
	}
	closedir(d);
	return have;
}

static int fds_cond(struct lab *lab, const struct cond *c, unsigned line, struct cond_watch *w, char **ret_observed)
{
	/* Polled: no event tells that a process opened or closed a descriptor. */
	w->polled = true;
	struct proc *p = lab_find_proc(lab, c->name);
	char *v = lab_expand(lab, &c->value, line);
	if (!v)
		return -1;
	long long want = strtoll(v, NULL, 10);
	free(v);
	if (!p || p->exited) {
		*ret_observed = xasprintf("expected fds of %s %s %lld, got: it is not running", c->name,
					  cmp_op_name(c->op), want);
		return COND_FALSE;
	}
	struct tether_buf list;
	tether_buf_init(&list);
	long long have = lab_count_fds(lab, p, &list);
	if (have < 0) {
		tether_buf_done(&list);
		return lab_fail(lab, line, "cannot read /proc/%d/fd: %s", (int)p->pid, strerror((int)-have));
	}
	*ret_observed = xasprintf("expected fds of %s %s %lld, got %lld (%s)", c->name, cmp_op_name(c->op), want,
				  have, list.data ? list.data : "");
	tether_buf_done(&list);
	return cond_compare_num(have, c->op, want) ? COND_TRUE : COND_NOT_YET;
}

static int no_orphans_cond(struct lab *lab, const struct cond *c, struct cond_watch *w, char **ret_observed)
{
	struct marked *m;
	size_t n = orphans_scan(lab->run_id, &m);
	struct tether_buf list;
	tether_buf_init(&list);
	size_t orphans = 0;
	for (size_t i = 0; i < n; i++) {
		/* An orphan outlived what started it: its spawn has exited (or it
		 * came from a probe or an unreadable marker). */
		struct proc *p = m[i].seq ? lab_find_seq(lab, m[i].seq) : NULL;
		if (p && !p->probe && !p->exited)
			continue;
		if (c->name && !spawned_as(&m[i], c->name))
			continue;
		orphans++;
		if (orphans <= 8 && p)
			tether_buf_printf(&list, "%spid %d (%s, from %s spawned at line %u)", list.len ? ", " : "",
					  (int)m[i].pid, m[i].comm, p->name, p->line);
		else if (orphans <= 8)
			tether_buf_printf(&list, "%spid %d (%s, from %s)", list.len ? ", " : "", (int)m[i].pid, m[i].comm,
					  m[i].spawn);
		/* its exit is the event that may make the condition true */
		int fd = pidfd_open(m[i].pid, 0);
		if (fd >= 0)
			xappend(&w->fds, &w->nfds, &fd, sizeof fd);
	}
	free(m);
	/* Polled too, at a backoff: a process that appears sends no event. */
	w->polled = true;
	*ret_observed = xasprintf("expected no orphans%s%s, got %zu%s%s%s", c->name ? " of " : "",
				  c->name ? c->name : "", orphans, orphans ? ": " : "", list.data ? list.data : "",
				  orphans > 8 ? ", ..." : "");
	tether_buf_done(&list);
	return orphans == 0 ? COND_TRUE : COND_NOT_YET;
}

int cond_eval_proc(struct lab *lab, const struct cond *c, unsigned line, struct cond_watch *w, char **ret_observed)
{
	switch (c->kind) {
	case C_STATUS:
		return status_cond(lab, c, line, w, ret_observed);
	case C_PROCESSES:
		return processes_cond(lab, c, line, w, ret_observed);
	case C_FDS:
		return fds_cond(lab, c, line, w, ret_observed);
	case C_NO_ORPHANS:
		return no_orphans_cond(lab, c, w, ret_observed);
	default:
		break;
	}
	size_t n = 0;
	struct proc **members = lab_find_group(lab, c->name, &n);
	struct proc *p = members ? NULL : lab_find_proc(lab, c->name);
	if (members || c->kind == C_EXITED || c->kind == C_EXITS) {
		if (!members)
			return lab_fail(lab, line, "'%s' is no group (spawn %s xN ...)", c->name, c->name);
		int r = group_cond(lab, c, members, n, ret_observed);
		free(members);
		return r;
	}
	if (!p)
		return lab_fail(lab, line, "no process '%s' has been spawned", c->name);
	switch (c->kind) {
	case C_READY:
		return ready_one(p, ret_observed);
	case C_EXIT:
		return exit_one(c, p, ret_observed);
	case C_RUNNING: {
		char *end = p->exited ? describe_end(p) : NULL;
		*ret_observed = end ? xasprintf("expected %s to be running, got %s", p->name, end)
				    : xasprintf("expected %s to be running, got it running", p->name);
		free(end);
		return p->exited ? COND_FALSE : COND_TRUE;
	}
	case C_OUTPUT: {
		const char *path = c->stream == 1 ? p->out_path : p->err_path;
		char *what = xasprintf("%s of %s", c->stream == 1 ? "stdout" : "stderr", p->name);
		int r = cond_text_test(lab, c, line, what, path, ret_observed);
		free(what);
		w->path = xstrdup(path);
		/* an output that can no longer change has its final answer */
		return r == COND_NOT_YET && p->exited ? COND_FALSE : r;
	}
	default:
		return lab_fail(lab, line, "internal: unknown condition");
	}
}

int lab_status_query(struct lab *lab, const char *pidfile, unsigned line, int *ret_code, struct tether_json **ret_json)
{
	char *argv[] = {(char *)lab->opt->tether, "status", "--json", "--pidfile", (char *)pidfile, NULL};
	struct spawn_req req = {.name = "status-probe", .line = line, .argv = argv, .is_tether = true, .probe = true,
				.barrier_fd = -1, .barrier_wfd = -1};
	struct proc *p = proc_fork(lab, &req);
	*ret_json = NULL;
	if (!p)
		return -1;
	int rc = -1;
	if (proc_confirm_exec(lab, p) < 0)
		goto out;
	/* `tether status` must answer quickly (G4: nothing hangs); wait on its pidfd */
	int64_t deadline = lab_now() + 10 * NS_PER_SEC;
	while (!proc_reap(lab, p)) {
		int64_t left = deadline - lab_now();
		if (left <= 0) {
			pidfd_send_signal(p->pidfd, SIGKILL, NULL, 0);
			lab_fail(lab, line, "`tether status --pidfile %s` did not answer within 10s", pidfile);
			struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
			poll(&pfd, 1, -1);
			proc_reap(lab, p);
			goto out;
		}
		struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
		poll(&pfd, 1, (int)(left / NS_PER_MS) + 1);
	}
	*ret_code = p->code >= 0 ? p->code : 128 + p->sig;
	int err;
	size_t len;
	char *out = lab_read_file(p->out_path, 1 << 20, &len, &err);
	if (out && tether_json_parse(out, len, 64, ret_json) < 0)
		*ret_json = NULL;
	free(out);
	rc = 0;
out:
	unlink(p->out_path);
	unlink(p->err_path);
	proc_free(p);
	return rc;
}
