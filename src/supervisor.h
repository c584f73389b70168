/* SPDX-License-Identifier: MIT */
/* supervisor.h — `tether run`'s engine: one event loop over a pool of
 * instances.
 *
 * One poll() waits on everything: a signalfd (TERM, INT, HUP: stop; USR1:
 * reopen the logs; USR2: a heartbeat now; CHLD), each
 * instance's guardian channel and notify socket, an inotify fd for progress
 * files, the control socket; timers are deadlines on the injected clock
 * (backoff, watchdog, stop timeouts, heartbeat, our own systemd watchdog), so
 * the loop sleeps exactly until the next one and never wakes without a cause.
 *
 * Ownership and process model: the supervisor owns every child of the calling
 * process — it becomes a child subreaper and reaps with waitid(P_ALL), so an
 * embedding program must not have children of its own — and it blocks the
 * signals it reads from its signalfd for the whole process. It never prints,
 * never exits: messages go to hooks->message, the end comes back as a struct
 * tether_result that the program turns into an exit code.
 */
#ifndef TETHER_SUPERVISOR_H
#define TETHER_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"
#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How an instance's tree is held (README, "zero orphans"). */
enum tether_isolation {
	TETHER_ISOLATION_AUTO,      /* a PID namespace when permitted, else a subreaper */
	TETHER_ISOLATION_PIDNS,     /* a PID namespace or fail */
	TETHER_ISOLATION_SUBREAPER, /* never a namespace */
};

/* A pool's largest size (--instances). */
#define TETHER_MAX_INSTANCES 1024

/* The values of a repeatable option (--env), in command-line order; the
 * strings are not copied (argv's), the array is malloc'd
 * (tether_config_done frees it). */
struct tether_strlist {
	const char **items;
	size_t count;
};

/* Who the instances run as, resolved from --user (identity.h). */
struct tether_identity {
	bool set;          /* --user was given */
	bool switch_ids;   /* the worker changes its ids (false: they are ours already) */
	uid_t uid;
	gid_t gid;
	gid_t *groups;     /* supplementary groups (malloc'd) */
	size_t ngroups;
	char *name;        /* from USER's passwd entry (malloc'd); NULL for a uid without one */
	char *home;
};

/* What `tether run` supervises and how: the fields of the options table
 * (options.h) and what the program adds. */
struct tether_config {
	const char *pidfile;
	char **argv;               /* COMMAND [ARG...] */
	char **record_argv;        /* tether's own argv, for the pidfile record */
	unsigned instances;
	struct tether_policy policy;
	int64_t watchdog;          /* ns; 0: off */
	const char *progress_file; /* NULL: none; "%i" stands for the instance */
	bool notify_ready;
	int64_t stop_timeout;
	const char *heartbeat_log; /* NULL: none */
	int64_t heartbeat_interval;
	uint64_t log_max_bytes;
	unsigned log_keep;
	const char *output;        /* NULL: the workers' output goes to out_fd/err_fd; "%i" stands for the instance */
	uint64_t output_max_bytes;
	unsigned output_keep;
	uint64_t min_disk;
	uint64_t min_mem;
	uint64_t memory_limit;     /* 0: none */
	/* the instances' identity and environment (SPEC §1) as given ... */
	const char *user;          /* USER[:GROUP]; NULL: tether's own */
	const char *chdir;         /* NULL: tether's working directory */
	int umask;                 /* -1: tether's */
	struct tether_strlist env; /* --env NAME=VALUE or NAME (removes), in order */
	const char *env_file;      /* NULL: none */
	/* ... and as tether_config_resolve makes them (tether_supervisor_new
	 * resolves its own copy; whatever an embedder puts here is replaced) */
	struct tether_identity worker;
	char **env_edits;          /* NULL-terminated, in the order they apply (workerenv.h) */
	enum tether_isolation isolation;
	int out_fd, err_fd;        /* the workers' stdout and stderr */
	bool pid1;                 /* we are PID 1: reap adopted zombies, never kill them */
	int64_t acquire_wait;      /* how long to wait for a contended pidfile's holder to publish */
};

/* SPEC's defaults, from the options table (options.h): every option's, and
 * stdout/stderr for the workers. */
void tether_config_defaults(struct tether_config *cfg);
/* The whole configuration: a COMMAND, every option within its bounds, and
 * the rules between fields (--backoff-max not below --backoff-initial,
 * --progress-file only with --watchdog). 0, or -EINVAL with why. */
int tether_config_check(const struct tether_config *cfg, char *why, size_t len);
/* Frees what parsing the options (the --env list) and tether_config_resolve
 * allocated. */
void tether_config_done(struct tether_config *cfg);

enum tether_message_level { TETHER_MSG_ERROR, TETHER_MSG_WARNING, TETHER_MSG_NOTICE };

struct tether_lab_hooks;

struct tether_hooks {
	void *userdata;
	void (*message)(void *userdata, enum tether_message_level level, const char *text);
	/* every instance is ready (once) */
	void (*ready)(void *userdata);
	/* the lab's window into the loop (supervisor_lab.h); NULL outside the lab */
	const struct tether_lab_hooks *lab;
};

enum tether_outcome {
	TETHER_OUTCOME_STOPPED,      /* stopped by a signal or a request: exit 0 */
	TETHER_OUTCOME_DONE,         /* every instance ended; `failed` tells whether one failed */
	TETHER_OUTCOME_GAVE_UP,      /* the crash limit: exit 1 */
	TETHER_OUTCOME_USAGE,        /* the configuration is invalid: exit 64 */
	TETHER_OUTCOME_LOW_DISK,     /* a resource pre-check failed: too little disk, or an
					RLIMIT_NOFILE that cannot hold the pool: exit 69 */
	TETHER_OUTCOME_PIDFILE,      /* cannot create or write the pidfile: exit 73 */
	TETHER_OUTCOME_RUNNING,      /* another supervisor holds the pidfile: exit 75 */
	TETHER_OUTCOME_EXEC,         /* COMMAND cannot be executed: exit 127 */
	TETHER_OUTCOME_INTERNAL,     /* a system call supervision needs failed: exit 71 (EX_OSERR) */
	TETHER_OUTCOME_NOT_PERMITTED,/* --user without the privilege to switch: exit 77 (EX_NOPERM) */
};

struct tether_result {
	enum tether_outcome outcome;
	bool failed;           /* DONE: some instance did not exit 0 */
	int err;               /* errno behind PIDFILE, EXEC, INTERNAL */
	pid_t holder;          /* RUNNING: the other supervisor's pid (0 unknown) */
	uint64_t disk_free;    /* LOW_DISK */
	char message[320];     /* what to tell the user, without the "tether: " prefix */
};

/* Exit code of `tether run` for a result (SPEC §7). */
int tether_result_exit_code(const struct tether_result *res);

/* Resolves what the instances' setup needs from the files it names, before
 * anything starts: --user into ids (/etc/passwd, /etc/group), --chdir (must
 * be a directory), --env-file and --env into cfg->env_edits. 0; 1 with res
 * filled: USAGE (unknown user or group, missing directory, a bad --env-file
 * line: the message names it), NOT_PERMITTED (a --user we may not switch
 * to), INTERNAL (out of memory). Release with tether_config_done, or
 * tether_config_resolved_done for the resolved part alone. */
int tether_config_resolve(struct tether_config *cfg, struct tether_result *res);
void tether_config_resolved_done(struct tether_config *cfg);
/* The instances' uid and gid when --user is set (1), else 0 (they run as
 * tether does). For what tether creates on their behalf (pipes, files). */
int tether_config_worker_ids(const struct tether_config *cfg, uid_t *ret_uid, gid_t *ret_gid);

struct tether_supervisor;

/* Validates cfg, resolves its copy of it (tether_config_resolve) and builds
 * the supervisor (nothing started). Returns 0, or with res filled: -EINVAL
 * (USAGE; also a --progress-file whose directory does
 * not exist), -EPERM (NOT_PERMITTED), -ENOMEM. cfg's strings, the clock and the
 * hooks' lab must outlive it. */
int tether_supervisor_new(const struct tether_config *cfg, const struct tether_clock *clock,
			  const struct tether_hooks *hooks, struct tether_supervisor **ret,
			  struct tether_result *res);
/* Pre-checks (disk, memory), pidfile, sweep, first start. 0 when supervision
 * runs; 1 when it already ended (res filled). */
int tether_supervisor_start(struct tether_supervisor *sv, struct tether_result *res);
/* One round of the loop, waiting at most max_wait_ms of real time (-1: until
 * the next event or timer). 1 while supervising, 0 once ended (res filled). */
int tether_supervisor_step(struct tether_supervisor *sv, int max_wait_ms, struct tether_result *res);
/* start, then step until the end. */
void tether_supervisor_run(struct tether_supervisor *sv, struct tether_result *res);
/* Asks for a graceful stop, as SIGTERM does. */
void tether_supervisor_stop(struct tether_supervisor *sv);
/* The next deadline of any timer on the supervisor's clock. */
int64_t tether_supervisor_next_deadline(const struct tether_supervisor *sv);
void tether_supervisor_free(struct tether_supervisor *sv);

#ifdef __cplusplus
}
#endif

#endif
