/* SPDX-License-Identifier: GPL-2.0 */
/* The argdist settings and histogram, shared by bpf/argdist.bpf.c and cmd/argdist.c. */
#ifndef EBPFTRACE_ARGDIST_H
#define EBPFTRACE_ARGDIST_H

#include "common.h"
#include "hist_slots.h"

#define ARGDIST_MAX_HISTS 4096 /* histograms per interval with -P */
#define ARGDIST_SLOTS	  128  /* buckets: the 65 log2 ones, or up to this many linear ones */

struct argdist_cfg {
	__u64 min;   /* linear: the low end of the first bucket */
	__u64 step;  /* linear: the width of a bucket; 0: log2 buckets */
	__u32 n;     /* linear: buckets, the last one open-ended */
	__u32 arg;   /* the 64-bit slot of the argument (0..5); unused for the return value */
	__u32 shift; /* 64 minus the value's width in bits: what of the register it is */
	__u32 is_signed;
	__u32 per_pid; /* -P: a histogram per process */
	__u32 pad;
};

/* One histogram; the key of the hists map is the pid with -P, else 0. */
struct argdist_hist {
	__u64 slots[ARGDIST_SLOTS];
	__u64 sum;		  /* of the values counted in slots */
	__u64 below;		  /* values under the first bucket: negative, or below min */
	char comm[TASK_COMM_LEN]; /* -P: the process's name */
};

#endif
