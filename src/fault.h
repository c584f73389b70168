/* SPDX-License-Identifier: MIT */
/* fault.h — counted fault injection for the lab.
 *
 * libfiu can fail a point always, once (the first call) or at random; the
 * lab's exhaustive enumeration needs "fail exactly the k-th call" and "fail
 * from the k-th call on" (SQLite's method). tether_fault_setup() reads such
 * rules from the environment and registers them with libfiu as external
 * callbacks that count calls:
 *
 *   TETHER_FAULT="POINT:ERRNO:K[:once|from][;POINT:ERRNO:K...]"
 *     e.g. TETHER_FAULT="tether/sys/write:28:3:once"
 *   TETHER_FAULT_REPORT=PATH   append "fired POINT K PID" when a rule fires (a
 *                              `from` rule: at its first firing, then when
 *                              K is a power of two, so a loop of failing
 *                              calls shows as a growing K, not a huge file)
 *   TETHER_FAULT_COUNT=PATH    append "count POINT N PID" when a process's
 *                              count of a rule's point reaches N = 1, 2, 4, 8,
 *                              ..., and its final count at exit()
 *
 * A rule with K beyond any count never fires and only counts: that is how
 * `harness faults --enumerate` learns which points a scenario reaches, and
 * roughly how often. Guardians end with _exit() and SIGKILL ends anything,
 * so the count is written at powers of two as it grows, not only at exit: a
 * reached point is always reported, with N within a factor of 2 of the truth.
 *
 * POINT is any libfiu point name: the tether/sys/ points compiled into
 * libtether, or a posix/ point when the libfiu POSIX preload is loaded. Counters
 * are per process (a forked child continues with a copy). Without libfiu this
 * is a no-op. Programs call tether_fault_setup() first thing in main; spawned
 * workers never see these variables (spawn strips them).
 */
#ifndef TETHER_FAULT_H
#define TETHER_FAULT_H

#include <stdbool.h>

/* Returns 0, or -EINVAL when TETHER_FAULT is malformed (the program should
 * refuse to run rather than run without the faults it was asked for). */
int tether_fault_setup(void);
/* Is fault injection compiled in? */
bool tether_fault_available(void);
/* Environment variables that belong to fault injection (NULL-terminated):
 * spawn removes them from workers' environment. */
extern const char *const tether_fault_env_vars[];

#endif
