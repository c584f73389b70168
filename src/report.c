/* SPDX-License-Identifier: MIT */
/* report.c — what the supervisor tells: the heartbeat/event journal (SPEC
 * §6), its live status for `tether status` (SPEC §3), messages for the user,
 * and our own supervisor (systemd) when tether runs in a Type=notify unit. */
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
#include "sys.h"

#ifdef TETHER_FAULT_INJECTION
#include <fiu-control.h>
#include <fiu.h>
#endif

void tether_report_message(struct tether_supervisor *sv, enum tether_message_level level, const char *text)
{
	if (sv->hooks.message)
		sv->hooks.message(sv->hooks.userdata, level, text);
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
			tether_report_message(sv, TETHER_MSG_WARNING, msg);
		}
		sv->journal_failing = r < 0;
	}
	tether_buf_done(b);
}

void tether_report_open_journal(struct tether_supervisor *sv)
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
			tether_report_message(sv, TETHER_MSG_WARNING, msg);
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

static void upward_status(struct tether_supervisor *sv, bool ready_now);

void tether_report_note(struct tether_supervisor *sv, struct tether_instance *in, enum tether_inote what,
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
	case TETHER_N_EXEC_FAILED:
		snprintf(msg, sizeof msg, "instance %u: cannot execute %s: %s", in->id, sv->cfg.argv[0],
			 strerror((int)value));
		if (in->ever_execd)
			tether_report_message(sv, TETHER_MSG_WARNING, msg);
		break;
	case TETHER_N_SPAWN_FAILED:
		snprintf(msg, sizeof msg, "instance %u: cannot start: %s", in->id, strerror((int)value));
		tether_report_message(sv, TETHER_MSG_WARNING, msg);
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
		tether_report_message(sv, TETHER_MSG_NOTICE, msg);
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
		tether_report_message(sv, TETHER_MSG_WARNING, msg);
		break;
	}
	case TETHER_N_GIVE_UP: {
		line_begin(sv, &b, "give_up");
		tether_buf_printf(&b, ",\"crashes_in_window\":%lld,\"window_s\":%.3f,\"limit\":%u", (long long)value,
				  (double)sv->cfg.policy.crash_window / 1e9, sv->cfg.policy.crash_limit);
		emit(sv, &b);
		break;
	}
	case TETHER_N_DONE:
		break;
	}
}

static unsigned active_instances(const struct tether_supervisor *sv)
{
	unsigned n = 0;
	for (unsigned i = 0; i < sv->nslots; i++) {
		enum tether_istate st = sv->slots[i].in.state;
		if (st != TETHER_I_DONE && st != TETHER_I_BACKOFF && st != TETHER_I_IDLE)
			n++;
	}
	return n;
}

static void instances_json(struct tether_supervisor *sv, struct tether_buf *b)
{
	int64_t now = tether_clock_now(sv->clock);
	tether_buf_puts(b, "[");
	for (unsigned i = 0; i < sv->nslots; i++) {
		const struct slot *s = &sv->slots[i];
		const struct tether_instance *in = &s->in;
		if (i)
			tether_buf_puts(b, ",");
		tether_buf_printf(b, "{\"id\":%u,\"pid\":", in->id);
		if (in->pid > 0)
			tether_buf_printf(b, "%d", (int)in->pid);
		else
			tether_buf_puts(b, "null");
		tether_buf_printf(b, ",\"state\":\"%s\",\"restarts\":%u,\"status\":", tether_istate_public_name(in),
				  in->restarts);
		tether_buf_json_string(b, s->status);
		tether_buf_puts(b, ",\"watchdog_age_s\":");
		if (in->pid > 0 && (in->state == TETHER_I_UP || in->state == TETHER_I_READY))
			tether_buf_printf(b, "%.3f", (double)(now - in->last_progress) / 1e9);
		else
			tether_buf_puts(b, "null");
		if (in->last_status >= 0) {
			tether_buf_puts(b, ",\"last_exit\":{");
			if (WIFEXITED(in->last_status))
				tether_buf_printf(b, "\"code\":%d}", WEXITSTATUS(in->last_status));
			else
				tether_buf_printf(b, "\"signal\":%d}", WTERMSIG(in->last_status));
		}
		if (s->notify_rejected || s->notify_unknown)
			tether_buf_printf(b, ",\"notify_ignored\":%u", s->notify_rejected + s->notify_unknown);
		tether_buf_puts(b, "}");
	}
	tether_buf_puts(b, "]");
}

static unsigned crashes_now(struct tether_supervisor *sv)
{
	return (unsigned)tether_crashlog_in_window(&sv->crashes, tether_clock_now(sv->clock),
						   sv->cfg.policy.crash_window);
}

void tether_report_heartbeat(struct tether_supervisor *sv)
{
	if (!sv->journal)
		tether_report_open_journal(sv);
	if (!sv->journal)
		return;
	tether_journal_retry(sv->journal);
	struct tether_buf b;
	line_begin(sv, &b, "heartbeat");
	int64_t now = tether_clock_now(sv->clock);
	tether_buf_printf(&b, ",\"supervisor_pid\":%d,\"uptime_s\":%.3f,\"instances_active\":%u,"
			      "\"restarts_total\":%u,\"crashes_in_window\":%u,\"instances\":",
			  (int)getpid(), (double)(now - sv->start_mono) / 1e9, active_instances(sv),
			  sv->restarts_total, crashes_now(sv));
	instances_json(sv, &b);
	emit(sv, &b);
	if (!sv->journal_failing)
		sv->last_heartbeat_wall = tether_clock_wall(sv->clock);
}

void tether_report_low_memory(struct tether_supervisor *sv, uint64_t available)
{
	char a[32], r[32], msg[160];
	snprintf(msg, sizeof msg, "low memory: %s available, %s wanted (--min-mem); starting anyway",
		 tether_format_size(available, a, sizeof a), tether_format_size(sv->cfg.min_mem, r, sizeof r));
	tether_report_message(sv, TETHER_MSG_WARNING, msg);
	sv->low_memory_bytes = available;
}

void tether_report_memory_limit(struct tether_supervisor *sv)
{
	char sz[32], msg[200];
	struct tether_buf b;
	snprintf(msg, sizeof msg, "memory limit %s per instance through %s%s",
		 tether_format_size(sv->cfg.memory_limit, sz, sizeof sz), tether_memlimit_name(sv->memkind),
		 sv->memkind == TETHER_MEMLIMIT_RLIMIT
			 ? " (no cgroup v2 memory controller for us; RLIMIT_AS misfires on runtimes that reserve address space)"
			 : "");
	tether_report_message(sv, TETHER_MSG_NOTICE, msg);
	line_begin(sv, &b, "memory_limit");
	tether_buf_printf(&b, ",\"bytes\":%llu,\"mechanism\":\"%s\"", (unsigned long long)sv->cfg.memory_limit,
			  sv->memkind == TETHER_MEMLIMIT_CGROUP ? "cgroup" : "rlimit_as");
	emit(sv, &b);
}

/* Events of the start that happened before the journal existed. */
void tether_report_started(struct tether_supervisor *sv)
{
	if (sv->low_memory_bytes) {
		struct tether_buf b;
		line_begin(sv, &b, "low_memory");
		tether_buf_printf(&b, ",\"available\":%llu,\"wanted\":%llu", (unsigned long long)sv->low_memory_bytes,
				  (unsigned long long)sv->cfg.min_mem);
		emit(sv, &b);
	}
}

void tether_report_stop(struct tether_supervisor *sv)
{
	struct tether_buf b;
	line_begin(sv, &b, "stop");
	tether_buf_puts(&b, ",\"reason\":");
	tether_buf_json_string(&b, sv->end_message);
	emit(sv, &b);
	if (sv->end_outcome != TETHER_OUTCOME_STOPPED)
		tether_report_message(sv, TETHER_MSG_ERROR, sv->end_message);
	if (sv->up_socket)
		tether_notify_send(&sv->up_fd, sv->up_socket, "STOPPING=1");
}

/* STATUS= for our own supervisor, after READY=1 in the same datagram when
 * ready (one message where systemd takes several lines). */
static void upward_status(struct tether_supervisor *sv, bool ready_now)
{
	if (!sv->up_socket)
		return;
	unsigned ready = 0;
	for (unsigned i = 0; i < sv->nslots; i++)
		ready += sv->slots[i].in.state == TETHER_I_READY;
	char text[160];
	snprintf(text, sizeof text, "%sSTATUS=%u/%u instances ready, %u restarts", ready_now ? "READY=1\n" : "",
		 ready, sv->nslots, sv->restarts_total);
	tether_notify_send(&sv->up_fd, sv->up_socket, text);
}

void tether_report_check_ready(struct tether_supervisor *sv)
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

void tether_report_finish(struct tether_supervisor *sv, const struct tether_result *res)
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

void tether_report_status_json(struct tether_supervisor *sv, struct tether_buf *out)
{
	int64_t now = tether_clock_now(sv->clock);
	tether_buf_printf(out, "{\"pid\":%d,\"state\":\"%s\",\"uptime_s\":%.3f,\"restarts_total\":%u,"
			       "\"crashes_in_window\":%u,\"last_heartbeat_at\":",
			  (int)getpid(), sv->stopping ? "stopping" : "running", (double)(now - sv->start_mono) / 1e9,
			  sv->restarts_total, crashes_now(sv));
	if (sv->last_heartbeat_wall) {
		char ts[40];
		tether_format_iso8601(sv->last_heartbeat_wall, true, ts, sizeof ts);
		tether_buf_printf(out, "\"%s\"", ts);
	} else {
		tether_buf_puts(out, "null");
	}
	tether_buf_puts(out, ",\"instances\":");
	instances_json(sv, out);
	tether_buf_printf(out, ",\"notify_fds_closed\":%llu,\"wakeups\":%llu,\"clock\":\"%s\"}",
			  (unsigned long long)sv->fds_closed, (unsigned long long)sv->wakeups,
			  sv->clock->simulated ? "simulated" : "real");
}

static bool settled(const struct tether_supervisor *sv)
{
	for (unsigned i = 0; i < sv->nslots; i++) {
		enum tether_istate st = sv->slots[i].in.state;
		if (st == TETHER_I_STARTING || st == TETHER_I_CLEANUP)
			return false;
	}
	return true;
}

static void clock_json(struct tether_supervisor *sv, struct tether_buf *out)
{
	int64_t next = tether_supervisor_next_deadline(sv);
	tether_buf_printf(out, "{\"now\":%lld,\"wall\":%lld,\"notes\":%llu,\"signs\":%llu,\"next\":",
			  (long long)tether_clock_now(sv->clock), (long long)tether_clock_wall(sv->clock),
			  (unsigned long long)sv->notes, (unsigned long long)sv->signs);
	if (next == TETHER_NEVER)
		tether_buf_puts(out, "null}");
	else
		tether_buf_printf(out, "%lld}", (long long)next);
}

void tether_report_settles(struct tether_supervisor *sv)
{
	for (size_t i = 0; i < sizeof sv->settles / sizeof sv->settles[0]; i++) {
		if (!sv->settles[i].used || sv->notes <= sv->settles[i].after || sv->signs < sv->settles[i].signs ||
		    !settled(sv))
			continue;
		struct tether_buf out;
		tether_buf_init(&out);
		clock_json(sv, &out);
		if (!out.oom)
			tether_control_reply(sv->ctl_fd, &sv->settles[i].peer, out.data, out.len);
		tether_buf_done(&out);
		sv->settles[i].used = false;
	}
}

/* "fault enable POINT ERRNO" / "fault disable POINT": the lab's soak turns a
 * tether/ fault point of this process on and off at chosen virtual times
 * (ENOSPC on the heartbeat log, EAGAIN when forking a guardian). In-process
 * on purpose: fiu-ctrl needs libfiu's remote-control thread, which is created
 * before main() blocks our signals, so it takes SIGTERM (fatal) and SIGCHLD
 * (lost for our signalfd) that are meant for the loop. Guardians forked while
 * a point is on inherit it, as with any libfiu state. */
static void control_fault(const char *request, struct tether_buf *out)
{
#ifdef TETHER_FAULT_INJECTION
	/* libfiu 1.1 crashes in fiu_disable of a point it never saw: only
	 * disable what was enabled here. */
	static char enabled[8][96];
	char point[96];
	int err = 0, r = -1;
	size_t slot = sizeof enabled / sizeof enabled[0];
	bool enable = sscanf(request, "fault enable %95s %d", point, &err) == 2 && err > 0 && err < 4096;
	if (!enable && sscanf(request, "fault disable %95s", point) != 1)
		point[0] = '\0';
	if (strncmp(point, "tether/", 7) != 0) {
		tether_buf_puts(out, "{\"error\":\"usage: fault enable tether/POINT ERRNO | fault disable tether/POINT\"}");
		return;
	}
	for (size_t i = 0; i < sizeof enabled / sizeof enabled[0]; i++)
		if (strcmp(enabled[i], point) == 0 || (!enabled[i][0] && slot == sizeof enabled / sizeof enabled[0]))
			slot = i;
	if (enable && slot < sizeof enabled / sizeof enabled[0]) {
		fiu_init(0); /* idempotent */
		r = fiu_enable(point, 1, (void *)(intptr_t)err, 0);
		if (r == 0)
			snprintf(enabled[slot], sizeof enabled[slot], "%s", point);
	} else if (!enable) {
		r = 0;
		if (slot < sizeof enabled / sizeof enabled[0] && enabled[slot][0]) {
			r = fiu_disable(point);
			enabled[slot][0] = '\0';
		}
	}
	tether_buf_puts(out, "{\"fault\":");
	tether_buf_json_string(out, point);
	tether_buf_printf(out, ",\"enabled\":%s,\"ok\":%s}", enable && r == 0 ? "true" : "false", r == 0 ? "true" : "false");
#else
	(void)request;
	tether_buf_puts(out, "{\"error\":\"fault injection is not compiled in\"}");
#endif
}

void tether_report_control(struct tether_supervisor *sv, const char *request,
			   const struct tether_control_peer *peer, struct tether_buf *out)
{
	if (strcmp(request, "status") == 0) {
		tether_report_status_json(sv, out);
		return;
	}
	if (sv->cfg.sim_control && sv->clock->simulated) {
		if (strcmp(request, "clock") == 0) {
			clock_json(sv, out);
			return;
		}
		unsigned long long after, signs = 0;
		if (sscanf(request, "settle %llu %llu", &after, &signs) >= 1) {
			/* answered later, by tether_report_settles, when true */
			for (size_t i = 0; i < sizeof sv->settles / sizeof sv->settles[0]; i++)
				if (!sv->settles[i].used) {
					sv->settles[i].used = true;
					sv->settles[i].peer = *peer;
					sv->settles[i].after = after;
					sv->settles[i].signs = signs;
					return;
				}
			tether_buf_puts(out, "{\"error\":\"too many pending settle requests\"}");
			return;
		}
		long long to;
		if (sscanf(request, "advance %lld", &to) == 1) {
			tether_clock_sim_advance(sv->clock, to);
			tether_buf_printf(out, "{\"now\":%lld}", (long long)tether_clock_now(sv->clock));
			return;
		}
		if (strncmp(request, "fault ", 6) == 0) {
			control_fault(request, out);
			return;
		}
	}
	tether_buf_puts(out, "{\"error\":\"unknown request\"}");
}
