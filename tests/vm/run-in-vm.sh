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
# failed (no qemu, no kernel, the guest never reported an exit code; the reason is on stderr).
#
# Knobs, for debugging: --verbose prints the accelerator and timings on stderr. VM_ACCEL=kvm|tcg
# overrides the automatic choice (KVM only where a probe boot actually works, else TCG).
# VM_MACHINE=pc|q35 replaces the default microvm (virtio-mmio; no PCI or ACPI interrupt routing to
# set up, ~0.5 s faster to boot under TCG). VM_APPEND adds kernel parameters (ignore_loglevel;
# ebpftrace_debug=1 time-stamps the guest init's steps on the console). VM_KEEP=1 keeps the job
# directory (build/vm/runs/job.*: cmd, out, rc, console.log, qemu.log). build/vm/last-console.log
# always has the guest console of the last run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
vmdir=$repo/build/vm
QEMU=${QEMU:-qemu-system-x86_64}
MACHINE=${VM_MACHINE:-microvm}
KVM_PROBE_TIMEOUT=30 # a working KVM boots the probe in about a second; a broken one may hang

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
		die "the repository path '$repo' must consist of letters, digits and _./+- only (it goes on the kernel command line)"
	command -v "$QEMU" >/dev/null || die "$QEMU not found (install qemu-system-x86)"
}

# A job directory is the guest's mailbox: cmd in; out, rc and started out.
new_job_dir() {
	mkdir -p "$vmdir/runs"
	mktemp -d "$vmdir/runs/$1.XXXXXX"
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

# qemu arguments, one a line, for one boot running job directory $1 with accelerator $2.
qemu_args() {
	local dir=$1 acc=$2 append ninep=virtio-9p-pci
	# quiet: every console character costs time under TCG. panic=-1 with -no-reboot: a guest panic
	# (init failing) ends qemu at once instead of at the timeout.
	append="console=ttyS0 quiet panic=-1 lsm=$(lsm_list)"
	append+=" ebpftrace_repo=$repo ebpftrace_job=$dir ebpftrace_kdir=$kdir ${VM_APPEND:-}"
	case "$MACHINE" in microvm*) ninep=virtio-9p-device ;; esac
	if [ "$acc" = kvm ]; then
		printf '%s\n' -accel kvm -cpu host
	else
		printf '%s\n' -accel tcg,thread=multi -cpu max
	fi
	printf '%s\n' -nodefaults -no-user-config -display none -monitor none -no-reboot \
		-machine "$MACHINE" -smp 2 -m 1G \
		-kernel "$kdir/vmlinux" -initrd "$initrd" -append "$append" \
		-serial "file:$dir/console.log" \
		-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap" \
		-device "$ninep,fsdev=hostroot,mount_tag=hostroot" \
		-fsdev "local,id=repo,path=$repo,security_model=none,multidevs=remap" \
		-device "$ninep,fsdev=repo,mount_tag=repo"
}

start_qemu() {
	local dir=$1 acc=$2 args
	mapfile -t args < <(qemu_args "$dir" "$acc")
	"$QEMU" "${args[@]}" </dev/null >"$dir/qemu.log" 2>&1 &
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

# Relay output until qemu ends (0) or the deadline passes (1). Run with stderr to /dev/null: bash
# reports a background job's death by a signal (qemu aborting) on its stderr at a random point.
poll_qemu() {
	local deadline=$1
	while kill -0 "$qpid"; do
		[ -n "$t_cmd" ] || [ ! -e "$job/started" ] || t_cmd=$(now)
		relay_output
		[ "$(now_us)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# Wait for qemu to end, relaying output as it comes; kill it at the deadline (now_us).
# Returns 1 on timeout.
wait_qemu() {
	local deadline=$1 status=0
	if ! poll_qemu "$deadline" 2>/dev/null; then
		stop_qemu 2>/dev/null
		relay_output
		return 1
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
	if [ "${VM_KEEP:-0}" = 1 ]; then
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
	if [ -s "$job/console.log" ]; then
		log "last lines of the guest console (all of it: $vmdir/last-console.log):"
		tail -n 30 "$job/console.log" >&2
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
	choose_accel
	job=$(new_job_dir job)
	write_cmd "$job" "${cmd[@]}"

	local t_start t_end rc
	t_start=$(now)
	start_qemu "$job" "$accel"
	if ! wait_qemu $(($(now_us) + timeout * 1000000)); then
		log "error: timeout: '${cmd[*]}' did not finish within $timeout s; qemu killed"
		exit 124
	fi
	t_end=$(now)
	if [ "$verbose" -eq 1 ]; then
		log "accel=$accel machine=$MACHINE boot-to-command=$([ -z "$t_cmd" ] || elapsed "$t_start" "$t_cmd") s total=$(elapsed "$t_start" "$t_end") s"
	fi
	if ! rc=$(cat "$job/rc" 2>/dev/null) || ! [[ $rc =~ ^[0-9]+$ ]]; then
		report_vm_failure
		exit 125
	fi
	exit "$rc"
}

main "$@"
