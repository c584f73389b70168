#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/output-throughput.sh - output capture throughput of tether beside the
# loggers people use for the same job: s6-log (`s6-log t`, size rotation) and
# runit's svlogd (`-tt`, size rotation by its config file), on the same input:
# LINES lines of 100 bytes (default 2,000,000: 200 MB), one writer, one run
# each, RUNS times (default 3), min and median wall time, and the CPU time
# (user+system) of the whole pipeline, `cat` included, which a busy machine
# disturbs less than the wall time.
#
#   s6-log   cat FILE | s6-log t s$MAX n$KEEP DIR
#   svlogd   cat FILE | svlogd -tt DIR           (DIR/config: s$MAX, n$KEEP)
#   tether   tether run --restart never --output DIR/out --output-max-bytes $MAX
#            --output-keep $KEEP ... -- cat FILE
#            (only when `tether run --help` lists --output; skipped otherwise)
#
# Each run starts from an empty directory; afterwards every output file
# (rotated ones in order, then the current one) is read back, the logger's
# prefix is cut off (s6-log/svlogd: the timestamp; tether: "TIME INSTANCE out")
# and the rest must equal FILE byte for byte: `lost` counts missing lines,
# `intact` says whether what remains is FILE, in order, unsplit. KEEP is
# large enough that rotation never deletes a line (that would count as lost).
#
# Environment: TETHER (default: the build's _build/check/src/tether next to
# this script, else `tether` on PATH), LINES, RUNS, MAX (rotation size, bytes;
# default 10485760, tether's --output-max-bytes default), KEEP (default 100),
# WORK (scratch directory, default a new one under /dev/shm when that is a
# writable tmpfs, else under ${TMPDIR:-/tmp}; removed at the end; FILE is
# generated once in it). On tmpfs the loggers are measured, not the disk:
# on a disk both s6-log and svlogd fsync every rotated file, and a shared
# disk's latency then dominates (this machine, shared: s6-log 1.1-1.5 s on
# tmpfs, 1.8-4.3 s on ext4).
# Needs: s6 (s6-log), runit (svlogd), coreutils, awk. Output: a table, and
# one TSV line per run in WORK/runs.tsv (kept with KEEP_WORK=1).
set -eu

LINES=${LINES:-2000000}
RUNS=${RUNS:-3}
MAX=${MAX:-10485760}
KEEP=${KEEP:-100}
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${TETHER:-}" ]; then
	if [ -x "$here/../_build/check/src/tether" ]; then
		TETHER=$here/../_build/check/src/tether
	else
		TETHER=$(command -v tether || true)
	fi
fi

own_work=
if [ -z "${WORK:-}" ]; then
	base=${TMPDIR:-/tmp}
	if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
		base=/dev/shm
	fi
	WORK=$(mktemp -d "$base/output-throughput.XXXXXX")
	own_work=1
fi
mkdir -p "$WORK"
cleanup() {
	[ -n "$own_work" ] && [ -z "${KEEP_WORK:-}" ] && rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

now() { date +%s.%N; }

# The CPU seconds (user+system) of the children this shell has waited for:
# `times` runs in this shell (in a command substitution it would report the
# subshell's children), its report goes through a file.
child_cpu() {
	times >"$WORK/times"
	awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
		printf "%.3f", t
	}' "$WORK/times"
}

# The input: line i is i as 10 digits then 89 letters, 100 bytes with its
# newline, no blank (so a logger's prefix is cut off at its first blanks).
FILE=$WORK/input
if [ ! -f "$FILE" ] || [ "$(wc -l <"$FILE")" -ne "$LINES" ]; then
	t0=$(now)
	awk -v n="$LINES" 'BEGIN {
		f = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzABCDEFGHIJK"
		for (i = 0; i < n; i++) printf "%010d%s\n", i, f
	}' >"$FILE"
	echo "# input: $LINES lines, $(wc -c <"$FILE") bytes, generated in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}') s"
fi
sum=$(md5sum <"$FILE" | cut -d' ' -f1)

# Reads DIR's output back in order (rotated files by name - s6-log's and
# svlogd's @TAI64N names and tether's PATH.N sort by age with the given sort
# key - then the current file), cuts FIELDS prefix fields, and sets got
# (lines) and intact (yes/no).
readback() { # DIR CURRENT ORDER CUTFROM
	dir=$1 current=$2 order=$3 from=$4
	case $order in
	tai) rotated=$(cd "$dir" && ls -1 | grep '^@' | sort) ;;
	num) rotated=$(cd "$dir" && ls -1 | grep "^$current\.[0-9]*\$" | sort -t. -k2,2nr) ;;
	esac
	got=$(cd "$dir" && cat $rotated "$current" | wc -l)
	s=$(cd "$dir" && cat $rotated "$current" | cut -d' ' -f"$from"- | md5sum | cut -d' ' -f1)
	if [ "$s" = "$sum" ]; then intact=yes; else intact=no; fi
}

results=$WORK/runs.tsv
: >"$results"

run_one() { # TOOL RUN
	tool=$1 k=$2 d=$WORK/$1.$2
	rm -rf "$d"
	mkdir -p "$d"
	child_cpu >"$WORK/c0"
	c0=$(cat "$WORK/c0")
	# cat, not a redirection: as under tether, a writer process fills a pipe
	# and the logger reads it
	case $tool in
	s6-log)
		t0=$(now)
		cat "$FILE" | s6-log t "s$MAX" "n$KEEP" "$d/log"
		t1=$(now)
		child_cpu >"$WORK/c1"
		c1=$(cat "$WORK/c1")
		readback "$d/log" current tai 2
		;;
	svlogd)
		mkdir -p "$d/log"
		printf 's%s\nn%s\n' "$MAX" "$KEEP" >"$d/log/config"
		t0=$(now)
		cat "$FILE" | svlogd -tt "$d/log"
		t1=$(now)
		child_cpu >"$WORK/c1"
		c1=$(cat "$WORK/c1")
		rm -f "$d/log/config" "$d/log/lock" "$d/log/state" "$d/log/newstate"
		readback "$d/log" current tai 2
		;;
	tether)
		mkdir -p "$d/log"
		t0=$(now)
		"$TETHER" run --quiet --restart never --pidfile "$d/t.pid" --min-disk 0 --min-mem 0 \
			--output "$d/log/out" --output-max-bytes "$MAX" --output-keep "$KEEP" -- cat "$FILE"
		t1=$(now)
		child_cpu >"$WORK/c1"
		c1=$(cat "$WORK/c1")
		readback "$d/log" out num 4
		;;
	esac
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
	lost=$((LINES - got))
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$k" "$wall" "$cpu" "$got" "$lost" "$intact" >>"$results"
	printf '  %-7s run %s: wall %7.3f s  cpu %7.3f s  %s lines  lost %s  intact %s\n' \
		"$tool" "$k" "$wall" "$cpu" "$got" "$lost" "$intact"
	rm -rf "$d"
}

tools=
command -v s6-log >/dev/null 2>&1 && tools="$tools s6-log" || echo "# skip s6-log: not installed (Debian package s6)"
command -v svlogd >/dev/null 2>&1 && tools="$tools svlogd" || echo "# skip svlogd: not installed (Debian package runit)"
if [ -z "$TETHER" ] || [ ! -x "$TETHER" ]; then
	echo "# skip tether: no tether (set TETHER=path/to/src/tether)"
elif ! "$TETHER" run --help 2>&1 | grep -q -e '--output '; then
	echo "# skip tether: $TETHER has no --output yet"
else
	tools="$tools tether"
fi

for k in $(seq 1 "$RUNS"); do
	for tool in $tools; do
		run_one "$tool" "$k"
	done
done

# min and median of column $2 of TOOL's runs
stat2() { # TOOL COLUMN
	awk -F'\t' -v t="$1" -v c="$2" '$1 == t { print $c }' "$results" | sort -n >"$WORK/col"
	n=$(wc -l <"$WORK/col")
	echo "$(sed -n 1p "$WORK/col") $(sed -n "$(((n + 1) / 2))p" "$WORK/col")"
}

echo
echo "# $RUNS runs each, $LINES lines of 100 bytes, rotation at $MAX bytes, in $WORK ($(stat -f -c %T "$WORK"))"
printf '%-8s %10s %10s %10s %10s %8s %s\n' logger wall_min wall_med cpu_min cpu_med lost intact
for tool in $tools; do
	set -- $(stat2 "$tool" 3) $(stat2 "$tool" 4)
	lost=$(awk -F'\t' -v t="$tool" '$1 == t { s += $6 } END { print s + 0 }' "$results")
	bad=$(awk -F'\t' -v t="$tool" '$1 == t && $7 != "yes" { c++ } END { print c + 0 }' "$results")
	[ "$bad" = 0 ] && ok=yes || ok="no ($bad runs)"
	printf '%-8s %10s %10s %10s %10s %8s %s\n' "$tool" "$1" "$2" "$3" "$4" "$lost" "$ok"
done
if [ -n "${KEEP_WORK:-}" ]; then
	echo "# runs: $results (logger run wall_s cpu_s lines lost intact)"
fi
