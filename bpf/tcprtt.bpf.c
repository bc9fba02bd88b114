// SPDX-License-Identifier: GPL-2.0
/*
 * tcprtt: the smoothed RTT of TCP connections, sampled at every segment an established socket
 * receives (the tcp:tcp_probe tracepoint in tcp_rcv_established), into log2 histograms,
 * optionally by one end. By tp_btf, with srtt and the ends read from the socket; or else through
 * the tracepoint's perf event, whose record carries srtt in usecs and both ends as socket
 * addresses (that one waits out an RCU grace period as it detaches).
 */
#include "common.bpf.h"
#include "hist.bpf.h"
#include "net_match.bpf.h"
#include "sock.bpf.h"
#include "tcprtt.h"

#define AF_INET 2

const volatile struct tcprtt_cfg tcprtt_cfg = { .div = 1 };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPRTT_MAX_HISTS);
	__type(key, struct tcprtt_key);
	__type(value, struct hist_log2);
} hists SEC(".maps");

static const struct hist_log2 empty_hist;

/* The address in a sockaddr_in or sockaddr_in6 of the record (its port comes separately). */
static __always_inline void addr_of(const __u8 *sa, bool v4, __u32 out[4])
{
	__u32 be = 0;

	if (v4) {
		bpf_probe_read_kernel(&be, 4, sa + 4); /* sin_addr */
		net_addr_from_ipv4(be, out);
	} else {
		bpf_probe_read_kernel(out, 16, sa + 8); /* sin6_addr */
	}
}

/* Both ends as the record has them: socket addresses, ports in host order. */
static __always_inline void ends_of_record(struct trace_event_raw_tcp_probe *ctx,
					   struct sock_ends *e)
{
	bool v4 = ctx->family == AF_INET;

	e->family = ctx->family;
	e->lport = ctx->sport;
	e->dport = ctx->dport;
	addr_of(ctx->saddr, v4, e->saddr);
	addr_of(ctx->daddr, v4, e->daddr);
}

static __always_inline void key_of(const struct sock_ends *e, struct tcprtt_key *k)
{
	switch (tcprtt_cfg.by) {
	case TCPRTT_BY_LADDR:
		__builtin_memcpy(k->addr, e->saddr, sizeof(k->addr));
		break;
	case TCPRTT_BY_RADDR:
		__builtin_memcpy(k->addr, e->daddr, sizeof(k->addr));
		break;
	case TCPRTT_BY_LPORT:
		k->port = e->lport;
		break;
	case TCPRTT_BY_RPORT:
		k->port = e->dport;
		break;
	}
}

static __always_inline void rtt_add(const struct tcprtt_key *key, __u32 srtt_us)
{
	struct hist_log2 *h = map_lookup_or_init(&hists, key, &empty_hist);

	if (h)
		hist_log2_add(h, srtt_us, tcprtt_cfg.div);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(tcprtt_btf, struct sock *sk, struct sk_buff *skb)
{
	struct tcprtt_key key = {};
	struct sock_ends e;

	if (!filter_current())
		return 0;
	if (tcprtt_cfg.by != TCPRTT_BY_NONE) {
		sock_ends_of(sk, &e);
		key_of(&e, &key);
	}
	/* srtt_us is 8 times the smoothed RTT, as the tracepoint's record undoes. */
	rtt_add(&key, BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3);
	return 0;
}

SEC("tracepoint/tcp/tcp_probe")
int tcprtt_probe(struct trace_event_raw_tcp_probe *ctx)
{
	struct tcprtt_key key = {};
	struct sock_ends e;

	if (!filter_current())
		return 0;
	if (tcprtt_cfg.by != TCPRTT_BY_NONE) {
		ends_of_record(ctx, &e);
		key_of(&e, &key);
	}
	rtt_add(&key, ctx->srtt);
	return 0;
}
