/* SPDX-License-Identifier: MIT */
/* cmd_stop.c — `tether stop` and `tether kill` (SPEC §3). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "stop.h"

static const char stop_help[] =
	"Usage: tether stop [--pidfile PATH] [--timeout DUR]\n"
	"\n"
	"Sends SIGTERM to the supervisor that holds PATH (default " DEFAULT_PIDFILE ")\n"
	"and waits for it; if it has not exited within DUR (default 10s), SIGKILLs it\n"
	"and every process of its tree. Only a supervisor verified by its lock and its\n"
	"record (pid, start time, boot id) is ever signalled. Idempotent.\n"
	"Exit status: 0 when nothing is left (also when nothing was running),\n"
	"1 when a process survived or the lock holder cannot be verified.\n";

static const char kill_help[] =
	"Usage: tether kill [--pidfile PATH]\n"
	"\n"
	"SIGKILLs the supervisor that holds PATH (default " DEFAULT_PIDFILE ") and its\n"
	"whole tree at once. Exit status: 0 when all are gone, 1 otherwise.\n";

static int report(const struct tether_stop_result *res, const char *pidfile, bool kill_now)
{
	if (res->left_foreign)
		cli_warn("%s", res->why[0] ? res->why : "a file at the pidfile path is not ours; left in place");
	switch (res->outcome) {
	case TETHER_STOP_NOT_RUNNING:
	case TETHER_STOP_STOPPED:
		return 0;
	case TETHER_STOP_KILLED:
		if (!kill_now)
			cli_warn("supervisor (pid %d) did not stop in time: killed it and its tree",
				 (int)res->supervisor);
		return 0;
	case TETHER_STOP_SURVIVORS: {
		char list[512] = "";
		size_t off = 0;
		int shown = res->nsurvivors < TETHER_STOP_MAX_SURVIVORS ? res->nsurvivors : TETHER_STOP_MAX_SURVIVORS;
		for (int i = 0; i < shown && off < sizeof list - 16; i++)
			off += (size_t)snprintf(list + off, sizeof list - off, "%s%d", i ? " " : "",
						(int)res->survivors[i]);
		cli_error("%d process(es) survived SIGKILL: %s%s", res->nsurvivors, list,
			  res->nsurvivors > shown ? " ..." : "");
		return 1;
	}
	case TETHER_STOP_UNVERIFIED:
		cli_error("cannot verify the supervisor of %s: %s; nothing was signalled", pidfile, res->why);
		return 1;
	}
	return 1;
}

static int run(int argc, char **argv, bool kill_now)
{
	static const struct option opts[] = {
		{"pidfile", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *pidfile = DEFAULT_PIDFILE;
	int64_t timeout = 10 * TETHER_NSEC_PER_SEC;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pidfile = optarg; break;
		case 't':
			if (kill_now)
				return cli_usage_error("kill takes no --timeout");
			if (cli_duration("timeout", optarg, &timeout) != 0)
				return EXIT_USAGE;
			break;
		case 'h': fputs(kill_now ? kill_help : stop_help, stdout); return 0;
		case ':': return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		default: {
			/* A bad letter inside a cluster ("-xy") leaves optind on
			 * that cluster: name the letter, not the argument before. */
			char letter[3] = {'-', (char)optopt, '\0'};
			const char *bad = optopt && strncmp(argv[optind - 1], "--", 2) != 0 ? letter
											 : argv[optind - 1];
			return cli_usage_error("unknown option '%s' for %s", bad, argv[0]);
		}
		}
	}
	if (optind < argc)
		return cli_usage_error("%s takes no arguments (got '%s')", argv[0], argv[optind]);
	if (!*pidfile)
		return cli_usage_error("--pidfile must not be empty");
	struct tether_clock clock;
	tether_clock_init_real(&clock);
	struct tether_stop_result res;
	int r = tether_stop(pidfile, timeout, kill_now, &clock, &res);
	if (r < 0) {
		cli_error("%s: %s", pidfile, strerror(-r));
		return 1;
	}
	return report(&res, pidfile, kill_now);
}

int cmd_stop(int argc, char **argv)
{
	return run(argc, argv, false);
}

int cmd_kill(int argc, char **argv)
{
	return run(argc, argv, true);
}
