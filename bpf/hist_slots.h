/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Histograms filled in the kernel and printed by common/hist.c. A log2 histogram has a bucket for
 * every __u64: bucket 0 counts the value 0 and bucket k (1..64) the values 2^(k-1) .. 2^k - 1, so
 * no value is ever clamped. The slot functions are plain C: the BPF side and the unit tests run the
 * same code.
 */
#ifndef EBPFTRACE_BPF_HIST_SLOTS_H
#define EBPFTRACE_BPF_HIST_SLOTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define HIST_SLOTS 65

/* One log2 histogram as the kernel fills it (hist_log2_add() in bpf/hist.bpf.h). */
struct hist_log2 {
	__u64 slots[HIST_SLOTS];
	/* Of the values before they were scaled down for bucketing, so the mean keeps the precision
	 * the buckets drop. */
	__u64 sum;
};

/* The log2 bucket of v: 0 for 0, else 1 + floor(log2(v)). */
static inline __u32 hist_log2_slot(__u64 v)
{
	__u32 slot = 0;

	for (__u32 shift = 32; shift; shift >>= 1) {
		if (v >> shift) {
			v >>= shift;
			slot += shift;
		}
	}
	return v ? slot + 1 : 0;
}

/* The linear bucket of v with buckets of width step; the last of n holds everything above. */
static inline __u32 hist_linear_slot(__u64 v, __u64 step, __u32 n)
{
	__u64 slot = v / step;

	return slot < n ? (__u32)slot : n - 1;
}

#endif
