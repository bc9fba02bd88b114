/* SPDX-License-Identifier: GPL-2.0 */
/* The signal record, shared by bpf/kill.bpf.c and cmd/kill.c. */
#ifndef EBPFTRACE_KILL_H
#define EBPFTRACE_KILL_H

#include "common.h"

#define KILL_MAX_SIG 64 /* _NSIG on every architecture but MIPS */
/* A number no syscall has (-1 is what a syscall skipped under ptrace exits with). */
#define KILL_NO_SYSCALL (-1000)

/* Where a signal came from: the kernel, or the syscall the sender was in. */
enum kill_source {
	KILL_SRC_KERNEL,
	KILL_SRC_KILL,
	KILL_SRC_TKILL,
	KILL_SRC_TGKILL,
	KILL_SRC_RT_SIGQUEUEINFO,
	KILL_SRC_RT_TGSIGQUEUEINFO,
	KILL_SRC_PIDFD_SEND_SIGNAL,
	KILL_SRC_COUNT,
};

/* Written into .rodata before load. */
struct kill_cfg {
	__u32 syscalls_only; /* -k: one event per kill-family call, at its return */
	__u32 failed;	     /* -x: only failed sends */
	__u32 target;	     /* --target: only signals to this pid or tid; 0 = any */
	__u32 sig_filter;    /* -s: only the signals in sig_mask */
	__u64 sig_mask[2];   /* bit (sig & 63) of sig_mask[sig >> 6], for sig 0..KILL_MAX_SIG */
	__s32 eagain;	     /* EAGAIN as user space numbers it: a queue overflow's result */
	__s32 pad;
	__s64 nr[KILL_SRC_COUNT]; /* each call's syscall number here; KILL_NO_SYSCALL if none */
};

struct kill_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u32 pid;   /* the sender: the task that generated the signal or made the call */
	__u32 tid;
	__s32 target_pid; /* as the call named it: < 0 a process group, 0 unknown (tkill) */
	__u32 target_tid; /* the thread a signal was sent to; 0 for a whole process */
	__s32 sig;
	__s32 ret;    /* 0, or -errno */
	__u32 source; /* enum kill_source */
	char comm[TASK_COMM_LEN];
};

#endif
