/* SPDX-License-Identifier: GPL-2.0 */
/* The biopattern counters, shared by bpf/biopattern.bpf.c and cmd/biopattern.c. */
#ifndef EBPFTRACE_BIOPATTERN_H
#define EBPFTRACE_BIOPATTERN_H

#include "common.h"

#define BIOPATTERN_MAX_DISKS 1024

/* Per disk (the kernel's dev_t: major << 20 | minor), emptied by user space every interval. */
struct biopattern_counts {
	__u64 sequential; /* requests that started where the disk's previous one ended */
	__u64 random;	  /* the others, and the first one seen on the disk */
	__u64 sequential_bytes;
	__u64 random_bytes;
};

#endif
