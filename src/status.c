/* SPDX-License-Identifier: MIT */
/* status.c — see status.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "proc.h"
#include "status.h"

static double seconds_since_boot(void)
{
	char buf[128];
	size_t len;
	if (tether_proc_read_file("/proc/uptime", buf, sizeof buf, &len) < 0)
		return 0;
	return strtod(buf, NULL);
}

int tether_status_collect(const char *pidfile, const struct tether_clock *clock, struct tether_status *ret)
{
	struct tether_status st = {0};
	int r = tether_pidfile_probe(pidfile, &st.probe);
	if (r < 0)
		return r;
	st.state = st.probe.state;
	if (st.state == TETHER_PIDFILE_RUNNING) {
		long hz = sysconf(_SC_CLK_TCK);
		double up = seconds_since_boot() - (double)st.probe.rec.start_time / (double)(hz > 0 ? hz : 100);
		st.uptime_s = up > 0 ? up : 0;
		/* Best effort: an old or busy supervisor simply has no live part.
		 * Asked by the pid the probe verified: its socket must be that
		 * process's (SO_PEERCRED), whoever else listens under the key. */
		tether_control_query_pid(pidfile, st.probe.lock_pid, "status", clock, TETHER_NSEC_PER_SEC, &st.live);
	}
	*ret = st;
	return 0;
}

void tether_status_done(struct tether_status *st)
{
	tether_pidfile_probe_done(&st->probe);
	tether_json_free(st->live);
	*st = (struct tether_status){0};
}

/* The supervised command: the record's argv after "--". */
static char *const *command_of(const struct tether_pidrecord *rec)
{
	if (!rec->argv)
		return NULL;
	for (char *const *a = rec->argv; *a; a++)
		if (strcmp(*a, "--") == 0)
			return a + 1;
	return rec->argv;
}

static void live_field(const struct tether_status *st, const char *key, const char *fallback,
		       struct tether_buf *out)
{
	const struct tether_json *v = tether_json_get(st->live, key);
	if (v)
		tether_json_render(v, out);
	else
		tether_buf_puts(out, fallback);
}

void tether_status_format_json(const struct tether_status *st, struct tether_buf *out)
{
	const struct tether_pidfile_probe *p = &st->probe;
	bool have_rec = p->record_err == 0;
	const char *state = st->state == TETHER_PIDFILE_STARTING ? "running"
							       : tether_pidfile_state_name(st->state);
	tether_buf_puts(out, "{\"state\":");
	tether_buf_json_string(out, state);
	tether_buf_puts(out, ",\"pid\":");
	if (have_rec)
		tether_buf_printf(out, "%d", (int)p->rec.pid);
	else if (p->lock_held && st->state == TETHER_PIDFILE_STARTING)
		tether_buf_printf(out, "%d", (int)p->lock_pid);
	else
		tether_buf_puts(out, "null");
	tether_buf_puts(out, ",\"started_at\":");
	if (have_rec && !p->rec.legacy && p->rec.started_at[0])
		tether_buf_json_string(out, p->rec.started_at);
	else
		tether_buf_puts(out, "null");
	tether_buf_puts(out, ",\"uptime_s\":");
	if (st->state == TETHER_PIDFILE_RUNNING)
		tether_buf_printf(out, "%.3f", st->uptime_s); /* milliseconds, SPEC §3 */
	else
		tether_buf_puts(out, "null");
	tether_buf_puts(out, ",\"command\":");
	char *const *cmd = have_rec ? command_of(&p->rec) : NULL;
	if (cmd) {
		tether_buf_puts(out, "[");
		for (char *const *a = cmd; *a; a++) {
			if (a != cmd)
				tether_buf_puts(out, ",");
			tether_buf_json_string(out, *a);
		}
		tether_buf_puts(out, "]");
	} else {
		tether_buf_puts(out, "null");
	}
	bool running = st->state == TETHER_PIDFILE_RUNNING;
	tether_buf_puts(out, ",\"restarts_total\":");
	live_field(st, "restarts_total", running ? "0" : "null", out);
	tether_buf_puts(out, ",\"crashes_in_window\":");
	live_field(st, "crashes_in_window", running ? "0" : "null", out);
	tether_buf_puts(out, ",\"last_heartbeat_at\":");
	live_field(st, "last_heartbeat_at", "null", out);
	tether_buf_puts(out, ",\"notify_refused\":");
	live_field(st, "notify_refused", running ? "0" : "null", out);
	tether_buf_puts(out, ",\"output_lost_lines\":");
	live_field(st, "output_lost_lines", "null", out);
	tether_buf_puts(out, ",\"instances\":");
	live_field(st, "instances", "[]", out);
	if (p->why[0] && st->state != TETHER_PIDFILE_RUNNING) {
		tether_buf_puts(out, ",\"reason\":");
		tether_buf_json_string(out, p->why);
	}
	tether_buf_puts(out, "}\n");
}

/* A word of the command as a shell reads it back: as it is when it holds
 * nothing a shell treats specially, else quoted ('' for an empty argument,
 * $'...' when it holds control characters, which would otherwise reach the
 * terminal). */
static void append_word(struct tether_buf *out, const char *w)
{
	bool plain = *w != '\0', control = false;
	for (const unsigned char *c = (const unsigned char *)w; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			control = true;
		if (!(isalnum(*c) || strchr("_@%+=:,./-", *c)) || *c >= 0x80)
			plain = false;
	}
	if (plain) {
		tether_buf_puts(out, w);
		return;
	}
	tether_buf_puts(out, control ? "$'" : "'");
	for (const unsigned char *c = (const unsigned char *)w; *c; c++) {
		if (*c == '\'')
			tether_buf_puts(out, control ? "\\'" : "'\\''");
		else if (control && *c == '\\')
			tether_buf_puts(out, "\\\\");
		else if (control && (*c < 0x20 || *c == 0x7f))
			tether_buf_printf(out, "\\x%02x", *c);
		else
			tether_buf_append(out, (const char *)c, 1);
	}
	tether_buf_puts(out, "'");
}

static void format_age(double s, struct tether_buf *out)
{
	long long t = (long long)s;
	if (t >= 86400)
		tether_buf_printf(out, "%lldd%lldh", t / 86400, (t % 86400) / 3600);
	else if (t >= 3600)
		tether_buf_printf(out, "%lldh%lldm", t / 3600, (t % 3600) / 60);
	else if (t >= 60)
		tether_buf_printf(out, "%lldm%llds", t / 60, t % 60);
	else
		tether_buf_printf(out, "%llds", t);
}

void tether_status_format_text(const struct tether_status *st, const char *pidfile, struct tether_buf *out)
{
	const struct tether_pidfile_probe *p = &st->probe;
	switch (st->state) {
	case TETHER_PIDFILE_STOPPED:
		tether_buf_printf(out, "tether: not running (%s)\n", pidfile);
		return;
	case TETHER_PIDFILE_STALE:
		tether_buf_printf(out, "tether: not running; stale pidfile %s: %s\n", pidfile, p->why);
		return;
	case TETHER_PIDFILE_UNKNOWN:
		tether_buf_printf(out, "tether: unknown: %s\n", p->why);
		return;
	case TETHER_PIDFILE_STARTING:
		tether_buf_printf(out, "tether: starting (pid %d)\n", (int)p->lock_pid);
		return;
	case TETHER_PIDFILE_RUNNING:
		break;
	}
	tether_buf_printf(out, "tether: running (pid %d), up ", (int)p->rec.pid);
	format_age(st->uptime_s, out);
	tether_buf_puts(out, "\n");
	if (p->restoring)
		tether_buf_printf(out, "  its pidfile %s is being restored (found by its control socket)\n", pidfile);
	char *const *cmd = command_of(&p->rec);
	if (cmd && *cmd) {
		tether_buf_puts(out, "  command:");
		for (char *const *a = cmd; *a; a++) {
			tether_buf_puts(out, " ");
			append_word(out, *a);
		}
		tether_buf_puts(out, "\n");
	}
	const struct tether_json *inst = tether_json_get(st->live, "instances");
	if (!st->live) {
		tether_buf_puts(out, "  (the supervisor did not report its instances)\n");
		return;
	}
	const struct tether_json *rt = tether_json_get(st->live, "restarts_total");
	const struct tether_json *cw = tether_json_get(st->live, "crashes_in_window");
	tether_buf_printf(out, "  restarts: %lld total, %lld crashes in the window\n",
			  rt && rt->is_int ? (long long)rt->integer : 0LL,
			  cw && cw->is_int ? (long long)cw->integer : 0LL);
	const struct tether_json *nr = tether_json_get(st->live, "notify_refused");
	if (nr && nr->is_int && nr->integer > 0)
		tether_buf_printf(out, "  notify: %lld message(s) refused from outside the instances' trees\n",
				  (long long)nr->integer);
	const struct tether_json *lost = tether_json_get(st->live, "output_lost_lines");
	if (lost && lost->is_int && lost->integer > 0)
		tether_buf_printf(out, "  output: %lld line(s) lost (an output file could not be written)\n",
				  (long long)lost->integer);
	else if (lost && lost->is_int)
		tether_buf_puts(out, "  output: no line lost\n");
	for (size_t i = 0; inst && inst->type == TETHER_JSON_ARRAY && i < inst->count; i++) {
		const struct tether_json *in = inst->items[i];
		const struct tether_json *id = tether_json_get(in, "id");
		const struct tether_json *pid = tether_json_get(in, "pid");
		const struct tether_json *state = tether_json_get(in, "state");
		const struct tether_json *restarts = tether_json_get(in, "restarts");
		const struct tether_json *requested = tether_json_get(in, "restarts_requested");
		const struct tether_json *status = tether_json_get(in, "status");
		const struct tether_json *age = tether_json_get(in, "watchdog_age_s");
		tether_buf_printf(out, "  instance %lld: ", id && id->is_int ? (long long)id->integer : (long long)i);
		if (pid && pid->is_int)
			tether_buf_printf(out, "pid %lld, ", (long long)pid->integer);
		tether_buf_printf(out, "%s, %lld restarts",
				  state && state->type == TETHER_JSON_STRING ? state->string : "?",
				  restarts && restarts->is_int ? (long long)restarts->integer : 0LL);
		if (requested && requested->is_int && requested->integer > 0)
			tether_buf_printf(out, " (+%lld requested)", (long long)requested->integer);
		if (status && status->type == TETHER_JSON_STRING && status->string[0])
			tether_buf_printf(out, ", status \"%s\"", status->string);
		if (age && age->type == TETHER_JSON_NUMBER) {
			tether_buf_puts(out, ", watchdog ");
			format_age(age->number, out);
			tether_buf_puts(out, " ago");
		}
		tether_buf_puts(out, "\n");
	}
}
