/* SPDX-License-Identifier: GPL-2.0 */
/* The tcprtt settings and histogram key, shared by bpf/tcprtt.bpf.c and cmd/tcprtt.c. */
#ifndef EBPFTRACE_TCPRTT_H
#define EBPFTRACE_TCPRTT_H

#include "common.h"

#define TCPRTT_MAX_HISTS 4096 /* histograms per interval with --by */

enum tcprtt_by {
	TCPRTT_BY_NONE,
	TCPRTT_BY_LADDR,
	TCPRTT_BY_RADDR,
	TCPRTT_BY_LPORT,
	TCPRTT_BY_RPORT
};

struct tcprtt_cfg {
	__u64 div; /* buckets of srtt / div usecs: 1 (usecs) or 1000 (msecs) */
	__u32 by;  /* enum tcprtt_by */
	__u32 pad;
};

/* All zero without --by; else the address (IPv4 as ::ffff:a.b.c.d) or the port. */
struct tcprtt_key {
	__u32 addr[4];
	__u16 port;
	__u16 pad[3];
};

#endif
