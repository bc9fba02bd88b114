// SPDX-License-Identifier: GPL-2.0
/*
 * kill: signals. The kill-family syscalls note their arguments on entry in a per-thread map, which
 * also tells signal_generate that a signal it sees comes from that call; a signal generated
 * outside one of those calls comes from the kernel (a fault, a child's exit, a closed pipe, a
 * timer, the OOM killer). By default every generated signal is an event, plus the calls that
 * failed (they generate none); with -k every call is one event, at its return.
 */
#include "common.bpf.h"
#include "kill.h"

const volatile struct kill_cfg kill_cfg = {};

/* A kill-family call in progress, by thread id. */
struct kill_call {
	__s32 target_pid;
	__u32 target_tid;
	__s32 sig;
	__u16 source;
	__u16 target_unknown; /* tkill and pidfd_send_signal do not name the process */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct kill_call);
} calls SEC(".maps");

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
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	event_submit(e);
}

/* The sender filters are checked here, once: the signal the call generates shares its sender. */
static __always_inline int call_enter(struct kill_call *c)
{
	__u32 self = (__u32)bpf_get_current_pid_tgid();

	if (!sig_match(c->sig) || !filter_current())
		return 0;
	bpf_map_update_elem(&calls, &self, c, BPF_ANY);
	return 0;
}

/* Without -k only failed calls are events here: a call that worked shows as its signal. */
static __always_inline int call_exit(long ret)
{
	__u32 self = (__u32)bpf_get_current_pid_tgid();
	struct kill_call *p = bpf_map_lookup_elem(&calls, &self);
	struct kill_call c;

	if (!p)
		return 0;
	c = *p;
	bpf_map_delete_elem(&calls, &self);
	if (ret >= 0 && (kill_cfg.failed || !kill_cfg.syscalls_only))
		return 0;
	if (target_match(c.target_pid, c.target_tid))
		emit(&c, ret);
	return 0;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	__u32 self = (__u32)bpf_get_current_pid_tgid();
	struct kill_call *p = bpf_map_lookup_elem(&calls, &self);
	struct kill_call c = { .sig = sig, .source = KILL_SRC_KERNEL };
	long ret = result == TRACE_SIGNAL_OVERFLOW_FAIL ? -kill_cfg.eagain : 0;

	/* The call's own signal; a different one generated on its way is the kernel's doing. */
	if (p && p->sig != sig)
		p = NULL;
	c.target_pid = BPF_CORE_READ(task, tgid);
	c.target_tid = group ? 0 : BPF_CORE_READ(task, pid);
	if (kill_cfg.syscalls_only) {
		/* -k: the call's event comes at its return; name the process it did not name. */
		if (p && p->target_unknown) {
			p->target_pid = c.target_pid;
			p->target_unknown = 0;
		}
		return 0;
	}
	if (p)
		c.source = p->source;
	else if (!sig_match(sig) || !filter_current())
		return 0;
	if ((kill_cfg.failed && !ret) || !target_match(c.target_pid, c.target_tid))
		return 0;
	emit(&c, ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int kill_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct kill_call c = { .source = KILL_SRC_KILL,
			       .target_pid = ctx->args[0],
			       .sig = ctx->args[1] };

	return call_enter(&c);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int tkill_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct kill_call c = { .source = KILL_SRC_TKILL,
			       .target_tid = ctx->args[0],
			       .sig = ctx->args[1],
			       .target_unknown = 1 };

	return call_enter(&c);
}

SEC("tracepoint/syscalls/sys_enter_tgkill")
int tgkill_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct kill_call c = { .source = KILL_SRC_TGKILL,
			       .target_pid = ctx->args[0],
			       .target_tid = ctx->args[1],
			       .sig = ctx->args[2] };

	return call_enter(&c);
}

SEC("tracepoint/syscalls/sys_enter_rt_sigqueueinfo")
int sigqueue_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct kill_call c = { .source = KILL_SRC_RT_SIGQUEUEINFO,
			       .target_pid = ctx->args[0],
			       .sig = ctx->args[1] };

	return call_enter(&c);
}

SEC("tracepoint/syscalls/sys_enter_rt_tgsigqueueinfo")
int tgsigqueue_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct kill_call c = { .source = KILL_SRC_RT_TGSIGQUEUEINFO,
			       .target_pid = ctx->args[0],
			       .target_tid = ctx->args[1],
			       .sig = ctx->args[2] };

	return call_enter(&c);
}

SEC("tracepoint/syscalls/sys_enter_pidfd_send_signal")
int pidfd_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct kill_call c = { .source = KILL_SRC_PIDFD_SEND_SIGNAL,
			       .sig = ctx->args[1],
			       .target_unknown = 1 };

	return call_enter(&c);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return call_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int tkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return call_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int tgkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return call_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_rt_sigqueueinfo")
int sigqueue_exit(struct trace_event_raw_sys_exit *ctx)
{
	return call_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_rt_tgsigqueueinfo")
int tgsigqueue_exit(struct trace_event_raw_sys_exit *ctx)
{
	return call_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_pidfd_send_signal")
int pidfd_exit(struct trace_event_raw_sys_exit *ctx)
{
	return call_exit(ctx->ret);
}
