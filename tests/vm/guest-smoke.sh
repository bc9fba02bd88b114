#!/bin/bash
# Smoke checks run inside the test VM (as root, cwd = the repository), before the integration suite:
# does this kernel give ebpftrace what the VM exists for (BPF LSM, kprobes, fentry), and does a real
# trace work end to end?
#
#   tests/vm/guest-smoke.sh [--binary PATH] [--prefix PREFIX]
#
# Prints "PASS <prefix>smoke/<name>" or "FAIL <prefix>smoke/<name>: <reason>" per check and, last,
# "smoke: N passed, N failed, N skipped". Exits 1 if a check failed.
set -euo pipefail

binary=build/ebpftrace
prefix=vm/
tmp=""
tally_group=smoke/
# shellcheck source=tests/vm/tally.sh
. "$(dirname "$0")/tally.sh"

# A file's first lines on one line, for a reason.
oneline() { head -c 300 "$1" | tr '\n' ' '; }

# The bpf LSM must be active, or LSM programs load and attach yet never run.
check_lsm_active() {
	local lsm
	lsm=$(cat /sys/kernel/security/lsm 2>/dev/null) || {
		fail lsm-active "cannot read /sys/kernel/security/lsm (securityfs not mounted?)"
		return
	}
	if tr ',' '\n' <<<"$lsm" | grep -qx bpf; then
		pass lsm-active
	else
		fail lsm-active "bpf not in the active LSMs: $lsm"
	fi
}

# "check --json" must report each attach method this VM exists for as usable. Feature lines look like
# {"type":"feature","name":"fentry","ok":true,"detail":"..."}; python3 reads them (json, not grep:
# key order and escaping are the program's business).
check_features() {
	local rc=0 feature ok detail
	timeout 120 "$binary" check --json >"$tmp/check.out" 2>"$tmp/check.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		for feature in kprobe fentry lsm; do
			fail "check-$feature" "ebpftrace check --json exited $rc: $(oneline "$tmp/check.err")"
		done
		return
	fi
	python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    if o.get("type") == "feature":
        print(o.get("name"), "ok" if o.get("ok") is True else "no", o.get("detail", ""), sep="\t")
' "$tmp/check.out" >"$tmp/features" 2>"$tmp/parse.err" || {
		for feature in kprobe fentry lsm; do
			fail "check-$feature" "check --json output is not NDJSON: $(oneline "$tmp/parse.err")"
		done
		return
	}
	for feature in kprobe fentry lsm; do
		if ! IFS=$'\t' read -r _ ok detail < <(awk -F'\t' -v f="$feature" '$1 == f' "$tmp/features"); then
			fail "check-$feature" "no feature line for $feature in check --json"
		elif [ "$ok" = ok ]; then
			pass "check-$feature"
		else
			fail "check-$feature" "reported unusable: $detail"
		fi
	done
}

# Wait (up to $2 tenths of a second) until file $1 contains "Tracing" (the tracer is attached),
# as long as process $3 lives.
wait_ready() {
	local file=$1 tenths=$2 pid=$3
	while [ "$tenths" -gt 0 ]; do
		grep -q Tracing "$file" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
		tenths=$((tenths - 1))
	done
	return 1
}

# Wait (up to $2 tenths of a second) for process $1 to end; its status is in $wait_status.
wait_exit() {
	local pid=$1 tenths=$2
	while kill -0 "$pid" 2>/dev/null && [ "$tenths" -gt 0 ]; do
		sleep 0.1
		tenths=$((tenths - 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		return 1
	fi
	wait_status=0
	wait "$pid" || wait_status=$?
}

# End to end: trace one exec this script starts, and find its argv in the JSON line.
check_exec() {
	local tag pid
	tag=vm-smoke-$RANDOM$RANDOM
	"$binary" exec --json --count 1 --line "$tag" >"$tmp/exec.out" 2>"$tmp/exec.err" &
	pid=$!
	# Under TCG loading and attaching take seconds, not milliseconds.
	if ! wait_ready "$tmp/exec.err" 600 "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		fail exec "ebpftrace exec never got ready: $(oneline "$tmp/exec.err")"
		return
	fi
	/bin/echo "$tag" >/dev/null
	if ! wait_exit "$pid" 300; then
		fail exec "ebpftrace exec --count 1 did not stop within 30 s after the exec"
		return
	fi
	if [ "$wait_status" -ne 0 ]; then
		fail exec "ebpftrace exec exited $wait_status: $(oneline "$tmp/exec.err")"
		return
	fi
	if python3 -c '
import json, sys
tag = sys.argv[2]
events = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
sys.exit(0 if any(e.get("type") == "exec" and e.get("argv") == ["/bin/echo", tag] for e in events) else 1)
' "$tmp/exec.out" "$tag" 2>"$tmp/parse.err"; then
		pass exec
	else
		fail exec "no exec event with argv [\"/bin/echo\", \"$tag\"] in:" \
			"$(oneline "$tmp/exec.out") $(oneline "$tmp/parse.err")"
	fi
}

main() {
	while [ $# -ge 2 ]; do
		case "$1" in
		--binary) binary=$2 ;;
		--prefix) prefix=$2 ;;
		*) break ;;
		esac
		shift 2
	done
	if [ $# -ne 0 ]; then
		echo "usage: $0 [--binary PATH] [--prefix PREFIX]" >&2
		exit 2
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT

	check_lsm_active
	if [ -x "$binary" ]; then
		check_features
		check_exec
	else
		fail check "no binary at $binary (run make)"
	fi
	echo "smoke: $passed passed, $failed failed, 0 skipped"
	[ "$failed" -eq 0 ]
}

# One line, parsed before main runs: bash reads a script as it goes, and it may be edited meanwhile.
main "$@"; exit
