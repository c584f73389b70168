/* SPDX-License-Identifier: MIT */
/* cmd_run.c — `tether run` (SPEC §1): supervise in the foreground. */
#include "config.h"

#include <signal.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "supervisor.h"

/* Runs the supervisor for opts; shared with `tether start`'s detached child. */
int run_supervisor(struct run_options *opts, struct tether_hooks *hooks)
{
	struct tether_clock clock;
	if (opts->sim_clock)
		tether_clock_init_sim(&clock);
	else
		tether_clock_init_real(&clock);
	opts->cfg.sim_control = opts->sim_clock;
	opts->cfg.pid1 = getpid() == 1;
	/* The journal, sockets and pipes never raise SIGPIPE (MSG_NOSIGNAL),
	 * but our own stderr may be a closed pipe: a message must not kill us. */
	signal(SIGPIPE, SIG_IGN);

	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	if (tether_supervisor_new(&opts->cfg, &clock, hooks, &sv, &res) < 0) {
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
