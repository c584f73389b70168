/* SPDX-License-Identifier: MIT */
/* mutant_none.c — the control's shim: it changes nothing. Preloaded into the
 * control `none` exactly as the other shims are into their mutants, so that
 * the control runs through the whole machinery — the wrapper, the preload and
 * its self-removal from LD_PRELOAD (mutant.h) — and a scenario that only
 * fails under that machinery shows in the control, not as a mutant's catch. */
#include "config.h"

#include "mutant.h"
