/* SPDX-License-Identifier: MIT */
/* soak.h — `harness soak`: a seeded simulation of a day in tether's life.
 *
 * In the spirit of FoundationDB's simulator and TigerBeetle's VOPR: a seed
 * gives a schedule of events over virtual time (soak_schedule.c), which runs
 * against real processes — tether and fixture workers — while every timer of
 * libtether runs on tether's simulated clock (`tether run --sim-clock`),
 * driven from here over its control socket: "clock", "advance T", "settle G
 * [S]", "fault ...", "status" (soak_tether.c). Idle time is jumped over,
 * so a virtual day takes seconds. With --clock real the same schedule runs
 * in real time: a true soak.
 *
 * The parts:
 *   soak.c           the command: options, the run's directory
 *   soak_fail.c      failures and notes, stamped with the virtual time
 *   soak_schedule.c  PRNG, schedule, digest
 *   soak_drive.c     the loop: events, signs of progress, advancing the clock
 *   soak_tether.c    one tether incarnation: spawn, control client, settle,
 *                    SIGKILL and the orphan check (G2)
 *   soak_proc.c      around it: worker FIFOs, floods, a guardian's death, a
 *                    second supervisor (G1), /proc samples (G6)
 *   soak_journal.c   the heartbeat log, read across rotations
 *   soak_model.c     the independent model of the policy and of what every
 *                    injected event must cause
 *   soak_report.c    G6's verdict, soak.json and the summary
 *
 * Times: the schedule and the model count milliseconds of virtual time since
 * the soak began ("vms"). tether's simulated clock counts nanoseconds from
 * the monotonic clock's reading at its start, so every incarnation has a base
 * of its own (struct soak_tether: base at vstart); the driver translates. The
 * journal's "ts" is that clock's wall-time image, in ms: vms + wall_offset_ms.
 *
 * Ownership: one struct soak lives in harness_cmd_soak for the whole run and
 * owns everything below it.
 */
#ifndef TETHER_HARNESS_SOAK_H
#define TETHER_HARNESS_SOAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "json.h"

#define SOAK_MAX_INSTANCES 32
#define MS_PER_SEC INT64_C(1000)
#define MS_PER_MIN INT64_C(60000)
#define MS_PER_HOUR INT64_C(3600000)

/* ---- the schedule (soak_schedule.c) ---------------------------------------------- */

enum soak_kind {
	SOAK_EV_CRASH,     /* worker ctl `crash`: abort() */
	SOAK_EV_EXIT,      /* worker ctl `exit N`, N != 0 */
	SOAK_EV_HANG,      /* worker ctl `hang`, and no more signs: the watchdog must kill it */
	SOAK_EV_STORM,     /* a crash, then again at each of the instance's next n-1 starts */
	SOAK_EV_FLOOD,     /* n notify datagrams through the worker, and fd-passing ones from us */
	SOAK_EV_ENOSPC,    /* tether's heartbeat-log writes fail with ENOSPC for len */
	SOAK_EV_FORKFAIL,  /* tether's forks fail with EAGAIN for len; the target's guardian is killed */
	SOAK_EV_KILL,      /* SIGKILL of tether; its tree must be gone in 2 s; a fresh start */
	SOAK_EV_INTRUDER,  /* a second `tether run` on the pidfile must exit 75 */
	SOAK_EV_NKINDS
};

struct soak_event {
	int64_t at;       /* vms */
	enum soak_kind kind;
	unsigned target;  /* instance, for the kinds that have one */
	unsigned n;       /* exit code, storm length, flood datagrams */
	unsigned fds;     /* flood: fd-passing datagrams */
	int64_t len;      /* ENOSPC and fork windows, ms */
};

/* One event of the timeline: an injected event (its kind), or a give-up
 * of tether (kind SOAK_EV_NKINDS). */
struct soak_mark {
	int64_t vms;
	int kind;
	int instance;     /* -1: none or tether itself */
};

struct soak_schedule {
	struct soak_event *ev;
	size_t n;
	uint64_t digest;
};

const char *soak_kind_name(enum soak_kind k);
/* The events of [0, duration) for seed and instances, sorted by time. */
void soak_schedule_make(uint64_t seed, int64_t duration_ms, unsigned instances, struct soak_schedule *ret);
void soak_schedule_free(struct soak_schedule *s);

/* ---- parameters ------------------------------------------------------------------ */

/* tether's options for the soak, in ms (divided by --scale). */
struct soak_params {
	unsigned instances;
	int64_t watchdog, backoff_initial, backoff_max, crash_window, stop_timeout, heartbeat;
	unsigned crash_limit;
	uint64_t log_max_bytes;
	unsigned log_keep;
	int64_t pet_every;   /* how often healthy workers show progress (watchdog / 2) */
	int64_t tolerance;   /* how far a real-clock time may be from the model's (0: simulated) */
};

/* ---- one tether incarnation (soak_tether.c, soak_proc.c) ------------------------ */

struct soak;

struct soak_tether {
	unsigned n;            /* incarnation number, from 1 */
	pid_t pid;
	int pidfd;
	bool reaped;
	int exit_code;         /* once reaped: the code, or 128 + signal */
	char isolation[16];    /* "pidns" or "subreaper" */
	char run_id[96];       /* TETHER_LAB_RUN of everything it started */
	char *pidfile;
	int notify;            /* our NOTIFY_SOCKET for it: READY=1 */
	dev_t lock_dev;
	ino_t lock_ino;
	char *buf;             /* one control answer */
	int64_t base;          /* its clock at the start (ns; real mode: lab_now()) */
	int64_t vstart;        /* vms at its start */
	int64_t wall_offset_ms;/* journal "ts" in ms minus vms */
	uint64_t wakeups;      /* its loop's wakeups at the last status */
};

struct soak_clock {
	int64_t now;      /* tether's clock, ns */
	int64_t wall;     /* its wall clock, ns */
	int64_t next;     /* its next deadline, ns (INT64_MAX: none) */
	uint64_t notes, signs;
};

/* Starts tether number n (isolation "pidns" or "subreaper") at s->vnow and
 * waits until all instances are ready. NULL, with a failure recorded, if it
 * cannot. */
struct soak_tether *soak_tether_start(struct soak *s, unsigned n, const char *isolation);
/* SIGKILLs tether (if alive), reaps it, checks that every process of its run
 * is gone within 2 s (G2), kills and reports any that is not. Frees t. */
void soak_tether_kill(struct soak *s, struct soak_tether *t, const char *why);
/* Reaps a tether that ended by itself (give-up): returns its exit code, then
 * checks as soak_tether_kill. Frees t. */
int soak_tether_reap(struct soak *s, struct soak_tether *t);
/* One request and its JSON answer (free it). 0; -ESRCH when tether exited
 * meanwhile (reaped then); -ETIMEDOUT (a failure is recorded); -EPROTO for
 * an error answer. */
int soak_tether_query(struct soak *s, struct soak_tether *t, const char *req, struct tether_json **ret);
int soak_tether_clock(struct soak *s, struct soak_tether *t, struct soak_clock *ret);
/* "settle notes-1 signs": answered once tether is quiescent with at least
 * `signs` signs; then, while an instance is starting or stopping, waits for
 * one more note each time, and settles again when a note came between the
 * settle's answer and the status (the status may then be half of a round's
 * work). *ret: the clock, *ret_status: the status then. */
int soak_tether_settle(struct soak *s, struct soak_tether *t, uint64_t notes, uint64_t signs, struct soak_clock *ret,
		       struct tether_json **ret_status);
int soak_tether_advance(struct soak *s, struct soak_tether *t, int64_t to_ns);
/* "fault enable POINT ERRNO" (err > 0) or "fault disable POINT" (err 0). */
int soak_tether_fault(struct soak *s, struct soak_tether *t, const char *point, int err);
/* Internals shared with soak_proc.c. */
/* Starts a `tether run` of the soak (with its isolation), marked as run_id,
 * NOTIFY_SOCKET=notify (NULL: none), its stdout and stderr appended to out
 * and err (lab_spawn). Its pid, and *ret_pidfd. */
pid_t soak_tether_spawn(const struct soak *s, const char *isolation, const char *run_id, const char *notify,
			const char *out, const char *err, int *ret_pidfd);
/* Index of the first of fds readable before deadline (real ns), or -1. */
int soak_wait_any(const int *fds, size_t n, int64_t deadline);

/* soak_proc.c: the processes around tether. */
/* Writes text (whole lines) to instance i's ctl FIFO. 0, -ENXIO when no
 * worker reads it, -ETIMEDOUT. */
int soak_worker_ctl(struct soak *s, unsigned i, const char *text, size_t len);
/* Sends n datagrams "X_SOAK_FLOOD=1", each passing an fd of /dev/null, to the
 * NOTIFY_SOCKET of the worker pid: a same-uid neighbour's flood. Returns how
 * many went. */
unsigned soak_notify_fds(pid_t worker, unsigned n);
/* SIGKILLs the guardian (parent) of worker pid and checks that the worker is
 * gone within 2 s (G2 for a lost guardian). 0 or -errno. */
int soak_kill_guardian(struct soak *s, struct soak_tether *t, pid_t worker);
/* A second `tether run` on the same pidfile must exit 75 naming ours (G1). */
void soak_intruder(struct soak *s, struct soak_tether *t);
/* Samples tether's memory (VmRSS, and its anonymous part, which G6 judges)
 * and fds; checks the lock has one holder, tether
 * (G1), its loop is not spinning, and (when full) that the workers under
 * its guardians are exactly the running instances of status. */
void soak_tether_sample(struct soak *s, struct soak_tether *t, const struct tether_json *status, bool full);

/* soak_journal.c: the heartbeat log, read as tether appends and rotates it. */
struct soak_journal;
struct soak_journal *soak_journal_open(const char *path, uint64_t max_bytes, unsigned keep);
void soak_journal_free(struct soak_journal *j);
/* Feeds the complete new lines to the model; checks the rotation bounds. */
void soak_journal_read(struct soak *s, struct soak_journal *j);
unsigned soak_journal_rotations(const struct soak_journal *j);

/* ---- the model (soak_model.c) ---------------------------------------------------- */

enum soak_expect { SOAK_EXPECT_CRASH_SIGNAL, SOAK_EXPECT_CRASH_EXIT, SOAK_EXPECT_WATCHDOG, SOAK_EXPECT_CRASH_WATCHDOG };

struct soak_model;
struct soak_model *soak_model_new(const struct soak_params *p);
void soak_model_free(struct soak_model *m);
/* A new incarnation begins at vms; its journal's ms are vms + wall_offset_ms. */
void soak_model_incarnation(struct soak_model *m, int64_t vms, int64_t wall_offset_ms);
void soak_model_line(struct soak *s, struct soak_model *m, const char *line, size_t len);
/* The driver caused something that must show in the journal at vms. */
void soak_model_expect(struct soak_model *m, enum soak_expect k, unsigned instance, int64_t vms, int detail);
/* Fault windows as the driver applies them. */
/* ENOSPC from begin; end INT64_MAX while it lasts, then called again with it. */
void soak_model_loss(struct soak_model *m, int64_t begin_vms, int64_t end_vms);
/* The instance needs a fork to start (its guardian was lost) and every fork
 * fails in [begin, end] (begin -1: keeps the one given before). */
void soak_model_forks(struct soak_model *m, unsigned instance, int64_t begin_vms, int64_t end_vms);
/* After a settle at vms: every expectation due by now must have been met. */
void soak_model_check_due(struct soak *s, struct soak_model *m, int64_t vms);
/* tether exited by itself with code: was a give-up due? */
void soak_model_check_exit(struct soak *s, struct soak_model *m, int code, int64_t vms);
/* The status answer after a settle against the model: every instance runs or
 * waits to restart, the same ones as the journal says; the crash count. */
void soak_model_check_status(struct soak *s, struct soak_model *m, const struct tether_json *status, int64_t vms);

struct soak_model_counts {
	unsigned lines, heartbeats, crashes, restarts, give_ups, watchdogs, start_failed, log_errors;
	unsigned lost_lines, checked_delays, checked_heartbeats, checked_expectations;
	/* FNV-1a over what the journal said (times, events, instances, reasons,
	 * codes, delays, counts; no pids): with a simulated clock the same seed
	 * must give the same outcome, not only the same schedule. */
	uint64_t outcome;
};
void soak_model_counts(const struct soak_model *m, struct soak_model_counts *ret);

/* ---- the driver's shared state (soak.c) ------------------------------------------ */

struct soak_sample {
	int64_t vms;
	unsigned incarnation;
	uint64_t rss_kb;       /* VmRSS: shown, not judged (mostly file pages) */
	uint64_t anon_kb;      /* RssAnon + RssShmem: what G6 judges */
	unsigned fds;
};

struct soak {
	/* options */
	int64_t duration;      /* vms */
	const char *duration_arg;
	bool real;             /* --clock real */
	uint64_t seed;
	unsigned scale;
	const char *tether;
	const char *worker;
	char *dir;             /* the run's directory (state, journal, FIFOs, outputs) */
	char *journal_path;    /* tether's --heartbeat-log, shared by its incarnations */
	const char *report_dir;
	const char *isolation; /* "mixed", "pidns", "subreaper" */
	bool keep;
	bool verbose;
	char **argv;           /* ours, for the replay command */
	int argc;
	struct soak_params p;

	struct soak_schedule sched;
	struct soak_model *model;
	int64_t vnow;          /* vms now */
	int64_t wall_start;    /* real ns at the start */
	bool faults_ok;        /* tether answers "fault" requests */
	bool pidns_ok;         /* PID namespaces may be made here */

	/* what happened */
	unsigned injected[SOAK_EV_NKINDS], skipped[SOAK_EV_NKINDS];
	unsigned incarnations, gave_up, killed, storm_crashes;
	unsigned notify_sent, notify_fds_sent;
	int64_t g2_max_ns;     /* the slowest tree to vanish after a SIGKILL */
	unsigned orphans;
	struct soak_sample *samples;
	size_t nsamples;
	struct soak_mark *marks;   /* what happened when: soak.json's timeline */
	size_t nmarks;

	/* the first failure (and a count of the rest) */
	bool failed;
	bool stop;             /* give up the run: a hang, or too many failures */
	char *fail_msg;
	int64_t fail_vms;
	unsigned nfailures;

	/* the driver (soak_drive.c) */
	struct soak_journal *journal;
	struct soak_tether *t;       /* NULL between incarnations */
	struct soak_clock clk;         /* tether's clock at the last settle */
	struct tether_json *status;  /* and its status */
	int64_t pet_at;              /* the next round of signs from healthy workers */
	int64_t enospc_until, fork_until; /* open fault windows (0: none) */
	pid_t hung[SOAK_MAX_INSTANCES];       /* the worker we told to hang */
	unsigned storm_left[SOAK_MAX_INSTANCES];
	pid_t storm_pid[SOAK_MAX_INSTANCES];  /* the worker the storm crashed last */
	bool fork_window[SOAK_MAX_INSTANCES]; /* its guardian died in the fork window */
	uint64_t ignored_expected[SOAK_MAX_INSTANCES];
	uint64_t fds_closed_expected;
	unsigned iterations;
};

/* soak_drive.c: runs the schedule (simulated or real time) to its end. */
void soak_drive(struct soak *s);

/* soak_fail.c: a failure (the first is kept; the run stops after many), a
 * note on stderr; both stamped with s->vnow. */
__attribute__((format(printf, 2, 3))) void soak_fail(struct soak *s, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void soak_note(struct soak *s, const char *fmt, ...);
/* vms as "13h05m07.250s" into buf. */
char *soak_fmt_vms(int64_t vms, char *buf, size_t len);

/* ---- soak_report.c --------------------------------------------------------------- */
/* Checks G6 over the samples (fails s when RSS or fds grew), writes
 * soak.json and prints the summary. */
void soak_finish_report(struct soak *s);

#endif
