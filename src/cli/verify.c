/* SPDX-License-Identifier: MIT */
/* verify.c — what `tether restart` and `tether signal` share: find the
 * supervisor of a pidfile and verify it as `stop` does (the lock holder named
 * by the record: pid, start time, boot id), refuse a record naming PID 1 and a
 * supervisor we may not signal, then put the request to it over its control
 * socket (control.h). The supervisor then asks each guardian, which is the
 * worker's parent and so cannot be fooled by a reused pid. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "parse.h"
#include "pidfile.h"
#include "proctree.h"

void cli_say_pid1(const char *pidfile, const char *command)
{
	const char *runtime = strcmp(command, "signal") == 0 ? "kill --signal" : command;
	cli_error("the supervisor of %s is PID 1 (a container's entrypoint): use the container runtime "
		  "(e.g. docker %s); nothing was signalled",
		  pidfile, runtime);
}

void cli_say_denied(const char *pidfile, pid_t pid)
{
	cli_error("permission denied: you may not signal the supervisor of %s (pid %d, another user's); "
		  "nothing was signalled",
		  pidfile, (int)pid);
}

int cli_verified_supervisor(const char *pidfile, const char *command, pid_t *ret_pid)
{
	struct tether_pidfile_probe p;
	int r = tether_pidfile_probe(pidfile, &p);
	if (r < 0) {
		cli_error("%s: %s", pidfile, strerror(-r));
		return 1;
	}
	int code = 0;
	switch (p.state) {
	case TETHER_PIDFILE_STOPPED:
	case TETHER_PIDFILE_STALE:
		cli_error("not running (%s): nothing to %s", pidfile, command);
		code = 1;
		break;
	case TETHER_PIDFILE_STARTING:
		cli_error("the supervisor of %s is still starting (pid %d); try again once it is ready", pidfile,
			  (int)p.lock_pid);
		code = 1;
		break;
	case TETHER_PIDFILE_UNKNOWN:
		if (p.lock_held && p.record_err == 0 && !p.rec.legacy && p.rec.pid == 1) {
			cli_say_pid1(pidfile, command);
			code = STATUS_UNKNOWN;
			break;
		}
		cli_error("cannot verify the supervisor of %s: %s; nothing was signalled", pidfile, p.why);
		code = 1;
		break;
	case TETHER_PIDFILE_RUNNING:
		if (p.rec.pid == 1) {
			cli_say_pid1(pidfile, command);
			code = STATUS_UNKNOWN;
			break;
		}
		struct tether_pidref ref;
		r = tether_pidref_open(p.rec.pid, p.rec.start_time, &ref);
		if (r < 0) {
			cli_error("the supervisor of %s (pid %d) went away while we looked", pidfile, (int)p.rec.pid);
			code = 1;
			break;
		}
		/* Signal 0 checks the permission only: the supervisor answers
		 * requests from its own user and root, which are those that may
		 * signal it. */
		if (tether_pidref_signal(&ref, 0) == -EPERM) {
			cli_say_denied(pidfile, p.rec.pid);
			code = STATUS_UNKNOWN;
		}
		tether_pidref_done(&ref);
		*ret_pid = p.rec.pid;
		break;
	}
	tether_pidfile_probe_done(&p);
	return code;
}

int cli_ask_supervisor(const char *pidfile, pid_t pid, const char *request, int64_t timeout_ns,
		       struct tether_json **ret)
{
	int r = tether_control_query(pidfile, request, tether_clock_real(), timeout_ns, ret);
	if (r == -ETIMEDOUT) {
		char t[32];
		cli_error("the supervisor of %s (pid %d) did not answer within %s", pidfile, (int)pid,
			  tether_format_duration(timeout_ns, t, sizeof t));
		return 1;
	}
	if (r == -ENOENT || r == -ECONNREFUSED) {
		cli_error("not running (%s): the supervisor has gone", pidfile);
		return 1;
	}
	if (r < 0) {
		cli_error("cannot ask the supervisor of %s (pid %d): %s", pidfile, (int)pid, strerror(-r));
		return 1;
	}
	const struct tether_json *err = tether_json_get(*ret, "error");
	if (err && err->type == TETHER_JSON_STRING && !tether_json_get(*ret, "instance")) {
		cli_error("the supervisor of %s (pid %d): %s", pidfile, (int)pid, err->string);
		tether_json_free(*ret);
		*ret = NULL;
		return 1;
	}
	return 0;
}
