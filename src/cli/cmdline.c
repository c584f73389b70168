/* SPDX-License-Identifier: MIT */
/* cmdline.c — the tether command's command line (SPEC §1-3): every option is
 * a row of libtether's table or of this file's, parsed and bounded by
 * tether_option_set, shown in --help by tether_option_help. */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"

#define CLI(field, ctype) TETHER_OPT_FIELD(struct cli_options, field, ctype)
#define RUNS (TETHER_CMD_RUN | TETHER_CMD_START)

/* The command's own rows: what is no field of struct tether_config. */
static const struct tether_option cli_rows[] = {
	{.name = "log-file", .kind = TETHER_OPT_PATH, .commands = TETHER_CMD_START, .offset = CLI(log_file, const char *),
	 .def = "/dev/null", .metavar = "PATH", .help = "the supervisor's and workers' output"},
	{.name = "start-timeout", .kind = TETHER_OPT_DUR, .commands = TETHER_CMD_START,
	 .offset = CLI(start_timeout, int64_t), .def = "90s", .metavar = "DUR",
	 .help = "give up waiting for readiness after DUR: stop the\nsupervisor, exit 1; 0 waits as long as it takes"},
	{.name = "quiet", .kind = TETHER_OPT_FLAG, .commands = RUNS, .offset = CLI(quiet, bool),
	 .help = "only errors on stderr"},
	{.name = "timeout", .kind = TETHER_OPT_DUR, .commands = TETHER_CMD_STOP, .offset = CLI(timeout, int64_t),
	 .def = "10s", .metavar = "DUR", .help = "how long the supervisor has to exit before SIGKILL"},
	{.name = "json", .kind = TETHER_OPT_FLAG, .commands = TETHER_CMD_STATUS, .offset = CLI(json, bool),
	 .help = "print one JSON object instead of text"},
	/* the same name as stop's --timeout, its own row: the command's rows
	 * are matched first (cli_parse) */
	{.name = "timeout", .kind = TETHER_OPT_DUR, .commands = TETHER_CMD_RESTART,
	 .offset = CLI(restart_timeout, int64_t), .min = 1, .def = "90s", .metavar = "DUR",
	 .help = "give up waiting for the instances to be ready again\nafter DUR: exit 1"},
	{.name = "instance", .kind = TETHER_OPT_UINT, .commands = TETHER_CMD_RESTART | TETHER_CMD_SIGNAL,
	 .offset = CLI(instance, unsigned), .max = TETHER_MAX_INSTANCES - 1, .metavar = "N",
	 .help = "only instance N (default: every instance)"},
#ifdef TETHER_FAULT_INJECTION
	/* the lab's (src/lab/simclock.h), not for users: no help line */
	{.name = "sim-clock", .kind = TETHER_OPT_FLAG, .commands = RUNS, .offset = CLI(sim_clock, bool)},
#endif
	{0},
};

/* Every row the command line knows, with the struct each one fills. */
struct row {
	const struct tether_option *o;
	void *base;
};

#define MAX_ROWS 64

static bool named(const struct row *rows, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].o->name, name) == 0)
			return true;
	return false;
}

/* The command's own rows first, then the others (for "an option of 'tether
 * X'" messages); of two rows with one name (stop's and restart's --timeout)
 * only the first is kept, so the command's own is the one that matches. */
static size_t all_rows(struct cli_options *opts, enum tether_command command, struct row *rows)
{
	size_t n = 0;
	for (int mine = 1; mine >= 0; mine--) {
		for (const struct tether_option *o = tether_config_options; o->name && n < MAX_ROWS; o++)
			if (!!(o->commands & command) == mine && !named(rows, n, o->name))
				rows[n++] = (struct row){o, &opts->cfg};
		for (const struct tether_option *o = cli_rows; o->name && n < MAX_ROWS; o++)
			if (!!(o->commands & command) == mine && !named(rows, n, o->name))
				rows[n++] = (struct row){o, opts};
	}
	return n;
}

static const char *command_name(unsigned bit)
{
	switch (bit) {
	case TETHER_CMD_RUN: return "run";
	case TETHER_CMD_START: return "start";
	case TETHER_CMD_STOP: return "stop";
	case TETHER_CMD_KILL: return "kill";
	case TETHER_CMD_STATUS: return "status";
	case TETHER_CMD_RESTART: return "restart";
	case TETHER_CMD_SIGNAL: return "signal";
	}
	return "?";
}

static void print_help(const char *name, enum tether_command command, const struct cli_help *help,
		       const struct row *rows, size_t n)
{
	struct tether_buf b;
	tether_buf_init(&b);
	tether_buf_printf(&b, "Usage: tether %s", name);
	if (command & RUNS) {
		tether_buf_puts(&b, " [OPTIONS] -- COMMAND [ARG...]");
	} else {
		for (size_t i = 0; i < n; i++)
			if ((rows[i].o->commands & command) && rows[i].o->help)
				tether_buf_printf(&b, " [--%s%s%s]", rows[i].o->name, rows[i].o->metavar ? " " : "",
						  rows[i].o->metavar ? rows[i].o->metavar : "");
		if (command == TETHER_CMD_SIGNAL)
			tether_buf_puts(&b, " SIGNAL");
	}
	tether_buf_printf(&b, "\n\n%s\n", help->description);
	size_t column = 0;
	for (size_t i = 0; i < n; i++)
		if ((rows[i].o->commands & command) && tether_option_usage_width(rows[i].o) + 2 > column)
			column = tether_option_usage_width(rows[i].o) + 2;
	for (size_t i = 0; i < n; i++)
		if (rows[i].o->commands & command)
			tether_option_help(rows[i].o, column, &b);
	if (help->epilogue)
		tether_buf_printf(&b, "\n%s", help->epilogue);
	fputs(b.data ? b.data : "", stdout);
	tether_buf_done(&b);
}

/* An option of another command: say whose it is. */
static int not_ours(const struct tether_option *o, const char *cmd)
{
	char owners[64] = "";
	size_t off = 0;
	/* every row of that name: stop's and restart's --timeout are two */
	unsigned commands = o->commands;
	for (const struct tether_option *r = cli_rows; r->name; r++)
		if (strcmp(r->name, o->name) == 0)
			commands |= r->commands;
	for (unsigned bit = 1; bit <= TETHER_CMD_LAST; bit <<= 1)
		if ((commands & bit) && off < sizeof owners)
			off += (size_t)snprintf(owners + off, sizeof owners - off, "%s%s", off ? "|" : "",
						command_name(bit));
	return cli_usage_error("--%s is an option of 'tether %s', not of %s", o->name, owners, cmd);
}

static int parse(int argc, char **argv, enum tether_command command, const struct cli_help *help,
		 struct cli_options *opts);

int cli_parse(int argc, char **argv, enum tether_command command, const struct cli_help *help,
	      struct cli_options *opts)
{
	int r = parse(argc, argv, command, help, opts);
	if (r)
		tether_config_done(&opts->cfg); /* what --env collected */
	return r;
}

static int parse(int argc, char **argv, enum tether_command command, const struct cli_help *help,
		 struct cli_options *opts)
{
	struct row rows[MAX_ROWS];
	struct option longopts[MAX_ROWS + 2];
	*opts = (struct cli_options){0};
	tether_config_defaults(&opts->cfg);
	tether_options_defaults(cli_rows, opts);
	opts->instance = UINT_MAX;
	size_t n = all_rows(opts, command, rows);
	for (size_t i = 0; i < n; i++)
		longopts[i] = (struct option){rows[i].o->name,
					      rows[i].o->kind == TETHER_OPT_FLAG ? no_argument : required_argument, NULL,
					      256 + (int)i};
	longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n + 1] = (struct option){0};

	opterr = 0;
	optind = 1;
	int c;
	/* "+": stop at the first non-option, which begins COMMAND. signal's
	 * SIGNAL may come before its options too: permuted, as kill(1) users
	 * write `tether signal HUP --pidfile P`. */
	const char *optstring = command == TETHER_CMD_SIGNAL ? ":" : "+:";
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (c == 'h') {
			print_help(argv[0], command, help, rows, n);
			return -1;
		}
		if (c == ':')
			return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		if (c < 256 || c >= 256 + (int)n) {
			/* A bad letter inside a cluster ("-xy") leaves optind on
			 * that cluster: name the letter, not the argument before. */
			char letter[3] = {'-', (char)optopt, '\0'};
			const char *bad = optopt && strncmp(argv[optind - 1], "--", 2) != 0 ? letter : argv[optind - 1];
			return cli_usage_error("unknown option '%s' for %s", bad, argv[0]);
		}
		const struct row *r = &rows[c - 256];
		if (!(r->o->commands & command))
			return not_ours(r->o, argv[0]);
		char why[320];
		if (tether_option_set(r->o, r->base, optarg, why, sizeof why) < 0)
			return cli_usage_error("%s", why);
	}
	if (command == TETHER_CMD_SIGNAL) {
		if (optind >= argc)
			return cli_usage_error("no SIGNAL given (tether signal [OPTIONS] SIGNAL)");
		opts->signal_name = argv[optind++];
	}
	if (!(command & RUNS)) {
		if (optind < argc)
			return cli_usage_error("%s takes no arguments (got '%s')", argv[0], argv[optind]);
		return 0;
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0 && argv[optind][0] == '-')
		return cli_usage_error("unknown option '%s'", argv[optind]);
	if (optind >= argc)
		return cli_usage_error("no COMMAND given (tether %s [OPTIONS] -- COMMAND [ARG...])", argv[0]);
	opts->cfg.argv = argv + optind;
	char why[320];
	if (tether_config_check(&opts->cfg, why, sizeof why) < 0)
		return cli_usage_error("%s", why);
	return 0;
}

void cli_message_hook(void *userdata, enum tether_message_level level, const char *text)
{
	const struct cli_options *opts = userdata;
	if (level != TETHER_MSG_ERROR && opts && opts->quiet)
		return;
	if (level == TETHER_MSG_WARNING)
		cli_warn("%s", text);
	else
		cli_error("%s", text);
}

void cli_report_result(const struct tether_result *res)
{
	switch (res->outcome) {
	case TETHER_OUTCOME_USAGE:
		cli_usage_error("%s", res->message);
		break;
	case TETHER_OUTCOME_LOW_DISK:
	case TETHER_OUTCOME_NOT_PERMITTED:
	case TETHER_OUTCOME_PIDFILE:
	case TETHER_OUTCOME_RUNNING:
	case TETHER_OUTCOME_INTERNAL:
		cli_error("%s", res->message);
		break;
	default:
		/* said by the supervisor as it happened */
		break;
	}
}
