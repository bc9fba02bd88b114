// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include "mapscan.h"

#define BATCH 4096

int map_scan(int fd, size_t key_size, size_t value_size, map_entry_fn fn, void *ctx)
{
	char *keys = malloc(BATCH * key_size), *vals = malloc(BATCH * value_size);
	uint64_t token = 0; /* the kernel's position in the map: a bucket number for a hash */
	bool first = true;
	int err = keys && vals ? 0 : -ENOMEM;

	while (!err) {
		__u32 n = BATCH;

		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &n, NULL);
		for (__u32 i = 0; i < n; i++)
			fn(ctx, keys + i * key_size, vals + i * value_size);
		first = false;
	}
	free(keys);
	free(vals);
	return err == -ENOENT ? 0 : err;
}
