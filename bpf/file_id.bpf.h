/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File identities on the BPF side: what a program matches files by, and the learning map that
 * common/fileid.c reads (file_ids_learn): a program on a file-open hook calls file_id_learn() on
 * each file it sees opened.
 */
#ifndef EBPFTRACE_FILE_ID_BPF_H
#define EBPFTRACE_FILE_ID_BPF_H

#include "file_id.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct file_id_learn);
} file_id_learning SEC(".maps");

static __always_inline struct file_id file_id_of(struct inode *inode)
{
	return (struct file_id){ .ino = BPF_CORE_READ(inode, i_ino),
				 .dev = BPF_CORE_READ(inode, i_sb, s_dev) };
}

/* A file opened: note its identity if it is ebpftrace's thread that is learning. */
static __always_inline void file_id_learn(const struct file_id *id)
{
	__u32 zero = 0, n;
	struct file_id_learn *l = bpf_map_lookup_elem(&file_id_learning, &zero);

	if (!l || !l->active || l->tid != (__u32)bpf_get_current_pid_tgid())
		return;
	n = l->n;
	if (n < FILE_ID_MAX_LEARNED) {
		l->ids[n] = *id;
		l->n = n + 1;
	}
}

#endif
