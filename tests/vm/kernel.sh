#!/bin/bash
# Fetch and cache the test VM's kernel: Debian 12's linux-image-amd64 (6.1.x), which has BTF, kprobes,
# fentry and BPF LSM, all things the host kernel may lack.
#
#   tests/vm/kernel.sh [--refresh]
#
# Prints the kernel's cache directory (build/vm/<release>) on stdout; progress goes to stderr. That
# directory holds:
#   vmlinux     the uncompressed ELF kernel (qemu boots it directly through PVH: no decompression)
#   root/       the unpacked package: root/lib/modules/<release> with modules.dep (depmod run once)
#   release     the kernel release string (uname -r inside the guest)
# build/vm/kernel points at the directory in use. Once it exists no package lookup happens at all
# (fast, works offline); --refresh looks up the current package again.
# Works on a fresh Debian 12 machine; as root it may run apt-get update if the lookup fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
vmdir=$repo/build/vm

log() { printf 'kernel.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# The versioned package (linux-image-6.1.0-N-amd64) the metapackage depends on. All versions of the
# metapackage are looked at, not just the candidate, because with backports pinned the candidate is
# a 6.12 kernel: the VM exists to test 6.1, so take the newest metapackage whose dependency is 6.1.
lookup_package() {
	apt-cache show linux-image-amd64 2>/dev/null |
		awk '/^Version:/ { v = $2 }
		     /^Depends:/ && match($0, /linux-image-6\.1\.[0-9.-]+-amd64/) {
			print v, substr($0, RSTART, RLENGTH)
		     }' |
		sort -V | tail -n 1 | cut -d' ' -f2
}

find_package() {
	local pkg
	pkg=$(lookup_package)
	if [ -z "$pkg" ]; then
		# A fresh machine may have no package lists yet; only root can fetch them.
		[ "$(id -u)" -eq 0 ] || die "linux-image-amd64 (6.1) not in the apt lists; run 'apt-get update' as root"
		log "linux-image-amd64 not found in the package lists: running apt-get update"
		apt-get update -qq >&2 || die "apt-get update failed"
		pkg=$(lookup_package)
	fi
	[ -n "$pkg" ] || die "no linux-image-6.1.*-amd64 dependency of linux-image-amd64 (is this Debian 12?)"
	printf '%s\n' "$pkg"
}

# apt-get download writes into the current directory; as root it would drop privileges to _apt,
# which cannot write into build/, so tell it to stay root (only warns otherwise, but noisily).
download_package() {
	local pkg=$1 dest=$2 opts=()
	[ "$(id -u)" -ne 0 ] || opts=(-o APT::Sandbox::User=root)
	log "downloading $pkg"
	(cd "$dest" && apt-get download -qq "${opts[@]}" "$pkg" >&2) || die "apt-get download $pkg failed"
}

# A bzImage's boot header says where the compressed kernel is: setup_sects at 0x1f1, payload_offset
# and payload_length at 0x248 (relative to the protected-mode code after the setup sectors). Debian
# compresses it with xz. Decompressing once here saves ~2.5 s per boot under TCG.
extract_vmlinux() {
	local bzimage=$1 out=$2 setup_sects payload_off payload_len start
	setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$bzimage" | tr -d ' ')
	read -r payload_off payload_len < <(od -An -tu4 -j $((0x248)) -N8 "$bzimage")
	start=$(((setup_sects + 1) * 512 + payload_off))
	[ "$(od -An -tx1 -j "$start" -N6 "$bzimage" | tr -d ' ')" = fd377a585a00 ] ||
		die "$bzimage: payload at $start is not an xz stream"
	# dd rather than tail|head: head closing the pipe early would fail the pipeline (pipefail).
	dd if="$bzimage" bs=64K iflag=skip_bytes,count_bytes skip="$start" count="$payload_len" status=none |
		if command -v xz >/dev/null; then
			xz -dc --single-stream
		else
			# xz-utils is only 'standard' priority; python3 (a test dependency) can do it too.
			python3 -c 'import lzma, sys
sys.stdout.buffer.write(lzma.LZMADecompressor().decompress(sys.stdin.buffer.read()))'
		fi >"$out.tmp"
	[ "$(od -An -tx1 -N4 "$out.tmp" | tr -d ' ')" = 7f454c46 ] || die "decompressed kernel is not an ELF file"
	mv "$out.tmp" "$out"
}

# Download, unpack, extract and index one kernel package into build/vm/<release>. Each step leaves
# its result under a final name only when complete, so an interrupted run is simply redone.
prepare() {
	local pkg=$1 release kdir deb
	release=${pkg#linux-image-}
	[[ $release =~ ^6\.1\.[0-9]+-[0-9]+-amd64$ ]] || die "unexpected kernel package name '$pkg'"
	kdir=$vmdir/$release
	if [ ! -e "$kdir/ready" ]; then
		rm -rf "$kdir"
		mkdir -p "$kdir/deb"
		download_package "$pkg" "$kdir/deb"
		deb=$(find "$kdir/deb" -name "${pkg}_*.deb" | head -n 1)
		[ -n "$deb" ] || die "downloaded package not found in $kdir/deb"
		log "unpacking $(basename "$deb")"
		dpkg-deb -x "$deb" "$kdir/root"
		[ -d "$kdir/root/lib/modules/$release" ] || die "$deb has no lib/modules/$release"
		extract_vmlinux "$kdir/root/boot/vmlinuz-$release" "$kdir/vmlinux"
		# The guest autoloads modules (cls_bpf, sch_ingress, veth) through modules.dep.
		depmod -b "$kdir/root" "$release"
		printf '%s\n' "$release" >"$kdir/release"
		rm -rf "$kdir/deb" # 70 MB we no longer need
		touch "$kdir/ready"
	fi
	ln -sfn "$release" "$vmdir/kernel"
}

main() {
	local refresh=0
	case "${1:-}" in
	--refresh) refresh=1 ;;
	"") ;;
	*) die "usage: $0 [--refresh]" ;;
	esac
	mkdir -p "$vmdir"
	# Several runs may start at once (make -j): one prepares, the others wait for it.
	exec 9>"$vmdir/.kernel.lock"
	flock 9
	if [ "$refresh" -eq 1 ] || [ ! -e "$vmdir/kernel/ready" ]; then
		local pkg
		pkg=$(find_package) # its own statement: set -e stops here when the lookup fails
		prepare "$pkg"
	fi
	printf '%s\n' "$(cd "$vmdir/kernel" && pwd -P)"
}

# One line, parsed before main runs: bash reads a script as it goes, and it may be edited meanwhile.
main "$@"; exit
