/* SPDX-License-Identifier: GPL-2.0 */
/* The tc records and settings, shared by bpf/tc.bpf.c and cmd/tc.c. */
#ifndef EBPFTRACE_TC_H
#define EBPFTRACE_TC_H

#include "common.h"
#include "net_match.h"
#include "packet.h"

#define TC_MAX_RULES PACKET_MAX_RULES
/*
 * The most bytes of one packet the program copies (-w): the size of its per-CPU copy buffer. A
 * packet on a veth or loopback device can be a 64 KiB GSO super-packet; with BIG TCP up to this.
 */
#define TC_SNAP_MAX 262144

enum tc_mode {
	TC_MODE_LOG,   /* a record per packet, headers only */
	TC_MODE_PCAP,  /* a record per packet with its bytes */
	TC_MODE_STATS, /* counters only */
};

enum tc_dir {
	TC_INGRESS,
	TC_EGRESS,
	TC_DIRS,
};

/* Written into .rodata before load. */
struct tc_cfg {
	__u32 mode;	/* enum tc_mode */
	__u32 sample;	/* log/pcap: one packet in sample per CPU; 0 or 1: every one */
	__u32 snaplen;	/* pcap: bytes copied, at most TC_SNAP_MAX */
	__u32 filtered; /* 1: only packets matching tc_filter are logged, captured, counted */
	__u32 counted;	/* 1: packets and bytes per direction and protocol (--stats, --metrics) */
	__u32 n_rules;	/* --drop rules in tc_drop[] */
	__u32 ifindex;	/* the device, for the records */
};

/* Per packet (log and pcap modes); in pcap mode cap_len bytes of the frame follow it. */
struct tc_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u32 len;   /* the frame's length (skb->len, L2 header included) */
	__u32 cap_len;
	__u8 dir;     /* enum tc_dir */
	__u8 dropped; /* 1: a --drop rule matched */
	__u8 rule;    /* which, when dropped */
	__u8 pad[5];
	struct packet_info pkt;
};

#define TC_MAX_FLOWS  16384
#define TC_MAX_PROTOS 1024

#endif
