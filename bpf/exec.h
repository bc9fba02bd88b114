/* SPDX-License-Identifier: GPL-2.0 */
/* The exec record, shared by bpf/exec.bpf.c and cmd/exec.c. */
#ifndef EBPFTRACE_EXEC_H
#define EBPFTRACE_EXEC_H

#include "common.h"
#include "path.h"

#define EXEC_ARG_LEN	  256 /* bytes kept of one argument, NUL included */
#define EXEC_MAX_ARGS	  64  /* the most --max-args accepts */
#define EXEC_DEFAULT_ARGS 20
#define EXEC_ARGS_SIZE	  (EXEC_ARG_LEN * EXEC_MAX_ARGS)

enum exec_flags {
	EXEC_MORE_ARGS = 1 << 0,     /* argv had more than max_args arguments */
	EXEC_ARGS_FAULT = 1 << 1,    /* an argument could not be read */
	EXEC_PATH_RESOLVED = 1 << 2, /* filename is the absolute path of the file executed */
	EXEC_PATH_CUT = 1 << 3,	     /* filename was too long or deep and holds its tail */
	EXEC_ARGS_RAW = 1 << 4,	     /* args[] is the new image's argument area, not yet cut */
};

struct exec_cfg {
	__u32 ppid;	 /* 0 = any */
	__u32 max_args;	 /* 1..EXEC_MAX_ARGS */
	__u32 execve_nr; /* the syscalls' numbers here: one program serves both calls */
	__u32 execveat_nr;
};

struct exec_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC when the new image took over, or the failed call returned */
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__s32 ret;
	__u32 flags;
	__u32 args_count;    /* arguments in args[] */
	__u32 args_size;     /* bytes used in args[] */
	__u64 args_cut;	     /* bit i: argument i was longer than EXEC_ARG_LEN - 1 and was cut */
	__u32 filename_size; /* bytes of data the filename takes, NUL included: 1..PATH_BUF_LEN */
	__u32 pad;
	char comm[TASK_COMM_LEN];
	/*
	 * The filename, then args_count NUL-terminated arguments back to back: only the part they
	 * use is sent (a whole 4 KiB filename buffer per exec cost 6 us of copying into the ring).
	 */
	char data[PATH_BUF_LEN + EXEC_ARGS_SIZE];
};

#endif
