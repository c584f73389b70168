# SPDX-License-Identifier: MIT
# mutant-lib.sh — sourced by the mutant wrappers of this directory: where the
# real tether and the shims are, and how to run it mutated.
#
#   TETHER_MUTANT_REAL  the real tether (default: $TETHER_BUILDDIR/src/tether,
#                       else src/tether of the tree this directory is in)
#   TETHER_MUTANT_LIBS  the directory of the built shims (default:
#                       $TETHER_BUILDDIR/harness/mutants/.libs, likewise)
# `make check` sets TETHER_BUILDDIR; the lab passes its environment on to
# every tether it spawns, so a wrapper finds them under `harness run` too.
#
# No command substitution, no helper program: a wrapper runs under the
# scenario's faults too (libfiu's preload failing every write(), say), and
# must still get tether started, unharmed, for tether to meet them.
mutant_top=${TETHER_BUILDDIR:-${0%/*}/../..}
mutant_real=${TETHER_MUTANT_REAL:-$mutant_top/src/tether}
mutant_libs=${TETHER_MUTANT_LIBS:-$mutant_top/harness/mutants/.libs}

# mutant_exec ARG...: the real tether, unmutated (what a wrapper mutates
# lies in its arguments or around it).
mutant_exec() {
	exec "$mutant_real" "$@"
}

# mutant_preload SHIM ARG...: the real tether with mutant_SHIM.so preloaded
# (in front of anything the lab preloads, such as libfiu's libraries).
mutant_preload() {
	mutant_shim=$mutant_libs/mutant_$1.so
	shift
	if [ ! -e "$mutant_shim" ]; then
		echo "tether mutant: no $mutant_shim (built by make check)" >&2
		exit 70
	fi
	LD_PRELOAD="$mutant_shim${LD_PRELOAD:+ $LD_PRELOAD}"
	# a sanitizer build of tether wants its runtime first; ours is not
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	export LD_PRELOAD ASAN_OPTIONS
	exec "$mutant_real" "$@"
}
