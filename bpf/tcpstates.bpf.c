// SPDX-License-Identifier: GPL-2.0
/*
 * tcpstates: every TCP state change, from the sock:inet_sock_set_state tracepoint: by tp_btf,
 * with the ends read from the socket, or else through its perf event, whose record carries both
 * addresses and ports in either family (that one waits out an RCU grace period as it detaches).
 * The time of each socket's last change is kept by its address, so that the next one says how
 * long the socket was in its old state; the entry goes when the socket reaches CLOSE.
 */
#include "common.bpf.h"
#include "net_match.bpf.h"
#include "sock.bpf.h"
#include "tcpstates.h"

#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6
#define TCP_CLOSE   7

const volatile struct tcpstates_cfg tcpstates_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TCPSTATES_MAX_SOCKS);
	__type(key, __u64);
	__type(value, __u64);
} last_change SEC(".maps");

/* Both ends as the record has them. */
static __always_inline void ends_of_record(const struct trace_event_raw_inet_sock_set_state *ctx,
					   struct sock_ends *e)
{
	e->family = ctx->family;
	e->lport = ctx->sport;
	e->dport = ctx->dport;
	if (ctx->family == AF_INET) {
		net_addr_from_ipv4(*(__u32 *)ctx->saddr, e->saddr);
		net_addr_from_ipv4(*(__u32 *)ctx->daddr, e->daddr);
		return;
	}
	/* The verifier takes only single loads at fixed offsets of a tracepoint's record. */
	bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
	bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
}

static __always_inline bool wanted(const struct tcpstates_event *e)
{
	/*
	 * A copy the matchers may read: through a pointer that drops the volatile, clang would
	 * take the values the object was compiled with, not those user space wrote before load.
	 */
	struct tcpstates_cfg c = tcpstates_cfg;
	__u32 family = e->family == AF_INET ? TCPSTATES_IPV4 : TCPSTATES_IPV6;

	if (c.families && !(c.families & family))
		return false;
	return net_prefix_contains(&c.saddr, e->saddr) && net_prefix_contains(&c.daddr, e->daddr) &&
	       port_in_range(&c.lport, e->lport) && port_in_range(&c.dport, e->dport);
}

/* How long since the socket's last change, remembering this one; 0 when unknown. */
static __always_inline __u64 time_in_old_state(__u64 skaddr, __u64 now, bool closed)
{
	__u64 *last = bpf_map_lookup_elem(&last_change, &skaddr);
	__u64 delta = last ? now - *last : 0;

	if (closed)
		bpf_map_delete_elem(&last_change, &skaddr);
	else
		bpf_map_update_elem(&last_change, &skaddr, &now, BPF_ANY);
	return delta;
}

/* A change of socket sk with these ends: sent unless the filters leave it out. */
static __always_inline int state_changed(const void *sk, const struct sock_ends *ends, int oldstate,
					 int newstate)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tcpstates_event e = {};

	e.family = ends->family;
	e.lport = ends->lport;
	e.dport = ends->dport;
	__builtin_memcpy(e.saddr, ends->saddr, sizeof(e.saddr));
	__builtin_memcpy(e.daddr, ends->daddr, sizeof(e.daddr));
	if (!filter_current() || !wanted(&e))
		return 0;
	e.ts_ns = bpf_ktime_get_ns();
	e.skaddr = (__u64)sk;
	e.delta_ns = time_in_old_state(e.skaddr, e.ts_ns, newstate == TCP_CLOSE);
	e.pid = task->tgid;
	e.tid = task->pid;
	e.oldstate = oldstate;
	e.newstate = newstate;
	__builtin_memcpy(e.comm, task->comm, TASK_COMM_LEN);
	event_output(&e, sizeof(e));
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcpstates_btf, struct sock *sk, int oldstate, int newstate)
{
	struct sock_ends ends;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	sock_ends_of(sk, &ends);
	return state_changed(sk, &ends, oldstate, newstate);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tcpstates_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct sock_ends ends;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	ends_of_record(ctx, &ends);
	return state_changed(ctx->skaddr, &ends, ctx->oldstate, ctx->newstate);
}
