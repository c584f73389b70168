/* SPDX-License-Identifier: MIT */
/* supervisor_internal.h — the supervisor's state, shared by its files:
 * supervisor.c (configuration, the pool, the start), loop.c (the event loop),
 * events.c (journal, messages), status_json.c (the status document) and
 * control_server.c (the control socket). Not installed. */
#ifndef TETHER_SUPERVISOR_INTERNAL_H
#define TETHER_SUPERVISOR_INTERNAL_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "guardian.h"
#include "instance.h"
#include "control.h"
#include "ctlname.h"
#include "fdlimit.h"
#include "json.h"
#include "notify.h"
#include "output.h"
#include "pidfile.h"
#include "resources.h"
#include "spawn.h"
#include "supervisor.h"

/* One instance's runtime around its state machine. */
struct slot {
	struct tether_instance in;
	struct tether_guardian g;     /* chan -1: none (or let go) */
	bool guardian_alive;          /* forked and not yet reaped */
	struct tether_notify_socket notify;
	struct tether_spawn_spec spec;
	char *progress_dir, *progress_name;
	int progress_wd;
	char *cgroup_procs;
	char status[TETHER_NOTIFY_STATUS_MAX]; /* last STATUS= */
	int notify_errno;
	pid_t mainpid;
	bool worker_stopping;         /* it sent STOPPING=1 */
	unsigned notify_rejected;
	unsigned notify_unknown;
	unsigned notify_failures;     /* consecutive receive errors */
	bool lose_pending;            /* a command could not reach the guardian */
	enum tether_spawn_stage exec_stage; /* of the last failed start (spawn.h) */
	unsigned notify_refused;      /* datagrams from outside the instance's tree */
	struct tether_notify_tree tree; /* who may send to it: the guardian's tree */
	bool output_read_failing;     /* its last output read failed (reported once) */
	unsigned guardian_failures;   /* consecutive wakeups its channel gave nothing */
};

/* `tether restart` in progress (control_server.c): one instance at a time,
 * from `next` to `last`; each must be ready again before the next is asked,
 * so a pool never drops to zero ready. Answered when done, at the deadline,
 * or when the supervisor stops. */
struct tether_restart_job {
	bool active;
	struct tether_control_peer peer;
	unsigned first, next, last;
	bool asked;          /* `next` took the restart: now waiting for it to be ready */
	bool *ended;         /* per instance: ended for good, skipped */
	int64_t deadline;
};

/* `tether signal` waiting for the guardians' answers (control_server.c). */
struct tether_signal_target {
	signed char state;   /* SIGNAL_T_* in control_server.c */
	int err;             /* the guardian's errno, or the reason it was not asked */
	pid_t guardian;      /* the guardian asked: its answer or its end settles it */
	enum tether_istate istate; /* the instance's state when it could not be reached */
};

struct tether_signal_job {
	bool active;
	uint64_t seq;        /* guardians answer in order: the oldest job waiting for one takes it */
	struct tether_control_peer peer;
	int sig;
	unsigned awaiting;
	struct tether_signal_target *targets; /* one per instance */
};

#define TETHER_SIGNAL_JOBS 8

struct tether_supervisor;
typedef void (*watch_fn)(struct tether_supervisor *sv, struct slot *s);
/* A descriptor the loop polls and what reads it when it is ready (s: the
 * instance it belongs to, or NULL). */
struct watch {
	watch_fn ready;
	struct slot *slot;
};

/* A connection to the control socket (control_server.c). Its places: the
 * first TETHER_CONTROL_CONNS for connections whose question has not come
 * yet, the TETHER_CONTROL_DEFERRED after them for those whose answer is
 * deferred (a restart, a signal, the lab's settle), so that requests
 * waiting for their answer never take the places of new questions. */
struct tether_control_conn {
	int fd;          /* -1: a free place */
	uint64_t serial; /* names the connection wherever it sits (tether_control_peer) */
	uint64_t used;   /* when it last asked: the least recently used gives way */
	bool deferred;   /* its question is answered later */
};

struct tether_supervisor {
	struct tether_config cfg;
	const struct tether_clock *clock;
	struct tether_hooks hooks;
	struct tether_instance_ops ops;
	struct slot *slots;
	unsigned nslots;
	struct tether_crashlog crashes; /* all instances together */
	struct tether_pidfile *pidfile;
	struct tether_journal *journal;
	int sfd, ctl_fd, ino_fd;
	struct pollfd *pfds;          /* what poll() waits on ... */
	struct watch *watches;        /* ... and who reads each: the same index */
	size_t nwatches, watches_cap;
	char scope[96];
	enum tether_memlimit_kind memkind;

	bool started, stopping, finished;
	bool abandoned;               /* gave up on the loop: every guardian let go */
	bool check_ready, check_channels;
	bool all_ready_reported;
	unsigned stop_signals;
	int stop_signal;
	bool end_requested;
	enum tether_outcome end_outcome;
	int end_err;
	char end_message[320];
	struct tether_result result;

	int64_t start_mono;
	int64_t heartbeat_at;
	int64_t last_heartbeat_wall; /* 0: none yet */
	bool journal_failing;
	int64_t stop_deadline;        /* stopping: abandon the stop after this */
	unsigned poll_failures, waitid_failures, signalfd_failures, inotify_failures, control_failures;
	unsigned restarts_total;
	uint64_t fds_closed;
	uint64_t wakeups;
	uint64_t low_memory_bytes;    /* MemAvailable at start when below --min-mem */

	char *up_socket;              /* our own supervisor's NOTIFY_SOCKET */
	int up_fd;                    /* the socket we send to it from, or -1 */
	int64_t up_watchdog_interval;
	int64_t up_watchdog_at;

	/* the control socket's connections (control_server.c) */
	struct tether_control_conn ctl_conns[TETHER_CONTROL_CONNS + TETHER_CONTROL_DEFERRED];
	uint64_t ctl_serial;
	uint64_t ctl_served;          /* the wakeup in which they were last served */
	bool ctl_deaf;                /* its reads failed for good: bound, no longer read */
	char ctl_name[TETHER_CTLNAME_MAX + 1];

	/* keeping the pidfile (keeper.c) */
	struct tether_pidrecord record; /* what we publish, again after a restore */
	int keep_fd;                  /* its timer (timerfd): a look once a second */
	bool keep_check;              /* look at the files now */
	bool keep_lost;               /* something is lost and not yet restored */
	bool keep_warned;             /* a failure to restore was reported */
	int64_t keep_retry_at, keep_backoff;
	int64_t keep_lost_at;         /* when the loss was first seen */
	unsigned keep_failures;       /* consecutive wakeups its timer gave nothing */
	unsigned up_pending;          /* TETHER_UP_READY, TETHER_UP_STOPPING: not delivered yet */
	int64_t up_retry_at, up_retry_gap; /* ... tried again then (events.c) */
	unsigned up_retries;

	/* requests answered later (control_server.c) */
	struct tether_restart_job restart_job;
	struct tether_signal_job signal_jobs[TETHER_SIGNAL_JOBS];
	uint64_t signal_seq;
	struct tether_output *output; /* --output: the capture (supervisor_output.c), else NULL */
	uint64_t output_lost_final;   /* lines lost, once the capture is closed */

	struct tether_fdlimit nofile; /* RLIMIT_NOFILE as given, and whether we raised it */
	int64_t reap_retry_at;        /* waitid_failures > 0: when to reap again */
	unsigned sweep_failures;      /* consecutive sweeps of adopted orphans that could not list them */
	int64_t sweep_retry_at;       /* sweep_failures > 0: when to sweep again */
	int sweep_err;                /* ... and the errno of the last failure */
	int proc_fd;                  /* /proc, for the guardians; -1: none */
};

void tether_supervisor_request_end(struct tether_supervisor *sv, enum tether_outcome outcome, int err,
				   const char *message);

/* supervisor.c */
/* Fills res (the message from fmt). */
__attribute__((format(printf, 4, 5))) void tether_result_set(struct tether_result *res, enum tether_outcome outcome,
							    int err, const char *fmt, ...);

/* loop.c */
/* Counts consecutive wakeups in which a descriptor poll reported readable gave
 * nothing; true (once) when that has gone on for too long to be anything but
 * permanent: the caller then closes it rather than spin. */
bool tether_loop_stuck(unsigned *count, bool progressed);

/* events.c */
/* "TERM" for SIGTERM (glibc's sigabbrev_np, kept here for other libcs); NULL when unknown. */
const char *tether_sig_abbrev(int sig);
void tether_events_message(struct tether_supervisor *sv, enum tether_message_level level, const char *text);
/* "cannot execute COMMAND: <strerror>", or what --user or --chdir could not
 * do, for the last failed start of s (errno err). */
void tether_events_exec_failure(const struct tether_supervisor *sv, const struct slot *s, int err, char *buf,
				size_t len);
void tether_events_note(struct tether_supervisor *sv, struct tether_instance *in, enum tether_inote what,
			int64_t value);
void tether_events_open_journal(struct tether_supervisor *sv);
void tether_events_heartbeat(struct tether_supervisor *sv);
void tether_events_low_memory(struct tether_supervisor *sv, uint64_t available);
void tether_events_memory_limit(struct tether_supervisor *sv);
/* Journal lines for what happened before the journal was open. */
void tether_events_started(struct tether_supervisor *sv);
void tether_events_stop(struct tether_supervisor *sv);
/* Tells the program and our own supervisor, once, when every instance is ready. */
void tether_events_ready(struct tether_supervisor *sv);
void tether_events_finish(struct tether_supervisor *sv, const struct tether_result *res);
/* SIGUSR1: reopen the heartbeat log (and the instances' output files) by
 * name, for an outside rotation tool. */
void tether_events_reopen_logs(struct tether_supervisor *sv);
/* Our own supervisor's messages that must arrive (events.c, "upward"). */
#define TETHER_UP_READY 1u
#define TETHER_UP_STOPPING 2u
/* The shortest period of WATCHDOG=1 pets upward, whatever WATCHDOG_USEC asks. */
#define TETHER_UP_WATCHDOG_MIN (10 * TETHER_NSEC_PER_MSEC)
/* The timers of what goes upward: a WATCHDOG=1 pet when due, a READY=1 or
 * STOPPING=1 that could not be sent, again. */
void tether_events_upward_timers(struct tether_supervisor *sv, int64_t now);
int64_t tether_events_upward_deadline(const struct tether_supervisor *sv);

/* Tells what output capture reports (output.h's note hook): a file that
 * cannot be written (a message), lines lost (an output_lost event). */
void tether_events_output_note(struct tether_supervisor *sv, const struct tether_output_note *note);

/* --min-disk on the directories of the output files: 1 with res filled when
 * one has less free, else 0. */
int tether_supervisor_output_check_disk(struct tether_supervisor *sv, struct tether_result *res);
/* Opens the output files and creates the pipes: 0, or 1 with res filled. */
int tether_supervisor_output_open(struct tether_supervisor *sv, struct tether_result *res);
/* The stdout and stderr a guardian of s gets: its pipes, or the
 * configuration's out_fd/err_fd without --output. */
void tether_supervisor_output_fds(struct tether_supervisor *sv, struct slot *s, int *ret_out, int *ret_err);
/* The read end of s's stdout (err false) or stderr for the loop's poll, or -1. */
int tether_supervisor_output_poll_fd(struct tether_supervisor *sv, struct slot *s, bool err);
/* When a paused output stream is polled again. */
int64_t tether_supervisor_output_deadline(const struct tether_supervisor *sv);
/* The loop's handlers of the two read ends. */
void tether_supervisor_output_read_out(struct tether_supervisor *sv, struct slot *s);
void tether_supervisor_output_read_err(struct tether_supervisor *sv, struct slot *s);
/* s's worker died: what it wrote is read now. */
void tether_supervisor_output_exited(struct tether_supervisor *sv, struct slot *s);
/* s's tree is gone: the rest is read and a last line without newline written. */
void tether_supervisor_output_ended(struct tether_supervisor *sv, struct slot *s);
/* The end: everything still in the pipes is written, losses told, all closed. */
void tether_supervisor_output_close(struct tether_supervisor *sv);
/* SIGUSR1: reopen the output files (an outside tool moved them away). */
void tether_output_reopen_all(struct tether_supervisor *sv);
/* The heartbeat: lines lost and not yet told become output_lost events. */
void tether_supervisor_output_report(struct tether_supervisor *sv);
/* output_lost_lines of the status document: a count, or null without --output. */
void tether_supervisor_output_status(struct tether_supervisor *sv, struct tether_buf *out);

/* status_json.c */
/* The status object "status" answers. */
void tether_status_json(struct tether_supervisor *sv, struct tether_buf *out);
/* Its parts the heartbeat shares. */
void tether_status_instances_json(struct tether_supervisor *sv, struct tether_buf *b);
unsigned tether_status_instances_active(const struct tether_supervisor *sv);
unsigned tether_status_crashes_in_window(struct tether_supervisor *sv);

/* control_server.c */
/* Accepts connections, reads and answers the pending control requests (the
 * watch of the control socket and of each connection). */
void tether_control_serve(struct tether_supervisor *sv, struct slot *unused);
void tether_control_close_all(struct tether_supervisor *sv);

/* keeper.c */
/* Starts looking at the pidfile (after the record is first written). */
void tether_keeper_start(struct tether_supervisor *sv);
/* The timer's reader. */
void tether_keeper_read(struct tether_supervisor *sv, struct slot *unused);
/* Someone connected to the control socket: look at the files in this round. */
void tether_keeper_look(struct tether_supervisor *sv);
/* After each round's events: restores what was lost, when it is due. */
void tether_keeper_step(struct tether_supervisor *sv);
int64_t tether_keeper_deadline(const struct tether_supervisor *sv);
/* Moves the requests answered later on (a rolling restart to its next
 * instance) and answers those that are done; after every round's events. */
void tether_control_progress(struct tether_supervisor *sv);
/* A guardian's answer to a signal it was asked to send (SIGNALED). */
void tether_control_signal_result(struct tether_supervisor *sv, struct slot *s, int err);
/* The deadline of a request waiting on the clock (TETHER_NEVER: none). */
int64_t tether_control_next_deadline(const struct tether_supervisor *sv);
/* Answers every request still waiting (the supervisor ends) and frees them. */
void tether_control_finish(struct tether_supervisor *sv);

#endif
