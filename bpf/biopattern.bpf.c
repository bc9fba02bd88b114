// SPDX-License-Identifier: GPL-2.0
/*
 * biopattern: per disk, how many completed block requests were sequential (they start at the
 * sector where the disk's previous request ended) and how many random, with their bytes, from
 * the block:block_rq_complete tracepoint. Where each disk's last request ended is kept apart
 * from the counts, which user space empties every interval, so that an interval's first request
 * is judged like any other. By tp_btf, with the disk and sector read from the request as the
 * tracepoint's record has them; or else through its perf event, which waits out an RCU grace
 * period as it detaches.
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

#define MINORBITS      20
#define REQ_OP_MASK    ((1 << 8) - 1)
#define REQ_OP_DRV_IN  34
#define REQ_OP_DRV_OUT 35

/* A completed request of nr_sector sectors from sector on disk dev (the kernel's dev_t). */
static __always_inline int request_done(__u32 dev, __u64 sector, __u32 nr_sector)
{
	__u64 end = sector + nr_sector, bytes = (__u64)nr_sector * 512, *last;
	struct biopattern_counts *c;

	if (!nr_sector || !filter_current())
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

/*
 * The record's values: the whole disk's dev_t, and the start sector, 0 for a passthrough
 * request or one whose sector was never set (blk_rq_trace_sector).
 */
SEC("tp_btf/block_rq_complete")
int BPF_PROG(biopattern_btf, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	__u32 op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
	__u64 sector = BPF_CORE_READ(rq, __sector);
	__u32 dev = 0;

	if (disk)
		dev = BPF_CORE_READ(disk, major) << MINORBITS | BPF_CORE_READ(disk, first_minor);
	if (op == REQ_OP_DRV_IN || op == REQ_OP_DRV_OUT || sector == (__u64)-1)
		sector = 0;
	return request_done(dev, sector, nr_bytes >> 9);
}

SEC("tracepoint/block/block_rq_complete")
int biopattern_complete(struct trace_event_raw_block_rq_completion *ctx)
{
	return request_done(ctx->dev, ctx->sector, ctx->nr_sector);
}
