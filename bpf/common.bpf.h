/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every BPF program of ours shares: the ring buffer ("events"), the count of events lost
 * when it was full ("lost_events"), and the common filters. User space (common/events.c,
 * common/filter.c) finds these maps by name.
 */
#ifndef EBPFTRACE_COMMON_BPF_H
#define EBPFTRACE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct common_cfg common_cfg = { .filter = { .uid = FILTER_UID_ANY } };

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized from user space before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

/*
 * A slot for a map that user space makes while the programs load and attach (struct late_map in
 * common/setup.h). late_map_get() is NULL until the map is in it.
 */
#define LATE_MAP_SLOT(name)                               \
	struct {                                          \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); \
		__uint(max_entries, 1);                   \
		__uint(key_size, sizeof(__u32));          \
		__uint(value_size, sizeof(__u32));        \
	} name SEC(".maps")

static __always_inline void *late_map_get(void *slot)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(slot, &zero);
}

static __always_inline void count_lost_event(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

	if (lost)
		*lost += 1;
}

/*
 * Waking the consumer for every event costs far more than the event itself; it polls on a short
 * timer, so wake it only when the buffer is filling up.
 */
static __always_inline __u64 wakeup_flag(void)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= common_cfg.wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/*
 * Reserve a record of size bytes, a constant (the verifier wants one); a NULL return has already
 * been counted as lost.
 */
#define event_reserve_size(size)                                     \
	({                                                           \
		void *__e = bpf_ringbuf_reserve(&events, (size), 0); \
		if (!__e)                                            \
			count_lost_event();                          \
		__e;                                                 \
	})
#define event_reserve(type) ((type *)event_reserve_size(sizeof(type)))

static __always_inline void event_submit(void *event)
{
	bpf_ringbuf_submit(event, wakeup_flag());
}

/* Copy a variable-length record (size bounded by the caller) into the ring buffer. */
static __always_inline void event_output(void *data, __u64 size)
{
	if (bpf_ringbuf_output(&events, data, size, wakeup_flag()))
		count_lost_event();
}

static __always_inline bool comm_matches(const char *comm)
{
	const volatile struct filter_cfg *f = &common_cfg.filter;
	__u32 n = f->comm_len;

	for (int start = 0; start + n <= TASK_COMM_LEN; start++) {
		bool hit = true;

		for (int i = 0; i < TASK_COMM_LEN && i < n; i++) {
			if (comm[start + i] != f->comm[i]) {
				hit = false;
				break;
			}
		}
		if (hit)
			return true;
	}
	return false;
}

/* The common filters on who the current task is: -p, -t, -u, -c. */
static __always_inline bool filter_current_ids(void)
{
	const volatile struct filter_cfg *f = &common_cfg.filter;
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (f->pid && (pid_tgid >> 32) != f->pid)
		return false;
	if (f->tid && (__u32)pid_tgid != f->tid)
		return false;
	if (f->uid != FILTER_UID_ANY && (__u32)bpf_get_current_uid_gid() != f->uid)
		return false;
	if (f->cgroup && bpf_current_task_under_cgroup(&cgroup_filter, 0) != 1)
		return false;
	return true;
}

/* -n: the current comm contains the name (true when no name was given). */
static __always_inline bool filter_current_comm(void)
{
	char comm[TASK_COMM_LEN];

	if (!common_cfg.filter.comm_len)
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	return comm_matches(comm);
}

/* All the common filters on the current task. */
static __always_inline bool filter_current(void)
{
	return filter_current_ids() && filter_current_comm();
}

/*
 * p->field as a plain load where the verifier knows p's type (tp_btf and fentry arguments), else
 * through bpf_probe_read_kernel (raw tracepoints, kprobes). typed must be a compile-time constant,
 * so that the other branch is compiled out. The load costs a fraction of the helper call: it took
 * runqlat's sched_switch program from 295 to 211 ns per run on our 6.18 VM.
 */
#define FIELD_READ(typed, p, field) ((typed) ? (p)->field : BPF_CORE_READ(p, field))

/* The current task's comm: two loads, where bpf_get_current_comm() is a call and a copy. */
static __always_inline void current_comm(char comm[TASK_COMM_LEN])
{
	struct task_struct *t = bpf_get_current_task_btf();

	__builtin_memcpy(comm, t->comm, TASK_COMM_LEN);
}

/*
 * A syscall's number and arguments from the registers it saved, as sys_exit and bpf_task_pt_regs
 * hand them over: plain loads where the pointer is typed, else through bpf_probe_read_kernel.
 */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR_REG orig_ax
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR_REG syscallno
#else
#error "SYSCALL_NR_REG: the pt_regs field with the syscall number on this architecture"
#endif
/*
 * Whether the saved registers are a syscall's still in progress, not those of an exception or
 * interrupt from user space, nor of a syscall that already returned (a signal generated on the
 * way back): x86 keeps -ENOSYS in ax until the syscall returns.
 */
#if defined(__TARGET_ARCH_x86)
#define syscall_in_progress(regs) ((regs)->ax == (unsigned long)-38)
#else
#define syscall_in_progress(regs) ((long)(regs)->SYSCALL_NR_REG >= 0)
#endif
#define SYSCALL_NR(typed, regs) FIELD_READ(typed, (struct pt_regs *)(regs), SYSCALL_NR_REG)
#define SYSCALL_ARG(typed, n, regs) \
	((typed) ? PT_REGS_PARM##n##_SYSCALL(regs) : PT_REGS_PARM##n##_CORE_SYSCALL(regs))

/* The registers the current task saved on entry to the kernel (bpf_task_pt_regs: 5.15+). */
static __always_inline struct pt_regs *current_task_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/*
 * Argument n (from 0) of the function a kprobe stopped at, from its register, with n known only
 * at run time (a .rodata setting): the first six, which x86-64 and arm64 pass in registers.
 */
static __always_inline __u64 regs_arg(struct pt_regs *regs, __u32 n)
{
	switch (n) {
	case 0:
		return PT_REGS_PARM1_CORE(regs);
	case 1:
		return PT_REGS_PARM2_CORE(regs);
	case 2:
		return PT_REGS_PARM3_CORE(regs);
	case 3:
		return PT_REGS_PARM4_CORE(regs);
	case 4:
		return PT_REGS_PARM5_CORE(regs);
	default:
		return PT_REGS_PARM6_CORE(regs);
	}
}

/*
 * Whether the current syscall is a 32-bit one on a 64-bit kernel: its numbers are another table's,
 * so a program keyed by number must not take it for the 64-bit call of that number. The syscall
 * tracepoints skip these calls too.
 */
static __always_inline bool compat_syscall(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

#if defined(__TARGET_ARCH_x86)
	return t->thread_info.status & 0x0002; /* TS_COMPAT */
#else
	return t->thread_info.flags & (1UL << 22); /* arm64's TIF_32BIT */
#endif
}

/*
 * The value of key in a hash map, inserted as a copy of init when missing (by whichever CPU
 * gets there first); NULL, counted as a lost event, when the map is full.
 */
static __always_inline void *map_lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		count_lost_event();
	return v;
}

#define FILTER_CGROUP_DEPTH 32 /* cgroup levels filter_task() climbs looking for --cgroup */

/* Whether task t is in the cgroup v2 with this id or below it. */
static __always_inline bool task_in_cgroup(struct task_struct *t, __u64 id)
{
	struct cgroup *cg = BPF_CORE_READ(t, cgroups, dfl_cgrp);

	for (int i = 0; i < FILTER_CGROUP_DEPTH && cg; i++) {
		if (BPF_CORE_READ(cg, kn, id) == id)
			return true;
		cg = BPF_CORE_READ(cg, self.parent, cgroup);
	}
	return false;
}

/*
 * The common filters on a task that need not be the current one: the task woken up or switched to
 * in scheduler events (-p, -t, -u, -n, -c).
 */
static __always_inline bool filter_task(struct task_struct *t)
{
	const volatile struct filter_cfg *f = &common_cfg.filter;
	char comm[TASK_COMM_LEN];

	if (f->pid && (__u32)BPF_CORE_READ(t, tgid) != f->pid)
		return false;
	if (f->tid && (__u32)BPF_CORE_READ(t, pid) != f->tid)
		return false;
	if (f->uid != FILTER_UID_ANY && BPF_CORE_READ(t, cred, uid.val) != f->uid)
		return false;
	if (f->cgroup && !task_in_cgroup(t, f->cgroup_id))
		return false;
	if (f->comm_len) {
		BPF_CORE_READ_INTO(&comm, t, comm);
		if (!comm_matches(comm))
			return false;
	}
	return true;
}

#endif
