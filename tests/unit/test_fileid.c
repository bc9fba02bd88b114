// SPDX-License-Identifier: GPL-2.0
/* File identities: the kernel's device encoding, and what learning a file gives without a hook. */
#include <errno.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include "fileid.h"
#include "unit.h"

TEST(kernel_dev_encodes_and_formats_major_and_minor)
{
	char buf[24];

	CHECK_INT_EQ(kernel_dev(makedev(259, 3)), 259u << 20 | 3);
	kernel_dev_format(kernel_dev(makedev(8, 1048575)), buf, sizeof(buf));
	CHECK_STR_EQ(buf, "8:1048575");
}

/*
 * With no open hook attached nothing is learned: the identity is stat's alone, and the learning
 * map is left inactive. A device is never opened, so its map is never touched (-1 would fail).
 */
TEST(file_ids_learn_starts_with_stat_and_leaves_the_map_inactive)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ebt_learn", 4, sizeof(struct file_id_learn), 1,
				NULL);
	struct file_id ids[FILE_IDS_MAX];
	struct file_id_learn l = { .active = 1 };
	uint32_t zero = 0;
	struct stat st;

	CHECK(fd >= 0);
	CHECK(!stat("/proc/self/exe", &st));
	CHECK_INT_EQ(file_ids_learn(fd, "/proc/self/exe", &st, ids), 1);
	CHECK_INT_EQ(ids[0].ino, st.st_ino);
	CHECK_INT_EQ(ids[0].dev, kernel_dev(st.st_dev));
	CHECK(!bpf_map_lookup_elem(fd, &zero, &l));
	CHECK_INT_EQ(l.active, 0);
	close(fd);

	CHECK(!stat("/dev/null", &st));
	CHECK_INT_EQ(file_ids_learn(-1, "/dev/null", &st, ids), 1);
	CHECK_INT_EQ(ids[0].ino, st.st_ino);
	/* A regular file is opened to learn it, so a map that is not there is an error. */
	CHECK(!stat("/proc/self/exe", &st));
	CHECK_INT_EQ(file_ids_learn(-1, "/proc/self/exe", &st, ids), -EBADF);
}
