// SPDX-License-Identifier: GPL-2.0
/*
 * exec: every execve/execveat. Syscall entry keeps a small per-thread record of the call (who,
 * when, where its filename and argv are). A successful exec is sent from sched_process_exec, with
 * the absolute path of the file and the arguments as the kernel copied them into the new image;
 * a failed one from the syscall's exit, with the filename and arguments read from the caller,
 * whose memory is still there. Either way the event is built in a per-CPU buffer: no record of
 * 20 KB is allocated, copied and freed per exec.
 *
 * Two ways into the syscall. By default the syscalls:sys_{enter,exit}_execve{,at} tracepoints,
 * which other syscalls do not run; each waits out an RCU grace period as it closes (100 ms of
 * exit for the four). With --method tp_btf (or where the tracepoints cannot be had: no tracefs),
 * programs on the raw sys_enter and sys_exit tracepoints, which every syscall passes and leaves
 * at its number: they detach at once but cost every other syscall of the machine more.
 */
#include "common.bpf.h"
#include "path.bpf.h"
#include "exec.h"

const volatile struct exec_cfg exec_cfg = { .max_args = EXEC_DEFAULT_ARGS };

/* An exec in flight: what only its entry knows. */
struct exec_call {
	__u64 ts_ns;
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	const char *filename;
	const char *const *argv;
};

/* Execs in flight, by thread id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct exec_call);
} execs SEC(".maps");

/* Where an event is built: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} scratch SEC(".maps");

static __always_inline void read_args(struct exec_event *e, const char *const *argv)
{
	__u32 max_args = exec_cfg.max_args;

	for (__u32 i = 0; i < EXEC_MAX_ARGS; i++) {
		const char *arg = NULL;
		__u32 off = e->args_size;
		long len;

		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i])) {
			e->flags |= EXEC_ARGS_FAULT;
			return;
		}
		if (!arg)
			return;
		if (i >= max_args) {
			e->flags |= EXEC_MORE_ARGS;
			return;
		}
		if (off > EXEC_ARGS_SIZE - EXEC_ARG_LEN)
			return;
		len = bpf_probe_read_user_str(&e->args[off], EXEC_ARG_LEN, arg);
		if (len < 0) {
			e->flags |= EXEC_ARGS_FAULT;
			return;
		}
		/* Older kernels (6.1 among them) return 0, not 1, for an empty string. */
		if (len == 0) {
			e->args[off] = '\0';
			len = 1;
		}
		if (len == EXEC_ARG_LEN)
			e->args_cut |= 1ULL << i;
		e->args_size += len;
		e->args_count++;
	}
}

static __always_inline int exec_enter(const char *filename, const char *const *argv)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct exec_call c = {};

	/* -n matches the comm after the exec, so it is checked when the event is sent. */
	if (!filter_current_ids())
		return 0;
	c.ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (exec_cfg.ppid && c.ppid != exec_cfg.ppid)
		return 0;
	c.ts_ns = bpf_ktime_get_ns();
	c.pid = pid_tgid >> 32;
	c.uid = (__u32)bpf_get_current_uid_gid();
	c.filename = filename;
	c.argv = argv;
	bpf_map_update_elem(&execs, &tid, &c, BPF_ANY);
	return 0;
}

/* The event of a call, in the per-CPU buffer, with the comm the thread runs under now. */
static __always_inline struct exec_event *event_of(const struct exec_call *c, __u32 tid, long ret)
{
	__u32 zero = 0;
	struct exec_event *e = bpf_map_lookup_elem(&scratch, &zero);

	if (!e)
		return NULL;
	e->ts_ns = c->ts_ns;
	e->pid = c->pid;
	e->tid = tid;
	e->ppid = c->ppid;
	e->uid = c->uid;
	e->ret = ret;
	e->flags = 0;
	e->args_count = 0;
	e->args_size = 0;
	e->args_cut = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (common_cfg.filter.comm_len && !comm_matches(e->comm))
		return NULL;
	return e;
}

static __always_inline void send_event(const struct exec_event *e)
{
	__u64 size = offsetof(struct exec_event, args) + e->args_size;

	if (size > sizeof(*e))
		size = sizeof(*e);
	event_output((void *)e, size);
}

/* A failed exec (a successful one was sent by exec_done): the caller's memory is intact. */
static __always_inline int exec_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_call *c = bpf_map_lookup_elem(&execs, &tid);
	struct exec_event *e;

	if (!c)
		return 0;
	if (ret < 0 && exec_cfg.failed) {
		e = event_of(c, tid, ret);
		if (e) {
			bpf_probe_read_user_str(e->filename, sizeof(e->filename), c->filename);
			read_args(e, c->argv);
			send_event(e);
		}
	}
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

/* execve(filename, argv, ...) or execveat(dirfd, filename, argv, ...). */
static __always_inline int exec_enter_nr(long nr, __u64 arg0, __u64 arg1, __u64 arg2)
{
	bool at = nr == exec_cfg.execveat_nr;

	return exec_enter((const char *)(at ? arg1 : arg0),
			  (const char *const *)(at ? arg2 : arg1));
}

static __always_inline bool is_exec(long nr)
{
	return (nr == exec_cfg.execve_nr || nr == exec_cfg.execveat_nr) && !compat_syscall();
}

SEC("tp_btf/sys_enter")
int BPF_PROG(exec_sys_enter, struct pt_regs *regs, long nr)
{
	if (!is_exec(nr))
		return 0;
	return exec_enter_nr(nr, SYSCALL_ARG(true, 1, regs), SYSCALL_ARG(true, 2, regs),
			     SYSCALL_ARG(true, 3, regs));
}

/* A successful exec leaves no call behind (exec_done took it), so only failed ones get here. */
SEC("tp_btf/sys_exit")
int BPF_PROG(exec_sys_exit, struct pt_regs *regs, long ret)
{
	if (!is_exec(SYSCALL_NR(true, regs)))
		return 0;
	return exec_exit(ret);
}

/*
 * One program for execve and execveat each way, attached to both tracepoints (cmd/exec.c adds the
 * execveat ones): verified once, which is most of the start-up time it saves.
 */
SEC("tracepoint/syscalls/sys_enter_execve")
int exec_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	__u64 arg0 = ctx->args[0], arg1 = ctx->args[1], arg2 = ctx->args[2];

	/* Loaded here, each from its own offset: the context may not be read at a variable one. */
	barrier_var(arg0);
	barrier_var(arg1);
	barrier_var(arg2);
	return exec_enter_nr(ctx->id, arg0, arg1, arg2);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exec_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}

/*
 * The kernel has just copied the arguments into the new image's argument area: take them from
 * there, NUL-separated, in one read (user space splits and cuts them). The caller's own strings
 * may sit in pages it never touched (a forked child passing string literals), which a BPF read
 * cannot fault in.
 */
static __always_inline void read_args_from_new_image(struct exec_event *e)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	__u64 len = BPF_CORE_READ(task, mm, arg_end) - start;

	if (len > EXEC_ARGS_SIZE)
		len = EXEC_ARGS_SIZE;
	if (bpf_probe_read_user(e->args, len, (const void *)start)) {
		e->flags |= EXEC_ARGS_FAULT;
		return;
	}
	e->args_size = len;
	e->flags |= EXEC_ARGS_RAW;
}

/*
 * The exec succeeded: send it, with the absolute path of the file now running. A non-leader
 * thread that execs takes over the leader's pid: its call is under its old thread id.
 */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_done, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 old_tid = old_pid, tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_call *c = bpf_map_lookup_elem(&execs, &old_tid);
	struct exec_event *e;
	struct path path;

	if (!c)
		return 0;
	e = event_of(c, tid, 0);
	if (e) {
		path = BPF_CORE_READ(bprm, file, f_path);
		if (path_resolve(&path, e->filename) < 0)
			e->flags |= EXEC_PATH_CUT;
		e->flags |= EXEC_PATH_RESOLVED;
		read_args_from_new_image(e);
		send_event(e);
	}
	bpf_map_delete_elem(&execs, &old_tid);
	return 0;
}
