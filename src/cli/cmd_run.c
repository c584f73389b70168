/* SPDX-License-Identifier: MIT */
/* cmd_run.c — `tether run` (SPEC §1): supervise in the foreground. */
#include "config.h"

#include <signal.h>
#include <unistd.h>

#include "cli.h"
#include "cmdline.h"
#include "supervisor.h"
#ifdef TETHER_FAULT_INJECTION
#include "simclock.h"
#endif

/* Runs the supervisor for opts; shared with `tether start`'s detached child. */
int run_supervisor(struct cli_options *opts, struct tether_hooks *hooks)
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

static const struct cli_help run_help = {
	.description = "Supervises COMMAND in the foreground until stopped (SIGTERM, SIGINT, SIGHUP\n"
		       "or 'tether stop'): restarts it with backoff, kills it when hung, and leaves\n"
		       "no process of its tree behind.\n",
	.epilogue = CLI_RUN_EPILOGUE,
};

int cmd_run(int argc, char **argv, char **full_argv)
{
	struct cli_options opts;
	int r = cli_parse(argc, argv, TETHER_CMD_RUN, &run_help, &opts);
	if (r)
		return r < 0 ? 0 : r;
	opts.cfg.record_argv = full_argv;
	struct tether_hooks hooks = {.userdata = &opts, .message = cli_message_hook};
	r = run_supervisor(&opts, &hooks);
	tether_config_done(&opts.cfg);
	return r;
}
