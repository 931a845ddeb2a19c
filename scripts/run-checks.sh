#!/bin/bash
# Runs every test suite `make check` builds and ends with one line:
# "N passed, N failed". Suites: the C test binaries in $BUILD/tests, the
# Python tests, short fuzz runs, and the C tests again under ASan+UBSan.
#
#   TEST_FILTER=name      run only tests whose name contains it (C suites)
#   FG_SKIP_SANITIZERS=1  skip the ASan+UBSan pass
#   FG_SKIP_FUZZ=1        skip the short fuzz runs
#   FG_TEST_ALLOW_SKIP=1  let tests that cannot run here (no root, no BPF) skip
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
log_dir=$BUILD/test-logs
mkdir -p "$log_dir"

count_c_suite() { # binary, label
	local bin=$1 label=$2 out line p f
	out=$log_dir/$label.log
	echo "== $label"
	"$bin" 2>&1 | tee "$out" | grep -E '^(FAIL|skip) |^  ' || true
	line=$(grep -E ': [0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "   $label: no summary (crashed?), counted as 1 failure; see $out"
		failed=$((failed + 1))
		return
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	echo "   $line"
	passed=$((passed + p))
	failed=$((failed + f))
}

for bin in "$BUILD"/tests/test_*; do
	[ -x "$bin" ] || continue
	count_c_suite "$bin" "$(basename "$bin")"
done

if [ -d tests/python ] && ls tests/python/test_*.py >/dev/null 2>&1; then
	echo "== python"
	out=$log_dir/python.log
	PYTHONPATH=$BUILD/python FG_BUILD_DIR=$PWD/$BUILD \
		"$PYTHON" -m pytest -q -p no:cacheprovider -p no:faulthandler tests/python >"$out" 2>&1
	tail -n 15 "$out" | grep -E 'passed|failed|error' || tail -n 20 "$out"
	line=$(tail -n 1 "$out")
	p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
	f=$(grep -oE '[0-9]+ (failed|error)' <<<"$line" | grep -oE '[0-9]+' | awk '{s+=$1} END{print s+0}')
	[ -n "$p" ] || p=0
	[ -n "$f" ] || f=0
	if [ "$p" = 0 ] && [ "$f" = 0 ]; then f=1; echo "   python: no result line; see $out"; fi
	passed=$((passed + p))
	failed=$((failed + f))
fi

if [ -z "${FG_SKIP_FUZZ:-}" ] && [ -x scripts/fuzz.sh ] && ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
	echo "== fuzz (short runs)"
	for t in tests/fuzz/fuzz_*.c; do
		name=$(basename "$t" .c)
		if FUZZ_SECONDS=${FG_FUZZ_SECONDS:-20} ./scripts/fuzz.sh "$name" >"$log_dir/$name.log" 2>&1; then
			echo "   ok   $name"
			passed=$((passed + 1))
		else
			echo "   FAIL $name (see $log_dir/$name.log)"
			failed=$((failed + 1))
		fi
	done
fi

if [ -z "${FG_SKIP_SANITIZERS:-}" ] && [ -x scripts/sanitize.sh ]; then
	echo "== C tests under ASan+UBSan"
	if out=$(./scripts/sanitize.sh 2>&1); then :; fi
	echo "$out" | grep -E '^(FAIL|skip) |^  |passed, ' || true
	p=$(echo "$out" | grep -E ': [0-9]+ passed' | sed -E 's/.*: ([0-9]+) passed.*/\1/' | awk '{s+=$1} END{print s+0}')
	f=$(echo "$out" | grep -E ': [0-9]+ passed' | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END{print s+0}')
	[ "$p" != 0 ] || { f=1; echo "   sanitizer pass produced no results"; }
	passed=$((passed + p))
	failed=$((failed + ${f:-0}))
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
