/* SPDX-License-Identifier: MIT */
/* common.h — what every part of the lab shares (harness/common/).
 *
 * The lab (`harness`) is a test program, not a library: allocation failure
 * ends it with a message (x* helpers), and it may print. It is built of
 * subsystems, a folder and a header each (harness/README.md, "Layout"):
 *   main.c, commands.def  subcommand dispatch (one line per subcommand)
 *   common/    this header: common.c (allocation, time, files, errno and
 *              signal names, text), options.c (where tether, the fixtures,
 *              the sources and the reports are; the seed), spawn.c (starting
 *              a process marked as the run's), orphans.c (finding and killing
 *              what carries a run's marker), jobs.c (a pool of forked jobs)
 *   scenario/  the scenario language (scenario.h)
 *   run/       `harness run`, and one scenario at run time (run.h)
 *   faults/    `harness faults --enumerate` (faults.h)
 *   stress/    `harness stress` (stress.h)
 *   soak/      `harness soak` (soak.h)
 *   report/    `harness report` (report.h)
 * Every subsystem uses common/; run/ also uses scenario/, and faults/ both;
 * nothing else crosses between them.
 */
#ifndef TETHER_HARNESS_COMMON_H
#define TETHER_HARNESS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "json.h"

#define HARNESS_COMMAND(name, summary) int harness_cmd_##name(int argc, char **argv);
#include "commands.def"
#undef HARNESS_COMMAND

/* The environment variables that mark what the lab started: the run marker
 * (one value per scenario run; the orphan scan looks for it) and which spawn
 * step a process descends from ("SEQ:NAME"). */
#define LAB_ENV_RUN "TETHER_LAB_RUN"
#define LAB_ENV_SPAWN "TETHER_LAB_SPAWN"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_SEC INT64_C(1000000000)

/* ---- common.c ------------------------------------------------------------------- */

__attribute__((noreturn, format(printf, 1, 2))) void lab_die(const char *fmt, ...);
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
__attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...);
/* Appends item (of size) to the array *arr of *n items, growing it. */
void xappend(void *arr, size_t *n, const void *item, size_t size);

/* CLOCK_MONOTONIC in ns. */
int64_t lab_now(void);
/* "250ms", "1.5s": for messages. Returns buf. */
char *lab_fmt_ns(int64_t ns, char *buf, size_t len);

/* Reads a whole file (at most max bytes; more is -EFBIG) into a malloc'd,
 * NUL-terminated buffer. Returns NULL and *ret_err (a positive errno). */
char *lab_read_file(const char *path, size_t max, size_t *ret_len, int *ret_err);
/* Creates or replaces path with text (mode 0644). 0 or -errno. */
int lab_write_file(const char *path, const char *text, size_t len);
/* Removes a directory tree (no symlink is followed). */
void lab_rm_rf(const char *path);
/* Binds a non-blocking datagram socket to the abstract address name
 * ("@..."): the lab's end of a NOTIFY_SOCKET. The fd, or -errno. */
int lab_notify_bind(const char *name);
/* Writes all of buf to fd (EINTR retried); false on an error or a short end. */
bool lab_write_all(int fd, const void *buf, size_t len);
/* One datagram from a notify socket (non-blocking) into buf, NUL-terminated;
 * descriptors passed with it (systemd-notify's BARRIER=1) are closed at once.
 * Returns its length, or -1 when none is waiting. */
ssize_t lab_recv_notify(int fd, char *buf, size_t len);
/* mkdir -p (mode 0755): 0 or -errno of the last component. */
int lab_mkdir_p(const char *path);
/* Creates a private directory $TMPDIR/tether-NAME.XXXXXX (/tmp without
 * TMPDIR): 0 or -errno; *ret its path (malloc'd, also on failure). */
int lab_mkdtemp(const char *name, char **ret);
/* realpath() into a malloc'd string; NULL when path does not resolve. */
char *lab_absolute(const char *path);

/* "ENOSPC" or a decimal number -> errno value; -1 when unknown. */
int lab_errno_parse(const char *s);
const char *lab_errno_name(int err);
/* "TERM", "SIGTERM", "PWR", "RTMIN+2", "RTMAX-1" or a number (1-64) ->
 * signal; -1 when unknown. lab_signal_name is the inverse ("RTMIN+2"). */
int lab_signal_parse(const char *s);
const char *lab_signal_name(int sig);

/* Splits text into lines (without the newline); *ret is malloc'd, its
 * strings point into text, which is modified. Returns the count. */
size_t lab_split_lines(char *text, char ***ret);
/* Shortens s for a one-line message: first line, at most max bytes, "..." */
char *lab_excerpt(const char *s, size_t max);
/* Appends s to b escaped for XML text and attributes: & < > " ' as entities,
 * control characters other than tab and newline, and invalid UTF-8, as U+FFFD. */
void lab_xml_escape(struct tether_buf *b, const char *s);

/* ---- options.c: what every subcommand's options share ----------------------------- */

/* Where a subcommand finds what it works on. TOP is the build tree this
 * harness was built in (.../harness/harness -> ...). */
struct lab_paths {
	char *tether;        /* --tether, else $TETHER, else TOP/src/tether: absolute and
			      * executable, or NULL (then tether_asked says what was looked at) */
	char *tether_asked;
	char *fixtures;      /* $HARNESS_FIXTURES, else TOP/fixtures */
	char *worker;        /* --worker, else FIXTURES/worker: absolute and executable, or NULL */
	char *worker_asked;
	char *report;        /* --report, else TOP/reports when this harness runs from a build
			      * (next to the tether it would test), else ./reports; not created */
	const char *srcdir;  /* $TETHER_SRCDIR, else the source tree this harness was built from */
	char *staged;        /* lab_paths_stage's directory, removed by lab_paths_done, or NULL */
};
/* Each *_arg may be NULL (not given). */
void lab_paths_find(struct lab_paths *ret, const char *tether_arg, const char *worker_arg, const char *report_arg);
void lab_paths_done(struct lab_paths *p);
/* Scenarios run tether and the fixtures as other users (--user, setpriv):
 * every directory above them must let others through, which a build in a
 * private directory (a clone under mktemp -d, make distcheck's tree) does
 * not. Then tether (a program; a script stays where it lies) and the fixture
 * programs are copied, as they are, into a
 * directory of TMPDIR that others may enter, and p points there (and so do
 * TETHER and HARNESS_FIXTURES, for the harnesses this one starts). 0 (also
 * when nothing needed copying), or -1 with errno. */
int lab_paths_stage(struct lab_paths *p);
/* The source tree (lab_paths.srcdir), for what needs nothing else. */
const char *lab_srcdir(void);

/* --seed S: a decimal number, 0 to 2^64-1. 0, or -1 when s is not one. */
int lab_seed_parse(const char *s, uint64_t *ret);
/* The seed of a run that was given none: random, below 10^9 (short to read
 * in a report and to type into a replay). */
uint64_t lab_seed_random(void);

/* ---- spawn.c: starting a process, marked as the run's ------------------------------ */

/* Our environment, copied (a NULL-terminated vector of malloc'd strings,
 * free with lab_strv_free; *ret_n its count when not NULL), without what
 * marks, talks to or faults an enclosing run or supervisor (the run
 * marker, NOTIFY_SOCKET, WATCHDOG_*, TETHER_INSTANCE, TETHER_SCOPE, FIU_*,
 * TETHER_FAULT*, a libfiu LD_PRELOAD) and without the entries that start
 * with one of also_drop (NULL-terminated; may be NULL). */
char **lab_env_inherited(const char *const *also_drop, size_t *ret_n);

/* A spawned process's environment: base (less what extra sets), the run
 * marker LAB_ENV_RUN=run_id, the spawn tag LAB_ENV_SPAWN=SEQ:NAME (when
 * name is not NULL), NOTIFY_SOCKET=notify (when notify is not NULL and
 * extra does not set it), then extra. envp points into base and extra,
 * which must outlive it; lab_env_done frees what lab_env_make made. */
struct lab_env {
	char **envp;
	char *own[3];
};
void lab_env_make(struct lab_env *ret, char *const *base, const char *run_id, unsigned seq, const char *name,
		  const char *notify, char *const *extra);
void lab_env_done(struct lab_env *e);
void lab_strv_free(char **v);

/* Binds the lab's end of a NOTIFY_SOCKET, "@tether-KIND/RUN/SEQ" (or
 * "@tether-KIND/RUN" when seq is 0), its name into ret_name. The fd, or -errno. */
int lab_notify_open(const char *kind, const char *run_id, unsigned seq, char *ret_name, size_t len);

struct lab_spawn {
	char *const *argv;
	char *const *envp;
	int out, err;          /* its stdout and stderr (may be the same fd); the caller keeps its own */
	const char *cwd;       /* its working directory, or NULL: ours */
	bool search_path;      /* argv[0] without a slash is looked up in PATH (execvpe) */
	bool all_signals;      /* every disposition to default, not only the ones the harness sets */
	int barrier;           /* -1, or a pipe's read end: the child waits for its EOF before exec */
	int barrier_w;         /* ... and its write end, which the child closes first */
	int errpipe;           /* -1, or a close-on-exec pipe's write end that gets exec's errno */
	const char *who;       /* without errpipe: "WHO: cannot execute ..." on its stderr (NULL: silent) */
	bool nofile;           /* set RLIMIT_NOFILE to nofile_soft:nofile_hard before the exec */
	uint64_t nofile_soft, nofile_hard;
};
/* Forks and execs req in a process group of its own, with stdin /dev/null,
 * fds 0-2 only (and the errpipe, as fd 3), an empty signal mask and
 * PR_SET_PDEATHSIG(SIGKILL). 0 with *ret_pid and *ret_pidfd (it is not yet
 * known to have exec'd: an exec failure is exit 127), or -errno of fork. */
int lab_spawn(const struct lab_spawn *req, pid_t *ret_pid, int *ret_pidfd);

/* ---- orphans.c: what belongs to a run ----------------------------------------- */

/* A run's processes: what carries its marker (LAB_ENV_RUN=run_id), and, in
 * a process that made itself its run's subreaper, its descendants (a daemon
 * that writes its process title over its environment hides the marker). */
struct marked {
	pid_t pid;
	pid_t pgid;
	char comm[64];
	unsigned seq;        /* from TETHER_LAB_SPAWN (its own, or its nearest ancestor's), 0 if unknown */
	char spawn[80];      /* that value, or "?" */
};
/* Makes the calling process the child subreaper of what it starts
 * (PR_SET_CHILD_SUBREAPER): an orphan below it re-parents to it rather than
 * to init, and its live descendants count as the run's processes in every
 * scan it makes. For a process that runs one run. 0 or -errno. */
int orphans_subreaper(void);
/* Registers a child the caller reaps by pid itself (lab_spawn and the job
 * pool do): a subreaper's scans reap only the zombies of the others. */
void orphans_own_child(pid_t pid);
/* Does pid carry LAB_ENV_RUN=run_id in its environment? */
bool lab_has_marker(pid_t pid, const char *run_id);
/* Does pid carry the marker, or descend from this process when it is its
 * run's subreaper? */
bool orphans_is_ours(pid_t pid, const char *run_id);
/* Every live (non-zombie) process of the run but ourselves: the union of
 * the descendants (when this process is the subreaper) and of the processes
 * carrying LAB_ENV_RUN=run_id (a scan of every process's environment).
 * A subreaper's scan also reaps the zombies re-parented to it. */
size_t orphans_scan(const char *run_id, struct marked **ret);
/* The same when no process of the run has a pid below first (the first
 * process the run started; 0: unknown): only the environments of the
 * processes started since are read (all of them if the pids wrapped). */
size_t orphans_scan_since(const char *run_id, pid_t first, struct marked **ret);
/* The same, cheaper, for the checks made while a run goes: the descendants
 * alone when this process is the subreaper (else the marker scan). */
size_t orphans_scan_tree(const char *run_id, struct marked **ret);
/* Waits until no process of the run is left (orphans_scan), or until
 * deadline: holds the ones found by pidfds, waits for all of them to exit,
 * looks again (one may have forked meanwhile). Returns how many are left,
 * listed in *ret (malloc'd, NULL when none). */
size_t orphans_wait_gone(const char *run_id, int64_t deadline, struct marked **ret);
/* SIGKILLs each listed process through a pidfd, after checking (with the
 * pidfd held) that it is still the run's (orphans_is_ours); returns the
 * pidfds of those signalled (for waiting), in *ret_fds. */
size_t orphans_kill(const char *run_id, const struct marked *m, size_t n, int **ret_fds);
/* Kills every process of the run (orphans_scan) until nothing is left or
 * deadline: returns how many survived. */
size_t orphans_kill_all(const char *run_id, int64_t deadline);
/* The same with orphans_scan_since. */
size_t orphans_kill_all_since(const char *run_id, pid_t first, int64_t deadline);

/* ---- jobs.c: work in forked children, a pool of them ----------------------------- */

/* A run's marker: "lab-PID-N-RANDOM", or "lab-KIND-PID-N-RANDOM". Malloc'd. */
char *lab_run_id(const char *kind, unsigned long n);

struct lab_job {
	bool busy;
	pid_t pid;
	int pidfd, pipe_fd;
	struct tether_buf out;  /* what the child wrote to its end of the pipe */
	bool eof, exited, termed;
	int status;             /* its wait status, once exited */
	int64_t deadline;       /* SIGTERM then, SIGKILL 10 s later (termed) */
	const char *run_id;     /* the marker of what it starts (the caller's string) */
	void *data;             /* the caller's; kept across the job's runs */
};

struct lab_jobs {
	struct lab_job *job;    /* size slots, busy of them running */
	size_t size, busy;
	int sig_fd;             /* INT, TERM and HUP (blocked), forwarded to each job as SIGTERM */
	bool interrupted;       /* one of them came */
};

/* size idle slots; blocks INT, TERM and HUP for the pool's signalfd. */
void lab_jobs_init(struct lab_jobs *p, size_t size);
void lab_jobs_done(struct lab_jobs *p);
/* An idle slot, or NULL. */
struct lab_job *lab_jobs_idle(struct lab_jobs *p);
/* Forks into the idle slot j a child that calls work(fd, arg), fd the
 * write end of its pipe, then exits 0. deadline: absolute (lab_now). */
void lab_job_start(struct lab_jobs *p, struct lab_job *j, const char *run_id, int64_t deadline,
		   void (*work)(int fd, void *arg), void *arg);
/* Waits until one of the running jobs (there must be one) has exited, all
 * it wrote read into its out, and returns it. Meanwhile enforces deadlines
 * and forwards INT, TERM and HUP (p->interrupted). */
struct lab_job *lab_jobs_wait(struct lab_jobs *p);
/* Ends an exited job once its out is read: kills whatever carries its
 * marker (up to 5 s) and frees the slot. Returns how many survived that. */
size_t lab_job_end(struct lab_jobs *p, struct lab_job *j);

#endif
