#!/bin/bash
# The VM test suite: what the project's test command runs to test ebpftrace on a second kernel
# (Debian 12's 6.1: kprobes, fentry, BPF LSM) under qemu.
#
#   tests/vm/run-tests.sh [--binary PATH] [--prefix PREFIX] [-k PATTERN] [--timeout SECONDS]
#
#   --binary   the ebpftrace to test, relative to the repository (default build/ebpftrace; the ASan
#              build is build/asan/ebpftrace; ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS are passed on)
#   --prefix   put before every test name (default vm/)
#   -k         only integration tests whose name contains PATTERN
#   --timeout  for the one boot that runs smoke checks and integration suite (default 2700 s, or
#              $VM_TEST_TIMEOUT)
#
# Output (stdout), parsed by the aggregator: one line per test, "PASS <name>", "FAIL <name>: <reason>"
# or "SKIP <name>: <reason>", and last "vm: N passed, N failed, N skipped". Everything else the
# guest prints (diagnostics, summaries of the parts) goes to stderr. Exit status 0 iff nothing
# failed. A machine that cannot run the VM at all (no qemu, no kernel package) gets SKIP lines, or
# under CI=true FAIL lines.
#
# Runs: (a) two harness self-tests, each its own short boot: a failing command's exit code and output
# come back; a timeout kills the VM and says so. (b)+(c) one boot for tests/vm/guest-tests.sh: the
# smoke checks (tests/vm/guest-smoke.sh), then tests/integration/run.py.
set -euo pipefail
shopt -s lastpipe # the relay loop at the end of a pipeline runs in this shell: its counts stay

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
runner=$here/run-in-vm.sh

binary=build/ebpftrace
prefix=vm/
pattern=""
timeout=${VM_TEST_TIMEOUT:-2700}
tmp=""
# shellcheck source=tests/vm/tally.sh
. "$(dirname "$0")/tally.sh"

usage() {
	echo "usage: $0 [--binary PATH] [--prefix PREFIX] [-k PATTERN] [--timeout SECONDS]" >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		[ $# -ge 2 ] || usage
		case "$1" in
		--binary) binary=$2 ;;
		--prefix) prefix=$2 ;;
		-k) pattern=$2 ;;
		--timeout)
			[[ $2 =~ ^[1-9][0-9]*$ ]] || usage
			timeout=$2
			;;
		*) usage ;;
		esac
		shift 2
	done
}

# Why this machine cannot run the VM at all, or nothing. Anything that goes wrong after these
# checks pass is a failure, not a skip.
why_no_vm() {
	if ! command -v "${QEMU:-qemu-system-x86_64}" >/dev/null; then
		echo "${QEMU:-qemu-system-x86_64} not found (install qemu-system-x86, or run make deps)"
	elif ! [[ $repo =~ ^/[A-Za-z0-9_./+-]+$ ]]; then
		echo "the repository path '$repo' has characters the kernel command line cannot carry"
	elif ! kdir=$("$here/kernel.sh" 2>"$tmp/kernel.err"); then
		echo "cannot fetch the Debian 6.1 kernel: $(tail -n 1 "$tmp/kernel.err")"
	elif ! "$here/initramfs.sh" "$kdir" >/dev/null 2>"$tmp/initramfs.err"; then
		echo "cannot build the initramfs: $(tail -n 1 "$tmp/initramfs.err")"
	fi
}

# (a) A command failing inside the guest: its exit code and its output both come back.
selftest_exit_code() {
	local rc=0 out
	out=$("$runner" --timeout 120 -- sh -c 'echo vm-marker; exit 7' 2>"$tmp/selftest.err") || rc=$?
	if [ "$rc" -ne 7 ]; then
		fail harness/exit-code "run-in-vm.sh returned $rc, not 7: $(tail -n 3 "$tmp/selftest.err" | tr '\n' ' ')"
	elif [ "$out" != vm-marker ]; then
		fail harness/exit-code "output was '$(head -c 200 <<<"$out")', not 'vm-marker'"
	else
		pass harness/exit-code
	fi
}

# (a) The timeout kills the VM, says so, returns 124 and leaves no job directory behind.
selftest_timeout() {
	local rc=0 before after
	before=$(find "$repo/build/vm/runs" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	"$runner" --timeout 3 -- sleep 600 >/dev/null 2>"$tmp/timeout.err" || rc=$?
	after=$(find "$repo/build/vm/runs" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	if [ "$rc" -ne 124 ]; then
		fail harness/timeout "run-in-vm.sh returned $rc, not 124: $(tail -n 3 "$tmp/timeout.err" | tr '\n' ' ')"
	elif ! grep -q 'timeout' "$tmp/timeout.err"; then
		fail harness/timeout "no timeout message on stderr"
	elif [ "$after" -gt "$before" ]; then
		fail harness/timeout "job directory left behind in build/vm/runs"
	else
		pass harness/timeout
	fi
}

# (b)+(c) One boot: smoke checks, then the integration suite. Test lines are relayed as they come,
# the rest goes to stderr; each part must end with its summary line, or it did not finish.
guest_suite() {
	local rc=0 line smoke_done=0 integration_done=0 last="none yet"
	local args=(--binary "$binary" --prefix "$prefix") vm_args=(--timeout "$timeout") var
	[ -z "$pattern" ] || args+=(-k "$pattern")
	# The guest's environment is clean: pass on the sanitizer settings an ASan build is run with,
	# CI (a skip for a missing prerequisite fails under it) and the per-test timeout.
	for var in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS CI EBPFTRACE_TEST_TIMEOUT; do
		[ -z "${!var:-}" ] || vm_args+=(--env "$var=${!var}")
	done
	# "if !": a failing pipeline must not end this script (set -e, pipefail); PIPESTATUS survives.
	if ! "$runner" "${vm_args[@]}" -- tests/vm/guest-tests.sh "${args[@]}" 2>"$tmp/suite.err" |
		while IFS= read -r line; do
			case "$line" in
			"PASS "*)
				echo "$line"
				passed=$((passed + 1))
				last=${line#PASS }
				;;
			"FAIL "*)
				echo "$line"
				failed=$((failed + 1))
				last=${line#FAIL }
				;;
			"SKIP "*)
				echo "$line"
				skipped=$((skipped + 1))
				last=${line#SKIP }
				;;
			"smoke: "*" passed, "*)
				smoke_done=1
				echo "$line" >&2
				;;
			"integration: "*" passed, "*)
				integration_done=1
				echo "$line" >&2
				;;
			*) echo "$line" >&2 ;;
			esac
		done; then
		rc=${PIPESTATUS[0]}
	fi
	cat "$tmp/suite.err" >&2
	local why="the guest stopped early (run-in-vm.sh exit $rc)"
	[ "$rc" -ne 124 ] || why="timeout: not finished within $timeout s (--timeout, VM_TEST_TIMEOUT)"
	why+="; the last test reported was ${last%% *}; guest console on stderr"
	[ "$smoke_done" -eq 1 ] || fail smoke "$why"
	[ "$integration_done" -eq 1 ] || fail integration "$why"
}

main() {
	parse_args "$@"
	mkdir -p "$repo/build/vm"
	tmp=$(mktemp -d "$repo/build/vm/tests.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	local why
	why=$(why_no_vm)
	if [ -n "$why" ]; then
		cat "$tmp"/*.err >&2 2>/dev/null || true
		# Under CI (CI=true, as .ci/run runs) a VM that cannot run is a failure, not a skip.
		local what=skip
		[ "${CI:-}" != true ] || what=fail
		$what harness "$why"
		$what smoke "$why"
		$what integration "$why"
	else
		selftest_exit_code
		selftest_timeout
		guest_suite
	fi
	echo "vm: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

# One line, parsed before main runs: bash reads a script as it goes, and it may be edited meanwhile.
main "$@"; exit
