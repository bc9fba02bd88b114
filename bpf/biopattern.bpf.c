// SPDX-License-Identifier: GPL-2.0
/*
 * biopattern: per disk, how many completed block requests were sequential (they start at the
 * sector where the disk's previous request ended) and how many random, with their bytes, from
 * the block:block_rq_complete tracepoint. Where each disk's last request ended is kept apart
 * from the counts, which user space empties every interval, so that an interval's first request
 * is judged like any other.
 */
#include "common.bpf.h"
#include "biopattern.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BIOPATTERN_MAX_DISKS);
	__type(key, __u32);
	__type(value, __u64);
} last_end SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BIOPATTERN_MAX_DISKS);
	__type(key, __u32);
	__type(value, struct biopattern_counts);
} counts SEC(".maps");

/* A zero to start a disk's counts from. */
static const struct biopattern_counts no_counts;

SEC("tracepoint/block/block_rq_complete")
int biopattern_complete(struct trace_event_raw_block_rq_completion *ctx)
{
	__u64 sector = ctx->sector, end = sector + ctx->nr_sector, *last;
	__u64 bytes = (__u64)ctx->nr_sector * 512;
	__u32 dev = ctx->dev;
	struct biopattern_counts *c;

	if (!ctx->nr_sector || !filter_current())
		return 0;
	c = map_lookup_or_init(&counts, &dev, &no_counts);
	if (!c)
		return 0;
	last = bpf_map_lookup_elem(&last_end, &dev);
	if (last && *last == sector) {
		__sync_fetch_and_add(&c->sequential, 1);
		__sync_fetch_and_add(&c->sequential_bytes, bytes);
	} else {
		__sync_fetch_and_add(&c->random, 1);
		__sync_fetch_and_add(&c->random_bytes, bytes);
	}
	if (last)
		*last = end;
	else
		bpf_map_update_elem(&last_end, &dev, &end, BPF_ANY);
	return 0;
}
