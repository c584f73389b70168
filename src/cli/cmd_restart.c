/* SPDX-License-Identifier: MIT */
/* cmd_restart.c — `tether restart` (SPEC §3): a rolling restart that is not a
 * crash. The supervisor does the work (control_server.c: one instance at a
 * time, each ready again before the next); this waits for its answer. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "parse.h"

/* How long past --timeout we wait for the answer: the supervisor answers at
 * its own deadline, which is --timeout after it got the request. */
#define ANSWER_GRACE_NS (5 * TETHER_NSEC_PER_SEC)

static const struct cli_help restart_help = {
	.description = "Restarts the instances of the supervisor that holds the pidfile, one at a\n"
		       "time: each gets SIGTERM (SIGKILL after its --stop-timeout) for its whole tree\n"
		       "and is started again at once; the next waits until it is ready again, so a\n"
		       "pool never drops to zero ready. A requested restart is not a crash: no\n"
		       "backoff, the crash count and window untouched. Only a supervisor verified\n"
		       "by its lock and its record is asked.\n",
	.epilogue = "Exit status: 0 when every restarted instance is ready again, 1 when one is\n"
		    "not ready in time or nothing runs, 4 when the supervisor is PID 1 (a\n"
		    "container's entrypoint) or may not be signalled by you, 64 usage.\n",
};

/* "0, 1 and 3" from a JSON array of instance numbers. */
static void id_text(const struct tether_json *ids, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; ids && ids->type == TETHER_JSON_ARRAY && i < ids->count && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%lld", i == 0 ? "" : i + 1 == ids->count ? " and " : ", ",
					(long long)ids->items[i]->integer);
}

int cmd_restart(int argc, char **argv)
{
	struct cli_options opts;
	int r = cli_parse(argc, argv, TETHER_CMD_RESTART, &restart_help, &opts);
	if (r)
		return r < 0 ? 0 : r;
	const char *pidfile = opts.cfg.pidfile;
	pid_t pid = 0;
	r = cli_verified_supervisor(pidfile, "restart", &pid);
	if (r)
		return r;
	char target[16] = "all", request[64];
	if (opts.instance != UINT_MAX)
		snprintf(target, sizeof target, "%u", opts.instance);
	long long ms = (long long)((opts.restart_timeout + TETHER_NSEC_PER_MSEC - 1) / TETHER_NSEC_PER_MSEC);
	snprintf(request, sizeof request, "restart %s %lld", target, ms);
	struct tether_json *answer = NULL;
	r = cli_ask_supervisor(pidfile, pid, request, opts.restart_timeout + ANSWER_GRACE_NS, &answer);
	if (r)
		return r;
	char list[512];
	const struct tether_json *ended = tether_json_get(answer, "ended");
	if (ended && ended->type == TETHER_JSON_ARRAY && ended->count) {
		id_text(ended, list, sizeof list);
		cli_warn("instance%s %s ended for good under the restart policy: not restarted",
			 ended->count > 1 ? "s" : "", list);
	}
	const struct tether_json *err = tether_json_get(answer, "error");
	if (err && err->type == TETHER_JSON_STRING) {
		id_text(tether_json_get(answer, "restarted"), list, sizeof list);
		cli_error("restart of %s: %s%s%s", pidfile, err->string, list[0] ? "; restarted before: " : "", list);
		tether_json_free(answer);
		return 1;
	}
	tether_json_free(answer);
	return 0;
}
