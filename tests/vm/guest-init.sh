#!/bin/busybox sh
# shellcheck shell=dash # busybox ash: POSIX sh plus a little (ulimit -l)
# The test VM's init, run by busybox sh as PID 1 in two stages (built into the initramfs by
# tests/vm/initramfs.sh; run-in-vm.sh boots it).
#
#   stage 1 (/init in the initramfs): load the virtio/9p/overlay modules, mount the host's / (read-only
#           9p) under a tmpfs overlay, mount the repository read-write at its host path, switch_root.
#   stage 2 (/run/vm/init in the new root): mount the kernel file systems, bring lo up, run the job
#           from the repository's job directory, record its exit code, power off.
#
# Parameters come from the kernel command line; the kernel hands unknown name=value words to init as
# environment variables (names without dots, or it would take them for module parameters):
#   ebpftrace_repo  the repository's path (same on host and guest), shared read-write as tag "repo"
#   ebpftrace_job   the job directory (under the repository): cmd (a bash script) in; out, rc out
#   ebpftrace_kdir  the kernel's cache directory (build/vm/<release>); its root/lib/modules is used
# POSIX sh on purpose: stage 1 has nothing but busybox. No set -e: PID 1 must reach the power-off.

repo=${ebpftrace_repo:-}
job=${ebpftrace_job:-}
kdir=${ebpftrace_kdir:-}
debug=${ebpftrace_debug:-} # VM_APPEND=ebpftrace_debug=1: time stamps of the boot steps on the console
MSIZE=512000 # 9p message size: larger than the default 8 KiB makes file reads much faster

mark() {
	[ -z "$debug" ] || echo "guest-init: $(cat /proc/uptime 2>/dev/null) $*" >/dev/console
}

fail() {
	echo "guest-init: $*" >&2
	# Exiting PID 1 panics the kernel; panic=-1 turns that into a reboot and -no-reboot into a qemu
	# exit, so a broken boot ends at once instead of waiting for the host's timeout.
	exit 1
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

	# Module order (dependencies first) was worked out on the host by modprobe --show-depends.
	while read -r mod; do
		insmod "/modules/$mod" || fail "insmod $mod failed"
	done </modules/order

	mark "modules loaded"
	mkdir -p /lower /upper /newroot
	# cache=loose: the host's / is read-only to us and does not change under the tests.
	mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=$MSIZE,cache=loose hostroot /lower ||
		fail "cannot mount the host's / over 9p"
	# The root is the host's / plus a tmpfs layer: tests may write anywhere, the host never sees it.
	mount -t tmpfs -o mode=0755 upper /upper
	mkdir -p /upper/data /upper/work
	mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
		fail "cannot mount the overlay root"
	# cache=mmap: reads and writes go straight to the host (the host follows out while it grows, and
	# sees rc as soon as it is written), yet mmap works (Python, the dynamic loader).
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=$MSIZE,cache=mmap repo "/newroot$repo" ||
		fail "cannot mount the repository $repo over 9p"

	mark "root mounted"
	# A fresh /run (not the host's) keeps busybox and this script for stage 2 and the power-off.
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run
	mkdir -p /newroot/run/vm
	cp /bin/busybox /init /newroot/run/vm/
	mv /newroot/run/vm/init /newroot/run/vm/guest-init
	mount --move /dev /newroot/dev
	[ -z "$debug" ] || umount /proc
	exec switch_root /newroot /run/vm/busybox sh /run/vm/guest-init stage2
}

# Kernel file systems at their standard places, as on a normal boot, so ebpftrace finds them.
mount_kernel_fs() {
	$bb mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
	$bb mkdir -p /dev/pts /dev/shm
	$bb mount -t devpts -o gid=5,mode=620,ptmxmode=000 devpts /dev/pts
	$bb mount -t tmpfs -o nosuid,nodev tmpfs /dev/shm
	$bb mount -t securityfs securityfs /sys/kernel/security
	$bb mount -t tracefs tracefs /sys/kernel/tracing
	$bb mount -t debugfs debugfs /sys/kernel/debug
	$bb mount -t bpf -o mode=0700 bpffs /sys/fs/bpf
	$bb mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
	# The host's /tmp is in the lower layer: hide it, tests want an empty, fast /tmp.
	$bb mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
}

# The extracted modules appear where modprobe looks, so that cls_bpf, sch_ingress and veth autoload
# when tc or ip asks the kernel for them.
mount_modules() {
	rel=$($bb uname -r)
	$bb mkdir -p "/lib/modules/$rel"
	$bb mount --bind "$kdir/root/lib/modules/$rel" "/lib/modules/$rel" ||
		echo "guest-init: no modules for $rel in $kdir" >&2
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
	bb=/run/vm/busybox # the host's root may have no busybox; this copy came from the initramfs
	$bb mount -t proc -o nosuid,nodev,noexec proc /proc
	# Modules first: from here on any mount or command may make the kernel ask modprobe for one.
	mount_modules
	mount_kernel_fs
	mark "stage 2: kernel file systems mounted"
	$bb hostname ebpftrace-vm
	# The tcp tests use 127.0.0.1 and ::1; ::1 appears by itself once lo is up.
	$bb ip link set lo up
	# shellcheck disable=SC3045 # busybox ash has ulimit -l; libbpf no longer needs it on 6.1, but
	# older habits (and tools) do.
	ulimit -l unlimited
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
