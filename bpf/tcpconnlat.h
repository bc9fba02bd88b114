/* SPDX-License-Identifier: GPL-2.0 */
/* The tcpconnlat record and settings, shared by bpf/tcpconnlat.bpf.c and cmd/tcpconnlat.c. */
#ifndef EBPFTRACE_TCPCONNLAT_H
#define EBPFTRACE_TCPCONNLAT_H

#include "common.h"

#define TCPCONNLAT_MAX_PORTS 16	   /* entries in a --lport or --dport list */
#define TCPCONNLAT_MAX_DESTS 16384 /* histograms per interval with --by-dest */

struct tcpconnlat_cfg {
	__u64 min_ns;			    /* report connects that took at least this long */
	__u16 lports[TCPCONNLAT_MAX_PORTS]; /* only these local ports (nr_lports > 0) */
	__u16 dports[TCPCONNLAT_MAX_PORTS]; /* only these destination ports (nr_dports > 0) */
	__u32 nr_lports;
	__u32 nr_dports;
	__u32 family;  /* AF_INET or AF_INET6 of the socket; 0 = both */
	__u32 failed;  /* 1: report connects that failed too */
	__u32 hist;    /* 1: count latencies in histograms (usecs) instead of sending events */
	__u32 by_dest; /* hist: one histogram per destination address and port */
};

/* The key of a histogram: all zero, or with --by-dest the destination. */
struct tcpconnlat_dest {
	__u8 daddr[16];
	__u16 family;
	__u16 dport;
	__u32 pad;
};

/* Both ends of a connection. An IPv4 address is the first 4 bytes of its array. */
struct tcpconnlat_addrs {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 family; /* of the socket: AF_INET, or AF_INET6 (also for IPv4-mapped peers) */
	__u16 lport;
	__u16 dport;
	__u16 pad;
};

struct tcpconnlat_event {
	__u64 ts_ns;  /* CLOCK_MONOTONIC when the connect completed or failed */
	__u64 lat_ns; /* from the connect to its completion or failure */
	__u32 pid;
	__u32 failed; /* 1: the socket closed before it was established */
	__s32 err;    /* failed: the socket's error (ECONNREFUSED, ETIMEDOUT, ...) or 0 */
	char comm[TASK_COMM_LEN];
	struct tcpconnlat_addrs addrs;
};

#endif
