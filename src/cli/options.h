/* SPDX-License-Identifier: MIT */
/* options.h — the options `tether run` and `tether start` share (SPEC §1). */
#ifndef TETHER_CLI_OPTIONS_H
#define TETHER_CLI_OPTIONS_H

#include <stdbool.h>

#include "supervisor.h"

struct run_options {
	struct tether_config cfg;
	bool quiet;
	bool sim_clock; /* a lab build's --sim-clock */
	const char *log_file; /* start only */
	int64_t start_timeout; /* start only: ns, 0 = wait as long as it takes */
};

/* Parses argv (argv[0] is the command name) into *opts. Returns 0, or the
 * exit code to return at once (EXIT_USAGE after a message, or 0 after --help). */
int parse_run_options(int argc, char **argv, bool is_start, struct run_options *opts);

/* The hooks that print the supervisor's messages ("tether: ..."). */
void cli_message_hook(void *userdata, enum tether_message_level level, const char *text);
/* Runs the supervisor for opts until it ends; returns the exit code (shared
 * by run and start's detached child). */
int run_supervisor(struct run_options *opts, struct tether_hooks *hooks);

/* Prints the message of a result that ended before supervision began. */
void cli_report_result(const struct tether_result *res);

#endif
