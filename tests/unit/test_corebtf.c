// SPDX-License-Identifier: GPL-2.0
/* The cut-down kernel BTF for CO-RE: what is copied, as it was, and what is left out. */
#include <bpf/btf.h>
#include "corebtf.h"
#include "unit.h"

/* The id of the type called name of kind in btf, or a negative errno. */
static int type_id(const struct btf *btf, const char *name, int kind)
{
	return btf__find_by_name_kind(btf, name, kind);
}

/*
 * struct task { int pid; unsigned int flags:3; struct inner in; struct other *next; char c[16]; };
 * struct inner { long a; }; struct other { int x; }; enum state { RUNNING = -1 };
 * typedef struct task task_t; struct unused { int y; };
 */
static struct btf *source(void)
{
	struct btf *b = btf__new_empty();
	int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int i64 = btf__add_int(b, "long", 8, BTF_INT_SIGNED);
	int chr = btf__add_int(b, "char", 1, BTF_INT_CHAR);
	int other = btf__add_struct(b, "other", 4);
	int inner, ptr, arr, task;

	btf__add_field(b, "x", i32, 0, 0);
	inner = btf__add_struct(b, "inner", 8);
	btf__add_field(b, "a", i64, 0, 0);
	ptr = btf__add_ptr(b, other);
	arr = btf__add_array(b, u32, chr, 16);
	task = btf__add_struct(b, "task", 48);
	btf__add_field(b, "pid", i32, 0, 0);
	btf__add_field(b, "flags", u32, 32, 3);
	btf__add_field(b, "in", inner, 64, 0);
	btf__add_field(b, "next", ptr, 128, 0);
	btf__add_field(b, "c", arr, 192, 0);
	btf__add_enum(b, "state", 4);
	btf__add_enum_value(b, "RUNNING", -1);
	btf__add_typedef(b, "task_t", task);
	btf__add_struct(b, "unused", 4);
	btf__add_field(b, "y", i32, 0, 0);
	return b;
}

TEST(corebtf_copies_named_types_whole_and_points_at_void)
{
	static const char *const names[] = { "state", "task_t", "unknown" };
	struct btf *src = source(), *dst = core_btf_prune(src, names, 3);
	const struct btf_type *t, *m_type;
	const struct btf_member *m;
	int id;

	CHECK(dst != NULL);
	if (!dst)
		return;
	/* task_t and what task is made of; other only behind a pointer, unused not at all. */
	CHECK(type_id(dst, "task_t", BTF_KIND_TYPEDEF) > 0);
	id = type_id(dst, "task", BTF_KIND_STRUCT);
	CHECK(id > 0);
	CHECK(type_id(dst, "inner", BTF_KIND_STRUCT) > 0);
	CHECK(type_id(dst, "other", BTF_KIND_STRUCT) < 0);
	CHECK(type_id(dst, "unused", BTF_KIND_STRUCT) < 0);
	if (id <= 0)
		goto out;
	t = btf__type_by_id(dst, id);
	CHECK_INT_EQ(t->size, 48);
	CHECK_INT_EQ(btf_vlen(t), 5);
	m = btf_members(t);
	CHECK_STR_EQ(btf__name_by_offset(dst, m[1].name_off), "flags");
	CHECK_INT_EQ(btf_member_bit_offset(t, 1), 32);
	CHECK_INT_EQ(btf_member_bitfield_size(t, 1), 3);
	CHECK_INT_EQ(btf_member_bit_offset(t, 2), 64);
	m_type = btf__type_by_id(dst, m[3].type);
	CHECK(btf_is_ptr(m_type) && m_type->type == 0);
	m_type = btf__type_by_id(dst, m[4].type);
	CHECK(btf_is_array(m_type) && btf_array(m_type)->nelems == 16);
	/* The enum keeps its signed value. */
	id = type_id(dst, "state", BTF_KIND_ENUM);
	CHECK(id > 0);
	if (id > 0) {
		t = btf__type_by_id(dst, id);
		CHECK_INT_EQ(btf_vlen(t), 1);
		CHECK_INT_EQ(btf_enum(t)->val, -1);
		CHECK(btf_kflag(t));
	}
out:
	btf__free(dst);
	btf__free(src);
}

TEST(corebtf_of_no_known_name_is_empty)
{
	static const char *const names[] = { "nothing" };
	struct btf *src = source(), *dst = core_btf_prune(src, names, 1);

	CHECK(dst != NULL);
	if (dst)
		CHECK_INT_EQ(btf__type_cnt(dst), 1); /* void only */
	btf__free(dst);
	btf__free(src);
}
