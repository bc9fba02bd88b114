// SPDX-License-Identifier: GPL-2.0
/*
 * open: open, openat, openat2 and creat, taken whole on syscall exit: one program run per call,
 * no enter program and no per-thread map. The path is read then too, when the kernel has just
 * read it, so its page is present.
 *
 * Two ways in. By default a program on each syscalls:sys_exit_* tracepoint, which other
 * syscalls never reach; it reads the arguments from the task's saved registers
 * (bpf_task_pt_regs, 5.15+). Else one program on the raw sys_exit tracepoint (tp_btf, or raw_tp
 * where there is no BTF) that keeps the open family by syscall number: an open costs a little
 * less, and it detaches at once, but running for every syscall of the machine costs each of
 * them several times what the per-syscall tracepoints do (ebpftrace-open(8)).
 */
#include "common.bpf.h"
#include "path.bpf.h"
#include "open.h"

const volatile struct open_cfg open_cfg = {};

/* The record is built here (too large for the stack), and only its used part is sent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_event);
} scratch SEC(".maps");

struct open_args {
	int dfd; /* where a relative path starts: a directory fd, or OPEN_AT_FDCWD */
	const char *path;
	__u32 flags;
	__u32 mode;
};

static __always_inline bool flags_match(__u32 flags)
{
	if (!open_cfg.acc_modes && !open_cfg.flag_mask)
		return true;
	return (open_cfg.acc_modes >> (flags & OPEN_ACCMODE) & 1) || (flags & open_cfg.flag_mask);
}

/* The directory a relative path starts from: the cwd, or the file open as dfd. */
static __always_inline bool start_dir(int dfd, struct path *dir)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt;
	struct file *file = NULL;

	if (dfd == OPEN_AT_FDCWD) {
		*dir = BPF_CORE_READ(task, fs, pwd);
		return true;
	}
	fdt = BPF_CORE_READ(task, files, fdt);
	if (dfd < 0 || (__u32)dfd >= BPF_CORE_READ(fdt, max_fds))
		return false;
	bpf_probe_read_kernel(&file, sizeof(file), BPF_CORE_READ(fdt, fd) + dfd);
	if (!file)
		return false;
	*dir = BPF_CORE_READ(file, f_path);
	return true;
}

/* -F: the absolute path after the path as passed, unless that is absolute already. */
static __always_inline void add_full_path(struct open_event *e, int dfd)
{
	__u32 len = e->path_len;
	bool complete = true;
	struct path dir;
	int n;

	if (len < 2)
		return;
	if (e->buf[0] == '/') {
		e->ev_flags |= OPEN_FULL_SAME;
		return;
	}
	if (len >= PATH_BUF_LEN || !start_dir(dfd, &dir))
		return;
	n = path_resolve_name(&dir, e->buf, len - 1, &e->buf[len & (PATH_BUF_LEN - 1)], &complete);
	if (n < 0)
		return;
	if (!complete)
		e->ev_flags |= OPEN_FULL_CUT;
	e->full_len = n + 1;
}

static __always_inline int open_exit(long ret, enum open_syscall sc, const struct open_args *a)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct open_event *e;
	__u32 zero = 0;
	__u64 size;
	long len;

	if (!flags_match(a->flags))
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	/* Plain loads from the task: cheaper than the helpers that return the same. */
	__builtin_memcpy(e->comm, task->comm, TASK_COMM_LEN);
	if (common_cfg.filter.comm_len && !comm_matches(e->comm))
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = task->tgid;
	e->tid = task->pid;
	e->uid = task->cred->uid.val;
	e->ret = ret;
	e->flags = a->flags;
	e->mode = a->mode;
	e->syscall = sc;
	e->ev_flags = 0;
	e->full_len = 0;
	len = bpf_probe_read_user_str(e->buf, PATH_BUF_LEN, a->path);
	e->path_len = len > 0 ? len : 0;
	if (open_cfg.full_path)
		add_full_path(e, a->dfd);
	size = offsetof(struct open_event, buf) + e->path_len + e->full_len;
	if (size > sizeof(*e))
		size = sizeof(*e);
	event_output(e, size);
	return 0;
}

/* What can be decided before the arguments are read: who, and whether it failed. */
static __always_inline bool wanted(long ret)
{
	if (open_cfg.failed && ret >= 0)
		return false;
	return filter_current_ids();
}

/* Which of the open family a syscall number is (openat first: it is most of them), or -1. */
static __always_inline int open_syscall_of(long nr)
{
	if (nr == open_cfg.nr[OPEN_SYS_OPENAT])
		return OPEN_SYS_OPENAT;
	if (nr == open_cfg.nr[OPEN_SYS_OPEN])
		return OPEN_SYS_OPEN;
	if (nr == open_cfg.nr[OPEN_SYS_OPENAT2])
		return OPEN_SYS_OPENAT2;
	if (nr == open_cfg.nr[OPEN_SYS_CREAT])
		return OPEN_SYS_CREAT;
	return -1;
}

/* The call's arguments from the registers it saved. */
static __always_inline void open_args_of(struct pt_regs *regs, bool typed, enum open_syscall sc,
					 struct open_args *a)
{
	struct open_how how = {};
	__u64 flags, mode;

	a->dfd = OPEN_AT_FDCWD;
	switch (sc) {
	case OPEN_SYS_OPENAT:
		a->dfd = SYSCALL_ARG(typed, 1, regs);
		a->path = (const char *)SYSCALL_ARG(typed, 2, regs);
		a->flags = SYSCALL_ARG(typed, 3, regs);
		a->mode = SYSCALL_ARG(typed, 4, regs);
		break;
	case OPEN_SYS_OPEN:
		a->path = (const char *)SYSCALL_ARG(typed, 1, regs);
		a->flags = SYSCALL_ARG(typed, 2, regs);
		a->mode = SYSCALL_ARG(typed, 3, regs);
		break;
	case OPEN_SYS_OPENAT2:
		a->dfd = SYSCALL_ARG(typed, 1, regs);
		a->path = (const char *)SYSCALL_ARG(typed, 2, regs);
		bpf_probe_read_user(&how, sizeof(how), (void *)SYSCALL_ARG(typed, 3, regs));
		flags = how.flags;
		mode = how.mode;
		/* Else clang shares one load between the stack and the registers: refused. */
		barrier_var(flags);
		barrier_var(mode);
		a->flags = flags;
		a->mode = mode;
		break;
	default:
		a->path = (const char *)SYSCALL_ARG(typed, 1, regs);
		a->flags = open_cfg.creat_flags;
		a->mode = SYSCALL_ARG(typed, 2, regs);
		break;
	}
}

/* Every syscall's exit: cheap to leave for the others, so the number is checked first. */
static __always_inline int on_sys_exit(struct pt_regs *regs, long ret, bool typed)
{
	int sc = open_syscall_of(SYSCALL_NR(typed, regs));
	struct open_args a;

	if (sc < 0 || !wanted(ret) || compat_syscall())
		return 0;
	open_args_of(regs, typed, sc, &a);
	return open_exit(ret, sc, &a);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(open_sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret, true);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(open_sys_exit_raw, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret, false);
}

/* The per-syscall tracepoints: the registers the task saved on entry hold the arguments. */
static __always_inline int on_syscall_tracepoint(struct trace_event_raw_sys_exit *ctx)
{
	return on_sys_exit(current_task_regs(), ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_exit_open")
int open_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return on_syscall_tracepoint(ctx);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int open_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return on_syscall_tracepoint(ctx);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int open_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return on_syscall_tracepoint(ctx);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int open_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return on_syscall_tracepoint(ctx);
}
