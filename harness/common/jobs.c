/* SPDX-License-Identifier: MIT */
/* jobs.c — a pool of forked children, each running one piece of work (a
 * scenario: `harness run`, `harness faults`) and sending its result back
 * through a pipe (see common.h).
 *
 * A job is a process of its own so that a crash or a hang of one cannot
 * take the others along. The parent never waits blindly: one poll() over
 * every job's pipe and pidfd, and a signalfd for INT, TERM and HUP, which
 * are forwarded to every job as SIGTERM (each turns it into a failure and a
 * clean-up). A job that outlives its deadline gets SIGTERM, then SIGKILL
 * 10 s later; whatever carries its run marker is killed when it ends.
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

#include "common/common.h"

char *lab_run_id(const char *kind, unsigned long n)
{
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		rnd = (uint32_t)lab_now();
	return kind ? xasprintf("lab-%s-%d-%lu-%08x", kind, (int)getpid(), n, rnd)
		    : xasprintf("lab-%d-%lu-%08x", (int)getpid(), n, rnd);
}

void lab_jobs_init(struct lab_jobs *p, size_t size)
{
	*p = (struct lab_jobs){.job = xcalloc(size, sizeof *p->job), .size = size};
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	p->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

void lab_jobs_done(struct lab_jobs *p)
{
	if (p->sig_fd >= 0)
		close(p->sig_fd);
	free(p->job);
	*p = (struct lab_jobs){.sig_fd = -1};
}

struct lab_job *lab_jobs_idle(struct lab_jobs *p)
{
	for (size_t i = 0; i < p->size; i++)
		if (!p->job[i].busy)
			return &p->job[i];
	return NULL;
}

void lab_job_start(struct lab_jobs *p, struct lab_job *j, const char *run_id, int64_t deadline,
		   void (*work)(int fd, void *arg), void *arg)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		lab_die("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		lab_die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		if (p->sig_fd >= 0)
			close(p->sig_fd);
		work(fds[1], arg);
		/* _exit: the parent's stdio buffers are not ours to flush */
		_exit(0);
	}
	close(fds[1]);
	orphans_own_child(pid);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	void *data = j->data;
	*j = (struct lab_job){.busy = true, .pid = pid, .pipe_fd = fds[0], .run_id = run_id, .deadline = deadline,
			      .data = data};
	j->pidfd = pidfd_open(pid, 0);
	if (j->pidfd < 0)
		lab_die("pidfd_open: %s", strerror(errno));
	tether_buf_init(&j->out);
	p->busy++;
}

/* Reaps, reads what is there, enforces the deadline. Whether j has exited. */
static bool poll_job(struct lab_job *j)
{
	if (!j->exited) {
		siginfo_t wi = {0};
		if (waitid(P_PID, (id_t)j->pid, &wi, WEXITED | WNOHANG) == 0 && wi.si_pid) {
			j->exited = true;
			j->status = wi.si_code == CLD_EXITED ? W_EXITCODE(wi.si_status, 0) : wi.si_status;
		}
	}
	/* non-blocking: take what is there (after the exit check, so that an
	 * exited job's last words are read in this same round) */
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
		/* first SIGTERM (the job cleans up), then SIGKILL */
		pidfd_send_signal(j->pidfd, j->termed ? SIGKILL : SIGTERM, NULL, 0);
		j->deadline = lab_now() + 10 * NS_PER_SEC;
		j->termed = true;
	}
	/* Once it has exited, what it wrote is all in the pipe (read above):
	 * no need to wait for an EOF that a leaked descriptor could delay. */
	return j->exited;
}

struct lab_job *lab_jobs_wait(struct lab_jobs *p)
{
	for (;;) {
		for (size_t i = 0; i < p->size; i++)
			if (p->job[i].busy && poll_job(&p->job[i]))
				return &p->job[i];
		struct pollfd *pfd = xcalloc(2 * p->size + 1, sizeof *pfd);
		int64_t until = INT64_MAX;
		for (size_t i = 0; i < p->size; i++) {
			struct lab_job *j = &p->job[i];
			pfd[2 * i] = (struct pollfd){.fd = j->busy && !j->eof ? j->pipe_fd : -1, .events = POLLIN};
			/* once exited, its pidfd stays readable: the pipe's EOF is what is left */
			pfd[2 * i + 1] = (struct pollfd){.fd = j->busy && !j->exited ? j->pidfd : -1, .events = POLLIN};
			if (j->busy && j->deadline < until)
				until = j->deadline;
		}
		pfd[2 * p->size] = (struct pollfd){.fd = p->sig_fd, .events = POLLIN};
		int64_t left = until - lab_now();
		poll(pfd, 2 * p->size + 1, until == INT64_MAX ? -1 : left <= 0 ? 0 : (int)(left / NS_PER_MS) + 1);
		free(pfd);
		struct signalfd_siginfo si;
		while (p->sig_fd >= 0 && read(p->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
			p->interrupted = true;
			for (size_t i = 0; i < p->size; i++)
				if (p->job[i].busy && !p->job[i].exited)
					pidfd_send_signal(p->job[i].pidfd, SIGTERM, NULL, 0);
		}
	}
}

size_t lab_job_end(struct lab_jobs *p, struct lab_job *j)
{
	/* belt and braces: nothing with its marker may outlive it (what it
	 * started came after it: its pid is the floor) */
	size_t left = orphans_kill_all_since(j->run_id, j->pid, lab_now() + 5 * NS_PER_SEC);
	close(j->pipe_fd);
	close(j->pidfd);
	tether_buf_done(&j->out);
	void *data = j->data;
	*j = (struct lab_job){.pipe_fd = -1, .pidfd = -1, .data = data};
	p->busy--;
	return left;
}
