// SPDX-License-Identifier: GPL-2.0
/*
 * tc: one program per direction on a device, as a TCX link (6.6+) or a cls_bpf filter in
 * direct-action mode under a clsact qdisc. Both read the same return codes: -1 is TCX_NEXT and
 * TC_ACT_UNSPEC (let the next program or filter decide: never skip what others attached), 2 is
 * TCX_DROP and TC_ACT_SHOT. The packet is parsed once; --drop rules decide its fate, the filter
 * whether it is logged, captured or counted.
 */
#include "common.bpf.h"
#include "packet.bpf.h"
#include "tc.h"

#define TC_NEXT -1
#define TC_DROP 2

const volatile struct tc_cfg tc_cfg = {};
/*
 * The rules are not in .rodata: packet_rule_matches() takes a plain pointer, and through one the
 * compiler would take a const object for its initializer and fold the matching away.
 */
struct packet_rule tc_filter = {};	       /* --proto, --host, --port */
struct packet_rule tc_drop[TC_MAX_RULES] = {}; /* --drop */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_MAX_RULES);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* --sample: packets seen on this CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TC_MAX_PROTOS);
	__type(key, struct packet_proto_key);
	__type(value, struct packet_counter);
} protos SEC(".maps");

/* LRU: a flood of new flows pushes old ones out, never stops the counting of the protocols. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, TC_MAX_FLOWS);
	__type(key, struct packet_flow_key);
	__type(value, struct packet_counter);
} flows SEC(".maps");

static __always_inline int drop_rule(const struct packet_info *p)
{
	for (int i = 0; i < TC_MAX_RULES; i++) {
		if (i >= tc_cfg.n_rules)
			break;
		if (packet_matches(&tc_drop[i], p))
			return i;
	}
	return -1;
}

static __always_inline void count_drop(int rule)
{
	__u32 key = rule;
	__u64 *n = bpf_map_lookup_elem(&drops, &key);

	if (n)
		*n += 1;
}

static __always_inline bool sampled_out(void)
{
	__u32 zero = 0;
	__u64 *n;

	if (tc_cfg.sample <= 1)
		return false;
	n = bpf_map_lookup_elem(&seen, &zero);
	return n && (*n)++ % tc_cfg.sample;
}

static __always_inline void count_in(void *map, const void *key, __u32 len)
{
	struct packet_counter *c = bpf_map_lookup_elem(map, key);

	if (!c) {
		struct packet_counter first = { 1, len };

		bpf_map_update_elem(map, key, &first, BPF_NOEXIST);
		return;
	}
	c->packets++;
	c->bytes += len;
}

static __always_inline bool is_ip(const struct packet_info *p)
{
	return p->ethertype == PACKET_ETH_P_IP || p->ethertype == PACKET_ETH_P_IPV6;
}

static __always_inline void count_proto(const struct packet_info *p, __u8 dir, __u32 len)
{
	struct packet_proto_key k = { .ethertype = p->ethertype, .dir = dir };

	if (is_ip(p))
		k.proto = p->proto;
	count_in(&protos, &k, len);
}

static __always_inline void count_flow(const struct packet_info *p, __u8 dir, __u32 len)
{
	struct packet_flow_key k = { .ethertype = p->ethertype, .dir = dir };

	if (!is_ip(p))
		return;
	__builtin_memcpy(k.src, p->src, sizeof(k.src));
	__builtin_memcpy(k.dst, p->dst, sizeof(k.dst));
	k.sport = p->sport;
	k.dport = p->dport;
	k.proto = p->proto;
	count_in(&flows, &k, len);
}

static __always_inline void fill_event(struct tc_event *e, struct __sk_buff *skb,
				       const struct packet_info *p, __u8 dir, int rule)
{
	e->ts_ns = bpf_ktime_get_ns();
	e->len = skb->len;
	e->cap_len = 0;
	e->dir = dir;
	e->dropped = rule >= 0;
	e->rule = rule >= 0 ? rule : 0;
	e->pkt = *p;
}

static __always_inline void log_packet(struct __sk_buff *skb, const struct packet_info *p, __u8 dir,
				       int rule)
{
	struct tc_event *e = event_reserve(struct tc_event);

	if (!e)
		return;
	fill_event(e, skb, p, dir, rule);
	event_submit(e);
}

/*
 * -w: the record is reserved in the ring buffer and the packet copied from the skb straight into
 * it. room (a constant in each copy of this function) is what was reserved after the header.
 */
static __always_inline void capture_into(struct tc_event *e, __u32 room, struct __sk_buff *skb,
					 const struct packet_info *p, __u8 dir, int rule, __u64 cap)
{
	if (!e)
		return;
	fill_event(e, skb, p, dir, rule);
	/*
	 * The verifier must see the bound where the size is used, not where the room was picked;
	 * the barriers keep the compiler from folding the two tests into one range test, whose
	 * bounds a 6.1 verifier does not carry over to cap.
	 */
	barrier_var(cap);
	if (cap > room)
		cap = 0;
	barrier_var(cap);
	/* Not "cap &&": a 6.1 verifier learns no lower bound from a test against 0. */
	if (cap < PACKET_ETH_HLEN || bpf_skb_load_bytes(skb, 0, e + 1, cap))
		cap = 0;
	e->cap_len = cap;
	event_submit(e);
}

/*
 * A reservation's size must be a constant: the record's room is the smallest of these classes
 * that holds the bytes to capture (the common frame sizes and a 64 KiB GSO packet with its
 * headers among them, each at most twice the one before), so a record takes less than twice its
 * bytes of ring buffer, and a full-sized frame or GSO packet about its own size.
 */
#define CAPTURE_IN(room)                                                                         \
	if (cap <= (room)) {                                                                     \
		capture_into(event_reserve_size(sizeof(struct tc_event) + (room)), room, skb, p, \
			     dir, rule, cap);                                                    \
		return;                                                                          \
	}

static __always_inline void capture_packet(struct __sk_buff *skb, const struct packet_info *p,
					   __u8 dir, int rule)
{
	__u64 cap = skb->len < tc_cfg.snaplen ? skb->len : tc_cfg.snaplen;

	CAPTURE_IN(128);
	CAPTURE_IN(256);
	CAPTURE_IN(512);
	CAPTURE_IN(1024);
	CAPTURE_IN(1536); /* an Ethernet frame of MTU 1500, tagged or not */
	CAPTURE_IN(2048);
	CAPTURE_IN(4096);
	CAPTURE_IN(6144);
	CAPTURE_IN(9216); /* jumbo frames */
	CAPTURE_IN(16384);
	CAPTURE_IN(32768);
	CAPTURE_IN(49152);
	CAPTURE_IN(66560); /* a 64 KiB GSO packet */
	CAPTURE_IN(98304);
	CAPTURE_IN(131072);
	CAPTURE_IN(196608);
	CAPTURE_IN(TC_SNAP_MAX);
}

static __always_inline void observe(struct __sk_buff *skb, const struct packet_info *p, __u8 dir,
				    int rule)
{
	if (tc_cfg.filtered && !packet_matches(&tc_filter, p))
		return;
	if (tc_cfg.counted)
		count_proto(p, dir, skb->len);
	if (tc_cfg.mode == TC_MODE_STATS)
		count_flow(p, dir, skb->len);
	else if (sampled_out())
		return;
	else if (tc_cfg.mode == TC_MODE_LOG)
		log_packet(skb, p, dir, rule);
	else
		capture_packet(skb, p, dir, rule);
}

static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	struct packet_info p = {};
	int rule;

	packet_parse(skb, &p);
	rule = drop_rule(&p);
	if (rule >= 0)
		count_drop(rule);
	observe(skb, &p, dir, rule);
	return rule >= 0 ? TC_DROP : TC_NEXT;
}

SEC("tcx/ingress")
int ebpftrace_tc_in(struct __sk_buff *skb)
{
	return handle(skb, TC_INGRESS);
}

SEC("tcx/egress")
int ebpftrace_tc_eg(struct __sk_buff *skb)
{
	return handle(skb, TC_EGRESS);
}
