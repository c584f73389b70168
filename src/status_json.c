/* SPDX-License-Identifier: MIT */
/* status_json.c — the supervisor's live state as JSON: the object the control
 * socket answers to "status" (what `tether status` shows, SPEC §3) and the
 * instances of every heartbeat line (SPEC §6). */
#include "config.h"

#include <sys/wait.h>
#include <unistd.h>

#include "supervisor_internal.h"

unsigned tether_status_instances_active(const struct tether_supervisor *sv)
{
	unsigned n = 0;
	for (unsigned i = 0; i < sv->nslots; i++) {
		enum tether_istate st = sv->slots[i].in.state;
		if (st != TETHER_I_DONE && st != TETHER_I_BACKOFF && st != TETHER_I_IDLE)
			n++;
	}
	return n;
}

void tether_status_instances_json(struct tether_supervisor *sv, struct tether_buf *b)
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
		tether_buf_printf(b, ",\"state\":\"%s\",\"restarts\":%u,\"restarts_requested\":%u,\"status\":",
				  tether_istate_public_name(in), in->restarts, in->restarts_requested);
		tether_buf_json_string(b, s->status);
		/* null without --watchdog: no age means anything then (SPEC §3);
		 * milliseconds, printed as such (%.3f), never a double's tail */
		tether_buf_puts(b, ",\"watchdog_age_s\":");
		if (sv->cfg.watchdog && in->pid > 0 && (in->state == TETHER_I_UP || in->state == TETHER_I_READY))
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
		/* ignored for any reason: refused senders, malformed or unknown lines */
		unsigned ignored = s->notify_rejected + s->notify_refused + s->notify_unknown;
		if (ignored)
			tether_buf_printf(b, ",\"notify_ignored\":%u", ignored);
		tether_buf_puts(b, "}");
	}
	tether_buf_puts(b, "]");
}

unsigned tether_status_crashes_in_window(struct tether_supervisor *sv)
{
	return (unsigned)tether_crashlog_in_window(&sv->crashes, tether_clock_now(sv->clock),
						   sv->cfg.policy.crash_window);
}

void tether_status_json(struct tether_supervisor *sv, struct tether_buf *out)
{
	int64_t now = tether_clock_now(sv->clock);
	tether_buf_printf(out, "{\"pid\":%d,\"state\":\"%s\",\"uptime_s\":%.3f,\"restarts_total\":%u,"
			       "\"crashes_in_window\":%u,\"last_heartbeat_at\":",
			  (int)getpid(), sv->stopping ? "stopping" : "running", (double)(now - sv->start_mono) / 1e9,
			  sv->restarts_total, tether_status_crashes_in_window(sv));
	if (sv->last_heartbeat_wall) {
		char ts[40];
		tether_format_iso8601(sv->last_heartbeat_wall, true, ts, sizeof ts);
		tether_buf_printf(out, "\"%s\"", ts);
	} else {
		tether_buf_puts(out, "null");
	}
	unsigned refused = 0;
	for (unsigned i = 0; i < sv->nslots; i++)
		refused += sv->slots[i].notify_refused;
	tether_buf_printf(out, ",\"notify_refused\":%u", refused);
	tether_buf_puts(out, ",\"output_lost_lines\":");
	tether_supervisor_output_status(sv, out);
	tether_buf_puts(out, ",\"instances\":");
	tether_status_instances_json(sv, out);
	tether_buf_printf(out, ",\"notify_fds_closed\":%llu,\"wakeups\":%llu,\"clock\":\"%s\"}",
			  (unsigned long long)sv->fds_closed, (unsigned long long)sv->wakeups,
			  sv->clock->name);
}

