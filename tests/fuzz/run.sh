#!/usr/bin/env bash
# Run each libFuzzer target (build/fuzz/fuzz_*, `make fuzzers`) for a while from its seed corpus
# (tests/fuzz/corpus/NAME/, read only: what it finds goes to a temporary directory).
#   tests/fuzz/run.sh [--seconds N] [NAME...]
# Prints PASS/FAIL per target and "fuzz: N passed, N failed, 0 skipped". A crash leaves its input
# in build/fuzz/crashes/ and its report in the output; add that input to the unit tests once fixed.
set -u
cd "$(dirname "$0")/../.."

seconds=60
if [ "${1:-}" = --seconds ]; then
	seconds=$2
	shift 2
fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in build/fuzz/fuzz_*; do
		[ -x "$f" ] && names+=("$(basename "$f")")
	done
fi

passed=0 failed=0
mkdir -p build/fuzz/crashes
for name in "${names[@]}"; do
	bin=build/fuzz/$name seeds=tests/fuzz/corpus/${name#fuzz_}
	found=$(mktemp -d)
	log=$(mktemp)
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "FAIL fuzz/$name: no $bin or no $seeds (make fuzzers)"
		failed=$((failed + 1))
	# -max_len bounds the inputs (the parsers take a line); -timeout turns a hang into a failure.
	elif "$bin" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="build/fuzz/crashes/$name-" -print_final_stats=1 \
		"$found" "$seeds" >"$log" 2>&1; then
		runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
		echo "PASS fuzz/$name (${runs:-?} runs in ${seconds}s)"
		passed=$((passed + 1))
	else
		grep -E 'ERROR|property broken|SUMMARY|Test unit written| (common|tests/fuzz)/' "$log" | head -n 30
		echo "FAIL fuzz/$name"
		failed=$((failed + 1))
	fi
	rm -rf "$found" "$log"
done
echo "fuzz: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
