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
#include <limits.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "corebtf.h"
#include "util.h"

#define KERNEL_NOTES "/sys/kernel/notes"
#define KERNEL_BTF   "/sys/kernel/btf/vmlinux"
#define NT_BUILD_ID  3

/* Every struct, union, enum and typedef name in our BPF objects' BTF, sorted (Makefile). */
static const char *const core_type_names[] = {
#include "core_types.h"
};

/* Every section of theirs whose programs attach by a kernel BTF id ("tp_btf/sys_exit"...). */
static const char *const attach_sections[] = {
#include "core_attach.h"
};

/*
 * What such a section names in the kernel's BTF: tp_btf/X the typedef btf_trace_X, fentry/X and
 * fexit/X the function X, lsm/X the function bpf_lsm_X (as libbpf looks them up). The copy keeps
 * their ids, and how many parameters their prototypes have, as the values of an enum per fact and
 * kind (named in fact_enums), one enumerator per name.
 */
static const struct attach_kind {
	const char *section;
	enum bpf_attach_type attach;
	const char *prefix;
	int kind;
} attach_kinds[] = {
	{ "tp_btf/", BPF_TRACE_RAW_TP, "btf_trace_", BTF_KIND_TYPEDEF },
	{ "fentry/", BPF_TRACE_FENTRY, "", BTF_KIND_FUNC },
	{ "fexit/", BPF_TRACE_FEXIT, "", BTF_KIND_FUNC },
	{ "lsm/", BPF_LSM_MAC, "bpf_lsm_", BTF_KIND_FUNC },
};
enum attach_fact { ATTACH_ID, ATTACH_PARAMS };
/* [fact][whether the kind is a function] */
static const char *const fact_enums[][2] = {
	[ATTACH_ID] = { "ebpftrace_typedef_ids", "ebpftrace_func_ids" },
	[ATTACH_PARAMS] = { "ebpftrace_typedef_params", "ebpftrace_func_params" },
};

/* The copy, parsed: one per process, kept for its ids. */
static struct btf *copy;

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

/* FNV-1a over the names: a binary that names other types or targets wants another copy. */
static uint64_t hash_names(uint64_t h, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (const char *c = names[i];; c++) {
			h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
			if (!*c)
				break;
		}
	return h;
}

static uint64_t names_hash(void)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = hash_names(h, core_type_names, ARRAY_SIZE(core_type_names));
	return hash_names(h, attach_sections, ARRAY_SIZE(attach_sections));
}

/* Whether path is a copy we wrote that libbpf will parse; kept in copy if so. */
static bool usable_copy(const char *path)
{
	struct stat st;

	if (stat(path, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return false;
	btf__free(copy);
	copy = btf__parse_raw(path);
	return copy;
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

static const struct attach_kind *attach_kind_of(enum bpf_attach_type attach)
{
	for (size_t i = 0; i < ARRAY_SIZE(attach_kinds); i++)
		if (attach_kinds[i].attach == attach)
			return &attach_kinds[i];
	return NULL;
}

static const struct attach_kind *section_kind(const char *section)
{
	for (size_t i = 0; i < ARRAY_SIZE(attach_kinds); i++)
		if (!strncmp(section, attach_kinds[i].section, strlen(attach_kinds[i].section)))
			return &attach_kinds[i];
	return NULL;
}

/* The name in the kernel's BTF of what a program of kind k names by target. */
static const char *target_name(const struct attach_kind *k, const char *target, char *buf,
			       size_t size)
{
	snprintf(buf, size, "%s%s", k->prefix, target);
	return buf;
}

/* The id in btf of what a program of kind k names by target, or a negative errno. */
static int find_target(const struct btf *btf, const struct attach_kind *k, const char *target)
{
	char name[256];

	return btf__find_by_name_kind(btf, target_name(k, target, name, sizeof(name)), k->kind);
}

/* The number of parameters of the prototype behind the typedef (of a pointer) or function id. */
static int params_of(const struct btf *btf, int id)
{
	const struct btf_type *t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);

	if (btf_is_ptr(t))
		t = btf__type_by_id(btf, t->type);
	return btf_is_func_proto(t) ? btf_vlen(t) : -1;
}

/* Append to dst the enum of fact for kind, one value per section whose target full has. */
static int add_attach_facts(struct btf *dst, const struct btf *full, int kind,
			    enum attach_fact fact)
{
	int enum_id = 0, err = 0;
	char name[256];

	for (size_t i = 0; i < ARRAY_SIZE(attach_sections) && !err; i++) {
		const struct attach_kind *k = section_kind(attach_sections[i]);
		const char *target;
		int id;

		if (!k || k->kind != kind)
			continue;
		target =
			target_name(k, attach_sections[i] + strlen(k->section), name, sizeof(name));
		id = btf__find_by_name_kind(full, target, kind);
		if (id <= 0)
			continue; /* not in vmlinux: libbpf looks in the modules at load */
		if (!enum_id)
			enum_id = btf__add_enum(dst, fact_enums[fact][kind == BTF_KIND_FUNC], 4);
		if (enum_id < 0)
			return enum_id;
		err = btf__add_enum_value(dst, target,
					  fact == ATTACH_ID ? id : params_of(full, id));
	}
	return err;
}

static int add_all_attach_facts(struct btf *dst, const struct btf *full)
{
	static const int kinds[] = { BTF_KIND_TYPEDEF, BTF_KIND_FUNC };
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(kinds) && !err; i++)
		for (enum attach_fact f = ATTACH_ID; f <= ATTACH_PARAMS && !err; f++)
			err = add_attach_facts(dst, full, kinds[i], f);
	return err;
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
	if (small && add_all_attach_facts(small, full)) {
		btf__free(small);
		small = NULL;
	}
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

static int attach_fact(int attach, const char *target, enum attach_fact fact)
{
	const struct attach_kind *k = attach_kind_of(attach);
	const struct btf_type *t;
	const struct btf_enum *v;
	char name[256];
	int id;

	if (!k || !core_btf_path())
		return -ENOENT;
	id = btf__find_by_name_kind(copy, fact_enums[fact][k->kind == BTF_KIND_FUNC],
				    BTF_KIND_ENUM);
	if (id <= 0)
		return -ENOENT;
	target_name(k, target, name, sizeof(name));
	t = btf__type_by_id(copy, id);
	v = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, v++)
		if (!strcmp(btf__name_by_offset(copy, v->name_off), name))
			return v->val;
	return -ENOENT;
}

/* Said under -v: what the copy does not have costs a read of the kernel's whole BTF. */
static void whole_btf_for(const char *target)
{
	verbose("kernel BTF: %s is not in the cached copy: reading the whole BTF", target);
}

int core_btf_attach_id(int attach, const char *target)
{
	int id = attach_fact(attach, target, ATTACH_ID);

	if (id > 0)
		return id;
	whole_btf_for(target);
	return libbpf_find_vmlinux_btf_id(target, attach);
}

int core_btf_attach_params(int attach, const char *target)
{
	int n = attach_fact(attach, target, ATTACH_PARAMS), id;
	struct btf *full;

	if (n >= 0)
		return n;
	whole_btf_for(target);
	full = attach_kind_of(attach) ? btf__load_vmlinux_btf() : NULL;
	if (!full)
		return -ENOENT;
	id = find_target(full, attach_kind_of(attach), target);
	n = id > 0 ? params_of(full, id) : id;
	btf__free(full);
	return n;
}

/*
 * libbpf 1.4 reads the kernel's whole BTF to load a program that attaches by BTF id, for that id
 * alone. These handlers of its sections give it the id from the copy: a program whose target the
 * copy has is marked at open with an attach_prog_fd no file can have (which tells libbpf that it
 * needs no kernel BTF for it), and at load the mark gives way to the id. A target the copy lacks
 * is not in vmlinux: libbpf looks it up at open then, in the modules' BTF too.
 */
#define ATTACH_ID_MARK INT_MAX

static const char *attach_target(const struct bpf_program *prog)
{
	const char *slash = strchr(bpf_program__section_name(prog), '/');

	return slash ? slash + 1 : NULL;
}

static int mark_for_cached_id(struct bpf_program *prog, long cookie)
{
	const char *target = attach_target(prog);

	(void)cookie;
	if (!target) /* the subcommand sets it (bpf_program__set_attach_target) */
		return 0;
	if (attach_fact(bpf_program__expected_attach_type(prog), target, ATTACH_ID) > 0)
		return bpf_program__set_attach_target(prog, ATTACH_ID_MARK, NULL);
	/* Not found here fails at load, as it would without us, if the program is loaded. */
	bpf_program__set_attach_target(prog, 0, target);
	return 0;
}

static int give_cached_id(struct bpf_program *prog, struct bpf_prog_load_opts *opts, long cookie)
{
	(void)cookie;
	if (opts->attach_prog_fd == ATTACH_ID_MARK) {
		opts->attach_prog_fd = 0;
		opts->attach_btf_obj_fd = 0;
		opts->attach_btf_id = attach_fact(bpf_program__expected_attach_type(prog),
						  attach_target(prog), ATTACH_ID);
	}
	return opts->attach_btf_id > 0 ? 0 : -ESRCH;
}

static int attach_by_id(const struct bpf_program *prog, long cookie, struct bpf_link **link)
{
	(void)cookie;
	*link = bpf_program__attach_trace(prog);
	return *link ? 0 : -errno;
}

static void take_over_attach_by_id(void)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, opts, .prog_setup_fn = mark_for_cached_id,
		    .prog_prepare_load_fn = give_cached_id, .prog_attach_fn = attach_by_id);
	static const struct {
		const char *section;
		enum bpf_attach_type attach;
	} sections[] = {
		{ "tp_btf+", BPF_TRACE_RAW_TP },
		{ "fentry+", BPF_TRACE_FENTRY },
		{ "fexit+", BPF_TRACE_FEXIT },
	};

	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (libbpf_register_prog_handler(sections[i].section, BPF_PROG_TYPE_TRACING,
						 sections[i].attach, &opts) < 0)
			verbose("libbpf would not take a handler for %s: %s", sections[i].section,
				strerror(errno));
}

const char *core_btf_path(void)
{
	static bool done;
	static const char *path;

	if (!done) {
		done = true;
		path = find_or_write_copy();
		if (path)
			take_over_attach_by_id();
	}
	return path;
}
