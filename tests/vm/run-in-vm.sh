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
# --verbose prints the accelerator and timings on stderr. VM_ACCEL=kvm|tcg overrides the automatic
# choice (KVM only where a probe boot actually works, else TCG). VM_KEEP=1 keeps the job directory
# (build/vm/runs/job.*: cmd, out, rc, console.log, qemu.log) and VM_APPEND adds kernel parameters
# (e.g. ignore_loglevel), for debugging.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
vmdir=$repo/build/vm
QEMU=${QEMU:-qemu-system-x86_64}
KVM_PROBE_TIMEOUT=30 # a real KVM boots the probe in about a second; a broken one hangs

timeout=300
verbose=0
envs=()
job=""
qpid=""

log() { printf 'run-in-vm: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 125
}
now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

usage() {
	echo "usage: $0 [--timeout SECONDS] [--env NAME=VALUE]... [--verbose] -- CMD [ARGS...]" >&2
	exit 125
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--timeout)
			[ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || usage
			timeout=$2
			shift 2
			;;
		--env)
			[ $# -ge 2 ] && [[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || usage
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
check_paths() {
	[[ $repo =~ ^/[A-Za-z0-9_./+-]+$ ]] ||
		die "the repository path '$repo' must consist of letters, digits and _./+- only (it goes on the kernel command line)"
	command -v "$QEMU" >/dev/null || die "$QEMU not found (install qemu-system-x86)"
}

# The job directory is the guest's mailbox: cmd in; out, rc and started out.
make_job() {
	mkdir -p "$vmdir/runs"
	job=$(mktemp -d "$vmdir/runs/job.XXXXXX")
	{
		echo '#!/bin/bash'
		local kv
		for kv in "${envs[@]}"; do
			printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
		done
		printf 'exec'
		printf ' %q' "${cmd[@]}"
		printf '\n'
	} >"$job/cmd"
	: >"$job/out"
}

# qemu arguments for one boot of the guest running job $1 with accelerator $2.
qemu_args() {
	local jobdir=$1 accel=$2 lsm append
	# BPF LSM must be in the active list: take the kernel's built-in list and make sure bpf ends it.
	lsm=$(sed -n 's/^CONFIG_LSM="\(.*\)"$/\1/p' "$kdir/root/boot/config-$(cat "$kdir/release")")
	case ",$lsm," in *,bpf,*) ;; *) lsm=${lsm:+$lsm,}bpf ;; esac
	# quiet: every console character costs time under TCG; panic=-1 with -no-reboot makes a guest
	# panic end qemu at once.
	append="console=ttyS0 quiet panic=-1 lsm=$lsm"
	append+=" ebpftrace_repo=$repo ebpftrace_job=$jobdir ebpftrace_kdir=$kdir ${VM_APPEND:-}"
	NINEP_DEV=virtio-9p-pci
	case "${VM_MACHINE:-pc}" in microvm*) NINEP_DEV=virtio-9p-device ;; esac
	local accel_args=(-accel tcg,thread=multi -cpu max)
	[ "$accel" = kvm ] && accel_args=(-accel kvm -cpu host)
	printf '%s\n' "${accel_args[@]}" \
		-nodefaults -no-user-config -display none -monitor none -no-reboot \
		-machine "${VM_MACHINE:-pc}" -smp 2 -m 1G \
		-kernel "$kdir/vmlinux" -initrd "$initrd" -append "$append" \
		-serial "file:$jobdir/console.log" \
		-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap" \
		-device "$NINEP_DEV,fsdev=hostroot,mount_tag=hostroot" \
		-fsdev "local,id=repo,path=$repo,security_model=none,multidevs=remap" \
		-device "$NINEP_DEV,fsdev=repo,mount_tag=repo"
}

start_qemu() {
	local jobdir=$1 accel=$2 args
	mapfile -t args < <(qemu_args "$jobdir" "$accel")
	"$QEMU" "${args[@]}" </dev/null >"$jobdir/qemu.log" 2>&1 &
	qpid=$!
}

stop_qemu() {
	[ -n "$qpid" ] || return 0
	if kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null || true
		local i
		for i in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$qpid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$qpid" 2>/dev/null || true
	fi
	wait "$qpid" 2>/dev/null || true
	qpid=""
}

# Copy what the guest appended to out since the last call to our stdout.
outpos=0
relay_output() {
	local size
	size=$(stat -c %s "$job/out")
	if [ "$size" -gt "$outpos" ]; then
		dd if="$job/out" bs=64K iflag=skip_bytes,count_bytes skip="$outpos" count=$((size - outpos)) status=none
		outpos=$size
	fi
}

# Wait for qemu to end, relaying output; kill it at the deadline. Returns 1 on timeout.
t_start=0
t_cmd=""
wait_qemu() {
	local deadline=$1
	while kill -0 "$qpid" 2>/dev/null; do
		[ -n "$t_cmd" ] || [ ! -e "$job/started" ] || t_cmd=$(now)
		relay_output
		if awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n > d) }'; then
			stop_qemu
			relay_output
			return 1
		fi
		sleep 0.1
	done
	wait "$qpid" || log "qemu exited with status $?: $(tail -n 3 "$job/qemu.log" | tr '\n' ' ')"
	qpid=""
	relay_output
}

# Whether KVM really runs this guest: /dev/kvm can exist and still fail at the first unusual
# instruction (a nested, paravirtualised KVM does), so boot the guest once with it and see. The
# answer is cached per host boot (boot_id), so only the first run pays for the probe.
kvm_works() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	local cache=$vmdir/accel boot_id answer
	boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
	if [ -r "$cache" ] && read -r cached_id answer <"$cache" && [ "$cached_id" = "$boot_id" ]; then
		[ "$answer" = kvm ]
		return
	fi
	local probe rc=1
	probe=$(mktemp -d "$vmdir/runs/kvm-probe.XXXXXX")
	printf '#!/bin/bash\nexit 0\n' >"$probe/cmd"
	: >"$probe/out"
	start_qemu "$probe" kvm
	local deadline
	deadline=$(awk -v n="$(now)" -v t="$KVM_PROBE_TIMEOUT" 'BEGIN { printf "%.3f", n + t }')
	while kill -0 "$qpid" 2>/dev/null; do
		# A failing KVM stops the guest with "KVM internal error" and waits: no need to wait more.
		grep -q 'KVM internal error' "$probe/qemu.log" 2>/dev/null && break
		awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n > d) }' && break
		sleep 0.1
	done
	stop_qemu
	[ "$(cat "$probe/rc" 2>/dev/null)" = 0 ] && rc=0
	rm -rf "$probe"
	answer=tcg
	[ "$rc" -eq 0 ] && answer=kvm
	printf '%s %s\n' "$boot_id" "$answer" >"$cache"
	return "$rc"
}

choose_accel() {
	case "${VM_ACCEL:-}" in
	kvm | tcg) echo "$VM_ACCEL" ;;
	"") if kvm_works; then echo kvm; else echo tcg; fi ;;
	*) die "VM_ACCEL must be kvm or tcg" ;;
	esac
}

cleanup() {
	stop_qemu
	if [ -n "$job" ] && [ -d "$job" ]; then
		[ ! -s "$job/console.log" ] || cp "$job/console.log" "$vmdir/last-console.log"
		[ "${VM_KEEP:-0}" = 1 ] && log "job directory kept: $job" || rm -rf "$job"
	fi
}

# The guest never reported an exit code: show why, from qemu's and the kernel's own words.
report_vm_failure() {
	log "error: the VM ended without reporting the command's exit code"
	if [ -s "$job/qemu.log" ]; then
		log "qemu said:"
		tail -n 20 "$job/qemu.log" >&2
	fi
	if [ -s "$job/console.log" ]; then
		log "last lines of the guest console ($vmdir/last-console.log):"
		tail -n 30 "$job/console.log" >&2
	fi
}

main() {
	parse_args "$@"
	check_paths
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	kdir=$("$here/kernel.sh") || die "the VM kernel is not available (see above)"
	initrd=$("$here/initramfs.sh" "$kdir") || die "cannot build the VM's initramfs (see above)"
	make_job
	local accel deadline
	accel=$(choose_accel)
	t_start=$(now)
	deadline=$(awk -v n="$t_start" -v t="$timeout" 'BEGIN { printf "%.3f", n + t }')
	start_qemu "$job" "$accel"
	if ! wait_qemu "$deadline"; then
		log "error: timeout: '${cmd[*]}' did not finish within $timeout s; qemu killed"
		exit 124
	fi
	local t_end rc
	t_end=$(now)
	if [ "$verbose" -eq 1 ]; then
		log "accel=$accel boot-to-command=$([ -n "$t_cmd" ] && elapsed "$t_start" "$t_cmd" || echo '?') s total=$(elapsed "$t_start" "$t_end") s"
	fi
	if ! rc=$(cat "$job/rc" 2>/dev/null) || ! [[ $rc =~ ^[0-9]+$ ]]; then
		report_vm_failure
		exit 125
	fi
	exit "$rc"
}

main "$@"
