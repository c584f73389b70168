/* SPDX-License-Identifier: MIT */
/* testutil.h — what the Check suites share.
 *
 * Every suite runs each test in its own forked process (CK_FORK) with a
 * timeout. Processes a test starts get PR_SET_PDEATHSIG(SIGKILL), and carry the
 * run marker TETHER_TEST_RUN=<unique> in their environment so that teardown can
 * find and end exactly them (by PID, never by name) even when they setsid()
 * away: tu_reap_marked() is the last line of defence, not the plan.
 */
#ifndef TETHER_TESTUTIL_H
#define TETHER_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The run marker of this test process ("TETHER_TEST_RUN"); set by tu_setup. */
extern char tu_marker[64];
/* A fresh private temp dir for the current test (created by tu_setup). */
extern char tu_dir[256];

/* Checked fixture for every tcase: tu_setup makes tu_dir and the marker;
 * tu_teardown kills marked processes and removes tu_dir. */
void tu_setup(void);
void tu_teardown(void);

/* Path inside tu_dir (static buffer rotation of 8, enough for one expression). */
const char *tu_path(const char *name);

/* Writes content (len bytes) to path with mode. */
void tu_write_file(const char *path, const char *content, size_t len, unsigned mode);
/* Reads a whole file (malloc'd, NUL-terminated) or NULL if absent. */
char *tu_read_file(const char *path, size_t *ret_len);
bool tu_exists(const char *path);

/* Forks a child that dies with us (PDEATHSIG), runs fn(arg) and _exits with
 * its return value. Returns the pid. */
pid_t tu_fork(int (*fn)(void *arg), void *arg);
/* Waits for our child with a deadline (ms): returns its wait status, or -1 on
 * timeout (then the child is SIGKILLed and reaped). */
int tu_wait(pid_t pid, int timeout_ms);

/* Runs argv (argv[0] a path) with the marker in its environment plus the
 * NULL-terminated extra "K=V" strings, stdin /dev/null, capturing stdout and
 * stderr (up to 64 KiB each, NUL-terminated, caller frees). Waits at most
 * timeout_ms. Returns the exit code, 128+signal, or -1 on timeout. */
struct tu_result {
	int code;
	char *out;
	char *err;
	int64_t elapsed_ms;
};
struct tu_result tu_run(char *const argv[], char *const extra_env[], int timeout_ms);
void tu_result_free(struct tu_result *r);
/* tu_run of TETHER_BIN with a NULL-terminated list of arguments. */
struct tu_result tu_tether(int timeout_ms, ...) __attribute__((sentinel));

/* A process that holds the pidfile at path through libtether (acquire +
 * record), as a supervisor would, until killed. Returns its pid once the record
 * is written; with setsid_child it also starts a setsid'd grandchild (its pid in
 * *ret_grandchild) that would escape a process-group kill. */
pid_t tu_start_holder(const char *path, bool with_children, pid_t *ret_child, pid_t *ret_grandchild);

/* A process that does nothing until killed (for "unrelated process" tests). */
pid_t tu_start_sleeper(void);

/* Is pid alive (not gone, not a zombie)? */
bool tu_alive(pid_t pid);
/* Waits until pid is gone or a zombie, up to timeout_ms (pidfd, not polling). */
bool tu_wait_gone(pid_t pid, int timeout_ms);

/* Kills (SIGKILL, by PID) every process carrying our marker; returns how many. */
int tu_reap_marked(void);
/* Lists live processes carrying our marker (up to max). */
int tu_marked(pid_t *ret, int max);

/* Records signals received by a process: a sleeper that appends the number of
 * every signal it gets to a file. Returns its pid. */
pid_t tu_start_signal_recorder(const char *record_path);

#ifdef TETHER_FAULT_INJECTION
/* Persistent and one-off faults for G9's tests: fails the calls from..to
 * (1-based, to 0: for ever) of the libfiu point with errno err, in the
 * processes who says: every one, the others (the test process itself is
 * spared: it neither fails nor counts, so it can still read /proc and its
 * channel while its children's calls fail), or only the arming process (its
 * children forked before or after neither fail nor count). Calls are counted
 * in shared memory, so processes forked after arming (a guardian, a child
 * running a supervisor) count and fail too. Arming again resets the counts;
 * tu_fault_disarm stops the failing (counting goes on: a bound on calls is
 * checked after the fact). */
enum tu_fault_who { TU_FAULT_ALL, TU_FAULT_OTHERS, TU_FAULT_SELF };
void tu_fault_arm(const char *point, int err, unsigned from, unsigned to, enum tu_fault_who who);
void tu_fault_disarm(void);
/* Calls of the armed point counted so far, and how many failed. */
unsigned tu_fault_calls(void);
unsigned tu_fault_failed(void);
#endif

#endif
