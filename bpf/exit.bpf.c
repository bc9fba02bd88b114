// SPDX-License-Identifier: GPL-2.0
/*
 * exit: every process exit, reported when its last thread is gone, with the status its parent's
 * wait() gets; or, with --threads, every thread's exit.
 *
 * Since 6.16 the tracepoint tells whether the exiting thread is the last of its process
 * (group_dead), and the tp_btf program takes that. Before, the raw tracepoint program sees the
 * count of live threads drop to 0; but two threads exiting at once can both see 0 (each decrements
 * it a while before the tracepoint), so the first to report marks the process, by its
 * signal_struct, and the mark is removed when the process is freed.
 */
#include "common.bpf.h"
#include "exit.h"

/* include/linux/sched/signal.h: the whole thread group is exiting (exit_group, a fatal signal). */
#define SIGNAL_GROUP_EXIT 0x00000004
#define EEXIST		  17

const volatile struct exit_cfg exit_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EXIT_MAX_DYING);
	__type(key, __u64); /* the address of the process's signal_struct */
	__type(value, __u8);
} reported SEC(".maps");

/*
 * What wait() will report (wait_task_zombie): the group exit code when the whole group was told to
 * exit, else the exit code of the group leader (which may have left before the other threads).
 */
static __always_inline __u32 process_status(struct task_struct *t)
{
	struct signal_struct *sig = BPF_CORE_READ(t, signal);

	if (BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT)
		return BPF_CORE_READ(sig, group_exit_code);
	return BPF_CORE_READ(t, group_leader, exit_code);
}

/*
 * Raw tracepoint path: whether this thread is the first to report its process. A full table
 * cannot tell: then report, at the risk of a duplicate rather than of a miss. The result is
 * compared as an int: before 6.5 the verifier turns the helper into a direct call of the map's
 * update function, which returns an int, so the upper half of the register is not the sign.
 */
static __always_inline bool first_report(struct task_struct *t)
{
	__u64 key = (__u64)BPF_CORE_READ(t, signal);
	__u8 one = 1;

	return (int)bpf_map_update_elem(&reported, &key, &one, BPF_NOEXIST) != -EEXIST;
}

/* last: t is the last thread of its process; told by the kernel when exact, else guessed. */
static __always_inline int on_exit(struct task_struct *t, bool last, bool exact)
{
	struct task_struct *whom = exit_cfg.threads ? t : BPF_CORE_READ(t, group_leader);
	struct exit_event *e;
	char comm[TASK_COMM_LEN];
	__u32 status;

	if ((!exit_cfg.threads && !last) || !filter_current_ids())
		return 0;
	status = exit_cfg.threads ? BPF_CORE_READ(t, exit_code) : process_status(t);
	if (exit_cfg.failed && !status)
		return 0;
	BPF_CORE_READ_INTO(&comm, whom, comm);
	if (common_cfg.filter.comm_len && !comm_matches(comm))
		return 0;
	if (!exit_cfg.threads && !exact && !first_report(t))
		return 0;
	e = event_reserve(struct exit_event);
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->start_ns = BPF_CORE_READ(whom, start_time);
	e->pid = BPF_CORE_READ(t, tgid);
	e->tid = BPF_CORE_READ(t, pid);
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->uid = BPF_CORE_READ(t, cred, uid.val);
	e->status = status;
	e->pad = 0;
	__builtin_memcpy(e->comm, comm, TASK_COMM_LEN);
	event_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct *p, bool group_dead)
{
	return on_exit(p, group_dead, true);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(exit_raw, struct task_struct *p)
{
	return on_exit(p, BPF_CORE_READ(p, signal, live.counter) == 0, false);
}

/* The leader is freed after every thread of its process has exited: forget the mark. */
SEC("raw_tp/sched_process_free")
int BPF_PROG(exit_free_raw, struct task_struct *p)
{
	__u64 key;

	if (BPF_CORE_READ(p, group_leader) != p)
		return 0;
	key = (__u64)BPF_CORE_READ(p, signal);
	bpf_map_delete_elem(&reported, &key);
	return 0;
}
