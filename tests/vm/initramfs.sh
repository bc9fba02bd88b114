#!/bin/bash
# Build (once) the test VM's initramfs for a kernel prepared by kernel.sh:
#
#   tests/vm/initramfs.sh KDIR
#
# Prints the path of KDIR/initramfs.cpio on stdout. Contents: busybox-static, guest-init.sh as /init,
# and the modules stage 1 needs to reach the 9p root (virtio PCI, 9p, overlay), with their load order.
# Rebuilt when guest-init.sh, this script or busybox is newer than the archive. Uncompressed: it is
# about 1 MB, and not decompressing it saves boot time under TCG.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# What stage 1 loads explicitly; their dependencies (virtio, virtio_ring, netfs, fscache, 9pnet, ...)
# are added by modprobe --show-depends in the right order.
MODULES=(virtio_pci virtio_mmio 9pnet_virtio 9p overlay)

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

# Paths (relative to the modules tree) of MODULES and their dependencies, dependencies first, each once.
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

build() {
	local kdir=$1 busybox=$2 release stage path base
	release=$(cat "$kdir/release")
	stage=$(mktemp -d "$kdir/initramfs.XXXXXX")
	# shellcheck disable=SC2064 # expand now: the trap must remove this very directory
	trap "rm -rf '$stage'" EXIT
	mkdir -p "$stage"/{bin,dev,proc,sys,modules}
	cp "$busybox" "$stage/bin/busybox"
	cp "$here/guest-init.sh" "$stage/init"
	chmod 0755 "$stage/init" "$stage/bin/busybox"
	while read -r path; do
		base=$(basename "$path")
		cp "$path" "$stage/modules/$base"
		printf '%s\n' "$base" >>"$stage/modules/order"
	done < <(module_order "$kdir" "$release")
	[ -s "$stage/modules/order" ] || die "no modules found for $release"
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$kdir/initramfs.cpio.tmp"
	mv "$kdir/initramfs.cpio.tmp" "$kdir/initramfs.cpio"
	log "built $kdir/initramfs.cpio ($(wc -l <"$stage/modules/order") modules)"
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

main "$@"
