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
#include "json.h"
#include "notify.h"
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
};

struct tether_supervisor;
typedef void (*watch_fn)(struct tether_supervisor *sv, struct slot *s);
/* A descriptor the loop polls and what reads it when it is ready (s: the
 * instance it belongs to, or NULL). */
struct watch {
	watch_fn ready;
	struct slot *slot;
};

/* A connection to the control socket (control_server.c). */
#define TETHER_CONTROL_CONNS 8
struct tether_control_conn {
	int fd;          /* -1: a free place */
	uint64_t serial; /* tells a reused place from the connection a deferred answer was for */
	uint64_t used;   /* when it last asked: the least recently used gives way */
	bool deferred;   /* its question is answered later (the lab's) */
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
	struct tether_control_conn ctl_conns[TETHER_CONTROL_CONNS];
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

#endif
