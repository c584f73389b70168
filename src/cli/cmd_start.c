/* SPDX-License-Identifier: MIT */
/* cmd_start.c — `tether start` (SPEC §2): run detached, return once every
 * instance is ready, or with the supervisor's own failure code.
 *
 * The supervisor is a child in a new session. Until it is ready it keeps our
 * stderr, so its failure message ("already running (pid N)") reaches the
 * user; a pipe tells us "ready" (one byte) or, by closing without it, that
 * it ended — then its exit code is ours. Once ready it moves its own output
 * (and from the start its workers') to --log-file or /dev/null, and we exit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cmdline.h"
#include "parse.h"
#include "spawn.h"
#include "supervisor.h"

struct start_ctx {
	struct cli_options *opts;
	int ready_fd;
	int log_fd;
};

static void on_ready(void *userdata)
{
	struct start_ctx *c = userdata;
	if (c->ready_fd < 0)
		return;
	/* Our stdio follows the workers' before the parent learns we are ready:
	 * from now on nothing of ours may write to its terminal. */
	dup2(c->log_fd, 1);
	dup2(c->log_fd, 2);
	char r = 'R';
	if (write(c->ready_fd, &r, 1) < 0) {
		/* the parent is gone: nothing to tell */
	}
	close(c->ready_fd);
	c->ready_fd = -1;
}

static void on_message(void *userdata, enum tether_message_level level, const char *text)
{
	struct start_ctx *c = userdata;
	cli_message_hook(c->opts, level, text);
}

/* Interruptions in a row after which a libc call here counts as failed (a
 * fault injector can make it fail with EINTR for ever). */
#define EINTR_TRIES 100

/* waitpid, retrying EINTR a bounded number of times. */
static int wait_child(pid_t pid, int *status)
{
	for (int tries = 0; tries < EINTR_TRIES; tries++) {
		if (waitpid(pid, status, 0) == pid)
			return 0;
		if (errno != EINTR)
			break;
	}
	return -1;
}

/* SIGTERM to the supervisor we started, and wait for its graceful end
 * (bounded by its own stop timeout) — not when the signal could not be sent:
 * the blocking wait would then never end. */
static void stop_child(pid_t pid)
{
	int status;
	if (kill(pid, SIGTERM) == 0)
		wait_child(pid, &status);
}

static const struct cli_help start_help = {
	.description = "Starts a supervisor of COMMAND in the background (new session, stdio to\n"
		       "/dev/null or --log-file) and returns once every instance is ready, or\n"
		       "with the supervisor's failure code.\n",
	.epilogue = CLI_RUN_EPILOGUE,
};

static int start(struct cli_options *opts);

int cmd_start(int argc, char **argv, char **full_argv)
{
	struct cli_options opts;
	int r = cli_parse(argc, argv, TETHER_CMD_START, &start_help, &opts);
	if (r)
		return r < 0 ? 0 : r;
	opts.cfg.record_argv = full_argv;
	r = start(&opts);
	tether_config_done(&opts.cfg);
	return r;
}

static int start(struct cli_options *popts)
{
	struct cli_options opts = *popts;
	const char *log = opts.log_file;
	int log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (log_fd < 0) {
		/* 73 is the pidfile's code (SPEC §2): a log file elsewhere that
		 * cannot be opened is the caller's mistake, named (start_waits_ready). */
		cli_error("cannot open log file %s: %s", log, strerror(errno));
		return strcmp(log, opts.cfg.pidfile) == 0 ? EXIT_PIDFILE : EXIT_USAGE;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		cli_error("pipe: %s", strerror(errno));
		return 71;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		cli_error("cannot start the supervisor: %s", strerror(errno));
		return 71;
	}
	if (pid == 0) {
		close(p[0]);
		setsid();
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, 0);
			close(devnull);
		}
		/* Our stdout is nobody's business from the start; stderr stays the
		 * caller's until we are ready (failure messages). */
		dup2(log_fd, 1);
		struct start_ctx ctx = {.opts = &opts, .ready_fd = p[1], .log_fd = log_fd};
		opts.cfg.out_fd = log_fd;
		opts.cfg.err_fd = log_fd;
		struct tether_hooks hooks = {.userdata = &ctx, .message = on_message, .ready = on_ready};
		tether_child_exit(run_supervisor(&opts, &hooks)); /* flushes coverage counters */
	}
	close(p[1]);
	close(log_fd);
	/* Ready ('R'), or end of file when it ended, or the start timeout —
	 * one deadline on the clock, which an interruption neither restarts nor
	 * ends; an interruption that keeps coming is a failure, not a loop
	 * (scenarios/start_waits_ready.scn with poll failing EINTR from its
	 * k-th call spun here until killed). */
	const struct tether_clock *clock = tether_clock_real();
	int64_t deadline = opts.start_timeout ? tether_clock_now(clock) + opts.start_timeout : TETHER_NEVER;
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	int pr = -1, err = EINTR;
	for (int tries = 0; tries < EINTR_TRIES;) {
		pr = poll(&pfd, 1, tether_clock_poll_timeout(clock, deadline));
		if (pr > 0 || (pr == 0 && tether_clock_now(clock) >= deadline))
			break;
		if (pr < 0 && errno != EINTR) {
			err = errno;
			break;
		}
		if (pr < 0)
			tries++;
		/* pr == 0 before the deadline: a timeout capped at a day */
	}
	char c;
	ssize_t n = -1;
	for (int tries = 0; pr > 0 && tries < EINTR_TRIES; tries++) {
		n = read(p[0], &c, 1);
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (pr > 0 && n < 0)
		err = errno;
	close(p[0]);
	if (n == 1)
		return 0;
	if (pr < 0 || (pr > 0 && n < 0)) {
		/* We cannot tell how it went: a start that cannot be confirmed
		 * leaves nothing running. */
		cli_error("cannot wait for the supervisor (pid %d) to be ready: %s; stopping it", (int)pid,
			  strerror(err));
		stop_child(pid);
		return 71;
	}
	if (pr == 0) {
		/* Not ready in time: a start that fails leaves nothing running.
		 * It is our child, so its pid cannot have been reused. */
		char d[32];
		cli_error("not ready within %s: stopping the supervisor (pid %d)",
			  tether_format_duration(opts.start_timeout, d, sizeof d), (int)pid);
		stop_child(pid);
		return 1;
	}
	/* It ended before being ready: its exit code is ours. */
	int status;
	if (wait_child(pid, &status) < 0)
		return 71;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	cli_error("the supervisor died by signal %d before it was ready", WTERMSIG(status));
	return 71;
}
