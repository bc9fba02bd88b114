# shellcheck shell=bash
# Sourced by tests/run (and by tests/harness/run.sh, which tests it): run suites and steps, add up
# their results. A suite prints PASS/FAIL/SKIP lines and its own "suite: N passed, N failed,
# N skipped"; a step is one test, PASS or FAIL by its exit status. Both are bounded in time.
#
# CI=true (as .ci/run runs): a suite or step that cannot run for a missing prerequisite fails.
passed=0 failed=0 skipped=0
suite_log=$(mktemp)
trap 'rm -f "$suite_log"' EXIT

# Seconds a suite or step may take before it is killed and counted as failed.
SUITE_TIMEOUT=${SUITE_TIMEOUT:-1800}

# Count a prerequisite that is missing: a skip, or under CI a failure.
missing() {
	local name=$1 why=$2
	if [ "${CI:-}" = true ]; then
		echo "FAIL $name: $why (a missing prerequisite fails under CI)"
		failed=$((failed + 1))
	else
		echo "SKIP $name: $why"
		skipped=$((skipped + 1))
	fi
}

# Run cmd... under the suite timeout; its status (124 when the timeout killed it).
bounded() {
	timeout --kill-after=30 "$SUITE_TIMEOUT" "$@"
}

# Run one suite; count its summary line, or one failure if it ended without one. A suite that
# exits non-zero has failed, whatever its summary says (a sanitizer report after the summary, an
# abort): if the summary counts no failure, that is one more.
suite() {
	local name=$1
	shift
	echo "== $name"
	bounded "$@" 2>&1 | tee "$suite_log"
	local rc=${PIPESTATUS[0]}
	local summary
	summary=$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' "$suite_log" | tail -n 1)
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "FAIL $name: timed out after $SUITE_TIMEOUT s (SUITE_TIMEOUT)"
		failed=$((failed + 1))
	fi
	if [ -z "$summary" ]; then
		echo "FAIL $name: ended without a summary line (exit $rc)"
		failed=$((failed + 1))
		return
	fi
	local p f s
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$summary")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$summary")
	s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$summary")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]; then
		echo "FAIL $name: exited $rc after its summary line (a sanitizer report, an abort?)"
		failed=$((failed + 1))
	fi
}

# A step that is one test: PASS or FAIL by its exit status, within the suite timeout.
step() {
	local name=$1
	shift
	if bounded "$@" >"$suite_log" 2>&1; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		local rc=$?
		echo "FAIL $name (exit $rc):"
		tail -n 30 "$suite_log"
		failed=$((failed + 1))
		return 1
	fi
}

finish() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}
