/* SPDX-License-Identifier: MIT */
/* proctest.h — process helpers shared by the proc, proctree and cli suites.
 *
 * Cleanup that survives a failed test. A failed Check assertion ends a forked
 * test at once (_exit): its checked teardown never runs, PR_SET_PDEATHSIG
 * covers only direct children, and tu_reap_marked() cannot see processes that
 * were forked without exec (/proc/PID/environ shows the environment as it was
 * at exec time, not the marker tu_setup adds with setenv). So every process
 * these suites start is recorded — pid and start time — in a file the runner
 * owns (pt_init in main). pt_kill_tracked() SIGKILLs, through a pidfd opened
 * before the identity check, every recorded process that still has the
 * recorded start time: it runs in every test's setup and teardown and at the
 * end of main, so the leftovers of a failed test end before the next test
 * starts, and nothing that merely reuses a recorded pid is touched. The
 * private dirs of failed tests are removed by pt_fini the same way.
 *
 * Victims. pt_victim_start starts a signal recorder whose handler blocks every
 * signal while it runs, so pending signals are recorded strictly lowest number
 * first. pt_assert_untouched sends SIGRTMAX (the highest number) as a sentinel
 * and waits for it: any signal sent to the victim before the sentinel — by a
 * `tether` that has already exited — is then already in the record. The
 * record therefore proves "nothing was signalled" without sleeping.
 */
#ifndef TETHER_PROCTEST_H
#define TETHER_PROCTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* main(): before srunner_run_all / after it. */
void pt_init(void);
void pt_fini(void);
/* The checked fixture of every tcase in these suites (wraps tu_setup/teardown).
 * pt_setup also restores the default SIGTERM, SIGINT, SIGHUP, SIGALRM and
 * SIGPIPE dispositions: Check's runner handles SIGTERM by killing the test's
 * process group, the forked test inherits that handler, and so would every
 * process it forks (tu_start_holder's holder would take the whole test down
 * with it instead of dying of the SIGTERM that `tether stop` sends). */
void pt_setup(void);
void pt_teardown(void);

/* Records pid (alive now) for cleanup. */
void pt_track(pid_t pid);
/* SIGKILLs every recorded process that is still the one recorded; returns how many. */
int pt_kill_tracked(void);

/* Start time (field 22) of a live pid; fails the test if it cannot be read. */
uint64_t pt_start_time(pid_t pid);
/* Is the process behind pidfd still running (pidfd not yet readable)? */
bool pt_pidfd_alive(int pidfd);

enum {
	PT_VICTIM_GROUP_LEADER = 1, /* setpgid(0, 0): leads its own process group */
};

struct pt_victim {
	pid_t pid;
	int pidfd;
	uint64_t start_time;
	char record[512];
	int sentinels;
};

/* Starts a recorder (a direct child: PDEATHSIG, tracked). With lock_path it
 * first takes flock(LOCK_EX) on that file (created 0644), as a supervisor
 * holds PATH.lock; with join_pgid > 0 it joins that process group. */
void pt_victim_start(struct pt_victim *v, const char *record_path, const char *lock_path, int flags,
		     pid_t join_pgid);
/* The signals v recorded so far (each byte one signal number). */
size_t pt_victim_record(const struct pt_victim *v, unsigned char *buf, size_t cap);
/* Asserts that v is alive and recorded nothing but our sentinels. */
void pt_assert_untouched(struct pt_victim *v);
/* Waits (inotify, deadline) until v recorded signal sig; fails the test at the deadline. */
void pt_wait_signal(const struct pt_victim *v, int sig, int timeout_ms);
void pt_victim_stop(struct pt_victim *v);

/* Waits (inotify, deadline) until the file at path is at least len bytes. */
bool pt_wait_file_size(const char *path, size_t len, int timeout_ms);
/* Waits (inotify on its directory, deadline) until path exists: for a file
 * renamed into place, which is complete when it appears. */
bool pt_wait_file_present(const char *path, int timeout_ms);

/* Runs TETHER_BIN with the NULL-terminated arguments in the background,
 * stdout and stderr to out_path/err_path (may be NULL: /dev/null). Returns
 * its pid (a direct child, tracked); collect it with tu_wait. */
pid_t pt_tether_bg(const char *out_path, const char *err_path, ...) __attribute__((sentinel));

#endif
