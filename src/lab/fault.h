/* SPDX-License-Identifier: MIT */
/* fault.h — fault injection for the lab: counted rules from the
 * environment, the list of tether's fault points, and switching a point from
 * the lab's control requests. Part of src/lab/, which only lab builds link
 * (the tether program only with --enable-fault-injection): the production
 * tether reads no TETHER_FAULT variable and names no fault point.
 *
 * libfiu can fail a point always, once (the first call) or at random; the
 * lab's exhaustive enumeration needs "fail exactly the k-th call" and "fail
 * from the k-th call on" (SQLite's method). tether_fault_setup() reads such
 * rules from the environment and registers them with libfiu as external
 * callbacks that count calls:
 *
 *   TETHER_FAULT="POINT:ERRNO:K[:once|from][;POINT:ERRNO:K...]"
 *     e.g. TETHER_FAULT="tether/sys/write:28:3:once"; ERRNO "kill": the
 *     process SIGKILLs itself at that call instead (G3's "SIGKILL at any
 *     point", at an exact one)
 * (PID: as /proc names the process, also in a PID namespace of its own)
 *   TETHER_FAULT_REPORT=PATH   append "fired POINT K PID" when a rule fires (a
 *                              `from` rule: at its first firing, then when
 *                              K is a power of two, so a loop of failing
 *                              calls shows as a growing K, not a huge file)
 *   TETHER_FAULT_COUNT=PATH    append "count POINT N PID" when a process's
 *                              count of a rule's point reaches N = 1, 2, 4, 8,
 *                              ..., and its final count at exit()
 *   TETHER_FAULT_SITES=PATH    append "site POINT N PID HASH FRAMES" for
 *                              every counted call before its rule's k-th
 *                              (all of them for a rule that only counts),
 *                              up to the 256th call of the rule's point in
 *                              a process (beyond, a k the enumeration does
 *                              not run, and a backtrace per call would slow
 *                              a /proc scan or a notify flood down tenfold):
 *                              where it was made, as
 *                              " MODULE+OFFSET" return addresses (the same in
 *                              every run of the same binaries) and their hash.
 *                              `harness faults` runs one k per call site
 *   TETHER_FAULT_BUDGET=B[:R]  the spin budget: a `from` rule that has failed
 *                              B calls in one process (and again at 2B, 4B,
 *                              ...) checks whether the process slept at least
 *                              once per R failures meanwhile (R: 16): if not,
 *                              it retries without waiting, and the report gets
 *                              "spin POINT N PID FRAMES" (once per process;
 *                              the lab then ends the run), else "paced POINT N PID"
 *
 * A rule with K beyond any count never fires and only counts: that is how
 * `harness faults --enumerate` learns which points a scenario reaches, and
 * roughly how often. Guardians end with _exit() and SIGKILL ends anything,
 * so the count is written at powers of two as it grows, not only at exit: a
 * reached point is always reported, with N within a factor of 2 of the truth.
 *
 * A coverage build (--enable-coverage) also reads
 *
 *   TETHER_FAULT_FLUSH=DIR     the process that set up (tether, not the
 *                              guardians it forks) writes its coverage
 *                              counters under DIR (GCOV_PREFIX) each time it
 *                              is about to wait in poll, at most every 50 ms,
 *                              then counts afresh
 *
 * for processes that the lab ends by SIGKILL (the soak's tethers): gcov
 * writes counters at a normal exit only, and ci/coverage adds these to the
 * totals and names the lines that only such processes reach.
 *
 * POINT is any libfiu point name: the tether/sys/ points compiled into
 * libtether, or a posix/ point when the libfiu POSIX preload is loaded. Counters
 * are per process (a forked child continues with a copy). Without libfiu this
 * is a no-op. Programs call tether_fault_setup() first thing in main; spawned
 * workers never see these variables (spawn strips them: tether_fault_env_vars
 * in spawn.h).
 */
#ifndef TETHER_FAULT_H
#define TETHER_FAULT_H

#include <stdbool.h>

#include "json.h"

/* Returns 0, or -EINVAL when TETHER_FAULT is malformed (the program should
 * refuse to run rather than run without the faults it was asked for). */
int tether_fault_setup(void);
/* Is fault injection compiled in? */
bool tether_fault_available(void);
/* Every fault point of libtether's sys layer, "tether/sys/<call>"
 * (sys_points.def), NULL-terminated: what `harness faults` enumerates. */
extern const char *const tether_sys_points[];

/* "fault enable POINT ERRNO" / "fault disable POINT": turns a tether/ point
 * of this process on (every call fails with ERRNO) or off, and answers in
 * out ({"fault":POINT,"enabled":...,"ok":...} or {"error":...}). The soak
 * does this at chosen virtual times through the control socket (simclock.h):
 * in-process, because libfiu's fiu-ctrl needs a remote-control thread that
 * would take signals meant for the loop's signalfd. Processes forked while a
 * point is on (guardians) inherit it, as with any libfiu state. */
void tether_fault_request(const char *request, struct tether_buf *out);

#endif
