// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include "fileid.h"

__u32 kernel_dev(dev_t dev)
{
	return major(dev) << 20 | minor(dev);
}

void kernel_dev_format(__u32 dev, char *buf, size_t size)
{
	snprintf(buf, size, "%u:%u", dev >> 20, dev & 0xfffff);
}

int file_ids_learn(int learn_fd, const char *path, const struct stat *st,
		   struct file_id ids[FILE_IDS_MAX])
{
	struct file_id_learn l = { .active = 1, .tid = gettid() };
	uint32_t zero = 0;
	int fd, n = 1;

	ids[0] = (struct file_id){ .ino = st->st_ino, .dev = kernel_dev(st->st_dev) };
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return n; /* opening a device or a FIFO could block or act */
	if (bpf_map_update_elem(learn_fd, &zero, &l, BPF_ANY))
		return -errno;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	if (bpf_map_lookup_elem(learn_fd, &zero, &l))
		return -errno;
	for (uint32_t i = 0; i < l.n && i < FILE_ID_MAX_LEARNED; i++)
		ids[n++] = l.ids[i];
	l = (struct file_id_learn){};
	bpf_map_update_elem(learn_fd, &zero, &l, BPF_ANY);
	return n;
}
