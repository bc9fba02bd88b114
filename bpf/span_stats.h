/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Time spent between two events of a CPU (an interrupt handler's entry and exit, a softirq's), by
 * a key (the irq, the vector): counted in the kernel by bpf/span.bpf.h, printed every interval by
 * common/span.c as totals or histograms.
 */
#ifndef EBPFTRACE_SPAN_STATS_H
#define EBPFTRACE_SPAN_STATS_H

#include "common.h"
#include "hist_slots.h"

#define SPAN_MAX_KEYS 1024
#define SPAN_NAME_LEN 32

struct span_cfg {
	__u64 unit_ns; /* histogram buckets in this many ns: 1 (nsecs) or 1000 (usecs) */
	__u32 hist;    /* 1: fill the histograms */
	__u32 counts;  /* 1: only count the spans, do not time them */
};

struct span_stats {
	__u64 count;
	__u64 total_ns;
	struct hist_log2 hist;	  /* with span_cfg.hist */
	char name[SPAN_NAME_LEN]; /* what the key stands for, when the kernel has a name for it */
};

#endif
