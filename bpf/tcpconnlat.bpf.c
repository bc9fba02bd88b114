// SPDX-License-Identifier: GPL-2.0
/*
 * tcpconnlat: the time an active TCP open takes, from the connect to the socket being established
 * (or, with --failed, to it closing first). One variant per attach method; user space loads the
 * one the kernel allows:
 *   fentry, kprobe  tcp_v4_connect/tcp_v6_connect start, a SYN-ACK in tcp_rcv_state_process ends,
 *                   tcp_set_state(TCP_CLOSE) from SYN_SENT fails;
 *   tracepoint      sock:inet_sock_set_state: -> SYN_SENT starts, SYN_SENT -> ESTABLISHED ends,
 *                   SYN_SENT -> CLOSE fails.
 * Connects in flight are keyed by the socket's address. Who connects is recorded at the start,
 * which runs in the connecting task; the end usually runs in softirq context.
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "hist.bpf.h"
#include "tcpconnlat.h"

#define AF_INET	 2
#define AF_INET6 10

/* Flag bits in byte 13 of the TCP header. */
#define TCP_HDR_FLAGS 13
#define TCP_FLAG_RST  0x04
#define TCP_FLAG_SYN  0x02
#define TCP_FLAG_ACK  0x10

const volatile struct tcpconnlat_cfg tcpconnlat_cfg = {};

struct conn_start {
	__u64 ts_ns;
	__u32 pid;
	char comm[TASK_COMM_LEN];
};

/*
 * LRU: with fentry and kprobe, a connect that fails before SYN_SENT (no route, no local port)
 * leaves its entry behind; it must not fill the map.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct conn_start);
} conns SEC(".maps");

/* --hist: latencies of established connects, emptied by user space at every interval. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPCONNLAT_MAX_DESTS);
	__type(key, struct tcpconnlat_dest);
	__type(value, struct hist_log2);
} hists SEC(".maps");

/* A histogram to start a new key from: too large for the BPF stack. */
static const struct hist_log2 empty_hist;

static __always_inline void conn_start(const void *sk)
{
	struct conn_start s = {};
	__u64 key = (__u64)sk;

	if (!filter_current())
		return;
	s.ts_ns = bpf_ktime_get_ns();
	s.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(s.comm, sizeof(s.comm));
	bpf_map_update_elem(&conns, &key, &s, BPF_ANY);
}

static __always_inline bool port_listed(__u16 port, const volatile __u16 *ports, __u32 n)
{
	for (__u32 i = 0; i < TCPCONNLAT_MAX_PORTS && i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

/* -4/-6, --lport, --dport: known for sure only once the connect is over. */
static __always_inline bool addrs_wanted(const struct tcpconnlat_addrs *a)
{
	const volatile struct tcpconnlat_cfg *c = &tcpconnlat_cfg;

	if (c->family && a->family != c->family)
		return false;
	if (c->nr_lports && !port_listed(a->lport, c->lports, c->nr_lports))
		return false;
	if (c->nr_dports && !port_listed(a->dport, c->dports, c->nr_dports))
		return false;
	return true;
}

static __always_inline void hist_add(const struct tcpconnlat_addrs *a, __u64 lat_ns)
{
	struct tcpconnlat_dest key = {};
	struct hist_log2 *h;

	if (tcpconnlat_cfg.by_dest) {
		__builtin_memcpy(key.daddr, a->daddr, sizeof(key.daddr));
		key.family = a->family;
		key.dport = a->dport;
	}
	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		bpf_map_update_elem(&hists, &key, &empty_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
	}
	if (h)
		hist_log2_add(h, lat_ns, 1000);
	else
		count_lost_event(); /* hists is full: reported as connects not counted */
}

/* The connect on sk is over: report it if it passes the filters, and forget it. */
static __always_inline void conn_end(const void *sk, const struct tcpconnlat_addrs *a, bool failed)
{
	__u64 key = (__u64)sk, now = bpf_ktime_get_ns();
	struct conn_start *s = bpf_map_lookup_elem(&conns, &key);
	struct tcpconnlat_event *e;

	if (!s)
		return;
	if ((failed && !tcpconnlat_cfg.failed) || !addrs_wanted(a) ||
	    now - s->ts_ns < tcpconnlat_cfg.min_ns)
		goto out;
	if (tcpconnlat_cfg.hist) {
		hist_add(a, now - s->ts_ns); /* --failed is not allowed with --hist */
		goto out;
	}
	e = event_reserve(struct tcpconnlat_event);
	if (!e)
		goto out;
	e->ts_ns = now;
	e->lat_ns = now - s->ts_ns;
	e->pid = s->pid;
	e->failed = failed;
	/* Set before the state changes: ECONNREFUSED by a RST, ETIMEDOUT after the SYN retries. */
	e->err = failed ? BPF_CORE_READ((struct sock *)sk, sk_err) : 0;
	__builtin_memcpy(e->comm, s->comm, sizeof(e->comm));
	e->addrs = *a;
	event_submit(e);
out:
	bpf_map_delete_elem(&conns, &key);
}

static __always_inline void conn_forget(const void *sk)
{
	__u64 key = (__u64)sk;

	bpf_map_delete_elem(&conns, &key);
}

/* Both ends as the socket has them, like the tracepoint reports them. */
static __always_inline void sock_addrs(struct sock *sk, struct tcpconnlat_addrs *a)
{
	struct sock_common *c = &sk->__sk_common;

	a->family = BPF_CORE_READ(c, skc_family);
	a->lport = BPF_CORE_READ(c, skc_num);
	a->dport = bpf_ntohs(BPF_CORE_READ(c, skc_dport));
	if (a->family == AF_INET6) {
		bpf_core_read(a->saddr, 16, &c->skc_v6_rcv_saddr);
		bpf_core_read(a->daddr, 16, &c->skc_v6_daddr);
	} else {
		bpf_core_read(a->saddr, 4, &c->skc_rcv_saddr);
		bpf_core_read(a->daddr, 4, &c->skc_daddr);
	}
}

/*
 * A segment for a socket in SYN_SENT. Only a SYN-ACK establishes it; a RST goes on to close it
 * (tcp_set_state below reports that), anything else leaves it in SYN_SENT.
 */
static __always_inline void rcv_state(struct sock *sk, struct sk_buff *skb)
{
	struct tcpconnlat_addrs a = {};
	unsigned char *head;
	__u16 th;
	__u8 flags;

	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_SYN_SENT)
		return;
	head = BPF_CORE_READ(skb, head);
	th = BPF_CORE_READ(skb, transport_header);
	if (bpf_probe_read_kernel(&flags, 1, head + th + TCP_HDR_FLAGS))
		return;
	if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) != (TCP_FLAG_SYN | TCP_FLAG_ACK))
		return;
	sock_addrs(sk, &a);
	conn_end(sk, &a, false);
}

static __always_inline void set_state(struct sock *sk, int state)
{
	struct tcpconnlat_addrs a = {};

	if (state != TCP_CLOSE || BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_SYN_SENT)
		return;
	sock_addrs(sk, &a);
	conn_end(sk, &a, true);
}

SEC("fentry/tcp_v4_connect")
int BPF_PROG(fentry_v4_connect, struct sock *sk)
{
	conn_start(sk);
	return 0;
}

SEC("fentry/tcp_v6_connect")
int BPF_PROG(fentry_v6_connect, struct sock *sk)
{
	conn_start(sk);
	return 0;
}

SEC("fentry/tcp_rcv_state_process")
int BPF_PROG(fentry_rcv_state, struct sock *sk, struct sk_buff *skb)
{
	rcv_state(sk, skb);
	return 0;
}

SEC("fentry/tcp_set_state")
int BPF_PROG(fentry_set_state, struct sock *sk, int state)
{
	set_state(sk, state);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_v4_connect, struct sock *sk)
{
	conn_start(sk);
	return 0;
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kprobe_v6_connect, struct sock *sk)
{
	conn_start(sk);
	return 0;
}

SEC("kprobe/tcp_rcv_state_process")
int BPF_KPROBE(kprobe_rcv_state, struct sock *sk, struct sk_buff *skb)
{
	rcv_state(sk, skb);
	return 0;
}

SEC("kprobe/tcp_set_state")
int BPF_KPROBE(kprobe_set_state, struct sock *sk, int state)
{
	set_state(sk, state);
	return 0;
}

static __always_inline void tp_addrs(const struct trace_event_raw_inet_sock_set_state *ctx,
				     struct tcpconnlat_addrs *a)
{
	a->family = ctx->family;
	a->lport = ctx->sport;
	a->dport = ctx->dport;
	/* read, not copied: the verifier allows only fixed-size loads from the context */
	if (a->family == AF_INET6) {
		bpf_core_read(a->saddr, 16, &ctx->saddr_v6);
		bpf_core_read(a->daddr, 16, &ctx->daddr_v6);
	} else {
		bpf_core_read(a->saddr, 4, &ctx->saddr);
		bpf_core_read(a->daddr, 4, &ctx->daddr);
	}
}

/*
 * What a change of state means for a connect: to SYN_SENT starts one (in the connecting task);
 * from it to ESTABLISHED or CLOSE ends one, which the caller reports (true).
 */
static __always_inline bool connect_ended(const void *sk, int oldstate, int newstate)
{
	if (newstate == TCP_SYN_SENT) {
		conn_start(sk);
		return false;
	}
	if (oldstate != TCP_SYN_SENT)
		return false;
	if (newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE)
		return true;
	/* a simultaneous open (SYN_RECV): not an ordinary connect, nothing to measure */
	conn_forget(sk);
	return false;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_set_state, struct sock *sk, int oldstate, int newstate)
{
	struct tcpconnlat_addrs a = {};

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP || !connect_ended(sk, oldstate, newstate))
		return 0;
	sock_addrs(sk, &a);
	/* On the way to CLOSE the port is released (skc_num 0) before this tracepoint fires. */
	a.lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	conn_end(sk, &a, newstate == TCP_CLOSE);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct tcpconnlat_addrs a = {};
	const void *sk = ctx->skaddr;

	if (ctx->protocol != IPPROTO_TCP || !connect_ended(sk, ctx->oldstate, ctx->newstate))
		return 0;
	tp_addrs(ctx, &a);
	conn_end(sk, &a, ctx->newstate == TCP_CLOSE);
	return 0;
}
