#!/bin/busybox sh
# shellcheck shell=dash # busybox ash: POSIX sh plus a little (ulimit -l)
# The test VM's init, run by busybox sh as PID 1 in two stages (built into the initramfs by
# tests/vm/initramfs.sh; run-in-vm.sh boots it).
#
#   stage 1 (/init in the initramfs): load the virtio/9p/overlay modules, mount the host's /
#           (read-only 9p) under a tmpfs overlay, mount the repository read-write at its host
#           path, switch_root.
#   stage 2 (/run/vm/init in the new root): mount the kernel file systems, bring lo up, run the job
#           from the repository's job directory, record its exit code, power off.
#
# Parameters come from the kernel command line; the kernel hands unknown name=value words to init
# as environment variables (names without dots, or it would take them for module parameters):
#   ebpftrace_repo  the repository's path (same on host and guest), shared read-write as tag "repo"
#   ebpftrace_job   the job directory (under the repository): cmd (a bash script) in; out, rc out
#   ebpftrace_kdir  the kernel's cache directory (build/vm/<release>); its root/lib/modules is used
#   ebpftrace_debug if set, time stamps of the boot steps go to the console (VM_APPEND=...)
# POSIX sh on purpose: stage 1 has nothing but busybox. No set -e: PID 1 must reach the power-off.
#
# Every command run costs ~30 ms under TCG, so steps are batched: one modprobe -a, fstab files for
# mount -a, shell builtins where they do (writing /proc files instead of running hostname).

repo=${ebpftrace_repo:-}
job=${ebpftrace_job:-}
kdir=${ebpftrace_kdir:-}
debug=${ebpftrace_debug:-}
# 9p: a message size above the default 8 KiB makes reads much faster.
NINEP=trans=virtio,version=9p2000.L,msize=512000

mark() {
	[ -n "$debug" ] || return 0
	local up=""
	read -r up _ 2>/dev/null </proc/uptime
	echo "guest-init: $up $*" >/dev/console
}

fail() {
	echo "guest-init: $*" >&2
	# Exiting PID 1 panics the kernel; panic=-1 turns that into a reboot and -no-reboot into a qemu
	# exit, so a broken boot ends at once instead of waiting for the host's timeout.
	exit 1
}

# The root: the host's / read-only (cache=loose: it does not change under the tests) with a tmpfs
# layer on top, so tests may write anywhere and the host never sees it. The repository read-write
# at its own path (cache=mmap: reads and writes go straight to the host, which follows out as it
# grows and sees rc once written, yet mmap works). A fresh /run, not the host's.
mount_root() {
	mkdir -p /lower /upper /newroot
	printf '%s\n' \
		"hostroot /lower 9p ro,$NINEP,cache=loose 0 0" \
		"upper /upper tmpfs mode=0755 0 0" >/etc/fstab.lower
	mount -a -T /etc/fstab.lower || fail "cannot mount the host's / over 9p"
	mkdir -p /upper/data /upper/work
	printf '%s\n' \
		"overlay /newroot overlay lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work 0 0" \
		"repo /newroot$repo 9p $NINEP,cache=mmap 0 0" \
		"tmpfs /newroot/run tmpfs mode=0755,nosuid,nodev 0 0" >/etc/fstab.root
	mount -a -T /etc/fstab.root || fail "cannot mount the overlay root or the repository $repo"
}

stage1() {
	/bin/busybox --install -s /bin
	export PATH=/bin
	mount -t devtmpfs devtmpfs /dev || fail "cannot mount devtmpfs"
	exec </dev/console >/dev/console 2>&1
	[ -z "$debug" ] || mount -t proc proc /proc
	mark "stage 1"
	if [ -z "$repo" ] || [ -z "$job" ] || [ -z "$kdir" ]; then
		fail "ebpftrace_repo, ebpftrace_job and ebpftrace_kdir must be on the kernel command line"
	fi
	# What udev would add to devtmpfs: /dev/fd (bash needs it for <(...)), std{in,out,err}, pts, shm.
	cp -a /devskel/. /dev/
	# The initramfs has these modules and a modules.dep for them (initramfs.sh ran depmod).
	# shellcheck disable=SC2046 # one module name a word
	modprobe -a $(cat /etc/modules) || fail "cannot load the modules: $(cat /etc/modules)"
	mark "modules loaded"
	mount_root
	mark "root mounted"
	# Stage 2 runs from /run/vm: the host's root may have no busybox.
	mkdir -p /newroot/run/vm
	cp /bin/busybox /init /newroot/run/vm/
	mount --move /dev /newroot/dev
	[ -z "$debug" ] || umount /proc
	exec switch_root /newroot /run/vm/busybox sh /run/vm/init stage2
}

# The extracted modules appear where modprobe looks, so that cls_bpf, sch_ingress and veth autoload
# when tc or ip asks the kernel for them.
mount_modules() {
	local rel
	read -r rel </proc/sys/kernel/osrelease
	$bb mkdir -p "/lib/modules/$rel"
	$bb mount --bind "$kdir/root/lib/modules/$rel" "/lib/modules/$rel" ||
		echo "guest-init: no modules for $rel in $kdir" >&2
}

# Kernel file systems at their standard places, as on a normal boot, so ebpftrace finds them.
# Mounting bpffs makes the kernel ask modprobe for bpf_preload,
# which this kernel does not have (CONFIG_BPF_PRELOAD is off); an empty modprobe path skips that
# 0.3 s fruitless run of modprobe over 9p. No other module is needed for these mounts.
mount_kernel_fs() {
	local modprobe
	read -r modprobe </proc/sys/kernel/modprobe
	echo >/proc/sys/kernel/modprobe
	printf '%s\n' \
		"sysfs /sys sysfs nosuid,nodev,noexec 0 0" \
		"devpts /dev/pts devpts gid=5,mode=620,ptmxmode=000 0 0" \
		"tmpfs /dev/shm tmpfs nosuid,nodev 0 0" \
		"securityfs /sys/kernel/security securityfs defaults 0 0" \
		"tracefs /sys/kernel/tracing tracefs defaults 0 0" \
		"debugfs /sys/kernel/debug debugfs defaults 0 0" \
		"bpffs /sys/fs/bpf bpf mode=0700 0 0" \
		"cgroup2 /sys/fs/cgroup cgroup2 nsdelegate 0 0" \
		"tmpfs /tmp tmpfs mode=1777,nosuid,nodev 0 0" >/run/vm/fstab
	# (The host's /tmp is in the lower layer: a fresh tmpfs hides it; tests want an empty, fast /tmp.)
	$bb mount -a -T /run/vm/fstab || echo "guest-init: some kernel file systems did not mount" >&2
	echo "$modprobe" >/proc/sys/kernel/modprobe
}

# Proof of life for the host, every 5 s: a guest wedged in the kernel (seen once: an RCU stall with
# both CPUs stuck) then fails in two minutes instead of at the run's timeout.
heartbeat() {
	while :; do
		: >"$job/heartbeat"
		$bb sleep 5
	done
}

run_job() {
	: >"$job/started"
	# A clean, predictable environment: no kernel command line leftovers, no pyenv shims, the
	# system python3 first. PYTHONUNBUFFERED so the host sees test lines as they come.
	cd "$repo" &&
		$bb env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb LANG=C.UTF-8 \
			PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 EBPFTRACE_VM=1 \
			/bin/bash "$job/cmd" </dev/null >"$job/out" 2>&1
	rc=$?
	# Write the exit code to a new name and rename it: the host never reads a half-written rc.
	echo "$rc" >"$job/rc.tmp" && $bb mv "$job/rc.tmp" "$job/rc"
}

stage2() {
	bb=/run/vm/busybox
	$bb mount -t proc -o nosuid,nodev,noexec proc /proc
	# Modules first: from here on any mount or command may make the kernel ask modprobe for one.
	mount_modules
	mount_kernel_fs
	mark "stage 2: kernel file systems mounted"
	# Warnings reach the console from here on: the backtraces of a soft lockup or a hung task are
	# printed at the default level (warning), which quiet hides. A task blocked for 60 s is
	# reported, before the host gives up on a silent guest (VM_HANG_TIMEOUT, 120 s).
	echo 5 >/proc/sys/kernel/printk
	echo 60 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
	echo ebpftrace-vm >/proc/sys/kernel/hostname
	# The tcp tests use 127.0.0.1 and ::1; ::1 appears by itself once lo is up.
	$bb ip link set lo up
	# Kernels before 5.11 charged BPF memory to RLIMIT_MEMLOCK; 6.1 does not, but tools that still
	# raise the limit should not fail on it.
	# shellcheck disable=SC3045 # busybox ash has ulimit -l
	ulimit -l unlimited
	heartbeat </dev/null >/dev/null 2>&1 &
	mark "running the job"
	run_job
	mark "job done"
	$bb sync
	# Synchronous power-off from PID 1 itself (sysrq 'o' raced with init's exit).
	exec $bb poweroff -f
}

case "${1:-stage1}" in
stage2) stage2 ;;
*) stage1 ;;
esac
