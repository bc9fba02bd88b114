/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A file as the kernel knows it, shared by bpf/file_id.bpf.h and common/fileid.c: the identity
 * that every name of the file shares, and what ebpftrace learns of it by opening the file.
 */
#ifndef EBPFTRACE_BPF_FILE_ID_H
#define EBPFTRACE_BPF_FILE_ID_H

#include "common.h"

#define FILE_ID_MAX_LEARNED 4 /* identities one open can show (overlayfs: the upper file's too) */

/* The superblock's device (kernel encoding: major << 20 | minor) and the inode. */
struct file_id {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

/*
 * While user space opens a file (active 1, from thread tid), the identities the kernel shows for
 * that open: overlayfs shows two (its own inode, then the real one).
 */
struct file_id_learn {
	__u32 active;
	__u32 tid;
	__u32 n;
	__u32 pad;
	struct file_id ids[FILE_ID_MAX_LEARNED];
};

#endif
