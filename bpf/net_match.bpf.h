/* SPDX-License-Identifier: GPL-2.0 */
/* Matching the network rules of bpf/net_match.h in the kernel (lsm-block, tc). */
#ifndef EBPFTRACE_NET_MATCH_BPF_H
#define EBPFTRACE_NET_MATCH_BPF_H

#include <bpf/bpf_endian.h>
#include "net_match.h"

/* An IPv4 address (network byte order) as the rules keep addresses: ::ffff:a.b.c.d. */
static __always_inline void net_addr_from_ipv4(__u32 be, __u32 out[4])
{
	out[0] = 0;
	out[1] = 0;
	out[2] = bpf_htonl(0xffff);
	out[3] = be;
}

static __always_inline bool net_prefix_contains(const struct net_prefix *p, const __u32 addr[4])
{
	return (addr[0] & p->mask[0]) == p->addr[0] && (addr[1] & p->mask[1]) == p->addr[1] &&
	       (addr[2] & p->mask[2]) == p->addr[2] && (addr[3] & p->mask[3]) == p->addr[3];
}

static __always_inline bool port_in_range(const struct port_range *r, __u16 port)
{
	return port >= r->lo && port <= r->hi;
}

/*
 * Whether a packet matches rule r. Addresses as above; ports in host byte order, and has_ports
 * false for packets without them (other protocols, non-first fragments), which then match only
 * rules that leave every port open.
 */
static __always_inline bool packet_rule_matches(const struct packet_rule *r, __u8 proto,
						const __u32 src[4], const __u32 dst[4],
						bool has_ports, __u16 sport, __u16 dport)
{
	if (r->proto && r->proto != proto)
		return false;
	if (!net_prefix_contains(&r->src, src) || !net_prefix_contains(&r->dst, dst))
		return false;
	if (!net_prefix_contains(&r->host, src) && !net_prefix_contains(&r->host, dst))
		return false;
	if (!has_ports)
		return r->sport.lo == 0 && r->sport.hi == 65535 && r->dport.lo == 0 &&
		       r->dport.hi == 65535 && r->port.lo == 0 && r->port.hi == 65535;
	return port_in_range(&r->sport, sport) && port_in_range(&r->dport, dport) &&
	       (port_in_range(&r->port, sport) || port_in_range(&r->port, dport));
}

#endif
