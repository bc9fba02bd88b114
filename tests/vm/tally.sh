# shellcheck shell=bash
# Sourced by the VM test scripts: one result line per check, in the form tests/run adds up
# ("PASS <name>", "FAIL <name>: <reason>", "SKIP <name>: <reason>"), and the counts behind the
# summary line. A name is $prefix (the --prefix option) + $tally_group + the check's name.
passed=0
failed=0
skipped=0
prefix=${prefix:-}
tally_group=${tally_group:-}

pass() {
	echo "PASS ${prefix}${tally_group}$1"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL ${prefix}${tally_group}$1: ${*:2}"
	failed=$((failed + 1))
}

skip() {
	echo "SKIP ${prefix}${tally_group}$1: ${*:2}"
	skipped=$((skipped + 1))
}
