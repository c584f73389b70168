/* SPDX-License-Identifier: MIT */
/* faults.h — `harness faults --enumerate`: SQLite's method on scenarios.
 *
 * For every failure point the scenario's tether processes reach, fail the
 * k-th call (once, or from the k-th call on) and judge each run by tether's
 * guarantees rather than by the scenario's functional expectations. Two
 * modes (harness/README.md, "harness faults --enumerate"):
 *   full  every k = 1, 2, ... until a run injects nothing (or --max-k), every
 *         point, the scenario's own waits: the nightly's exhaustive sweep;
 *   ci    one k per call site (k-classes from the discovery's call stacks),
 *         no posix/ point whose every call is a tether/sys/ point's, waits
 *         cut to what the unfaulted run needed, both isolations: every
 *         scenario in the time of a CI step.
 * The parts:
 *   enumerate.c         the command: options, targets (scenario x isolation),
 *                       the one job pool over all of them, the schedule
 *   enumerate_plan.c    what a discovery says: the points reached and their
 *                       counts, the call sites (k-classes, posix twins), the
 *                       waits' durations; the spin budget of a rule
 *   enumerate_report.c  verdicts: TAP lines, replay commands, the summary,
 *                       REPORT/faults.json
 *   enumerate_points.c  which points exist, which errnos each gets, globs
 *   enumerate_judge.c   in the scenario's process, after its plan: stop what
 *                       still runs, then check orphans, pidfiles, locks,
 *                       exits (the judgement)
 *   enumerate_watch.c   while the plan runs: the hooks that time and cut its
 *                       waits and stop it at a spin; the spin's stack
 *   enumerate_run.c     the runs: each in a job of its own (common/jobs.c, as
 *                       under `harness run`) calling lab_run_scenario with
 *                       one rule; the judgement comes back as JSON
 */
#ifndef TETHER_HARNESS_FAULTS_H
#define TETHER_HARNESS_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "json.h"
#include "run/run.h"

/* ---- enumerate_points.c ------------------------------------------------------------ */

/* Every point the discovery run may count: tether/sys/ (sys.c), then the
 * POSIX preload's (its function_list, without the /reduce variants).
 * NULL-terminated. */
const char *const *faults_all_points(void);
/* The errnos a point gets (ENOSPC/EIO for writes, EAGAIN/ENOMEM for fork,
 * EMFILE/EACCES for open, EINTR nearly everywhere...): fills ret (up to
 * max), returns the count. */
size_t faults_point_errnos(const char *point, int *ret, size_t max);
/* Why failing point would test something that cannot happen (so it is
 * left out unless --points names it exactly), or NULL. */
const char *faults_point_unrealistic(const char *point);
/* Does point match one of the comma-separated fnmatch globs? Is it one of
 * them, literally? */
bool faults_glob_match(const char *globs, const char *point);
bool faults_exact_match(const char *globs, const char *point);
/* The points the scenario faults itself (its `fault` steps, and `name=` in
 * its `fiu` commands): a lab-wide rule on them would replace the scenario's
 * own, so they are neither counted nor enumerated. Returns a malloc'd
 * NULL-terminated vector of malloc'd names. */
char **faults_scenario_points(const struct scenario *scn);
/* Prints the errno table (for --help and the head of a run). */
void faults_print_errno_table(FILE *to, const char *prefix);

/* ---- enumerate_judge.c -------------------------------------------------------------- */

enum plan_outcome {
	PLAN_PASSED,  /* the scenario's own checks all held */
	PLAN_CLEAN,   /* it failed where a tether ended with a documented code and a message */
	PLAN_DEGRADED /* it failed otherwise, while every guarantee held */
};

/* What the firing reports ($DIR/NAME.faults) said about a run's rule. */
struct fired {
	unsigned long lines;  /* firings reported */
	unsigned procs;       /* distinct processes it fired in */
	unsigned long max_k;  /* highest call number that failed (a `from` rule in a loop) */
	pid_t max_pid;
};

/* A wait's duration in the unfaulted run (the longest at that line). */
struct wait_time {
	unsigned line;
	int64_t ns;
};

/* A call of the rule's point before the rule fired, at a call site the
 * discovery did not see (timing): the enumeration adds its k. */
struct new_site {
	unsigned long k;
	uint64_t hash;
};

/* What one run showed: made in the scenario's process, sent to the parent
 * as JSON. Owns its strings. */
struct judgement {
	enum plan_outcome plan;
	char *plan_msg;      /* "FILE:LINE: message" of the plan's failure, or NULL */
	char *summary;       /* "first: exit 73 \"tether: ...\"" (what the fault did) */
	char **findings;     /* broken guarantees, one line each */
	size_t nfindings;
	char **artifacts;    /* pidfile, .tmp and .lock files left in $DIR (relative) */
	size_t nartifacts;
	bool sigkilled;      /* a tether of the plan died by SIGKILL (files may stay) */
	bool spin;           /* stopped at a spin: findings[0] says where */
	struct fired fired;  /* of the rule's point (lab_options.tether_fault) */
	struct wait_time *waits; /* the discovery's */
	size_t nwaits;
	struct new_site *sites;  /* an injection run's */
	size_t nsites;
	int64_t ns;          /* how long the run took */
	/* from the lab's own result */
	char *lab_details;   /* stderr tails and the like, or NULL */
	char *dir;           /* the scenario's directory when kept, else NULL */
};

/* --ci: the shortest a wait of an injection run gets (enumerate_watch.c):
 * once, one restart's backoff (1 s by default) and a start; from k on, a
 * fault that stalls a wait does not go away. */
#define FAULTS_ONCE_WAIT_NS (1500 * NS_PER_MS)
#define FAULTS_FROM_WAIT_NS (300 * NS_PER_MS)

/* What a run's scenario process knows of its rule, for the judge's hooks. */
struct run_ctx {
	struct judgement *j;
	const char *point;           /* the rule's point, or NULL (discovery) */
	unsigned long k;
	bool from;
	unsigned long budget;        /* failures of the rule in one process that make a spin, 0: none */
	unsigned long count;         /* the discovery's count of the point (for messages) */
	const struct wait_time *limits; /* the discovery's waits: cut each to max(floor, 10 x) */
	size_t nlimits;
	int64_t floor_ns;            /* 0: no cut */
	const char *sites_path;      /* TETHER_FAULT_SITES of an injection run, or NULL */
	const uint64_t *known_sites; /* the discovery's call sites of the point (sorted) */
	size_t nknown_sites;
	const char *tether;          /* for the spin's stack */
	/* the spin watch: how much of each NAME.faults is read, which
	 * processes said their retries are paced */
	struct report_pos {
		char *name;
		size_t off;
	} *reports;
	size_t nreports;
	pid_t *paced;
	size_t npaced;
	int64_t fired_at;            /* when a report first said the rule fired (0: not yet) */
	char *spin_what;             /* "busy loop: ..." without the stack */
	char *spin_frames;           /* " MODULE+OFFSET..." of the spinning call */
};

/* enumerate_watch.c: the spin's call stack from its frames (" MODULE+OFFSET
 * ..."), tether's resolved to functions: "sys_read (sys.c) <- ...".
 * Malloc'd, NULL when there are none. */
char *faults_spin_stack(const char *tether, const char *frames);
/* addr2line -f -e tether on the offsets: "function\nfile:line\n" each, or
 * NULL. Malloc'd. */
char *faults_addr2line(const char *tether, char **offsets, size_t n);
/* lab_options.after_plan for the runs: userdata is a struct run_ctx. */
void faults_after_plan(struct lab *lab, void *userdata);
/* The hooks of a run (lab_options.hooks, data a struct run_ctx). */
extern const struct lab_hooks faults_hooks;
void faults_judgement_add(struct judgement *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void faults_judgement_clear(struct judgement *j);
/* One JSON object, and back (enumerate_run.c): 0 or -1 (malformed). */
void faults_judgement_write(const struct judgement *j, struct tether_buf *b);
int faults_judgement_read(const char *text, size_t len, struct judgement *ret);

/* ---- enumerate_plan.c: what a discovery says -------------------------------------------- */

struct site_db;

/* The calls of one point in the unfaulted run. */
struct reached {
	const char *point;
	unsigned long count;    /* the most calls of it one process made */
	/* the k-classes: k's signature is, over every process that made a k-th
	 * call, where it was made and where the two calls before it were
	 * (whatever their point); class[k-1] is the first k of k's class */
	unsigned long *class_of;
	uint64_t *sig;          /* sig[k-1]: k's signature */
	uint64_t *site_sig;     /* site_sig[k-1]: the set of the sites of k-th calls alone */
	uint64_t **ksites;      /* ksites[k-1]: those sites (sorted, distinct), nksites[k-1] of them */
	size_t *nksites;
	unsigned long nclass;   /* k's with a signature (0: no call sites known) */
	uint64_t *sites;        /* every call site of the point (sorted, distinct) */
	size_t nsites;
	const char *twin;       /* the tether/sys/ point every call of this posix/ point
				 * came through, one for one, in every process (NULL: none) */
};

/* Reads a discovery's counts (TETHER_FAULT_COUNT: "count POINT N PID") and,
 * when sites_path is not NULL, its call sites (TETHER_FAULT_SITES): the
 * points of cands reached, with their counts, k-classes and twins.
 * *ret_n of them in *ret (malloc'd; free with faults_reached_free). */
void faults_read_discovery(const char *count_path, const char *sites_path, const char *const *cands, size_t ncands,
			   struct site_db *db, struct reached **ret, size_t *ret_n);
/* Every identifier E[A-Z0-9]+ of C text outside comments and literals
 * (text is blanked there), into names (malloc'd, distinct). */
void faults_errno_names(char *text, char ***names, size_t *n);
/* Blanks out the comments and the string and character literals of C text. */
void faults_code_only(char *text);

/* ---- enumerate_sites.c: the errnos a call site tells apart (--ci) ------------------------- */

struct site_db *faults_site_db_new(const char *tether, const char *srcdir);
void faults_site_db_free(struct site_db *db);
/* Records a call site's frames (" MODULE+OFFSET ..."), once per hash. */
void faults_site_db_add(struct site_db *db, uint64_t hash, const char *frames);
/* Resolves the sites added since the last call (one addr2line). */
void faults_site_db_resolve(struct site_db *db);
/* Does a source file of the site's stack name err (EINTR: always; an
 * unknown site: every errno)? */
bool faults_site_names(struct site_db *db, uint64_t hash, int err);
size_t faults_site_db_size(const struct site_db *db);
/* The hash of the site's innermost frames of tether's (the site itself
 * when unknown). */
uint64_t faults_site_near(struct site_db *db, uint64_t hash);
void faults_reached_free(struct reached *r, size_t n);
/* What libtether's sources (src/sys.c, src/sys.h) say of EINTR: how many
 * times sys.c retries one (SYS_EINTR_MAX), and which tether/sys/ points'
 * wrappers retry it (SYSCALL_RETRY) — for those, failing one call with
 * EINTR is failing none, by construction. known false: no sources. */
struct sys_facts {
	bool known;
	unsigned long eintr_max;
	char **retried;       /* "read", "write", ...: only through SYSCALL_RETRY */
	size_t nretried;
	char **named;         /* every E... name libtether's code (src/, src/cli/) uses */
	size_t nnamed;
};
void faults_read_sys(const char *srcdir, struct sys_facts *ret);
void faults_sys_facts_done(struct sys_facts *f);
/* Does point's sys.c wrapper retry an EINTR (and more than once)? */
bool faults_eintr_retried(const struct sys_facts *f, const char *point);
/* Does libtether's code name err anywhere (compare with it, map it)? An
 * errno it never names takes the path of any other error. */
bool faults_errno_named(const struct sys_facts *f, int err);
/* The spin budget of a `from` rule on a point the unfaulted run calls count
 * times in its busiest process, at nsites call sites: 64 x count plus, per
 * call site, a floor that covers the bounded bursts of a correct tether (its
 * fruitless-wakeup bound of 100, times the SYS_EINTR_MAX retries of an
 * EINTR: eintr_max). */
unsigned long faults_budget(unsigned long count, size_t nsites, int err, unsigned long eintr_max);
/* The call sites of point seen before the rule fired in an injection run
 * (sites_path: its TETHER_FAULT_SITES) that known (sorted) lacks: into
 * *ret (malloc'd), their count. */
size_t faults_new_sites(const char *sites_path, const char *point, unsigned long k, const uint64_t *known,
			size_t nknown, struct new_site **ret);

/* ---- enumerate.c: targets, chains, runs ------------------------------------------------- */

struct faults_ctx;

/* One scenario in one isolation: its discovery, then its chains. */
struct target {
	struct faults_ctx *c;
	struct scenario *scn;
	const char *arg;            /* the scenario's path as given */
	char *name;                 /* "double_start", "double_start [subreaper]" */
	const char *isolation;      /* "pidns", "subreaper", or NULL (as the scenario says) */
	char **own;                 /* the points it faults itself */
	const char **cands;         /* the candidates of its discovery */
	size_t ncands;
	bool exclusive;
	/* --isolation both: the scenario's pidns target, for its subreaper one
	 * (whose once chains leave out the k's that fail the same call, after
	 * the same calls, in every process, as a k of the pidns target) */
	struct target *sibling;
	enum { T_WAITING, T_DISCOVERING, T_DISCOVERED, T_PLANNED, T_BAILED, T_SKIPPED } state;
	struct reached *reached;
	size_t nreached;
	char **base_artifacts;      /* what the unfaulted run leaves */
	size_t nbase;
	char **base_findings;       /* the unfaulted run's (normalized): not the faults' doing */
	size_t nbase_findings;
	struct wait_time *waits;    /* the unfaulted run's */
	size_t nwaits;
	int64_t discovery_ns;
	struct chain *chains;
	size_t nchains;
	/* tallies */
	unsigned long runs, passed, failed, flaky, known, skipped_k, same_as_sibling;
	int64_t run_ns;             /* the sum of its runs' durations */
};

/* The runs of one (target, point, errno, mode). full: k = 1, 2, ... in
 * order until one injects nothing; ci: the first k of each k-class (all at
 * once), and the k's injection runs find at new call sites. */
struct chain {
	struct target *t;
	const struct reached *r;
	const char *point;
	int err;
	bool from;
	unsigned long count;  /* calls seen in discovery (max over processes) */
	unsigned long k;      /* full: the next run's */
	unsigned long budget; /* from: the spin budget */
	unsigned long *ks;    /* ci: the k's to run */
	size_t nks, next;
	uint64_t *added;      /* ci: the call sites added since the discovery */
	size_t nadded;
	unsigned running;
	bool done, truncated;
	bool single;          /* --only: this k and no other */
};

/* A run in flight: a job of the pool running the scenario once; its
 * job's data. */
struct slot {
	struct target *t;
	struct chain *chain;  /* NULL for the discovery run */
	unsigned long k;
	char *rule, *run_id;
	char *count_path, *sites_path;
	bool replay;          /* the second run of a rule that failed (ci) */
	char *first_finding;  /* ... and what the first showed */
	int64_t t0;
};

/* A known failure (--known): a run whose every finding matches one is TODO. */
struct known {
	char *point;    /* glob */
	char *finding;  /* glob */
	char *why;
	char *scenario; /* glob of the scenario's name, or NULL: any */
	int mode;       /* 0 any, 1 once, 2 from */
};

/* A failure, for the summary and faults.json. */
struct failure {
	struct target *t;
	char *rule;
	char *finding;
	bool flaky;     /* failed once, passed when run again */
};

/* Per point: runs, failures and what they found (faults.json). */
struct point_tally {
	const char *point;
	unsigned long runs, failures, flaky, classes;
	char **kinds;       /* "busy loop", "G2", "hang", ... */
	unsigned long *nkind;
	size_t nkinds;
};

struct faults_ctx {
	struct target **targets;
	size_t ntargets;
	struct lab_options opt;
	char *work;           /* the discoveries' counts and sites, the runs' sites */
	char *self;           /* this harness, for the replay commands */
	const char *tether_arg;
	const char *step_timeout_arg;
	const char *globs;
	int only_errno;
	const char *only;
	struct chain one;     /* --only */
	bool ci;              /* the fast mode */
	const char *isolation_arg; /* --isolation as given */
	bool isolation_pinned;     /* ... other than "as written": repeat it in the replays */
	unsigned long max_k, max_runs;
	unsigned jobs;
	int64_t time_limit;   /* 0: none */
	bool verbose, quiet;
	bool keep;            /* the directories of failed runs */
	struct known *knowns;
	size_t nknowns;
	struct lab_jobs pool; /* --jobs runs at once; pool.interrupted by INT, TERM or HUP */
	unsigned seq;
	int64_t t0;
	bool out_of_time;
	/* tallies */
	unsigned long runs, tap, passed, failed, flaky, known, clean, degraded, unaffected, quiet_runs, truncated,
		skipped_k, twins_skipped, same_as_sibling;
	struct failure *failures;
	size_t nfailures;
	struct point_tally *points;
	size_t npoints;
	struct sys_facts sys;
	unsigned long eintr_once;  /* --ci: once k's of EINTR left to sys.c's retry */
	unsigned long unnamed_skipped; /* --ci: chains of a second errno tether never names */
	/* --ci: every (point, errno, mode, k-signature) some target runs: a
	 * k of another target with the same key fails the same call after the
	 * same calls in every process (an open-addressing set, 0 = empty) */
	uint64_t *classes_run;
	size_t nclasses_run, classes_cap;
	unsigned long same_as_other; /* --ci: k's left out as another target's */
	struct site_db *sites;       /* --ci: the errnos each call site names */
	unsigned long skipped_scenarios; /* --skip */
	unsigned long unscheduled;   /* --ci: chains left with runs never started (a failure) */
	unsigned long errno_other;   /* --ci: k's of an errno no file of its stack names, as another errno's */
};

/* ---- enumerate_run.c: one run ------------------------------------------------------------ */

/* Starts a run of t's scenario (in an idle job of c->pool) with rule in
 * every tether; ch: the chain it belongs to (k its k), NULL for the
 * discovery (which counts and records call sites and wait times). */
struct slot *faults_start_run(struct faults_ctx *c, struct target *t, struct chain *ch, unsigned long k,
			      const char *rule);
/* Collects the judgement of an ended run (lab_jobs_wait), ends its job and
 * returns its slot (free with faults_slot_free). */
struct slot *faults_end_run(struct faults_ctx *c, struct lab_job *job, struct judgement *j);
void faults_slot_free(struct slot *s);
/* A finding without what differs between runs (pids, the directory's
 * random name), to recognise the unfaulted run's. Malloc'd. */
char *faults_normalize(const char *finding);

/* ---- enumerate_report.c: verdicts and the summary ------------------------------------------ */

enum verdict {
	V_QUIET,  /* the rule fired nowhere and nothing was found */
	V_PASS,
	V_FAIL,
	V_KNOWN   /* failed, and --known explains every finding */
};
/* The verdict of one ended injection run: drops the findings the unfaulted
 * run has too, adds G3's files left behind. */
enum verdict faults_verdict(struct faults_ctx *c, const struct slot *s, struct judgement *j);
/* Prints it (a TAP line, and for a failure its details and replay);
 * flaky: what the first run of a rule that passed when run again found. */
void faults_print_run(struct faults_ctx *c, const struct slot *s, struct judgement *j, enum verdict v,
		      const char *flaky);
/* The rule's replay and inspect commands, "#   " lines. */
void faults_print_replay(struct faults_ctx *c, const struct target *t, const char *rule);
/* The summary lines, then writes path (faults.json) unless NULL: 0 or -errno. */
int faults_summary(struct faults_ctx *c, const char *path);
/* Counts a run of point (and its verdict) for faults.json. */
void faults_tally(struct faults_ctx *c, const char *point, bool failed, bool flaky, char **findings, size_t n);
/* Loads --known FILE: 0 or -1 (errno). */
int faults_load_known(struct faults_ctx *c, const char *path);

#endif
