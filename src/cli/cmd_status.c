/* SPDX-License-Identifier: MIT */
/* cmd_status.c — `tether status [--json]` (SPEC §3): LSB codes 0/1/3/4. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "pidfile.h"
#include "proc.h"
#include "status.h"

static const char help[] =
	"Usage: tether status [--pidfile PATH] [--json]\n"
	"\n"
	"Reports the supervisor that holds PATH (default " DEFAULT_PIDFILE ").\n"
	"Exit status (LSB): 0 running, 1 not running but a stale pidfile remains,\n"
	"3 not running, 4 unknown (unreadable or malformed pidfile, no permission).\n"
	"\n"
	"  --pidfile PATH   the supervisor's pidfile\n"
	"  --json           print one JSON object instead of text\n";

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pidfile", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *pidfile = DEFAULT_PIDFILE;
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pidfile = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(help, stdout); return 0;
		case ':': return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		default: {
			/* A bad letter inside a cluster ("-jq") leaves optind on
			 * that cluster: name the letter, not the argument before. */
			char letter[3] = {'-', (char)optopt, '\0'};
			const char *bad = optopt && strncmp(argv[optind - 1], "--", 2) != 0 ? letter
											 : argv[optind - 1];
			return cli_usage_error("unknown option '%s' for status", bad);
		}
		}
	}
	if (optind < argc)
		return cli_usage_error("status takes no arguments (got '%s')", argv[optind]);
	if (!*pidfile)
		return cli_usage_error("--pidfile must not be empty");

	struct tether_status st;
	int r = tether_status_collect(pidfile, tether_clock_real(), &st);
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
