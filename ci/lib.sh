# SPDX-License-Identifier: MIT
# ci/lib.sh — shared by the ci/ scripts (sourced, not run).
# Builds happen out of tree under _build/<name>, so several configurations
# (plain, sanitizers, coverage) live side by side and the source tree stays
# clean.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

say() { printf '== %s\n' "$*" >&2; }

# bootstrap: generate configure once (again when configure.ac/Makefile.am changed)
bootstrap() {
	if [ ! -x "$TOP/configure" ] || [ "$TOP/configure.ac" -nt "$TOP/configure" ] ||
	   [ -n "$(find "$TOP" -name '*.am' -newer "$TOP/configure" -print -quit)" ]; then
		say "autoreconf"
		(cd "$TOP" && autoreconf -fi >/dev/null 2>&1) || (cd "$TOP" && autoreconf -fi)
	fi
}

# configure_in DIR [configure args...]: (re)configure a build directory
configure_in() {
	dir=$1; shift
	mkdir -p "$dir"
	if [ ! -f "$dir/config.status" ] || [ "$TOP/configure" -nt "$dir/config.status" ] ||
	   [ "$(cat "$dir/.ci-args" 2>/dev/null)" != "$*" ]; then
		say "configure $* in $dir"
		(cd "$dir" && "$TOP/configure" -q "$@")
		printf '%s' "$*" > "$dir/.ci-args"
	fi
}

# show the logs of failed tests
show_failures() {
	dir=$1
	for log in $(find "$dir" -name '*.log' ! -name 'config.log' ! -name 'test-suite.log' 2>/dev/null); do
		trs=${log%.log}.trs
		if [ -f "$trs" ] && grep -qE '^:test-result: (FAIL|ERROR)' "$trs"; then
			echo "---- $log"
			tail -n 60 "$log"
		fi
	done
}
