/* SPDX-License-Identifier: MIT */
/* cmd_stop.c — `tether stop` and `tether kill` (SPEC §3). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "clock.h"
#include "stop.h"

static const struct cli_help stop_help = {
	.description = "Sends SIGTERM to the supervisor that holds the pidfile and waits for it; if\n"
		       "it has not exited within the timeout, SIGKILLs it and every process of its\n"
		       "tree. Only a supervisor verified by its lock and its record (pid, start time,\n"
		       "boot id) is ever signalled. Idempotent.\n",
	.epilogue = "Exit status: 0 when nothing is left (also when nothing was running),\n"
		    "1 when a process survived or the lock holder cannot be verified,\n"
		    "4 when the supervisor is PID 1 (a container's entrypoint) or may not be\n"
		    "signalled by you (permission denied): then nothing was signalled.\n",
};

static const struct cli_help kill_help = {
	.description = "SIGKILLs the supervisor that holds the pidfile and its whole tree at once.\n",
	.epilogue = "Exit status: 0 when all are gone, 4 when the supervisor is PID 1 or may not\n"
		    "be signalled by you (nothing was signalled), 1 otherwise.\n",
};

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
	case TETHER_STOP_PID1:
		cli_say_pid1(pidfile, kill_now ? "kill" : "stop");
		return STATUS_UNKNOWN;
	case TETHER_STOP_DENIED:
		cli_say_denied(pidfile, res->supervisor);
		return STATUS_UNKNOWN;
	}
	return 1;
}

static int run(int argc, char **argv, bool kill_now)
{
	struct cli_options opts;
	int r = cli_parse(argc, argv, kill_now ? TETHER_CMD_KILL : TETHER_CMD_STOP, kill_now ? &kill_help : &stop_help,
			  &opts);
	if (r)
		return r < 0 ? 0 : r;
	const char *pidfile = opts.cfg.pidfile;
	struct tether_stop_result res;
	r = tether_stop(pidfile, opts.timeout, kill_now, tether_clock_real(), &res);
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
