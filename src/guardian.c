/* SPDX-License-Identifier: MIT */
/* guardian.c — see guardian.h. The first half is the guardian process
 * itself, the second what tether uses to talk to it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guardian.h"
#include "proc.h"
#include "proctree.h"
#include "sys.h"

/* ---- the guardian process ----------------------------------------------------- */

struct gstate {
	struct tether_spawn_spec *spec;
	int chan, sfd, errpipe;
	bool pidns;
	pid_t worker;      /* 0 when none runs */
	bool awaiting_empty; /* a worker ran since the last TREE_EMPTY */
};

static __attribute__((noreturn)) void die_with_tree(struct gstate *g);

static void report(struct gstate *g, uint32_t type, int32_t value)
{
	struct tether_guardian_event ev = {.type = type, .value = value};
	struct iovec iov = {.iov_base = &ev, .iov_len = sizeof ev};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	/* An exec in our namespace: the worker's pid goes as the message's
	 * credentials too, which the kernel translates into tether's namespace
	 * (tether_guardian_recv); that spares tether three /proc reads per start.
	 * Claiming another process's pid takes CAP_SYS_ADMIN over the namespace,
	 * which creating it took; refused (EPERM), or the worker already reaped
	 * (ESRCH), the message goes without and tether looks the pid up. */
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	if (g->pidns && type == TETHER_GUARDIAN_EXEC_OK) {
		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof ctl.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
		struct ucred cred = {.pid = value, .uid = getuid(), .gid = getgid()};
		memcpy(CMSG_DATA(c), &cred, sizeof cred);
	}
	/* Blocking: tether reads promptly, and an event must never be lost. A
	 * dead tether gives EPIPE, noticed by the lifeline check. Any other
	 * failure (ENOBUFS) loses the event, which tether's instance table
	 * would await for ever (an exec, a tree's end): end the tree and the
	 * guardian instead, which tether handles as the instance's end
	 * (harness/enumerate-check: tether/sys/sendmsg failed once in a stop). */
	ssize_t n = sys_sendmsg(g->chan, &mh, MSG_NOSIGNAL);
	if (mh.msg_control && (n == -EPERM || n == -ESRCH || n == -EINVAL)) {
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		n = sys_sendmsg(g->chan, &mh, MSG_NOSIGNAL);
	}
	if (n < 0 && n != -EPIPE)
		die_with_tree(g);
}

static void signal_tree(struct gstate *g, int sig)
{
	if (g->pidns) {
		sys_kill_pidns(sig);
		return;
	}
	/* Every descendant, found through /proc from ourselves. As a subreaper
	 * we also hold the orphans of the tree, so nothing that escaped the
	 * worker's process group is missed. */
	struct tether_tree tree = {0};
	tether_tree_collect(getpid(), &tree);
	tether_tree_signal(&tree, sig);
	tether_tree_done(&tree);
}

/* Reaps what has exited; returns true when no child remains at all. */
static bool reap(struct gstate *g)
{
	for (;;) {
		siginfo_t si = {0};
		int r = sys_waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
		if (r == -ECHILD)
			return true;
		if (r < 0 || si.si_pid == 0)
			return false;
		if (si.si_pid == g->worker) {
			if (g->errpipe >= 0) {
				/* exec's verdict first: an exec failure is also an exit */
				int err = 0;
				ssize_t n = sys_read(g->errpipe, &err, sizeof err);
				report(g, n == (ssize_t)sizeof err ? TETHER_GUARDIAN_EXEC_FAILED : TETHER_GUARDIAN_EXEC_OK,
				       n == (ssize_t)sizeof err ? err : g->worker);
				sys_close(g->errpipe);
				g->errpipe = -1;
			}
			int status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8
							      : (si.si_status & 0x7f) | (si.si_code == CLD_DUMPED ? 0x80 : 0);
			report(g, TETHER_GUARDIAN_EXITED, status);
			g->worker = 0;
		}
	}
}

static void tree_check(struct gstate *g)
{
	pid_t worker = g->worker;
	bool empty = reap(g);
	if (worker && !g->worker && !empty) {
		/* The worker died and left processes behind (daemonised
		 * children): they get SIGTERM now, without a round trip to
		 * tether; tether's stop timer sends the KILL if they linger. */
		signal_tree(g, SIGTERM);
		signal_tree(g, SIGCONT);
	}
	if (empty && g->worker == 0 && g->awaiting_empty) {
		g->awaiting_empty = false;
		report(g, TETHER_GUARDIAN_TREE_EMPTY, 0);
	}
}

static __attribute__((noreturn)) void die_with_tree(struct gstate *g)
{
	/* Kill, reap, repeat until no child remains: a process that forked
	 * before its SIGKILL landed leaves an orphan that comes back to us. */
	for (int round = 0; round < 1000; round++) {
		signal_tree(g, SIGKILL);
		siginfo_t si;
		int r = sys_waitid(P_ALL, 0, &si, WEXITED);
		if (r == -ECHILD)
			break;
	}
	tether_child_exit(0);
}

/* `tether signal`: to the worker alone, which is our child and not yet
 * reaped (reap() clears g->worker when it is), so its pid is its own even if
 * it has exited: a zombie takes the signal harmlessly. Reaped already: ESRCH,
 * and its EXITED report is on its way. */
static void signal_worker(struct gstate *g, int sig)
{
	int r = -ESRCH;
	if (g->worker > 0 && sig > 0 && sig < NSIG)
		r = sys_kill(g->worker, sig);
	else if (g->worker > 0)
		r = -EINVAL;
	report(g, TETHER_GUARDIAN_SIGNALED, r < 0 ? -r : 0);
}

static void spawn(struct gstate *g)
{
	if (g->worker)
		return;
	int p[2];
	int r = sys_pipe2(p, O_CLOEXEC);
	if (r < 0) {
		report(g, TETHER_GUARDIAN_SPAWN_FAILED, -r);
		return;
	}
	pid_t pid = sys_clone(0, NULL);
	if (pid < 0) {
		sys_close(p[0]);
		sys_close(p[1]);
		report(g, TETHER_GUARDIAN_SPAWN_FAILED, -pid);
		return;
	}
	if (pid == 0) {
		sys_close(p[0]);
		sys_close(g->sfd);
		sys_close(g->chan);
		tether_spawn_exec_child(g->spec, p[1]);
	}
	sys_close(p[1]);
	g->worker = pid;
	g->errpipe = p[0];
	g->awaiting_empty = true;
}

static __attribute__((noreturn)) void guardian_main(struct gstate *g, int out_fd, int err_fd)
{
	/* Only the channel and stdio survive: the lock, the other instances'
	 * sockets, the journal are tether's business. */
	if (out_fd != 1)
		sys_dup3(out_fd, 1, 0);
	if (err_fd != 2)
		sys_dup3(err_fd, 2, 0);
	if (g->chan != 3) {
		sys_dup3(g->chan, 3, O_CLOEXEC);
		g->chan = 3;
	}
	sys_close_range(4, ~0U, 0);
	sys_setpgid(0, 0);
	sys_prctl(PR_SET_NAME, (unsigned long)"tether-guard", 0, 0, 0);
	/* Default dispositions once here, so each worker only inherits them
	 * (an ignored signal stays ignored across exec; tether ignores SIGPIPE). */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sys_sigaction_default(sig);
	g->spec->dispositions_reset = true;
	if (g->pidns) {
		sys_mark_pidns_init();
		sys_prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		/* If tether died before the line above, nothing will fire (and
		 * getppid() says 0 in a new namespace whatever happens): ask the
		 * lifeline instead — end of file means it is already gone. */
		char peek;
		struct iovec iov = {.iov_base = &peek, .iov_len = 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (sys_recvmsg(g->chan, &mh, MSG_PEEK | MSG_DONTWAIT) == 0)
			die_with_tree(g);
	} else {
		sys_prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sys_sigprocmask(SIG_SETMASK, &mask, NULL);
	g->sfd = sys_signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (g->sfd < 0)
		die_with_tree(g);
	unsigned idle_wakeups = 0;
	for (;;) {
		struct pollfd p[3] = {
			{.fd = g->chan, .events = POLLIN},
			{.fd = g->sfd, .events = POLLIN},
			{.fd = g->errpipe, .events = POLLIN},
		};
		/* An error (ENOMEM) would only come back at once, for ever; so
		 * would "no event" (EINTR, which sys_poll reports as 0 events:
		 * without a timeout nothing else returns 0). A guardian that cannot
		 * watch its lifeline ends its tree rather than spin
		 * (harness/enumerate-check: tether/sys/poll failing from call k on). */
		int pr = sys_poll(p, g->errpipe >= 0 ? 3 : 2, -1);
		if (pr < 0 || (pr == 0 && ++idle_wakeups >= 100))
			die_with_tree(g);
		if (pr > 0)
			idle_wakeups = 0;
		if (g->errpipe >= 0 && p[2].revents) {
			int err = 0;
			ssize_t n = sys_read(g->errpipe, &err, sizeof err);
			if (n == (ssize_t)sizeof err)
				report(g, TETHER_GUARDIAN_EXEC_FAILED, err);
			else
				report(g, TETHER_GUARDIAN_EXEC_OK, g->worker);
			sys_close(g->errpipe);
			g->errpipe = -1;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			while (sys_read(g->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				/* Someone signalled the guardian itself: better a clean
				 * end of the tree than a subreaper gone missing. */
				if (si.ssi_signo != SIGCHLD)
					die_with_tree(g);
			}
			tree_check(g);
		}
		if (p[0].revents) {
			uint32_t cmd = 0;
			ssize_t n = sys_read(g->chan, &cmd, sizeof cmd);
			if (n <= 0 && n != -EAGAIN)
				die_with_tree(g); /* the lifeline broke: tether is gone */
			if (n != (ssize_t)sizeof cmd)
				continue;
			switch (cmd & 0xff) {
			case TETHER_GUARDIAN_SPAWN: spawn(g); break;
			case TETHER_GUARDIAN_TERM:
				signal_tree(g, SIGTERM);
				signal_tree(g, SIGCONT);
				break;
			case TETHER_GUARDIAN_KILL: signal_tree(g, SIGKILL); break;
			case TETHER_GUARDIAN_QUIT: die_with_tree(g);
			case TETHER_GUARDIAN_SIGNAL: signal_worker(g, (int)((cmd >> 8) & 0xff)); break;
			default: break;
			}
			tree_check(g);
		}
	}
}

/* ---- tether's side ----------------------------------------------------------- */

int tether_guardian_start(struct tether_spawn_spec *spec, enum tether_isolation iso, int out_fd, int err_fd,
			  struct tether_guardian *ret)
{
	int sp[2];
	int r = sys_socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp);
	if (r < 0)
		return r;
	/* Our end is read from the supervisor's loop: it must never block, or
	 * one silent guardian hangs every instance. Set before the fork, so that
	 * a failure leaves no guardian to undo (harness/enumerate-check:
	 * tether/sys/fcntl and tether/sys/setsockopt failed once). With
	 * SO_PASSCRED every message comes with its sender's credentials, in
	 * which the kernel translates pids into our namespace (report). */
	r = sys_fcntl_int(sp[0], F_SETFL, O_NONBLOCK);
	if (r == 0)
		r = sys_setsockopt(sp[0], SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int));
	if (r < 0) {
		sys_close(sp[0]);
		sys_close(sp[1]);
		return r;
	}
	pid_t pid;
	bool pidns = false;
	if (iso == TETHER_ISOLATION_SUBREAPER) {
		pid = sys_clone(0, NULL);
	} else {
		pid = sys_clone(CLONE_NEWPID, NULL);
		pidns = pid >= 0;
		/* Not permitted here (no CAP_SYS_ADMIN, a seccomp filter, the
		 * namespace limit): the subreaper is the fallback. */
		if (pid < 0 && iso == TETHER_ISOLATION_AUTO &&
		    (pid == -EPERM || pid == -EINVAL || pid == -ENOSYS || pid == -EUSERS || pid == -ENOSPC))
			pid = sys_clone(0, NULL);
	}
	if (pid < 0) {
		sys_close(sp[0]);
		sys_close(sp[1]);
		return pid;
	}
	if (pid == 0) {
		struct gstate g = {.spec = spec, .chan = sp[1], .sfd = -1, .errpipe = -1, .pidns = pidns};
		sys_close(sp[0]);
		guardian_main(&g, out_fd, err_fd);
	}
	sys_close(sp[1]);
	*ret = (struct tether_guardian){.pid = pid, .chan = sp[0], .pidns = pidns};
	return 0;
}

int tether_guardian_send(struct tether_guardian *g, enum tether_guardian_cmd cmd)
{
	uint32_t c = (uint32_t)cmd;
	if (g->chan < 0)
		return -EPIPE;
	struct iovec iov = {.iov_base = &c, .iov_len = sizeof c};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = sys_sendmsg(g->chan, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	return n < 0 ? (int)n : 0;
}

int tether_guardian_send_signal(struct tether_guardian *g, int sig)
{
	if (sig <= 0 || sig > 0xff)
		return -EINVAL;
	return tether_guardian_send(g, (enum tether_guardian_cmd)(TETHER_GUARDIAN_SIGNAL | (uint32_t)sig << 8));
}

/* The worker's pid in our namespace: the guardian sent it as the message's
 * credentials, which the kernel translated (a pid other than the guardian's
 * own, which is what a message without them carries); else found through
 * /proc. 0 when the worker is gone already (its exit report follows). */
static pid_t outer_pid(const struct tether_guardian *g, const struct ucred *cred, pid_t inner)
{
	if (cred->pid > 0 && cred->pid != g->pid)
		return cred->pid;
	pid_t pid = 0;
	return tether_proc_find_nspid_child(g->pid, inner, &pid) == 0 ? pid : 0;
}

int tether_guardian_recv(struct tether_guardian *g, struct tether_guardian_event *ret)
{
	if (g->chan < 0)
		return -EPIPE;
	struct ucred cred;
	ssize_t n = sys_recv_creds(g->chan, ret, sizeof *ret, MSG_DONTWAIT, &cred, NULL, NULL, NULL);
	if (n == -EAGAIN)
		return 0;
	if (n == 0 || n == -ECONNRESET)
		return -EPIPE;
	if (n < 0)
		return n == -EBADMSG ? -EPROTO : (int)n;
	if (n != (ssize_t)sizeof *ret)
		return -EPROTO;
	if (g->pidns && ret->type == TETHER_GUARDIAN_EXEC_OK)
		ret->value = outer_pid(g, &cred, ret->value);
	return 1;
}

void tether_guardian_let_go(struct tether_guardian *g)
{
	if (g->chan >= 0)
		sys_close(g->chan);
	g->chan = -1;
}
