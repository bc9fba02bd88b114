#!/bin/bash
# Run one command as root inside the test VM (Debian 12's 6.1 kernel under qemu) and exit with its
# exit code.
#
#   tests/vm/run-in-vm.sh [--timeout SECONDS] [--env NAME=VALUE]... [--verbose] -- CMD [ARGS...]
#
# The guest's root is the host's / (read-only, with a throw-away tmpfs layer on top), and this
# repository is shared read-write at the same path, which is also CMD's working directory. CMD's
# stdout and stderr (merged, in order) are streamed to our stdout while it runs. Its environment is
# clean: PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin, HOME=/root, LANG=C.UTF-8,
# PYTHONUNBUFFERED=1, PYTHONDONTWRITEBYTECODE=1, EBPFTRACE_VM=1, plus whatever --env adds.
#
# Exit status: CMD's own, or 124 when the timeout (default 300 s) killed the VM, 125 when the VM
# failed (no qemu, no kernel, the guest hung (no heartbeat for VM_HANG_TIMEOUT, default 120 s) or
# never reported an exit code; the reason and the guest console's last lines are on stderr).
#
# Knobs, for debugging: --verbose prints the accelerator and timings on stderr. VM_ACCEL=kvm|tcg
# overrides the automatic choice (KVM only where a probe boot actually works, else TCG).
# VM_TCG_THREAD=multi runs each vCPU in a host thread of its own (see TCG_THREAD below).
# VM_MACHINE=q35 replaces the default pc machine (q35 boots ~0.2 s faster, without pc's ACPI PCI
# interrupt links, but has been tried less here; not microvm: without HPET or ACPI PM timer its TSC
# calibration fails on a busy host and the guest hangs, and its clock source is jiffies, 4 ms
# steps). VM_APPEND adds kernel parameters
# (ignore_loglevel; ebpftrace_debug=1 time-stamps the guest init's steps on the console). VM_KEEP=1
# keeps the job directory (build/vm/runs/job.*: cmd, out, rc, console.log, qemu.log).
# build/vm/last-console.log always has the guest console of the last run; the whole console of a run
# that failed (hang, timeout, no exit code) is also kept in build/vm/failed/ (the newest
# FAILED_KEEP=10). When the guest hangs, it is first asked (magic SysRq keys through the qemu
# monitor) for the backtraces of every CPU, of the blocked tasks and of all tasks, so that the kept
# console says where it was stuck; a soft lockup prints every CPU's backtrace by itself.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
vmdir=$repo/build/vm
QEMU=${QEMU:-qemu-system-x86_64}
MACHINE=${VM_MACHINE:-pc}
# One host thread runs both vCPUs. With qemu 7.2's multi-threaded TCG, a vCPU would sometimes keep
# executing a stale translation of kernel text that the other vCPU had just patched (a static key
# flipped as a tracepoint is enabled or disabled): it traps on an int3 no longer in memory, the
# kernel (kprobes) backs up to retry the instruction, and the vCPU loops there for good (a soft
# lockup at syscall_trace_enter+0xe9 inside asm_exc_int3; seen in 3 of ~10 full runs and in smoke).
# Single-threaded TCG never ran slower here: the exec/ tests took 88 s against 120 s.
TCG_THREAD=${VM_TCG_THREAD:-single}
KVM_PROBE_TIMEOUT=30 # a working KVM boots the probe in about a second; a broken one may hang
# The guest touches job/heartbeat every 5 s once booted; this long without one, it is taken as hung.
HANG_TIMEOUT=${VM_HANG_TIMEOUT:-120}
FAILED_KEEP=10
# sun_path holds 108 bytes: a deeper repository runs without the monitor (no SysRq dumps on a hang).
SUN_PATH_MAX=107

timeout=300
verbose=0
envs=()
cmd=()
kdir=""
initrd=""
accel=""
job=""
qpid=""
outpos=0
failed_console="" # where a failed run's console is kept (cleanup copies it)
t_start=""
t_cmd=""

log() { printf 'run-in-vm: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 125
}
now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
now_us() { printf '%s\n' "${EPOCHREALTIME/[.,]/}"; } # integer microseconds, for deadlines
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

usage() {
	echo "usage: $0 [--timeout SECONDS] [--env NAME=VALUE]... [--verbose] -- CMD [ARGS...]" >&2
	exit 125
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--timeout)
			[[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage
			timeout=$2
			shift 2
			;;
		--env)
			[[ $# -ge 2 && $2 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || usage
			envs+=("$2")
			shift 2
			;;
		--verbose | -v)
			verbose=1
			shift
			;;
		--)
			shift
			break
			;;
		*) usage ;;
		esac
	done
	[ $# -gt 0 ] || usage
	cmd=("$@")
}

# The repository's path travels on the kernel command line and in qemu options (where a comma is
# a separator): keep to characters that need no quoting anywhere.
check_host() {
	[[ $repo =~ ^/[A-Za-z0-9_./+-]+$ ]] ||
		die "the repository path '$repo' goes on the kernel command line:" \
			"it must consist of letters, digits and _./+- only"
	command -v "$QEMU" >/dev/null || die "$QEMU not found (install qemu-system-x86)"
}

# A job directory is the guest's mailbox: cmd in; out, rc and started out. owner holds our PID.
new_job_dir() {
	local dir
	mkdir -p "$vmdir/runs"
	dir=$(mktemp -d "$vmdir/runs/$1.XXXXXX")
	echo "$$" >"$dir/owner"
	printf '%s\n' "$dir"
}

# Job directories of runs that were SIGKILLed (no trap ran; qemu died with them, see start_qemu).
# Other runs may be going on at the same time: only directories whose owner is gone are removed.
sweep_stale_jobs() {
	local dir owner
	for dir in "$vmdir"/runs/*.*; do
		[ -d "$dir" ] || continue
		owner=$(cat "$dir/owner" 2>/dev/null) || continue
		kill -0 "$owner" 2>/dev/null || rm -rf "$dir"
	done
}

write_cmd() {
	local dir=$1 kv
	shift
	{
		echo '#!/bin/bash'
		for kv in "${envs[@]}"; do
			printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
		done
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	} >"$dir/cmd"
	: >"$dir/out"
}

# BPF LSM must be in the active list: the kernel's built-in list, with bpf at the end if missing.
lsm_list() {
	local lsm
	lsm=$(sed -n 's/^CONFIG_LSM="\(.*\)"$/\1/p' "$kdir/root/boot/config-$(cat "$kdir/release")")
	case ",$lsm," in
	*,bpf,*) ;;
	*) lsm=${lsm:+$lsm,}bpf ;;
	esac
	printf '%s\n' "$lsm"
}

start_qemu() {
	local dir=$1 acc=$2 lsm append accel_args monitor=none
	lsm=$(lsm_list)
	# quiet: every console character costs time under TCG. panic=-1 with -no-reboot: a guest panic
	# (init failing) ends qemu at once instead of at the timeout. A soft lockup is reported with the
	# backtrace of every CPU, and does not panic (the report is what we want to keep); SysRq stays
	# enabled for the dumps on a hang (dump_guest_state).
	append="console=ttyS0 quiet panic=-1 lsm=$lsm"
	append+=" softlockup_all_cpu_backtrace=1 softlockup_panic=0 sysrq_always_enabled=1"
	[ ${#dir} -gt $((SUN_PATH_MAX - 8)) ] || monitor="unix:$dir/monitor,server=on,wait=off"
	append+=" ebpftrace_repo=$repo ebpftrace_job=$dir ebpftrace_kdir=$kdir ${VM_APPEND:-}"
	accel_args=(-accel "tcg,thread=$TCG_THREAD" -cpu max)
	[ "$acc" != kvm ] || accel_args=(-accel kvm -cpu host)
	# --pdeathsig: should we be SIGKILLed (no trap runs then), qemu dies with us all the same.
	setpriv --pdeathsig KILL -- "$QEMU" "${accel_args[@]}" \
		-nodefaults -no-user-config -display none -monitor "$monitor" -no-reboot \
		-machine "$MACHINE" -smp 2 -m 1G \
		-kernel "$kdir/vmlinux" -initrd "$initrd" -append "$append" \
		-serial "file:$dir/console.log" \
		-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap" \
		-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
		-fsdev "local,id=repo,path=$repo,security_model=none,multidevs=remap" \
		-device virtio-9p-pci,fsdev=repo,mount_tag=repo \
		</dev/null >"$dir/qemu.log" 2>&1 &
	qpid=$!
}

stop_qemu() {
	[ -n "$qpid" ] || return 0
	if kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null || true
		local _
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$qpid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$qpid" 2>/dev/null || true
	fi
	wait "$qpid" 2>/dev/null || true
	qpid=""
}

# Type qemu monitor commands (one per argument), a pause after each for the guest to act on it.
monitor_send() {
	local sock=$job/monitor
	[ -S "$sock" ] || return 0
	python3 - "$sock" "$@" <<'PY' 2>/dev/null || true
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
for command in sys.argv[2:]:
    s.sendall(command.encode() + b"\n")
    time.sleep(3)
PY
}

# A hung guest's last words: raise the console log level (9), then the backtraces of all CPUs (l),
# the tasks blocked in D state (w), and every task (t). The keys go to the guest's PS/2 keyboard;
# its interrupt reaches a CPU that still takes interrupts even when the other one spins.
dump_guest_state() {
	monitor_send "sendkey alt-sysrq-9" "sendkey alt-sysrq-l" "sendkey alt-sysrq-w" \
		"sendkey alt-sysrq-t"
	sleep 5 # under TCG, sysrq-t's hundreds of lines take a while to reach the serial port
}

# Copy what the guest appended to out since the last call to our stdout.
relay_output() {
	local size
	size=$(stat -c %s "$job/out")
	if [ "$size" -gt "$outpos" ]; then
		# Our reader went away (run-in-vm.sh ... | head): stop the VM rather than run on unread.
		dd if="$job/out" bs=64K iflag=skip_bytes,count_bytes skip="$outpos" count=$((size - outpos)) status=none ||
			exit 141
		outpos=$size
	fi
}

# Whether the guest has shown no sign of life (heartbeat, or boot start) for HANG_TIMEOUT seconds.
# Checked every few seconds only: it costs a stat.
hung() {
	local beat
	beat=$(stat -c %Y "$job/heartbeat" 2>/dev/null) || beat=${t_start%.*}
	[ $((EPOCHSECONDS - beat)) -gt "$HANG_TIMEOUT" ]
}

# Relay output until qemu ends (0), the deadline passes (1) or the guest hangs (2). Run with stderr
# to /dev/null: bash reports a background job's death by a signal (qemu aborting) on its stderr
# at a random point.
poll_qemu() {
	local deadline=$1 tick=0
	while kill -0 "$qpid"; do
		[ -n "$t_cmd" ] || [ ! -e "$job/started" ] || t_cmd=$(now)
		relay_output
		[ "$(now_us)" -lt "$deadline" ] || return 1
		tick=$((tick + 1))
		[ $((tick % 50)) -ne 0 ] || ! hung || return 2
		sleep 0.1
	done
}

# Wait for qemu to end, relaying output as it comes; kill it at the deadline (now_us) or when the
# guest hangs. Returns 1 on timeout, 2 on a hang.
wait_qemu() {
	local deadline=$1 status=0
	poll_qemu "$deadline" 2>/dev/null || status=$?
	if [ "$status" -ne 0 ]; then
		[ "$status" -ne 2 ] || dump_guest_state
		stop_qemu 2>/dev/null
		relay_output
		return "$status"
	fi
	wait "$qpid" 2>/dev/null || status=$?
	qpid=""
	[ "$status" -eq 0 ] || log "qemu exited with status $status: $(tail -n 3 "$job/qemu.log" | tr '\n' ' ')"
	relay_output
}

# Until the probe's qemu ends, fails or runs out of time.
probe_wait() {
	local dir=$1 deadline=$2
	while kill -0 "$qpid" && [ "$(now_us)" -lt "$deadline" ]; do
		# A failing KVM may stop the guest with "KVM internal error" and wait forever.
		! grep -q 'KVM internal error' "$dir/qemu.log" || break
		sleep 0.1
	done
}

# Whether KVM really runs this guest: /dev/kvm can exist and still fail (a nested, paravirtualised
# KVM here aborts on an MSR or stops at the first unusual instruction), so boot the guest once with
# it and see. The answer is cached per host boot (boot_id): only the first run pays for the probe.
kvm_works() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	local cache=$vmdir/accel boot_id cached_id answer probe deadline
	boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
	if [ -r "$cache" ] && read -r cached_id answer <"$cache" && [ "$cached_id" = "$boot_id" ]; then
		[ "$answer" = kvm ]
		return
	fi
	probe=$(new_job_dir kvm-probe)
	job=$probe # so that cleanup removes it if we are interrupted
	write_cmd "$probe" true
	start_qemu "$probe" kvm
	deadline=$(($(now_us) + KVM_PROBE_TIMEOUT * 1000000))
	probe_wait "$probe" "$deadline" 2>/dev/null # stderr: see poll_qemu
	stop_qemu 2>/dev/null
	answer=tcg
	[ "$(cat "$probe/rc" 2>/dev/null)" != 0 ] || answer=kvm
	rm -rf "$probe"
	job=""
	printf '%s %s\n' "$boot_id" "$answer" >"$cache"
	[ "$answer" = kvm ]
}

choose_accel() {
	case "${VM_ACCEL:-}" in
	kvm | tcg) accel=$VM_ACCEL ;;
	"") if kvm_works; then accel=kvm; else accel=tcg; fi ;;
	*) die "VM_ACCEL must be kvm or tcg" ;;
	esac
}

# On every exit path: no qemu left running, no job directory left behind.
# shellcheck disable=SC2317 # only reached through the EXIT trap
cleanup() {
	stop_qemu 2>/dev/null
	[ -n "$job" ] && [ -d "$job" ] || return 0
	[ ! -s "$job/console.log" ] || cp "$job/console.log" "$vmdir/last-console.log"
	[ -z "$failed_console" ] || cp "$job/console.log" "$failed_console"
	if [ "${VM_KEEP:-0}" = 1 ]; then
		rm -f "$job/owner" # ownerless: sweep_stale_jobs leaves it alone
		log "job directory kept: $job"
	else
		rm -rf "$job"
	fi
}

# The guest never reported an exit code: show why, in qemu's and the kernel's own words.
report_vm_failure() {
	log "error: the VM ended without reporting the command's exit code"
	if [ -s "$job/qemu.log" ]; then
		log "qemu said:"
		tail -n 20 "$job/qemu.log" >&2
	fi
	show_console
}

# A name in build/vm/failed/ for this run's console; only the newest FAILED_KEEP are kept.
keep_failed_console() {
	local old
	mkdir -p "$vmdir/failed"
	failed_console=$vmdir/failed/console-$(date -u +%Y%m%dT%H%M%SZ)-$$.log
	find "$vmdir/failed" -name 'console-*.log' -printf '%T@ %p\n' | sort -rn |
		tail -n +"$FAILED_KEEP" | cut -d' ' -f2- | while IFS= read -r old; do rm -f "$old"; done
}

# The kernel's last words (panics, stalls, oopses) tell why a guest ended or hung: from the first
# report of trouble on (up to 300 lines), or else the last 40 lines.
show_console() {
	local first
	keep_failed_console
	[ -s "$job/console.log" ] || return 0
	log "guest console (all of it: $failed_console):"
	first=$(grep -n -m 1 -E 'BUG:|WARNING:|INFO: |Oops|rcu: |Kernel panic|sysrq: ' "$job/console.log" |
		cut -d: -f1) || true
	if [ -n "$first" ]; then
		sed -n "${first},$((first + 299))p" "$job/console.log" >&2
	else
		tail -n 40 "$job/console.log" >&2
	fi
}

main() {
	parse_args "$@"
	check_host
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	kdir=$("$here/kernel.sh") || die "the VM kernel is not available (see above)"
	initrd=$("$here/initramfs.sh" "$kdir") || die "cannot build the VM's initramfs (see above)"
	sweep_stale_jobs
	choose_accel
	job=$(new_job_dir job)
	write_cmd "$job" "${cmd[@]}"

	local t_end rc
	t_start=$(now)
	start_qemu "$job" "$accel"
	local status=0
	wait_qemu $(($(now_us) + timeout * 1000000)) || status=$?
	case "$status" in
	1)
		log "error: timeout: '${cmd[*]}' did not finish within $timeout s; qemu killed"
		show_console
		exit 124
		;;
	2)
		log "error: the guest hung: no heartbeat for $HANG_TIMEOUT s; qemu killed"
		show_console
		exit 125
		;;
	esac
	t_end=$(now)
	if [ "$verbose" -eq 1 ]; then
		log "accel=$accel machine=$MACHINE" \
			"boot-to-command=$([ -z "$t_cmd" ] || elapsed "$t_start" "$t_cmd") s" \
			"total=$(elapsed "$t_start" "$t_end") s"
	fi
	if ! rc=$(cat "$job/rc" 2>/dev/null) || ! [[ $rc =~ ^[0-9]+$ ]]; then
		report_vm_failure
		exit 125
	fi
	return "$rc"
}

# One line, parsed before main runs: bash reads a script as it goes, and it may be edited meanwhile.
main "$@"; exit
