/* SPDX-License-Identifier: MIT */
/* events.c — what the supervisor says as things happen: the heartbeat and
 * event journal (SPEC §6), messages for the user (through hooks->message),
 * and our own supervisor (systemd) when tether runs in a Type=notify unit.
 * The live status document is status_json.c's; the control socket's server,
 * control_server.c's. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"
#include "parse.h"
#include "supervisor_internal.h"

void tether_events_message(struct tether_supervisor *sv, enum tether_message_level level, const char *text)
{
	if (sv->hooks.message)
		sv->hooks.message(sv->hooks.userdata, level, text);
}

void tether_events_exec_failure(const struct tether_supervisor *sv, const struct slot *s, int err, char *buf,
				size_t len)
{
	const struct tether_config *cfg = &sv->cfg;
	switch (s->exec_stage) {
	case TETHER_SPAWN_STAGE_IDENTITY:
		snprintf(buf, len, "cannot switch to --user %s: %s", cfg->user ? cfg->user : "?", strerror(err));
		break;
	case TETHER_SPAWN_STAGE_CHDIR:
		snprintf(buf, len, "cannot enter --chdir %s%s%s: %s", cfg->chdir ? cfg->chdir : "?",
			 cfg->user ? " as " : "", cfg->user ? cfg->user : "", strerror(err));
		break;
	default:
		snprintf(buf, len, "cannot execute %s: %s", cfg->argv[0], strerror(err));
		break;
	}
}

/* ---- the journal -------------------------------------------------------------------- */

static void line_begin(struct tether_supervisor *sv, struct tether_buf *b, const char *event)
{
	char ts[40];
	tether_format_iso8601(tether_clock_wall(sv->clock), true, ts, sizeof ts);
	tether_buf_init(b);
	tether_buf_printf(b, "{\"ts\":\"%s\",\"event\":\"%s\"", ts, event);
}

static void emit(struct tether_supervisor *sv, struct tether_buf *b)
{
	tether_buf_puts(b, "}");
	if (sv->journal && !b->oom) {
		int r = tether_journal_write(sv->journal, b->data, b->len, tether_clock_wall(sv->clock));
		if (r < 0 && r != -EAGAIN && !sv->journal_failing) {
			char msg[512];
			snprintf(msg, sizeof msg,
				 "cannot write heartbeat log %s: %s (supervision continues; retried at the next heartbeat)",
				 sv->cfg.heartbeat_log, strerror(-r));
			tether_events_message(sv, TETHER_MSG_WARNING, msg);
		}
		sv->journal_failing = r < 0;
	}
	tether_buf_done(b);
}

void tether_events_open_journal(struct tether_supervisor *sv)
{
	struct tether_journal_config jc = {
		.path = sv->cfg.heartbeat_log,
		.max_bytes = sv->cfg.log_max_bytes,
		.keep = sv->cfg.log_keep,
	};
	int r = tether_journal_open(&jc, &sv->journal);
	if (r < 0) {
		sv->journal = NULL;
		if (!sv->journal_failing) {
			char msg[512];
			snprintf(msg, sizeof msg,
				 "cannot open heartbeat log %s: %s (supervision continues; retried at the next heartbeat)",
				 sv->cfg.heartbeat_log, strerror(-r));
			tether_events_message(sv, TETHER_MSG_WARNING, msg);
		}
		sv->journal_failing = true;
	}
}

const char *tether_sig_abbrev(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "HUP",   [SIGINT] = "INT",       [SIGQUIT] = "QUIT",   [SIGILL] = "ILL",     [SIGTRAP] = "TRAP",
		[SIGABRT] = "ABRT", [SIGBUS] = "BUS",       [SIGFPE] = "FPE",     [SIGKILL] = "KILL",   [SIGUSR1] = "USR1",
		[SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",     [SIGPIPE] = "PIPE",   [SIGALRM] = "ALRM",   [SIGTERM] = "TERM",
		[SIGSTKFLT] = "STKFLT", [SIGCHLD] = "CHLD", [SIGCONT] = "CONT",   [SIGSTOP] = "STOP",   [SIGTSTP] = "TSTP",
		[SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",     [SIGURG] = "URG",     [SIGXCPU] = "XCPU",   [SIGXFSZ] = "XFSZ",
		[SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH", [SIGIO] = "IO",       [SIGPWR] = "PWR",
		[SIGSYS] = "SYS",
	};
	return sig > 0 && (size_t)sig < sizeof names / sizeof names[0] ? names[sig] : NULL;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(buf, len, "was killed by SIG%s", tether_sig_abbrev(WTERMSIG(status)) ? tether_sig_abbrev(WTERMSIG(status)) : "?");
}

static const char *end_reason(const struct tether_instance *in)
{
	switch (in->end) {
	case TETHER_END_EXIT_ZERO: return "exit";
	case TETHER_END_EXIT_NONZERO: return "exit";
	case TETHER_END_SIGNALED: return "signal";
	case TETHER_END_WATCHDOG: return "watchdog";
	case TETHER_END_START_FAILED: return "start_failed";
	}
	return "?";
}

static void exit_fields(struct tether_buf *b, int status)
{
	if (WIFEXITED(status))
		tether_buf_printf(b, ",\"code\":%d", WEXITSTATUS(status));
	else
		tether_buf_printf(b, ",\"signal\":%d", WTERMSIG(status));
}

static int upward_status(struct tether_supervisor *sv, bool ready_now);
static void upward_stopping(struct tether_supervisor *sv);

void tether_events_note(struct tether_supervisor *sv, struct tether_instance *in, enum tether_inote what,
			int64_t value)
{
	struct tether_buf b;
	char msg[400], what_s[64];
	switch (what) {
	case TETHER_N_STARTED:
		line_begin(sv, &b, "start");
		tether_buf_printf(&b, ",\"instance\":%u,\"pid\":%lld", in->id, (long long)value);
		emit(sv, &b);
		break;
	case TETHER_N_READY:
		line_begin(sv, &b, "ready");
		tether_buf_printf(&b, ",\"instance\":%u,\"pid\":%d", in->id, (int)in->pid);
		emit(sv, &b);
		break;
	case TETHER_N_EXITED:
		line_begin(sv, &b, "exit");
		tether_buf_printf(&b, ",\"instance\":%u", in->id);
		exit_fields(&b, (int)value);
		emit(sv, &b);
		break;
	case TETHER_N_EXEC_FAILED: {
		char failure[300];
		tether_events_exec_failure(sv, &sv->slots[in->id], (int)value, failure, sizeof failure);
		snprintf(msg, sizeof msg, "instance %u: %s", in->id, failure);
		if (in->ever_execd)
			tether_events_message(sv, TETHER_MSG_WARNING, msg);
		break;
	}
	case TETHER_N_SPAWN_FAILED:
		snprintf(msg, sizeof msg, "instance %u: cannot start: %s", in->id, strerror((int)value));
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
		break;
	case TETHER_N_CRASH:
		line_begin(sv, &b, "crash");
		tether_buf_printf(&b, ",\"instance\":%u,\"reason\":\"%s\",\"crashes_in_window\":%lld", in->id,
				  end_reason(in), (long long)value);
		if (in->end == TETHER_END_START_FAILED) {
			tether_buf_puts(&b, ",\"error\":");
			tether_buf_json_string(&b, strerror(in->last_errno));
		} else if (in->last_status >= 0) {
			exit_fields(&b, in->last_status);
		}
		emit(sv, &b);
		break;
	case TETHER_N_RESTART: {
		sv->restarts_total++;
		line_begin(sv, &b, "restart");
		tether_buf_printf(&b, ",\"instance\":%u,\"delay_s\":%.3f,\"restarts\":%u", in->id,
				  (double)value / 1e9, in->restarts);
		emit(sv, &b);
		char delay[32];
		tether_format_duration(value, delay, sizeof delay);
		if (in->end == TETHER_END_START_FAILED)
			snprintf(what_s, sizeof what_s, "failed to start");
		else if (in->end == TETHER_END_WATCHDOG)
			snprintf(what_s, sizeof what_s, "was hung");
		else
			describe_status(in->last_status, what_s, sizeof what_s);
		snprintf(msg, sizeof msg, "instance %u %s; restarting in %s", in->id, what_s, delay);
		tether_events_message(sv, TETHER_MSG_NOTICE, msg);
		upward_status(sv, false); /* our own supervisor sees restarts too */
		break;
	}
	case TETHER_N_WATCHDOG: {
		line_begin(sv, &b, "watchdog");
		tether_buf_printf(&b, ",\"instance\":%u,\"pid\":%d,\"silent_s\":%.3f", in->id, (int)in->pid,
				  (double)value / 1e9);
		emit(sv, &b);
		char silent[32];
		tether_format_duration(sv->cfg.watchdog, silent, sizeof silent);
		snprintf(msg, sizeof msg, "instance %u (pid %d) is hung: no sign of progress for %s; stopping its tree",
			 in->id, (int)in->pid, silent);
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
		break;
	}
	case TETHER_N_GIVE_UP: {
		line_begin(sv, &b, "give_up");
		tether_buf_printf(&b, ",\"crashes_in_window\":%lld,\"window_s\":%.3f,\"limit\":%u", (long long)value,
				  (double)sv->cfg.policy.crash_window / 1e9, sv->cfg.policy.crash_limit);
		emit(sv, &b);
		break;
	}
	case TETHER_N_RESTART_REQUESTED:
		/* `tether restart`: no crash, no backoff (instance.h) */
		line_begin(sv, &b, "restart_requested");
		tether_buf_printf(&b, ",\"instance\":%u,\"pid\":", in->id);
		if (value > 0)
			tether_buf_printf(&b, "%lld", (long long)value);
		else
			tether_buf_puts(&b, "null");
		tether_buf_printf(&b, ",\"restarts_requested\":%u", in->restarts_requested);
		emit(sv, &b);
		if (value > 0)
			snprintf(msg, sizeof msg, "instance %u: restart requested; stopping pid %lld", in->id,
				 (long long)value);
		else
			snprintf(msg, sizeof msg, "instance %u: restart requested; starting it now", in->id);
		tether_events_message(sv, TETHER_MSG_NOTICE, msg);
		upward_status(sv, false);
		break;
	case TETHER_N_DONE:
		break;
	}
}

void tether_events_reopen_logs(struct tether_supervisor *sv)
{
	if (sv->cfg.heartbeat_log) {
		int r = sv->journal ? tether_journal_reopen(sv->journal) : 0;
		if (!sv->journal)
			tether_events_open_journal(sv);
		if (r < 0) {
			char msg[512];
			snprintf(msg, sizeof msg, "cannot reopen heartbeat log %s: %s (writing on to the file already open)",
				 sv->cfg.heartbeat_log, strerror(-r));
			tether_events_message(sv, TETHER_MSG_WARNING, msg);
		}
		/* an operator's explicit nudge: a suspended log tries again now */
		if (sv->journal)
			tether_journal_retry(sv->journal);
	}
	/* the instances' output files (--output), for the same tool */
	tether_output_reopen_all(sv);
}

void tether_events_heartbeat(struct tether_supervisor *sv)
{
	if (!sv->journal)
		tether_events_open_journal(sv);
	if (!sv->journal)
		return;
	tether_journal_retry(sv->journal);
	tether_supervisor_output_report(sv);
	struct tether_buf b;
	line_begin(sv, &b, "heartbeat");
	int64_t now = tether_clock_now(sv->clock);
	tether_buf_printf(&b, ",\"supervisor_pid\":%d,\"uptime_s\":%.3f,\"instances_active\":%u,"
			      "\"restarts_total\":%u,\"crashes_in_window\":%u,\"instances\":",
			  (int)getpid(), (double)(now - sv->start_mono) / 1e9, tether_status_instances_active(sv),
			  sv->restarts_total, tether_status_crashes_in_window(sv));
	tether_status_instances_json(sv, &b);
	emit(sv, &b);
	if (!sv->journal_failing)
		sv->last_heartbeat_wall = tether_clock_wall(sv->clock);
}

void tether_events_output_note(struct tether_supervisor *sv, const struct tether_output_note *note)
{
	char msg[600];
	struct tether_buf b;
	switch (note->kind) {
	case TETHER_OUTPUT_FAILING:
		snprintf(msg, sizeof msg,
			 "cannot write output file %s: %s (its lines are dropped and counted until it can be written; "
			 "supervision continues)",
			 note->path, strerror(note->err));
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
		break;
	case TETHER_OUTPUT_REOPEN_FAILED:
		snprintf(msg, sizeof msg, "cannot reopen output file %s: %s (lines go on into the file it had open)",
			 note->path, strerror(note->err));
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
		break;
	case TETHER_OUTPUT_LOST:
		line_begin(sv, &b, "output_lost");
		tether_buf_puts(&b, ",\"path\":");
		tether_buf_json_string(&b, note->path);
		tether_buf_printf(&b, ",\"lines\":%llu,\"errno\":%d,\"error\":", (unsigned long long)note->lines,
				  note->err);
		tether_buf_json_string(&b, strerror(note->err));
		tether_buf_printf(&b, ",\"resumed\":%s", note->resumed ? "true" : "false");
		emit(sv, &b);
		if (note->resumed) {
			snprintf(msg, sizeof msg, "output file %s is written again; %llu line(s) were lost", note->path,
				 (unsigned long long)note->lines);
			tether_events_message(sv, TETHER_MSG_NOTICE, msg);
		}
		break;
	}
}

void tether_events_low_memory(struct tether_supervisor *sv, uint64_t available)
{
	char a[32], r[32], msg[160];
	snprintf(msg, sizeof msg, "low memory: %s available, %s wanted (--min-mem); starting anyway",
		 tether_format_size(available, a, sizeof a), tether_format_size(sv->cfg.min_mem, r, sizeof r));
	tether_events_message(sv, TETHER_MSG_WARNING, msg);
	sv->low_memory_bytes = available;
}

void tether_events_memory_limit(struct tether_supervisor *sv)
{
	char sz[32], msg[200];
	struct tether_buf b;
	snprintf(msg, sizeof msg, "memory limit %s per instance through %s%s",
		 tether_format_size(sv->cfg.memory_limit, sz, sizeof sz), tether_memlimit_name(sv->memkind),
		 sv->memkind == TETHER_MEMLIMIT_RLIMIT
			 ? " (no cgroup v2 memory controller for us; RLIMIT_AS misfires on runtimes that reserve address space)"
			 : "");
	tether_events_message(sv, TETHER_MSG_NOTICE, msg);
	line_begin(sv, &b, "memory_limit");
	tether_buf_printf(&b, ",\"bytes\":%llu,\"mechanism\":\"%s\"", (unsigned long long)sv->cfg.memory_limit,
			  sv->memkind == TETHER_MEMLIMIT_CGROUP ? "cgroup" : "rlimit_as");
	emit(sv, &b);
}

/* Events of the start that happened before the journal existed. */
void tether_events_started(struct tether_supervisor *sv)
{
	if (sv->low_memory_bytes) {
		struct tether_buf b;
		line_begin(sv, &b, "low_memory");
		tether_buf_printf(&b, ",\"available\":%llu,\"wanted\":%llu", (unsigned long long)sv->low_memory_bytes,
				  (unsigned long long)sv->cfg.min_mem);
		emit(sv, &b);
	}
}

/* ---- upward: our own supervisor (systemd's NOTIFY_SOCKET) ----------------------------
 *
 * READY=1 and STOPPING=1 must arrive: systemd times a Type=notify start out
 * without READY=1, and it is sent once. STATUS= and WATCHDOG=1 are followed
 * by the next one and may be lost. A send never waits (a full queue at our
 * supervisor must not stall the loop), so a READY=1 or STOPPING=1 that finds
 * the queue full (EAGAIN) or memory short is kept and sent again on a timer,
 * 10ms doubling to 1s, at most UP_RETRIES times; then a warning says it was
 * lost (G9: no unbounded retry). Any other error (nobody listens there) is
 * final at once, as for every other message. (scenarios/upward_watchdog_tiny,
 * harness/unit/test_supervisor.c) */
#define UP_RETRY_FIRST (10 * TETHER_NSEC_PER_MSEC)
#define UP_RETRY_MAX TETHER_NSEC_PER_SEC
#define UP_RETRIES 120

static bool transient(int r)
{
	return r == -EAGAIN || r == -ENOBUFS || r == -ENOMEM || r == -EINTR;
}

/* Sends text, which carries the messages `must` (0: none that must arrive). */
static int upward_send(struct tether_supervisor *sv, unsigned must, const char *text)
{
	int r = tether_notify_send(&sv->up_fd, sv->up_socket, text);
	if (r == 0 || !transient(r)) {
		sv->up_pending &= ~must;
	} else if (must && !(sv->up_pending & must)) {
		if (!sv->up_pending) {
			sv->up_retry_gap = UP_RETRY_FIRST;
			sv->up_retries = 0;
			sv->up_retry_at = tether_clock_now(sv->clock) + sv->up_retry_gap;
		}
		sv->up_pending |= must;
	}
	if (!sv->up_pending)
		sv->up_retry_at = TETHER_NEVER;
	return r;
}

/* STATUS= for our own supervisor, after READY=1 in the same datagram when
 * ready, or while a READY=1 is still to be delivered (one message where
 * systemd takes several lines). */
static int upward_status(struct tether_supervisor *sv, bool ready_now)
{
	if (!sv->up_socket)
		return 0;
	bool ready = ready_now || ((sv->up_pending & TETHER_UP_READY) && !(sv->up_pending & TETHER_UP_STOPPING));
	unsigned nready = 0;
	for (unsigned i = 0; i < sv->nslots; i++)
		nready += sv->slots[i].in.state == TETHER_I_READY;
	char text[160];
	snprintf(text, sizeof text, "%sSTATUS=%u/%u instances ready, %u restarts", ready ? "READY=1\n" : "",
		 nready, sv->nslots, sv->restarts_total);
	return upward_send(sv, ready ? TETHER_UP_READY : 0, text);
}

static void upward_stopping(struct tether_supervisor *sv)
{
	if (!sv->up_socket)
		return;
	/* a READY=1 not delivered yet is moot now */
	sv->up_pending &= ~TETHER_UP_READY;
	upward_send(sv, TETHER_UP_STOPPING, "STOPPING=1");
}

int64_t tether_events_upward_deadline(const struct tether_supervisor *sv)
{
	int64_t d = sv->up_pending ? sv->up_retry_at : TETHER_NEVER;
	return sv->up_watchdog_at < d ? sv->up_watchdog_at : d;
}

void tether_events_upward_timers(struct tether_supervisor *sv, int64_t now)
{
	if (sv->up_watchdog_at <= now) {
		tether_notify_send(&sv->up_fd, sv->up_socket, "WATCHDOG=1");
		sv->up_watchdog_at = now + sv->up_watchdog_interval;
	}
	if (!sv->up_pending || sv->up_retry_at > now)
		return;
	unsigned what = sv->up_pending;
	int r = what & TETHER_UP_STOPPING ? upward_send(sv, what, "STOPPING=1") : upward_status(sv, false);
	if (!sv->up_pending)
		return;
	if (++sv->up_retries >= UP_RETRIES) {
		char msg[160];
		snprintf(msg, sizeof msg, "cannot tell our own supervisor (NOTIFY_SOCKET) %s: %s; gave up",
			 what & TETHER_UP_STOPPING ? "STOPPING=1" : "READY=1", strerror(-r));
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
		sv->up_pending = 0;
		sv->up_retry_at = TETHER_NEVER;
		return;
	}
	sv->up_retry_gap = sv->up_retry_gap * 2 < UP_RETRY_MAX ? sv->up_retry_gap * 2 : UP_RETRY_MAX;
	sv->up_retry_at = now + sv->up_retry_gap;
}

void tether_events_stop(struct tether_supervisor *sv)
{
	struct tether_buf b;
	line_begin(sv, &b, "stop");
	tether_buf_puts(&b, ",\"reason\":");
	tether_buf_json_string(&b, sv->end_message);
	emit(sv, &b);
	/* Said as it happens (a give-up, an exec failure) so the user need not
	 * wait for the stop to read why. An abandoned loop's reason is only the
	 * result's: the program reports it (said here too, it was read twice). */
	if (sv->end_outcome != TETHER_OUTCOME_STOPPED && sv->end_outcome != TETHER_OUTCOME_INTERNAL)
		tether_events_message(sv, TETHER_MSG_ERROR, sv->end_message);
	upward_stopping(sv);
}

void tether_events_ready(struct tether_supervisor *sv)
{
	bool ready_now = !sv->all_ready_reported && !sv->stopping;
	for (unsigned i = 0; ready_now && i < sv->nslots; i++)
		if (sv->slots[i].in.state != TETHER_I_READY)
			ready_now = false;
	sv->all_ready_reported |= ready_now;
	upward_status(sv, ready_now);
	if (ready_now && sv->hooks.ready)
		sv->hooks.ready(sv->hooks.userdata);
}

void tether_events_finish(struct tether_supervisor *sv, const struct tether_result *res)
{
	if (!sv->stopping) {
		/* every instance ended on its own: say so in the journal */
		struct tether_buf b;
		line_begin(sv, &b, "stop");
		tether_buf_puts(&b, ",\"reason\":");
		tether_buf_json_string(&b, res->message);
		emit(sv, &b);
	}
	tether_journal_free(sv->journal);
	sv->journal = NULL;
}

