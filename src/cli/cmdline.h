/* SPDX-License-Identifier: MIT */
/* cmdline.h — the tether command's options: libtether's table
 * (tether_config_options) for the fields of struct tether_config, and the
 * command's own rows for the rest, parsed, checked and shown in --help by
 * one code (options.h of libtether). */
#ifndef TETHER_CLI_CMDLINE_H
#define TETHER_CLI_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "options.h"
#include "supervisor.h"

struct cli_options {
	struct tether_config cfg; /* the library's rows */
	bool quiet;               /* run, start */
	bool sim_clock;           /* run, start: a lab build's --sim-clock */
	const char *log_file;     /* start */
	int64_t start_timeout;    /* start: ns, 0 = wait as long as it takes */
	int64_t timeout;          /* stop */
	bool json;                /* status */
	int64_t restart_timeout;  /* restart: ns */
	unsigned instance;        /* restart, signal: --instance N; UINT_MAX: every instance */
	const char *signal_name;  /* signal: its SIGNAL argument */
};

/* What --help says around the options. */
struct cli_help {
	const char *description; /* after the usage line */
	const char *epilogue;    /* after the options, or NULL */
};

/* Parses argv (argv[0] is the command's name) for command into *opts, from
 * the defaults. run and start take "[--] COMMAND [ARG...]" after the options
 * (opts->cfg.argv) and get the whole configuration checked; signal takes one
 * SIGNAL (opts->signal_name), before or after its options; the others take
 * no argument. Returns 0 (then tether_config_done(&opts->cfg) releases what
 * it collected), or the exit code to return at once: EXIT_USAGE after a
 * message, -1 after --help (exit 0). */
int cli_parse(int argc, char **argv, enum tether_command command, const struct cli_help *help,
	      struct cli_options *opts);

/* The hooks that print the supervisor's messages ("tether: ..."). */
void cli_message_hook(void *userdata, enum tether_message_level level, const char *text);
/* Runs the supervisor for opts until it ends; returns the exit code (shared
 * by run and start's detached child). */
int run_supervisor(struct cli_options *opts, struct tether_hooks *hooks);

/* Prints the message of a result that ended before supervision began. */
void cli_report_result(const struct tether_result *res);

#endif
