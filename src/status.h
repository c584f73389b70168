/* SPDX-License-Identifier: MIT */
/* status.h — what `tether status` reports, gathered and formatted.
 *
 * The pidfile probe says whether a verified supervisor runs; the running
 * supervisor's control socket (control.h) adds its live state: instances,
 * restarts, STATUS= texts, watchdog ages. A supervisor that does not answer
 * within a short deadline (stopped, busy) is still reported from its record.
 */
#ifndef TETHER_STATUS_H
#define TETHER_STATUS_H

#include "json.h"
#include "pidfile.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tether_status {
	enum tether_pidfile_state state;
	struct tether_pidfile_probe probe;
	double uptime_s;          /* running: from the record's start_time */
	struct tether_json *live; /* the supervisor's own report, or NULL */
};

/* 0, or -errno when /proc itself cannot be read. A running supervisor gets
 * one second of clock to answer. Reset with tether_status_done. */
int tether_status_collect(const char *pidfile, const struct tether_clock *clock, struct tether_status *ret);
void tether_status_done(struct tether_status *st);
/* One JSON object and a newline (SPEC §3 fields). */
void tether_status_format_json(const struct tether_status *st, struct tether_buf *out);
void tether_status_format_text(const struct tether_status *st, const char *pidfile, struct tether_buf *out);

#ifdef __cplusplus
}
#endif

#endif
