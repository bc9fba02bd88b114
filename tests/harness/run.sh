#!/bin/bash
# The harness's own tests: each feeds tests/suite.sh (what tests/run adds up with), the VM suite
# or tests/integration/run.py a deliberately broken input, and checks that the run turns red
# (or, for the holes fixed in tests/integration/lib.py, that the fixture which needs the fix
# passes). Runs in seconds.
#
#   tests/harness/run.sh [--binary PATH]   (default build/ebpftrace: the real binary, for the
#                                           checks of what a test leaves loaded; root)
#
# Prints PASS/FAIL/SKIP per check and "harness: N passed, N failed, N skipped"; exits 1 if any
# check failed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit

binary=build/ebpftrace
[ "${1:-}" != --binary ] || binary=$2
tally_group=harness/
# shellcheck source=tests/vm/tally.sh
. tests/vm/tally.sh
tmp=$(mktemp -d)
marker=ebt-harness-$$-$RANDOM
export HARNESS_TMP=$tmp HARNESS_MARKER=$marker
trap 'rm -rf "$tmp"' EXIT

# What suite (tests/suite.sh) counts for a command: "passed failed skipped".
suite_counts() {
	(
		# shellcheck source=tests/suite.sh
		. tests/suite.sh
		suite fixture "$@" >"$tmp/suite.out" 2>&1
		echo "$passed $failed $skipped"
	)
}

# check NAME WANT GOT: pass if they are equal.
check() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected '$2', got '$3': $(tail -n 5 "$tmp/suite.out" 2>/dev/null | tr '\n' ' ')"
	fi
}

summary='echo "PASS fixture/one"; echo "fixture: 1 passed, 0 failed, 0 skipped"'

suite_checks() {
	check suite/clean "1 0 0" "$(suite_counts sh -c "$summary")"
	check suite/exit-after-summary "1 1 0" "$(suite_counts sh -c "$summary; exit 3")"
	check suite/no-summary "0 1 0" "$(suite_counts true)"
	local start=$SECONDS
	check suite/timeout "0 2 0" "$(SUITE_TIMEOUT=1 suite_counts sleep 30)"
	[ $((SECONDS - start)) -lt 10 ] || fail suite/timeout-bounded "took $((SECONDS - start)) s"
	check step/fails "0 1" "$( (
		. tests/suite.sh
		step fixture sh -c 'exit 1' >/dev/null
		echo "$passed $failed"
	))"
	check step/timeout "0 1" "$( (
		. tests/suite.sh
		SUITE_TIMEOUT=1 step fixture sleep 30 >/dev/null
		echo "$passed $failed"
	))"
	check missing/skip "0 0 1" "$( (
		. tests/suite.sh
		CI='' missing fixture "no such thing" >/dev/null
		echo "$passed $failed $skipped"
	))"
	check missing/ci-fails "0 1 0" "$( (
		. tests/suite.sh
		CI=true missing fixture "no such thing" >/dev/null
		echo "$passed $failed $skipped"
	))"
}

# A suite built with the sanitizers that prints a clean summary and then leaks or overflows.
sanitizer_checks() {
	local fx=$tmp/sanitizer_fixture
	if ! gcc -std=gnu11 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
		-o "$fx" tests/harness/sanitizer_fixture.c 2>"$tmp/suite.out"; then
		fail sanitizer/build "$(tail -n 3 "$tmp/suite.out")"
		return
	fi
	check sanitizer/clean "1 0 0" "$(suite_counts "$fx")"
	check sanitizer/leak "1 1 0" "$(ASAN_OPTIONS=detect_leaks=1 suite_counts "$fx" leak)"
	check sanitizer/ubsan-abort "1 1 0" "$(suite_counts "$fx" overflow)"
}

# run.py on the fixtures: "<exit status> <summary line>"; its output goes to $tmp/run.out.
run_fixture() {
	local rc=0
	"${as_user[@]}" timeout 60 python3 tests/integration/run.py --tests tests/harness/fixtures \
		"$@" >"$tmp/run.out" 2>&1 || rc=$?
	echo "$rc $(grep '^integration: ' "$tmp/run.out")"
}

# check_run NAME WANT [GREP] -- ARGS...: run.py on the fixtures ends as WANT ("<status>
# <passed> <failed> <skipped>") and, if given, its output has a line matching GREP.
check_run() {
	local name=$1 want=$2 pattern="" got
	shift 2
	if [ "$1" != -- ]; then
		pattern=$1
		shift
	fi
	shift
	got=$(run_fixture "$@" | sed -E 's/integration: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/')
	if [ "$got" != "$want" ]; then
		fail "$name" "expected '$want', got '$got': $(grep -v '^PASS' "$tmp/run.out" | head -c 600 | tr '\n' ' ')"
	elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$tmp/run.out"; then
		fail "$name" "no line matches '$pattern': $(head -c 600 "$tmp/run.out" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

fake=(--binary tests/harness/fake_tracer.py)
as_user=()

# Not root: a counted skip, and under CI a failure.
not_root_checks() {
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups env CI= HOME=/tmp)
	check_run not-root/skips "0 0 0 1" "^SKIP fake/flood.*needs root" -- "${fake[@]}" -k fake/flood
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups env CI=true HOME=/tmp)
	check_run not-root/fails-under-ci "1 0 1 0" "^FAIL fake/flood.*needs root" -- "${fake[@]}" \
		-k fake/flood
	as_user=()
}

# The tracer's pipes, lost records, hangs and what a test leaves running.
runner_checks() {
	check_run pipe/read-while-running "0 1 0 0" -- "${fake[@]}" -k fake/flood
	check_run lost/dropped-record-fails "1 0 1 0" "^FAIL fake/dropped_lost_record: .*1 events lost" \
		-- "${fake[@]}" -k fake/dropped_lost
	check_run lost/allowed-and-counted "0 1 0 0" -- "${fake[@]}" -k fake/lost_record_allowed
	local start=$SECONDS
	check_run hang/one-bounded-fail "1 0 1 0" "^FAIL fake/hang: timed out after 2s.*Tracing fake hang" \
		-- "${fake[@]}" --test-timeout 2 -k fake/hang
	[ $((SECONDS - start)) -lt 20 ] || fail hang/bounded "took $((SECONDS - start)) s"
	check_run leftover/killed-after-failure "1 1 1 0" "^FAIL fake/failing_test_leaves_a_tracer" \
		-- "${fake[@]}" -k fake/failing_test_leaves -k fake/next_test
	check_run leftover/running-tracer-fails "1 0 1 0" "^FAIL fake/passing.*tracers left running" \
		-- "${fake[@]}" -k fake/passing_test_leaves
	if pgrep -f "$marker" >/dev/null; then
		fail leftover/none-after-run "fake tracers still running: $(pgrep -f "$marker" | tr '\n' ' ')"
	else
		pass leftover/none-after-run
	fi
}

# Kill the detached tracer a bpf fixture started.
kill_detached() {
	[ ! -s "$tmp/detached.pid" ] || kill "$(cat "$tmp/detached.pid")" 2>/dev/null
	rm -f "$tmp/detached.pid"
}

# What a test leaves loaded, by the ids it loaded: its own, not another run's.
bpf_checks() {
	check_run bpf/daemonized-tracer-is-a-leftover "1 0 1 0" "^FAIL bpf/daemonized.*still loaded.*prog [0-9]+ exec_" \
		-- --binary "$binary" -k bpf/daemonized
	kill_detached
	check_run bpf/other-runs-are-not-ours "0 1 0 0" -- --binary "$binary" -k bpf/other_runs
	kill_detached
	check_run methods/dropped-method-is-a-skip "0 1 0 1" "^SKIP fixture/method:no_such_method: " \
		-- --binary "$binary" -k bpf/dropped_method
}

# The VM suite on a machine without qemu: skips, and under CI fails.
vm_checks() {
	local rc=0
	QEMU=/nonexistent/qemu CI='' tests/vm/run-tests.sh >"$tmp/vm.out" 2>&1 || rc=$?
	check vm/no-qemu-skips "0 vm: 0 passed, 0 failed, 3 skipped" "$rc $(tail -n 1 "$tmp/vm.out")"
	rc=0
	QEMU=/nonexistent/qemu CI=true tests/vm/run-tests.sh >"$tmp/vm.out" 2>&1 || rc=$?
	check vm/no-qemu-fails-under-ci "1 vm: 0 passed, 3 failed, 0 skipped" "$rc $(tail -n 1 "$tmp/vm.out")"
}

main() {
	suite_checks
	sanitizer_checks
	vm_checks
	if [ "$(id -u)" -ne 0 ]; then
		for part in not-root runner bpf; do
			if [ "${CI:-}" = true ]; then
				fail "$part" "needs root (a missing prerequisite fails under CI)"
			else
				skip "$part" "needs root"
			fi
		done
	else
		not_root_checks
		runner_checks
		bpf_checks
	fi
	echo "harness: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

main; exit
