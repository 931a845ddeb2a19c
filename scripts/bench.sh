#!/bin/bash
# Runs every benchmark and prints one table (`make bench`).
#
# The row protocol — what a benchmark must do to appear here:
#   - A benchmark is an executable $BUILD/bench/<name> (built from bench/<name>.c)
#     or a Python script bench/<name>.py (run with PYTHONPATH=$BUILD/python by
#     $PYTHON, default /usr/bin/python3). Both are found by name; nothing to register.
#   - It prints, on stdout, only table rows in markdown form, one per measurement:
#         | benchmark | figure | baseline | ratio | goal |
#     benchmark: what is measured; figure: the result with its unit, as
#     "median (min-max)" over several runs; baseline: what it is compared with
#     (measured in the same run) and its figure; ratio: figure / baseline,
#     e.g. "2.41x" (or "—"); goal: the target, e.g. "≤ 3x" (or "—").
#     A "|" inside a cell must be escaped as "\|".
#   - Everything else (progress, details, warnings) goes to stderr, which is
#     shown as it comes.
#   - It exits 0; a non-zero exit is reported and makes this script fail,
#     after the other benchmarks have run.
#
# This script prints a header about the machine (cores, CPU, kernel, date),
# then the table with every row, and writes the same to $BUILD/BENCHMARKS.md.
#
#   BENCH_FILTER=substring   run only the benchmarks whose name contains it
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
out=$BUILD/BENCHMARKS.md
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
failed=0

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
[ -n "$cpu" ] || cpu=$(uname -m)
header="Machine: $(nproc) cores ($(getconf _NPROCESSORS_ONLN) online), ${cpu}; kernel $(uname -sr); $(date -u '+%Y-%m-%dT%H:%M:%SZ')"

run_one() { # name, command...
	local name=$1 rc
	shift
	if [ -n "${BENCH_FILTER:-}" ] && [[ $name != *"$BENCH_FILTER"* ]]; then
		return
	fi
	echo "== $name" >&2
	"$@" >"$rows.one"
	rc=$?
	# Rows go to the table; stray stdout lines are shown, not lost.
	grep -E '^\|' "$rows.one" >>"$rows"
	grep -vE '^\|' "$rows.one" >&2
	rm -f "$rows.one"
	if [ "$rc" != 0 ]; then
		echo "bench: $name exited with status $rc" >&2
		failed=$((failed + 1))
	fi
}

echo "$header" >&2
for bin in "$BUILD"/bench/*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	run_one "$(basename "$bin")" "$bin"
done
for py in bench/*.py; do
	[ -f "$py" ] || continue
	run_one "$(basename "$py")" env PYTHONPATH="$BUILD/python" "$PYTHON" "$py"
done

{
	echo "# faultguard benchmarks"
	echo
	echo "$header"
	echo
	echo "| benchmark | figure | baseline | ratio | goal |"
	echo "|---|---|---|---|---|"
	cat "$rows"
} >"$out"
echo
cat "$out"
echo
echo "(written to $out)"
[ "$failed" = 0 ]
