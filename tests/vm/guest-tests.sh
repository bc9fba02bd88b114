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
	# python3 is the system's /usr/bin/python3: the guest's PATH has no pyenv shims. The bad-input
	# matrix ends in option parsing, whatever the kernel: it runs on the host (plain and ASan), not
	# here, where its thousand processes would take twenty minutes under TCG.
	python3 tests/integration/run.py --binary "$binary" --prefix "$prefix" \
		--exclude badinput/ ${pattern:+-k "$pattern"} || status=1
	return "$status"
}

# On one line, parsed before main runs: bash reads scripts as it goes, and this one may be edited
# while a VM runs it.
main "$@"; exit
