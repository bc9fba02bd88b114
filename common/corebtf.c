// SPDX-License-Identifier: GPL-2.0
/* The kernel's BTF, cut down to the types CO-RE looks up for us, cached per kernel. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "corebtf.h"
#include "util.h"

#define KERNEL_NOTES "/sys/kernel/notes"
#define KERNEL_BTF   "/sys/kernel/btf/vmlinux"
#define NT_BUILD_ID  3

/* Every struct, union, enum and typedef name in our BPF objects' BTF, sorted (Makefile). */
static const char *const core_type_names[] = {
#include "core_types.h"
};

struct prune {
	const struct btf *src;
	struct btf *dst;
	uint32_t *dst_id; /* src id -> dst id; 0: not wanted yet */
	uint32_t *queue;  /* src ids in the order of their dst ids */
	uint32_t n_queued;
};

/* The id src type id gets in dst, queued for copying the first time it is asked for. */
static uint32_t want(struct prune *p, uint32_t id)
{
	if (id && !p->dst_id[id]) {
		p->queue[p->n_queued++] = id;
		p->dst_id[id] = p->n_queued;
	}
	return id ? p->dst_id[id] : 0;
}

static int copy_members(struct prune *p, const struct btf_type *t)
{
	const struct btf_member *m = btf_members(t);
	int i, err;

	for (i = 0; i < btf_vlen(t); i++, m++) {
		err = btf__add_field(p->dst, btf__name_by_offset(p->src, m->name_off),
				     want(p, m->type), btf_member_bit_offset(t, i),
				     btf_member_bitfield_size(t, i));
		if (err)
			return err;
	}
	return 0;
}

static int copy_enum_values(struct prune *p, const struct btf_type *t)
{
	int i, err = 0;

	for (i = 0; i < btf_vlen(t) && !err; i++) {
		if (btf_is_enum64(t)) {
			const struct btf_enum64 *v = btf_enum64(t) + i;

			err = btf__add_enum64_value(p->dst,
						    btf__name_by_offset(p->src, v->name_off),
						    btf_enum64_value(v));
		} else {
			const struct btf_enum *v = btf_enum(t) + i;
			int64_t val = btf_kflag(t) ? (int64_t)v->val : (int64_t)(uint32_t)v->val;

			err = btf__add_enum_value(p->dst, btf__name_by_offset(p->src, v->name_off),
						  val);
		}
	}
	return err;
}

/*
 * Append src type id to dst. A pointer becomes a pointer to void: CO-RE takes any pointer for any
 * other, and finds a pointed-to type by its name, not through the pointer. A function prototype
 * (behind a typedef) keeps only its kind. Returns the new id or a negative errno.
 */
static int copy_type(struct prune *p, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(p->src, id);
	const char *name = btf__name_by_offset(p->src, t->name_off);
	int new_id;

	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		return btf__add_int(p->dst, name, t->size, btf_int_encoding(t));
	case BTF_KIND_FLOAT:
		return btf__add_float(p->dst, name, t->size);
	case BTF_KIND_PTR:
		return btf__add_ptr(p->dst, 0);
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		uint32_t index = want(p, a->index_type), elem = want(p, a->type);

		return btf__add_array(p->dst, index, elem, a->nelems);
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		new_id = btf_is_struct(t) ? btf__add_struct(p->dst, name, t->size)
					  : btf__add_union(p->dst, name, t->size);
		if (new_id > 0 && copy_members(p, t))
			return -EINVAL;
		return new_id;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		new_id = btf_is_enum(t) ? btf__add_enum(p->dst, name, t->size)
					: btf__add_enum64(p->dst, name, t->size, btf_kflag(t));
		if (new_id > 0 && copy_enum_values(p, t))
			return -EINVAL;
		return new_id;
	case BTF_KIND_FWD:
		return btf__add_fwd(p->dst, name, btf_kflag(t) ? BTF_FWD_UNION : BTF_FWD_STRUCT);
	case BTF_KIND_TYPEDEF:
		return btf__add_typedef(p->dst, name, want(p, t->type));
	case BTF_KIND_VOLATILE:
		return btf__add_volatile(p->dst, want(p, t->type));
	case BTF_KIND_CONST:
		return btf__add_const(p->dst, want(p, t->type));
	case BTF_KIND_RESTRICT:
		return btf__add_restrict(p->dst, want(p, t->type));
	case BTF_KIND_TYPE_TAG:
		return btf__add_type_tag(p->dst, name, want(p, t->type));
	case BTF_KIND_FUNC_PROTO:
		return btf__add_func_proto(p->dst, 0);
	default: /* functions, variables, sections, declaration tags: nothing a type is made of */
		return -EINVAL;
	}
}

static int by_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool is_named_root(const struct prune *p, const struct btf_type *t, const char *const *names,
			  size_t n_names)
{
	const char *name = btf__name_by_offset(p->src, t->name_off);

	if (!btf_is_composite(t) && !btf_is_any_enum(t) && !btf_is_typedef(t))
		return false;
	return name && *name && bsearch(name, names, n_names, sizeof(*names), by_name);
}

struct btf *core_btf_prune(const struct btf *src, const char *const *names, size_t n_names)
{
	uint32_t n = btf__type_cnt(src), id, i;
	struct prune p = { .src = src, .dst = btf__new_empty() };
	int err = p.dst ? 0 : -ENOMEM;

	p.dst_id = calloc(n, sizeof(*p.dst_id));
	p.queue = calloc(n, sizeof(*p.queue));
	if (!p.dst_id || !p.queue)
		err = -ENOMEM;
	for (id = 1; id < n && !err; id++)
		if (is_named_root(&p, btf__type_by_id(src, id), names, n_names))
			want(&p, id);
	/* Copying a type queues what it is made of; dst ids follow the queue's order. */
	for (i = 0; i < p.n_queued && !err; i++)
		if (copy_type(&p, p.queue[i]) != (int)i + 1)
			err = -EINVAL;
	free(p.dst_id);
	free(p.queue);
	if (err) {
		btf__free(p.dst);
		return NULL;
	}
	return p.dst;
}

/* The running kernel's build id in hex (from its ELF notes), or false. */
static bool kernel_build_id(char *hex, size_t size)
{
	unsigned char notes[4096];
	ssize_t len = 0;
	size_t off = 0;
	int fd = open(KERNEL_NOTES, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		len = read(fd, notes, sizeof(notes));
		close(fd);
	}
	while (len > 0 && off + 12 <= (size_t)len) {
		uint32_t namesz, descsz, type, i;
		size_t desc;

		memcpy(&namesz, notes + off, 4);
		memcpy(&descsz, notes + off + 4, 4);
		memcpy(&type, notes + off + 8, 4);
		desc = off + 12 + ((namesz + 3) & ~3u);
		if (desc + descsz > (size_t)len)
			break;
		if (type == NT_BUILD_ID && namesz == 4 && !memcmp(notes + off + 12, "GNU", 4) &&
		    descsz && descsz * 2 < size) {
			for (i = 0; i < descsz; i++)
				sprintf(hex + 2 * i, "%02x", notes[desc + i]);
			return true;
		}
		off = desc + ((descsz + 3) & ~3u);
	}
	return false;
}

/* A directory only root can write, created if need be; false for one anybody else could. */
static bool trusted_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return false;
	return !stat(dir, &st) && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* FNV-1a over the type names: a binary that names other types wants another copy. */
static uint64_t names_hash(void)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(core_type_names); i++)
		for (const char *c = core_type_names[i];; c++) {
			h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
			if (!*c)
				break;
		}
	return h;
}

/* Whether path is a copy we wrote that libbpf will parse. */
static bool usable_copy(const char *path)
{
	struct stat st;
	struct btf *btf;

	if (stat(path, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return false;
	btf = btf__parse_raw(path);
	if (!btf)
		return false;
	btf__free(btf);
	return true;
}

/* Copies for other kernels or other builds of ours. */
static void remove_others(const char *dir, const char *keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (strncmp(e->d_name, "vmlinux-", 8) || len < 4 ||
		    strcmp(e->d_name + len - 4, ".btf") || !strcmp(e->d_name, keep))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

/* Write the copy for this kernel to path, through a temporary file and a rename. */
static bool write_copy(const char *dir, const char *path)
{
	struct btf *full = btf__load_vmlinux_btf(), *small;
	char tmp[4096];
	const void *raw;
	uint32_t size;
	bool ok = false;
	int fd;

	if (!full)
		return false;
	small = core_btf_prune(full, core_type_names, ARRAY_SIZE(core_type_names));
	btf__free(full);
	raw = small ? btf__raw_data(small, &size) : NULL;
	snprintf(tmp, sizeof(tmp), "%s/.vmlinux-XXXXXX", dir);
	fd = raw ? mkstemp(tmp) : -1;
	if (fd >= 0) {
		ok = write(fd, raw, size) == (ssize_t)size;
		ok = !close(fd) && ok && !rename(tmp, path);
		if (!ok)
			unlink(tmp);
	}
	btf__free(small);
	return ok;
}

static const char *find_or_write_copy(void)
{
	static char path[4096];
	const char *dir = getenv("EBPFTRACE_CACHE_DIR");
	char build_id[129], name[256];
	struct stat st;

	if (!dir)
		dir = CORE_BTF_CACHE_DIR;
	if (!*dir)
		return NULL;
	if (!kernel_build_id(build_id, sizeof(build_id)) || stat(KERNEL_BTF, &st)) {
		verbose("no cached kernel BTF: the kernel has no build id to key it by");
		return NULL;
	}
	snprintf(name, sizeof(name), "vmlinux-%s-%016llx.btf", build_id,
		 (unsigned long long)(names_hash() ^ (uint64_t)st.st_size));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!trusted_dir(dir)) {
		verbose("no cached kernel BTF: %s is missing, not ours or writable by others", dir);
		return NULL;
	}
	if (usable_copy(path))
		return path;
	if (!write_copy(dir, path) || !usable_copy(path)) {
		verbose("no cached kernel BTF: could not write %s", path);
		return NULL;
	}
	remove_others(dir, name);
	verbose("kernel BTF for CO-RE: wrote %s", path);
	return path;
}

const char *core_btf_path(void)
{
	static bool done;
	static const char *path;

	if (!done) {
		path = find_or_write_copy();
		done = true;
	}
	return path;
}
