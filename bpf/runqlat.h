/* SPDX-License-Identifier: GPL-2.0 */
/* The runqlat settings and histogram, shared by bpf/runqlat.bpf.c and cmd/runqlat.c. */
#ifndef EBPFTRACE_RUNQLAT_H
#define EBPFTRACE_RUNQLAT_H

#include "common.h"
#include "hist_slots.h"

#define RUNQLAT_MAX_HISTS \
	10240 /* histograms per interval with a key (-P, -L, --pidnss, --cgroups) */
#define RUNQLAT_MAX_QUEUED 10240 /* tasks waiting for a CPU at once, when timed in a hash */

/* What one histogram covers; the hists map's key is the pid, tid, pid namespace or cgroup id. */
enum runqlat_key {
	RUNQLAT_KEY_NONE, /* all tasks in one histogram, key 0 */
	RUNQLAT_KEY_PID,
	RUNQLAT_KEY_TID,
	RUNQLAT_KEY_PIDNS,
	RUNQLAT_KEY_CGROUP,
};

struct runqlat_cfg {
	__u64 unit_ns;	    /* nanoseconds per unit: 1000 (usecs) or 1000000 (msecs) */
	__u32 key;	    /* enum runqlat_key */
	__u32 task_storage; /* 1: wakeup times in task-local storage; 0: in a hash by thread id */
};

struct runqlat_hist {
	struct hist_log2 hist;
	char comm[TASK_COMM_LEN]; /* -P: the process's name (its leader's), -L: the thread's */
};

#endif
