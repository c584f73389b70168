/* SPDX-License-Identifier: MIT */
/* run.h — `harness run`, and one scenario at run time (harness/run/).
 *
 * The parts:
 *   run.c          the command: options, the scenario files
 *   runner.c       a list of scenarios: parsed, each run in a job of the pool
 *                  (common/jobs.c; up to --jobs at once, `exclusive` ones
 *                  alone), TAP in file order, the results files
 *   results.c      results.json and junit.xml
 *   finish.c       one scenario: set-up, end-of-scenario checks, clean-up
 *   exec.c         its steps
 *   fail.c         its failures (the first is its result)
 *   waitloop.c     its event loop: how `wait` waits and `expect` checks
 *   cond.c, cond_proc.c, cond_text.c   evaluating conditions
 *   expand.c       variables
 *   procs.c        the processes it spawns (lab_spawn, notify socket, output)
 *   fault_env.c    a process's libfiu and TETHER_FAULT environment
 *   valgrind.c     memcheck wrapping, and reading its reports
 *
 * The runner forks one process per scenario; in it, lab_run_scenario() owns a
 * struct lab: the scenario's private directory, its run marker, the
 * processes it spawned (each in its own process group, held by a pidfd, with
 * a NOTIFY_SOCKET of the lab's own), its variables and marks. Every wait is
 * one event loop (waitloop.c) over the processes' pidfds and notify sockets,
 * an inotify fd and a signalfd: nothing sleeps to synchronise. Conditions
 * that only /proc or `tether status` can answer are polled with a short
 * backoff up to the step's deadline (and say so where they are evaluated).
 *
 * Ownership: struct lab owns its procs (struct proc, freed by lab_free), and
 * the strings in them. Results (struct lab_result) own their strings; free
 * them with lab_result_clear.
 */
#ifndef TETHER_HARNESS_RUN_H
#define TETHER_HARNESS_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"
#include "json.h"
#include "scenario/scenario.h"

struct lab;

/* What `harness faults` adds to a run (each may be NULL); data is theirs. */
struct lab_hooks {
	/* The limit of the wait (`wait`, or a `run`'s wait for its exit) at line,
	 * given the one the scenario sets. */
	int64_t (*wait_limit)(struct lab *lab, unsigned line, int64_t within, void *data);
	/* A wait at line ended after elapsed ns: its condition held, or not. */
	void (*waited)(struct lab *lab, unsigned line, int64_t elapsed, bool held, void *data);
	/* When a `pause` that started at started for dur ends (asked again
	 * whenever something happened during it). */
	int64_t (*pause_end)(struct lab *lab, int64_t started, int64_t dur, void *data);
	/* A *.faults file of the scenario's directory changed (a rule fired, a
	 * spin was reported): returning true ends the run at once, the hook
	 * having recorded why (lab_fail): the wait in progress ends, no further
	 * step runs, as when the lab is interrupted. */
	bool (*fault_report)(struct lab *lab, void *data);
	void *data;
};

struct lab_options {
	const char *tether;        /* the supervisor under test (absolute) */
	const char *fixtures;      /* directory of worker and sdnotify */
	const char *srcdir;        /* the source tree's top */
	const char *report_dir;    /* results.json, junit.xml, leaks/ */
	bool valgrind;             /* every spawned tether under memcheck */
	const char *valgrind_supp; /* harness/valgrind.supp */
	uint64_t seed;
	bool keep;                 /* keep every scenario's directory */
	int64_t grace;             /* how long the end-of-scenario scan lets trees die (G2's 2 s) */
	/* Faults for every tether the plan spawns (`harness run --fault`,
	 * `harness faults`): counted rules in TETHER_FAULT syntax, added after
	 * the scenario's own; NULL for none. */
	const char *tether_fault;
	/* TETHER_FAULT_COUNT for every tether: its calls of each rule's point. */
	const char *fault_count;
	/* TETHER_FAULT_SITES and TETHER_FAULT_BUDGET for every tether (src/lab/fault.h). */
	const char *fault_sites;
	const char *fault_budget;
	/* `--isolation X` for every `tether run|start` of the plan that names
	 * none (harness faults --isolation); NULL: as written. */
	const char *isolation;
	/* A wait whose condition does not hold yet fails at once when every
	 * process of the scenario has ended: nothing is left to make it hold. */
	bool end_idle_waits;
	const struct lab_hooks *hooks;
	/* Called in the scenario's process after the plan's steps, before the
	 * end-of-scenario checks: `harness faults` stops what still runs and
	 * judges the guarantees there, where the processes are still known. */
	void (*after_plan)(struct lab *lab, void *userdata);
	void *after_plan_data;
};

enum lab_status { LAB_PASS, LAB_FAIL, LAB_SKIP };

struct lab_result {
	enum lab_status status;
	char *location;  /* "FILE:LINE" of what failed, or NULL */
	char *message;   /* one line: "expected exit 75, got 0" (or the skip reason) */
	char *details;   /* further lines (output tails, orphans), or NULL */
	double duration_s;
	char *dir;       /* the scenario's directory when kept, else NULL */
};
void lab_result_clear(struct lab_result *r);

/* Runs scn in the calling process (which must have no other children) with
 * the run marker run_id. */
void lab_run_scenario(const struct scenario *scn, const struct lab_options *opt, const char *run_id,
		      struct lab_result *ret);
/* Why scn cannot run here (a malloc'd reason), or NULL when it can. */
char *lab_requirements_unmet(const struct scenario *scn, const struct lab_options *opt);

struct proc {
	char *name;          /* "t", or "racers.3" for a member of a group */
	char *program;       /* argv[0] as given */
	char *group;         /* "racers", or NULL */
	unsigned seq;        /* spawn number (TETHER_LAB_SPAWN) */
	unsigned batch;      /* the seq of the first member of its group (== seq alone) */
	unsigned line;       /* of its spawn step */
	bool is_tether;      /* the supervisor under test (valgrind wraps it) */
	bool under_valgrind;
	bool probe;          /* a lab instrument (`tether status`), not part of the plan */
	unsigned fiu_line;   /* had FIU_ENABLE (from this line): its stderr is checked for rejected commands */
	pid_t pid;
	int pidfd;           /* -1 once reaped */
	int notify_fd;       /* the lab's end of its NOTIFY_SOCKET, -1 when none */
	int errpipe;         /* exec confirmation, -1 once read */
	bool exited;
	int code;            /* exit code, or -1 when killed by a signal */
	int sig;             /* the signal, or 0 */
	bool ready;          /* sent READY=1 */
	int64_t t_spawn, t_ready, t_exit;
	char status_text[256];
	char *out_path, *err_path;
	char *notify_path;   /* $DIR/NAME.notify: every line of every datagram received, NULL for probes */
	char *fault_report;  /* TETHER_FAULT_REPORT */
};

struct lab_var {
	char *name;
	char *value;
};

struct lab_mark {
	char *label;
	int64_t t;
};

struct lab {
	const struct scenario *scn;
	const struct lab_options *opt;
	char *dir;
	char run_id[96];
	struct proc **procs;
	size_t nprocs;
	struct lab_var *vars;
	size_t nvars;
	struct lab_mark *marks;
	size_t nmarks;
	const struct step **mods; /* fault/fiu/env waiting for the next spawn of their name */
	size_t nmods;
	unsigned next_seq;
	int inotify_fd;
	int dir_wd;
	int sig_fd;
	int64_t deadline;         /* the scenario's */
	unsigned last_line;       /* of the step that ran last (end-of-scenario findings) */
	bool interrupted;
	/* the first failure, and everything found after it */
	bool failed;
	unsigned fail_line;
	char *fail_msg;
	struct tether_buf details;
};

/* ---- exec.c ----------------------------------------------------------------------- */
/* Runs steps until the end or the first failure: 0 or -1. */
int lab_run_steps(struct lab *lab, const struct step *steps, size_t n);

/* ---- fail.c ----------------------------------------------------------------------- */
/* Records a failure at line (the first one is the scenario's result; later
 * ones go to the details). Always returns -1. */
__attribute__((format(printf, 3, 4))) int lab_fail(struct lab *lab, unsigned line, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void lab_detail(struct lab *lab, const char *fmt, ...);

/* ---- expand.c --------------------------------------------------------------------- */
/* Expands a word's template. NULL (and a failure recorded at line) when a
 * variable has no value yet. */
char *lab_expand(struct lab *lab, const struct word *w, unsigned line);
/* Sets (or replaces) a variable. */
void lab_set_var(struct lab *lab, const char *name, const char *value);
/* The time of an event: "NAME.spawn", "NAME.ready", "NAME.exit" or a mark.
 * 1 found, 0 not happened yet, -1 unknown name. */
int lab_event_time(struct lab *lab, const char *event, int64_t *ret);

/* ---- procs.c ---------------------------------------------------------------------- */
struct spawn_req {
	const char *name;
	const char *group;
	unsigned batch;       /* 0: a batch of its own */
	unsigned line;
	char **argv;          /* expanded, NULL-terminated */
	char **env;           /* extra KEY=VALUE (override), NULL-terminated or NULL */
	bool is_tether;
	bool probe;
	unsigned fiu_line;
	int barrier_fd;       /* read end: the child waits for its EOF before exec; -1 none */
	int barrier_wfd;      /* the write end, which the child closes first */
	const char *fault_report;
	bool nofile;          /* `limit NAME nofile SOFT:HARD` */
	uint64_t nofile_soft, nofile_hard;
};
/* Forks one process (not yet confirmed to have exec'd). NULL and a failure
 * recorded when the fork itself fails. */
struct proc *proc_fork(struct lab *lab, const struct spawn_req *req);
/* Waits for the exec of p (after any barrier was released): 0, or -1 with a
 * failure recorded ("cannot execute ..."). */
int proc_confirm_exec(struct lab *lab, struct proc *p);
/* Reaps p if it has exited (never blocks): 1 reaped now, 0 not. */
int proc_reap(struct lab *lab, struct proc *p);
/* Reads every pending notify datagram of p. */
void proc_drain_notify(struct proc *p);
/* Signals p (through its pidfd) or its process group. 0 or -errno. */
int proc_signal(struct lab *lab, struct proc *p, int sig, bool group);
void proc_free(struct proc *p);
/* The newest process of that name, or NULL. */
struct proc *lab_find_proc(struct lab *lab, const char *name);
/* The members of the newest group of that name (NULL-terminated, malloc'd), or NULL. */
struct proc **lab_find_group(struct lab *lab, const char *name, size_t *ret_n);
/* The process with that spawn number. */
struct proc *lab_find_seq(struct lab *lab, unsigned seq);
/* Runs `tether status --json --pidfile P` (a probe, never under valgrind):
 * 0 and its exit code and parsed output (*ret_json NULL if not JSON), or -1
 * with a failure recorded. */
int lab_status_query(struct lab *lab, const char *pidfile, unsigned line, int *ret_code,
		     struct tether_json **ret_json);

/* ---- waitloop.c ------------------------------------------------------------------- */
/* Reaps exited processes, drains notify sockets and inotify. */
void lab_pump(struct lab *lab);
/* Sleeps until something happens (a process exits, a datagram or a file
 * event arrives, a signal, one of fds becomes readable) or until `until`. */
void lab_wait_event(struct lab *lab, int64_t until, const int *fds, size_t nfds);
/* Adds an inotify watch on the directory holding path (or its nearest
 * existing ancestor); returns the watch descriptor or -1. */
int lab_watch_path(struct lab *lab, const char *path);
void lab_unwatch(struct lab *lab, int wd);
/* `wait COND within DUR`: 0 once COND holds, -1 (failure recorded at line)
 * when it cannot hold any more or the deadline passes. */
int lab_wait_cond(struct lab *lab, const struct cond *c, int64_t within, unsigned line);
/* `expect COND`: 0 when it holds now, else -1 with the failure recorded. */
int lab_expect_cond(struct lab *lab, const struct cond *c, unsigned line);

/* ---- cond.c, cond_proc.c, cond_text.c --------------------------------------------- */
enum cond_result { COND_TRUE, COND_NOT_YET, COND_FALSE };

/* What a waiter should watch to see the condition change. */
struct cond_watch {
	char *path;      /* a file to watch (its directory, by inotify), or NULL */
	bool polled;     /* only pollable: re-evaluate with a backoff */
	int *fds;        /* more fds whose readability is a change (pidfds; owned, closed by clear) */
	size_t nfds;
};
void cond_watch_clear(struct cond_watch *w);

/* Evaluates c now. *ret_observed (malloc'd) tells what was seen, in the form
 * "expected X, got Y". Returns -1 when a word cannot be expanded (a failure
 * is then recorded). */
int lab_cond_eval(struct lab *lab, const struct cond *c, unsigned line, struct cond_watch *w, char **ret_observed);
/* The open descriptors of p (from /proc/PID/fd; under valgrind, memcheck's own
 * are left out), listed into list when it is not NULL. -errno when unreadable. */
long long lab_count_fds(struct lab *lab, const struct proc *p, struct tether_buf *list);
int cond_eval_proc(struct lab *lab, const struct cond *c, unsigned line, struct cond_watch *w, char **ret_observed);
/* The content tests of a file (T_* of c) on path; what names it in messages. */
int cond_text_test(struct lab *lab, const struct cond *c, unsigned line, const char *what, const char *path,
		   char **ret_observed);
/* The same on a rotation chain (c->scope: chain or each) of path. */
int cond_chain_test(struct lab *lab, const struct cond *c, unsigned line, const char *path, char **ret_observed);
/* Compares a JSON value with the text of an expected value. */
bool cond_compare_json(const struct tether_json *j, enum cmp_op op, const char *value, char **ret_got);
bool cond_compare_num(int64_t got, enum cmp_op op, int64_t want);

/* ---- finish.c: the orphan scan in the lab's event loop (common/orphans.c) ------------- */
/* Waits until one of m's processes exits, the deadline passes or another
 * event of the lab comes (pidfd + poll). */
void lab_wait_marked(struct lab *lab, const struct marked *m, size_t n, int64_t deadline);

/* ---- fault_env.c ------------------------------------------------------------------ */
/* Adds the environment for the fault/fiu/env steps in mods to *env. Returns
 * 0, or -1 with a failure recorded (e.g. a counted fault for a program that
 * is not tether). *ret_fiu_line: the line of the first step that went into
 * FIU_ENABLE (0: none). */
int lab_fault_env(struct lab *lab, const struct step *const *mods, size_t n, const char *name, bool is_tether,
		  const char *report_path, char ***env, size_t *nenv, unsigned *ret_fiu_line);
/* Does this stderr text say libfiu rejected its FIU_ENABLE commands? */
bool lab_fiu_rejected(const char *text);

/* ---- valgrind.c ------------------------------------------------------------------- */
/* argv under memcheck (malloc'd vector and strings). */
char **valgrind_wrap(const struct lab_options *opt, const char *scenario, char **argv);
/* Checks what memcheck wrote for pid: 0 clean or no report, -1 with
 * *ret_msg (malloc'd) describing errors, leaks and leaked fds. */
int valgrind_check(const struct lab_options *opt, const char *scenario, pid_t pid, char **ret_msg);
/* Removes the reports of an earlier run of scenario. */
void valgrind_clear(const struct lab_options *opt, const char *scenario);
/* Does the fd at /proc/PID/fd/FD belong to valgrind (its logs, its own range)? */
bool valgrind_own_fd(const struct lab_options *opt, pid_t pid, int fd);

/* ---- runner.c: a list of scenario files (`harness run`) ------------------------------ */
struct runner_config {
	const struct lab_options *opt;
	char **files;
	size_t nfiles;
	unsigned jobs;
};

/* Returns the number of failed scenarios, or -1 when the reports could not
 * be written. */
int runner_run(const struct runner_config *rc);

/* ---- results.c: REPORT/results.json (one JSON object; schema in
 * scenarios/README.md) and REPORT/junit.xml (JUnit XML for CI), each written
 * to a temporary name and renamed, so a reader never sees half a file. ---- */
struct results_entry {
	const char *name;
	const char *file;
	const char *run_id;
	const struct scenario *scn;   /* its guarantees; NULL when it did not parse */
	struct lab_result res;
};

struct results {
	int64_t started_wall_ns;
	double duration_s;
	uint64_t seed;
	const char *tether;
	bool valgrind;
	unsigned jobs;
	struct results_entry *entries;
	size_t n;
	unsigned passed, failed, skipped;
};

/* Writes results.json and junit.xml under dir. 0 or -errno. */
int results_write(const char *dir, const struct results *r);

#endif
