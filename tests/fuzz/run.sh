#!/usr/bin/env bash
# run.sh: run every libFuzzer target of a --enable-fuzz build for a bounded time, as TAP.
#   tests/fuzz/run.sh [BUILDDIR]      (default: the current directory)
# Each BUILDDIR/tests/fuzz/fuzz_NAME runs FUZZ_SECONDS (default 15) on a temporary copy of
# tests/fuzz/corpus/NAME/ (so the checkout never grows), with tests/fuzz/NAME.dict when present.
# A crash, leak, timeout or sanitizer report fails that target; its reproducer is kept in
# FUZZ_ARTIFACTS (default BUILDDIR/tests/fuzz/artifacts).
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-.}" && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-15}
ARTIFACTS=${FUZZ_ARTIFACTS:-$BUILD/tests/fuzz/artifacts}
RSS_LIMIT_MB=2048	# libFuzzer's per-process memory ceiling
UNIT_TIMEOUT_S=10	# one input taking longer than this is a failure

targets=()
for f in "$BUILD"/tests/fuzz/fuzz_*; do
	[ -f "$f" ] && [ -x "$f" ] && targets+=("$f")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "1..0 # SKIP no fuzz targets in $BUILD/tests/fuzz (configure CC=clang --enable-fuzz)"
	exit 0
fi

mkdir -p "$ARTIFACTS"
work=$(mktemp -d "${TMPDIR:-/tmp}/napalmsky-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "1..${#targets[@]}"
n=0 failed=0
for bin in "${targets[@]}"; do
	n=$((n + 1))
	base=$(basename "$bin")
	name=${base#fuzz_}
	corpus=$work/$name
	mkdir -p "$corpus"
	[ -d "$SRC/tests/fuzz/corpus/$name" ] && cp -R "$SRC/tests/fuzz/corpus/$name/." "$corpus/"
	seeds=$(find "$corpus" -type f | wc -l)
	dict=()
	[ -f "$SRC/tests/fuzz/$name.dict" ] && dict=("-dict=$SRC/tests/fuzz/$name.dict")
	log=$work/$name.log
	"$bin" "${dict[@]}" -max_total_time="$SECONDS_EACH" -timeout="$UNIT_TIMEOUT_S" \
		-rss_limit_mb="$RSS_LIMIT_MB" -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$base-" \
		"$corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - $base: ${runs:-?} runs in ${SECONDS_EACH}s from $seeds seeds"
	else
		failed=$((failed + 1))
		echo "not ok $n - $base: exit $rc after ${runs:-?} runs (artifacts in $ARTIFACTS)"
		grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20 | sed 's/^/# /'
		tail -n 15 "$log" | sed 's/^/# /'
	fi
done
[ "$failed" -eq 0 ]
