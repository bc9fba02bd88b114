/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters the BPF side keeps in per-CPU hash maps, a {packets, bytes} pair of u64 per key and
 * CPU (no atomics on the hot path): read whole, summed over the CPUs, sorted by bytes.
 */
#ifndef EBPFTRACE_COUNTMAP_H
#define EBPFTRACE_COUNTMAP_H

#include <stddef.h>
#include <stdint.h>

struct count_row {
	const void *key; /* into the table's own copy of the keys */
	uint64_t packets;
	uint64_t bytes;
};

struct count_table {
	struct count_row *rows; /* most bytes first; ties by the key's bytes, for a stable order */
	size_t n;
	size_t key_size;
	unsigned char *keys;
};

/* Read every key of map_fd. 0, or a negative errno (t is then empty). */
int count_table_read(int map_fd, size_t key_size, struct count_table *t);
void count_table_free(struct count_table *t);

/* A per-CPU array's u64 at key, summed over the CPUs; 0 when it cannot be read. */
uint64_t percpu_u64_sum(int map_fd, uint32_t key);

#endif
