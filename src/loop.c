/* SPDX-License-Identifier: MIT */
/* loop.c — the supervisor's event loop (supervisor.h): one poll() over a table
 * of {fd, handler} — the signalfd, each instance's guardian channel and notify
 * socket, the progress files' inotify, the pidfile's timer, the control socket
 * and its connections, the output pipes — then reaping, the
 * instances' timers, the heartbeat. Handlers feed events to the instances'
 * state tables (instance.c); a round never waits for anything but poll. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notify.h"
#include "proc.h"
#include "proctree.h"
#include "resources.h"
#include "supervisor_internal.h"
#include "supervisor_lab.h"
#include "sys.h"

/* How long a stop may take beyond its --stop-timeout before it is abandoned. */
#define STOP_GRACE_NS (5 * TETHER_NSEC_PER_SEC)
/* Consecutive failures of a call the loop needs before it gives up on it. */
#define PERSISTENT_FAILURES 100

/* ---- events ------------------------------------------------------------------------- */

static void dispatch(struct tether_supervisor *sv, struct slot *s, enum tether_ievent ev, int64_t value)
{
	tether_instance_dispatch(&s->in, ev, value, tether_clock_now(sv->clock), &sv->ops);
}

static void begin_stop(struct tether_supervisor *sv)
{
	if (sv->stopping)
		return;
	sv->stopping = true;
	/* Every tree gets TERM, then KILL after the stop timeout; a tree that
	 * has still not ended STOP_GRACE later (a kill that cannot be delivered,
	 * a guardian we cannot reap) is abandoned rather than waited for. */
	sv->stop_deadline = tether_clock_now(sv->clock) + sv->cfg.stop_timeout + STOP_GRACE_NS;
	tether_events_stop(sv);
	for (unsigned i = 0; i < sv->nslots; i++)
		dispatch(sv, &sv->slots[i], TETHER_E_STOP, 0);
}

/* The loop cannot go on (poll, waitid or the signalfd fail for good, or a
 * stop cannot complete): let every guardian go — closing its lifeline makes
 * it kill its tree, and in a PID namespace the kernel does as soon as we
 * exit — and end with an internal error. Zero orphans still holds, through
 * the guardians rather than through us. */
static void abandon(struct tether_supervisor *sv, int err, const char *what)
{
	char msg[300];
	if (sv->abandoned)
		return;
	sv->abandoned = true;
	if (err)
		snprintf(msg, sizeof msg, "%s: %s; every instance's tree was ended", what, strerror(err));
	else
		snprintf(msg, sizeof msg, "%s; every instance's tree was ended", what);
	sv->end_requested = true;
	sv->end_outcome = TETHER_OUTCOME_INTERNAL;
	sv->end_err = err;
	/* Said once, as the result's message (the program reports it): not
	 * also as a message here, or the user reads it twice. */
	snprintf(sv->end_message, sizeof sv->end_message, "%s", msg);
	begin_stop(sv);
	for (unsigned i = 0; i < sv->nslots; i++) {
		struct slot *s = &sv->slots[i];
		tether_guardian_let_go(&s->g);
		s->lose_pending = false;
		dispatch(sv, s, TETHER_E_GUARDIAN_LOST, 0);
		/* not reaped: it is ending, and we are leaving */
		s->guardian_alive = false;
	}
}

/* A failed waitid is retried after 1, 2, 4 ... 64 ms, this many times in a
 * row before the loop gives up: a guardian it cannot reap never counts as
 * ended, and a stop waited for it until the stop was abandoned, 10 s later
 * (scenarios/double_start.scn with waitid failing from its k-th call). */
#define REAP_RETRIES 10
#define REAP_GAP_FIRST_NS TETHER_NSEC_PER_MSEC
/* A sweep of adopted orphans that cannot list them is made again after 10,
 * 20, 40 ... 640 ms, this many times in a row (about 2.5 s) before the loop
 * gives up (sweep_adopted). */
#define SWEEP_RETRIES 10
#define SWEEP_GAP_FIRST_NS (10 * TETHER_NSEC_PER_MSEC)
#define SWEEP_FAILED "cannot list the processes adopted from a lost guardian"

void tether_supervisor_stop(struct tether_supervisor *sv)
{
	char msg[64];
	snprintf(msg, sizeof msg, "stop requested");
	tether_supervisor_request_end(sv, TETHER_OUTCOME_STOPPED, 0, msg);
}

static void on_signal(struct tether_supervisor *sv, int sig)
{
	if (sig == SIGCHLD)
		return; /* reaping happens after every wakeup */
	if (sig == SIGUSR1) {
		/* an outside rotation tool moved the logs away: write to new files */
		tether_events_reopen_logs(sv);
		return;
	}
	if (sig == SIGUSR2) {
		/* a heartbeat line now; the periodic ones keep their schedule */
		if (sv->cfg.heartbeat_log)
			tether_events_heartbeat(sv);
		return;
	}
	sv->stop_signals++;
	if (sv->stop_signals == 1) {
		char msg[64];
		snprintf(msg, sizeof msg, "stopping on %s", tether_sig_abbrev(sig) ? tether_sig_abbrev(sig) : "signal");
		tether_supervisor_request_end(sv, TETHER_OUTCOME_STOPPED, 0, msg);
		sv->stop_signal = sig;
	} else if (sv->stop_signals >= 3) {
		/* The second signal does not restart the stop; the third means
		 * "now": SIGKILL to every tree. */
		tether_events_message(sv, TETHER_MSG_WARNING, "third stop signal: killing every instance now");
		for (unsigned i = 0; i < sv->nslots; i++)
			dispatch(sv, &sv->slots[i], TETHER_E_KILL_NOW, 0);
	}
}

static struct slot *slot_of_guardian(struct tether_supervisor *sv, pid_t pid)
{
	for (unsigned i = 0; i < sv->nslots; i++)
		if (sv->slots[i].guardian_alive && sv->slots[i].g.pid == pid)
			return &sv->slots[i];
	return NULL;
}

/* SIGKILLs whatever was adopted and is not one of our guardians: as a
 * subreaper we only ever adopt orphans of our own trees, whose guardian is
 * gone. Nothing waits here. An adopted orphan is our child, so its death
 * comes back as SIGCHLD, and reap() sweeps again after reaping it: by then
 * its own children are re-parented to us (we are their nearest subreaper)
 * and die in that sweep, and so on down its tree, one wakeup per level —
 * nothing of it can escape to init on the way. As PID 1 of a container,
 * adopted processes are not ours to kill: only reaped. */
static void sweep_adopted(struct tether_supervisor *sv)
{
	if (sv->cfg.pid1)
		return;
	pid_t *kids = NULL;
	size_t n = 0;
	int r = tether_proc_children(getpid(), &kids, &n);
	if (r < 0) {
		/* Adopted orphans we cannot list (/proc unreadable) are not
		 * forgotten: listed again on a timer, and when that keeps
		 * failing every tree is ended and we exit 71 saying so, rather
		 * than exit 0 over processes nobody ends (guardian_sigkill_
		 * subreaper.scn with open or read failing from the kill on). */
		sv->sweep_err = -r;
		if (++sv->sweep_failures >= SWEEP_RETRIES) {
			abandon(sv, -r, SWEEP_FAILED);
			return;
		}
		unsigned shift = sv->sweep_failures - 1 < 6 ? sv->sweep_failures - 1 : 6;
		sv->sweep_retry_at = tether_clock_now(sv->clock) + (SWEEP_GAP_FIRST_NS << shift);
		return;
	}
	sv->sweep_failures = 0;
	for (size_t i = 0; i < n; i++) {
		if (slot_of_guardian(sv, kids[i]))
			continue;
		struct tether_pidref ref;
		if (tether_pidref_open_current(kids[i], &ref) == 0) {
			tether_pidref_signal(&ref, SIGKILL);
			tether_pidref_done(&ref);
		}
	}
	free(kids);
}

/* Leaving as a subreaper: what a lost guardian left to us is killed level
 * by level without the loop (whose reaping may be what failed: then no
 * SIGCHLD-driven sweep goes down the levels). Each round kills every child
 * that is not a live guardian and waits, through the pidfds, until they are
 * dead (their children are ours then); it ends when a round finds none, or
 * at the bound (guardian_sigkill_subreaper.scn with waitid failing from its
 * 9th call on: two sleeps of the worker's shell outlived us). */
#define FINAL_SWEEP_ROUNDS 16
#define FINAL_SWEEP_WAIT_MS 200

static void final_sweep(struct tether_supervisor *sv)
{
	if (sv->cfg.pid1)
		return;
	for (int round = 0; round < FINAL_SWEEP_ROUNDS; round++) {
		pid_t *kids = NULL;
		size_t n = 0;
		if (tether_proc_children(getpid(), &kids, &n) < 0)
			return;
		struct pollfd *pfds = calloc(n ? n : 1, sizeof *pfds);
		size_t np = 0;
		for (size_t i = 0; i < n && pfds; i++) {
			struct tether_pidref ref;
			if (slot_of_guardian(sv, kids[i]) || tether_pidref_open_current(kids[i], &ref) < 0)
				continue;
			if (tether_pidref_signal(&ref, SIGKILL) == 0 && ref.pidfd >= 0) {
				pfds[np].fd = ref.pidfd;
				pfds[np++].events = POLLIN;
				ref.pidfd = -1; /* kept for the wait */
			}
			tether_pidref_done(&ref);
		}
		free(kids);
		/* dead means readable; each poll waits for the first of the rest */
		for (size_t left = np; left > 0;) {
			int r = sys_poll(pfds, np, FINAL_SWEEP_WAIT_MS);
			if (r <= 0)
				break;
			left = 0;
			for (size_t i = 0; i < np; i++) {
				if (pfds[i].fd >= 0 && pfds[i].revents) {
					sys_close(pfds[i].fd);
					pfds[i].fd = -1; /* poll skips it */
				}
				left += pfds[i].fd >= 0;
			}
		}
		for (size_t i = 0; i < np; i++)
			if (pfds[i].fd >= 0)
				sys_close(pfds[i].fd);
		free(pfds);
		if (np == 0)
			return;
	}
}

static void reap(struct tether_supervisor *sv)
{
	bool lost_one = false, reaped_guardian = false, reaped_orphan = false;
	for (;;) {
		siginfo_t si = {0};
		int r = sys_waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
		if (r == -ECHILD)
			r = 0;
		if (r < 0) {
			/* -EINTR here means sys.c already retried it SYS_EINTR_MAX times */
			if (++sv->waitid_failures >= REAP_RETRIES) {
				abandon(sv, -r, "cannot reap child processes");
				return;
			}
			unsigned shift = sv->waitid_failures - 1 < 6 ? sv->waitid_failures - 1 : 6;
			sv->reap_retry_at = tether_clock_now(sv->clock) + (REAP_GAP_FIRST_NS << shift);
			break;
		}
		sv->waitid_failures = 0;
		if (si.si_pid == 0)
			break;
		struct slot *s = slot_of_guardian(sv, si.si_pid);
		if (!s) {
			/* an adopted orphan: its children are ours now */
			reaped_orphan = true;
			continue;
		}
		s->guardian_alive = false;
		/* A namespace's processes never come to us: they die with its
		 * init, the guardian, before it can be reaped. */
		if (!s->g.pidns)
			reaped_guardian = true;
		if (s->g.chan >= 0) {
			/* It died before we read its end of file: read the rest
			 * of what it said, then the loss. */
			lost_one = true;
		}
	}
	if (lost_one)
		sv->check_channels = true;
	/* A dying guardian's files close (its channel's end of file, which
	 * read_guardian answers with a sweep) before the kernel re-parents its
	 * children to us: that sweep can come too early and miss them. Once it
	 * is reaped they are ours for sure, a setsid() grandchild of a SIGKILLed
	 * subreaper guardian included (harness soak's guardian kills,
	 * harness/soak-check). */
	if (reaped_guardian || reaped_orphan)
		sweep_adopted(sv);
}

/* A descriptor poll reported readable gave nothing in this wakeup — errors,
 * or nothing at all (a datagram that cannot be read stays queued and wakes
 * us again at once). True, once, when that has gone on for too long to be
 * anything but permanent: the caller then closes it rather than spin. */
bool tether_loop_stuck(unsigned *count, bool progressed)
{
	if (progressed) {
		*count = 0;
		return false;
	}
	return ++*count == PERSISTENT_FAILURES;
}

static void read_signals(struct tether_supervisor *sv, struct slot *unused)
{
	(void)unused;
	struct signalfd_siginfo si;
	bool got = false;
	ssize_t n;
	while ((n = sys_read(sv->sfd, &si, sizeof si)) == (ssize_t)sizeof si) {
		got = true;
		on_signal(sv, (int)si.ssi_signo);
	}
	/* the message names what the read said (EINTR, EIO, ...): a short read
	 * is EIO */
	if (tether_loop_stuck(&sv->signalfd_failures, got))
		abandon(sv, n < 0 && n != -EAGAIN ? (int)-n : EIO, "cannot read signals");
}

/* The guardian is gone or cannot be heard: let it go (closing the lifeline
 * makes it end its tree, or the kernel does with its namespace) and count the
 * instance's run as lost — its restart policy applies. */
static void lose_guardian(struct tether_supervisor *sv, struct slot *s, const char *why)
{
	tether_guardian_let_go(&s->g);
	s->guardian_failures = 0;
	/* its tree dies with it: its output ends here */
	tether_supervisor_output_ended(sv, s);
	if (s->in.state != TETHER_I_DONE) {
		tether_events_message(sv, TETHER_MSG_WARNING, why);
		dispatch(sv, s, TETHER_E_GUARDIAN_LOST, 0);
	}
	if (!s->g.pidns)
		sweep_adopted(sv);
}

static void read_guardian(struct tether_supervisor *sv, struct slot *s)
{
	bool progressed = false;
	int r = 0;
	for (int budget = 0; budget < 64 && s->g.chan >= 0; budget++) {
		struct tether_guardian_event ev;
		r = tether_guardian_recv(&s->g, &ev);
		if (r == -EPIPE || r == -EPROTO) {
			lose_guardian(sv, s, "an instance's guardian died");
			return;
		}
		/* Nothing (EAGAIN), or an error that may pass (ENOMEM): the
		 * message stays queued and wakes us again. */
		if (r <= 0)
			break;
		progressed = true;
		switch (ev.type) {
		case TETHER_GUARDIAN_EXEC_OK: dispatch(sv, s, TETHER_E_EXEC_OK, ev.value); break;
		case TETHER_GUARDIAN_EXEC_FAILED:
			/* the stage (--user, --chdir, the exec) is the message's */
			s->exec_stage = tether_spawn_error_stage(ev.value);
			dispatch(sv, s, TETHER_E_EXEC_FAILED, tether_spawn_error_errno(ev.value));
			break;
		case TETHER_GUARDIAN_SPAWN_FAILED: dispatch(sv, s, TETHER_E_SPAWN_FAILED, ev.value); break;
		case TETHER_GUARDIAN_EXITED:
			/* What the worker wrote before it died is in its pipes:
			 * into the file before anything else is said of it. */
			tether_supervisor_output_exited(sv, s);
			dispatch(sv, s, TETHER_E_EXITED, ev.value);
			break;
		case TETHER_GUARDIAN_TREE_EMPTY:
			/* Nothing can write to its pipes any more: a last line
			 * without newline is complete now, before a restart's
			 * worker writes the first bytes of its own. */
			tether_supervisor_output_ended(sv, s);
			dispatch(sv, s, TETHER_E_TREE_EMPTY, 0);
			break;
		case TETHER_GUARDIAN_SIGNALED: tether_control_signal_result(sv, s, ev.value); break;
		default: break;
		}
	}
	/* A channel poll reports readable (a message, or the guardian's end of
	 * file) whose every receive fails would wake us at once for ever, and
	 * nothing the guardian says — its exec, its tree's end — would ever be
	 * read: a stop would wait for TREE_EMPTY until it is abandoned
	 * (scenarios/double_start.scn with recvmsg failing EAGAIN from its k-th
	 * call). Such a guardian is as good as lost. */
	if (s->g.chan >= 0 && tether_loop_stuck(&s->guardian_failures, progressed)) {
		char msg[160];
		snprintf(msg, sizeof msg, "instance %u: cannot read its guardian's channel (%s); let it go", s->in.id,
			 strerror(r < 0 ? -r : EAGAIN));
		lose_guardian(sv, s, msg);
	}
}

static void sign_of_progress(struct tether_supervisor *sv, struct slot *s)
{
	if (sv->hooks.lab)
		sv->hooks.lab->sign(sv->hooks.lab->data);
	dispatch(sv, s, TETHER_E_PROGRESS, 0);
}

/* MAINPID= names a pid of the sender's namespace: inside a guardian's PID
 * namespace not ours (Tor sends its own, 2 there). The common case — the
 * sender names itself — translates to the sender's pid as we see it; another
 * process of the namespace stays unknown (0). */
static pid_t mainpid_in_our_namespace(const struct slot *s, pid_t sender, pid_t mainpid)
{
	pid_t inner;
	if (!s->g.pidns)
		return mainpid;
	return tether_proc_inner_pid(sender, &inner) == 0 && inner == mainpid ? sender : 0;
}

static void read_notify(struct tether_supervisor *sv, struct slot *s)
{
	bool progressed = false;
	int r = 0;
	/* A bounded batch per wakeup: a flooding worker cannot starve the rest. */
	for (int budget = 0; budget < 256; budget++) {
		struct tether_notify_msg m;
		pid_t sender = 0;
		unsigned closed = 0;
		/* who may send: the tree of the guardian (notify.h) */
		s->tree.guardian = s->guardian_alive ? s->g.pid : 0;
		s->tree.pidns = s->g.pidns;
		r = tether_notify_recv(&s->notify, &s->tree, &m, &sender, &closed);
		sv->fds_closed += closed;
		if (r <= 0)
			break;
		progressed = true;
		if (r == TETHER_NOTIFY_REFUSED) {
			if (s->notify_refused++ == 0) {
				char msg[200];
				snprintf(msg, sizeof msg,
					 "instance %u: refused a notify message from pid %d, which is not a process of "
					 "its tree (refusals are counted in status: notify_refused)",
					 s->in.id, (int)sender);
				tether_events_message(sv, TETHER_MSG_WARNING, msg);
			}
			continue;
		}
		if (r == TETHER_NOTIFY_IGNORED) {
			s->notify_rejected++;
			continue;
		}
		s->notify_unknown += m.unknown + m.malformed;
		if (m.has_status)
			snprintf(s->status, sizeof s->status, "%s", m.status);
		if (m.has_errno)
			s->notify_errno = m.errno_value;
		if (m.has_mainpid)
			s->mainpid = mainpid_in_our_namespace(s, sender, m.mainpid);
		if (m.ready)
			dispatch(sv, s, TETHER_E_READY, 0);
		if (m.watchdog) {
			sign_of_progress(sv, s);
		}
		if (m.stopping)
			s->worker_stopping = true;
	}
	if (tether_loop_stuck(&s->notify_failures, progressed)) {
		char msg[160];
		snprintf(msg, sizeof msg, "instance %u: cannot read its notify socket (%s); closed it", s->in.id,
			 r < 0 ? strerror(-r) : "nothing to read");
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
		tether_notify_done(&s->notify);
	}
}

static void read_inotify(struct tether_supervisor *sv, struct slot *unused)
{
	(void)unused;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool progressed = false;
	for (;;) {
		ssize_t n = sys_read(sv->ino_fd, buf, sizeof buf);
		if (n <= 0)
			break;
		progressed = true;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			p += sizeof *e + e->len;
			if (!e->len)
				continue;
			for (unsigned i = 0; i < sv->nslots; i++) {
				struct slot *s = &sv->slots[i];
				if (s->progress_wd == e->wd && strcmp(s->progress_name, e->name) == 0) {
					sign_of_progress(sv, s);
				}
			}
		}
	}
	if (tether_loop_stuck(&sv->inotify_failures, progressed)) {
		tether_events_message(sv, TETHER_MSG_WARNING,
				      "cannot read progress-file events; the watchdog now counts only WATCHDOG=1");
		sys_close(sv->ino_fd);
		sv->ino_fd = -1;
	}
}

/* ---- the loop ----------------------------------------------------------------------- */

int64_t tether_supervisor_next_deadline(const struct tether_supervisor *sv)
{
	int64_t d = sv->heartbeat_at;
	if (sv->stopping && sv->stop_deadline < d)
		d = sv->stop_deadline;
	if (tether_events_upward_deadline(sv) < d)
		d = tether_events_upward_deadline(sv);
	if (tether_keeper_deadline(sv) < d)
		d = tether_keeper_deadline(sv);
	if (tether_control_next_deadline(sv) < d)
		d = tether_control_next_deadline(sv);
	if (sv->waitid_failures && !sv->abandoned && sv->reap_retry_at < d)
		d = sv->reap_retry_at;
	if (sv->sweep_failures && !sv->abandoned && sv->sweep_retry_at < d)
		d = sv->sweep_retry_at;
	for (unsigned i = 0; i < sv->nslots; i++) {
		int64_t t = tether_instance_next_deadline(&sv->slots[i].in);
		if (t < d)
			d = t;
	}
	int64_t t = tether_supervisor_output_deadline(sv);
	return t < d ? t : d;
}

/* The loop's descriptors, each with what reads it: the loop polls them and
 * dispatches the ready ones in this order — signals first (a stop outranks
 * everything), then each instance's guardian and notify socket, then the
 * progress files, the pidfile's timer, then the control socket and its
 * connections, then the instances' output pipes (--output). Closed
 * descriptors have no entry. */
static void watch(struct tether_supervisor *sv, int fd, watch_fn ready, struct slot *s)
{
	if (fd < 0)
		return;
	sv->pfds[sv->nwatches] = (struct pollfd){.fd = fd, .events = POLLIN};
	sv->watches[sv->nwatches++] = (struct watch){.ready = ready, .slot = s};
}

static int build_pollset(struct tether_supervisor *sv)
{
	size_t need = 4 + TETHER_CONTROL_CONNS + TETHER_CONTROL_DEFERRED + 4 * (size_t)sv->nslots;
	if (sv->watches_cap < need) {
		struct pollfd *p = realloc(sv->pfds, need * sizeof *p);
		if (p)
			sv->pfds = p;
		struct watch *w = realloc(sv->watches, need * sizeof *w);
		if (w)
			sv->watches = w;
		if (!p || !w)
			return -ENOMEM;
		sv->watches_cap = need;
	}
	sv->nwatches = 0;
	watch(sv, sv->sfd, read_signals, NULL);
	for (unsigned i = 0; i < sv->nslots; i++) {
		watch(sv, sv->slots[i].g.chan, read_guardian, &sv->slots[i]);
		watch(sv, sv->slots[i].notify.fd, read_notify, &sv->slots[i]);
	}
	watch(sv, sv->ino_fd, read_inotify, NULL);
	watch(sv, sv->keep_fd, tether_keeper_read, NULL);
	if (!sv->ctl_deaf)
		watch(sv, sv->ctl_fd, tether_control_serve, NULL);
	for (unsigned i = 0; i < TETHER_CONTROL_CONNS + TETHER_CONTROL_DEFERRED; i++)
		watch(sv, sv->ctl_conns[i].fd, tether_control_serve, NULL);
	/* Output last: whatever else is ready is handled before the round
	 * spends its time writing lines. */
	for (unsigned i = 0; i < sv->nslots; i++) {
		watch(sv, tether_supervisor_output_poll_fd(sv, &sv->slots[i], false), tether_supervisor_output_read_out,
		      &sv->slots[i]);
		watch(sv, tether_supervisor_output_poll_fd(sv, &sv->slots[i], true), tether_supervisor_output_read_err,
		      &sv->slots[i]);
	}
	return 0;
}

bool tether_supervisor_quiescent(const struct tether_supervisor *sv)
{
	for (unsigned i = 0; i < sv->nslots; i++) {
		enum tether_istate st = sv->slots[i].in.state;
		if (st == TETHER_I_STARTING || st == TETHER_I_CLEANUP || st == TETHER_I_RESTARTING)
			return false;
	}
	return true;
}

static bool all_done(const struct tether_supervisor *sv)
{
	for (unsigned i = 0; i < sv->nslots; i++) {
		const struct slot *s = &sv->slots[i];
		if (s->in.state != TETHER_I_DONE || s->guardian_alive)
			return false;
	}
	return true;
}

static void finish(struct tether_supervisor *sv, struct tether_result *res)
{
	if (sv->sweep_failures && !sv->abandoned) {
		/* every tree of ours ended, but what a lost guardian left to us
		 * could not be listed, let alone ended: not a clean end */
		tether_result_set(res, TETHER_OUTCOME_INTERNAL, sv->sweep_err, "%s: %s; every instance's tree was ended",
				  SWEEP_FAILED, strerror(sv->sweep_err));
	} else if (sv->end_requested) {
		tether_result_set(res, sv->end_outcome, sv->end_err, "%s", sv->end_message);
	} else {
		bool failed = false;
		for (unsigned i = 0; i < sv->nslots; i++) {
			const struct tether_instance *in = &sv->slots[i].in;
			if (in->last_status != 0)
				failed = true;
		}
		tether_result_set(res, TETHER_OUTCOME_DONE, 0, failed ? "every instance has ended, not all with status 0"
							      : "every instance has ended");
		res->failed = failed;
	}
	final_sweep(sv);
	/* Every tree is gone: what is left in the pipes is written (and what
	 * was lost told) while the journal is still open. */
	tether_supervisor_output_close(sv);
	tether_events_finish(sv, res);
	tether_control_finish(sv);
	for (unsigned i = 0; i < sv->nslots; i++) {
		tether_notify_done(&sv->slots[i].notify);
		tether_memlimit_remove(sv->slots[i].cgroup_procs);
	}
	tether_control_close_all(sv);
	if (sv->ctl_fd >= 0) {
		sys_close(sv->ctl_fd);
		sv->ctl_fd = -1;
	}
	tether_pidfile_remove(sv->pidfile);
	/* A start that failed — ended, by an error or a stop, before it was
	 * ever ready — leaves nothing behind, not even the directory it
	 * created (G3); a supervisor that ran keeps it, as it found it. */
	if (!sv->all_ready_reported)
		tether_pidfile_remove_dir(sv->pidfile);
	tether_pidfile_free(sv->pidfile);
	sv->pidfile = NULL;
	sv->finished = true;
	sv->result = *res;
}

static void after_events(struct tether_supervisor *sv)
{
	for (unsigned i = 0; i < sv->nslots; i++) {
		struct slot *s = &sv->slots[i];
		if (s->lose_pending) {
			s->lose_pending = false;
			tether_events_message(sv, TETHER_MSG_WARNING, "cannot reach an instance's guardian; let it go");
			dispatch(sv, s, TETHER_E_GUARDIAN_LOST, 0);
		}
	}
	if (sv->stopping && !sv->finished && tether_clock_now(sv->clock) >= sv->stop_deadline && !all_done(sv))
		abandon(sv, 0, "the stop did not complete in time");
	if (sv->end_requested && !sv->stopping)
		begin_stop(sv);
	if (sv->check_ready) {
		sv->check_ready = false;
		tether_events_ready(sv);
	}
	tether_keeper_step(sv);
	tether_control_progress(sv);
}

int tether_supervisor_step(struct tether_supervisor *sv, int max_wait_ms, struct tether_result *res)
{
	if (sv->finished) {
		*res = sv->result;
		return 0;
	}
	after_events(sv);
	int64_t deadline = tether_supervisor_next_deadline(sv);
	int timeout = tether_clock_poll_timeout(sv->clock, deadline);
	if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms))
		timeout = max_wait_ms;
	if (all_done(sv))
		timeout = 0;
	int r = build_pollset(sv);
	if (r == 0)
		r = sys_poll(sv->pfds, sv->nwatches, timeout);
	sv->wakeups++;
	/* An error, or "nothing" long before the deadline (poll interrupted:
	 * sys_poll reports EINTR as 0 events), over and over, means we can no
	 * longer wait for anything — signals included. */
	bool waited = r > 0 || (r == 0 && (timeout == 0 || tether_clock_now(sv->clock) >= deadline ||
					    (max_wait_ms >= 0 && timeout == max_wait_ms)));
	if (tether_loop_stuck(&sv->poll_failures, waited))
		abandon(sv, r < 0 ? -r : EINTR, "cannot wait for events");
	for (size_t i = 0; r > 0 && i < sv->nwatches; i++)
		if (sv->pfds[i].revents)
			sv->watches[i].ready(sv, sv->watches[i].slot);
	reap(sv);
	if (sv->check_channels) {
		sv->check_channels = false;
		for (unsigned i = 0; i < sv->nslots; i++)
			if (!sv->slots[i].guardian_alive && sv->slots[i].g.chan >= 0)
				read_guardian(sv, &sv->slots[i]);
	}
	int64_t now = tether_clock_now(sv->clock);
	if (sv->sweep_failures && !sv->abandoned && now >= sv->sweep_retry_at)
		sweep_adopted(sv);
	for (unsigned i = 0; i < sv->nslots; i++)
		tether_instance_fire_timers(&sv->slots[i].in, now, &sv->ops);
	if (sv->heartbeat_at <= now) {
		tether_events_heartbeat(sv);
		sv->heartbeat_at = now + sv->cfg.heartbeat_interval;
	}
	tether_events_upward_timers(sv, now);
	after_events(sv);
	if (sv->hooks.lab)
		sv->hooks.lab->round(sv->hooks.lab->data, sv);
	if (all_done(sv)) {
		finish(sv, res);
		return 0;
	}
	return 1;
}

void tether_supervisor_run(struct tether_supervisor *sv, struct tether_result *res)
{
	if (tether_supervisor_start(sv, res) != 0)
		return;
	while (tether_supervisor_step(sv, -1, res))
		;
}
