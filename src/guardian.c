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

/* Consecutive wakeups in which nothing could be read or done (a readable
 * descriptor whose read keeps failing, poll failing or interrupted) before
 * the guardian ends its tree rather than spin. */
#define IDLE_WAKEUPS_MAX 100
/* Consecutive failed reaps, retried after 1, 2, 4 ... 64 ms, before the
 * guardian ends its tree: a child it cannot reap is never reported. */
#define REAP_RETRIES 10
/* die_with_tree: kill-and-reap rounds, each waiting for a death up to 1 ms,
 * doubling to 100 ms (about 5 s in all), and how many failed waitids in a row
 * end them early. */
#define DIE_ROUNDS 60
#define DIE_GAP_MAX_MS 100
#define DIE_WAIT_FAILURES 8
/* Children reaped per waitid sweep (a bound, not a limit that matters). */
#define REAP_BATCH 4096

struct gstate {
	struct tether_spawn_spec *spec;
	int chan, sfd, errpipe;
	bool pidns;
	pid_t worker;      /* 0 when none runs */
	bool awaiting_empty; /* a worker ran since the last TREE_EMPTY */
	int setup_err;     /* a call the guarantees rest on failed: no worker runs here */
	unsigned reap_failures;
	int proc_fd;       /* /proc, inherited from tether (fd 4), or -1 */
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
	 * failure (ENOBUFS) loses the event, which tether's instance table
	 * would await for ever (an exec, a tree's end): end the tree and the
	 * guardian instead, which tether handles as the instance's end
	 * (harness/enumerate-check: tether/sys/sendmsg failed once in a stop).
	 * EPIPE too: a tether that let us go is answered so anyway, and one
	 * that did not has lost the event all the same (scenarios/
	 * double_start.scn with sendmsg failing EPIPE once: a stop that waited
	 * for it until abandoned). */
	ssize_t n = sys_sendmsg(g->chan, &mh, MSG_NOSIGNAL);
	if (mh.msg_control && (n == -EPERM || n == -ESRCH || n == -EINVAL)) {
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		n = sys_sendmsg(g->chan, &mh, MSG_NOSIGNAL);
	}
	if (n < 0)
		die_with_tree(g);
}

struct child_scan {
	int sig, failed;
};

/* Signals pid if it is our child: waitid answers ECHILD for anyone else's,
 * and a child of ours keeps its pid until we reap it, so the kill by number
 * that follows reaches it and nobody else. */
static int signal_if_child(pid_t pid, void *userdata)
{
	struct child_scan *c = userdata;
	siginfo_t si = {0};
	if (pid == getpid())
		return 0;
	int r = sys_waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
	if (r == -ECHILD)
		return 0; /* not ours */
	if (r < 0) {
		/* waitid cannot tell: asking the next pid would not either */
		c->failed = r;
		return 1;
	}
	r = sys_kill(pid, c->sig);
	if (r < 0 && r != -ESRCH)
		c->failed = r;
	return 0;
}

/* Signals our own children, found without reading any /proc file: the
 * pids /proc lists (through the descriptor tether gave us when we cannot
 * open it any more), each asked whether it is ours. Every descendant of
 * the tree becomes our child when its parent dies (we are its subreaper),
 * so rounds of this alone end the whole tree. 0, or -errno. */
static int signal_children(struct gstate *g, int sig)
{
	struct child_scan c = {.sig = sig};
	int r = g->proc_fd >= 0 ? tether_proc_scan_dirfd(g->proc_fd, false, signal_if_child, &c)
				: tether_proc_scan(signal_if_child, &c);
	return r < 0 ? r : c.failed;
}

/* Signals every process of the tree: 0, or -errno when a signal (or, in
 * subreaper mode, the walk that finds the members) failed, so that some
 * process may not have been reached. */
static int signal_tree(struct gstate *g, int sig)
{
	if (g->pidns) {
		int r = sys_kill_pidns(sig);
		return r == -ESRCH ? 0 : r; /* ESRCH: nobody else in the namespace */
	}
	int failed = 0;
	/* The worker and its process group first, by number: it is our child
	 * and not yet reaped, so neither its pid nor a group of that id can
	 * name anyone else — and it needs no /proc, whose walk below can fail
	 * (the walk alone once left the whole tree unsignalled, and the
	 * guardian waiting for children nobody had killed:
	 * scenarios/sigkill_tether_subreaper.scn with getdents failing once). */
	if (g->worker > 0) {
		int r = sys_kill(g->worker, sig);
		if (r < 0 && r != -ESRCH)
			failed = r;
		sys_killpg(g->worker, sig); /* ESRCH when it left its group */
	}
	/* Then every descendant, found through /proc from ourselves. As a
	 * subreaper we also hold the orphans of the tree, so nothing that
	 * escaped the worker's process group is missed. */
	struct tether_tree tree = {0};
	int r = tether_tree_collect(getpid(), &tree);
	if (r < 0) {
		/* The walk reads /proc/PID/task/TID/children. When it cannot,
		 * our own children — the orphans we adopted, a setsid'd
		 * grandchild among them — are still found
		 * (scenarios/sigkill_tether_subreaper.scn with open or read
		 * failing from its k-th call). */
		failed = r;
		signal_children(g, sig);
	}
	for (size_t i = 0; i < tree.n; i++) {
		if (tether_pidref_exited(&tree.procs[i]) == 1)
			continue;
		r = tether_pidref_signal(&tree.procs[i], sig);
		if (r < 0 && r != -ESRCH)
			failed = r;
	}
	tether_tree_done(&tree);
	return failed;
}

/* Reaps what has exited: 1 when no child remains at all, 0 when some do,
 * -errno when waitid failed — -ECHILD too while the worker is unreaped: it
 * is our child, so "no child" cannot be true. */
static int reap(struct gstate *g)
{
	for (int i = 0; i < REAP_BATCH; i++) {
		siginfo_t si = {0};
		int r = sys_waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
		if (r == -ECHILD)
			return g->worker ? -ECHILD : 1;
		if (r < 0)
			return r;
		if (si.si_pid == 0)
			return 0;
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
	return 0;
}

static void tree_check(struct gstate *g)
{
	pid_t worker = g->worker;
	int r = reap(g);
	if (r < 0) {
		/* A child we cannot reap is never reported, and tether would
		 * wait for its exit until its stop is abandoned
		 * (scenarios/double_start.scn with waitid failing from its k-th
		 * call): retry on a doubling timer (guardian_main), then end the
		 * tree — tether sees the guardian go, as it sees a lost one. */
		if (++g->reap_failures >= REAP_RETRIES)
			die_with_tree(g);
		return;
	}
	g->reap_failures = 0;
	bool empty = r == 1;
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

/* Drains the signalfd: a SIGCHLD left queued would end the next wait at
 * once. One that cannot be read is closed: the waits become plain pauses. */
static void drain_signals(struct gstate *g)
{
	struct signalfd_siginfo si;
	for (int i = 0; g->sfd >= 0 && i < 64; i++) {
		ssize_t n = sys_read(g->sfd, &si, sizeof si);
		if (n == -EAGAIN)
			return;
		if (n != (ssize_t)sizeof si) {
			sys_close(g->sfd);
			g->sfd = -1;
		}
	}
}

/* die_with_tree's reaping: -1 when it is over (no child left, or waitid
 * failing DIE_WAIT_FAILURES times in a row: it cannot tell), else 0. */
static int reap_all(struct gstate *g, unsigned *wait_failures)
{
	for (int i = 0; i < REAP_BATCH; i++) {
		siginfo_t si = {0};
		int r = sys_waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
		if (r == -ECHILD)
			return -1;
		if (r < 0)
			return ++*wait_failures >= DIE_WAIT_FAILURES ? -1 : 0;
		*wait_failures = 0;
		if (si.si_pid == 0)
			return 0;
		if (si.si_pid == g->worker)
			g->worker = 0;
	}
	return 0;
}

static __attribute__((noreturn)) void die_with_tree(struct gstate *g)
{
	/* Kill, reap, repeat until no child remains: a process that forked
	 * before its SIGKILL landed leaves an orphan that comes back to us.
	 * Never a blocking wait: when a kill round reached nobody (its /proc
	 * walk failed) the children it waited for would never die. Each round
	 * waits for a death (SIGCHLD on the signalfd) at most a doubling gap;
	 * after the last round the guardian exits anyway — in a PID namespace
	 * the kernel then kills what is left, in subreaper mode it goes to
	 * tether (a subreaper, which sweeps what it adopts) if tether lives. */
	int gap_ms = 1;
	unsigned wait_failures = 0;
	for (int round = 0; round < DIE_ROUNDS; round++) {
		/* From the second round on, what died since is reaped first:
		 * the tree usually ends in the first, and the scan below is for
		 * the rounds after it. */
		int r = round ? reap_all(g, &wait_failures) : 0;
		if (r < 0)
			break;
		/* In a namespace our own exit is the kill that cannot fail. As
		 * a subreaper, from the second round on our own children too:
		 * a walk that read nothing (every /proc read failing ESRCH,
		 * "gone") does not say it failed, and they are still there. */
		if (signal_tree(g, SIGKILL) < 0 && g->pidns)
			break;
		if (round && !g->pidns)
			signal_children(g, SIGKILL);
		if (reap_all(g, &wait_failures) < 0)
			break;
		struct pollfd p = {.fd = g->sfd, .events = POLLIN};
		sys_poll(g->sfd >= 0 ? &p : NULL, g->sfd >= 0 ? 1 : 0, gap_ms);
		drain_signals(g);
		gap_ms = gap_ms * 2 > DIE_GAP_MAX_MS ? DIE_GAP_MAX_MS : gap_ms * 2;
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
	if (g->setup_err) {
		/* Without its net (subreaper, parent-death signal, own process
		 * group, a clean descriptor table) no worker may start:
		 * tether's restart policy applies (backoff, then give-up), and a
		 * new guardian is made for the next try
		 * (scenarios/sigkill_tether_subreaper.scn with prctl failing once). */
		report(g, TETHER_GUARDIAN_SPAWN_FAILED, g->setup_err);
		die_with_tree(g);
	}
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

/* A setup call failed: remember the first failure (spawn refuses). */
static void setup(struct gstate *g, int r)
{
	if (r < 0 && !g->setup_err)
		g->setup_err = -r;
}

static __attribute__((noreturn)) void guardian_main(struct gstate *g, int out_fd, int err_fd)
{
	/* Only the channel and stdio survive: the lock, the other instances'
	 * sockets, the journal are tether's business. */
	if (out_fd != 1)
		setup(g, sys_dup3(out_fd, 1, 0));
	if (err_fd != 2)
		setup(g, sys_dup3(err_fd, 2, 0));
	/* /proc goes to 4, through a copy above it that the moves below do
	 * not clobber; without it (not given, or not copied) the guardian does
	 * without (guardian.h). */
	int proc_copy = g->proc_fd >= 0 ? sys_fcntl_int(g->proc_fd, F_DUPFD_CLOEXEC, 5) : -1;
	g->proc_fd = -1;
	if (g->chan != 3) {
		int r = sys_dup3(g->chan, 3, O_CLOEXEC);
		setup(g, r);
		if (r >= 0)
			g->chan = 3;
	}
	if (proc_copy >= 0 && sys_dup3(proc_copy, 4, O_CLOEXEC) == 4)
		g->proc_fd = 4;
	/* Unless the channel could not move to 3: then closing from 5 would
	 * close it, and this guardian only reports its failure and exits. */
	if (g->chan == 3)
		setup(g, sys_close_range(g->proc_fd == 4 ? 5 : 4, ~0U, 0));
	setup(g, sys_setpgid(0, 0));
	sys_prctl(PR_SET_NAME, (unsigned long)"tether-guard", 0, 0, 0);
	/* Default dispositions once here, so each worker only inherits them
	 * (an ignored signal stays ignored across exec; tether ignores SIGPIPE);
	 * if one cannot be set, each worker sets them again itself. */
	bool defaults = true;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sys_sigaction_default(sig) < 0)
			defaults = false;
	g->spec->dispositions_reset = defaults;
	if (g->pidns) {
		sys_mark_pidns_init();
		setup(g, sys_prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0));
		/* If tether died before the line above, nothing will fire (and
		 * getppid() says 0 in a new namespace whatever happens): ask the
		 * lifeline instead — end of file means it is already gone. */
		char peek;
		struct iovec iov = {.iov_base = &peek, .iov_len = 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (sys_recvmsg(g->chan, &mh, MSG_PEEK | MSG_DONTWAIT) == 0)
			die_with_tree(g);
	} else {
		setup(g, sys_prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	/* Unblocked, SIGCHLD would be discarded and no exit ever seen. */
	setup(g, sys_sigprocmask(SIG_SETMASK, &mask, NULL));
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
		/* Waits for ever, but while a reap is to be retried. */
		int timeout = g->reap_failures ? 1 << (g->reap_failures < 7 ? g->reap_failures - 1 : 6) : -1;
		int pr = sys_poll(p, g->errpipe >= 0 ? 3 : 2, timeout);
		if (pr == 0 && g->reap_failures) {
			tree_check(g); /* the retry is due (or poll was interrupted: it counts) */
			continue;
		}
		/* A wakeup that reads nothing and does nothing — poll failing
		 * (ENOMEM), "no event" without a timeout (EINTR, which sys_poll
		 * reports as 0 events), or a descriptor poll calls readable whose
		 * read keeps failing (the signalfd, the lifeline) — comes back at
		 * once, for ever: after so many in a row the guardian ends its
		 * tree rather than spin, and tether sees it go
		 * (harness/enumerate-check: tether/sys/poll failing from call k
		 * on; scenarios/sigkill_worker.scn: read failing EINTR on the
		 * signalfd). */
		bool progressed = false;
		if (pr > 0 && g->errpipe >= 0 && p[2].revents) {
			int err = 0;
			ssize_t n = sys_read(g->errpipe, &err, sizeof err);
			if (n == (ssize_t)sizeof err)
				report(g, TETHER_GUARDIAN_EXEC_FAILED, err);
			else
				report(g, TETHER_GUARDIAN_EXEC_OK, g->worker);
			sys_close(g->errpipe);
			g->errpipe = -1;
			progressed = true;
		}
		if (pr > 0 && p[1].revents) {
			struct signalfd_siginfo si;
			while (sys_read(g->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				progressed = true;
				/* Someone signalled the guardian itself: better a clean
				 * end of the tree than a subreaper gone missing. */
				if (si.ssi_signo != SIGCHLD)
					die_with_tree(g);
			}
			tree_check(g);
		}
		if (pr > 0 && p[0].revents) {
			uint32_t cmd = 0;
			ssize_t n = sys_read(g->chan, &cmd, sizeof cmd);
			/* End of file: the lifeline broke, tether is gone. So it is
			 * when the peer hung up and nothing can be read (a read
			 * failing EAGAIN there would otherwise hide the end of
			 * file for ever, and in subreaper mode the tree would
			 * outlive a SIGKILLed tether: scenarios/
			 * sigkill_tether_subreaper.scn, read failing EAGAIN). */
			if (n == 0 || n == -ECONNRESET || (n < 0 && (p[0].revents & (POLLHUP | POLLERR))))
				die_with_tree(g);
			if (n > 0)
				progressed = true;
			if (n == (ssize_t)sizeof cmd) {
				switch (cmd & 0xff) {
				case TETHER_GUARDIAN_SPAWN: spawn(g); break;
				case TETHER_GUARDIAN_TERM:
					signal_tree(g, SIGTERM);
					signal_tree(g, SIGCONT);
					break;
				case TETHER_GUARDIAN_KILL:
					/* the last resort: if it cannot reach everyone,
					 * end the tree the way that can (a namespace
					 * dies with its init; rounds with backoff) */
					if (signal_tree(g, SIGKILL) < 0 || (!g->pidns && signal_children(g, SIGKILL) < 0))
						die_with_tree(g);
					break;
				case TETHER_GUARDIAN_QUIT: die_with_tree(g);
				case TETHER_GUARDIAN_SIGNAL: signal_worker(g, (int)((cmd >> 8) & 0xff)); break;
				default: break;
				}
				tree_check(g);
			}
		}
		if (progressed)
			idle_wakeups = 0;
		else if (++idle_wakeups >= IDLE_WAKEUPS_MAX)
			die_with_tree(g);
	}
}

/* ---- tether's side ----------------------------------------------------------- */

int tether_guardian_start(struct tether_spawn_spec *spec, enum tether_isolation iso, int out_fd, int err_fd,
			  int proc_fd, struct tether_guardian *ret)
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
		struct gstate g = {
			.spec = spec, .chan = sp[1], .sfd = -1, .errpipe = -1, .pidns = pidns, .proc_fd = proc_fd};
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
