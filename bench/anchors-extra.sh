# SPDX-License-Identifier: MIT
# bench/anchors-extra.sh - tether's rows for the supervisor anchors
# (../shared/bench/anchors, "Adding a supervisor"): installed as extra.sh
# next to the anchors' run-all.sh (ci/bench does that in a scratch copy),
# sourced by their lib.sh (bash), which calls extra_b .. extra_f with each
# script's helpers in scope.  Every process is started with start_bg (tracked)
# and ended by PID (kill_tree), never by name.
#
# Environment:
#   TETHER         the tether to measure (default: the build's src/tether,
#                  _build/check/src/tether next to this file's real path when
#                  extra.sh is a symlink, else `tether` on PATH)
#   TETHER_STATIC  optional: a tether built with --enable-static-tether; adds
#                  the same rows labelled tether-static (none when unset)
#
# What each table gets (tether's options: `tether run --help`):
#   (b) a cold row - `tether run` spawned per cycle and stopped by SIGTERM,
#       the shape of tini's row - and a start-stop row - `tether start` and
#       `tether stop` as the cycle's start and stop commands.  Both run with
#       --isolation subreaper: in the default pidns mode (root) the child is
#       PID 2 of its own namespace and reports that number to the harness,
#       which then cannot watch it (build/cycle opens a pidfd on the PID it
#       is told); the labels say so.
#   (c) --restart always --backoff-initial 0 (accepted: restarts at once) and
#       --crash-limit 100000 (the largest accepted) --crash-window 1s, so that
#       tether never gives up during the run; --quiet (no line per restart).
#   (d) idle tether (default isolation) with one sleeping child, and below it
#       the per-instance guardian, the child's parent ("+its guardian").
#   (e) a second `tether run`, then a `tether start`, on the same pidfile.
#   (f) kill -9 of tether, default isolation and --isolation subreaper, then
#       `tether run` again on the same pidfile.

_tether_abs() {	# absolute path of an executable, or nothing
	case $1 in
	*/*) [ -x "$1" ] && readlink -f "$1" ;;
	?*) command -v "$1" 2>/dev/null ;;
	esac
	return 0
}
if [ -z "${TETHER:-}" ]; then
	_tether_src=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
	if [ -x "$_tether_src/../_build/check/src/tether" ]; then
		TETHER=$_tether_src/../_build/check/src/tether
	else
		TETHER=tether
	fi
fi
TETHER=$(_tether_abs "$TETHER")
if [ -n "${TETHER_STATIC:-}" ]; then
	_tether_st=$TETHER_STATIC
	TETHER_STATIC=$(_tether_abs "$TETHER_STATIC")
	[ -z "$TETHER_STATIC" ] && echo "extra.sh: TETHER_STATIC=$_tether_st is not executable - no tether-static rows" >&2
fi
TETHER_STATIC=${TETHER_STATIC:-}
if [ -z "$TETHER" ]; then
	echo "extra.sh: no tether (set TETHER=path/to/src/tether) - no tether rows" >&2
	return 0
fi

# every tether here: no free-memory warning, no free-disk refusal (scratch
# dirs are on whatever /tmp is)
TETHER_COMMON="--min-mem 0 --min-disk 0"

# _tether_each FUNC: FUNC NAME PROGRAM for tether, then tether-static if set
_tether_each() {
	"$1" tether "$TETHER"
	[ -n "$TETHER_STATIC" ] && "$1" tether-static "$TETHER_STATIC"
	return 0
}

_tether_b() {	# NAME PROGRAM; $B scratch dir; row LABEL [cycle options]
	local n=$1 tb=$2
	mksvc "$B/$n-cold"
	row "$n-cold-subreaper" -D "$tb run --pidfile $B/$n-cold/t.pid $TETHER_COMMON --isolation subreaper -- $B/$n-cold/run" -K 15
	mksvc "$B/$n-ss"
	row "$n-start-stop-subreaper" \
		-s "$tb start --pidfile $B/$n-ss/t.pid $TETHER_COMMON --isolation subreaper -- $B/$n-ss/run" \
		-k "$tb stop --pidfile $B/$n-ss/t.pid"
}
extra_b() { _tether_each _tether_b; }

_tether_c() {	# NAME PROGRAM; $C scratch dir; add NAME PID STAMPFILE
	local n=$1 tb=$2
	mksvc "$C/$n"
	start_bg env BENCH_STAMP="$C/$n.ts" "$tb" run --pidfile "$C/$n/t.pid" $TETHER_COMMON --quiet \
		--restart always --backoff-initial 0 --crash-limit 100000 --crash-window 1s -- "$C/$n/run"
	add "$n" "$BGPID" "$C/$n.ts"
}
extra_c() { _tether_each _tether_c; }

_tether_d() {	# NAME PROGRAM; $D scratch dir; add NAME PID
	local n=$1 tb=$2 s g i
	mksvc "$D/$n"
	start_bg "$tb" run --pidfile "$D/$n/t.pid" $TETHER_COMMON -- "$D/$n/run"; s=$BGPID
	add "$n" "$s"
	# the guardian: tether's child, parent of the worker (wait up to 5 s)
	for i in $(seq 500); do
		g=$(children_of "$s" | awk '{print $1}')
		[ -n "$g" ] && [ -n "$(children_of "$g")" ] && break
		g=; sleep 0.01
	done
	if [ -n "$g" ]; then
		if [ "$n" = tether ]; then add "  +its guardian" "$g"; else add "  +its guardian ($n)" "$g"; fi
	else
		echo "extra_d: $n has no guardian with a child after 5 s" >&2
	fi
}
extra_d() { _tether_each _tether_d; }

_tether_e() {	# NAME PROGRAM; $E scratch dir; second NAME CHILD_EXE CMD...
	local n=$1 tb=$2 s
	mksvc "$E/$n"
	start_bg "$tb" run --pidfile "$E/$n/t.pid" $TETHER_COMMON -- "$E/$n/run"; s=$BGPID
	wait_exe "$E/$n/run"
	second "$n run" "$E/$n/run" "$tb" run --pidfile "$E/$n/t.pid" $TETHER_COMMON -- "$E/$n/run"
	second "$n start" "$E/$n/run" "$tb" start --pidfile "$E/$n/t.pid" $TETHER_COMMON -- "$E/$n/run"
	kill_tree "$s"
}
extra_e() { _tether_each _tether_e; }

_tether_f() {	# NAME PROGRAM; $F scratch dir; probe NAME CHILD_EXE RESTART CMD...
	local n=$1 tb=$2
	mksvc "$F/$n"
	probe "$n" "$F/$n/run" yes "$tb" run --pidfile "$F/$n/t.pid" $TETHER_COMMON -- "$F/$n/run"
	mksvc "$F/$n-sr"
	probe "$n-subreaper" "$F/$n-sr/run" yes "$tb" run --pidfile "$F/$n-sr/t.pid" $TETHER_COMMON \
		--isolation subreaper -- "$F/$n-sr/run"
}
extra_f() { _tether_each _tether_f; }
