/* SPDX-License-Identifier: MIT */
/* cmd_signal.c — `tether signal` (SPEC §3): SIGNAL to the main process of
 * every instance (or one), the common reload idiom. The supervisor asks each
 * instance's guardian, the worker's parent (control_server.c), so the pid it
 * signals cannot have been reused. */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cmdline.h"
#include "parse.h"

/* The guardians answer at once; this only bounds a supervisor that hangs. */
#define ANSWER_TIMEOUT_NS (10 * TETHER_NSEC_PER_SEC)
/* The kernel's last signal, with glibc and musl alike. */
#define LAST_SIGNAL 64

static const struct cli_help signal_help = {
	.description = "Sends SIGNAL to the main process of every instance (or of --instance N) of\n"
		       "the supervisor that holds the pidfile: the process tether started, through\n"
		       "its guardian, which is its parent and so cannot reach a reused pid. SIGNAL\n"
		       "is a name (HUP, SIGHUP, USR1, RTMIN+2) or a number. A death it causes is\n"
		       "judged like any other exit (restart, backoff, crash count).\n",
	.epilogue = "Exit status: 0 when delivered to every instance asked, 1 naming those it could\n"
		    "not reach (or when nothing runs), 4 when the supervisor is PID 1 (a\n"
		    "container's entrypoint) or may not be signalled by you, 64 usage or an\n"
		    "unknown signal.\n",
};

static const struct {
	const char *name;
	int sig;
} names[] = {
	{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},   {"ILL", SIGILL},       {"TRAP", SIGTRAP},
	{"ABRT", SIGABRT}, {"IOT", SIGABRT},    {"BUS", SIGBUS},     {"FPE", SIGFPE},       {"KILL", SIGKILL},
	{"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},
	{"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CLD", SIGCHLD},      {"CONT", SIGCONT},
	{"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},     {"URG", SIGURG},
	{"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH},
	{"IO", SIGIO},     {"POLL", SIGIO},     {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

static int small_number(const char *s, int max)
{
	uint64_t v;
	if (!*s || tether_parse_uint(s, 0, (uint64_t)max, &v) < 0)
		return -1;
	return (int)v;
}

/* A signal's number from a name (any case, with or without SIG), RTMIN+N,
 * RTMAX-N or a number from 1 to 64; -1 when it is none. */
static int signal_number(const char *arg)
{
	const char *s = strncasecmp(arg, "SIG", 3) == 0 && !isdigit((unsigned char)arg[3]) ? arg + 3 : arg;
	if (isdigit((unsigned char)s[0]) && s == arg) {
		int n = small_number(s, LAST_SIGNAL);
		return n >= 1 ? n : -1;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].sig;
	int n = 0;
	if (strncasecmp(s, "RTMIN", 5) == 0) {
		if (s[5] && (s[5] != '+' || (n = small_number(s + 6, LAST_SIGNAL)) < 0))
			return -1;
		return SIGRTMIN + n <= SIGRTMAX ? SIGRTMIN + n : -1;
	}
	if (strncasecmp(s, "RTMAX", 5) == 0) {
		if (s[5] && (s[5] != '-' || (n = small_number(s + 6, LAST_SIGNAL)) < 0))
			return -1;
		return SIGRTMAX - n >= SIGRTMIN ? SIGRTMAX - n : -1;
	}
	return -1;
}

int cmd_signal(int argc, char **argv)
{
	struct cli_options opts;
	int r = cli_parse(argc, argv, TETHER_CMD_SIGNAL, &signal_help, &opts);
	if (r)
		return r < 0 ? 0 : r;
	int sig = signal_number(opts.signal_name);
	if (sig < 0)
		return cli_usage_error("unknown signal '%s' (a name such as HUP or SIGHUP, or a number from 1 to %d)",
				       opts.signal_name, LAST_SIGNAL);
	const char *pidfile = opts.cfg.pidfile;
	pid_t pid = 0;
	r = cli_verified_supervisor(pidfile, "signal", &pid);
	if (r)
		return r;
	char target[16] = "all", request[64];
	if (opts.instance != UINT_MAX)
		snprintf(target, sizeof target, "%u", opts.instance);
	snprintf(request, sizeof request, "signal %d %s", sig, target);
	struct tether_json *answer = NULL;
	r = cli_ask_supervisor(pidfile, pid, request, ANSWER_TIMEOUT_NS, &answer);
	if (r)
		return r;
	const struct tether_json *failed = tether_json_get(answer, "failed");
	size_t nfailed = failed && failed->type == TETHER_JSON_ARRAY ? failed->count : 0;
	for (size_t i = 0; i < nfailed; i++) {
		const struct tether_json *id = tether_json_get(failed->items[i], "id");
		const struct tether_json *why = tether_json_get(failed->items[i], "error");
		cli_error("instance %lld: not reached: %s", id && id->is_int ? (long long)id->integer : -1LL,
			  why && why->type == TETHER_JSON_STRING ? why->string : "?");
	}
	if (!failed || failed->type != TETHER_JSON_ARRAY) {
		cli_error("the supervisor of %s (pid %d) gave a malformed answer", pidfile, (int)pid);
		nfailed = 1;
	}
	tether_json_free(answer);
	return nfailed ? 1 : 0;
}
