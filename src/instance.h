/* SPDX-License-Identifier: MIT */
/* instance.h — one supervised instance as an explicit state x event table.
 *
 * Every (state, event) cell is an entry of one table in instance.c, so each
 * can be named in a test; cells that cannot happen or need nothing are the
 * explicit `ignore` action. The instance never touches processes, files or
 * clocks itself: what it wants done goes through struct tether_instance_ops
 * (the supervisor implements them with guardians and the journal; the unit
 * suite with a recording fake), and `now` comes in with each event.
 *
 *   IDLE ──START──▶ STARTING ──EXEC_OK──▶ UP ──READY──▶ READY
 *                      │  (ready at once without --notify-ready)  │
 *                      │                     EXITED ◀─────────────┤
 *                      │                        │   WATCHDOG/STOP: TERM, kill timer
 *                      │                        ▼        ▼
 *                      │                   CLEANUP ◀── STOPPING (KILL at the timer)
 *                      │          (tree empty) │
 *          SPAWN_FAILED└────▶ verdict: RESTART → BACKOFF ──RESTART_TIMER──▶ STARTING
 *                                      DONE    → DONE
 *                                      GIVE_UP → DONE (and the supervisor gives up)
 *
 * The verdict is taken when the worker dies (so backoff runs from its death)
 * and applied once its whole tree is gone (so a restarted worker never meets
 * leftovers of the previous one).
 *
 * A restart the operator asks for (`tether restart`, SPEC §3) is no crash:
 *
 *   UP/READY ──RESTART──▶ RESTARTING (TERM, KILL at the timer) ──(tree empty)──▶ STARTING
 *   BACKOFF  ──RESTART──▶ STARTING (at once: the backoff is dropped, the crash history kept)
 *
 * RESTARTING takes no verdict when the worker dies: the policy is not asked,
 * no crash is recorded, no backoff runs, and `restarts` (the restarts tether
 * decided, as systemd's NRestarts) stays; `restarts_requested` counts these.
 * A stop during it is a stop (STOPPING, for good). Elsewhere RESTART is
 * ignored: a starting instance is already fresh, one whose worker is dying
 * (CLEANUP, a watchdog's STOPPING) follows its verdict, and the supervisor
 * asks again once it can be restarted (control_server.c).
 */
#ifndef TETHER_INSTANCE_H
#define TETHER_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

enum tether_istate {
	TETHER_I_IDLE,     /* not started yet */
	TETHER_I_STARTING, /* spawn asked, exec not confirmed */
	TETHER_I_UP,       /* exec'd, waiting for READY=1 (--notify-ready) */
	TETHER_I_READY,    /* running and ready */
	TETHER_I_STOPPING, /* TERM sent to the tree (stop or watchdog), KILL at kill_at */
	TETHER_I_CLEANUP,  /* the worker died; waiting for the rest of its tree */
	TETHER_I_BACKOFF,  /* waiting for restart_at */
	TETHER_I_DONE,     /* ended for good */
	TETHER_I_RESTARTING, /* TERM sent for a requested restart, KILL at kill_at; started again
			      * at once when the tree is empty */
	TETHER_I_NSTATES,
};

enum tether_ievent {
	TETHER_E_START,         /* the first start */
	TETHER_E_EXEC_OK,       /* value: worker pid */
	TETHER_E_EXEC_FAILED,   /* value: errno */
	TETHER_E_SPAWN_FAILED,  /* value: errno (fork failed, or no guardian) */
	TETHER_E_READY,         /* READY=1 */
	TETHER_E_PROGRESS,      /* WATCHDOG=1 or the progress file changed */
	TETHER_E_EXITED,        /* value: wait status */
	TETHER_E_TREE_EMPTY,    /* nothing of the instance remains */
	TETHER_E_GUARDIAN_LOST, /* the guardian died (its tree dies with it) */
	TETHER_E_WATCHDOG,      /* watchdog_at passed */
	TETHER_E_KILL_TIMER,    /* kill_at passed */
	TETHER_E_RESTART_TIMER, /* restart_at passed */
	TETHER_E_STOP,          /* the supervisor stops */
	TETHER_E_KILL_NOW,      /* the supervisor escalates to SIGKILL */
	TETHER_E_RESTART,       /* the operator asks for a restart (not a crash) */
	TETHER_E_NEVENTS,
};

/* What an instance reports (for the journal, status, and the supervisor's
 * own decisions). */
enum tether_inote {
	TETHER_N_STARTED,      /* exec'd: value pid */
	TETHER_N_READY,
	TETHER_N_EXITED,       /* value: wait status */
	TETHER_N_EXEC_FAILED,  /* value: errno; first_start tells whether it ever ran */
	TETHER_N_SPAWN_FAILED, /* value: errno */
	TETHER_N_CRASH,        /* a crash was recorded */
	TETHER_N_RESTART,      /* value: delay ns */
	TETHER_N_WATCHDOG,     /* hung: its tree is being stopped */
	TETHER_N_GIVE_UP,      /* the crash limit was passed */
	TETHER_N_DONE,         /* ended for good */
	TETHER_N_RESTART_REQUESTED, /* value: the worker's pid (0: none, from BACKOFF) */
};

struct tether_instance {
	unsigned id;
	enum tether_istate state;
	bool stopping_for_good;  /* the supervisor's stop reached this instance */
	bool watchdog_fired;     /* the current stop is the watchdog's */
	bool ever_execd;         /* some start of this instance exec'd */
	bool ready;
	bool verdict_taken;      /* a verdict waits for the tree to empty */
	struct tether_verdict verdict;
	enum tether_end end;     /* how the last run ended */
	int64_t restart_at;      /* TETHER_NEVER when unset */
	int64_t watchdog_at;
	int64_t kill_at;
	int64_t exec_at;
	int64_t last_progress;
	int64_t died_at;
	pid_t pid;               /* the worker, 0 when none */
	int last_status;         /* wait status of the last exit, -1 none */
	int last_errno;          /* of the last failed start */
	unsigned restarts;       /* the restarts tether decided (after an exit) */
	unsigned restarts_requested; /* the restarts the operator asked for */
	struct tether_crashlog crashes;
};

struct tether_instance_ops {
	void *ctx;
	/* Start a worker (make the guardian if needed): 0, or -errno when it
	 * cannot even be asked (then the instance sees a failed start). */
	int (*spawn)(void *ctx, struct tether_instance *in);
	void (*term)(void *ctx, struct tether_instance *in);
	void (*kill)(void *ctx, struct tether_instance *in);
	/* The instance ended for good: let its guardian go. */
	void (*retire)(void *ctx, struct tether_instance *in);
	/* The policy's verdict for this end (records the crash when it is one). */
	struct tether_verdict (*decide)(void *ctx, struct tether_instance *in, enum tether_end end, int64_t now);
	void (*note)(void *ctx, struct tether_instance *in, enum tether_inote what, int64_t value);
	int64_t stop_timeout; /* ns */
	int64_t watchdog;     /* ns, 0: off */
	bool notify_ready;
};

/* crash_log_cap: see policy.h. Returns 0 or -ENOMEM. */
int tether_instance_init(struct tether_instance *in, unsigned id);
void tether_instance_done(struct tether_instance *in);

/* Feeds one event at now. Returns the new state. */
enum tether_istate tether_instance_dispatch(struct tether_instance *in, enum tether_ievent ev, int64_t value,
					    int64_t now, const struct tether_instance_ops *ops);

/* The earliest timer of the instance (TETHER_NEVER when none). */
int64_t tether_instance_next_deadline(const struct tether_instance *in);
/* Fires the due timers at now (watchdog, kill, restart). */
void tether_instance_fire_timers(struct tether_instance *in, int64_t now, const struct tether_instance_ops *ops);

/* How a wait status ended, as the policy sees it. */
enum tether_end tether_end_of_status(int status);

const char *tether_istate_name(enum tether_istate s);
const char *tether_ievent_name(enum tether_ievent e);
/* The state as `status` shows it: starting, running, stopping, backoff, done... */
const char *tether_istate_public_name(const struct tether_instance *in);

#endif
