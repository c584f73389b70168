#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one libFuzzer target for `make fuzz` and prints one line about it:
#   PASS: fuzz_json: 1234567 execs in 30 s (41152/s), corpus 9 -> 345 inputs
# Usage: run.sh PROG SEEDDIR RUNDIR SECONDS MAX_LEN
#
# Every committed input in SEEDDIR is first replayed once (they include the
# regressions). The fuzzer then works on a scratch copy in RUNDIR/corpus, so
# SEEDDIR is never modified; seeds of 64K or more are replayed but not copied:
# a fuzzer that mutates a 90K regression runs twenty times slower.
# Exit status: 0 pass, 1 crash, leak, timeout or violated property.
set -u
prog=$1 seeds=$2 run=$3 seconds=$4 maxlen=$5
name=${prog##*/}

rm -rf "$run" && mkdir -p "$run/corpus" || exit 1
if ! "$prog" "$seeds"/* >"$run/replay.log" 2>&1; then
	echo "FAIL: $name: a committed input in $seeds fails:"
	grep -E 'property violated|ERROR|^Running' "$run/replay.log" | tail -n 3 | sed 's/^/  /'
	exit 1
fi
find "$seeds" -type f -size -64k -exec cp {} "$run/corpus/" \;
nseeds=$(ls "$run/corpus" | wc -l)

start=$(date +%s)
"$prog" -max_total_time="$seconds" -max_len="$maxlen" -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$run/" "$run/corpus" >"$run/log" 2>&1
rc=$?
secs=$(($(date +%s) - start))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$run/log")
ninputs=$(ls "$run/corpus" | wc -l)
[ "$rc" = 0 ] && result=PASS || result=FAIL
echo "$result: $name: ${execs:-?} execs in $secs s (${rate:-?}/s), corpus $nseeds -> $ninputs inputs"
[ "$rc" = 0 ] && exit 0

grep -E 'property violated|ERROR|SUMMARY' "$run/log" | sed 's/^/  /'
for a in "$run"/crash-* "$run"/leak-* "$run"/timeout-* "$run"/oom-*; do
	[ -f "$a" ] && echo "  reproduce: $prog $a"
done
echo "  minimise:  $prog -minimize_crash=1 -max_total_time=60 -exact_artifact_path=min.bin ARTIFACT"
echo "  full log:  $run/log"
exit 1
