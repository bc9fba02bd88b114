// SPDX-License-Identifier: GPL-2.0
/* Maps made while the programs load: the slot at once, the map itself in a thread. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "setup.h"
#include "unit.h"

static __u32 map_id(int fd, __u32 *max_entries, __u32 *flags)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_map_get_info_by_fd(fd, &info, &len))
		return 0;
	*max_entries = info.max_entries;
	*flags = info.map_flags;
	return info.id;
}

TEST(late_map_is_made_as_defined_and_put_in_its_slot)
{
	struct late_map m = { .type = BPF_MAP_TYPE_HASH,
			      .name = "late",
			      .key_size = 8,
			      .value_size = 24,
			      .max_entries = 4096,
			      .flags = BPF_F_NO_PREALLOC };
	struct bpf_map_info slot = {};
	__u32 len = sizeof(slot), max = 0, flags = 0, zero = 0, id, inner_id = 0;

	CHECK_INT_EQ(late_map_start(&m), 0);
	CHECK_INT_EQ(bpf_map_get_info_by_fd(m.slot_fd, &slot, &len), 0);
	CHECK_INT_EQ(slot.type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	CHECK_INT_EQ(slot.max_entries, 1);
	CHECK_INT_EQ(late_map_wait(&m), 0);
	id = map_id(m.fd, &max, &flags);
	CHECK_INT_EQ(max, 4096);
	CHECK_INT_EQ(flags, BPF_F_NO_PREALLOC);
	/* From user space a map of maps gives the id of the map in the slot. */
	CHECK_INT_EQ(bpf_map_lookup_elem(m.slot_fd, &zero, &inner_id), 0);
	CHECK(id != 0 && inner_id == id);
	late_map_free(&m);
	CHECK(!m.live);
}

TEST(late_map_that_cannot_be_made_says_why)
{
	/* A stack trace map's values are whole frames: 12 bytes is refused, so there is no slot. */
	struct late_map bad = { .type = BPF_MAP_TYPE_STACK_TRACE,
				.name = "bad",
				.key_size = 4,
				.value_size = 12,
				.max_entries = 64 };
	int devnull = open("/dev/null", O_RDONLY);
	/* Never started, its fds are not ours to close, whatever they hold. */
	struct late_map never = { .slot_fd = devnull, .fd = devnull };

	CHECK_INT_EQ(late_map_start(&bad), -EINVAL);
	CHECK(!bad.live);
	late_map_free(&bad);
	late_map_free(&never);
	CHECK(devnull >= 0 && fcntl(devnull, F_GETFD) >= 0);
	close(devnull);
}
