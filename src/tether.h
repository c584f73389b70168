/* SPDX-License-Identifier: MIT */
/* tether.h — libtether's public interface, one include for all of it:
 * <tether/tether.h> after `pkg-config --cflags libtether` (libtether(3)).
 *
 * Conventions (see STYLE.md of the project): functions return 0 (or a count)
 * on success and -errno on failure; where "busy" is a normal answer (a held
 * lock) they return 1 / 0 / -errno. Outputs are named ret_* and written only
 * on success. The library never prints, exits or aborts.
 */
#ifndef TETHER_H
#define TETHER_H

#include "clock.h"
#include "json.h"
#include "parse.h"
#include "pidfile.h"
#include "policy.h"
#include "proc.h"
#include "status.h"
#include "stop.h"
#include "supervisor.h"

#endif
