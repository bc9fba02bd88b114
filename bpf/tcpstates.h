/* SPDX-License-Identifier: GPL-2.0 */
/* The tcpstates settings and record, shared by bpf/tcpstates.bpf.c and cmd/tcpstates.c. */
#ifndef EBPFTRACE_TCPSTATES_H
#define EBPFTRACE_TCPSTATES_H

#include "common.h"
#include "net_match.h"

#define TCPSTATES_MAX_SOCKS 65536 /* sockets whose last change is remembered, least recent out */

enum { TCPSTATES_IPV4 = 1, TCPSTATES_IPV6 = 2 };

struct tcpstates_cfg {
	struct net_prefix saddr, daddr; /* addresses as bpf/net_match.h keeps them */
	struct port_range lport, dport;
	__u32 families; /* TCPSTATES_IPV4 | TCPSTATES_IPV6 of the socket's family; 0: both */
	__u32 pad;
};

struct tcpstates_event {
	__u64 ts_ns;	/* CLOCK_MONOTONIC at the change */
	__u64 skaddr;	/* the socket's kernel address: tells connections apart */
	__u64 delta_ns; /* time in the old state; 0: not seen entering it */
	__u32 pid;	/* the task running when the state changed (see ebpftrace-tcpstates(8)) */
	__u32 tid;
	__u32 saddr[4]; /* IPv4 as ::ffff:a.b.c.d */
	__u32 daddr[4];
	__u16 family;
	__u16 lport;
	__u16 dport;
	__u8 oldstate;
	__u8 newstate;
	char comm[TASK_COMM_LEN];
};

#endif
