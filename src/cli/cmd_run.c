/* SPDX-License-Identifier: MIT */
/* cmd_run.c — `tether run` (SPEC §1): supervise in the foreground. */
#include "config.h"

#include <signal.h>
#include <unistd.h>

#include "cli.h"
#include "cmdline.h"
#include "supervisor.h"
#include "sys.h"
#ifdef TETHER_FAULT_INJECTION
#include "simclock.h"
#endif

/* Every signal whose default action ends a process is ignored, but those the
 * supervisor reads from its signalfd (TERM, INT, HUP: stop; USR1, USR2; it
 * blocks them) and the two that cannot be caught: only SIGKILL ends tether
 * without its graceful stop (SPEC §1). SIGPIPE among them: the journal,
 * sockets and pipes never raise it (MSG_NOSIGNAL), but our own stderr may be
 * a closed pipe, and a message must not kill us. A handler already installed
 * (a sanitizer's for SEGV, BUS, FPE) is left alone, and so are the job
 * control stops (TSTP, TTIN, TTOU: a terminal's ^Z still suspends `tether
 * run`). A fault the kernel raises itself (a real SIGSEGV) is delivered by
 * default action even when ignored. The guardians reset every disposition
 * before a worker is started (guardian.c), and spawn.c empties the mask:
 * workers get the defaults. */
static void ignore_fatal_signals(void)
{
	for (int sig = 1; sig <= 64; sig++) {
		switch (sig) {
		case SIGKILL: case SIGSTOP:                   /* cannot be caught */
		case SIGTERM: case SIGINT: case SIGHUP:       /* the supervisor's stop */
		case SIGUSR1: case SIGUSR2:                   /* the supervisor's too */
		case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH: /* ignored by default */
		case SIGTSTP: case SIGTTIN: case SIGTTOU:     /* stop, do not end */
			continue;
		}
		sys_sigaction_ignore_default(sig);
	}
}

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
	ignore_fatal_signals();

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
