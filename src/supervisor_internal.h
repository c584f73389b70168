/* SPDX-License-Identifier: MIT */
/* supervisor_internal.h — the supervisor's state, shared by supervisor.c (the
 * loop and the pool) and report.c (journal, status, messages). Not installed. */
#ifndef TETHER_SUPERVISOR_INTERNAL_H
#define TETHER_SUPERVISOR_INTERNAL_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "guardian.h"
#include "instance.h"
#include "control.h"
#include "json.h"
#include "notify.h"
#include "pidfile.h"
#include "resources.h"
#include "spawn.h"
#include "supervisor.h"

#define TETHER_MAX_INSTANCES 1024

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

struct tether_supervisor {
	struct tether_config cfg;
	struct tether_clock *clock;
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

	uint64_t notes;               /* instance notes so far (the lab's event counter) */
	/* Signs of progress received (WATCHDOG=1, progress-file changes): they
	 * are no notes, yet the lab's driver must know that the ones it had
	 * workers send have been seen before it moves the clock past their
	 * watchdog deadlines. */
	uint64_t signs;
	/* "settle G [S]" requests of the lab's simulated-clock driver, answered
	 * once nothing waits for a process (no instance starting or cleaning
	 * up), more than G notes happened and at least S signs arrived. */
	struct {
		struct tether_control_peer peer;
		uint64_t after;
		uint64_t signs;
		bool used;
	} settles[4];

	char *up_socket;              /* our own supervisor's NOTIFY_SOCKET */
	int up_fd;                    /* the socket we send to it from, or -1 */
	int64_t up_watchdog_interval;
	int64_t up_watchdog_at;
};

void tether_supervisor_request_end(struct tether_supervisor *sv, enum tether_outcome outcome, int err,
				   const char *message);

/* report.c */
/* "TERM" for SIGTERM (glibc's sigabbrev_np, kept here for other libcs); NULL when unknown. */
const char *tether_sig_abbrev(int sig);
void tether_report_message(struct tether_supervisor *sv, enum tether_message_level level, const char *text);
void tether_report_note(struct tether_supervisor *sv, struct tether_instance *in, enum tether_inote what,
			int64_t value);
void tether_report_open_journal(struct tether_supervisor *sv);
void tether_report_heartbeat(struct tether_supervisor *sv);
void tether_report_low_memory(struct tether_supervisor *sv, uint64_t available);
void tether_report_memory_limit(struct tether_supervisor *sv);
/* Journal lines for what happened before the journal was open. */
void tether_report_started(struct tether_supervisor *sv);
void tether_report_stop(struct tether_supervisor *sv);
void tether_report_check_ready(struct tether_supervisor *sv);
void tether_report_finish(struct tether_supervisor *sv, const struct tether_result *res);
/* Answers a control request ("status", and with a simulated clock "clock" ->
 * {"now","wall","notes","signs","next"}, "advance NS", "settle G [S]",
 * "fault enable|disable POINT [ERRNO]"). */
void tether_report_control(struct tether_supervisor *sv, const char *request,
			   const struct tether_control_peer *peer, struct tether_buf *out);
/* Answers the pending "settle" requests that are now satisfied. */
void tether_report_settles(struct tether_supervisor *sv);
/* The status object (also the heartbeat's body). */
void tether_report_status_json(struct tether_supervisor *sv, struct tether_buf *out);

#endif
