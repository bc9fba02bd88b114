/* SPDX-License-Identifier: GPL-2.0 */
/* Filling a log2 histogram (bpf/hist_slots.h) in the kernel. */
#ifndef EBPFTRACE_HIST_BPF_H
#define EBPFTRACE_HIST_BPF_H

#include "vmlinux.h"
#include "hist_slots.h"

/*
 * Count value (in the kernel's unit, e.g. ns) in h, in the bucket of value / div (div 1000 makes
 * the buckets usecs); the sum keeps value undivided. Atomic: one histogram is shared by every CPU.
 */
static __always_inline void hist_log2_add(struct hist_log2 *h, __u64 value, __u64 div)
{
	__u32 slot = hist_log2_slot(value / div);

	if (slot >= HIST_SLOTS) /* never: it tells the verifier the index is in range */
		return;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->sum, value);
}

#endif
