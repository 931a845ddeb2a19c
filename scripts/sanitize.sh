#!/bin/bash
# Builds the C test suite with AddressSanitizer and UndefinedBehaviorSanitizer
# into $SAN_BUILD (default build-asan) and runs each test binary there,
# printing its output and its summary line "name: N passed, N failed, N
# skipped" (scripts/run-checks.sh adds those up). A binary that dies before
# its summary, or outlives $SAN_TIMEOUT seconds, gets a summary of 1 failure.
#
#   FG_SANITIZE_ALL=1   also run the binaries excluded below (the packaging tests)
#   SAN_TIMEOUT=N       seconds per test binary (default 180)
#   FG_SANITIZE_TORTURE_KILLS=N  kills in the crash torture here (default 500)
#
# Leak detection is on (the test processes are leak-clean); UBSan stops at
# the first error, so any report fails its test.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

SAN_BUILD=${SAN_BUILD:-build-asan}
SAN_TIMEOUT=${SAN_TIMEOUT:-180}
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Why a binary does not run here (empty: it runs). The plain pass runs them all.
excluded_because() { # binary name
	if [ -n "${FG_SANITIZE_ALL:-}" ]; then
		return
	fi
	if [ "$1" = test_ops_install ]; then
		echo "tests packaging: an app built against the installed (here: sanitized)" \
			"library cannot link without the sanitizer runtime"
		return
	fi
	if [ "$1" = test_ops_deb ]; then
		echo "tests the Debian packages, which make deb builds without the sanitizers"
		return
	fi
}

# The crash torture is long (2000 kills take about a minute here under the
# sanitizers): a shorter run keeps this pass within a few minutes.
export FG_TORTURE_KILLS=${FG_SANITIZE_TORTURE_KILLS:-500}

log=$SAN_BUILD/sanitizer-build.log
mkdir -p "$SAN_BUILD"
echo "== sanitizer build ($SAN_BUILD)"
if ! make -j"$(nproc)" BUILD="$SAN_BUILD" SAN="$SAN_FLAGS" tests >"$log" 2>&1; then
	tail -n 30 "$log"
	echo "sanitizer-build: 0 passed, 1 failed, 0 skipped (see $log)"
	exit 1
fi

failed=0
for bin in "$SAN_BUILD"/tests/test_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	why=$(excluded_because "$name")
	if [ -n "$why" ]; then
		echo "skip $name (not under the sanitizers): $why"
		continue
	fi
	echo "== $name"
	out=$(timeout -k 10 "$SAN_TIMEOUT" "$bin" 2>&1)
	rc=$?
	echo "$out"
	summary=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" <<<"$out" | tail -n 1)
	if [ -z "$summary" ]; then
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			echo "$name: 0 passed, 1 failed, 0 skipped (timed out after ${SAN_TIMEOUT}s)"
		else
			echo "$name: 0 passed, 1 failed, 0 skipped (exit $rc before its summary)"
		fi
		failed=1
	elif [ "$rc" != 0 ]; then
		failed=1
		# A report after the summary (a leak at exit) must count as well.
		if grep -qE " 0 failed" <<<"$summary"; then
			echo "$name (after its summary): 0 passed, 1 failed, 0 skipped (exit $rc)"
		fi
	fi
done
exit $failed
