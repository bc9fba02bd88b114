#!/bin/bash
# Build (once) the test VM's initramfs for a kernel prepared by kernel.sh:
#
#   tests/vm/initramfs.sh KDIR
#
# Prints the path of KDIR/initramfs.cpio on stdout. Contents: busybox-static, guest-init.sh as /init,
# and the modules stage 1 needs to reach the 9p root (virtio PCI, 9p, overlay) with a modules.dep.
# Rebuilt when guest-init.sh, this script or busybox is newer than the archive. Uncompressed (3.6 MB,
# most of it busybox): not decompressing it saves boot time under TCG.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# What stage 1 loads (modprobe -a); their dependencies (virtio, virtio_ring, netfs, fscache, 9pnet,
# ...) come along, found by modprobe --show-depends.
MODULES=(virtio_pci 9pnet_virtio 9p overlay)

log() { printf 'initramfs.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

find_busybox() {
	local bb
	for bb in /bin/busybox /usr/bin/busybox; do
		# The initramfs has no libraries: only the static build will do.
		# (a dynamic executable names its loader, ld-linux-*.so, near the start of the file).
		if [ -x "$bb" ] && ! LC_ALL=C grep -qa 'ld-linux' < <(head -c 4096 "$bb"); then
			printf '%s\n' "$bb"
			return
		fi
	done
	die "no static busybox found (install busybox-static)"
}

# Paths of MODULES and their dependencies, dependencies first, each once.
module_order() {
	local kdir=$1 release=$2 mod
	for mod in "${MODULES[@]}"; do
		modprobe -d "$kdir/root" -S "$release" --show-depends "$mod" ||
			die "module $mod not found for $release"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

# Newer than the archive: then it needs building again.
stale() {
	local out=$1 busybox=$2
	[ -s "$out" ] || return 0
	[ -n "$(find "$here/guest-init.sh" "${BASH_SOURCE[0]}" "$busybox" -newer "$out")" ]
}

# What udev would add to devtmpfs; stage 1 copies it into /dev in one go.
make_devskel() {
	local dir=$1
	mkdir -p "$dir/pts" "$dir/shm"
	ln -s /proc/self/fd "$dir/fd"
	ln -s /proc/self/fd/0 "$dir/stdin"
	ln -s /proc/self/fd/1 "$dir/stdout"
	ln -s /proc/self/fd/2 "$dir/stderr"
}

# The modules at their usual place with a modules.dep of their own, so that one busybox modprobe -a
# loads them all in order (each command run costs ~30 ms under TCG; eleven insmods cost 0.3 s).
copy_modules() {
	local kdir=$1 release=$2 stage=$3 order path rel
	local from=$kdir/root/lib/modules/$release to=$stage/lib/modules/$release
	order=$(module_order "$kdir" "$release") # not in <(...): there a failure would go unnoticed
	while read -r path; do
		rel=${path##*/lib/modules/"$release"/}
		mkdir -p "$to/$(dirname "$rel")"
		cp "$path" "$to/$rel"
	done <<<"$order"
	[ -n "$(find "$to" -name '*.ko*')" ] || die "no modules found for $release"
	cp "$from"/modules.{order,builtin,builtin.modinfo} "$to/"
	depmod -b "$stage" "$release"
	printf '%s\n' "${MODULES[@]}" >"$stage/etc/modules"
}

build() {
	local kdir=$1 busybox=$2 release stage
	release=$(cat "$kdir/release")
	stage=$(mktemp -d "$kdir/initramfs.XXXXXX")
	# shellcheck disable=SC2064 # expand now: the trap must remove this very directory
	trap "rm -rf '$stage'" EXIT
	mkdir -p "$stage"/{bin,dev,etc,proc,sys}
	cp "$busybox" "$stage/bin/busybox"
	cp "$here/guest-init.sh" "$stage/init"
	chmod 0755 "$stage/init" "$stage/bin/busybox"
	make_devskel "$stage/devskel"
	copy_modules "$kdir" "$release" "$stage"
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) \
		>"$kdir/initramfs.cpio.tmp"
	mv "$kdir/initramfs.cpio.tmp" "$kdir/initramfs.cpio"
	log "built $kdir/initramfs.cpio ($(find "$stage/lib/modules" -name '*.ko*' | wc -l) modules)"
}

main() {
	if [ $# -ne 1 ] || [ ! -e "$1/ready" ]; then
		die "usage: $0 KDIR (a directory prepared by kernel.sh)"
	fi
	local kdir=$1 busybox
	busybox=$(find_busybox)
	exec 9>"$kdir/.initramfs.lock"
	flock 9
	if stale "$kdir/initramfs.cpio" "$busybox"; then
		build "$kdir" "$busybox"
	fi
	printf '%s\n' "$kdir/initramfs.cpio"
}

# One line, parsed before main runs: bash reads a script as it goes, and it may be edited meanwhile.
main "$@"; exit
