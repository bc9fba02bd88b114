/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a frame's headers at tc (or anywhere a struct __sk_buff is the context): Ethernet, up to
 * PACKET_MAX_VLANS 802.1ad/802.1Q tags (the one the stack keeps beside the data included), IPv4
 * or IPv6 with its extension headers walked up to PACKET_MAX_EXT_HDRS, then the ports, TCP flags
 * or ICMP type. Bytes are read with bpf_skb_load_bytes, so headers that are not in the linear
 * part of the buffer are read as well, and every offset is checked by the helper at run time.
 */
#ifndef EBPFTRACE_PACKET_BPF_H
#define EBPFTRACE_PACKET_BPF_H

#include <bpf/bpf_endian.h>
#include "net_match.bpf.h"
#include "packet.h"

#define PACKET_ETH_HLEN	  14
#define PACKET_IP_MF	  0x2000
#define PACKET_IP_OFFSET  0x1fff
#define PACKET_IP6_OFFSET 0xfff8

/* Slots written by constant index: the verifier takes no pointer arithmetic on the stack. */
static __always_inline void packet_add_vlan(struct packet_info *p, __u16 proto, __u16 tci)
{
	if (p->nvlans == 0) {
		p->vlan_proto[0] = proto;
		p->vlan_tci[0] = tci;
	} else {
		p->vlan_proto[1] = proto;
		p->vlan_tci[1] = tci;
	}
	p->nvlans++;
}

/* The tag the stack or driver took off the data (skb->vlan_tci) counts as the outermost. */
static __always_inline void packet_meta_vlan(struct __sk_buff *skb, struct packet_info *p)
{
	if (!skb->vlan_present)
		return;
	packet_add_vlan(p, bpf_ntohs((__u16)skb->vlan_proto), skb->vlan_tci);
	p->flags |= PACKET_VLAN_META;
}

/* Tags in the data; returns the offset of the L3 header and sets p->ethertype. */
static __always_inline __u32 packet_vlans(struct __sk_buff *skb, struct packet_info *p, __u16 type)
{
	__u32 off = PACKET_ETH_HLEN;

	for (int i = 0; i < PACKET_MAX_VLANS; i++) {
		__be16 tag[2];

		if (type != PACKET_ETH_P_8021Q && type != PACKET_ETH_P_8021AD)
			break;
		if (p->nvlans >= PACKET_MAX_VLANS ||
		    bpf_skb_load_bytes(skb, off, tag, sizeof(tag))) {
			p->flags |= PACKET_TRUNCATED;
			break;
		}
		packet_add_vlan(p, type, bpf_ntohs(tag[0]));
		type = bpf_ntohs(tag[1]);
		off += sizeof(tag);
	}
	p->ethertype = type;
	return off;
}

/* Returns the offset of the L4 header, or 0 when there is none to read. */
static __always_inline __u32 packet_ipv4(struct __sk_buff *skb, struct packet_info *p, __u32 off)
{
	struct iphdr ip;

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) || ip.ihl < 5) {
		p->flags |= PACKET_TRUNCATED;
		return 0;
	}
	net_addr_from_ipv4(ip.saddr, p->src);
	net_addr_from_ipv4(ip.daddr, p->dst);
	p->ttl = ip.ttl;
	p->proto = ip.protocol;
	if (bpf_ntohs(ip.frag_off) & PACKET_IP_OFFSET) {
		p->flags |= PACKET_FRAGMENT;
		return 0;
	}
	return off + ip.ihl * 4;
}

/* One IPv6 extension header at *off: steps over it; false when the chain ends or cannot go on. */
static __always_inline bool packet_ipv6_ext(struct __sk_buff *skb, struct packet_info *p,
					    __u32 *off)
{
	__u8 hdr[4];

	switch (p->proto) {
	case 0:	 /* hop-by-hop options */
	case 43: /* routing */
	case 60: /* destination options */
	case 51: /* authentication header: length in 4-byte units, minus 2 */
	case 44: /* fragment */
		break;
	default:
		return false;
	}
	if (bpf_skb_load_bytes(skb, *off, hdr, sizeof(hdr))) {
		p->flags |= PACKET_TRUNCATED;
		return false;
	}
	if (p->proto == 44) {
		p->proto = hdr[0];
		*off += 8;
		if (((hdr[2] << 8) | hdr[3]) & PACKET_IP6_OFFSET) {
			p->flags |= PACKET_FRAGMENT;
			return false;
		}
		return true;
	}
	*off += p->proto == 51 ? (hdr[1] + 2) * 4 : (hdr[1] + 1) * 8;
	p->proto = hdr[0];
	return true;
}

static __always_inline __u32 packet_ipv6(struct __sk_buff *skb, struct packet_info *p, __u32 off)
{
	struct ipv6hdr ip;
	int i;

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip))) {
		p->flags |= PACKET_TRUNCATED;
		return 0;
	}
	__builtin_memcpy(p->src, &ip.saddr, sizeof(p->src));
	__builtin_memcpy(p->dst, &ip.daddr, sizeof(p->dst));
	p->ttl = ip.hop_limit;
	p->proto = ip.nexthdr;
	off += sizeof(ip);
	for (i = 0; i < PACKET_MAX_EXT_HDRS; i++)
		if (!packet_ipv6_ext(skb, p, &off))
			break;
	if (i == PACKET_MAX_EXT_HDRS)
		p->flags |= PACKET_TRUNCATED; /* more extension headers than we walk */
	if (p->flags & (PACKET_FRAGMENT | PACKET_TRUNCATED))
		return 0;
	return off;
}

static __always_inline void packet_l4(struct __sk_buff *skb, struct packet_info *p, __u32 off)
{
	__u8 h[14];

	switch (p->proto) {
	case PACKET_IPPROTO_TCP:
		if (bpf_skb_load_bytes(skb, off, h, 14))
			break;
		p->tcp_flags = h[13];
		goto ports;
	case PACKET_IPPROTO_UDP:
	case PACKET_IPPROTO_SCTP:
		if (bpf_skb_load_bytes(skb, off, h, 4))
			break;
	ports:
		p->sport = (h[0] << 8) | h[1];
		p->dport = (h[2] << 8) | h[3];
		p->flags |= PACKET_HAS_PORTS;
		return;
	case PACKET_IPPROTO_ICMP:
	case PACKET_IPPROTO_ICMPV6:
		if (bpf_skb_load_bytes(skb, off, h, 2))
			break;
		p->icmp_type = h[0];
		p->icmp_code = h[1];
		p->flags |= PACKET_HAS_ICMP;
		return;
	default:
		return;
	}
	p->flags |= PACKET_TRUNCATED;
}

/* Fill p (zeroed by the caller) from the frame skb holds, Ethernet header first. */
static __always_inline void packet_parse(struct __sk_buff *skb, struct packet_info *p)
{
	__be16 type;
	__u32 off;

	packet_meta_vlan(skb, p);
	if (bpf_skb_load_bytes(skb, 12, &type, sizeof(type))) {
		p->flags |= PACKET_TRUNCATED;
		return;
	}
	off = packet_vlans(skb, p, bpf_ntohs(type));
	if (p->flags & PACKET_TRUNCATED)
		return;
	if (p->ethertype == PACKET_ETH_P_IP)
		off = packet_ipv4(skb, p, off);
	else if (p->ethertype == PACKET_ETH_P_IPV6)
		off = packet_ipv6(skb, p, off);
	else
		return;
	if (off)
		packet_l4(skb, p, off);
}

/* Whether the packet matches rule r (bpf/net_match.bpf.h); packets that are not IP never do. */
static __always_inline bool packet_matches(const struct packet_rule *r, const struct packet_info *p)
{
	if (p->ethertype != PACKET_ETH_P_IP && p->ethertype != PACKET_ETH_P_IPV6)
		return false;
	return packet_rule_matches(r, p->proto, p->src, p->dst, p->flags & PACKET_HAS_PORTS,
				   p->sport, p->dport);
}

#endif
