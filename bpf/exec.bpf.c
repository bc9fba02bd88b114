// SPDX-License-Identifier: GPL-2.0
/*
 * exec: every execve/execveat. The call's arguments are captured on syscall entry into a per-thread
 * record, the executed file's absolute path is added when the exec succeeds (sched_process_exec),
 * and the record is sent on syscall exit with the result and the comm the new image runs under.
 */
#include "common.bpf.h"
#include "path.bpf.h"
#include "exec.h"

const volatile struct exec_cfg exec_cfg = { .max_args = EXEC_DEFAULT_ARGS };

/* Records of execs in flight, by thread id. Large values: allocate on demand, not up front. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct exec_event);
} execs SEC(".maps");

/* A zeroed record to start each exec from: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} blank SEC(".maps");

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
	__u32 tid = (__u32)pid_tgid, zero = 0;
	struct exec_event *e;
	__u32 ppid;

	/* -n matches the comm after the exec, so it is checked on exit. */
	if (!filter_current_ids())
		return 0;
	ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (exec_cfg.ppid && ppid != exec_cfg.ppid)
		return 0;
	e = bpf_map_lookup_elem(&blank, &zero);
	if (!e || bpf_map_update_elem(&execs, &tid, e, BPF_ANY))
		return 0;
	e = bpf_map_lookup_elem(&execs, &tid);
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = pid_tgid >> 32;
	e->tid = tid;
	e->ppid = ppid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_probe_read_user_str(e->filename, sizeof(e->filename), filename);
	read_args(e, argv);
	return 0;
}

static __always_inline int exec_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_event *e = bpf_map_lookup_elem(&execs, &tid);
	__u64 size;

	if (!e)
		return 0;
	if (ret < 0 && !exec_cfg.failed)
		goto out;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (common_cfg.filter.comm_len && !comm_matches(e->comm))
		goto out;
	e->ret = ret;
	size = offsetof(struct exec_event, args) + e->args_size;
	if (size > sizeof(*e))
		size = sizeof(*e);
	event_output(e, size);
out:
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

/*
 * One program for execve and execveat each way, attached to both tracepoints (cmd/exec.c adds the
 * execveat ones): verified once, which is most of the start-up time it saves.
 */
SEC("tracepoint/syscalls/sys_enter_execve")
int exec_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	__u64 arg0 = ctx->args[0], arg1 = ctx->args[1], arg2 = ctx->args[2];
	bool at = ctx->id == exec_cfg.execveat_nr;

	/* Loaded here, each from its own offset: the context may not be read at a variable one. */
	barrier_var(arg0);
	barrier_var(arg1);
	barrier_var(arg2);
	return exec_enter((const char *)(at ? arg1 : arg0),
			  (const char *const *)(at ? arg2 : arg1));
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exec_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}

/*
 * The caller's argument strings may sit in pages it never touched (a forked child passing string
 * literals), which a BPF read cannot fault in. After a successful exec the kernel has just copied
 * them into the new image's argument area: take them from there, NUL-separated, in one read.
 */
static __always_inline void read_args_from_new_image(struct exec_event *e)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	__u64 len = BPF_CORE_READ(task, mm, arg_end) - start;

	if (len > EXEC_ARGS_SIZE)
		len = EXEC_ARGS_SIZE;
	if (bpf_probe_read_user(e->args, len, (const void *)start))
		return;
	e->args_size = len;
	e->args_count = 0;
	e->args_cut = 0;
	e->flags = (e->flags & ~(EXEC_ARGS_FAULT | EXEC_MORE_ARGS)) | EXEC_ARGS_RAW;
}

/*
 * The exec succeeded: record the absolute path of the file now running. A non-leader thread that
 * execs takes over the leader's pid, so its record moves from its old thread id to the new one.
 */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_done, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 old_tid = old_pid, tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_event *e = bpf_map_lookup_elem(&execs, &old_tid);
	struct path path;

	if (!e)
		return 0;
	if (old_tid != tid) {
		if (bpf_map_update_elem(&execs, &tid, e, BPF_ANY))
			return 0;
		bpf_map_delete_elem(&execs, &old_tid);
		e = bpf_map_lookup_elem(&execs, &tid);
		if (!e)
			return 0;
	}
	path = BPF_CORE_READ(bprm, file, f_path);
	if (path_resolve(&path, e->filename) < 0)
		e->flags |= EXEC_PATH_CUT;
	e->flags |= EXEC_PATH_RESOLVED;
	if (e->flags & EXEC_ARGS_FAULT)
		read_args_from_new_image(e);
	return 0;
}
