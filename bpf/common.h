/* SPDX-License-Identifier: GPL-2.0 */
/* Settings every BPF program of ours takes from user space, and the shared filter. */
#ifndef EBPFTRACE_BPF_COMMON_H
#define EBPFTRACE_BPF_COMMON_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TASK_COMM_LEN 16

/* Filters on the current task, applied in the kernel. A zero field means "any". */
struct filter_cfg {
	__u32 pid;		  /* thread-group id */
	__u32 tid;		  /* thread id */
	__u32 uid;		  /* real uid; (__u32)-1 = any */
	__u32 comm_len;		  /* length of comm (a substring of the task's comm) */
	char comm[TASK_COMM_LEN]; /* substring to look for */
	__u32 cgroup;		  /* 1: only tasks under the cgroup in cgroup_filter */
	__u64 cgroup_id;	  /* that cgroup's id, for filter_task() */
};

/* Written into .rodata before load, as `common_cfg`. */
struct common_cfg {
	struct filter_cfg filter;
	/* Wake the consumer only once this much data waits in the ring buffer; it polls anyway. */
	__u64 wakeup_bytes;
};

#define FILTER_UID_ANY ((__u32)-1)

#endif
