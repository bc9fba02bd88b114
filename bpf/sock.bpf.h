/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two ends of an inet socket read from the socket itself, for the tp_btf programs on
 * tracepoints that hand over a struct sock: the same values the tracepoints put in their records
 * (sock:inet_sock_set_state, tcp:tcp_probe), so that either variant reports the same.
 */
#ifndef EBPFTRACE_SOCK_BPF_H
#define EBPFTRACE_SOCK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "net_match.bpf.h"

#define SOCK_AF_INET6 10

struct sock_ends {
	__u32 saddr[4]; /* as bpf/net_match.h keeps addresses: IPv4 as ::ffff:a.b.c.d */
	__u32 daddr[4];
	__u16 family;
	__u16 lport; /* host byte order */
	__u16 dport;
};

static __always_inline void sock_ends_of(struct sock *sk, struct sock_ends *e)
{
	struct inet_sock *inet = (struct inet_sock *)sk;

	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	/* inet_sport, not skc_num: on the way to CLOSE the port is released before these fire. */
	e->lport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (e->family == SOCK_AF_INET6) {
		bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		net_addr_from_ipv4(BPF_CORE_READ(inet, inet_saddr), e->saddr);
		net_addr_from_ipv4(BPF_CORE_READ(sk, __sk_common.skc_daddr), e->daddr);
	}
}

#endif
