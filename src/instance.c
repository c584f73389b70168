/* SPDX-License-Identifier: MIT */
/* instance.c — see instance.h: the table and its actions. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

#include "clock.h"
#include "instance.h"

/* Per-instance crash log: 64 entries. Beyond 63 crashes in the window the
 * backoff initial * 2^(k-1) is saturated at its maximum for any initial of at
 * least 1 ns, so older entries can no longer change a verdict (policy.h). */
#define INSTANCE_CRASHLOG_CAP 64

int tether_instance_init(struct tether_instance *in, unsigned id)
{
	*in = (struct tether_instance){
		.id = id,
		.state = TETHER_I_IDLE,
		.restart_at = TETHER_NEVER,
		.watchdog_at = TETHER_NEVER,
		.kill_at = TETHER_NEVER,
		.last_status = -1,
	};
	return tether_crashlog_init(&in->crashes, INSTANCE_CRASHLOG_CAP);
}

void tether_instance_done(struct tether_instance *in)
{
	tether_crashlog_done(&in->crashes);
}

enum tether_end tether_end_of_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 0 ? TETHER_END_EXIT_ZERO : TETHER_END_EXIT_NONZERO;
	return TETHER_END_SIGNALED;
}

typedef enum tether_istate action_fn(struct tether_instance *in, int64_t value, int64_t now,
				     const struct tether_instance_ops *ops);

static enum tether_istate ignore(struct tether_instance *in, int64_t value, int64_t now,
				 const struct tether_instance_ops *ops)
{
	(void)value;
	(void)now;
	(void)ops;
	return in->state;
}

static void arm_kill(struct tether_instance *in, int64_t now, const struct tether_instance_ops *ops)
{
	ops->term(ops->ctx, in);
	if (in->kill_at == TETHER_NEVER)
		in->kill_at = now + ops->stop_timeout;
}

static enum tether_istate retire(struct tether_instance *in, const struct tether_instance_ops *ops)
{
	in->restart_at = in->watchdog_at = in->kill_at = TETHER_NEVER;
	in->pid = 0;
	in->ready = false;
	ops->retire(ops->ctx, in);
	ops->note(ops->ctx, in, TETHER_N_DONE, 0);
	return TETHER_I_DONE;
}

/* Takes the policy's verdict for how the run ended (at its death). */
static void take_verdict(struct tether_instance *in, enum tether_end end, int64_t now,
			 const struct tether_instance_ops *ops)
{
	in->end = end;
	in->died_at = now;
	if (in->stopping_for_good)
		return; /* a stop is not a crash, and nothing restarts */
	in->verdict = ops->decide(ops->ctx, in, end, now);
	in->verdict_taken = true;
	if (in->verdict.crash)
		ops->note(ops->ctx, in, TETHER_N_CRASH, (int64_t)in->verdict.crashes_in_window);
	if (in->verdict.action == TETHER_ACTION_GIVE_UP)
		ops->note(ops->ctx, in, TETHER_N_GIVE_UP, (int64_t)in->verdict.crashes_in_window);
}

static enum tether_istate start(struct tether_instance *in, int64_t value, int64_t now,
				const struct tether_instance_ops *ops);

/* Nothing of the run remains: apply the verdict taken at its death. A restart
 * already due starts at once, but never from the failed start itself
 * (may_start false): with --backoff-initial 0 a spawn() that keeps failing
 * would recurse start -> spawn_failed -> settle -> start up to the crash limit
 * inside one dispatch (a million deep overflows the stack at -O0; SPEC G8: no
 * busy loop, no crash). It waits in BACKOFF, due, for the next fire_timers. */
static enum tether_istate settle(struct tether_instance *in, int64_t now, bool may_start,
				 const struct tether_instance_ops *ops)
{
	in->kill_at = in->watchdog_at = TETHER_NEVER;
	in->pid = 0;
	in->ready = false;
	if (in->stopping_for_good || !in->verdict_taken)
		return retire(in, ops);
	in->verdict_taken = false;
	switch (in->verdict.action) {
	case TETHER_ACTION_RESTART:
		in->restarts++;
		ops->note(ops->ctx, in, TETHER_N_RESTART, in->verdict.delay);
		in->restart_at = in->verdict.restart_at;
		if (in->restart_at <= now && may_start) {
			in->state = TETHER_I_BACKOFF;
			return start(in, 0, now, ops);
		}
		return TETHER_I_BACKOFF;
	case TETHER_ACTION_DONE:
	case TETHER_ACTION_GIVE_UP:
		break;
	}
	return retire(in, ops);
}

static enum tether_istate spawn_failed(struct tether_instance *in, int64_t value, int64_t now,
				       const struct tether_instance_ops *ops)
{
	in->last_errno = (int)value;
	ops->note(ops->ctx, in, TETHER_N_SPAWN_FAILED, value);
	take_verdict(in, TETHER_END_START_FAILED, now, ops);
	return settle(in, now, false, ops); /* no process was made: nothing to wait for */
}

static enum tether_istate start(struct tether_instance *in, int64_t value, int64_t now,
				const struct tether_instance_ops *ops)
{
	(void)value;
	in->restart_at = TETHER_NEVER;
	in->watchdog_fired = false;
	in->verdict_taken = false;
	in->ready = false;
	int r = ops->spawn(ops->ctx, in);
	if (r < 0)
		return spawn_failed(in, -r, now, ops);
	return TETHER_I_STARTING;
}

static enum tether_istate exec_ok(struct tether_instance *in, int64_t value, int64_t now,
				  const struct tether_instance_ops *ops)
{
	bool early_ready = in->ready;
	in->pid = (pid_t)value;
	in->ever_execd = true;
	in->exec_at = in->last_progress = now;
	in->watchdog_at = ops->watchdog ? now + ops->watchdog : TETHER_NEVER;
	ops->note(ops->ctx, in, TETHER_N_STARTED, value);
	if (!ops->notify_ready || early_ready) {
		in->ready = true;
		ops->note(ops->ctx, in, TETHER_N_READY, 0);
		return TETHER_I_READY;
	}
	return TETHER_I_UP;
}

/* READY=1 can overtake the guardian's exec report: remember it. */
static enum tether_istate early_ready(struct tether_instance *in, int64_t value, int64_t now,
				      const struct tether_instance_ops *ops)
{
	(void)value;
	(void)now;
	(void)ops;
	in->ready = true;
	return in->state;
}

static enum tether_istate exec_ok_while_stopping(struct tether_instance *in, int64_t value, int64_t now,
						 const struct tether_instance_ops *ops)
{
	(void)now;
	(void)ops;
	in->pid = (pid_t)value;
	in->ever_execd = true;
	return in->state;
}

static enum tether_istate exec_failed(struct tether_instance *in, int64_t value, int64_t now,
				      const struct tether_instance_ops *ops)
{
	in->last_errno = (int)value;
	ops->note(ops->ctx, in, TETHER_N_EXEC_FAILED, value);
	/* A command that cannot run at its first start is not retried in a
	 * loop: the supervisor stops with 127 (SPEC §1). Later, the binary may
	 * have been removed during an upgrade: a crash like any other. */
	if (in->ever_execd)
		take_verdict(in, TETHER_END_START_FAILED, now, ops);
	else
		in->stopping_for_good = true;
	/* the child exits 127 next; wait for its tree */
	return TETHER_I_CLEANUP;
}

static enum tether_istate ready(struct tether_instance *in, int64_t value, int64_t now,
				const struct tether_instance_ops *ops)
{
	(void)value;
	(void)now;
	in->ready = true;
	ops->note(ops->ctx, in, TETHER_N_READY, 0);
	return TETHER_I_READY;
}

static enum tether_istate progress(struct tether_instance *in, int64_t value, int64_t now,
				   const struct tether_instance_ops *ops)
{
	(void)value;
	in->last_progress = now;
	if (ops->watchdog)
		in->watchdog_at = now + ops->watchdog;
	return in->state;
}

static enum tether_istate exited(struct tether_instance *in, int64_t value, int64_t now,
				 const struct tether_instance_ops *ops)
{
	int status = (int)value;
	in->last_status = status;
	in->pid = 0;
	in->watchdog_at = TETHER_NEVER;
	ops->note(ops->ctx, in, TETHER_N_EXITED, value);
	enum tether_end end = in->watchdog_fired ? TETHER_END_WATCHDOG : tether_end_of_status(status);
	take_verdict(in, end, now, ops);
	/* What the worker left behind (daemonised children) goes too, with the
	 * same grace as a stop: its guardian sent them SIGTERM as the worker
	 * died (no round trip through us); the KILL is on our clock. */
	if (in->kill_at == TETHER_NEVER)
		in->kill_at = now + ops->stop_timeout;
	return TETHER_I_CLEANUP;
}

static enum tether_istate tree_empty(struct tether_instance *in, int64_t value, int64_t now,
				     const struct tether_instance_ops *ops)
{
	(void)value;
	return settle(in, now, true, ops);
}

static enum tether_istate guardian_lost(struct tether_instance *in, int64_t value, int64_t now,
					const struct tether_instance_ops *ops)
{
	(void)value;
	/* The guardian kills its tree as it dies (or the kernel does, with its
	 * namespace): the worker is gone, and nobody will report more. Only in
	 * CLEANUP was its death already reported; elsewhere pid may be 0 and the
	 * worker still have run (EXEC_OK with pid 0: it died before it could be
	 * found in its namespace, its EXITED was to follow). */
	if (in->state != TETHER_I_CLEANUP) {
		in->last_status = SIGKILL;
		in->pid = 0;
		ops->note(ops->ctx, in, TETHER_N_EXITED, SIGKILL);
		if (!in->verdict_taken)
			take_verdict(in, in->watchdog_fired ? TETHER_END_WATCHDOG : TETHER_END_SIGNALED, now, ops);
	}
	return settle(in, now, true, ops);
}

static enum tether_istate watchdog(struct tether_instance *in, int64_t value, int64_t now,
				   const struct tether_instance_ops *ops)
{
	(void)value;
	in->watchdog_at = TETHER_NEVER;
	in->watchdog_fired = true;
	ops->note(ops->ctx, in, TETHER_N_WATCHDOG, now - in->last_progress);
	arm_kill(in, now, ops);
	return TETHER_I_STOPPING;
}

static enum tether_istate kill_timer(struct tether_instance *in, int64_t value, int64_t now,
				     const struct tether_instance_ops *ops)
{
	(void)value;
	(void)now;
	in->kill_at = TETHER_NEVER;
	ops->kill(ops->ctx, in);
	return in->state;
}

static enum tether_istate stop_idle(struct tether_instance *in, int64_t value, int64_t now,
				    const struct tether_instance_ops *ops)
{
	(void)value;
	(void)now;
	in->stopping_for_good = true;
	return retire(in, ops);
}

static enum tether_istate stop_running(struct tether_instance *in, int64_t value, int64_t now,
				       const struct tether_instance_ops *ops)
{
	(void)value;
	in->stopping_for_good = true;
	in->watchdog_at = TETHER_NEVER;
	arm_kill(in, now, ops);
	return TETHER_I_STOPPING;
}

static enum tether_istate stop_pending(struct tether_instance *in, int64_t value, int64_t now,
				       const struct tether_instance_ops *ops)
{
	(void)value;
	(void)now;
	(void)ops;
	in->stopping_for_good = true; /* the tree is already being stopped */
	return in->state;
}

static enum tether_istate kill_now(struct tether_instance *in, int64_t value, int64_t now,
				   const struct tether_instance_ops *ops)
{
	(void)value;
	(void)now;
	in->kill_at = TETHER_NEVER;
	ops->kill(ops->ctx, in);
	return in->state;
}

/* ---- a requested restart (not a crash) ------------------------------------------------- */

/* UP or READY: the worker gets TERM (KILL at the stop timeout) and is started
 * again as soon as its tree is gone. */
static enum tether_istate restart_running(struct tether_instance *in, int64_t value, int64_t now,
					  const struct tether_instance_ops *ops)
{
	(void)value;
	in->watchdog_at = TETHER_NEVER;
	in->restarts_requested++;
	ops->note(ops->ctx, in, TETHER_N_RESTART_REQUESTED, in->pid);
	arm_kill(in, now, ops);
	return TETHER_I_RESTARTING;
}

/* BACKOFF: start now. The crash that put it there stays in its history and
 * the window: only the wait is dropped. */
static enum tether_istate restart_backoff(struct tether_instance *in, int64_t value, int64_t now,
					  const struct tether_instance_ops *ops)
{
	in->restarts_requested++;
	ops->note(ops->ctx, in, TETHER_N_RESTART_REQUESTED, 0);
	return start(in, value, now, ops);
}

/* The worker died of the restart's TERM or KILL (or of anything else
 * meanwhile: the operator asked for its end). No verdict: the policy is not
 * asked, nothing is recorded as a crash. Its leftovers keep the KILL time
 * the TERM armed. */
static enum tether_istate restart_exited(struct tether_instance *in, int64_t value, int64_t now,
					 const struct tether_instance_ops *ops)
{
	int status = (int)value;
	in->last_status = status;
	in->pid = 0;
	in->end = tether_end_of_status(status);
	in->died_at = now;
	ops->note(ops->ctx, in, TETHER_N_EXITED, value);
	return in->state;
}

/* Nothing of the old run remains (or its guardian is gone, and the tree
 * with it): start again at once. A spawn that fails is a failed start like
 * any other (start -> spawn_failed: a verdict, backoff). */
static enum tether_istate restart_now(struct tether_instance *in, int64_t value, int64_t now,
				      const struct tether_instance_ops *ops)
{
	(void)value;
	if (in->pid > 0) {
		/* the guardian went before it reported the worker's end */
		in->last_status = SIGKILL;
		in->pid = 0;
		ops->note(ops->ctx, in, TETHER_N_EXITED, SIGKILL);
	}
	in->kill_at = in->watchdog_at = TETHER_NEVER;
	return start(in, 0, now, ops);
}

/* The supervisor stops while an instance restarts: the tree is already being
 * stopped (TERM sent, KILL armed); it is now a stop for good. */
static enum tether_istate restart_stopped(struct tether_instance *in, int64_t value, int64_t now,
					  const struct tether_instance_ops *ops)
{
	(void)value;
	(void)now;
	(void)ops;
	in->stopping_for_good = true;
	return TETHER_I_STOPPING;
}

/* The table. Rows: states; columns: events. */
static action_fn *const table[TETHER_I_NSTATES][TETHER_E_NEVENTS] = {
	[TETHER_I_IDLE] = {
		[TETHER_E_START] = start,          [TETHER_E_EXEC_OK] = ignore,
		[TETHER_E_EXEC_FAILED] = ignore,   [TETHER_E_SPAWN_FAILED] = ignore,
		[TETHER_E_READY] = ignore,         [TETHER_E_PROGRESS] = ignore,
		[TETHER_E_EXITED] = ignore,        [TETHER_E_TREE_EMPTY] = ignore,
		[TETHER_E_GUARDIAN_LOST] = ignore, [TETHER_E_WATCHDOG] = ignore,
		[TETHER_E_KILL_TIMER] = ignore,    [TETHER_E_RESTART_TIMER] = ignore,
		[TETHER_E_STOP] = stop_idle,       [TETHER_E_KILL_NOW] = ignore,
		[TETHER_E_RESTART] = ignore,
	},
	[TETHER_I_STARTING] = {
		[TETHER_E_START] = ignore,               [TETHER_E_EXEC_OK] = exec_ok,
		[TETHER_E_EXEC_FAILED] = exec_failed,    [TETHER_E_SPAWN_FAILED] = spawn_failed,
		[TETHER_E_READY] = early_ready,          [TETHER_E_PROGRESS] = ignore,
		[TETHER_E_EXITED] = exited,              [TETHER_E_TREE_EMPTY] = ignore,
		[TETHER_E_GUARDIAN_LOST] = guardian_lost, [TETHER_E_WATCHDOG] = ignore,
		[TETHER_E_KILL_TIMER] = ignore,          [TETHER_E_RESTART_TIMER] = ignore,
		[TETHER_E_STOP] = stop_running,          [TETHER_E_KILL_NOW] = kill_now,
		[TETHER_E_RESTART] = ignore,
	},
	[TETHER_I_UP] = {
		[TETHER_E_START] = ignore,               [TETHER_E_EXEC_OK] = ignore,
		[TETHER_E_EXEC_FAILED] = ignore,         [TETHER_E_SPAWN_FAILED] = ignore,
		[TETHER_E_READY] = ready,                [TETHER_E_PROGRESS] = progress,
		[TETHER_E_EXITED] = exited,              [TETHER_E_TREE_EMPTY] = ignore,
		[TETHER_E_GUARDIAN_LOST] = guardian_lost, [TETHER_E_WATCHDOG] = watchdog,
		[TETHER_E_KILL_TIMER] = ignore,          [TETHER_E_RESTART_TIMER] = ignore,
		[TETHER_E_STOP] = stop_running,          [TETHER_E_KILL_NOW] = kill_now,
		[TETHER_E_RESTART] = restart_running,
	},
	[TETHER_I_READY] = {
		[TETHER_E_START] = ignore,               [TETHER_E_EXEC_OK] = ignore,
		[TETHER_E_EXEC_FAILED] = ignore,         [TETHER_E_SPAWN_FAILED] = ignore,
		[TETHER_E_READY] = ignore,               [TETHER_E_PROGRESS] = progress,
		[TETHER_E_EXITED] = exited,              [TETHER_E_TREE_EMPTY] = ignore,
		[TETHER_E_GUARDIAN_LOST] = guardian_lost, [TETHER_E_WATCHDOG] = watchdog,
		[TETHER_E_KILL_TIMER] = ignore,          [TETHER_E_RESTART_TIMER] = ignore,
		[TETHER_E_STOP] = stop_running,          [TETHER_E_KILL_NOW] = kill_now,
		[TETHER_E_RESTART] = restart_running,
	},
	[TETHER_I_STOPPING] = {
		[TETHER_E_START] = ignore,               [TETHER_E_EXEC_OK] = exec_ok_while_stopping,
		[TETHER_E_EXEC_FAILED] = ignore,         [TETHER_E_SPAWN_FAILED] = spawn_failed,
		[TETHER_E_READY] = ignore,               [TETHER_E_PROGRESS] = ignore,
		[TETHER_E_EXITED] = exited,              [TETHER_E_TREE_EMPTY] = tree_empty,
		[TETHER_E_GUARDIAN_LOST] = guardian_lost, [TETHER_E_WATCHDOG] = ignore,
		[TETHER_E_KILL_TIMER] = kill_timer,      [TETHER_E_RESTART_TIMER] = ignore,
		[TETHER_E_STOP] = stop_pending,          [TETHER_E_KILL_NOW] = kill_now,
		[TETHER_E_RESTART] = ignore,
	},
	[TETHER_I_CLEANUP] = {
		[TETHER_E_START] = ignore,               [TETHER_E_EXEC_OK] = ignore,
		[TETHER_E_EXEC_FAILED] = ignore,         [TETHER_E_SPAWN_FAILED] = ignore,
		[TETHER_E_READY] = ignore,               [TETHER_E_PROGRESS] = ignore,
		[TETHER_E_EXITED] = ignore,              [TETHER_E_TREE_EMPTY] = tree_empty,
		[TETHER_E_GUARDIAN_LOST] = guardian_lost, [TETHER_E_WATCHDOG] = ignore,
		[TETHER_E_KILL_TIMER] = kill_timer,      [TETHER_E_RESTART_TIMER] = ignore,
		[TETHER_E_STOP] = stop_pending,          [TETHER_E_KILL_NOW] = kill_now,
		[TETHER_E_RESTART] = ignore,
	},
	[TETHER_I_BACKOFF] = {
		[TETHER_E_START] = ignore,               [TETHER_E_EXEC_OK] = ignore,
		[TETHER_E_EXEC_FAILED] = ignore,         [TETHER_E_SPAWN_FAILED] = ignore,
		[TETHER_E_READY] = ignore,               [TETHER_E_PROGRESS] = ignore,
		[TETHER_E_EXITED] = ignore,              [TETHER_E_TREE_EMPTY] = ignore,
		[TETHER_E_GUARDIAN_LOST] = ignore,       [TETHER_E_WATCHDOG] = ignore,
		[TETHER_E_KILL_TIMER] = ignore,          [TETHER_E_RESTART_TIMER] = start,
		[TETHER_E_STOP] = stop_idle,             [TETHER_E_KILL_NOW] = ignore,
		[TETHER_E_RESTART] = restart_backoff,
	},
	[TETHER_I_DONE] = {
		[TETHER_E_START] = ignore,               [TETHER_E_EXEC_OK] = ignore,
		[TETHER_E_EXEC_FAILED] = ignore,         [TETHER_E_SPAWN_FAILED] = ignore,
		[TETHER_E_READY] = ignore,               [TETHER_E_PROGRESS] = ignore,
		[TETHER_E_EXITED] = ignore,              [TETHER_E_TREE_EMPTY] = ignore,
		[TETHER_E_GUARDIAN_LOST] = ignore,       [TETHER_E_WATCHDOG] = ignore,
		[TETHER_E_KILL_TIMER] = ignore,          [TETHER_E_RESTART_TIMER] = ignore,
		[TETHER_E_STOP] = ignore,                [TETHER_E_KILL_NOW] = ignore,
		[TETHER_E_RESTART] = ignore,
	},
	[TETHER_I_RESTARTING] = {
		[TETHER_E_START] = ignore,               [TETHER_E_EXEC_OK] = ignore,
		[TETHER_E_EXEC_FAILED] = ignore,         [TETHER_E_SPAWN_FAILED] = ignore,
		[TETHER_E_READY] = ignore,               [TETHER_E_PROGRESS] = ignore,
		[TETHER_E_EXITED] = restart_exited,      [TETHER_E_TREE_EMPTY] = restart_now,
		[TETHER_E_GUARDIAN_LOST] = restart_now,  [TETHER_E_WATCHDOG] = ignore,
		[TETHER_E_KILL_TIMER] = kill_timer,      [TETHER_E_RESTART_TIMER] = ignore,
		[TETHER_E_STOP] = restart_stopped,       [TETHER_E_KILL_NOW] = kill_now,
		[TETHER_E_RESTART] = ignore,
	},
};

enum tether_istate tether_instance_dispatch(struct tether_instance *in, enum tether_ievent ev, int64_t value,
					    int64_t now, const struct tether_instance_ops *ops)
{
	if ((unsigned)in->state >= TETHER_I_NSTATES || (unsigned)ev >= TETHER_E_NEVENTS)
		return in->state;
	action_fn *fn = table[in->state][ev];
	in->state = fn(in, value, now, ops);
	return in->state;
}

int64_t tether_instance_next_deadline(const struct tether_instance *in)
{
	int64_t d = in->restart_at;
	if (in->watchdog_at < d)
		d = in->watchdog_at;
	if (in->kill_at < d)
		d = in->kill_at;
	return d;
}

void tether_instance_fire_timers(struct tether_instance *in, int64_t now, const struct tether_instance_ops *ops)
{
	if (in->kill_at <= now)
		tether_instance_dispatch(in, TETHER_E_KILL_TIMER, 0, now, ops);
	if (in->watchdog_at <= now)
		tether_instance_dispatch(in, TETHER_E_WATCHDOG, 0, now, ops);
	if (in->restart_at <= now)
		tether_instance_dispatch(in, TETHER_E_RESTART_TIMER, 0, now, ops);
}

const char *tether_istate_name(enum tether_istate s)
{
	static const char *const names[] = {
		[TETHER_I_IDLE] = "idle",         [TETHER_I_STARTING] = "starting",
		[TETHER_I_UP] = "up",             [TETHER_I_READY] = "ready",
		[TETHER_I_STOPPING] = "stopping", [TETHER_I_CLEANUP] = "cleanup",
		[TETHER_I_BACKOFF] = "backoff",   [TETHER_I_DONE] = "done",
		[TETHER_I_RESTARTING] = "restarting",
	};
	return (unsigned)s < TETHER_I_NSTATES ? names[s] : "?";
}

const char *tether_ievent_name(enum tether_ievent e)
{
	static const char *const names[] = {
		[TETHER_E_START] = "start",
		[TETHER_E_EXEC_OK] = "exec_ok",
		[TETHER_E_EXEC_FAILED] = "exec_failed",
		[TETHER_E_SPAWN_FAILED] = "spawn_failed",
		[TETHER_E_READY] = "ready",
		[TETHER_E_PROGRESS] = "progress",
		[TETHER_E_EXITED] = "exited",
		[TETHER_E_TREE_EMPTY] = "tree_empty",
		[TETHER_E_GUARDIAN_LOST] = "guardian_lost",
		[TETHER_E_WATCHDOG] = "watchdog",
		[TETHER_E_KILL_TIMER] = "kill_timer",
		[TETHER_E_RESTART_TIMER] = "restart_timer",
		[TETHER_E_STOP] = "stop",
		[TETHER_E_KILL_NOW] = "kill_now",
		[TETHER_E_RESTART] = "restart",
	};
	return (unsigned)e < TETHER_E_NEVENTS ? names[e] : "?";
}

const char *tether_istate_public_name(const struct tether_instance *in)
{
	switch (in->state) {
	case TETHER_I_IDLE:
	case TETHER_I_STARTING:
	case TETHER_I_UP: return "starting";
	case TETHER_I_READY: return "running";
	case TETHER_I_STOPPING: return in->watchdog_fired && !in->stopping_for_good ? "hung" : "stopping";
	case TETHER_I_CLEANUP: return "exited";
	case TETHER_I_BACKOFF: return "backoff";
	case TETHER_I_DONE: return "done";
	case TETHER_I_RESTARTING: return "restarting";
	default: return "?";
	}
}
