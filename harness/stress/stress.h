/* SPDX-License-Identifier: MIT */
/* stress.h — `harness stress`: many start/ready/stop cycles of a fresh
 * supervisor, concurrent-start and concurrent-stop races, start racing stop,
 * and the same cycles under seeded faults (SPEC §8–§9).
 *
 * The parts:
 *   stress.c          options, --help, the main loop
 *   stress_fail.c     failures as they happen, and the progress line
 *   stress_proc.c     spawning (lab_spawn: the run marker, a pidfd, NOTIFY_SOCKET, a
 *                     barrier), event-driven waits, and the state checks (pidfile,
 *                     lock, instances, orphans)
 *   stress_cycle.c    one cycle, with or without a fault
 *   stress_race.c     the three races
 *   stress_faults.c   the --faults SPEC, the per-cycle schedule drawn from the seed,
 *                     and the fault environment of a spawned tether
 *   stress_report.c   statistics, the fork+exec floor, the summary and stress.json
 *
 * Everything is single-threaded and waits in ppoll() with a deadline on pidfds
 * and sockets; /proc is read only for what no event announces (orphans, fds,
 * RSS, the lock holder). Documentation for users: harness/README.md.
 */
#ifndef TETHER_HARNESS_STRESS_H
#define TETHER_HARNESS_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- faults and the schedule (stress_faults.c) ------------------------------------- */

enum stress_fault {
	STRESS_FAULT_NONE,
	STRESS_FAULT_ENOSPC,
	STRESS_FAULT_EINTR,
	STRESS_FAULT_EAGAIN,
	STRESS_FAULT_SIGKILL,
	STRESS_FAULT_SIGTERM,
	STRESS_FAULT_KINDS
};

/* The share of cycles given to each fault kind (STRESS_FAULT_NONE unused). */
struct stress_mix {
	double share[STRESS_FAULT_KINDS];
	char *text; /* the SPEC as given, normalised (for reports) */
};

/* One cycle's draw: a pure function of (seed, cycle number), so the same seed
 * replays the same schedule whatever the timing. */
struct stress_plan {
	enum stress_fault fault;
	bool stop_cmd;       /* stop with `tether stop` (else SIGTERM from the harness) */
	bool kill_early;     /* sigkill: during startup (else after ready); sigterm: always */
	int64_t kill_delay;  /* sigkill/sigterm during startup: ns after the spawn */
	unsigned fork_k;     /* eagain: the k-th process creation of tether fails */
	uint32_t fiu_seed;   /* eintr: libfiu's PRNG seed */
};

/* Per-call probability of an injected EINTR in eintr cycles. */
#define STRESS_EINTR_RATE 0.05
/* Backoff tether is given in eagain cycles (its default, 1 s, would idle). */
#define STRESS_EAGAIN_BACKOFF_MS 20
#define STRESS_EAGAIN_BACKOFF_ARG "20ms"

/* Parses SPEC ("all", "none", "enospc,eintr:0.2,..."): 0, or -1 with *ret_err. */
int stress_mix_parse(const char *spec, struct stress_mix *ret, const char **ret_err);
void stress_mix_free(struct stress_mix *m);
void stress_plan_draw(uint64_t seed, unsigned cycle, unsigned instances, const struct stress_mix *mix,
		      struct stress_plan *ret);
/* "sigkill during startup (+1.234ms), then a fresh start, stop by command"
 * (for --schedule and failure messages). */
void stress_plan_describe(const struct stress_plan *p, char *buf, size_t len);
const char *stress_fault_name(enum stress_fault f);
/* Appends the fault environment of a tether run for plan p (KEY=VALUE
 * strings, malloc'd) to *env; report_path gets TETHER_FAULT's firing log. */
void stress_fault_env(const struct stress_plan *p, const char *report_path, char ***env, size_t *n);
/* splitmix64: the one generator everything draws from. */
uint64_t stress_mix64(uint64_t x);

/* ---- processes (stress_proc.c) -------------------------------------------------------- */

struct stress_proc {
	char name[48];       /* "run", "racer.3": names its output file and its spawn tag */
	pid_t pid;
	int pidfd;           /* -1 once reaped */
	int notify_fd;       /* the harness's end of its NOTIFY_SOCKET, or -1 */
	bool ready, exited;
	int code;            /* exit status, or -1 when killed by a signal */
	int sig;
	int64_t t_spawn, t_ready, t_exit;
	char *out_path;      /* its stdout and stderr */
	/* A supervisor's lock file, opened (not locked) while it ran
	 * (stress_check_running): once it is gone, a try-lock through this fd
	 * tells whether anybody still holds that inode's lock, unlinked or not,
	 * without reading /proc/locks (which costs an RCU grace period). */
	int lock_fd;
	dev_t lock_dev;
	ino_t lock_ino;
};

/* A stress_proc that holds nothing (safe to stress_proc_release). */
#define STRESS_PROC_NONE ((struct stress_proc){.pidfd = -1, .notify_fd = -1, .lock_fd = -1, .code = -1, .exited = true})

struct stress_spawn {
	const char *name;
	char *const *argv;
	char **env;          /* extra KEY=VALUE, or NULL */
	bool notify;         /* give it a NOTIFY_SOCKET of ours */
	int barrier;         /* read end: the child waits for EOF before exec; -1 none */
	int barrier_w;       /* the write end, which the child closes */
};

struct stress;

/* Our environment for every spawn, prepared once: inherited minus markers
 * and faults (each spawn adds the run marker, st->run_id). */
void stress_env_init(struct stress *st);
void stress_env_free(struct stress *st);
/* Forks and execs (lab_spawn); 0, or -1 with a failure recorded. */
int stress_proc_spawn(struct stress *st, struct stress_proc *p, const struct stress_spawn *req);
/* Waits until something happens to one of ps (an exit, a READY=1) or until
 * deadline: 1 something happened (the procs are updated), 0 deadline. */
int stress_proc_wait(struct stress *st, struct stress_proc *const *ps, size_t n, int64_t deadline);
/* Waits for p to exit (up to deadline): true when it has. */
bool stress_proc_wait_exit(struct stress *st, struct stress_proc *p, int64_t deadline);
/* Signals p through its pidfd: 0 or -errno. */
int stress_proc_signal(struct stress_proc *p, int sig);
/* The tail of its output (malloc'd, one line, for messages). */
char *stress_proc_output(const struct stress_proc *p);
bool stress_proc_output_has(const struct stress_proc *p, const char *needle);
/* Kills p if alive, reaps it and frees what it holds (the struct stays). */
void stress_proc_release(struct stress_proc *p);
/* "exit 0", "signal KILL", "running" */
const char *stress_proc_outcome(const struct stress_proc *p, char *buf, size_t len);

/* ---- checks (stress_proc.c) ----------------------------------------------------------- */

/* The supervisor p is up: it holds the lock (exclusively), its record is
 * complete and names it, and its control socket reports `instances`
 * instances running, each a live process of this run. 0, or -1 with failures
 * recorded under what.
 * probe: ask the library's tether_pidfile_probe, which finds the lock holder
 * in /proc/locks; else look in /proc/PID/fdinfo. Reading /proc/locks takes the
 * kernel's file_rwsem for writing, which waits for an RCU grace period (about
 * 10 ms here) and switches every flock()/close() of the next grace period to
 * the slow path: done every cycle, it would disturb what the cycles measure
 * (and make a following `tether stop`, which reads it too, look cheaper). */
int stress_check_running(struct stress *st, const char *what, struct stress_proc *p, const char *pidfile,
			 unsigned instances, bool probe);
/* Nothing is left of a supervisor that ended cleanly: no record, temp or lock
 * file, and no lock held, not even on p's lock file unlinked (p may be NULL).
 * Closes p's lock_fd.
 * 0 or -1 (failures recorded). */
int stress_check_clean(struct stress *st, const char *what, const char *pidfile, struct stress_proc *p);
/* Waits up to grace for every process carrying the run marker (but ourselves)
 * to be gone; those still alive are failures and are killed.
 * Returns how many were left, *ret_wait how long it took to get clean. */
size_t stress_check_orphans(struct stress *st, const char *what, int64_t grace, int64_t *ret_wait);

/* ---- the run ------------------------------------------------------------------------- */

struct stress_stats {
	size_t n;
	double mean, p50, p99, min, max; /* in the unit of the samples */
};
/* Nearest-rank percentiles of v[0..n) (sorts v). */
struct stress_stats stress_stats_of(int64_t *v, size_t n);

struct stress_race_result {
	unsigned rounds, failed;
	unsigned outcome[4];  /* start_stop: stopped before ready, after ready, stop missed, - */
	int64_t *lat;         /* start race: spawn -> winner ready; stop race: stops launched -> all returned */
	size_t nlat;
};

struct stress_cpu {
	bool ok;
	int64_t busy_ns, steal_ns, all_ns; /* all CPUs, since boot */
	int64_t ours_ns;                   /* user + system, self and reaped children */
};

struct stress {
	/* configuration */
	unsigned cycles, concurrency, instances, races;
	uint64_t seed;
	struct stress_mix mix;
	char *tether, *worker, *report_dir, *workdir;
	bool keep, tty;
	double max_ratio;     /* > 0: cycle p50 / floor p50 above it fails */
	char run_id[64];
	char **base_env;      /* our environment minus markers (lab_env_inherited) */
	/* the build measured, for the report (stress_build_probe) */
	char *tether_version; /* `tether --version`, lines joined by " | "; NULL: unknown */
	int tether_static;    /* 1 no ELF interpreter, 0 dynamic, -1 not an ELF file (a script) */
	unsigned next_seq;
	/* results */
	int64_t started_mono, started_wall;
	struct stress_cpu cpu_start; /* the machine's CPU time and ours at the start */
	unsigned cycles_run;
	int64_t *up, *down, *cyc;   /* clean (fault-free, passed) cycles, in order */
	bool *by_cmd;               /* ... stopped by `tether stop` (else SIGTERM) */
	size_t nclean;
	int64_t *fds, *rss;         /* per clean cycle, in order */
	size_t nsample;
	unsigned injected[STRESS_FAULT_KINDS], fault_failed[STRESS_FAULT_KINDS];
	int64_t *kill_clean;        /* sigkill: kill -> no process of the killed run left */
	size_t nkill_clean;
	unsigned sigterm_outcome[2];  /* sigterm: exit 0, died by it before startup */
	int64_t *eagain_up;         /* eagain: spawn -> ready, backoff included */
	size_t neagain_up;
	struct stress_race_result race_start, race_stop, race_start_stop;
	int64_t *floor;
	size_t nfloor;
	bool floor_failed;
	unsigned nfail;             /* every failure */
	char **fails;               /* the first ones, for the report */
	size_t nfails_kept;
	const char *phase;          /* for the progress line */
	int64_t phase_at, progress_at;
	bool interrupted;
};

/* stress_fail.c: a failure (printed while few, counted, kept for the report;
 * nothing once the run was interrupted), and the progress line on a tty. */
__attribute__((format(printf, 2, 3))) void stress_fail(struct stress *st, const char *fmt, ...);
void stress_progress(struct stress *st, unsigned done, unsigned total, bool force);

/* stress_cycle.c: cycle i with its plan; 0 passed, -1 failed. */
int stress_cycle(struct stress *st, unsigned i, const struct stress_plan *pl);
/* stress_race.c */
void stress_race_start(struct stress *st);
void stress_race_stop(struct stress *st);
void stress_race_start_stop(struct stress *st);
/* stress_report.c */
/* The floor: warm runs, then the samples beyond one per cycle that make
 * at least n; stress_floor_sample takes one more, right before a cycle. */
void stress_floor_begin(struct stress *st, unsigned n, unsigned warm);
void stress_floor_sample(struct stress *st);
/* What build st->tether is: its `--version` (which says whether it has
 * fault points: the lab's build, or the production one) and whether it is
 * linked statically; for stress.json's "build". Never fails the run. */
void stress_build_probe(struct stress *st);
/* The machine's CPU time (/proc/stat: busy, steal, all) and ours (this
 * process and its reaped descendants), for what other work used meanwhile. */
void stress_cpu_sample(struct stress_cpu *ret);
/* Prints the summary and writes stress.json: 0, or -errno (report not written). */
int stress_report(struct stress *st, bool passed_so_far, bool *ret_passed);

#endif
