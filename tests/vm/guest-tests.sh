#!/bin/bash
# Everything run-tests.sh wants from one boot of the test VM (booting costs seconds under TCG): the
# smoke checks, then the integration suite, both on the guest's kernel. Runs inside the guest as
# root, cwd = the repository.
#
#   tests/vm/guest-tests.sh [--binary PATH] [--prefix PREFIX] [-k PATTERN]
#
# Each part prints PASS/FAIL/SKIP lines and a summary line ("smoke: ...", "integration: ...");
# run-tests.sh relays and counts them. Exits 1 if either part failed.
set -euo pipefail

usage() {
	echo "usage: $0 [--binary PATH] [--prefix PREFIX] [-k PATTERN]" >&2
	exit 2
}

main() {
	local binary=build/ebpftrace prefix=vm/ pattern="" status=0
	while [ $# -gt 0 ]; do
		[ $# -ge 2 ] || usage
		case "$1" in
		--binary) binary=$2 ;;
		--prefix) prefix=$2 ;;
		-k) pattern=$2 ;;
		*) usage ;;
		esac
		shift 2
	done
	tests/vm/guest-smoke.sh --binary "$binary" --prefix "$prefix" || status=1
	# python3 is the system's /usr/bin/python3: the guest's PATH has no pyenv shims. What does not
	# depend on the kernel runs on the host (plain and ASan), not here under TCG: the bad-input
	# matrix ends in option parsing (a thousand processes: twenty minutes here), the man pages and
	# completion are text, and the 30 s open soak repeats the storm test that does run here.
	python3 tests/integration/run.py --binary "$binary" --prefix "$prefix" \
		--exclude badinput/ --exclude cli/ --exclude storms/open_storm_soak \
		${pattern:+-k "$pattern"} || status=1
	return "$status"
}

# On one line, parsed before main runs: bash reads scripts as it goes, and this one may be edited
# while a VM runs it.
main "$@"; exit
