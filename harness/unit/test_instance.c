/* SPDX-License-Identifier: MIT */
/* test_instance.c — one supervised instance as a state x event table
 * (src/instance.c; SPEC §1: restart, backoff, crash window, watchdog, stop).
 *
 * No processes: a recording fake stands in for struct tether_instance_ops. It
 * logs every call (spawn, term, kill, retire, decide, note, with their
 * arguments, in order), lets a test script what spawn returns, and answers
 * decide either with a scripted verdict (the table tests: the instance's own
 * logic, whatever the policy says) or with the real tether_policy_decide over
 * real crash logs, as the supervisor does (the end-to-end sequences).
 *
 * The cell table below names all 9 x 15 (state, event) cells with the state
 * each must lead to, the ops it must call, in order, and the timers it must
 * leave; a change to instance.c's table without the matching change here fails
 * a cell. Cells instance.c ignores must leave the instance bit for bit as it
 * was. Variant rows add the cells whose outcome depends on how the state was
 * reached (a stop's STOPPING or the watchdog's, the verdict waiting in
 * CLEANUP, a first start or a later one).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "instance.h"
#include "options.h"
#include "policy.h"

#define S TETHER_NSEC_PER_SEC
#define MS TETHER_NSEC_PER_MSEC
#define NEVER TETHER_NEVER

/* Wait statuses as the guardian reports them. */
#define EXIT_STATUS(code) ((code) << 8)
#define SIGNAL_STATUS(sig) (sig)

#define STOP_TIMEOUT (5 * S)
#define WATCHDOG (30 * S)

/* ---- the recording fake ------------------------------------------------------ */

enum op_kind { OP_SPAWN, OP_TERM, OP_KILL, OP_RETIRE, OP_DECIDE, OP_NOTE };

struct op {
	enum op_kind kind;
	int what;                 /* NOTE: enum tether_inote; DECIDE: enum tether_end */
	int64_t value;            /* NOTE: its value; DECIDE: its now */
	enum tether_istate state; /* in->state when called (the state being left) */
};

#define MAX_OPS 1024

struct fake {
	struct tether_instance_ops ops;
	struct op log[MAX_OPS];
	size_t n;
	size_t spawns;
	/* spawn: 0 for calls before fail_spawn_from (1-based; 0: never fail),
	 * spawn_error from then on. */
	size_t fail_spawn_from;
	int spawn_error;
	/* decide: the real policy (as supervisor.c's op_decide), or a script */
	bool real_policy;
	struct tether_policy policy;
	struct tether_crashlog all;
	enum tether_action verdict_action;
	bool verdict_crash;
	int64_t verdict_delay; /* RESTART: restart_at = now + delay */
};

static struct fake fx;
static struct tether_instance in;

static void record(enum op_kind kind, int what, int64_t value, const struct tether_instance *i)
{
	ck_assert_ptr_eq(i, &in);
	ck_assert_msg(fx.n < MAX_OPS, "more than %d ops: a loop?", MAX_OPS);
	fx.log[fx.n++] = (struct op){.kind = kind, .what = what, .value = value, .state = i->state};
}

static int fake_spawn(void *ctx, struct tether_instance *i)
{
	ck_assert_ptr_eq(ctx, &fx);
	record(OP_SPAWN, 0, 0, i);
	fx.spawns++;
	if (fx.fail_spawn_from && fx.spawns >= fx.fail_spawn_from)
		return -fx.spawn_error;
	return 0;
}

static void fake_term(void *ctx, struct tether_instance *i)
{
	ck_assert_ptr_eq(ctx, &fx);
	record(OP_TERM, 0, 0, i);
}

static void fake_kill(void *ctx, struct tether_instance *i)
{
	ck_assert_ptr_eq(ctx, &fx);
	record(OP_KILL, 0, 0, i);
}

static void fake_retire(void *ctx, struct tether_instance *i)
{
	ck_assert_ptr_eq(ctx, &fx);
	record(OP_RETIRE, 0, 0, i);
}

static struct tether_verdict fake_decide(void *ctx, struct tether_instance *i, enum tether_end end, int64_t now)
{
	ck_assert_ptr_eq(ctx, &fx);
	record(OP_DECIDE, (int)end, now, i);
	if (fx.real_policy) {
		struct tether_verdict v = tether_policy_decide(&fx.policy, end, &fx.all, &i->crashes, now);
		if (v.crash) {
			tether_crashlog_add(&fx.all, now);
			tether_crashlog_add(&i->crashes, now);
		}
		return v;
	}
	struct tether_verdict v = {
		.action = fx.verdict_action,
		.crash = fx.verdict_crash,
		.delay = 0,
		.restart_at = NEVER,
		.crashes_in_window = fx.verdict_crash ? 1 : 0,
		.instance_crashes = fx.verdict_crash ? 1 : 0,
	};
	if (v.action == TETHER_ACTION_RESTART) {
		v.delay = fx.verdict_delay;
		v.restart_at = now + fx.verdict_delay;
	}
	return v;
}

static void fake_note(void *ctx, struct tether_instance *i, enum tether_inote what, int64_t value)
{
	ck_assert_ptr_eq(ctx, &fx);
	record(OP_NOTE, (int)what, value, i);
}

/* SPEC §1 defaults, but a window long enough that a test's crashes stay in it. */
static struct tether_policy default_policy(void)
{
	return (struct tether_policy){
		.restart = TETHER_RESTART_ON_FAILURE,
		.backoff_initial = 1 * S,
		.backoff_max = 60 * S,
		.crash_limit = 10,
		.crash_window = 3600 * S,
	};
}

static void setup(void)
{
	memset(&fx, 0, sizeof fx);
	fx.ops = (struct tether_instance_ops){
		.ctx = &fx,
		.spawn = fake_spawn,
		.term = fake_term,
		.kill = fake_kill,
		.retire = fake_retire,
		.decide = fake_decide,
		.note = fake_note,
		.stop_timeout = STOP_TIMEOUT,
		.watchdog = WATCHDOG,
		.notify_ready = true,
	};
	fx.spawn_error = EAGAIN;
	fx.policy = default_policy();
	fx.verdict_action = TETHER_ACTION_RESTART;
	fx.verdict_crash = true;
	fx.verdict_delay = 20 * S;
	ck_assert_int_eq(tether_crashlog_init(&fx.all, (size_t)fx.policy.crash_limit + 1), 0);
	ck_assert_int_eq(tether_instance_init(&in, 3), 0);
}

static void teardown(void)
{
	tether_instance_done(&in);
	tether_crashlog_done(&fx.all);
}

/* Uses the real policy p (the global log sized as the supervisor sizes it). */
static void use_policy(struct tether_policy p)
{
	struct tether_config cfg;
	char why[320], prog[] = "true", *argv[] = {prog, NULL};
	tether_config_defaults(&cfg);
	cfg.argv = argv;
	cfg.policy = p;
	ck_assert_msg(tether_config_check(&cfg, why, sizeof why) == 0, "%s", why);
	tether_crashlog_done(&fx.all);
	ck_assert_int_eq(tether_crashlog_init(&fx.all, (size_t)p.crash_limit + 1), 0);
	fx.policy = p;
	fx.real_policy = true;
}

/* ---- reading the log ------------------------------------------------------------ */

static const char *const note_names[] = {
	[TETHER_N_STARTED] = "started",
	[TETHER_N_READY] = "ready",
	[TETHER_N_EXITED] = "exited",
	[TETHER_N_EXEC_FAILED] = "exec_failed",
	[TETHER_N_SPAWN_FAILED] = "spawn_failed",
	[TETHER_N_CRASH] = "crash",
	[TETHER_N_RESTART] = "restart",
	[TETHER_N_WATCHDOG] = "watchdog",
	[TETHER_N_GIVE_UP] = "give_up",
	[TETHER_N_DONE] = "done",
	[TETHER_N_RESTART_REQUESTED] = "restart_requested",
};

static const char *const end_names[] = {
	[TETHER_END_EXIT_ZERO] = "exit_zero",
	[TETHER_END_EXIT_NONZERO] = "exit_nonzero",
	[TETHER_END_SIGNALED] = "signaled",
	[TETHER_END_WATCHDOG] = "watchdog",
	[TETHER_END_START_FAILED] = "start_failed",
};

/* The ops logged since `from`, as "spawn note(exited) decide(signaled) term". */
static const char *ops_since(size_t from)
{
	static char buf[8192];
	size_t len = 0;
	buf[0] = '\0';
	for (size_t k = from; k < fx.n; k++) {
		const struct op *o = &fx.log[k];
		char one[64];
		switch (o->kind) {
		case OP_SPAWN: snprintf(one, sizeof one, "spawn"); break;
		case OP_TERM: snprintf(one, sizeof one, "term"); break;
		case OP_KILL: snprintf(one, sizeof one, "kill"); break;
		case OP_RETIRE: snprintf(one, sizeof one, "retire"); break;
		case OP_DECIDE: snprintf(one, sizeof one, "decide(%s)", end_names[o->what]); break;
		case OP_NOTE: snprintf(one, sizeof one, "note(%s)", note_names[o->what]); break;
		}
		int w = snprintf(buf + len, sizeof buf - len, "%s%s", len ? " " : "", one);
		ck_assert_int_ge(w, 0);
		len += (size_t)w;
		ck_assert_uint_lt(len, sizeof buf);
	}
	return buf;
}

static const char *ops_str(void)
{
	return ops_since(0);
}

static void clear_ops(void)
{
	fx.n = 0;
}

static size_t count_kind(enum op_kind kind)
{
	size_t c = 0;
	for (size_t k = 0; k < fx.n; k++)
		c += fx.log[k].kind == kind;
	return c;
}

/* The last note `what` (fails when there is none). */
static const struct op *last_note(enum tether_inote what)
{
	for (size_t k = fx.n; k-- > 0;)
		if (fx.log[k].kind == OP_NOTE && fx.log[k].what == (int)what)
			return &fx.log[k];
	ck_abort_msg("no note(%s) in \"%s\"", note_names[what], ops_str());
	return NULL;
}

static const struct op *last_decide(void)
{
	for (size_t k = fx.n; k-- > 0;)
		if (fx.log[k].kind == OP_DECIDE)
			return &fx.log[k];
	ck_abort_msg("no decide in \"%s\"", ops_str());
	return NULL;
}

#define ASSERT_OPS(expected) ck_assert_str_eq(ops_str(), (expected))
#define ASSERT_STATE(expected) \
	ck_assert_str_eq(tether_istate_name(in.state), tether_istate_name(expected))

static enum tether_istate ev(enum tether_ievent e, int64_t value, int64_t now)
{
	enum tether_istate r = tether_instance_dispatch(&in, e, value, now, &fx.ops);
	ck_assert_int_eq(r, in.state);
	return r;
}

/* Dispatches e and asserts the state it leads to. */
static void step(enum tether_ievent e, int64_t value, int64_t now, enum tether_istate expect)
{
	enum tether_istate from = in.state;
	ev(e, value, now);
	ck_assert_msg(in.state == expect, "%s x %s: got %s, expected %s", tether_istate_name(from),
		      tether_ievent_name(e), tether_istate_name(in.state), tether_istate_name(expect));
}

/* ---- the cell table --------------------------------------------------------------- */

/* The run the setups drive, second by second; every cell's event comes at NOW. */
#define T_START (100 * S)
#define T_EXEC (101 * S)
#define T_READY (102 * S)
#define T_TURN (103 * S) /* the run's turn: a stop, the watchdog, or its death */
#define T_EMPTY (104 * S)
#define NOW (105 * S)
#define PID 4242
#define PID2 4343

/* How the instance reaches the cell's state through legal events (the
 * scripted verdict is RESTART after 20 s unless the setup says otherwise). */
enum setup {
	SU_IDLE,
	SU_STARTING,
	SU_UP,
	SU_READY,
	SU_STOPPING,    /* READY x STOP: stopping for good */
	SU_CLEANUP,     /* READY x EXITED (SIGSEGV): verdict RESTART at T_TURN + 20 s */
	SU_BACKOFF,     /* SU_CLEANUP x TREE_EMPTY */
	SU_DONE,        /* SU_STOPPING x EXITED, x TREE_EMPTY */
	SU_RESTARTING,  /* READY x RESTART at T_TURN: TERM sent, KILL due at T_TURN + 5 s */
	SU_NCANONICAL,  /* the 9 states above, one row of 15 cells each */
	/* variants */
	SU_IDLE_FORKFAIL = SU_NCANONICAL, /* spawn fails with EAGAIN from the first call */
	SU_STARTING_AGAIN,     /* a restart (verdict RESTART after 1 s): an earlier start exec'd */
	SU_STARTING_ZERO,      /* STARTING, the verdict RESTART after 0 s */
	SU_UP_NOPID,           /* EXEC_OK named no pid (gone before it could be found in its namespace) */
	SU_STOPPING_EARLY,     /* STARTING x STOP: nothing exec'd yet */
	SU_STOPPING_WD,        /* READY x WATCHDOG */
	SU_CLEANUP_SOON,       /* verdict RESTART after 1 s: due before the tree is empty */
	SU_CLEANUP_DONE,       /* exit 0, verdict DONE */
	SU_CLEANUP_GIVE_UP,    /* verdict GIVE_UP */
	SU_CLEANUP_STOPPED,    /* SU_STOPPING x EXITED */
	SU_CLEANUP_EXECFAIL,   /* STARTING x EXEC_FAILED at the first start */
	SU_BACKOFF_FORKFAIL,   /* SU_BACKOFF, the next spawn fails with EAGAIN */
	SU_RESTARTING_EXITED,  /* SU_RESTARTING x EXITED (SIGTERM): waiting for the tree */
	SU_RESTARTING_UP,      /* UP x RESTART: restarted before it was ready */
	SU_COUNT,
};

_Static_assert(SU_IDLE == (int)TETHER_I_IDLE && SU_STARTING == (int)TETHER_I_STARTING && SU_UP == (int)TETHER_I_UP &&
		       SU_READY == (int)TETHER_I_READY && SU_STOPPING == (int)TETHER_I_STOPPING &&
		       SU_CLEANUP == (int)TETHER_I_CLEANUP && SU_BACKOFF == (int)TETHER_I_BACKOFF &&
		       SU_DONE == (int)TETHER_I_DONE && SU_RESTARTING == (int)TETHER_I_RESTARTING &&
		       SU_NCANONICAL == (int)TETHER_I_NSTATES,
	       "a canonical setup is numbered as its state (IGN relies on it)");

static const char *const setup_names[] = {
	"IDLE", "STARTING", "UP", "READY", "STOPPING", "CLEANUP", "BACKOFF", "DONE", "RESTARTING",
	"IDLE(forkfail)", "STARTING(again)", "STARTING(zero backoff)", "UP(no pid)",
	"STOPPING(early)", "STOPPING(watchdog)", "CLEANUP(restart due)", "CLEANUP(done)",
	"CLEANUP(give up)", "CLEANUP(stopped)", "CLEANUP(exec failed)", "BACKOFF(forkfail)",
	"RESTARTING(exited)", "RESTARTING(from up)",
};
_Static_assert(sizeof setup_names / sizeof setup_names[0] == SU_COUNT, "a name per setup");

static void drive(enum setup su)
{
	switch (su) {
	case SU_IDLE_FORKFAIL:
		fx.fail_spawn_from = 1;
		return;
	case SU_IDLE:
		return;
	case SU_STARTING_ZERO:
		fx.verdict_delay = 0;
		step(TETHER_E_START, 0, T_START, TETHER_I_STARTING);
		return;
	case SU_STARTING:
		step(TETHER_E_START, 0, T_START, TETHER_I_STARTING);
		return;
	case SU_UP_NOPID:
		step(TETHER_E_START, 0, T_START, TETHER_I_STARTING);
		step(TETHER_E_EXEC_OK, 0, T_EXEC, TETHER_I_UP);
		return;
	case SU_UP:
		step(TETHER_E_START, 0, T_START, TETHER_I_STARTING);
		step(TETHER_E_EXEC_OK, PID, T_EXEC, TETHER_I_UP);
		return;
	case SU_READY:
		drive(SU_UP);
		step(TETHER_E_READY, 0, T_READY, TETHER_I_READY);
		return;
	case SU_STOPPING:
		drive(SU_READY);
		step(TETHER_E_STOP, 0, T_TURN, TETHER_I_STOPPING);
		return;
	case SU_STOPPING_EARLY:
		step(TETHER_E_START, 0, T_START, TETHER_I_STARTING);
		step(TETHER_E_STOP, 0, T_EXEC, TETHER_I_STOPPING);
		return;
	case SU_STOPPING_WD:
		drive(SU_READY);
		step(TETHER_E_WATCHDOG, 0, T_TURN, TETHER_I_STOPPING);
		return;
	case SU_CLEANUP_SOON:
		fx.verdict_delay = 1 * S;
		drive(SU_CLEANUP);
		return;
	case SU_CLEANUP_DONE:
		fx.verdict_action = TETHER_ACTION_DONE;
		fx.verdict_crash = false;
		drive(SU_READY);
		step(TETHER_E_EXITED, EXIT_STATUS(0), T_TURN, TETHER_I_CLEANUP);
		return;
	case SU_CLEANUP_GIVE_UP:
		fx.verdict_action = TETHER_ACTION_GIVE_UP;
		drive(SU_CLEANUP);
		return;
	case SU_CLEANUP:
		drive(SU_READY);
		step(TETHER_E_EXITED, SIGNAL_STATUS(SIGSEGV), T_TURN, TETHER_I_CLEANUP);
		return;
	case SU_CLEANUP_STOPPED:
		drive(SU_STOPPING);
		step(TETHER_E_EXITED, SIGNAL_STATUS(SIGTERM), T_TURN, TETHER_I_CLEANUP);
		return;
	case SU_CLEANUP_EXECFAIL:
		step(TETHER_E_START, 0, T_START, TETHER_I_STARTING);
		step(TETHER_E_EXEC_FAILED, ENOENT, T_EXEC, TETHER_I_CLEANUP);
		return;
	case SU_BACKOFF_FORKFAIL:
		fx.fail_spawn_from = 2;
		drive(SU_BACKOFF);
		return;
	case SU_BACKOFF:
		drive(SU_CLEANUP);
		step(TETHER_E_TREE_EMPTY, 0, T_EMPTY, TETHER_I_BACKOFF);
		return;
	case SU_STARTING_AGAIN:
		fx.verdict_delay = 1 * S;
		drive(SU_CLEANUP);
		step(TETHER_E_TREE_EMPTY, 0, T_EMPTY, TETHER_I_STARTING);
		return;
	case SU_DONE:
		drive(SU_STOPPING);
		step(TETHER_E_EXITED, SIGNAL_STATUS(SIGTERM), T_TURN, TETHER_I_CLEANUP);
		step(TETHER_E_TREE_EMPTY, 0, T_EMPTY, TETHER_I_DONE);
		return;
	case SU_RESTARTING:
		drive(SU_READY);
		step(TETHER_E_RESTART, 0, T_TURN, TETHER_I_RESTARTING);
		return;
	case SU_RESTARTING_EXITED:
		drive(SU_RESTARTING);
		step(TETHER_E_EXITED, SIGNAL_STATUS(SIGTERM), T_TURN, TETHER_I_RESTARTING);
		return;
	case SU_RESTARTING_UP:
		drive(SU_UP);
		step(TETHER_E_RESTART, 0, T_TURN, TETHER_I_RESTARTING);
		return;
	case SU_COUNT:
		break;
	}
	ck_abort_msg("no such setup %d", (int)su);
}

/* Timer expectations: KEEP (0) = as the setup left it; else the exact value. */
#define KEEP 0

struct cell {
	enum setup from;
	enum tether_ievent event;
	enum tether_istate to;
	const char *ops; /* exactly these, in this order */
	bool inert;      /* the instance is left bit for bit as it was */
	int64_t kill_at, watchdog_at, restart_at;
	void (*check)(void); /* more to assert, or NULL */
};

/* The value each event carries in a cell. */
static int64_t event_value(enum tether_ievent e)
{
	switch (e) {
	case TETHER_E_EXEC_OK: return PID2;
	case TETHER_E_EXEC_FAILED: return ENOENT;
	case TETHER_E_SPAWN_FAILED: return EAGAIN;
	case TETHER_E_EXITED: return EXIT_STATUS(1);
	default: return 0;
	}
}

static void check_early_ready(void)
{
	ck_assert(in.ready);
	ck_assert_int_eq(count_kind(OP_NOTE), 0); /* READY is noted at exec */
}

static void check_exec_ok(void)
{
	ck_assert_int_eq(in.pid, PID2);
	ck_assert(in.ever_execd);
	ck_assert_int_eq(in.exec_at, NOW);
	ck_assert_int_eq(in.last_progress, NOW);
	ck_assert_int_eq(last_note(TETHER_N_STARTED)->value, PID2);
}

static void check_exec_ok_while_stopping(void)
{
	ck_assert_int_eq(in.pid, PID2);
	ck_assert(in.ever_execd);
	ck_assert(in.stopping_for_good);
}

static void check_first_exec_failed(void)
{
	ck_assert(in.stopping_for_good);
	ck_assert(!in.verdict_taken);
	ck_assert_int_eq(in.last_errno, ENOENT);
	ck_assert_int_eq(last_note(TETHER_N_EXEC_FAILED)->value, ENOENT);
}

static void check_later_exec_failed(void)
{
	ck_assert(!in.stopping_for_good);
	ck_assert(in.verdict_taken);
	ck_assert_int_eq(in.died_at, NOW);
	ck_assert_int_eq(in.end, TETHER_END_START_FAILED);
	ck_assert_int_eq(last_decide()->value, NOW);
}

static void check_progress(void)
{
	ck_assert_int_eq(in.last_progress, NOW);
}

static void check_stop_pending(void)
{
	ck_assert(in.stopping_for_good);
}

static void check_stopping_for_good(void)
{
	ck_assert(in.stopping_for_good);
	ck_assert(!in.watchdog_fired);
}

static void check_watchdog(void)
{
	ck_assert(in.watchdog_fired);
	ck_assert(!in.stopping_for_good);
	/* how long it was silent: from its exec (T_EXEC) to now */
	ck_assert_int_eq(last_note(TETHER_N_WATCHDOG)->value, NOW - T_EXEC);
}

static void check_crash_by_guardian(void)
{
	ck_assert_int_eq(in.last_status, SIGKILL);
	ck_assert_int_eq(in.pid, 0);
	ck_assert_int_eq(last_note(TETHER_N_EXITED)->value, SIGKILL);
	ck_assert_int_eq(last_decide()->value, NOW);
	ck_assert_uint_eq(in.restarts, 1);
}

static void check_exited(void)
{
	ck_assert_int_eq(in.last_status, EXIT_STATUS(1));
	ck_assert_int_eq(in.pid, 0);
	ck_assert_int_eq(in.died_at, NOW);
	ck_assert(in.verdict_taken);
	ck_assert_int_eq(last_note(TETHER_N_EXITED)->value, EXIT_STATUS(1));
}

static void check_restarted(void)
{
	ck_assert_uint_eq(in.restarts, 1);
	ck_assert(!in.verdict_taken);
	ck_assert_int_eq(last_note(TETHER_N_RESTART)->value, fx.verdict_delay);
}

static void check_spawn_failed(void)
{
	ck_assert_int_eq(in.last_errno, EAGAIN);
	ck_assert_int_eq(last_note(TETHER_N_SPAWN_FAILED)->value, EAGAIN);
	ck_assert_int_eq(last_decide()->value, NOW);
	ck_assert_int_eq(in.end, TETHER_END_START_FAILED);
}

static void check_retired(void)
{
	ck_assert_int_eq(in.pid, 0);
	ck_assert(!in.ready);
	ck_assert_uint_eq(count_kind(OP_RETIRE), 1);
}

/* A requested restart: TERM now, KILL at the stop timeout, no verdict. */
static void check_restart_requested(void)
{
	ck_assert_uint_eq(in.restarts_requested, 1);
	ck_assert_uint_eq(in.restarts, 0);
	ck_assert_int_eq(last_note(TETHER_N_RESTART_REQUESTED)->value, PID);
	ck_assert(!in.stopping_for_good && !in.watchdog_fired && !in.verdict_taken);
	ck_assert_int_eq(in.pid, PID);
}

/* From backoff: started now; the crash that put it there stays counted. */
static void check_restart_from_backoff(void)
{
	ck_assert_uint_eq(in.restarts_requested, 1);
	ck_assert_uint_eq(in.restarts, 1);
	ck_assert_int_eq(last_note(TETHER_N_RESTART_REQUESTED)->value, 0);
	ck_assert_uint_eq(count_kind(OP_DECIDE), 0);
}

/* The worker died of the restart: no verdict, no crash. */
static void check_restart_exited(void)
{
	ck_assert_int_eq(in.last_status, EXIT_STATUS(1));
	ck_assert_int_eq(in.pid, 0);
	ck_assert_int_eq(in.died_at, NOW);
	ck_assert(!in.verdict_taken);
	ck_assert_uint_eq(count_kind(OP_DECIDE), 0);
	ck_assert_uint_eq(in.restarts, 0);
}

/* Started again at once, without a verdict: neither a crash nor a restart
 * tether decided. */
static void check_restarted_at_once(void)
{
	ck_assert_uint_eq(count_kind(OP_DECIDE), 0);
	ck_assert_uint_eq(in.restarts, 0);
	ck_assert_uint_eq(in.restarts_requested, 1);
	ck_assert_uint_eq(in.crashes.n, 0);
	ck_assert_int_eq(in.pid, 0);
	ck_assert(!in.ready);
}

/* The guardian went with the worker still known: its death is noted (SIGKILL). */
static void check_restarted_after_loss(void)
{
	check_restarted_at_once();
	ck_assert_int_eq(last_note(TETHER_N_EXITED)->value, SIGKILL);
	ck_assert_int_eq(in.last_status, SIGKILL);
}

#define IGN(su, e) {su, TETHER_E_##e, (enum tether_istate)(su), "", true, KEEP, KEEP, KEEP, NULL}
#define I(s) TETHER_I_##s
#define E(e) TETHER_E_##e

static const struct cell cells[] = {
	/* IDLE: only START and STOP mean anything before the first start. */
	{SU_IDLE, E(START), I(STARTING), "spawn", false, NEVER, NEVER, NEVER, NULL},
	IGN(SU_IDLE, EXEC_OK), IGN(SU_IDLE, EXEC_FAILED), IGN(SU_IDLE, SPAWN_FAILED), IGN(SU_IDLE, READY),
	IGN(SU_IDLE, PROGRESS), IGN(SU_IDLE, EXITED), IGN(SU_IDLE, TREE_EMPTY), IGN(SU_IDLE, GUARDIAN_LOST),
	IGN(SU_IDLE, WATCHDOG), IGN(SU_IDLE, KILL_TIMER), IGN(SU_IDLE, RESTART_TIMER),
	{SU_IDLE, E(STOP), I(DONE), "retire note(done)", false, NEVER, NEVER, NEVER, check_retired},
	IGN(SU_IDLE, KILL_NOW),
	IGN(SU_IDLE, RESTART),

	/* STARTING: spawn asked, exec not confirmed (notify_ready is on). */
	IGN(SU_STARTING, START),
	{SU_STARTING, E(EXEC_OK), I(UP), "note(started)", false, NEVER, NOW + WATCHDOG, NEVER, check_exec_ok},
	{SU_STARTING, E(EXEC_FAILED), I(CLEANUP), "note(exec_failed)", false, NEVER, NEVER, NEVER,
	 check_first_exec_failed},
	{SU_STARTING, E(SPAWN_FAILED), I(BACKOFF),
	 "note(spawn_failed) decide(start_failed) note(crash) note(restart)", false, NEVER, NEVER, NOW + 20 * S,
	 check_spawn_failed},
	{SU_STARTING, E(READY), I(STARTING), "", false, NEVER, NEVER, NEVER, check_early_ready},
	IGN(SU_STARTING, PROGRESS),
	{SU_STARTING, E(EXITED), I(CLEANUP), "note(exited) decide(exit_nonzero) note(crash)", false,
	 NOW + STOP_TIMEOUT, NEVER, NEVER, check_exited},
	IGN(SU_STARTING, TREE_EMPTY),
	{SU_STARTING, E(GUARDIAN_LOST), I(BACKOFF), "note(exited) decide(signaled) note(crash) note(restart)",
	 false, NEVER, NEVER, NOW + 20 * S, check_crash_by_guardian},
	IGN(SU_STARTING, WATCHDOG), IGN(SU_STARTING, KILL_TIMER), IGN(SU_STARTING, RESTART_TIMER),
	{SU_STARTING, E(STOP), I(STOPPING), "term", false, NOW + STOP_TIMEOUT, NEVER, NEVER,
	 check_stopping_for_good},
	{SU_STARTING, E(KILL_NOW), I(STARTING), "kill", false, NEVER, NEVER, NEVER, NULL},
	/* a start is already fresh: the supervisor asks again once it is up */
	IGN(SU_STARTING, RESTART),

	/* UP: exec'd, waiting for READY=1; the watchdog runs (from T_EXEC). */
	IGN(SU_UP, START), IGN(SU_UP, EXEC_OK), IGN(SU_UP, EXEC_FAILED), IGN(SU_UP, SPAWN_FAILED),
	{SU_UP, E(READY), I(READY), "note(ready)", false, NEVER, T_EXEC + WATCHDOG, NEVER, NULL},
	{SU_UP, E(PROGRESS), I(UP), "", false, NEVER, NOW + WATCHDOG, NEVER, check_progress},
	{SU_UP, E(EXITED), I(CLEANUP), "note(exited) decide(exit_nonzero) note(crash)", false,
	 NOW + STOP_TIMEOUT, NEVER, NEVER, check_exited},
	IGN(SU_UP, TREE_EMPTY),
	{SU_UP, E(GUARDIAN_LOST), I(BACKOFF), "note(exited) decide(signaled) note(crash) note(restart)", false,
	 NEVER, NEVER, NOW + 20 * S, check_crash_by_guardian},
	{SU_UP, E(WATCHDOG), I(STOPPING), "note(watchdog) term", false, NOW + STOP_TIMEOUT, NEVER, NEVER,
	 check_watchdog},
	IGN(SU_UP, KILL_TIMER), IGN(SU_UP, RESTART_TIMER),
	{SU_UP, E(STOP), I(STOPPING), "term", false, NOW + STOP_TIMEOUT, NEVER, NEVER, check_stopping_for_good},
	{SU_UP, E(KILL_NOW), I(UP), "kill", false, NEVER, T_EXEC + WATCHDOG, NEVER, NULL},
	{SU_UP, E(RESTART), I(RESTARTING), "note(restart_requested) term", false, NOW + STOP_TIMEOUT, NEVER, NEVER,
	 check_restart_requested},

	/* READY: running and ready. */
	IGN(SU_READY, START), IGN(SU_READY, EXEC_OK), IGN(SU_READY, EXEC_FAILED), IGN(SU_READY, SPAWN_FAILED),
	IGN(SU_READY, READY),
	{SU_READY, E(PROGRESS), I(READY), "", false, NEVER, NOW + WATCHDOG, NEVER, check_progress},
	{SU_READY, E(EXITED), I(CLEANUP), "note(exited) decide(exit_nonzero) note(crash)", false,
	 NOW + STOP_TIMEOUT, NEVER, NEVER, check_exited},
	IGN(SU_READY, TREE_EMPTY),
	{SU_READY, E(GUARDIAN_LOST), I(BACKOFF), "note(exited) decide(signaled) note(crash) note(restart)",
	 false, NEVER, NEVER, NOW + 20 * S, check_crash_by_guardian},
	{SU_READY, E(WATCHDOG), I(STOPPING), "note(watchdog) term", false, NOW + STOP_TIMEOUT, NEVER, NEVER,
	 check_watchdog},
	IGN(SU_READY, KILL_TIMER), IGN(SU_READY, RESTART_TIMER),
	{SU_READY, E(STOP), I(STOPPING), "term", false, NOW + STOP_TIMEOUT, NEVER, NEVER,
	 check_stopping_for_good},
	{SU_READY, E(KILL_NOW), I(READY), "kill", false, NEVER, T_EXEC + WATCHDOG, NEVER, NULL},
	{SU_READY, E(RESTART), I(RESTARTING), "note(restart_requested) term", false, NOW + STOP_TIMEOUT, NEVER, NEVER,
	 check_restart_requested},

	/* STOPPING (the supervisor's stop, TERM sent at T_TURN, KILL due at T_TURN + 5 s). */
	IGN(SU_STOPPING, START),
	{SU_STOPPING, E(EXEC_OK), I(STOPPING), "", false, T_TURN + STOP_TIMEOUT, NEVER, NEVER,
	 check_exec_ok_while_stopping},
	IGN(SU_STOPPING, EXEC_FAILED),
	{SU_STOPPING, E(SPAWN_FAILED), I(DONE), "note(spawn_failed) retire note(done)", false, NEVER, NEVER,
	 NEVER, check_retired},
	IGN(SU_STOPPING, READY), IGN(SU_STOPPING, PROGRESS),
	/* a stop is no crash: no verdict; what the worker left keeps the stop's KILL time
	 * (the guardian TERMs leftovers itself as the worker dies: no term() here) */
	{SU_STOPPING, E(EXITED), I(CLEANUP), "note(exited)", false, T_TURN + STOP_TIMEOUT, NEVER, NEVER,
	 NULL},
	{SU_STOPPING, E(TREE_EMPTY), I(DONE), "retire note(done)", false, NEVER, NEVER, NEVER, check_retired},
	{SU_STOPPING, E(GUARDIAN_LOST), I(DONE), "note(exited) retire note(done)", false, NEVER, NEVER, NEVER,
	 check_retired},
	IGN(SU_STOPPING, WATCHDOG),
	{SU_STOPPING, E(KILL_TIMER), I(STOPPING), "kill", false, NEVER, NEVER, NEVER, NULL},
	IGN(SU_STOPPING, RESTART_TIMER),
	/* a second stop does not restart the stop (no second TERM, same KILL time) */
	{SU_STOPPING, E(STOP), I(STOPPING), "", true, KEEP, KEEP, KEEP, NULL},
	{SU_STOPPING, E(KILL_NOW), I(STOPPING), "kill", false, NEVER, NEVER, NEVER, NULL},
	/* a stop for good is not undone by a restart */
	IGN(SU_STOPPING, RESTART),

	/* CLEANUP: the worker died at T_TURN (verdict RESTART, due at T_TURN + 20 s). */
	IGN(SU_CLEANUP, START), IGN(SU_CLEANUP, EXEC_OK), IGN(SU_CLEANUP, EXEC_FAILED),
	IGN(SU_CLEANUP, SPAWN_FAILED), IGN(SU_CLEANUP, READY), IGN(SU_CLEANUP, PROGRESS), IGN(SU_CLEANUP, EXITED),
	{SU_CLEANUP, E(TREE_EMPTY), I(BACKOFF), "note(restart)", false, NEVER, NEVER, T_TURN + 20 * S,
	 check_restarted},
	{SU_CLEANUP, E(GUARDIAN_LOST), I(BACKOFF), "note(restart)", false, NEVER, NEVER, T_TURN + 20 * S,
	 check_restarted},
	IGN(SU_CLEANUP, WATCHDOG),
	{SU_CLEANUP, E(KILL_TIMER), I(CLEANUP), "kill", false, NEVER, NEVER, NEVER, NULL},
	IGN(SU_CLEANUP, RESTART_TIMER),
	{SU_CLEANUP, E(STOP), I(CLEANUP), "", false, T_TURN + STOP_TIMEOUT, NEVER, NEVER, check_stop_pending},
	{SU_CLEANUP, E(KILL_NOW), I(CLEANUP), "kill", false, NEVER, NEVER, NEVER, NULL},
	/* the worker died on its own: its verdict stands (asked again in backoff) */
	IGN(SU_CLEANUP, RESTART),

	/* BACKOFF: waiting for T_TURN + 20 s. */
	IGN(SU_BACKOFF, START), IGN(SU_BACKOFF, EXEC_OK), IGN(SU_BACKOFF, EXEC_FAILED),
	IGN(SU_BACKOFF, SPAWN_FAILED), IGN(SU_BACKOFF, READY), IGN(SU_BACKOFF, PROGRESS), IGN(SU_BACKOFF, EXITED),
	IGN(SU_BACKOFF, TREE_EMPTY), IGN(SU_BACKOFF, GUARDIAN_LOST), IGN(SU_BACKOFF, WATCHDOG),
	IGN(SU_BACKOFF, KILL_TIMER),
	{SU_BACKOFF, E(RESTART_TIMER), I(STARTING), "spawn", false, NEVER, NEVER, NEVER, NULL},
	{SU_BACKOFF, E(STOP), I(DONE), "retire note(done)", false, NEVER, NEVER, NEVER, check_retired},
	IGN(SU_BACKOFF, KILL_NOW),
	/* the wait is dropped, the crash history kept */
	{SU_BACKOFF, E(RESTART), I(STARTING), "note(restart_requested) spawn", false, NEVER, NEVER, NEVER,
	 check_restart_from_backoff},

	/* DONE: nothing, ever. */
	IGN(SU_DONE, START), IGN(SU_DONE, EXEC_OK), IGN(SU_DONE, EXEC_FAILED), IGN(SU_DONE, SPAWN_FAILED),
	IGN(SU_DONE, READY), IGN(SU_DONE, PROGRESS), IGN(SU_DONE, EXITED), IGN(SU_DONE, TREE_EMPTY),
	IGN(SU_DONE, GUARDIAN_LOST), IGN(SU_DONE, WATCHDOG), IGN(SU_DONE, KILL_TIMER), IGN(SU_DONE, RESTART_TIMER),
	IGN(SU_DONE, STOP), IGN(SU_DONE, KILL_NOW),
	/* ended for good under its policy: nothing to restart */
	IGN(SU_DONE, RESTART),

	/* RESTARTING: READY x RESTART at T_TURN (TERM sent, KILL due at T_TURN + 5 s). */
	IGN(SU_RESTARTING, START), IGN(SU_RESTARTING, EXEC_OK), IGN(SU_RESTARTING, EXEC_FAILED),
	IGN(SU_RESTARTING, SPAWN_FAILED), IGN(SU_RESTARTING, READY), IGN(SU_RESTARTING, PROGRESS),
	/* no decide, no crash; leftovers keep the restart's KILL time */
	{SU_RESTARTING, E(EXITED), I(RESTARTING), "note(exited)", false, T_TURN + STOP_TIMEOUT, NEVER, NEVER,
	 check_restart_exited},
	/* the tree gone with the worker's death unreported: noted as SIGKILL, started at once */
	{SU_RESTARTING, E(TREE_EMPTY), I(STARTING), "note(exited) spawn", false, NEVER, NEVER, NEVER,
	 check_restarted_after_loss},
	{SU_RESTARTING, E(GUARDIAN_LOST), I(STARTING), "note(exited) spawn", false, NEVER, NEVER, NEVER,
	 check_restarted_after_loss},
	IGN(SU_RESTARTING, WATCHDOG),
	/* a worker that ignores TERM: KILL at the stop timeout, still no crash */
	{SU_RESTARTING, E(KILL_TIMER), I(RESTARTING), "kill", false, NEVER, NEVER, NEVER, NULL},
	IGN(SU_RESTARTING, RESTART_TIMER),
	/* the supervisor stops: the tree already being stopped, for good now */
	{SU_RESTARTING, E(STOP), I(STOPPING), "", false, T_TURN + STOP_TIMEOUT, NEVER, NEVER,
	 check_stop_pending},
	{SU_RESTARTING, E(KILL_NOW), I(RESTARTING), "kill", false, NEVER, NEVER, NEVER, NULL},
	/* one restart at a time: no second TERM, the same KILL time */
	IGN(SU_RESTARTING, RESTART),

	/* ---- variants: the same cells, reached another way ---- */
	/* a fork failure at the first start: a failed start with backoff (SPEC G8) */
	{SU_IDLE_FORKFAIL, E(START), I(BACKOFF), "spawn note(spawn_failed) decide(start_failed) note(crash) note(restart)",
	 false, NEVER, NEVER, NOW + 20 * S, check_spawn_failed},
	/* a later start that cannot exec (the binary went away): a crash like any other */
	{SU_STARTING_AGAIN, E(EXEC_FAILED), I(CLEANUP), "note(exec_failed) decide(start_failed) note(crash)", false,
	 NEVER, NEVER, NEVER, check_later_exec_failed},
	{SU_STARTING_AGAIN, E(EXEC_OK), I(UP), "note(started)", false, NEVER, NOW + WATCHDOG, NEVER, check_exec_ok},
	/* a failed start due at once waits for the timer: never a restart in the same dispatch */
	{SU_STARTING_ZERO, E(SPAWN_FAILED), I(BACKOFF),
	 "note(spawn_failed) decide(start_failed) note(crash) note(restart)", false, NEVER, NEVER, NOW,
	 check_spawn_failed},
	/* the worker's end is unknown whatever its pid: the guardian's loss is its death */
	{SU_UP_NOPID, E(GUARDIAN_LOST), I(BACKOFF), "note(exited) decide(signaled) note(crash) note(restart)", false,
	 NEVER, NEVER, NOW + 20 * S, check_crash_by_guardian},
	/* a stop before the exec report */
	{SU_STOPPING_EARLY, E(EXEC_OK), I(STOPPING), "", false, T_EXEC + STOP_TIMEOUT, NEVER, NEVER,
	 check_exec_ok_while_stopping},
	{SU_STOPPING_EARLY, E(EXEC_FAILED), I(STOPPING), "", true, KEEP, KEEP, KEEP, NULL},
	{SU_STOPPING_EARLY, E(SPAWN_FAILED), I(DONE), "note(spawn_failed) retire note(done)", false, NEVER, NEVER,
	 NEVER, check_retired},
	{SU_STOPPING_EARLY, E(EXITED), I(CLEANUP), "note(exited)", false, T_EXEC + STOP_TIMEOUT, NEVER, NEVER,
	 NULL},
	{SU_STOPPING_EARLY, E(GUARDIAN_LOST), I(DONE), "note(exited) retire note(done)", false, NEVER, NEVER, NEVER,
	 check_retired},
	/* the watchdog's stop: its end is a crash (TETHER_END_WATCHDOG) */
	{SU_STOPPING_WD, E(EXITED), I(CLEANUP), "note(exited) decide(watchdog) note(crash)", false,
	 T_TURN + STOP_TIMEOUT, NEVER, NEVER, NULL},
	{SU_STOPPING_WD, E(GUARDIAN_LOST), I(BACKOFF), "note(exited) decide(watchdog) note(crash) note(restart)",
	 false, NEVER, NEVER, NOW + 20 * S, NULL},
	{SU_STOPPING_WD, E(PROGRESS), I(STOPPING), "", true, KEEP, KEEP, KEEP, NULL},
	{SU_STOPPING_WD, E(WATCHDOG), I(STOPPING), "", true, KEEP, KEEP, KEEP, NULL},
	{SU_STOPPING_WD, E(STOP), I(STOPPING), "", false, T_TURN + STOP_TIMEOUT, NEVER, NEVER, check_stop_pending},
	{SU_STOPPING_WD, E(KILL_TIMER), I(STOPPING), "kill", false, NEVER, NEVER, NEVER, NULL},
	{SU_STOPPING_WD, E(KILL_NOW), I(STOPPING), "kill", false, NEVER, NEVER, NEVER, NULL},
	/* the verdict's restart is due before the tree is gone: start at once */
	{SU_CLEANUP_SOON, E(TREE_EMPTY), I(STARTING), "note(restart) spawn", false, NEVER, NEVER, NEVER,
	 check_restarted},
	{SU_CLEANUP_DONE, E(TREE_EMPTY), I(DONE), "retire note(done)", false, NEVER, NEVER, NEVER, check_retired},
	{SU_CLEANUP_GIVE_UP, E(TREE_EMPTY), I(DONE), "retire note(done)", false, NEVER, NEVER, NEVER, check_retired},
	{SU_CLEANUP_STOPPED, E(TREE_EMPTY), I(DONE), "retire note(done)", false, NEVER, NEVER, NEVER, check_retired},
	{SU_CLEANUP_STOPPED, E(GUARDIAN_LOST), I(DONE), "retire note(done)", false, NEVER, NEVER, NEVER,
	 check_retired},
	/* the guardian reports the exec failure, then the child's exit 127 */
	{SU_CLEANUP_EXECFAIL, E(EXITED), I(CLEANUP), "", true, KEEP, KEEP, KEEP, NULL},
	{SU_CLEANUP_EXECFAIL, E(TREE_EMPTY), I(DONE), "retire note(done)", false, NEVER, NEVER, NEVER, check_retired},
	{SU_CLEANUP_EXECFAIL, E(GUARDIAN_LOST), I(DONE), "retire note(done)", false, NEVER, NEVER, NEVER,
	 check_retired},
	/* the restart's worker has died: the tree's end starts the next at once */
	{SU_RESTARTING_EXITED, E(TREE_EMPTY), I(STARTING), "spawn", false, NEVER, NEVER, NEVER,
	 check_restarted_at_once},
	{SU_RESTARTING_EXITED, E(GUARDIAN_LOST), I(STARTING), "spawn", false, NEVER, NEVER, NEVER,
	 check_restarted_at_once},
	{SU_RESTARTING_EXITED, E(STOP), I(STOPPING), "", false, T_TURN + STOP_TIMEOUT, NEVER, NEVER,
	 check_stop_pending},
	{SU_RESTARTING_EXITED, E(KILL_TIMER), I(RESTARTING), "kill", false, NEVER, NEVER, NEVER, NULL},
	/* restarted before it was ready: the same as from READY */
	{SU_RESTARTING_UP, E(EXITED), I(RESTARTING), "note(exited)", false, T_TURN + STOP_TIMEOUT, NEVER, NEVER,
	 check_restart_exited},
	{SU_RESTARTING_UP, E(READY), I(RESTARTING), "", true, KEEP, KEEP, KEEP, NULL},
	/* a hung instance is already being restarted, as a crash */
	{SU_STOPPING_WD, E(RESTART), I(STOPPING), "", true, KEEP, KEEP, KEEP, NULL},
	/* a failed start after a requested restart is a failed start like any other */
	{SU_BACKOFF_FORKFAIL, E(RESTART), I(BACKOFF),
	 "note(restart_requested) spawn note(spawn_failed) decide(start_failed) note(crash) note(restart)", false,
	 NEVER, NEVER, NOW + 20 * S, NULL},
	{SU_BACKOFF_FORKFAIL, E(RESTART_TIMER), I(BACKOFF),
	 "spawn note(spawn_failed) decide(start_failed) note(crash) note(restart)", false, NEVER, NEVER, NOW + 20 * S,
	 NULL},
};

#define NCELLS (sizeof cells / sizeof cells[0])

/* The state a setup ends in. */
static enum tether_istate setup_state(enum setup su)
{
	static const enum tether_istate st[] = {
		[SU_IDLE] = I(IDLE),
		[SU_STARTING] = I(STARTING),
		[SU_UP] = I(UP),
		[SU_READY] = I(READY),
		[SU_STOPPING] = I(STOPPING),
		[SU_CLEANUP] = I(CLEANUP),
		[SU_BACKOFF] = I(BACKOFF),
		[SU_DONE] = I(DONE),
		[SU_IDLE_FORKFAIL] = I(IDLE),
		[SU_STARTING_AGAIN] = I(STARTING),
		[SU_STARTING_ZERO] = I(STARTING),
		[SU_UP_NOPID] = I(UP),
		[SU_STOPPING_EARLY] = I(STOPPING),
		[SU_STOPPING_WD] = I(STOPPING),
		[SU_CLEANUP_SOON] = I(CLEANUP),
		[SU_CLEANUP_DONE] = I(CLEANUP),
		[SU_CLEANUP_GIVE_UP] = I(CLEANUP),
		[SU_CLEANUP_STOPPED] = I(CLEANUP),
		[SU_CLEANUP_EXECFAIL] = I(CLEANUP),
		[SU_BACKOFF_FORKFAIL] = I(BACKOFF),
		[SU_RESTARTING] = I(RESTARTING),
		[SU_RESTARTING_EXITED] = I(RESTARTING),
		[SU_RESTARTING_UP] = I(RESTARTING),
	};
	return st[su];
}

/* Every field equal (not memcmp: padding is indeterminate after init's
 * compound-literal assignment). */
static bool same_instance(const struct tether_instance *a, const struct tether_instance *b)
{
	return a->id == b->id && a->state == b->state && a->stopping_for_good == b->stopping_for_good &&
	       a->watchdog_fired == b->watchdog_fired && a->ever_execd == b->ever_execd && a->ready == b->ready &&
	       a->verdict_taken == b->verdict_taken && a->verdict.action == b->verdict.action &&
	       a->verdict.crash == b->verdict.crash && a->verdict.delay == b->verdict.delay &&
	       a->verdict.restart_at == b->verdict.restart_at &&
	       a->verdict.crashes_in_window == b->verdict.crashes_in_window &&
	       a->verdict.instance_crashes == b->verdict.instance_crashes && a->end == b->end &&
	       a->restart_at == b->restart_at && a->watchdog_at == b->watchdog_at && a->kill_at == b->kill_at &&
	       a->exec_at == b->exec_at && a->last_progress == b->last_progress && a->died_at == b->died_at &&
	       a->pid == b->pid && a->last_status == b->last_status && a->last_errno == b->last_errno &&
	       a->restarts == b->restarts && a->restarts_requested == b->restarts_requested &&
	       a->crashes.times == b->crashes.times && a->crashes.cap == b->crashes.cap &&
	       a->crashes.n == b->crashes.n && a->crashes.first == b->crashes.first;
}

static void check_timer(const char *name, int64_t got, int64_t before, int64_t expect, const struct cell *c)
{
	int64_t want = expect == KEEP ? before : expect;
	ck_assert_msg(got == want, "%s x %s: %s = %lld, expected %lld", setup_names[c->from],
		      tether_ievent_name(c->event), name, (long long)got, (long long)want);
}

START_TEST(cell)
{
	const struct cell *c = &cells[_i];
	drive(c->from);
	ck_assert_msg(in.state == setup_state(c->from), "setup %s ended in %s", setup_names[c->from],
		      tether_istate_name(in.state));
	clear_ops();
	struct tether_instance before = in;

	ev(c->event, event_value(c->event), NOW);

	ck_assert_msg(in.state == c->to, "%s x %s: state %s, expected %s", setup_names[c->from],
		      tether_ievent_name(c->event), tether_istate_name(in.state), tether_istate_name(c->to));
	ck_assert_msg(strcmp(ops_str(), c->ops) == 0, "%s x %s: ops \"%s\", expected \"%s\"", setup_names[c->from],
		      tether_ievent_name(c->event), ops_str(), c->ops);
	check_timer("kill_at", in.kill_at, before.kill_at, c->kill_at, c);
	check_timer("watchdog_at", in.watchdog_at, before.watchdog_at, c->watchdog_at, c);
	check_timer("restart_at", in.restart_at, before.restart_at, c->restart_at, c);
	if (c->inert)
		ck_assert_msg(same_instance(&before, &in), "%s x %s: the instance changed",
			      setup_names[c->from], tether_ievent_name(c->event));
	if (c->check)
		c->check();
	/* the next deadline is the earliest timer left */
	int64_t d = in.restart_at;
	if (in.watchdog_at < d)
		d = in.watchdog_at;
	if (in.kill_at < d)
		d = in.kill_at;
	ck_assert_int_eq(tether_instance_next_deadline(&in), d);
}
END_TEST

/* The table names every (state, event) pair once among its 8 canonical rows. */
START_TEST(cell_table_is_complete)
{
	unsigned seen[TETHER_I_NSTATES][TETHER_E_NEVENTS] = {{0}};
	size_t canonical = 0;
	for (size_t k = 0; k < NCELLS; k++) {
		ck_assert_int_lt(cells[k].from, SU_COUNT);
		if (cells[k].from >= SU_NCANONICAL)
			continue;
		canonical++;
		seen[setup_state(cells[k].from)][cells[k].event]++;
	}
	ck_assert_uint_eq(canonical, TETHER_I_NSTATES * TETHER_E_NEVENTS);
	ck_assert_uint_eq(canonical, 135); /* 9 states x 15 events */
	for (int s = 0; s < TETHER_I_NSTATES; s++)
		for (int e = 0; e < TETHER_E_NEVENTS; e++)
			ck_assert_msg(seen[s][e] == 1, "%s x %s named %u times", tether_istate_name((enum tether_istate)s),
				      tether_ievent_name((enum tether_ievent)e), seen[s][e]);
}
END_TEST

/* ---- sequences -------------------------------------------------------------------- */

/* SPEC §1: a COMMAND that cannot be executed at its first start is not retried:
 * no verdict, the supervisor is told (it exits 127), and the instance is done
 * once the child's tree is gone. */
START_TEST(exec_failed_at_first_start_is_final)
{
	use_policy(default_policy());
	step(E(START), 0, T_START, I(STARTING));
	step(E(EXEC_FAILED), EACCES, T_EXEC, I(CLEANUP));
	ASSERT_OPS("spawn note(exec_failed)");
	ck_assert(in.stopping_for_good);
	ck_assert(!in.verdict_taken);
	ck_assert(!in.ever_execd);
	ck_assert_int_eq(last_note(TETHER_N_EXEC_FAILED)->value, EACCES);
	/* the note is sent while ever_execd is still false: the supervisor reads it */
	ck_assert_int_eq(last_note(TETHER_N_EXEC_FAILED)->state, I(STARTING));
	ck_assert_str_eq(tether_istate_public_name(&in), "exited");
	step(E(EXITED), EXIT_STATUS(127), T_EXEC + MS, I(CLEANUP));
	step(E(TREE_EMPTY), 0, T_EXEC + 2 * MS, I(DONE));
	ASSERT_OPS("spawn note(exec_failed) retire note(done)");
	ck_assert_uint_eq(fx.spawns, 1);
	ck_assert_uint_eq(in.restarts, 0);
	ck_assert_uint_eq(fx.all.n, 0); /* no crash recorded */
	/* nothing is left to fire */
	ck_assert_int_eq(tether_instance_next_deadline(&in), NEVER);
	tether_instance_fire_timers(&in, 1000 * S, &fx.ops);
	ck_assert_uint_eq(fx.spawns, 1);
}
END_TEST

/* An exec failure after the instance once ran (the binary was removed during an
 * upgrade): a START_FAILED crash, and a restart with the policy's backoff. */
START_TEST(exec_failed_after_an_exec_is_a_crash)
{
	use_policy(default_policy());
	step(E(START), 0, T_START, I(STARTING));
	step(E(EXEC_OK), PID, T_EXEC, I(UP));
	step(E(READY), 0, T_READY, I(READY));
	step(E(EXITED), EXIT_STATUS(2), T_TURN, I(CLEANUP));
	step(E(TREE_EMPTY), 0, T_EMPTY, I(STARTING)); /* 1 s from T_TURN: due at T_EMPTY */
	ck_assert_uint_eq(in.restarts, 1);
	int64_t t = T_EMPTY + 10 * S;
	clear_ops();
	step(E(EXEC_FAILED), ENOENT, t, I(CLEANUP));
	ASSERT_OPS("note(exec_failed) decide(start_failed) note(crash)");
	ck_assert(!in.stopping_for_good);
	ck_assert(in.verdict_taken);
	ck_assert_int_eq(in.verdict.action, TETHER_ACTION_RESTART);
	ck_assert_int_eq(in.verdict.delay, 2 * S); /* k = 2 */
	ck_assert_int_eq(in.verdict.restart_at, t + 2 * S);
	ck_assert_int_eq(last_note(TETHER_N_CRASH)->value, 2);
	step(E(EXITED), EXIT_STATUS(127), t + MS, I(CLEANUP)); /* the child's exit: already accounted for */
	step(E(TREE_EMPTY), 0, t + 2 * MS, I(BACKOFF));
	ASSERT_OPS("note(exec_failed) decide(start_failed) note(crash) note(restart)");
	ck_assert_int_eq(in.restart_at, t + 2 * S);
	ck_assert_uint_eq(in.restarts, 2);
	ck_assert_uint_eq(fx.all.n, 2);
	ck_assert_uint_eq(in.crashes.n, 2);
	tether_instance_fire_timers(&in, t + 2 * S, &fx.ops);
	ASSERT_STATE(I(STARTING));
	ck_assert_uint_eq(fx.spawns, 3);
}
END_TEST

/* SPEC G8: a fork failing with EAGAIN is a failed start with backoff: one spawn
 * per restart_at, the policy's delays, never a synchronous retry loop; beyond
 * the crash limit the instance gives up. */
START_TEST(fork_failure_backs_off)
{
	use_policy(default_policy());
	fx.fail_spawn_from = 1;
	int64_t t = T_START;
	step(E(START), 0, t, I(BACKOFF));
	ASSERT_OPS("spawn note(spawn_failed) decide(start_failed) note(crash) note(restart)");
	ck_assert_int_eq(in.last_errno, EAGAIN);
	ck_assert_int_eq(last_note(TETHER_N_SPAWN_FAILED)->value, EAGAIN);
	ck_assert_int_eq(last_decide()->value, t);
	static const int64_t delays[] = {1, 2, 4, 8, 16, 32, 60, 60, 60, 60};
	for (size_t k = 0; k < sizeof delays / sizeof delays[0]; k++) {
		ck_assert_uint_eq(fx.spawns, k + 1);
		ck_assert_int_eq(in.restart_at, t + delays[k] * S);
		ck_assert_int_eq(last_note(TETHER_N_RESTART)->value, delays[k] * S);
		ck_assert_uint_eq(in.restarts, k + 1);
		ck_assert_str_eq(tether_istate_public_name(&in), "backoff");
		/* not yet: nothing happens a nanosecond early */
		tether_instance_fire_timers(&in, in.restart_at - 1, &fx.ops);
		ck_assert_uint_eq(fx.spawns, k + 1);
		ck_assert_int_eq(tether_instance_next_deadline(&in), t + delays[k] * S);
		t = in.restart_at;
		tether_instance_fire_timers(&in, t, &fx.ops);
		ck_assert_uint_eq(fx.spawns, k + 2); /* exactly one more */
		ck_assert_int_eq(last_decide()->value, t);
	}
	/* the 11th crash in the window passes the limit of 10 */
	ASSERT_STATE(I(DONE));
	ck_assert_int_eq(last_note(TETHER_N_GIVE_UP)->value, 11);
	ck_assert_uint_eq(count_kind(OP_RETIRE), 1);
	ck_assert_uint_eq(count_kind(OP_DECIDE), 11);
	ck_assert_uint_eq(in.restarts, 10);
	ck_assert_int_eq(tether_instance_next_deadline(&in), NEVER);
}
END_TEST

/* Even with --backoff-initial 0 ("restart at once") a start that fails inside
 * spawn() is not retried inside the same dispatch: start -> spawn_failed ->
 * settle -> start would recurse until the crash limit (deep enough, with a
 * large --crash-limit, to overflow the stack: G8 says no crash). It waits in
 * BACKOFF, due at once, for the next fire_timers. */
START_TEST(fork_failure_with_zero_backoff_never_recurses)
{
	struct tether_policy p = default_policy();
	p.backoff_initial = 0;
	p.crash_limit = 1000;
	use_policy(p);
	fx.fail_spawn_from = 1;
	step(E(START), 0, T_START, I(BACKOFF));
	ck_assert_uint_eq(fx.spawns, 1);
	ck_assert_int_eq(in.restart_at, T_START);
	ck_assert_int_eq(tether_instance_next_deadline(&in), T_START);
	for (size_t k = 2; k <= 50; k++) {
		tether_instance_fire_timers(&in, T_START + (int64_t)k * MS, &fx.ops);
		ck_assert_uint_eq(fx.spawns, k);
		ASSERT_STATE(I(BACKOFF));
	}
	/* and when fork works again, the next due timer starts it */
	fx.fail_spawn_from = 0;
	tether_instance_fire_timers(&in, T_START + S, &fx.ops);
	ASSERT_STATE(I(STARTING));
	ck_assert_uint_eq(fx.spawns, 51);
}
END_TEST

/* --notify-ready: READY=1 can overtake the exec report; it is remembered and
 * the instance is ready at exec. */
START_TEST(early_ready_with_notify_ready)
{
	step(E(START), 0, T_START, I(STARTING));
	step(E(READY), 0, T_START + MS, I(STARTING));
	ASSERT_OPS("spawn");
	ck_assert_str_eq(tether_istate_public_name(&in), "starting");
	step(E(EXEC_OK), PID, T_EXEC, I(READY));
	ASSERT_OPS("spawn note(started) note(ready)");
	ck_assert(in.ready);
	ck_assert_str_eq(tether_istate_public_name(&in), "running");
}
END_TEST

START_TEST(notify_ready_waits_for_ready)
{
	step(E(START), 0, T_START, I(STARTING));
	step(E(EXEC_OK), PID, T_EXEC, I(UP));
	ck_assert(!in.ready);
	ck_assert_str_eq(tether_istate_public_name(&in), "starting");
	step(E(PROGRESS), 0, T_EXEC + S, I(UP)); /* a watchdog ping is no READY=1 */
	step(E(READY), 0, T_READY, I(READY));
	ASSERT_OPS("spawn note(started) note(ready)");
	step(E(READY), 0, T_READY + S, I(READY)); /* noted once */
	ASSERT_OPS("spawn note(started) note(ready)");
}
END_TEST

START_TEST(ready_at_exec_without_notify_ready)
{
	fx.ops.notify_ready = false;
	step(E(START), 0, T_START, I(STARTING));
	step(E(EXEC_OK), PID, T_EXEC, I(READY));
	ASSERT_OPS("spawn note(started) note(ready)");
	ck_assert(in.ready);
	ck_assert_int_eq(in.pid, PID);
	ck_assert_int_eq(last_note(TETHER_N_STARTED)->value, PID);
}
END_TEST

/* An early READY=1 belongs to its run: after a failed start, the next run
 * waits for its own. */
START_TEST(early_ready_does_not_outlive_its_run)
{
	fx.verdict_delay = 1 * S;
	step(E(START), 0, T_START, I(STARTING));
	step(E(READY), 0, T_START + MS, I(STARTING));
	step(E(SPAWN_FAILED), EAGAIN, T_START + 2 * MS, I(BACKOFF));
	ck_assert(!in.ready);
	tether_instance_fire_timers(&in, T_START + 2 * MS + S, &fx.ops);
	ASSERT_STATE(I(STARTING));
	step(E(EXEC_OK), PID, T_EXEC + S, I(UP));
}
END_TEST

/* Progress (WATCHDOG=1 or the progress file) pushes the deadline to now +
 * --watchdog; without it the watchdog fires at the deadline, not before. */
START_TEST(watchdog_progress_pushes_deadline)
{
	step(E(START), 0, T_START, I(STARTING));
	step(E(EXEC_OK), PID, T_EXEC, I(UP));
	ck_assert_int_eq(in.watchdog_at, T_EXEC + WATCHDOG);
	ck_assert_int_eq(tether_instance_next_deadline(&in), T_EXEC + WATCHDOG);
	step(E(READY), 0, T_READY, I(READY));
	ck_assert_int_eq(in.watchdog_at, T_EXEC + WATCHDOG); /* READY=1 is not progress */
	int64_t p1 = T_EXEC + 20 * S;
	step(E(PROGRESS), 0, p1, I(READY));
	ck_assert_int_eq(in.watchdog_at, p1 + WATCHDOG);
	ck_assert_int_eq(in.last_progress, p1);
	ck_assert_int_eq(tether_instance_next_deadline(&in), p1 + WATCHDOG);
	/* the old deadline passes: nothing */
	tether_instance_fire_timers(&in, T_EXEC + WATCHDOG, &fx.ops);
	ASSERT_STATE(I(READY));
	tether_instance_fire_timers(&in, p1 + WATCHDOG - 1, &fx.ops);
	ASSERT_STATE(I(READY));
	ASSERT_OPS("spawn note(started) note(ready)");
	/* the new one: hung */
	clear_ops();
	tether_instance_fire_timers(&in, p1 + WATCHDOG, &fx.ops);
	ASSERT_STATE(I(STOPPING));
	ASSERT_OPS("note(watchdog) term");
	ck_assert_int_eq(last_note(TETHER_N_WATCHDOG)->value, WATCHDOG);
	ck_assert_int_eq(in.kill_at, p1 + WATCHDOG + STOP_TIMEOUT);
	ck_assert_int_eq(in.watchdog_at, NEVER);
	ck_assert_str_eq(tether_istate_public_name(&in), "hung");
}
END_TEST

START_TEST(watchdog_off_arms_nothing)
{
	fx.ops.watchdog = 0;
	step(E(START), 0, T_START, I(STARTING));
	step(E(EXEC_OK), PID, T_EXEC, I(UP));
	ck_assert_int_eq(in.watchdog_at, NEVER);
	step(E(PROGRESS), 0, T_READY, I(UP));
	ck_assert_int_eq(in.watchdog_at, NEVER);
	ck_assert_int_eq(in.last_progress, T_READY);
	ck_assert_int_eq(tether_instance_next_deadline(&in), NEVER);
	tether_instance_fire_timers(&in, INT64_MAX - 1, &fx.ops);
	ASSERT_STATE(I(UP));
}
END_TEST

/* A watchdog kill ends as TETHER_END_WATCHDOG whatever the wait status says
 * (the worker died of our TERM or KILL), and is a crash: backoff, restart. */
START_TEST(watchdog_kill_is_a_watchdog_end)
{
	use_policy(default_policy());
	step(E(START), 0, T_START, I(STARTING));
	step(E(EXEC_OK), PID, T_EXEC, I(UP));
	int64_t hung = T_EXEC + WATCHDOG;
	tether_instance_fire_timers(&in, hung, &fx.ops);
	ASSERT_STATE(I(STOPPING));
	/* it ignores TERM: KILL at the stop timeout, once */
	tether_instance_fire_timers(&in, hung + STOP_TIMEOUT, &fx.ops);
	ck_assert_uint_eq(count_kind(OP_KILL), 1);
	ck_assert_int_eq(in.kill_at, NEVER);
	int64_t died = hung + STOP_TIMEOUT + MS;
	clear_ops();
	step(E(EXITED), SIGNAL_STATUS(SIGKILL), died, I(CLEANUP));
	ASSERT_OPS("note(exited) decide(watchdog) note(crash)");
	ck_assert_int_eq(in.end, TETHER_END_WATCHDOG);
	ck_assert_int_eq(last_decide()->value, died);
	step(E(TREE_EMPTY), 0, died + MS, I(BACKOFF));
	ck_assert_int_eq(in.restart_at, died + 1 * S);
	tether_instance_fire_timers(&in, died + S, &fx.ops);
	ASSERT_STATE(I(STARTING));
	ck_assert(!in.watchdog_fired); /* the new run starts clean */
	step(E(EXEC_OK), PID2, died + 2 * S, I(UP));
	step(E(EXITED), SIGNAL_STATUS(SIGSEGV), died + 3 * S, I(CLEANUP));
	ck_assert_int_eq(in.end, TETHER_END_SIGNALED);
}
END_TEST

/* SPEC §1: the supervisor's stop reaching an instance the watchdog is already
 * stopping makes the end final: no verdict, no restart, and the KILL stays
 * where the watchdog put it. */
START_TEST(stop_during_watchdog_stop_is_final)
{
	use_policy(default_policy());
	drive(SU_STOPPING_WD);
	ck_assert_str_eq(tether_istate_public_name(&in), "hung");
	clear_ops();
	step(E(STOP), 0, NOW, I(STOPPING));
	ASSERT_OPS("");
	ck_assert(in.stopping_for_good);
	ck_assert_int_eq(in.kill_at, T_TURN + STOP_TIMEOUT);
	ck_assert_str_eq(tether_istate_public_name(&in), "stopping");
	step(E(EXITED), SIGNAL_STATUS(SIGTERM), NOW + S, I(CLEANUP));
	step(E(TREE_EMPTY), 0, NOW + 2 * S, I(DONE));
	ASSERT_OPS("note(exited) retire note(done)");
	ck_assert_uint_eq(count_kind(OP_DECIDE), 0);
	ck_assert_uint_eq(fx.all.n, 0);
	ck_assert_uint_eq(in.restarts, 0);
}
END_TEST

/* SPEC §1: a second stop signal does not restart the stop; the third escalates
 * to SIGKILL at once (and the stop timer has nothing left to do). */
START_TEST(kill_now_escalates_at_once)
{
	drive(SU_READY);
	clear_ops();
	step(E(STOP), 0, T_TURN, I(STOPPING));
	step(E(STOP), 0, T_TURN + S, I(STOPPING));
	ASSERT_OPS("term");
	ck_assert_int_eq(in.kill_at, T_TURN + STOP_TIMEOUT);
	step(E(KILL_NOW), 0, T_TURN + 2 * S, I(STOPPING));
	ASSERT_OPS("term kill");
	ck_assert_int_eq(in.kill_at, NEVER);
	tether_instance_fire_timers(&in, T_TURN + STOP_TIMEOUT, &fx.ops);
	ASSERT_OPS("term kill");
	/* after the worker's death too */
	step(E(EXITED), SIGNAL_STATUS(SIGKILL), T_TURN + 3 * S, I(CLEANUP));
	ck_assert_int_eq(in.kill_at, T_TURN + 3 * S + STOP_TIMEOUT); /* leftovers get their own grace */
	step(E(KILL_NOW), 0, T_TURN + 4 * S, I(CLEANUP));
	ck_assert_int_eq(in.kill_at, NEVER);
	ASSERT_OPS("term kill note(exited) kill");
	step(E(TREE_EMPTY), 0, T_TURN + 5 * S, I(DONE));
}
END_TEST

/* The kill timer fires kill() once, and clears itself. */
START_TEST(kill_timer_fires_once)
{
	drive(SU_STOPPING);
	clear_ops();
	int64_t kill_at = T_TURN + STOP_TIMEOUT;
	ck_assert_int_eq(tether_instance_next_deadline(&in), kill_at);
	tether_instance_fire_timers(&in, kill_at - 1, &fx.ops);
	ASSERT_OPS("");
	tether_instance_fire_timers(&in, kill_at, &fx.ops);
	ASSERT_OPS("kill");
	ck_assert_int_eq(in.kill_at, NEVER);
	ck_assert_int_eq(tether_instance_next_deadline(&in), NEVER);
	tether_instance_fire_timers(&in, kill_at + 1, &fx.ops);
	tether_instance_fire_timers(&in, kill_at + 100 * S, &fx.ops);
	ASSERT_OPS("kill");
	ASSERT_STATE(I(STOPPING));
	/* in CLEANUP likewise: the dead worker's leftovers */
	step(E(EXITED), SIGNAL_STATUS(SIGKILL), kill_at + 101 * S, I(CLEANUP));
	clear_ops();
	tether_instance_fire_timers(&in, kill_at + 101 * S + STOP_TIMEOUT, &fx.ops);
	tether_instance_fire_timers(&in, kill_at + 200 * S, &fx.ops);
	ASSERT_OPS("kill");
}
END_TEST

/* fire_timers fires what is due at now, and nothing else. */
START_TEST(fire_timers_fires_due_timers_only)
{
	/* READY with its watchdog at T_EXEC + 30 s */
	drive(SU_READY);
	clear_ops();
	int64_t t = T_EXEC + WATCHDOG - 1;
	tether_instance_fire_timers(&in, t, &fx.ops);
	ASSERT_OPS("");
	ASSERT_STATE(I(READY));
	/* STOPPING with its kill timer at t + 5 s: only that one */
	step(E(STOP), 0, t, I(STOPPING));
	clear_ops();
	tether_instance_fire_timers(&in, t + STOP_TIMEOUT - 1, &fx.ops);
	ASSERT_OPS("");
	tether_instance_fire_timers(&in, t + STOP_TIMEOUT + 1000 * S, &fx.ops);
	ASSERT_OPS("kill");
	/* BACKOFF: the restart timer at its time */
	tether_instance_done(&in);
	ck_assert_int_eq(tether_instance_init(&in, 3), 0);
	drive(SU_BACKOFF);
	clear_ops();
	tether_instance_fire_timers(&in, T_TURN + 20 * S - 1, &fx.ops);
	ASSERT_OPS("");
	ASSERT_STATE(I(BACKOFF));
	tether_instance_fire_timers(&in, T_TURN + 20 * S, &fx.ops);
	ASSERT_OPS("spawn");
	ASSERT_STATE(I(STARTING));
	/* and when the watchdog's timer is due, its stop's kill timer is not */
	tether_instance_done(&in);
	ck_assert_int_eq(tether_instance_init(&in, 3), 0);
	drive(SU_READY);
	clear_ops();
	tether_instance_fire_timers(&in, T_EXEC + WATCHDOG, &fx.ops);
	ASSERT_OPS("note(watchdog) term");
	ck_assert_int_eq(in.kill_at, T_EXEC + WATCHDOG + STOP_TIMEOUT);
}
END_TEST

/* next_deadline is the earliest of the three timers (a pure read of them). */
START_TEST(next_deadline_is_the_minimum)
{
	struct tether_instance t;
	ck_assert_int_eq(tether_instance_init(&t, 0), 0);
	ck_assert_int_eq(tether_instance_next_deadline(&t), NEVER);
	static const int64_t v[] = {5 * S, 7 * S, 9 * S, NEVER};
	for (size_t a = 0; a < 4; a++)
		for (size_t b = 0; b < 4; b++)
			for (size_t c = 0; c < 4; c++) {
				t.restart_at = v[a];
				t.watchdog_at = v[b];
				t.kill_at = v[c];
				int64_t want = v[a] < v[b] ? v[a] : v[b];
				want = v[c] < want ? v[c] : want;
				ck_assert_int_eq(tether_instance_next_deadline(&t), want);
			}
	tether_instance_done(&t);
}
END_TEST

/* GUARDIAN_LOST in each live state (the guardian takes its tree with it):
 * a crash by signal while the worker may live, final while stopping for good,
 * the verdict already taken in CLEANUP. Loop index: the setup. */
static const struct {
	enum setup su;
	const char *ops;
	enum tether_istate to;
} lost[] = {
	{SU_STARTING, "note(exited) decide(signaled) note(crash) note(restart)", I(BACKOFF)},
	{SU_UP, "note(exited) decide(signaled) note(crash) note(restart)", I(BACKOFF)},
	{SU_UP_NOPID, "note(exited) decide(signaled) note(crash) note(restart)", I(BACKOFF)},
	{SU_READY, "note(exited) decide(signaled) note(crash) note(restart)", I(BACKOFF)},
	{SU_STOPPING, "note(exited) retire note(done)", I(DONE)},
	{SU_STOPPING_EARLY, "note(exited) retire note(done)", I(DONE)},
	{SU_STOPPING_WD, "note(exited) decide(watchdog) note(crash) note(restart)", I(BACKOFF)},
	/* the verdict (RESTART after 1 s from T_TURN) is due: the restart starts at once */
	{SU_CLEANUP, "note(restart) spawn", I(STARTING)},
	{SU_CLEANUP_STOPPED, "retire note(done)", I(DONE)},
	/* a requested restart goes on: started at once, no crash */
	{SU_RESTARTING, "note(exited) spawn", I(STARTING)},
	{SU_RESTARTING_EXITED, "spawn", I(STARTING)},
};

START_TEST(guardian_lost_in_each_live_state)
{
	use_policy(default_policy());
	drive(lost[_i].su);
	size_t decides = count_kind(OP_DECIDE);
	clear_ops();
	step(E(GUARDIAN_LOST), 0, NOW, lost[_i].to);
	ck_assert_msg(strcmp(ops_str(), lost[_i].ops) == 0, "%s: ops \"%s\", expected \"%s\"",
		      setup_names[lost[_i].su], ops_str(), lost[_i].ops);
	ck_assert_int_eq(in.pid, 0);
	ck_assert_int_eq(in.kill_at, NEVER);
	ck_assert_int_eq(in.watchdog_at, NEVER);
	if (count_kind(OP_DECIDE)) {
		ck_assert_int_eq(in.last_status, SIGKILL);
		ck_assert_int_eq(last_decide()->value, NOW);
		ck_assert_int_eq(in.restart_at, NOW + 1 * S);
	}
	if (lost[_i].su == SU_CLEANUP) {
		ck_assert_uint_eq(decides, 1); /* at its death, not again */
		ck_assert_uint_eq(count_kind(OP_DECIDE), 0);
		ck_assert_uint_eq(in.restarts, 1);
	}
}
END_TEST

/* Exit 0, a non-zero exit, a signal: as the policy sees them (on-failure: a
 * clean exit ends the instance, the others restart it). Loop index: the case. */
static const struct {
	int status;
	enum tether_end end;
	enum tether_istate after_empty;
	const char *ops;
} statuses[] = {
	{EXIT_STATUS(0), TETHER_END_EXIT_ZERO, I(DONE), "note(exited) decide(exit_zero) retire note(done)"},
	{EXIT_STATUS(3), TETHER_END_EXIT_NONZERO, I(BACKOFF), "note(exited) decide(exit_nonzero) note(crash) note(restart)"},
	{SIGNAL_STATUS(SIGSEGV) | 0x80, TETHER_END_SIGNALED, I(BACKOFF),
	 "note(exited) decide(signaled) note(crash) note(restart)"},
};

START_TEST(exit_status_through_the_policy)
{
	use_policy(default_policy());
	drive(SU_READY);
	clear_ops();
	step(E(EXITED), statuses[_i].status, T_TURN, I(CLEANUP));
	ck_assert_int_eq(in.end, statuses[_i].end);
	ck_assert_int_eq(in.last_status, statuses[_i].status);
	ck_assert_int_eq(last_note(TETHER_N_EXITED)->value, statuses[_i].status);
	step(E(TREE_EMPTY), 0, T_TURN + 100 * MS, statuses[_i].after_empty); /* before the 1 s backoff ends */
	ASSERT_OPS(statuses[_i].ops);
	ck_assert_uint_eq(in.restarts, statuses[_i].after_empty == I(BACKOFF) ? 1 : 0);
}
END_TEST

START_TEST(end_of_status)
{
	ck_assert_int_eq(tether_end_of_status(EXIT_STATUS(0)), TETHER_END_EXIT_ZERO);
	ck_assert_int_eq(tether_end_of_status(EXIT_STATUS(1)), TETHER_END_EXIT_NONZERO);
	ck_assert_int_eq(tether_end_of_status(EXIT_STATUS(127)), TETHER_END_EXIT_NONZERO);
	ck_assert_int_eq(tether_end_of_status(EXIT_STATUS(255)), TETHER_END_EXIT_NONZERO);
	ck_assert_int_eq(tether_end_of_status(SIGNAL_STATUS(SIGTERM)), TETHER_END_SIGNALED);
	ck_assert_int_eq(tether_end_of_status(SIGNAL_STATUS(SIGKILL)), TETHER_END_SIGNALED);
	ck_assert_int_eq(tether_end_of_status(SIGNAL_STATUS(SIGSEGV) | 0x80), TETHER_END_SIGNALED);
}
END_TEST

/* restarts counts restarts applied (not crashes taken, not ends). */
START_TEST(restarts_counter)
{
	use_policy(default_policy());
	int64_t t = T_START;
	step(E(START), 0, t, I(STARTING));
	for (unsigned k = 1; k <= 4; k++) {
		step(E(EXEC_OK), PID + (int)k, t + MS, I(UP));
		step(E(EXITED), EXIT_STATUS(1), t + 2 * MS, I(CLEANUP));
		ck_assert_uint_eq(in.restarts, k - 1); /* not at the death */
		step(E(TREE_EMPTY), 0, t + 3 * MS, I(BACKOFF));
		ck_assert_uint_eq(in.restarts, k);
		t = in.restart_at;
		tether_instance_fire_timers(&in, t, &fx.ops);
		ASSERT_STATE(I(STARTING));
	}
	/* a clean exit ends it: no restart */
	step(E(EXEC_OK), PID, t + MS, I(UP));
	step(E(EXITED), EXIT_STATUS(0), t + 2 * MS, I(CLEANUP));
	step(E(TREE_EMPTY), 0, t + 3 * MS, I(DONE));
	ck_assert_uint_eq(in.restarts, 4);
	ck_assert_uint_eq(fx.spawns, 5);
}
END_TEST

/* The verdict is taken when the worker dies (decide's now is the death time,
 * the backoff runs from it) and applied once its tree is empty. */
START_TEST(verdict_at_death_applied_at_tree_empty)
{
	struct tether_policy p = default_policy();
	p.backoff_initial = 10 * S;
	p.backoff_max = 10 * S;
	use_policy(p);
	drive(SU_READY);
	int64_t died = T_TURN;
	clear_ops();
	step(E(EXITED), EXIT_STATUS(1), died, I(CLEANUP));
	ASSERT_OPS("note(exited) decide(exit_nonzero) note(crash)");
	ck_assert_int_eq(last_decide()->value, died);
	ck_assert_int_eq(in.died_at, died);
	ck_assert(in.verdict_taken);
	ck_assert_int_eq(in.restart_at, NEVER); /* not applied yet */
	ck_assert_uint_eq(in.restarts, 0);
	ck_assert_uint_eq(in.crashes.n, 1);
	ck_assert_int_eq(in.crashes.times[0], died);
	/* leftovers linger 4 s: the backoff still counts from the death */
	step(E(TREE_EMPTY), 0, died + 4 * S, I(BACKOFF));
	ck_assert_int_eq(in.restart_at, died + 10 * S);
	ck_assert_int_eq(last_note(TETHER_N_RESTART)->value, 10 * S);
	ck_assert_uint_eq(count_kind(OP_DECIDE), 1);
	ck_assert(!in.verdict_taken);
	/* leftovers that outlast the backoff: the restart is due, and starts at once */
	tether_instance_fire_timers(&in, died + 10 * S, &fx.ops);
	step(E(EXEC_OK), PID2, died + 11 * S, I(UP));
	int64_t died2 = died + 12 * S;
	step(E(EXITED), EXIT_STATUS(1), died2, I(CLEANUP));
	ck_assert_int_eq(in.verdict.restart_at, died2 + 10 * S);
	clear_ops();
	step(E(TREE_EMPTY), 0, died2 + 15 * S, I(STARTING));
	ASSERT_OPS("note(restart) spawn");
	ck_assert_int_eq(in.restart_at, NEVER);
	ck_assert_uint_eq(in.restarts, 2);
}
END_TEST

/* Past the crash limit: the give-up is noted at the death (the supervisor
 * begins its stop then), the instance is done when its tree is gone. */
START_TEST(give_up_beyond_the_crash_limit)
{
	struct tether_policy p = default_policy();
	p.crash_limit = 1;
	use_policy(p);
	drive(SU_READY);
	step(E(EXITED), EXIT_STATUS(1), T_TURN, I(CLEANUP));
	step(E(TREE_EMPTY), 0, T_EMPTY, I(STARTING)); /* 1 s from T_TURN */
	step(E(EXEC_OK), PID2, T_EMPTY + S, I(UP));
	clear_ops();
	step(E(EXITED), SIGNAL_STATUS(SIGABRT), T_EMPTY + 2 * S, I(CLEANUP));
	ASSERT_OPS("note(exited) decide(signaled) note(crash) note(give_up)");
	ck_assert_int_eq(last_note(TETHER_N_GIVE_UP)->value, 2);
	ck_assert_int_eq(last_note(TETHER_N_CRASH)->value, 2);
	/* the supervisor's stop follows the give-up */
	step(E(STOP), 0, T_EMPTY + 2 * S, I(CLEANUP));
	step(E(TREE_EMPTY), 0, T_EMPTY + 3 * S, I(DONE));
	ASSERT_OPS("note(exited) decide(signaled) note(crash) note(give_up) retire note(done)");
	ck_assert_uint_eq(in.restarts, 1);
}
END_TEST

/* A stop that reaches an instance whose restart verdict waits for the tree:
 * the restart does not happen. */
START_TEST(stop_in_cleanup_cancels_the_restart)
{
	drive(SU_CLEANUP_SOON);
	clear_ops();
	step(E(STOP), 0, NOW, I(CLEANUP));
	step(E(TREE_EMPTY), 0, NOW + S, I(DONE));
	ASSERT_OPS("retire note(done)");
	ck_assert_uint_eq(fx.spawns, 1);
	ck_assert_uint_eq(in.restarts, 0);
}
END_TEST

/* ---- a requested restart (`tether restart`) ------------------------------------- */

/* The whole sequence with the real policy: TERM, the death, the tree's end,
 * a new start at once; no decide, no crash, no backoff. The next real crash
 * is the first of the window: the initial backoff, not a doubled one. */
START_TEST(requested_restart_is_not_a_crash)
{
	use_policy(default_policy());
	drive(SU_READY);
	clear_ops();
	step(E(RESTART), 0, T_TURN, I(RESTARTING));
	step(E(EXITED), SIGNAL_STATUS(SIGTERM), T_TURN + MS, I(RESTARTING));
	step(E(TREE_EMPTY), 0, T_TURN + 2 * MS, I(STARTING));
	ASSERT_OPS("note(restart_requested) term note(exited) spawn");
	step(E(EXEC_OK), PID2, T_TURN + 3 * MS, I(UP));
	step(E(READY), 0, T_TURN + 4 * MS, I(READY));
	ck_assert_uint_eq(in.crashes.n, 0);
	ck_assert_uint_eq(fx.all.n, 0);
	ck_assert_uint_eq(in.restarts, 0);
	ck_assert_uint_eq(in.restarts_requested, 1);
	ck_assert_int_eq(in.pid, PID2);
	clear_ops();
	step(E(EXITED), EXIT_STATUS(1), T_TURN + 10 * S, I(CLEANUP));
	ck_assert_int_eq(last_note(TETHER_N_CRASH)->value, 1);
	step(E(TREE_EMPTY), 0, T_TURN + 10 * S, I(BACKOFF));
	ck_assert_int_eq(in.restart_at, T_TURN + 11 * S);
}
END_TEST

/* From backoff: started now, and the crash that led there still counts: the
 * next crash's backoff is the doubled one. */
START_TEST(requested_restart_keeps_the_crash_history)
{
	use_policy(default_policy());
	drive(SU_READY);
	step(E(EXITED), SIGNAL_STATUS(SIGSEGV), T_TURN, I(CLEANUP));
	step(E(TREE_EMPTY), 0, T_TURN, I(BACKOFF));
	ck_assert_int_eq(in.restart_at, T_TURN + 1 * S);
	clear_ops();
	step(E(RESTART), 0, T_TURN + MS, I(STARTING));
	ASSERT_OPS("note(restart_requested) spawn");
	ck_assert_int_eq(in.restart_at, NEVER);
	ck_assert_uint_eq(in.crashes.n, 1);
	ck_assert_uint_eq(fx.all.n, 1);
	step(E(EXEC_OK), PID2, T_TURN + 2 * MS, I(UP));
	step(E(READY), 0, T_TURN + 3 * MS, I(READY));
	step(E(EXITED), EXIT_STATUS(1), T_TURN + 2 * S, I(CLEANUP));
	ck_assert_int_eq(last_note(TETHER_N_CRASH)->value, 2);
	step(E(TREE_EMPTY), 0, T_TURN + 2 * S, I(BACKOFF));
	ck_assert_int_eq(in.restart_at, T_TURN + 4 * S);
}
END_TEST

/* A worker that ignores TERM: KILL at the stop timeout, then the restart,
 * and still no crash. */
START_TEST(requested_restart_kills_after_the_stop_timeout)
{
	use_policy(default_policy());
	drive(SU_READY);
	clear_ops();
	step(E(RESTART), 0, T_TURN, I(RESTARTING));
	ck_assert_int_eq(tether_instance_next_deadline(&in), T_TURN + STOP_TIMEOUT);
	tether_instance_fire_timers(&in, T_TURN + STOP_TIMEOUT - 1, &fx.ops);
	ASSERT_OPS("note(restart_requested) term");
	tether_instance_fire_timers(&in, T_TURN + STOP_TIMEOUT, &fx.ops);
	step(E(EXITED), SIGNAL_STATUS(SIGKILL), T_TURN + STOP_TIMEOUT, I(RESTARTING));
	step(E(TREE_EMPTY), 0, T_TURN + STOP_TIMEOUT, I(STARTING));
	ASSERT_OPS("note(restart_requested) term kill note(exited) spawn");
	ck_assert_int_eq(in.kill_at, NEVER);
	ck_assert_uint_eq(fx.all.n, 0);
	ck_assert_uint_eq(in.restarts, 0);
}
END_TEST

/* The supervisor stops during a restart: the instance ends, nothing starts. */
START_TEST(stop_during_a_requested_restart_is_final)
{
	drive(SU_RESTARTING);
	clear_ops();
	step(E(STOP), 0, NOW, I(STOPPING));
	step(E(EXITED), SIGNAL_STATUS(SIGTERM), NOW, I(CLEANUP));
	step(E(TREE_EMPTY), 0, NOW + S, I(DONE));
	ASSERT_OPS("note(exited) retire note(done)");
	ck_assert_uint_eq(fx.spawns, 1);
	ck_assert_uint_eq(count_kind(OP_DECIDE), 0);
}
END_TEST

/* The state as `status` shows it. Loop index: the setup. */
static const struct {
	enum setup su;
	const char *name;
} public_names[] = {
	{SU_IDLE, "starting"},         {SU_STARTING, "starting"},  {SU_UP, "starting"},
	{SU_READY, "running"},         {SU_STOPPING, "stopping"},  {SU_STOPPING_EARLY, "stopping"},
	{SU_STOPPING_WD, "hung"},      {SU_CLEANUP, "exited"},     {SU_CLEANUP_STOPPED, "exited"},
	{SU_CLEANUP_EXECFAIL, "exited"}, {SU_BACKOFF, "backoff"}, {SU_DONE, "done"},
	{SU_RESTARTING, "restarting"}, {SU_RESTARTING_EXITED, "restarting"},
};

START_TEST(public_state_names)
{
	drive(public_names[_i].su);
	ck_assert_str_eq(tether_istate_public_name(&in), public_names[_i].name);
}
END_TEST

START_TEST(public_name_of_a_bad_state)
{
	in.state = TETHER_I_NSTATES;
	ck_assert_str_eq(tether_istate_public_name(&in), "?");
}
END_TEST

START_TEST(state_and_event_names)
{
	static const char *const states[] = {"idle",     "starting", "up",      "ready",     "stopping",
					     "cleanup",  "backoff",  "done",    "restarting"};
	static const char *const events[] = {"start",         "exec_ok",       "exec_failed", "spawn_failed",
					     "ready",         "progress",      "exited",      "tree_empty",
					     "guardian_lost", "watchdog",      "kill_timer",  "restart_timer",
					     "stop",          "kill_now",      "restart"};
	ck_assert_uint_eq(sizeof states / sizeof states[0], TETHER_I_NSTATES);
	ck_assert_uint_eq(sizeof events / sizeof events[0], TETHER_E_NEVENTS);
	for (int s = 0; s < TETHER_I_NSTATES; s++)
		ck_assert_str_eq(tether_istate_name((enum tether_istate)s), states[s]);
	for (int e = 0; e < TETHER_E_NEVENTS; e++)
		ck_assert_str_eq(tether_ievent_name((enum tether_ievent)e), events[e]);
	ck_assert_str_eq(tether_istate_name(TETHER_I_NSTATES), "?");
	ck_assert_str_eq(tether_ievent_name(TETHER_E_NEVENTS), "?");
}
END_TEST

/* An event or a state out of range is refused without a call. */
START_TEST(dispatch_out_of_range)
{
	drive(SU_READY);
	clear_ops();
	struct tether_instance before = in;
	ck_assert_int_eq(tether_instance_dispatch(&in, TETHER_E_NEVENTS, 0, NOW, &fx.ops), I(READY));
	ck_assert_int_eq(tether_instance_dispatch(&in, (enum tether_ievent)-1, 0, NOW, &fx.ops), I(READY));
	ck_assert(same_instance(&before, &in));
	in.state = TETHER_I_NSTATES;
	ck_assert_int_eq(tether_instance_dispatch(&in, E(STOP), 0, NOW, &fx.ops), TETHER_I_NSTATES);
	ASSERT_OPS("");
	in.state = I(READY);
}
END_TEST

START_TEST(init_state)
{
	ck_assert_uint_eq(in.id, 3);
	ASSERT_STATE(I(IDLE));
	ck_assert_int_eq(in.restart_at, NEVER);
	ck_assert_int_eq(in.watchdog_at, NEVER);
	ck_assert_int_eq(in.kill_at, NEVER);
	ck_assert_int_eq(in.last_status, -1);
	ck_assert_int_eq(in.pid, 0);
	ck_assert(!in.stopping_for_good && !in.watchdog_fired && !in.ever_execd && !in.ready && !in.verdict_taken);
	ck_assert_uint_eq(in.restarts, 0);
	ck_assert_uint_eq(in.crashes.cap, 64);
	ck_assert_uint_eq(in.crashes.n, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("instance");
	TCase *tc = tcase_create("cells");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cell_table_is_complete);
	tcase_add_loop_test(tc, cell, 0, (int)NCELLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("start");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, init_state);
	tcase_add_test(tc, exec_failed_at_first_start_is_final);
	tcase_add_test(tc, exec_failed_after_an_exec_is_a_crash);
	tcase_add_test(tc, fork_failure_backs_off);
	tcase_add_test(tc, fork_failure_with_zero_backoff_never_recurses);
	tcase_add_test(tc, early_ready_with_notify_ready);
	tcase_add_test(tc, notify_ready_waits_for_ready);
	tcase_add_test(tc, ready_at_exec_without_notify_ready);
	tcase_add_test(tc, early_ready_does_not_outlive_its_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("timers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, watchdog_progress_pushes_deadline);
	tcase_add_test(tc, watchdog_off_arms_nothing);
	tcase_add_test(tc, watchdog_kill_is_a_watchdog_end);
	tcase_add_test(tc, stop_during_watchdog_stop_is_final);
	tcase_add_test(tc, kill_now_escalates_at_once);
	tcase_add_test(tc, kill_timer_fires_once);
	tcase_add_test(tc, fire_timers_fires_due_timers_only);
	tcase_add_test(tc, next_deadline_is_the_minimum);
	suite_add_tcase(s, tc);

	tc = tcase_create("ends");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, guardian_lost_in_each_live_state, 0, (int)(sizeof lost / sizeof lost[0]));
	tcase_add_loop_test(tc, exit_status_through_the_policy, 0, (int)(sizeof statuses / sizeof statuses[0]));
	tcase_add_test(tc, end_of_status);
	tcase_add_test(tc, restarts_counter);
	tcase_add_test(tc, verdict_at_death_applied_at_tree_empty);
	tcase_add_test(tc, give_up_beyond_the_crash_limit);
	tcase_add_test(tc, stop_in_cleanup_cancels_the_restart);
	tcase_add_test(tc, requested_restart_is_not_a_crash);
	tcase_add_test(tc, requested_restart_keeps_the_crash_history);
	tcase_add_test(tc, requested_restart_kills_after_the_stop_timeout);
	tcase_add_test(tc, stop_during_a_requested_restart_is_final);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, public_state_names, 0, (int)(sizeof public_names / sizeof public_names[0]));
	tcase_add_test(tc, public_name_of_a_bad_state);
	tcase_add_test(tc, state_and_event_names);
	tcase_add_test(tc, dispatch_out_of_range);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
