// SPDX-License-Identifier: GPL-2.0
/*
 * kill: signals. Whether a signal comes from a kill-family call is read off the sender's saved
 * registers when signal_generate fires: the syscall it is in, with that call's signal argument;
 * any other signal comes from the kernel (a fault, a child's exit, a closed pipe, a timer, the
 * OOM killer). By default every generated signal is an event, plus the calls that failed (they
 * generate none), taken at syscall exit; with -k every call is one event, at its return.
 *
 * The exit program is one on the raw sys_exit tracepoint by default (tp_btf), keeping the kill
 * family by number: it detaches at once, where the twelve syscall tracepoints took 0.9 s. With
 * --method tracepoint it is one program attached to each syscalls:sys_exit_* of the family.
 * Both read the registers with bpf_task_pt_regs: Linux 5.15.
 */
#include "common.bpf.h"
#include "kill.h"

const volatile struct kill_cfg kill_cfg = {};

/* A kill-family call, from its registers. */
struct kill_call {
	__s32 target_pid;
	__u32 target_tid;
	__s32 sig;
	__u16 source;
	__u16 target_unknown; /* tkill and pidfd_send_signal do not name the process */
};

/*
 * -k: the process that a tkill or pidfd_send_signal in progress sent its signal to, by thread
 * id, from signal_generate to the call's return.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __s32);
} targets SEC(".maps");

static __always_inline bool sig_match(int sig)
{
	if (!kill_cfg.sig_filter)
		return true;
	if (sig < 0 || sig > KILL_MAX_SIG)
		return false;
	return kill_cfg.sig_mask[(sig >> 6) & 1] >> (sig & 63) & 1;
}

static __always_inline bool target_match(__s32 pid, __u32 tid)
{
	return !kill_cfg.target || (__u32)pid == kill_cfg.target || tid == kill_cfg.target;
}

/* The kill-family syscall of this number, or KILL_SRC_KERNEL. */
static __always_inline enum kill_source kill_source_of(long nr)
{
	for (int i = KILL_SRC_KILL; i < KILL_SRC_COUNT; i++)
		if (nr == kill_cfg.nr[i])
			return i;
	return KILL_SRC_KERNEL;
}

/* The call's arguments, for a source other than the kernel. */
static __always_inline void kill_args_of(struct pt_regs *regs, bool typed, struct kill_call *c)
{
	switch (c->source) {
	case KILL_SRC_KILL:
	case KILL_SRC_RT_SIGQUEUEINFO:
		c->target_pid = SYSCALL_ARG(typed, 1, regs);
		c->sig = SYSCALL_ARG(typed, 2, regs);
		break;
	case KILL_SRC_TKILL:
		c->target_tid = SYSCALL_ARG(typed, 1, regs);
		c->sig = SYSCALL_ARG(typed, 2, regs);
		c->target_unknown = 1;
		break;
	case KILL_SRC_TGKILL:
	case KILL_SRC_RT_TGSIGQUEUEINFO:
		c->target_pid = SYSCALL_ARG(typed, 1, regs);
		c->target_tid = SYSCALL_ARG(typed, 2, regs);
		c->sig = SYSCALL_ARG(typed, 3, regs);
		break;
	default: /* pidfd_send_signal */
		c->sig = SYSCALL_ARG(typed, 2, regs);
		c->target_unknown = 1;
		break;
	}
}

/*
 * The sender is the current task. For a signal generated in an interrupt (a timer's SIGALRM) that
 * is whichever task the interrupt came upon: BPF cannot tell interrupt context on every kernel
 * (x86 keeps the count in a per-CPU variable that kallsyms may not list).
 */
static __always_inline void emit(const struct kill_call *c, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct kill_event *e = event_reserve(struct kill_event);

	if (!e)
		return;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->target_pid = c->target_pid;
	e->target_tid = c->target_tid;
	e->sig = c->sig;
	e->ret = ret;
	e->source = c->source;
	current_comm(e->comm);
	event_submit(e);
}

SEC("tp_btf/signal_generate")
int BPF_PROG(signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct kill_call call = {}, c = { .sig = sig, .source = KILL_SRC_KERNEL };
	long ret = result == TRACE_SIGNAL_OVERFLOW_FAIL ? -kill_cfg.eagain : 0;
	struct pt_regs *regs = current_task_regs();
	__u32 self;

	/* The call's own signal; a different one generated on its way is the kernel's doing. */
	if (syscall_in_progress(regs) && !compat_syscall()) {
		call.source = kill_source_of(SYSCALL_NR(true, regs));
		if (call.source != KILL_SRC_KERNEL) {
			kill_args_of(regs, true, &call);
			if (call.sig == sig)
				c.source = call.source;
		}
	}
	c.target_pid = task->tgid;
	c.target_tid = group ? 0 : task->pid;
	if (kill_cfg.syscalls_only) {
		/* -k: the call's event comes at its return; name the process it did not name. */
		self = (__u32)bpf_get_current_pid_tgid();
		if (c.source != KILL_SRC_KERNEL && call.target_unknown)
			bpf_map_update_elem(&targets, &self, &c.target_pid, BPF_ANY);
		return 0;
	}
	if (!sig_match(sig) || !filter_current())
		return 0;
	if ((kill_cfg.failed && !ret) || !target_match(c.target_pid, c.target_tid))
		return 0;
	emit(&c, ret);
	return 0;
}

/*
 * A kill-family call returns. Without -k only a failed one is an event: a call that worked shows
 * as its signal.
 */
static __always_inline int on_sys_exit(struct pt_regs *regs, long ret, bool typed)
{
	struct kill_call c = { .source = kill_source_of(SYSCALL_NR(typed, regs)) };
	__u32 self;
	__s32 *target;

	if (c.source == KILL_SRC_KERNEL || compat_syscall())
		return 0;
	if (ret >= 0 && (kill_cfg.failed || !kill_cfg.syscalls_only))
		return 0;
	kill_args_of(regs, typed, &c);
	if (c.target_unknown && kill_cfg.syscalls_only) {
		self = (__u32)bpf_get_current_pid_tgid();
		target = bpf_map_lookup_elem(&targets, &self);
		if (target) {
			c.target_pid = *target;
			bpf_map_delete_elem(&targets, &self);
		}
	}
	if (!sig_match(c.sig) || !filter_current() || !target_match(c.target_pid, c.target_tid))
		return 0;
	emit(&c, ret);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(kill_sys_exit, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret, true);
}

/* Attached to sys_exit_tkill, _tgkill... too (cmd/kill.c). */
SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return on_sys_exit(current_task_regs(), ctx->ret, true);
}
