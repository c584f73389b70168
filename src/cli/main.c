/* SPDX-License-Identifier: MIT */
/* main.c — the tether command: dispatch to a subcommand. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "parse.h"
#ifdef TETHER_FAULT_INJECTION
#include "fault.h"
#endif

static const char usage_text[] =
	"Usage: tether COMMAND [OPTIONS]\n"
	"\n"
	"A process supervisor: one instance per pidfile, restarts with backoff,\n"
	"kills hung workers, and leaves no orphan behind.\n"
	"\n"
	"Commands:\n"
	"  run     [OPTIONS] -- COMMAND [ARG...]   supervise COMMAND in the foreground\n"
	"  start   [OPTIONS] -- COMMAND [ARG...]   the same, detached; returns once ready\n"
	"  stop    [--pidfile PATH] [--timeout DUR] stop the supervisor and its tree\n"
	"  kill    [--pidfile PATH]                 SIGKILL the supervisor and its tree\n"
	"  status  [--pidfile PATH] [--json]        0 running, 1 stale, 3 stopped, 4 unknown\n"
	"  restart [--pidfile PATH] [--instance N]  restart each instance in turn (not a crash)\n"
	"  signal  [--pidfile PATH] [--instance N] SIGNAL\n"
	"                                           send SIGNAL to each instance's main process\n"
	"\n"
	"'tether COMMAND --help' describes each command's options.\n"
	"DUR: 250ms, 5s, 10m, 24h (a plain number is seconds). SIZE: 512, 64K, 10M, 1G.\n";

int main(int argc, char **argv)
{
#ifdef TETHER_FAULT_INJECTION
	/* a lab build: the faults the lab asks for in TETHER_FAULT (fault.h) */
	if (tether_fault_setup() < 0) {
		cli_error("TETHER_FAULT: malformed (POINT:ERRNO:K[:once|from];...)");
		return EXIT_USAGE;
	}
#endif
	/* An ignored SIGCHLD survives exec: from a caller that ignores it, the
	 * kernel reaps our children itself, so `start` would lose its
	 * supervisor's exit code and `run` would never see its guardians end
	 * (a hang after "giving up", and on SIGTERM). `harness faults
	 * --enumerate` fails posix/proc/waitpid with ECHILD to check it. */
	signal(SIGCHLD, SIG_DFL);
	if (argc < 2)
		return cli_usage_error("no command given");
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		/* the second line tells a lab whether TETHER_FAULT can work here */
#ifdef TETHER_FAULT_INJECTION
		printf("tether %s\nfault points: tether/sys/* (libfiu)\n", PACKAGE_VERSION);
#else
		printf("tether %s\nfault points: none\n", PACKAGE_VERSION);
#endif
		return 0;
	}
	/* Subcommands parse argv[1..]: their getopt sees the command as argv[0]. */
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(cmd, "stop") == 0)
		return cmd_stop(argc - 1, argv + 1);
	if (strcmp(cmd, "kill") == 0)
		return cmd_kill(argc - 1, argv + 1);
	if (strcmp(cmd, "restart") == 0)
		return cmd_restart(argc - 1, argv + 1);
	if (strcmp(cmd, "signal") == 0)
		return cmd_signal(argc - 1, argv + 1);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1, argv);
	if (strcmp(cmd, "start") == 0)
		return cmd_start(argc - 1, argv + 1, argv);
	return cli_usage_error("unknown command '%s'", cmd);
}
