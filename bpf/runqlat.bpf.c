// SPDX-License-Identifier: GPL-2.0
/*
 * runqlat: how long runnable tasks wait for a CPU. A task becomes runnable when it is woken up
 * (sched_wakeup), created (sched_wakeup_new) or switched out while still runnable (sched_switch:
 * preempted); the time until sched_switch gives it a CPU goes into a log2 histogram. Every program
 * is here twice, as tp_btf and as raw tracepoint; user space loads the set the kernel takes.
 */
#include "common.bpf.h"
#include "hist.bpf.h"
#include "runqlat.h"

#define TASK_RUNNING 0

const volatile struct runqlat_cfg runqlat_cfg = { .unit_ns = 1000 };

/*
 * When each waiting task became runnable: in task-local storage where the kernel allows it (cheaper
 * than a hash lookup, and gone with the task), else in a hash by thread id. User space creates only
 * the one it uses.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} queued_at SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RUNQLAT_MAX_QUEUED);
	__type(key, __u32);
	__type(value, __u64);
} queued_at_tid SEC(".maps");

/* Emptied by user space at every interval. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RUNQLAT_MAX_HISTS); /* 1 without a key: set from user space */
	__type(key, __u64);
	__type(value, struct runqlat_hist);
} hists SEC(".maps");

/* A histogram to start a new key from: too large for the BPF stack. */
static const struct runqlat_hist empty_hist;

/*
 * Every function below takes typed: true in the tp_btf programs, whose task pointers the verifier
 * lets them read directly, false in the raw tracepoint ones.
 */

/* Kernels before 5.14 call the task's state field state; it is __state since. */
struct task_struct___pre514 {
	volatile long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t, bool typed)
{
	if (bpf_core_field_exists(t->__state))
		return FIELD_READ(typed, t, __state);
	return FIELD_READ(typed, (struct task_struct___pre514 *)t, state);
}

/* The task became runnable now. Thread id 0 is a CPU's idle task, which never waits. */
static __always_inline void mark_queued(struct task_struct *t, bool typed)
{
	__u32 tid = FIELD_READ(typed, t, pid);
	__u64 now, *ts;

	if (!tid || !filter_task(t))
		return;
	now = bpf_ktime_get_ns();
	if (runqlat_cfg.task_storage) {
		ts = bpf_task_storage_get(&queued_at, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (ts)
			*ts = now;
		else
			count_lost_event();
	} else if (bpf_map_update_elem(&queued_at_tid, &tid, &now, BPF_ANY)) {
		count_lost_event();
	}
}

/* When the task became runnable, forgotten as it is read; 0 when not marked. */
static __always_inline __u64 take_queued(struct task_struct *t, __u32 tid)
{
	__u64 *ts, when;

	if (runqlat_cfg.task_storage) {
		ts = bpf_task_storage_get(&queued_at, t, 0, 0);
		if (!ts)
			return 0;
		when = *ts;
		*ts = 0;
		return when;
	}
	ts = bpf_map_lookup_elem(&queued_at_tid, &tid);
	if (!ts)
		return 0;
	when = *ts;
	bpf_map_delete_elem(&queued_at_tid, &tid);
	return when;
}

/* The pid namespace the task's pids are numbered in (not pid_ns_for_children), by inode. */
static __always_inline __u64 pidns_of(struct task_struct *t)
{
	struct pid *pid = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid upid = {};

	bpf_probe_read_kernel(&upid, sizeof(upid),
			      (void *)pid + bpf_core_field_offset(struct pid, numbers) +
				      level * bpf_core_type_size(struct upid));
	return BPF_CORE_READ(upid.ns, ns.inum);
}

static __always_inline __u64 hist_key(struct task_struct *t, __u32 tid, bool typed)
{
	switch (runqlat_cfg.key) {
	case RUNQLAT_KEY_PID:
		return FIELD_READ(typed, t, tgid);
	case RUNQLAT_KEY_TID:
		return tid;
	case RUNQLAT_KEY_PIDNS:
		return pidns_of(t);
	case RUNQLAT_KEY_CGROUP:
		return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	default:
		return 0;
	}
}

static __always_inline struct runqlat_hist *hist_of(struct task_struct *t, __u32 tid, bool typed)
{
	__u64 key = hist_key(t, tid, typed);
	struct runqlat_hist *h = bpf_map_lookup_elem(&hists, &key);

	if (h)
		return h;
	bpf_map_update_elem(&hists, &key, &empty_hist, BPF_NOEXIST);
	h = bpf_map_lookup_elem(&hists, &key);
	if (!h)
		return NULL;
	/* Named once per interval, when the key first shows up. */
	if (runqlat_cfg.key == RUNQLAT_KEY_PID)
		BPF_CORE_READ_INTO(&h->comm, t, group_leader, comm);
	else if (runqlat_cfg.key == RUNQLAT_KEY_TID)
		BPF_CORE_READ_INTO(&h->comm, t, comm);
	return h;
}

/* The task gets a CPU: count how long it waited, if it was marked. */
static __always_inline void record_wait(struct task_struct *t, bool typed)
{
	__u32 tid = FIELD_READ(typed, t, pid);
	struct runqlat_hist *h;
	__u64 queued;

	if (!tid)
		return;
	queued = take_queued(t, tid);
	if (!queued)
		return;
	h = hist_of(t, tid, typed);
	if (h)
		hist_log2_add(&h->hist, bpf_ktime_get_ns() - queued, runqlat_cfg.unit_ns);
	else
		count_lost_event();
}

/* A preempted task stays on its run queue whatever its state says (it may be going to sleep). */
static __always_inline void on_switch(bool preempt, struct task_struct *prev,
				      struct task_struct *next, bool typed)
{
	if (preempt || task_state(prev, typed) == TASK_RUNNING)
		mark_queued(prev, typed);
	record_wait(next, typed);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(wakeup_btf, struct task_struct *p)
{
	mark_queued(p, true);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(wakeup_new_btf, struct task_struct *p)
{
	mark_queued(p, true);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next, true);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(wakeup_raw, struct task_struct *p)
{
	mark_queued(p, false);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(wakeup_new_raw, struct task_struct *p)
{
	mark_queued(p, false);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next, false);
	return 0;
}
