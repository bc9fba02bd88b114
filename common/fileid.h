/* SPDX-License-Identifier: GPL-2.0 */
/* Files and devices as the kernel numbers them (see bpf/file_id.h). */
#ifndef EBPFTRACE_FILEID_H
#define EBPFTRACE_FILEID_H

#include <stddef.h>
#include <sys/stat.h>
#include "file_id.h"

/* Most identities one file can have: stat's, and the learned ones. */
#define FILE_IDS_MAX (1 + FILE_ID_MAX_LEARNED)

/* A device number in the kernel's encoding (12 bits of major above 20 of minor), and as MAJ:MIN. */
__u32 kernel_dev(dev_t dev);
void kernel_dev_format(__u32 dev, char *buf, size_t size);

/*
 * The identities the kernel gives the file at path, which stat gave st: its own (stat's device
 * and inode, what most filesystems show), then for a regular file or directory those the kernel
 * shows when this thread opens it, where they can differ from stat (overlayfs, btrfs subvolumes).
 * learn_fd is the BPF side's file_id_learning map, whose open hook must be attached. Returns how
 * many went into ids, or a negative errno.
 */
int file_ids_learn(int learn_fd, const char *path, const struct stat *st,
		   struct file_id ids[FILE_IDS_MAX]);

#endif
