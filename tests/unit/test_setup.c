// SPDX-License-Identifier: GPL-2.0
/* Maps made ahead of the load: libbpf takes them as they were made, and creates nothing. */
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "memleak.h"
#include "memleak.skel.h"
#include "setup.h"
#include "unit.h"

static void check_made(const struct bpf_map *m, enum bpf_map_type type, __u32 max_entries,
		       __u32 flags)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	/* Before the load, a map libbpf is to create has no kernel map behind its fd. */
	CHECK_INT_EQ(bpf_map_get_info_by_fd(bpf_map__fd(m), &info, &len), 0);
	CHECK_INT_EQ(info.type, type);
	CHECK_INT_EQ(info.max_entries, max_entries);
	CHECK_INT_EQ(info.map_flags, flags);
	CHECK_STR_EQ(bpf_map__name(m), info.name);
}

TEST(maps_create_together_hands_libbpf_maps_made_as_defined)
{
	struct memleak_bpf *skel = memleak_bpf__open();
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	CHECK(skel != NULL);
	if (!skel)
		return;
	bpf_map__set_max_entries(skel->maps.allocs, 4096);
	bpf_map__set_max_entries(skel->maps.stacks, 512);
	CHECK(bpf_map_get_info_by_fd(bpf_map__fd(skel->maps.stacks), &info, &len) < 0);
	maps_create_together((struct bpf_map *[]){ skel->maps.allocs, skel->maps.stacks }, 2);
	check_made(skel->maps.allocs, BPF_MAP_TYPE_HASH, 4096, BPF_F_NO_PREALLOC);
	check_made(skel->maps.stacks, BPF_MAP_TYPE_STACK_TRACE, 512, 0);
	CHECK_INT_EQ(bpf_map__value_size(skel->maps.stacks), MEMLEAK_STACK_DEPTH * 8);
	memleak_bpf__destroy(skel);
}
