/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Timing spans per CPU by key (bpf/span_stats.h). Spans of one kind do not nest on a CPU (a hardirq
 * handler runs with interrupts off, softirqs do not interrupt each other), so one start time per
 * CPU is enough: span_begin() sets it, span_end() takes it. Emptied by user space every interval.
 */
#ifndef EBPFTRACE_SPAN_BPF_H
#define EBPFTRACE_SPAN_BPF_H

#include "common.bpf.h"
#include "hist.bpf.h"
#include "span_stats.h"

const volatile struct span_cfg span_cfg = { .unit_ns = 1000 };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} span_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SPAN_MAX_KEYS);
	__type(key, __u32);
	__type(value, struct span_stats);
} span_stats SEC(".maps");

/* Too large for the BPF stack. */
static const struct span_stats span_empty;

static __always_inline void span_begin(void)
{
	__u32 zero = 0;
	__u64 *start;

	if (span_cfg.counts)
		return;
	start = bpf_map_lookup_elem(&span_start, &zero);
	if (start)
		*start = bpf_ktime_get_ns();
}

/* The stats of key, created when new (name still empty); NULL, counted as lost, when full. */
static __always_inline struct span_stats *span_stats_of(__u32 key)
{
	return map_lookup_or_init(&span_stats, &key, &span_empty);
}

/* The span of key ends (or, with counts, just happens); returns its stats for naming, or NULL. */
static __always_inline struct span_stats *span_end(__u32 key)
{
	struct span_stats *s;
	__u32 zero = 0;
	__u64 *start, delta;

	if (span_cfg.counts) {
		s = span_stats_of(key);
		if (s)
			__sync_fetch_and_add(&s->count, 1);
		return s;
	}
	start = bpf_map_lookup_elem(&span_start, &zero);
	if (!start || !*start) /* began before we attached */
		return NULL;
	delta = bpf_ktime_get_ns() - *start;
	*start = 0;
	s = span_stats_of(key);
	if (!s)
		return NULL;
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->total_ns, delta);
	if (span_cfg.hist)
		hist_log2_add(&s->hist, delta, span_cfg.unit_ns);
	return s;
}

#endif
