/* SPDX-License-Identifier: GPL-2.0 */
/* memleak: what bpf/memleak.bpf.c keeps per allocation and sends under -t, for cmd/memleak.c. */
#ifndef EBPFTRACE_MEMLEAK_H
#define EBPFTRACE_MEMLEAK_H

#include "common.h"

#define MEMLEAK_STACK_DEPTH 127 /* the kernel's default perf_event_max_stack */

/* The allocator calls; a uprobe's cookie says which one it is on. */
enum memleak_call {
	MEMLEAK_MALLOC,
	MEMLEAK_CALLOC,
	MEMLEAK_REALLOC,
	MEMLEAK_REALLOCARRAY,
	MEMLEAK_POSIX_MEMALIGN,
	MEMLEAK_ALIGNED_ALLOC,
	MEMLEAK_MEMALIGN,
	MEMLEAK_VALLOC,
	MEMLEAK_PVALLOC,
	MEMLEAK_MMAP,
	MEMLEAK_FREE,
	MEMLEAK_MUNMAP,
	/* kernel mode */
	MEMLEAK_KMALLOC,
	MEMLEAK_KMEM_CACHE_ALLOC,
	MEMLEAK_PAGE_ALLOC,
	MEMLEAK_PERCPU_ALLOC,
	MEMLEAK_KFREE,
	MEMLEAK_KMEM_CACHE_FREE,
	MEMLEAK_PAGE_FREE,
	MEMLEAK_PERCPU_FREE,
	MEMLEAK_CALLS,
	/* Not a call: the target has mapped code (or exec'd), its symbols must be read again. */
	MEMLEAK_MAPS_CHANGED = 0xffff,
};

struct memleak_cfg {
	__u64 min_size; /* -z */
	__u64 max_size; /* -Z */
	__u32 sample;	/* -s: record one allocation in this many (1: all) */
	__u32 combined; /* keep per-stack totals in the kernel (--combined-only) */
	__u32 trace;	/* -t: send every recorded allocation and its free */
	__u32 user;	/* user-mode stacks (uprobes) rather than kernel stacks */
	__u32 pid;	/* user mode: the target, whose executable mappings bump maps_changed */
	__u32 hold;	/* stop the target when it maps code, until user space has read its maps */
	__u64 page_size;
};

/* The allocations map: key is the address (or page frame number), value this. */
struct memleak_alloc {
	__u64 size;
	__u64 ts_ns;	/* CLOCK_MONOTONIC when allocated */
	__s64 stack_id; /* < 0: the stack could not be stored */
};

/* Per-stack totals (--combined-only): key is the stack id. */
struct memleak_total {
	__u64 bytes;
	__u64 allocs;
};

/* -t: one recorded allocation or a free of one; or a MEMLEAK_MAPS_CHANGED notice. */
struct memleak_event {
	__u64 ts_ns;
	__u64 addr;
	__u64 size;
	__s64 stack_id;
	__u32 pid;
	__u32 tid;
	__u32 call;  /* enum memleak_call */
	__u32 freed; /* 1: the block is gone (freed, or replaced by realloc) */
};

#endif
