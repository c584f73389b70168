/* SPDX-License-Identifier: MIT */
/* faults.h — `harness faults --enumerate`: SQLite's method on a scenario.
 *
 * For every failure point the scenario's tether processes reach, fail the
 * k-th call (once, or from the k-th call on) for k = 1, 2, ... until a run
 * injects nothing, and judge each run by tether's guarantees rather than by
 * the scenario's functional expectations. The parts:
 *   enumerate.c         the command: options, chains, verdicts, TAP output
 *   enumerate_points.c  which points exist, which errnos each gets, globs
 *   enumerate_judge.c   in the scenario's process, after its plan: stop what
 *                       still runs, then check orphans, pidfiles, locks,
 *                       exits (the judgement)
 *   enumerate_run.c     the runs: each in a job of its own (common/jobs.c, as
 *                       under `harness run`) calling lab_run_scenario with
 *                       lab_options.tether_fault = one rule and
 *                       lab_options.after_plan = faults_after_plan; the
 *                       judgement comes back as JSON; the discovery run
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
	struct fired fired;  /* of the rule's point (lab_options.tether_fault) */
	/* from the lab's own result */
	char *lab_details;   /* stderr tails and the like, or NULL */
	char *dir;           /* the scenario's directory when kept, else NULL */
};

/* lab_options.after_plan for the runs: userdata is a struct judgement. */
void faults_after_plan(struct lab *lab, void *userdata);
void faults_judgement_add(struct judgement *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void faults_judgement_clear(struct judgement *j);
/* One JSON object, and back (enumerate_run.c): 0 or -1 (malformed). */
void faults_judgement_write(const struct judgement *j, struct tether_buf *b);
int faults_judgement_read(const char *text, size_t len, struct judgement *ret);

/* ---- enumerate.c, enumerate_run.c: the runs ------------------------------------------- */

/* The runs of one (point, errno, mode): k = 1, 2, ... */
struct chain {
	const char *point;
	int err;
	bool from;
	unsigned long count;  /* calls seen in discovery (max over processes) */
	unsigned long k;      /* the next run's */
	bool running, done, truncated;
	bool single;          /* --only: this k and no other */
};

/* A run in flight: a job of the pool (common/jobs.c) running the scenario
 * once; its job's data. */
struct slot {
	struct chain *chain;  /* NULL for the discovery run */
	unsigned long k;
	char *rule, *run_id;
};

/* A known failure (--known): a run whose every finding matches one is TODO. */
struct known {
	char *point;    /* glob */
	char *finding;  /* glob */
	char *why;
};

struct faults_ctx {
	struct scenario *scn;
	const char *scn_arg;
	struct lab_options opt;
	char *work;           /* the discovery's counts */
	char *self;           /* this harness, for the replay commands */
	const char *tether_arg;
	const char *step_timeout_arg;
	char **base_artifacts;
	size_t nbase;
	char **base_findings;  /* the unfaulted run's (normalized): not the faults' doing */
	size_t nbase_findings;
	unsigned long max_k, max_runs;
	unsigned jobs;
	bool verbose;
	bool keep;            /* the directories of failed runs */
	struct known *knowns;
	size_t nknowns;
	struct lab_jobs pool;  /* --jobs runs at once; pool.interrupted by INT, TERM or HUP */
	unsigned seq;
	/* tallies */
	unsigned long runs, tap, passed, failed, known, clean, degraded, unaffected, quiet_runs, truncated;
};

/* Starts a run of the scenario (in an idle job of c->pool) with rule in
 * every tether, and count_path as TETHER_FAULT_COUNT when not NULL; ch: the
 * chain it belongs to (its k), NULL for the discovery. */
void faults_start_run(struct faults_ctx *c, struct chain *ch, const char *rule, const char *count_path);
/* Collects the judgement of an ended run (lab_jobs_wait), ends its job and
 * returns its slot (free with faults_slot_free). */
struct slot *faults_end_run(struct faults_ctx *c, struct lab_job *job, struct judgement *j);
void faults_slot_free(struct slot *s);

/* A finding without what differs between runs (pids, the directory's
 * random name), to recognise the unfaulted run's. Malloc'd. */
char *faults_normalize(const char *finding);

struct reached {
	const char *point;
	unsigned long count;
};
/* The unfaulted run that counts the candidates' calls: 0 and the points
 * reached, or -1 when the scenario fails without faults (said as Bail out!). */
int faults_discover(struct faults_ctx *c, const char *const *cands, size_t ncands, struct reached **ret,
		    size_t *ret_n);

#endif
