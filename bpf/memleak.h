/* SPDX-License-Identifier: GPL-2.0 */
/* memleak: what bpf/memleak.bpf.c keeps per allocation and sends under -t, for cmd/memleak.c. */
#ifndef EBPFTRACE_MEMLEAK_H
#define EBPFTRACE_MEMLEAK_H

#include "common.h"

#define MEMLEAK_STACK_DEPTH 127 /* the kernel's default perf_event_max_stack */

/*
 * The allocator calls, as MEMLEAK_<CALL> and by name (-t's CALL column); a uprobe's cookie says
 * which one it is on. The kernel-mode ones follow free and munmap.
 */
#define MEMLEAK_CALL_LIST(X)                                                                     \
	X(MALLOC, "malloc"), X(CALLOC, "calloc"), X(REALLOC, "realloc"),                         \
		X(REALLOCARRAY, "reallocarray"), X(POSIX_MEMALIGN, "posix_memalign"),            \
		X(ALIGNED_ALLOC, "aligned_alloc"), X(MEMALIGN, "memalign"), X(VALLOC, "valloc"), \
		X(PVALLOC, "pvalloc"), X(MMAP, "mmap"), X(FREE, "free"), X(MUNMAP, "munmap"),    \
		X(KMALLOC, "kmalloc"), X(KMEM_CACHE_ALLOC, "kmem_cache_alloc"),                  \
		X(PAGE_ALLOC, "page_alloc"), X(PERCPU_ALLOC, "percpu_alloc"), X(KFREE, "kfree"), \
		X(KMEM_CACHE_FREE, "kmem_cache_free"), X(PAGE_FREE, "page_free"),                \
		X(PERCPU_FREE, "percpu_free")

#define MEMLEAK_CALL_ENUM(call, name) MEMLEAK_##call
enum memleak_call {
	MEMLEAK_CALL_LIST(MEMLEAK_CALL_ENUM),
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
