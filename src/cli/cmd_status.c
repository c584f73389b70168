/* SPDX-License-Identifier: MIT */
/* cmd_status.c — `tether status [--json]` (SPEC §3): LSB codes 0/1/3/4. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmdline.h"
#include "json.h"
#include "pidfile.h"
#include "proc.h"
#include "status.h"

static const struct cli_help status_help = {
	.description = "Reports the supervisor that holds the pidfile.\n"
		       "Exit status (LSB): 0 running, 1 not running but a stale pidfile remains,\n"
		       "3 not running, 4 unknown (unreadable or malformed pidfile, no permission).\n",
};

int cmd_status(int argc, char **argv)
{
	struct cli_options opts;
	int r = cli_parse(argc, argv, TETHER_CMD_STATUS, &status_help, &opts);
	if (r)
		return r < 0 ? 0 : r;
	const char *pidfile = opts.cfg.pidfile;
	bool json = opts.json;

	struct tether_status st;
	r = tether_status_collect(pidfile, tether_clock_real(), &st);
	if (r < 0) {
		cli_error("cannot read process information: %s", strerror(-r));
		return STATUS_UNKNOWN;
	}
	struct tether_buf out;
	tether_buf_init(&out);
	if (json)
		tether_status_format_json(&st, &out);
	else
		tether_status_format_text(&st, pidfile, &out);
	fputs(out.data ? out.data : "", stdout);
	tether_buf_done(&out);
	int code;
	switch (st.state) {
	case TETHER_PIDFILE_RUNNING:
	case TETHER_PIDFILE_STARTING: code = STATUS_RUNNING; break;
	case TETHER_PIDFILE_STALE: code = STATUS_STALE; break;
	case TETHER_PIDFILE_STOPPED: code = STATUS_STOPPED; break;
	default: code = STATUS_UNKNOWN; break;
	}
	tether_status_done(&st);
	return code;
}
