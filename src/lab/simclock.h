/* SPDX-License-Identifier: MIT */
/* simclock.h — the lab's simulated clock, and its driver on tether's control
 * socket (part of src/lab/: only lab builds link it).
 *
 * A simulated clock starts at the real clock's readings and then moves only
 * when its driver says so; the event loop never waits in real time for one of
 * its deadlines (clock.h). `tether run --sim-clock`, in a lab build, runs the
 * supervisor on one and installs the driver as the loop's lab hooks
 * (supervisor_lab.h). The soak then drives tether through its control socket:
 *
 *   "clock"             {"now","wall","notes","signs","next"}: virtual now,
 *                       its wall image, the instances' notes and the signs of
 *                       progress so far, the next deadline (null: none)
 *   "advance NS"        moves the clock to NS (never back): {"now"}
 *   "settle G [S]"      answered as "clock" once nothing waits for a process
 *                       (no instance starting or cleaning up), more than G
 *                       notes happened and at least S signs arrived: the
 *                       driver knows the workers' messages it caused have
 *                       been seen before it moves the clock past their
 *                       watchdog deadlines
 *   "fault enable POINT ERRNO", "fault disable POINT"   (fault.h)
 */
#ifndef TETHER_LAB_SIMCLOCK_H
#define TETHER_LAB_SIMCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "control.h"
#include "supervisor_lab.h"

struct tether_sim_clock {
	struct tether_clock clock; /* first: what the supervisor is given */
	int64_t now;               /* virtual monotonic now */
	int64_t mono_base;         /* the real readings it started from: */
	int64_t wall_base;         /* wall = wall_base + (now - mono_base) */
};

void tether_sim_clock_init(struct tether_sim_clock *c);
/* Moves the clock forward to `to`; an earlier `to` changes nothing. */
void tether_sim_clock_advance(struct tether_sim_clock *c, int64_t to);

#define TETHER_LAB_SETTLES 4

/* The driver: a simulated clock and what the soak asks of it. */
struct tether_lab {
	struct tether_sim_clock clock;
	struct tether_lab_hooks hooks;
	uint64_t notes, signs;
	struct {
		struct tether_control_peer peer;
		uint64_t after, signs;
		bool used;
	} settles[TETHER_LAB_SETTLES];
};

/* Starts the clock; returns the hooks for struct tether_hooks.lab (they
 * point into lab, which must outlive the supervisor). */
const struct tether_lab_hooks *tether_lab_init(struct tether_lab *lab);

#endif
