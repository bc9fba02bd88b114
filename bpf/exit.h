/* SPDX-License-Identifier: GPL-2.0 */
/* The exit settings and record, shared by bpf/exit.bpf.c and cmd/exit.c. */
#ifndef EBPFTRACE_EXIT_H
#define EBPFTRACE_EXIT_H

#include "common.h"

/* Processes dying at once whose exit is remembered as reported (raw tracepoint path only). */
#define EXIT_MAX_DYING 10240

struct exit_cfg {
	__u32 threads; /* 1: every thread's exit; 0: a process's, when its last thread exits */
	__u32 failed;  /* 1: only exits with a non-zero code or by a signal */
};

struct exit_event {
	__u64 ts_ns;	/* CLOCK_MONOTONIC at the exit */
	__u64 start_ns; /* CLOCK_MONOTONIC when the process (with --threads the thread) started */
	__u32 pid;
	__u32 tid; /* the thread that exited (the process's last one without --threads) */
	__u32 ppid;
	__u32 uid;
	__u32 status; /* as wait() sees it: code << 8, or the signal with 0x80 when core dumped */
	__u32 pad;
	char comm[TASK_COMM_LEN]; /* the process's (its leader's); with --threads the thread's */
};

#endif
