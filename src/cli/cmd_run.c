/* SPDX-License-Identifier: MIT */
/* cmd_run.c — `tether run` (SPEC §1): supervise in the foreground. */
#include "config.h"

#include <signal.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "supervisor.h"
#ifdef TETHER_FAULT_INJECTION
#include "simclock.h"
#endif

/* Runs the supervisor for opts; shared with `tether start`'s detached child. */
int run_supervisor(struct run_options *opts, struct tether_hooks *hooks)
{
	const struct tether_clock *clock = tether_clock_real();
#ifdef TETHER_FAULT_INJECTION
	/* the lab's simulated clock, driven over the control socket */
	struct tether_lab lab;
	if (opts->sim_clock) {
		hooks->lab = tether_lab_init(&lab);
		clock = &lab.clock.clock;
	}
#endif
	opts->cfg.pid1 = getpid() == 1;
	/* The journal, sockets and pipes never raise SIGPIPE (MSG_NOSIGNAL),
	 * but our own stderr may be a closed pipe: a message must not kill us. */
	signal(SIGPIPE, SIG_IGN);

	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	if (tether_supervisor_new(&opts->cfg, clock, hooks, &sv, &res) < 0) {
		cli_report_result(&res);
		return tether_result_exit_code(&res);
	}
	tether_supervisor_run(sv, &res);
	tether_supervisor_free(sv);
	cli_report_result(&res);
	return tether_result_exit_code(&res);
}

int cmd_run(int argc, char **argv, char **full_argv)
{
	struct run_options opts;
	int r = parse_run_options(argc, argv, false, &opts);
	if (r)
		return r < 0 ? 0 : r;
	opts.cfg.record_argv = full_argv;
	struct tether_hooks hooks = {.userdata = &opts, .message = cli_message_hook};
	return run_supervisor(&opts, &hooks);
}
