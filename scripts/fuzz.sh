#!/bin/bash
# Builds the libFuzzer targets in tests/fuzz/ and runs each one.
#
#   scripts/fuzz.sh [TARGET...]   run each target (default: all) for $FUZZ_SECONDS
#                                 seconds (default 600); exit 1 if any found a
#                                 crash, a leak, a timeout or ran out of memory
#   scripts/fuzz.sh --gen-corpus  rewrite tests/fuzz/corpus/ from the real encoders
#
# A target names the sources it needs and its libFuzzer options in its header
# comment ("fuzz-sources:", "fuzz-options:"). Everything built or found goes
# under ${BUILD:-build}/fuzz/: binaries, a working copy of each corpus (new
# inputs land there, never in the repository) and crash artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
OUT=$BUILD/fuzz
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
CLANG=${CLANG:-clang}
CFLAGS_COMMON="-std=gnu11 -g -O1 -D_GNU_SOURCE -Iinclude -Iuserspace -Itests
	-Wall -Wextra -Werror -Wno-unused-parameter"
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

# The words after "fuzz-<what>:" in a target's source.
directive() { # file, what
	sed -n "s/^.*fuzz-$2:[[:space:]]*//p" "$1" | tr '\n' ' '
}

build_target() { # name
	local src=tests/fuzz/$1.c
	mkdir -p "$OUT"
	# Up to date: no C source or header changed since the last build.
	if [ -x "$OUT/$1" ] && [ -z "$(find include userspace tests/fuzz -name '*.[ch]' \
		-newer "$OUT/$1" -print -quit)" ]; then
		return 0
	fi
	echo "== build $1"
	# shellcheck disable=SC2046,SC2086
	$CLANG $CFLAGS_COMMON $SAN -o "$OUT/$1" "$src" $(directive "$src" sources) -lz
}

run_target() { # name
	local src=tests/fuzz/$1.c work=$OUT/corpus/$1 art=$OUT/artifacts/$1/ log=$OUT/$1.log
	local rc=0
	mkdir -p "$work" "$art"
	# Seed the working copy; what it gathered in earlier runs stays.
	cp -n tests/fuzz/corpus/"$1"/* "$work"/ 2>/dev/null || true
	echo "== run $1 for ${FUZZ_SECONDS}s (log: $log)"
	# shellcheck disable=SC2046
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		"$OUT/$1" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=30 \
		-print_final_stats=1 -artifact_prefix="$art" $(directive "$src" options) \
		"$work" >"$log" 2>&1 || rc=$?
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" | sed 's/^/   /' || true
	if [ "$rc" != 0 ]; then
		echo "   FAIL $1 (exit $rc): see $log; reproduce with: $OUT/$1 $art<file>"
		grep -E 'ERROR: |SUMMARY: |runtime error|^artifact_prefix|Test unit written' "$log" |
			head -n 10 | sed 's/^/   /'
		return 1
	fi
	echo "   ok   $1"
}

gen_corpus() {
	local tmp
	mkdir -p "$OUT"
	echo "== build gen_corpus"
	# shellcheck disable=SC2086
	$CLANG $CFLAGS_COMMON -o "$OUT/gen_corpus" tests/fuzz/gen_corpus.c \
		userspace/dict/*.c userspace/snapshot/*.c userspace/common/proto.c \
		userspace/common/atomic_file.c -lz
	tmp=$(mktemp -d "$OUT/corpus-new.XXXXXX")
	"$OUT/gen_corpus" "$tmp"
	for d in "$tmp"/*/; do
		d=${d%/}
		rm -rf "tests/fuzz/corpus/$(basename "$d")"
		mkdir -p tests/fuzz/corpus
		mv "$d" "tests/fuzz/corpus/$(basename "$d")"
	done
	rmdir "$tmp"
	du -sh tests/fuzz/corpus
}

if [ "${1:-}" = --gen-corpus ]; then
	gen_corpus
	exit 0
fi

targets=("$@")
if [ ${#targets[@]} = 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do
		targets+=("$(basename "$f" .c)")
	done
fi

failed=0
for t in "${targets[@]}"; do
	if [ ! -f "tests/fuzz/$t.c" ]; then
		echo "fuzz: no target tests/fuzz/$t.c" >&2
		exit 2
	fi
	if ! build_target "$t"; then
		echo "   FAIL $t: does not build"
		failed=1
		continue
	fi
	run_target "$t" || failed=1
done
exit $failed
