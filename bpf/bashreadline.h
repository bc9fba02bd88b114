/* SPDX-License-Identifier: GPL-2.0 */
/* The bashreadline record, shared by bpf/bashreadline.bpf.c and cmd/bashreadline.c. */
#ifndef EBPFTRACE_BASHREADLINE_H
#define EBPFTRACE_BASHREADLINE_H

#include "common.h"

#define BASHREADLINE_LINE_LEN 256 /* bytes kept of a line, NUL included */

struct bashreadline_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC when readline() returned the line */
	__u32 pid;
	__u32 uid;
	__u32 len; /* bytes of line, NUL included */
	__u32 cut; /* 1: the line was longer and is cut */
	char comm[TASK_COMM_LEN];
	char line[BASHREADLINE_LINE_LEN];
};

#endif
