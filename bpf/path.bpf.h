/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Absolute path of a struct path, built in the kernel by walking dentries up to the root and
 * crossing mount points, like d_path() (which tracepoint programs may not call).
 */
#ifndef EBPFTRACE_PATH_BPF_H
#define EBPFTRACE_PATH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "path.h"

#define PATH_MAX_DEPTH 48
#define PATH_MASK      (PATH_BUF_LEN - 1)

/*
 * Twice the path length, so that a masked offset plus a masked length always stays inside. The
 * write offset lives here, not in a register: read back from memory it is an unknown value to the
 * verifier, which then sees every loop iteration in the same state instead of one state per
 * possible offset (which exceeds its budget).
 */
struct path_scratch {
	__u32 off;
	char buf[PATH_BUF_LEN * 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch_map SEC(".maps");

static __always_inline struct mount *real_mount_of(struct vfsmount *vfsmnt)
{
	return (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
}

/* Put "/name" in front of what s->buf already holds; false when it does not fit. */
static __always_inline bool path_prepend(struct path_scratch *s, struct dentry *dentry)
{
	struct qstr name = BPF_CORE_READ(dentry, d_name);
	__u32 off = s->off;

	if (name.len + 1 >= off || off >= PATH_BUF_LEN)
		return false;
	off -= name.len;
	bpf_probe_read_kernel(&s->buf[off & PATH_MASK], name.len & PATH_MASK, name.name);
	off -= 1;
	s->buf[off & PATH_MASK] = '/';
	s->off = off;
	return true;
}

/*
 * Prepend the names from `path` up to the root of its mount namespace to what s->buf holds from
 * s->off on. True when the root was reached; false when the path was too deep or too long.
 */
static __always_inline bool path_walk(struct path_scratch *s, const struct path *path)
{
	struct dentry *dentry = BPF_CORE_READ(path, dentry);
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	struct mount *mnt = real_mount_of(vfsmnt);

	for (int depth = 0; depth < PATH_MAX_DEPTH; depth++) {
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct mount *mnt_parent;

		if (dentry != mnt_root && dentry != parent) {
			if (!path_prepend(s, dentry))
				return false;
			dentry = parent;
			continue;
		}
		mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (dentry != mnt_root || mnt == mnt_parent)
			return true; /* the root of the namespace */
		/* The root of a mount: go on from where it is mounted. */
		dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		mnt = mnt_parent;
		vfsmnt = (void *)mnt + bpf_core_field_offset(struct mount, mnt);
	}
	return false;
}

/*
 * Copy what s->buf holds from s->off on into dst (PATH_BUF_LEN bytes): "/" when that is empty (the
 * root itself), with "..." in front when the walk was not complete. Returns the length without
 * the NUL, or -1 when s->off is out of range (nothing written).
 */
static __always_inline int path_finish(struct path_scratch *s, bool complete, char *dst)
{
	__u32 off = s->off;

	if (off > PATH_BUF_LEN - 1)
		return -1;
	if (off == PATH_BUF_LEN - 1) {
		off -= 1;
		s->buf[off & PATH_MASK] = '/';
	}
	if (!complete && off >= 3) {
		off -= 3;
		__builtin_memcpy(&s->buf[off & PATH_MASK], "...", 3);
	}
	bpf_probe_read_kernel(dst, (PATH_BUF_LEN - off) & PATH_MASK, &s->buf[off & PATH_MASK]);
	return PATH_BUF_LEN - 1 - off;
}

static __always_inline struct path_scratch *path_scratch_get(void)
{
	__u32 zero = 0;
	struct path_scratch *s = bpf_map_lookup_elem(&path_scratch_map, &zero);

	if (s) {
		s->off = PATH_BUF_LEN - 1;
		s->buf[PATH_BUF_LEN - 1] = '\0';
	}
	return s;
}

/*
 * Write the absolute path of `path` into dst (PATH_BUF_LEN bytes, NUL-terminated). Returns the
 * length without the NUL, or -1 when nothing was written; *complete is false when the path was
 * too deep or too long (dst then holds its tail, starting with "...").
 */
static __always_inline int path_resolve(const struct path *path, char *dst, bool *complete)
{
	struct path_scratch *s = path_scratch_get();

	*complete = false;
	if (!s)
		return -1;
	*complete = path_walk(s, path);
	return path_finish(s, *complete, dst);
}

/*
 * The absolute path of the directory `dir` followed by "/" and name (len bytes of kernel memory,
 * without NUL): how a name relative to a directory becomes an absolute path. The name is put at
 * the end of the buffer first and the directory's names are prepended to it. Writes dst
 * (PATH_BUF_LEN bytes, NUL-terminated) and returns its length without the NUL; *complete is false
 * when the directory was too deep or the whole too long (dst then holds its tail, starting with
 * "..."). Returns -1 when nothing was written.
 */
static __always_inline int path_resolve_name(const struct path *dir, const char *name, __u32 len,
					     char *dst, bool *complete)
{
	struct path_scratch *s = path_scratch_get();
	__u32 off;

	if (!s || len > PATH_BUF_LEN - 3)
		return -1;
	off = PATH_BUF_LEN - 2 - len;
	/* The check above lets the compiler drop the masks, which older verifiers need. */
	barrier_var(off);
	s->buf[off & PATH_MASK] = '/';
	bpf_probe_read_kernel(&s->buf[(off + 1) & PATH_MASK], len & PATH_MASK, name);
	s->off = off;
	*complete = path_walk(s, dir);
	return path_finish(s, *complete, dst);
}

#endif
