/* SPDX-License-Identifier: GPL-2.0 */
/* The open record, shared by bpf/open.bpf.c and cmd/open.c. */
#ifndef EBPFTRACE_OPEN_H
#define EBPFTRACE_OPEN_H

#include "common.h"
#include "path.h"

#define OPEN_AT_FDCWD (-100) /* AT_FDCWD, the same on every architecture */
#define OPEN_ACCMODE  3	     /* O_ACCMODE, likewise */
/* A number no syscall has (-1 is what a syscall skipped under ptrace exits with). */
#define OPEN_NO_SYSCALL (-1000)

enum open_syscall {
	OPEN_SYS_OPEN,
	OPEN_SYS_OPENAT,
	OPEN_SYS_OPENAT2,
	OPEN_SYS_CREAT,
	OPEN_SYS_COUNT,
};

enum open_event_flags {
	OPEN_FULL_SAME = 1 << 0, /* -F: the path was absolute already; no copy follows it */
	OPEN_FULL_CUT = 1 << 1,	 /* -F: the directory was too deep or long; full path is its tail */
};

/* Written into .rodata before load. */
struct open_cfg {
	__u32 failed;	 /* 1: only opens that failed */
	__u32 full_path; /* 1: add the absolute path of a relative one */
	/* --flags: an open matches when bit (flags & O_ACCMODE) of acc_modes is set, or any of
	 * flag_mask is in its flags; both 0: every open. */
	__u32 acc_modes;
	__u32 flag_mask;
	__u32 creat_flags;	  /* creat(): O_CREAT|O_WRONLY|O_TRUNC, as this libc numbers it */
	__s64 nr[OPEN_SYS_COUNT]; /* the syscalls' numbers; OPEN_NO_SYSCALL: not on this arch */
};

/*
 * Sent with only the bytes used: the header, path_len bytes of path and full_len bytes of the
 * full path, back to back in buf.
 */
struct open_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC at the return from the call */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret;	/* fd, or -errno */
	__u32 flags;	/* as passed (creat: creat_flags) */
	__u32 mode;	/* as passed; meaningful with O_CREAT or O_TMPFILE only */
	__u16 path_len; /* bytes of the path as passed, NUL included; 0: unreadable */
	__u16 full_len; /* bytes of the absolute path, NUL included; 0: none */
	__u8 syscall;	/* enum open_syscall */
	__u8 ev_flags;	/* enum open_event_flags */
	__u8 pad[2];
	char comm[TASK_COMM_LEN];
	char buf[PATH_BUF_LEN * 2];
};

#endif
