// SPDX-License-Identifier: GPL-2.0
/*
 * exec: every execve/execveat. A successful exec is sent from sched_process_exec, a raw
 * tracepoint that only execs pass and that detaches at once, with the absolute path of the file
 * and the arguments as the kernel copied them into the new image: no syscall is traced for it, so
 * other syscalls pay nothing and nothing is kept per thread. Whoever execs, how (a 32-bit
 * program, the kernel's own helpers) and whatever comes of it, the new image is seen.
 *
 * With -x a failed exec too, from the syscall's exit, with the filename and arguments read from
 * the caller, whose memory is still there, at the addresses its saved registers hold. Two ways
 * to that exit: by default the syscalls:sys_exit_execve{,at} tracepoints, which other syscalls do
 * not run, but each waits out an RCU grace period as it closes (~40 ms of exit apiece); with
 * --method tp_btf (or where they cannot be had: no tracefs) a program on the raw sys_exit
 * tracepoint, which every syscall passes and leaves at its number: it detaches at once but costs
 * every other syscall of the machine more. Either way the event is built in a per-CPU buffer: no
 * record of 20 KB is allocated, copied and freed per exec.
 */
#include "common.bpf.h"
#include "path.bpf.h"
#include "exec.h"

const volatile struct exec_cfg exec_cfg = { .max_args = EXEC_DEFAULT_ARGS };

/* Where an event is built: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} scratch SEC(".maps");

/* The arguments go in data after the filename (filename_size bytes, set first). */
static __always_inline void read_args(struct exec_event *e, const char *const *argv)
{
	__u32 max_args = exec_cfg.max_args, base = e->filename_size;

	for (__u32 i = 0; i < EXEC_MAX_ARGS; i++) {
		const char *arg = NULL;
		__u32 off = e->args_size;
		__u64 at = (__u64)base + off; /* 64 bits: no zero-extended copy loses its bounds */
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
		/* Bounds of the sum itself: the verifier does not add up those of its parts. */
		if (at > PATH_BUF_LEN + EXEC_ARGS_SIZE - EXEC_ARG_LEN)
			return;
		barrier_var(at);
		len = bpf_probe_read_user_str(&e->data[at], EXEC_ARG_LEN, arg);
		if (len < 0) {
			e->flags |= EXEC_ARGS_FAULT;
			return;
		}
		/* Older kernels (6.1 among them) return 0, not 1, for an empty string. */
		if (len == 0) {
			e->data[at] = '\0';
			len = 1;
		}
		if (len == EXEC_ARG_LEN)
			e->args_cut |= 1ULL << i;
		e->args_size += len;
		e->args_count++;
	}
}

/*
 * The event of the current task's exec, in the per-CPU buffer, or NULL when the filters leave it
 * out. Pid, parent, uid and cgroup are the same before and after an exec (a set-user-ID file
 * changes the effective uid, not the real one); the comm is the new image's.
 */
static __always_inline struct exec_event *event_of_current(long ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct exec_event *e;
	__u32 zero = 0, ppid;

	if (!filter_current_ids())
		return NULL;
	ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (exec_cfg.ppid && ppid != exec_cfg.ppid)
		return NULL;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return NULL;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->ppid = ppid;
	e->uid = (__u32)bpf_get_current_uid_gid();
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
	__u64 size = offsetof(struct exec_event, data) + e->filename_size + e->args_size;

	if (size > sizeof(*e))
		size = sizeof(*e);
	event_output((void *)e, size);
}

/*
 * The exit of execve(filename, argv, ...) or execveat(dirfd, filename, argv, ...): a successful
 * one was sent by exec_done, so only failures are. The registers still hold the call's arguments.
 */
static __always_inline int exec_exit(struct pt_regs *regs, long nr, long ret)
{
	bool at = nr == exec_cfg.execveat_nr;
	const char *const *argv;
	const char *filename;
	struct exec_event *e;
	long len;

	if (ret >= 0)
		return 0;
	e = event_of_current(ret);
	if (!e)
		return 0;
	filename = (const char *)(at ? SYSCALL_ARG(true, 2, regs) : SYSCALL_ARG(true, 1, regs));
	argv = (const char *const *)(at ? SYSCALL_ARG(true, 3, regs) : SYSCALL_ARG(true, 2, regs));
	len = bpf_probe_read_user_str(e->data, PATH_BUF_LEN, filename);
	if (len < 1) { /* a fault, or an empty string on kernels that say 0 for it */
		e->data[0] = '\0';
		len = 1;
	}
	e->filename_size = len;
	read_args(e, argv);
	send_event(e);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(exec_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = SYSCALL_NR(true, regs);

	if ((nr != exec_cfg.execve_nr && nr != exec_cfg.execveat_nr) || compat_syscall())
		return 0;
	return exec_exit(regs, nr, ret);
}

/* One program for both calls' tracepoints (cmd/exec.c adds execveat's): verified once. */
SEC("tracepoint/syscalls/sys_exit_execve")
int exec_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(current_task_regs(), ctx->id, ctx->ret);
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
	__u32 base = e->filename_size;

	if (len > EXEC_ARGS_SIZE)
		len = EXEC_ARGS_SIZE;
	if (base > PATH_BUF_LEN)
		return;
	if (bpf_probe_read_user(&e->data[base], len, (const void *)start)) {
		e->flags |= EXEC_ARGS_FAULT;
		return;
	}
	e->args_size = len;
	e->flags |= EXEC_ARGS_RAW;
}

/* The exec succeeded: send it, with the absolute path of the file now running. */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_done, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exec_event *e = event_of_current(0);
	struct path path;
	bool complete;
	int len;

	if (!e)
		return 0;
	path = BPF_CORE_READ(bprm, file, f_path);
	len = path_resolve(&path, e->data, &complete);
	if (!complete)
		e->flags |= EXEC_PATH_CUT;
	if (len < 0) {
		e->data[0] = '\0';
		len = 0;
	}
	e->filename_size = len + 1;
	e->flags |= EXEC_PATH_RESOLVED;
	read_args_from_new_image(e);
	send_event(e);
	return 0;
}
