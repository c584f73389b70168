/* SPDX-License-Identifier: MIT */
/* supervisor.c — see supervisor.h. The configuration's check, the pool and
 * the effects its instances ask for (instance.c holds their state table), and
 * the start: pre-checks, the pidfile, the sweep of a previous run. The event
 * loop is loop.c; what the supervisor says, events.c, status_json.c and
 * control_server.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "journal.h"
#include "notify.h"
#include "options.h"
#include "parse.h"
#include "pidfile.h"
#include "proc.h"
#include "proctree.h"
#include "resources.h"
#include "supervisor_internal.h"
#include "supervisor_lab.h"
#include "sys.h"

int tether_result_exit_code(const struct tether_result *res)
{
	switch (res->outcome) {
	case TETHER_OUTCOME_STOPPED: return 0;
	case TETHER_OUTCOME_DONE: return res->failed ? 1 : 0;
	case TETHER_OUTCOME_GAVE_UP: return 1;
	case TETHER_OUTCOME_USAGE: return 64;
	case TETHER_OUTCOME_LOW_DISK: return 69;
	case TETHER_OUTCOME_PIDFILE: return 73;
	case TETHER_OUTCOME_RUNNING: return 75;
	case TETHER_OUTCOME_EXEC: return 127;
	case TETHER_OUTCOME_INTERNAL: return 71; /* EX_OSERR: a system call we need failed */
	case TETHER_OUTCOME_NOT_PERMITTED: return 77; /* EX_NOPERM */
	}
	return 71;
}

void tether_result_set(struct tether_result *res, enum tether_outcome outcome, int err, const char *fmt, ...)
{
	va_list ap;
	*res = (struct tether_result){.outcome = outcome, .err = err};
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof res->message, fmt, ap);
	va_end(ap);
}

/* ---- the instances' effects ------------------------------------------------------ */

static int ensure_guardian(struct tether_supervisor *sv, struct slot *s)
{
	if (s->g.chan >= 0)
		return 0;
	int out_fd, err_fd;
	tether_supervisor_output_fds(sv, s, &out_fd, &err_fd);
	int r = tether_guardian_start(&s->spec, sv->cfg.isolation, out_fd, err_fd, sv->proc_fd, &s->g);
	if (r < 0)
		return r;
	s->guardian_alive = true;
	return 0;
}

static int op_spawn(void *ctx, struct tether_instance *in)
{
	struct tether_supervisor *sv = ctx;
	struct slot *s = &sv->slots[in->id];
	int r = ensure_guardian(sv, s);
	if (r < 0)
		return r;
	r = tether_guardian_send(&s->g, TETHER_GUARDIAN_SPAWN);
	if (r < 0) {
		/* It died between our last look and now: its end of file is
		 * still to be read. A new one next time. */
		tether_guardian_let_go(&s->g);
		return r;
	}
	s->status[0] = '\0';
	return 0;
}

/* A TERM or KILL that cannot reach the guardian would leave the instance
 * waiting for an exit that never comes: let the guardian go instead (closing
 * its lifeline makes it end its tree) and treat it as lost — after the
 * current dispatch, since the instance is in the middle of one. */
static void send_or_lose(struct slot *s, enum tether_guardian_cmd cmd)
{
	if (s->g.chan >= 0 && tether_guardian_send(&s->g, cmd) < 0) {
		tether_guardian_let_go(&s->g);
		s->lose_pending = true;
	}
}

static void op_term(void *ctx, struct tether_instance *in)
{
	struct tether_supervisor *sv = ctx;
	send_or_lose(&sv->slots[in->id], TETHER_GUARDIAN_TERM);
}

static void op_kill(void *ctx, struct tether_instance *in)
{
	struct tether_supervisor *sv = ctx;
	send_or_lose(&sv->slots[in->id], TETHER_GUARDIAN_KILL);
}

static void op_retire(void *ctx, struct tether_instance *in)
{
	struct tether_supervisor *sv = ctx;
	struct slot *s = &sv->slots[in->id];
	if (s->g.chan >= 0) {
		tether_guardian_send(&s->g, TETHER_GUARDIAN_QUIT);
		tether_guardian_let_go(&s->g);
	}
}

static struct tether_verdict op_decide(void *ctx, struct tether_instance *in, enum tether_end end, int64_t now)
{
	struct tether_supervisor *sv = ctx;
	struct tether_verdict v = tether_policy_decide(&sv->cfg.policy, end, &sv->crashes, &in->crashes, now);
	if (v.crash) {
		tether_crashlog_add(&sv->crashes, now);
		tether_crashlog_add(&in->crashes, now);
	}
	return v;
}

/* Asks for the end of supervision; takes effect after the current dispatch
 * (instances call this through their notes, and must not be re-entered). */
void tether_supervisor_request_end(struct tether_supervisor *sv, enum tether_outcome outcome, int err,
				   const char *message)
{
	if (sv->end_requested)
		return; /* the first reason stands */
	sv->end_requested = true;
	sv->end_outcome = outcome;
	sv->end_err = err;
	snprintf(sv->end_message, sizeof sv->end_message, "%s", message ? message : "");
}

static void op_note(void *ctx, struct tether_instance *in, enum tether_inote what, int64_t value)
{
	struct tether_supervisor *sv = ctx;
	if (sv->hooks.lab)
		sv->hooks.lab->note(sv->hooks.lab->data);
	tether_events_note(sv, in, what, value);
	switch (what) {
	case TETHER_N_EXEC_FAILED:
		if (!in->ever_execd) {
			char msg[300];
			struct slot *s = &sv->slots[in->id];
			tether_events_exec_failure(sv, s, (int)value, msg, sizeof msg);
			/* a --user the kernel refused is "not permitted" (77), like
			 * the one we could tell beforehand */
			tether_supervisor_request_end(sv, s->exec_stage == TETHER_SPAWN_STAGE_IDENTITY
								  ? TETHER_OUTCOME_NOT_PERMITTED
								  : TETHER_OUTCOME_EXEC,
						      (int)value, msg);
		}
		break;
	case TETHER_N_GIVE_UP: {
		char msg[160], win[32];
		tether_format_duration(sv->cfg.policy.crash_window, win, sizeof win);
		snprintf(msg, sizeof msg, "giving up: %lld crashes in %s", (long long)value, win);
		tether_supervisor_request_end(sv, TETHER_OUTCOME_GAVE_UP, 0, msg);
		break;
	}
	case TETHER_N_READY:
		sv->check_ready = true;
		break;
	default:
		break;
	}
}

/* ---- construction ----------------------------------------------------------------- */

static char *expand_instance(const char *pattern, unsigned id)
{
	struct tether_buf b;
	tether_buf_init(&b);
	for (const char *p = pattern; *p; p++) {
		if (p[0] == '%' && p[1] == 'i') {
			tether_buf_printf(&b, "%u", id);
			p++;
		} else {
			tether_buf_append(&b, p, 1);
		}
	}
	if (b.oom || !b.data) {
		tether_buf_done(&b);
		return NULL;
	}
	return b.data;
}

/* Each instance's progress file can be watched: its directory exists (the
 * watch is on the directory, so that a file written by rename is seen too).
 * Said before anything starts, as a usage error naming the option
 * (scenarios/progress_file_missing_dir.scn), rather than as a failed setup
 * after the pidfile was taken. */
static int check_progress_dirs(const struct tether_supervisor *sv, struct tether_result *res)
{
	for (unsigned i = 0; i < sv->nslots; i++) {
		const char *dir = sv->slots[i].progress_dir;
		struct stat st;
		int r = dir ? sys_stat(dir, &st) : 0;
		if (r == 0 && dir && !S_ISDIR(st.st_mode))
			r = -ENOTDIR;
		if (r < 0) {
			tether_result_set(res, TETHER_OUTCOME_USAGE, -r,
					  "invalid value for --progress-file: '%s' (directory %s: %s)",
					  sv->cfg.progress_file, dir,
					  r == -ENOENT ? "does not exist" : strerror(-r));
			return -EINVAL;
		}
	}
	return 0;
}

int tether_supervisor_new(const struct tether_config *cfg, const struct tether_clock *clock,
			  const struct tether_hooks *hooks, struct tether_supervisor **ret,
			  struct tether_result *res)
{
	char why[300];
	if (tether_config_check(cfg, why, sizeof why) < 0) {
		tether_result_set(res, TETHER_OUTCOME_USAGE, EINVAL, "%s", why);
		return -EINVAL;
	}
	struct tether_supervisor *sv = calloc(1, sizeof *sv);
	if (!sv) {
		tether_result_set(res, TETHER_OUTCOME_INTERNAL, ENOMEM, "out of memory");
		return -ENOMEM;
	}
	sv->cfg = *cfg;
	/* the user, directory and environment files are read once, now: a
	 * typo is a usage error before anything starts, not a crash loop */
	if (tether_config_resolve(&sv->cfg, res) != 0) {
		free(sv);
		return res->outcome == TETHER_OUTCOME_INTERNAL	    ? -ENOMEM
		       : res->outcome == TETHER_OUTCOME_NOT_PERMITTED ? -EPERM
								      : -EINVAL;
	}
	sv->clock = clock;
	if (hooks)
		sv->hooks = *hooks;
	sv->sfd = sv->ctl_fd = sv->ino_fd = sv->up_fd = sv->proc_fd = -1;
	sv->keep_fd = -1;
	for (unsigned i = 0; i < TETHER_CONTROL_CONNS + TETHER_CONTROL_DEFERRED; i++)
		sv->ctl_conns[i].fd = -1;
	sv->heartbeat_at = sv->up_watchdog_at = sv->up_retry_at = sv->keep_retry_at = TETHER_NEVER;
	sv->ops = (struct tether_instance_ops){
		.ctx = sv,
		.spawn = op_spawn,
		.term = op_term,
		.kill = op_kill,
		.retire = op_retire,
		.decide = op_decide,
		.note = op_note,
		.stop_timeout = cfg->stop_timeout,
		.watchdog = cfg->watchdog,
		.notify_ready = cfg->notify_ready,
	};
	/* Give-up needs crash_limit + 1 entries at most: one more than the
	 * limit is already a verdict. */
	size_t cap = (size_t)cfg->policy.crash_limit + 1;
	sv->slots = calloc(cfg->instances, sizeof *sv->slots);
	if (!sv->slots || tether_crashlog_init(&sv->crashes, cap) < 0)
		goto oom;
	sv->nslots = cfg->instances;
	/* Every slot's descriptors are -1 before any way out: calloc's zeroes
	 * would be descriptor 0, which tether_supervisor_free would close
	 * (harness/unit/test_oom.c). */
	for (unsigned i = 0; i < sv->nslots; i++) {
		struct slot *s = &sv->slots[i];
		s->g.chan = -1;
		s->notify.fd = -1;
		s->progress_wd = -1;
		s->spec.watchdog_pid_slot = -1;
	}
	for (unsigned i = 0; i < sv->nslots; i++) {
		struct slot *s = &sv->slots[i];
		if (tether_instance_init(&s->in, i) < 0)
			goto oom;
		if (cfg->progress_file) {
			char *path = expand_instance(cfg->progress_file, i);
			if (!path)
				goto oom;
			char *slash = strrchr(path, '/');
			if (slash) {
				*slash = '\0';
				s->progress_dir = strdup(slash == path ? "/" : path);
				s->progress_name = strdup(slash + 1);
			} else {
				s->progress_dir = strdup(".");
				s->progress_name = strdup(path);
			}
			free(path);
			if (!s->progress_dir || !s->progress_name)
				goto oom;
		}
	}
	if (check_progress_dirs(sv, res) < 0) {
		tether_supervisor_free(sv);
		return -EINVAL;
	}
	const char *up = getenv("NOTIFY_SOCKET");
	if (up && *up) {
		/* READY=1 must reach our supervisor: not told for want of a copy
		 * would be a start that times out, so no copy is no start */
		if (!(sv->up_socket = strdup(up)))
			goto oom;
		const char *usec = getenv("WATCHDOG_USEC");
		const char *wpid = getenv("WATCHDOG_PID");
		uint64_t us = 0, p = 0;
		if (usec && tether_parse_uint(usec, 1, UINT64_MAX / 1000, &us) == 0 &&
		    (!wpid || (tether_parse_uint(wpid, 1, INT32_MAX, &p) == 0 && (pid_t)p == getpid())))
			/* Half the period, as sd_notify's users do; but never
			 * more often than the floor: WATCHDOG_USEC=1 would
			 * otherwise be a pet at every turn of the loop, a busy
			 * loop that fills our supervisor's queue and loses our
			 * READY=1 (scenarios/upward_watchdog_tiny.scn). */
			sv->up_watchdog_interval = (int64_t)(us * 1000 / 2) > TETHER_UP_WATCHDOG_MIN
							   ? (int64_t)(us * 1000 / 2)
							   : TETHER_UP_WATCHDOG_MIN;
	}
	*ret = sv;
	return 0;
oom:
	tether_supervisor_free(sv);
	tether_result_set(res, TETHER_OUTCOME_INTERNAL, ENOMEM, "out of memory");
	return -ENOMEM;
}

void tether_supervisor_free(struct tether_supervisor *sv)
{
	if (!sv)
		return;
	for (unsigned i = 0; i < sv->nslots; i++) {
		struct slot *s = &sv->slots[i];
		tether_guardian_let_go(&s->g);
		tether_notify_done(&s->notify);
		tether_spawn_spec_done(&s->spec);
		tether_instance_done(&s->in);
		free(s->progress_dir);
		free(s->progress_name);
		free(s->cgroup_procs);
	}
	free(sv->slots);
	free(sv->restart_job.ended);
	for (size_t k = 0; k < TETHER_SIGNAL_JOBS; k++)
		free(sv->signal_jobs[k].targets);
	tether_crashlog_done(&sv->crashes);
	if (sv->sfd >= 0)
		sys_close(sv->sfd);
	if (sv->proc_fd >= 0)
		sys_close(sv->proc_fd);
	tether_control_close_all(sv);
	if (sv->ctl_fd >= 0)
		sys_close(sv->ctl_fd);
	if (sv->ino_fd >= 0)
		sys_close(sv->ino_fd);
	if (sv->keep_fd >= 0)
		sys_close(sv->keep_fd);
	tether_pidrecord_done(&sv->record);
	/* before the journal: what it still reads may be told there */
	tether_supervisor_output_close(sv);
	tether_journal_free(sv->journal);
	tether_pidfile_free(sv->pidfile);
	if (sv->up_fd >= 0)
		sys_close(sv->up_fd);
	free(sv->up_socket);
	tether_fdlimit_restore(&sv->nofile);
	free(sv->pfds);
	free(sv->watches);
	tether_config_resolved_done(&sv->cfg);
	free(sv);
}

/* ---- start --------------------------------------------------------------------------- */

/* What a SIGKILLed previous run may have left (when its guardians could not
 * clean up): processes carrying its scope in their environment, born after
 * that supervisor started. The scope names the boot and the lock file's
 * inode at that run's start; its record says it (a run that restored its
 * pidfile holds another inode since), and a record without it (an older
 * version's) left the lock file behind for us to reuse. */
struct sweep_ctx {
	const char *scope;
	uint64_t since;
	unsigned killed;
	unsigned unchecked; /* processes that could not be looked at */
	int err;            /* ... and why, the last time */
};

/* A look at a process that failed for a reason that may pass (not: it is
 * gone, or not ours to read) is made again, this many times in all: one
 * failed read must not let a previous run's process live on
 * (sweep_previous_run.scn with one open of /proc failing). */
#define SWEEP_TRIES 3

static bool may_pass(int r)
{
	return r < 0 && r != -ENOENT && r != -ESRCH && r != -EACCES && r != -EPERM;
}

static int sweep_one(pid_t pid, void *ud)
{
	struct sweep_ctx *c = ud;
	char val[96];
	struct tether_procstat st;
	if (pid == getpid())
		return 0;
	int r = -EAGAIN;
	for (int i = 0; i < SWEEP_TRIES && may_pass(r); i++)
		r = tether_proc_environ_get(pid, "TETHER_SCOPE", val, sizeof val);
	if (r != 1 || strcmp(val, c->scope) != 0) {
		if (may_pass(r)) {
			c->unchecked++;
			c->err = -r;
		}
		return 0;
	}
	r = -EAGAIN;
	for (int i = 0; i < SWEEP_TRIES && may_pass(r); i++)
		r = tether_proc_read_stat(pid, &st);
	if (r < 0 || st.start_time < c->since) {
		if (may_pass(r)) {
			c->unchecked++;
			c->err = -r;
		}
		return 0;
	}
	struct tether_pidref ref;
	r = -EAGAIN;
	/* ESRCH too: the process was there a moment ago (its stat), and a
	 * look again at a process that is gone costs one call */
	for (int i = 0; i < SWEEP_TRIES && (may_pass(r) || r == -ESRCH); i++)
		r = tether_pidref_open(pid, st.start_time, &ref);
	if (r == 0) {
		if (tether_pidref_signal(&ref, SIGKILL) == 0)
			c->killed++;
		tether_pidref_done(&ref);
	} else if (may_pass(r)) {
		c->unchecked++;
		c->err = -r;
	}
	return 0;
}

static void sweep_previous_run(struct tether_supervisor *sv, const char *scope, uint64_t since)
{
	struct sweep_ctx c = {.scope = scope, .since = since};
	int r = -EAGAIN;
	/* a scan that failed half way is made again: what it killed is gone */
	for (int i = 0; i < SWEEP_TRIES && r < 0; i++)
		r = tether_proc_scan(sweep_one, &c);
	char msg[240];
	if (c.killed) {
		snprintf(msg, sizeof msg, "killed %u process(es) left by a previous run of %s", c.killed,
			 sv->cfg.pidfile);
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
	}
	/* degraded, and said: what could not be looked at may be left over */
	if (r < 0 || c.unchecked) {
		snprintf(msg, sizeof msg, "cannot look for processes left by a previous run of %s: %s", sv->cfg.pidfile,
			 strerror(r < 0 ? -r : c.err));
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
	}
}

static int setup_instance(struct tether_supervisor *sv, struct slot *s)
{
	int r = tether_notify_open(getpid(), s->in.id, &s->notify);
	if (r < 0)
		return r;
	if (sv->cfg.memory_limit) {
		r = tether_memlimit_prepare(getpid(), s->in.id, sv->cfg.memory_limit, &s->cgroup_procs);
		if (r < 0)
			return r;
		sv->memkind = (enum tether_memlimit_kind)r;
	}
	struct tether_spawn_env env = {
		.instance = s->in.id,
		.notify_socket = s->notify.env,
		.watchdog_ns = sv->cfg.watchdog,
		.scope = sv->scope,
		.edits = sv->cfg.env_edits,
	};
	r = tether_spawn_spec_init(&s->spec, sv->cfg.argv, &env);
	if (r < 0)
		return r;
	s->spec.identity = sv->cfg.worker.set ? &sv->cfg.worker : NULL;
	s->spec.chdir = sv->cfg.chdir;
	s->spec.umask = sv->cfg.umask;
	if (sv->memkind == TETHER_MEMLIMIT_RLIMIT)
		s->spec.rlimit_as = sv->cfg.memory_limit;
	if (sv->nofile.raised) {
		/* the limit tether was given, not the one it raised for itself */
		s->spec.restore_nofile = true;
		s->spec.nofile_soft = sv->nofile.soft;
		s->spec.nofile_hard = sv->nofile.hard;
	}
	if (s->cgroup_procs && !(s->spec.cgroup_procs = strdup(s->cgroup_procs)))
		return -ENOMEM;
	if (s->progress_dir) {
		r = sys_inotify_add_watch(sv->ino_fd, s->progress_dir,
					  IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO);
		if (r < 0)
			return r;
		s->progress_wd = r;
	}
	return 0;
}

/* A start that fails leaves nothing behind (G3): our socket, our files, the
 * directory we created. */
static void abandon_start(struct tether_supervisor *sv)
{
	if (sv->ctl_fd >= 0)
		sys_close(sv->ctl_fd);
	sv->ctl_fd = -1;
	tether_pidfile_remove(sv->pidfile);
	tether_pidfile_remove_dir(sv->pidfile);
	tether_pidfile_free(sv->pidfile);
	sv->pidfile = NULL;
}

int tether_supervisor_start(struct tether_supervisor *sv, struct tether_result *res)
{
	const struct tether_config *cfg = &sv->cfg;
	char sizebuf[2][32];
	int r;

	/* The stop signals are blocked before the record is published: from
	 * then on `tether stop` may send SIGTERM, which must wait for the loop's
	 * signalfd instead of killing us by its default action with the record
	 * and the lock file left behind. SIGUSR1 (reopen the logs) and SIGUSR2
	 * (a heartbeat now) are read there too: by default they would end us.
	 * SIGPIPE stays as the program set it (we never raise it: every send
	 * uses MSG_NOSIGNAL); the tether program ignores every other signal
	 * whose default action ends a process (cmd_run.c). */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	r = sys_sigprocmask(SIG_BLOCK, &mask, NULL);
	if (r < 0) {
		tether_result_set(res, TETHER_OUTCOME_INTERNAL, -r, "cannot block signals: %s", strerror(-r));
		return 1;
	}

	/* Room for the pool's descriptors before anything is taken: a raised
	 * soft limit, or the refusal that says how many instances fit
	 * (fdlimit.h). */
	r = tether_fdlimit_prepare(cfg, &sv->nofile);
	if (r < 0) {
		unsigned long long need = (unsigned long long)tether_fds_needed(cfg);
		if (r == -EMFILE)
			tether_result_set(res, TETHER_OUTCOME_LOW_DISK, EMFILE,
					  "--instances %u needs %llu open files, and RLIMIT_NOFILE allows %llu (its hard "
					  "limit): %llu instance(s) fit; raise it (ulimit -n, LimitNOFILE=) or run fewer",
					  cfg->instances, need, (unsigned long long)sv->nofile.hard,
					  (unsigned long long)tether_fds_instances_within(cfg, sv->nofile.hard));
		else
			tether_result_set(res, TETHER_OUTCOME_LOW_DISK, -r,
					  "--instances %u needs %llu open files: cannot raise RLIMIT_NOFILE from %llu: %s",
					  cfg->instances, need, (unsigned long long)sv->nofile.soft, strerror(-r));
		return 1;
	}

	/* Disk before anything is written: where the instances and we write,
	 * not the pidfile's filesystem (resources.h). */
	struct tether_written_dir dirs[TETHER_WRITTEN_DIRS_MAX];
	size_t ndirs = cfg->min_disk ? tether_written_dirs(cfg, dirs, TETHER_WRITTEN_DIRS_MAX) : 0;
	for (size_t i = 0; i < ndirs; i++) {
		uint64_t free_bytes;
		if (tether_disk_free_dir(dirs[i].path, &free_bytes) == 0 && free_bytes < cfg->min_disk) {
			tether_result_set(res, TETHER_OUTCOME_LOW_DISK, ENOSPC,
					  "not enough disk space in %s (%s): %s free, %s required", dirs[i].path,
					  dirs[i].what, tether_format_size(free_bytes, sizebuf[0], sizeof sizebuf[0]),
					  tether_format_size(cfg->min_disk, sizebuf[1], sizeof sizebuf[1]));
			res->disk_free = free_bytes;
			return 1;
		}
	}
	if (tether_supervisor_output_check_disk(sv, res))
		return 1;

	/* One supervisor per pidfile. A record left by a SIGKILLed run is read
	 * before ours replaces it: it dates the processes the sweep may end.
	 * A contended lock is waited for on the real clock, whatever clock the
	 * timers run on: its holder is another process, publishing in real time
	 * (a simulated clock that never moves would wait for it for ever). */
	pid_t holder = 0;
	r = tether_pidfile_acquire(cfg->pidfile, tether_clock_real(), cfg->acquire_wait, &sv->pidfile, &holder);
	if (r == 0) {
		/* Busy, and nobody could be named (/proc unreadable, a holder
		 * that never published): say so rather than name no pid. */
		if (holder)
			tether_result_set(res, TETHER_OUTCOME_RUNNING, 0, "already running (pid %d)", (int)holder);
		else
			tether_result_set(res, TETHER_OUTCOME_RUNNING, 0,
					  "already running (%s.lock is locked, and its holder cannot be found)",
					  cfg->pidfile);
		res->holder = holder;
		return 1;
	}
	if (r < 0) {
		tether_result_set(res, TETHER_OUTCOME_PIDFILE, -r, "cannot create pidfile %s: %s", cfg->pidfile,
			   r == -ELOOP ? "it is a symlink (refused)"
			   : r == -EPERM ? "it is not ours or is group/world-writable (refused)"
			   : r == -EINVAL ? "it is not a regular file"
			   : r == -EISDIR ? "it names a directory, not a file"
			   : strerror(-r));
		return 1;
	}
	/* /proc, open for the guardians to inherit: one that can open nothing
	 * any more (EMFILE, ENOMEM, a fault that persists) still lists the pids
	 * there to find its own children and kill them (guardian.c). Right
	 * after the lock, which stays descriptor 3 (proclock.c looks there
	 * first); without it the guardians do without. */
	sv->proc_fd = sys_open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	struct tether_pidrecord stale = {0};
	/* a record that could not be read is looked at again: taken for no
	 * record, its run's processes would not be swept
	 * (sweep_previous_run.scn with one fstat failing) */
	int sr = -EAGAIN;
	for (int i = 0; i < SWEEP_TRIES && may_pass(sr); i++)
		sr = tether_pidfile_read(cfg->pidfile, &stale);
	bool have_stale = sr == 0 && !stale.legacy;
	struct stat lst;
	char boot_id[TETHER_BOOT_ID_LEN + 1] = "";
	tether_proc_boot_id(boot_id);
	/* the scope names the lock file: without it nothing is swept, and
	 * the workers carry none (sweep_previous_run.scn with one fstat
	 * failing) */
	r = -EAGAIN;
	for (int i = 0; i < SWEEP_TRIES && r < 0; i++)
		r = sys_fstat(sv->pidfile->lock_fd, &lst);
	if (r == 0)
		snprintf(sv->scope, sizeof sv->scope, "%s/%llx:%llx", boot_id, (unsigned long long)lst.st_dev,
			 (unsigned long long)lst.st_ino);
	else if (have_stale) {
		char msg[240];
		snprintf(msg, sizeof msg, "cannot look for processes left by a previous run of %s: %s", cfg->pidfile,
			 strerror(-r));
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
	}
	bool writing = false;
	r = tether_pidrecord_init_self(&sv->record, cfg->record_argv ? cfg->record_argv : cfg->argv, sv->clock);
	if (r == 0) {
		snprintf(sv->record.scope, sizeof sv->record.scope, "%s", sv->scope);
		/* The control socket before the record: from now on a newcomer
		 * finds us even if our files vanish (ctlname.h). */
		sv->ctl_fd = tether_control_listen(sv->pidfile->key, sv->record.start_time, sv->ctl_name,
						   sizeof sv->ctl_name);
		r = sv->ctl_fd < 0 ? sv->ctl_fd : 0;
	}
	if (r == 0) {
		/* Bound, then a look: files taken after it are the keeper's to
		 * put back; taken already, the lock at the path may be someone's
		 * who did not see our socket yet: ours is put back only if it is
		 * free. */
		tether_keeper_start(sv);
		writing = true;
		if (tether_pidfile_check(sv->pidfile) & TETHER_PIDFILE_LOST_LOCK) {
			r = tether_pidfile_restore(sv->pidfile, &sv->record, &holder);
			if (r == 0 || r == 2) {
				tether_pidrecord_done(&stale);
				abandon_start(sv);
				tether_result_set(res, TETHER_OUTCOME_RUNNING, 0,
					   holder ? "already running (pid %d)" : "already running", (int)holder);
				res->holder = holder;
				return 1;
			}
		} else {
			r = tether_pidfile_write(sv->pidfile, &sv->record);
		}
	}
	if (r < 0) {
		abandon_start(sv);
		tether_pidrecord_done(&stale);
		if (writing)
			tether_result_set(res, TETHER_OUTCOME_PIDFILE, -r, "cannot write pidfile %s: %s", cfg->pidfile,
				   strerror(-r));
		else
			tether_result_set(res, TETHER_OUTCOME_INTERNAL, -r, "cannot set up supervision: %s", strerror(-r));
		return 1;
	}
	if (have_stale && sv->scope[0] && strcmp(stale.boot_id, boot_id) == 0)
		sweep_previous_run(sv, stale.scope[0] ? stale.scope : sv->scope, stale.start_time);
	tether_pidrecord_done(&stale);

	uint64_t avail;
	if (cfg->min_mem && tether_proc_mem_available(&avail) == 0 && avail < cfg->min_mem)
		tether_events_low_memory(sv, avail);

	if (tether_supervisor_output_open(sv, res)) {
		abandon_start(sv);
		return 1;
	}
	if (cfg->heartbeat_log)
		tether_events_open_journal(sv);
	tether_events_started(sv);

	/* Signals are read from a signalfd in the loop, never acted on in a
	 * handler (they were blocked above). */
	r = sv->sfd = sys_signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	/* Orphans of our tree come back to us, not to init (PID 1 is anyway). */
	if (r >= 0 && !cfg->pid1)
		r = sys_prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (r >= 0 && cfg->progress_file)
		r = sv->ino_fd = sys_inotify_init(IN_CLOEXEC | IN_NONBLOCK);
	for (unsigned i = 0; r >= 0 && i < sv->nslots; i++)
		r = setup_instance(sv, &sv->slots[i]);
	if (r < 0) {
		tether_result_set(res, TETHER_OUTCOME_INTERNAL, -r, "cannot set up supervision: %s", strerror(-r));
		abandon_start(sv);
		return 1;
	}
	if (cfg->memory_limit)
		tether_events_memory_limit(sv);

	int64_t now = tether_clock_now(sv->clock);
	sv->start_mono = now;
	sv->started = true;
	if (cfg->heartbeat_log)
		sv->heartbeat_at = now + cfg->heartbeat_interval;
	if (sv->up_watchdog_interval > 0)
		sv->up_watchdog_at = now + sv->up_watchdog_interval;
	for (unsigned i = 0; i < sv->nslots; i++)
		tether_instance_dispatch(&sv->slots[i].in, TETHER_E_START, 0, now, &sv->ops);
	return tether_supervisor_step(sv, 0, res) ? 0 : 1;
}

