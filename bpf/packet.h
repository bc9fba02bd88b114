/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bpf/packet.bpf.h reads from a packet's headers, for any program that sees whole frames
 * (tc now; XDP or socket filters later). Fixed-size, shared with user space.
 */
#ifndef EBPFTRACE_PACKET_H
#define EBPFTRACE_PACKET_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PACKET_MAX_VLANS      2	 /* 802.1ad outer + 802.1Q inner; deeper stacks are not parsed */
#define PACKET_MAX_EXT_HDRS   6	 /* IPv6 extension headers walked before giving up */
#define PACKET_MAX_RULES      16 /* --drop rules (common/packetopts.h) */
#define PACKET_ETH_P_IP	      0x0800
#define PACKET_ETH_P_IPV6     0x86dd
#define PACKET_ETH_P_8021Q    0x8100
#define PACKET_ETH_P_8021AD   0x88a8
#define PACKET_IPPROTO_ICMP   1
#define PACKET_IPPROTO_TCP    6
#define PACKET_IPPROTO_UDP    17
#define PACKET_IPPROTO_ICMPV6 58
#define PACKET_IPPROTO_SCTP   132

enum packet_flags {
	PACKET_HAS_PORTS = 1 << 0, /* sport and dport are set (TCP, UDP, SCTP first fragments) */
	PACKET_HAS_ICMP = 1 << 1,  /* icmp_type and icmp_code are set */
	PACKET_FRAGMENT = 1 << 2,  /* a non-first fragment: no L4 header in it */
	PACKET_TRUNCATED = 1 << 3, /* headers ended before what they announced (or the bound) */
	PACKET_VLAN_META = 1 << 4, /* the outer tag was taken off the data by the driver or stack */
};

struct packet_info {
	__u32 src[4]; /* IPv4 as ::ffff:a.b.c.d (bpf/net_match.h), network byte order */
	__u32 dst[4];
	__u16 ethertype; /* of the L3 header, after the VLAN tags */
	__u16 sport;	 /* host byte order */
	__u16 dport;
	__u16 vlan_tci[PACKET_MAX_VLANS]; /* outer first */
	__u16 vlan_proto[PACKET_MAX_VLANS];
	__u8 nvlans;
	__u8 proto;	/* L4: IPPROTO_* (the last header of an IPv6 chain) */
	__u8 ttl;	/* TTL or hop limit */
	__u8 tcp_flags; /* FIN SYN RST PSH ACK URG ECE CWR, bit 0 first */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 flags; /* enum packet_flags */
	__u8 pad;
};

/*
 * Counters of packets and bytes: per direction and protocol, and per flow. The BPF side keeps
 * them in per-CPU hash maps (no atomics), user space sums them (common/countmap.h).
 */
struct packet_proto_key {
	__u16 ethertype;
	__u8 dir;   /* the program's own numbering of directions */
	__u8 proto; /* L4, for IP */
};

struct packet_flow_key {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
	__u16 ethertype;
	__u8 proto;
	__u8 dir;
};

struct packet_counter {
	__u64 packets;
	__u64 bytes;
};

#endif
