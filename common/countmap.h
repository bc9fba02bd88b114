/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters the BPF side keeps in maps of u64 values, per-CPU ones (no atomics on the hot path)
 * summed over the CPUs: walked entry by entry, or for {packets, bytes} pairs read whole and
 * sorted by bytes.
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
	size_t n, cap;
	size_t key_size;
	unsigned char *keys;
};

/*
 * Every entry of a map whose values are u64 counters (a per-CPU map's summed over the CPUs): fn
 * gets the key and the n counters of its value. 0, or a negative errno.
 */
typedef void (*count_entry_fn)(void *ctx, const void *key, const uint64_t *counters, size_t n);
int count_map_each(int map_fd, count_entry_fn fn, void *ctx);

/*
 * Read every key of map_fd, a map of {packets, bytes} counters. 0, or a negative errno (t is then
 * empty).
 */
int count_table_read(int map_fd, size_t key_size, struct count_table *t);
void count_table_free(struct count_table *t);

/* A per-CPU array's u64 at key, summed over the CPUs; 0 when it cannot be read. */
uint64_t percpu_u64_sum(int map_fd, uint32_t key);

#endif
