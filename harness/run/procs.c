/* SPDX-License-Identifier: MIT */
/* procs.c — the processes a scenario spawns (see run.h).
 *
 * Each one is started by lab_spawn (common/spawn.c: its own process group,
 * so `signal NAME group SIG` reaches what it forked; stdin /dev/null; only
 * fds 0, 1, 2; default signal dispositions and an empty mask; the run marker
 * in its environment; PR_SET_PDEATHSIG(SIGKILL), so a lab that dies takes its
 * supervisors along and their guardians the trees), with: stdout and stderr
 * in files of the scenario's directory (read by expectations, watched by
 * inotify); the scenario's directory as its cwd; its spawn number; and a
 * NOTIFY_SOCKET owned by the lab (an abstract datagram socket: nothing to
 * clean up), so `wait NAME ready` is the READY=1 that tether sends when all
 * its instances are ready — every datagram received there is also appended,
 * line by line, to $DIR/NAME.notify for `file` conditions (what a supervisor
 * tells its own supervisor).
 *
 * The lab holds each child by the pidfd lab_spawn opened right after fork.
 * Exec failures come back through a close-on-exec pipe as an errno.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "run/run.h"

struct proc *proc_fork(struct lab *lab, const struct spawn_req *req)
{
	struct proc *p = xcalloc(1, sizeof *p);
	p->name = xstrdup(req->name);
	p->program = xstrdup(req->argv[0]);
	p->group = req->group ? xstrdup(req->group) : NULL;
	p->seq = ++lab->next_seq;
	p->batch = req->batch ? req->batch : p->seq;
	p->line = req->line;
	p->is_tether = req->is_tether;
	p->probe = req->probe;
	p->fiu_line = req->fiu_line;
	p->pidfd = p->notify_fd = p->errpipe = -1;
	p->code = -1;
	p->fault_report = req->fault_report ? xstrdup(req->fault_report) : NULL;
	if (req->probe) {
		p->out_path = xasprintf("%s/.probe-%u.out", lab->dir, p->seq);
		p->err_path = xasprintf("%s/.probe-%u.err", lab->dir, p->seq);
	} else {
		p->out_path = xasprintf("%s/%s.out", lab->dir, p->name);
		p->err_path = xasprintf("%s/%s.err", lab->dir, p->name);
		p->notify_path = xasprintf("%s/%s.notify", lab->dir, p->name);
		/* a reused name starts a new record, like its .out and .err */
		unlink(p->notify_path);
	}
	char notify[108] = "";
	if (!req->probe) {
		p->notify_fd = lab_notify_open("lab", lab->run_id, p->seq, notify, sizeof notify);
		if (p->notify_fd < 0) {
			lab_fail(lab, req->line, "cannot create the NOTIFY_SOCKET of %s: %s", p->name, strerror(-p->notify_fd));
			proc_free(p);
			return NULL;
		}
	}
	int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	int err = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	int ep[2] = {-1, -1};
	if (out < 0 || err < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		lab_fail(lab, req->line, "cannot prepare the spawn of %s: %s", p->name, strerror(errno));
		goto fail;
	}
	char **base = lab_env_inherited(NULL, NULL);
	struct lab_env env;
	lab_env_make(&env, base, lab->run_id, p->seq, p->name, req->probe ? NULL : notify, req->env);
	char **argv = req->argv;
	char **wrapped = NULL;
	if (req->is_tether && !req->probe && lab->opt->valgrind) {
		argv = wrapped = valgrind_wrap(lab->opt, lab->scn->name, req->argv);
		p->under_valgrind = true;
	}
	struct lab_spawn sp = {.argv = argv, .envp = env.envp, .out = out, .err = err, .cwd = lab->dir,
			       .search_path = true, .all_signals = true, .barrier = req->barrier_fd,
			       .barrier_w = req->barrier_wfd, .errpipe = ep[1], .nofile = req->nofile,
			       .nofile_soft = req->nofile_soft, .nofile_hard = req->nofile_hard};
	/* Taken before the fork: the child may run (and a stop it sends may
	 * start its clock) before this process is scheduled again, and a
	 * `>= DUR` between two events must not be shortened by that delay. */
	int64_t t_spawn = lab_now();
	int r = lab_spawn(&sp, &p->pid, &p->pidfd);
	lab_env_done(&env);
	lab_strv_free(base);
	lab_strv_free(wrapped);
	if (r < 0) {
		lab_fail(lab, req->line, "cannot fork %s: %s", p->name, strerror(-r));
		goto fail;
	}
	p->t_spawn = t_spawn;
	close(ep[1]);
	p->errpipe = ep[0];
	close(out);
	close(err);
	return p;
fail:
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	if (ep[0] >= 0) {
		close(ep[0]);
		close(ep[1]);
	}
	proc_free(p);
	return NULL;
}

int proc_confirm_exec(struct lab *lab, struct proc *p)
{
	int e = 0;
	ssize_t n;
	if (p->errpipe < 0)
		return 0;
	do
		n = read(p->errpipe, &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(p->errpipe);
	p->errpipe = -1;
	if (n == (ssize_t)sizeof e) {
		return lab_fail(lab, p->line, "cannot execute %s (spawn %s): %s", p->program, p->name, strerror(e));
	}
	return 0;
}

int proc_reap(struct lab *lab, struct proc *p)
{
	(void)lab;
	if (p->exited || p->pid <= 0)
		return 0;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	/* P_PID is safe: the child is ours and unreaped, its pid cannot be reused. */
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return 0;
	p->exited = true;
	p->t_exit = lab_now();
	if (si.si_code == CLD_EXITED) {
		p->code = si.si_status;
	} else {
		p->code = -1;
		p->sig = si.si_status;
	}
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	/* a last READY=1 or STATUS= may still be queued */
	proc_drain_notify(p);
	return 1;
}

/* Appends one datagram's text to $DIR/NAME.notify, a newline after each of
 * its lines (one write: a reader never sees half a datagram). */
static void notify_record(const struct proc *p, const char *text, size_t len)
{
	if (!p->notify_path || len == 0)
		return;
	int fd = open(p->notify_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char *buf = xcalloc(1, len + 1);
	memcpy(buf, text, len);
	size_t n = len;
	if (buf[n - 1] != '\n')
		buf[n++] = '\n';
	while (write(fd, buf, n) < 0 && errno == EINTR)
		;
	free(buf);
	close(fd);
}

static void notify_line(struct proc *p, const char *line)
{
	if (strcmp(line, "READY=1") == 0 && !p->ready) {
		p->ready = true;
		p->t_ready = lab_now();
	} else if (strncmp(line, "STATUS=", 7) == 0) {
		snprintf(p->status_text, sizeof p->status_text, "%s", line + 7);
	}
}

void proc_drain_notify(struct proc *p)
{
	if (p->notify_fd < 0)
		return;
	char buf[4097];
	ssize_t n;
	while ((n = lab_recv_notify(p->notify_fd, buf, sizeof buf)) >= 0) {
		notify_record(p, buf, (size_t)n);
		for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			notify_line(p, l);
	}
}

int proc_signal(struct lab *lab, struct proc *p, int sig, bool group)
{
	if (!group) {
		if (p->pidfd < 0)
			return -ESRCH;
		return pidfd_send_signal(p->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
	}
	if (!p->exited)
		/* the leader is unreaped: its pid, hence the group id, is still ours */
		return killpg(p->pid, sig) < 0 ? -errno : 0;
	/* The leader is gone: signal the group only while a process of ours is
	 * still in it (an empty group's id could be anybody's by now). */
	struct marked *m;
	size_t n = orphans_scan_tree(lab->run_id, &m);
	bool ours = false;
	for (size_t i = 0; i < n; i++)
		ours = ours || m[i].pgid == p->pid;
	free(m);
	if (!ours)
		return -ESRCH;
	return killpg(p->pid, sig) < 0 ? -errno : 0;
}

void proc_free(struct proc *p)
{
	if (!p)
		return;
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->notify_fd >= 0)
		close(p->notify_fd);
	if (p->errpipe >= 0)
		close(p->errpipe);
	free(p->name);
	free(p->program);
	free(p->group);
	free(p->out_path);
	free(p->err_path);
	free(p->notify_path);
	free(p->fault_report);
	free(p);
}

struct proc *lab_find_proc(struct lab *lab, const char *name)
{
	for (size_t i = lab->nprocs; i-- > 0;)
		if (!lab->procs[i]->probe && strcmp(lab->procs[i]->name, name) == 0)
			return lab->procs[i];
	return NULL;
}

struct proc **lab_find_group(struct lab *lab, const char *name, size_t *ret_n)
{
	unsigned batch = 0;
	for (size_t i = lab->nprocs; i-- > 0 && !batch;)
		if (lab->procs[i]->group && strcmp(lab->procs[i]->group, name) == 0)
			batch = lab->procs[i]->batch;
	if (!batch)
		return NULL;
	struct proc **members = NULL;
	size_t n = 0;
	for (size_t i = 0; i < lab->nprocs; i++)
		if (lab->procs[i]->batch == batch)
			xappend(&members, &n, &lab->procs[i], sizeof members[0]);
	*ret_n = n;
	return members;
}

struct proc *lab_find_seq(struct lab *lab, unsigned seq)
{
	for (size_t i = 0; i < lab->nprocs; i++)
		if (lab->procs[i]->seq == seq)
			return lab->procs[i];
	return NULL;
}
