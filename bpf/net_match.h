/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network rules as the kernel side matches them, shared by lsm-block and tc (parsed in
 * common/netrule.c, matched in bpf/net_match.bpf.h). Addresses are 16 bytes, an IPv4 address as
 * IPv4-mapped IPv6 (::ffff:a.b.c.d): a rule on an IPv4 network then also covers the same
 * addresses on AF_INET6 sockets, and one comparison serves both families.
 */
#ifndef EBPFTRACE_NET_MATCH_H
#define EBPFTRACE_NET_MATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* An address and its prefix; addr and mask in network byte order, addr already masked. */
struct net_prefix {
	__u32 addr[4];
	__u32 mask[4];
	__u8 len; /* prefix length out of 128 (IPv4 /n is 96 + n); 0 matches every address */
	__u8 pad[3];
};

/* Ports lo..hi inclusive, host byte order; 0..65535 is any port. */
struct port_range {
	__u16 lo;
	__u16 hi;
};

/*
 * A packet rule: [PROTO][:KEY=VALUE,...] (common/netrule.h). host and port match either side
 * of the packet; every field given must match.
 */
struct packet_rule {
	__u8 proto; /* IPPROTO_*; 0: any */
	__u8 pad[3];
	struct net_prefix src, dst, host;
	struct port_range sport, dport, port;
};

#endif
