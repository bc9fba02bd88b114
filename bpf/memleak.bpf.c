// SPDX-License-Identifier: GPL-2.0
/*
 * memleak: allocations not freed yet, with the stack that made them.
 *
 * User mode: a uprobe on each allocator's entry notes the request in task storage, a uretprobe
 * on the same function records the returned block in `allocs` (address -> size, time, stack);
 * free and munmap remove it. Calls the allocator makes to itself (realloc(NULL) -> malloc,
 * reallocarray -> realloc, a large malloc -> mmap) are recognised by the stack pointer and
 * counted once, for the outermost call. Kernel mode: the kmem, page and percpu tracepoints.
 *
 * Per call the work is one task-storage access on entry and one on return; sampling (-s) and
 * the size filters are decided on entry, in the kernel.
 */
#include "common.bpf.h"
#include "memleak.h"

#define PROT_EXEC  0x4
#define MAP_FAILED ((__u64)-1)
#define SIGSTOP	   19

const volatile struct memleak_cfg memleak_cfg = { .sample = 1, .max_size = ~0ULL };

/* Failures the report mentions: a stack or an allocation that could not be stored. */
__u64 stacks_lost;
__u64 allocs_lost;
/* Bumped when the target maps code: user space reads its mappings again. */
__u64 maps_changed;

/*
 * Two maps of tens of megabytes, made by user space while the programs load (cmd/memleak.c):
 * allocs, a hash of struct memleak_alloc by address, and stacks, a stack trace map of
 * MEMLEAK_STACK_DEPTH frames.
 */
LATE_MAP_SLOT(allocs_slot);
LATE_MAP_SLOT(stacks_slot);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384 + 1); /* one per stack, and the "no stack" entry */
	__type(key, __s64);
	__type(value, struct memleak_total);
} totals SEC(".maps");

/* The allocator call a thread is in: the outermost one, told apart by its stack pointer. */
struct inflight {
	__u64 sp;     /* the stack pointer on entry; 0: none */
	__u64 size;   /* bytes asked for */
	__u64 old;    /* realloc: the block it replaces */
	__u64 memptr; /* posix_memalign: where the result goes */
	__u32 call;
	__u32 record; /* sampled, and within -z/-Z */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight);
} inflight SEC(".maps");

static __always_inline bool wanted(__u64 size)
{
	if (size < memleak_cfg.min_size || size > memleak_cfg.max_size)
		return false;
	return memleak_cfg.sample <= 1 || bpf_get_prandom_u32() % memleak_cfg.sample == 0;
}

static __always_inline void trace_call(__u32 call, __u64 addr, __u64 size, __s64 stack_id,
				       __u32 freed)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct memleak_event *e;

	e = event_reserve(struct memleak_event);
	if (!e)
		return;
	e->ts_ns = bpf_ktime_get_ns();
	e->addr = addr;
	e->size = size;
	e->stack_id = stack_id;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->call = call;
	e->freed = freed;
	event_submit(e);
}

static __always_inline void total_add(__s64 stack_id, __s64 bytes, __s64 allocs_delta)
{
	struct memleak_total *t, zero = {};

	t = bpf_map_lookup_elem(&totals, &stack_id);
	if (!t) {
		bpf_map_update_elem(&totals, &stack_id, &zero, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&totals, &stack_id);
		if (!t)
			return;
	}
	__sync_fetch_and_add(&t->bytes, bytes);
	__sync_fetch_and_add(&t->allocs, allocs_delta);
}

/*
 * The functions below that many programs share are __noinline: BPF-to-BPF calls, so the object
 * (which the binary embeds) holds one copy of each instead of one per program: 41 KB, not
 * 140. A call costs a few nanoseconds; the probes themselves cost microseconds.
 */

/* The block at addr is gone (freed, or replaced by realloc). */
static __noinline void forget(__u64 addr, __u32 call)
{
	void *allocs = late_map_get(&allocs_slot);
	struct memleak_alloc *a;
	__s64 stack_id;
	__u64 size;

	if (!addr || !allocs)
		return;
	a = bpf_map_lookup_elem(allocs, &addr);
	if (!a)
		return;
	size = a->size;
	stack_id = a->stack_id;
	/* Two frees racing for one address: only the one that deletes it counts. */
	if (bpf_map_delete_elem(allocs, &addr))
		return;
	if (memleak_cfg.combined)
		total_add(stack_id, -(__s64)size, -1);
	if (memleak_cfg.trace)
		trace_call(call, addr, size, stack_id, 1);
}

static __noinline void remember(void *ctx, __u64 addr, __u64 size, __u32 call)
{
	struct memleak_alloc a = { .size = size, .ts_ns = bpf_ktime_get_ns() };
	void *allocs = late_map_get(&allocs_slot), *stacks = late_map_get(&stacks_slot);

	if (!allocs || !stacks)
		return;
	a.stack_id = bpf_get_stackid(ctx, stacks, memleak_cfg.user ? BPF_F_USER_STACK : 0);
	if (a.stack_id < 0)
		__sync_fetch_and_add(&stacks_lost, 1);
	if (bpf_map_update_elem(allocs, &addr, &a, BPF_NOEXIST)) {
		/* A block whose free we did not see (or a full map): replace it. */
		forget(addr, call);
		if (bpf_map_update_elem(allocs, &addr, &a, BPF_NOEXIST)) {
			__sync_fetch_and_add(&allocs_lost, 1);
			return;
		}
	}
	if (memleak_cfg.combined)
		total_add(a.stack_id, size, 1);
	if (memleak_cfg.trace)
		trace_call(call, addr, size, a.stack_id, 0);
}

static __noinline int alloc_enter(struct pt_regs *ctx, __u64 size, __u64 old, __u64 memptr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 sp = PT_REGS_SP(ctx);
	struct inflight *f;

	if (!filter_current())
		return 0;
	f = bpf_task_storage_get(&inflight, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!f)
		return 0;
	/* A call made from inside the outer one, on a deeper stack: the outer one counts. */
	if (f->sp && sp < f->sp)
		return 0;
	f->sp = sp;
	f->size = size;
	f->old = old;
	f->memptr = memptr;
	f->call = bpf_get_attach_cookie(ctx);
	f->record = wanted(size);
	return 0;
}

/*
 * Each probe twice: as a program per probed function, for kernels without uprobe_multi links
 * (before 6.6), and as its uprobe.multi twin, one link for all the functions it probes (which
 * attaches and, above all, detaches far faster). User space loads one of the two.
 */
#define UPROBE_TWINS(sec, name)               \
	SEC(sec)                              \
	int name(struct pt_regs *ctx)         \
	{                                     \
		return name##_probe(ctx);     \
	}                                     \
	SEC(sec ".multi")                     \
	int name##_multi(struct pt_regs *ctx) \
	{                                     \
		return name##_probe(ctx);     \
	}

static __always_inline int size_arg1_probe(struct pt_regs *ctx)
{
	return alloc_enter(ctx, PT_REGS_PARM1(ctx), 0, 0);
}
UPROBE_TWINS("uprobe", size_arg1)

/* aligned_alloc, memalign (align, size); mmap (addr, length, ...) */
static __always_inline int size_arg2_probe(struct pt_regs *ctx)
{
	return alloc_enter(ctx, PT_REGS_PARM2(ctx), 0, 0);
}
UPROBE_TWINS("uprobe", size_arg2)

static __always_inline int calloc_enter_probe(struct pt_regs *ctx)
{
	return alloc_enter(ctx, PT_REGS_PARM1(ctx) * PT_REGS_PARM2(ctx), 0, 0);
}
UPROBE_TWINS("uprobe", calloc_enter)

static __always_inline int realloc_enter_probe(struct pt_regs *ctx)
{
	return alloc_enter(ctx, PT_REGS_PARM2(ctx), PT_REGS_PARM1(ctx), 0);
}
UPROBE_TWINS("uprobe", realloc_enter)

static __always_inline int reallocarray_enter_probe(struct pt_regs *ctx)
{
	return alloc_enter(ctx, PT_REGS_PARM2(ctx) * PT_REGS_PARM3(ctx), PT_REGS_PARM1(ctx), 0);
}
UPROBE_TWINS("uprobe", reallocarray_enter)

static __always_inline int posix_memalign_enter_probe(struct pt_regs *ctx)
{
	return alloc_enter(ctx, PT_REGS_PARM3(ctx), 0, PT_REGS_PARM1(ctx));
}
UPROBE_TWINS("uprobe", posix_memalign_enter)

static __noinline int alloc_return_probe(struct pt_regs *ctx)
{
	__u64 ret = PT_REGS_RC(ctx);
	struct task_struct *task = bpf_get_current_task_btf();
	struct inflight *f = bpf_task_storage_get(&inflight, task, NULL, 0);
	__u64 addr = ret;

	/* On return the stack pointer is one word above the entry's (the return address). */
	if (!f || f->sp != PT_REGS_SP(ctx) - sizeof(__u64))
		return 0;
	f->sp = 0;
	if (f->call == MEMLEAK_POSIX_MEMALIGN) {
		if (ret || bpf_probe_read_user(&addr, sizeof(addr), (void *)f->memptr))
			return 0;
	} else if (f->call == MEMLEAK_MMAP) {
		if (ret == MAP_FAILED)
			return 0;
	} else if (!ret) {
		return 0;
	}
	/*
	 * A successful realloc has freed the old block, whether the new one is recorded or not; one
	 * grown in place and recorded again replaces its entry in remember().
	 */
	if (f->old && (f->old != addr || !f->record))
		forget(f->old, f->call);
	if (f->record)
		remember(ctx, addr, f->size, f->call);
	return 0;
}
UPROBE_TWINS("uretprobe", alloc_return)

/* free, munmap: also on an entry placed after free's NULL check (common/uprobes.c). */
static __always_inline int free_enter_probe(struct pt_regs *ctx)
{
	forget(PT_REGS_PARM1(ctx), bpf_get_attach_cookie(ctx));
	return 0;
}
UPROBE_TWINS("uprobe", free_enter)

/*
 * The target has new code mapped (a library loaded, an exec): tell user space at once, so that
 * it reads the mappings while they are there. A command we started (hold) is stopped until
 * then, as it may well exit before we could read them: user space sends SIGCONT.
 */
static __always_inline void maps_changed_notice(void)
{
	struct memleak_event *e;

	__sync_fetch_and_add(&maps_changed, 1);
	if (memleak_cfg.hold)
		bpf_send_signal(SIGSTOP);
	e = event_reserve(struct memleak_event);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->call = MEMLEAK_MAPS_CHANGED;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == memleak_cfg.pid;
}

/*
 * The target mapped code. Only the exit is traced, with the protection read from the registers
 * the call saved: each syscall tracepoint waits out an RCU grace period as it detaches.
 */
SEC("tracepoint/syscalls/sys_exit_mmap")
int mmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (is_target() && ctx->ret >= 0 && (SYSCALL_ARG(true, 3, current_task_regs()) & PROT_EXEC))
		maps_changed_notice();
	return 0;
}

/* A raw tracepoint, which detaches at once, unlike a tracepoint's perf event. */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(target_exec)
{
	if (is_target())
		maps_changed_notice();
	return 0;
}

static __noinline int kernel_alloc(void *ctx, __u64 addr, __u64 size, __u32 call)
{
	if (addr && filter_current() && wanted(size))
		remember(ctx, addr, size, call);
	return 0;
}

SEC("tracepoint/kmem/kmalloc")
int kmalloc(struct trace_event_raw_kmalloc *ctx)
{
	return kernel_alloc(ctx, (__u64)ctx->ptr, ctx->bytes_alloc, MEMLEAK_KMALLOC);
}

SEC("tracepoint/kmem/kmem_cache_alloc")
int kmem_cache_alloc(struct trace_event_raw_kmem_cache_alloc *ctx)
{
	return kernel_alloc(ctx, (__u64)ctx->ptr, ctx->bytes_alloc, MEMLEAK_KMEM_CACHE_ALLOC);
}

SEC("tracepoint/kmem/mm_page_alloc")
int page_alloc(struct trace_event_raw_mm_page_alloc *ctx)
{
	/* pfn is -1 when the allocation failed */
	if (ctx->pfn == (unsigned long)-1)
		return 0;
	return kernel_alloc(ctx, ctx->pfn, memleak_cfg.page_size << ctx->order, MEMLEAK_PAGE_ALLOC);
}

SEC("tracepoint/percpu/percpu_alloc_percpu")
int percpu_alloc(struct trace_event_raw_percpu_alloc_percpu *ctx)
{
	return kernel_alloc(ctx, (__u64)ctx->ptr, ctx->bytes_alloc, MEMLEAK_PERCPU_ALLOC);
}

SEC("tracepoint/kmem/kfree")
int kfree(struct trace_event_raw_kfree *ctx)
{
	forget((__u64)ctx->ptr, MEMLEAK_KFREE);
	return 0;
}

SEC("tracepoint/kmem/kmem_cache_free")
int kmem_cache_free(struct trace_event_raw_kmem_cache_free *ctx)
{
	forget((__u64)ctx->ptr, MEMLEAK_KMEM_CACHE_FREE);
	return 0;
}

SEC("tracepoint/kmem/mm_page_free")
int page_free(struct trace_event_raw_mm_page_free *ctx)
{
	forget(ctx->pfn, MEMLEAK_PAGE_FREE);
	return 0;
}

SEC("tracepoint/percpu/percpu_free_percpu")
int percpu_free(struct trace_event_raw_percpu_free_percpu *ctx)
{
	forget((__u64)ctx->ptr, MEMLEAK_PERCPU_FREE);
	return 0;
}

/*
 * The same through raw tracepoints, which detach at once: the eight perf tracepoints above wait
 * out a grace period each as they detach, one after the other (a quarter of a second). Raw, not
 * BTF-typed: 6.1 refuses a tp_btf program that reads a void * argument. The arguments are those
 * of Linux 6.1 and later (cmd/memleak.c checks them in the kernel's BTF). Pages are keyed by
 * their struct page, which is what both ends have.
 */
SEC("raw_tp/kmalloc")
int BPF_PROG(kmalloc_raw, unsigned long call_site, const void *ptr, size_t bytes_req,
	     size_t bytes_alloc)
{
	return kernel_alloc(ctx, (__u64)ptr, bytes_alloc, MEMLEAK_KMALLOC);
}

SEC("raw_tp/kmem_cache_alloc")
int BPF_PROG(kmem_cache_alloc_raw, unsigned long call_site, const void *ptr, struct kmem_cache *s)
{
	return kernel_alloc(ctx, (__u64)ptr, BPF_CORE_READ(s, size), MEMLEAK_KMEM_CACHE_ALLOC);
}

SEC("raw_tp/mm_page_alloc")
int BPF_PROG(page_alloc_raw, struct page *page, unsigned int order)
{
	return kernel_alloc(ctx, (__u64)page, memleak_cfg.page_size << order, MEMLEAK_PAGE_ALLOC);
}

SEC("raw_tp/percpu_alloc_percpu")
int BPF_PROG(percpu_alloc_raw, unsigned long call_site, bool reserved, bool is_atomic, size_t size,
	     size_t align, void *base_addr, int off, void *ptr, size_t bytes_alloc)
{
	return kernel_alloc(ctx, (__u64)ptr, bytes_alloc, MEMLEAK_PERCPU_ALLOC);
}

SEC("raw_tp/kfree")
int BPF_PROG(kfree_raw, unsigned long call_site, const void *ptr)
{
	forget((__u64)ptr, MEMLEAK_KFREE);
	return 0;
}

SEC("raw_tp/kmem_cache_free")
int BPF_PROG(kmem_cache_free_raw, unsigned long call_site, const void *ptr)
{
	forget((__u64)ptr, MEMLEAK_KMEM_CACHE_FREE);
	return 0;
}

SEC("raw_tp/mm_page_free")
int BPF_PROG(page_free_raw, struct page *page)
{
	forget((__u64)page, MEMLEAK_PAGE_FREE);
	return 0;
}

SEC("raw_tp/percpu_free_percpu")
int BPF_PROG(percpu_free_raw, void *base_addr, int off, void *ptr)
{
	forget((__u64)ptr, MEMLEAK_PERCPU_FREE);
	return 0;
}
