// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "countmap.h"

/* The keys, copied before any value is read: a key the BPF side adds meanwhile waits a turn. */
static int read_keys(int fd, size_t key_size, unsigned char **keys, size_t *n)
{
	size_t cap = 0;
	unsigned char *prev = NULL;

	for (*n = 0;; (*n)++) {
		if (*n == cap) {
			unsigned char *k = realloc(*keys, (cap = cap ? cap * 2 : 64) * key_size);

			if (!k)
				return -ENOMEM;
			*keys = k;
		}
		if (bpf_map_get_next_key(fd, prev, *keys + *n * key_size))
			return errno == ENOENT ? 0 : -errno;
		prev = *keys + *n * key_size;
	}
}

static bool is_percpu(enum bpf_map_type type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Each counter of a value read from the map, summed over its CPUs' copies (8-byte aligned). */
static void sum_counters(const uint64_t *per_cpu, int ncpus, size_t n, uint64_t *sums)
{
	memset(sums, 0, n * sizeof(*sums));
	for (int c = 0; c < ncpus; c++)
		for (size_t i = 0; i < n; i++)
			sums[i] += per_cpu[c * n + i];
}

int count_map_each(int map_fd, count_entry_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	unsigned char *keys = NULL;
	uint64_t *values = NULL, *sums = NULL;
	int ncpus = 1, err;
	size_t nkeys, n;

	if (bpf_map_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	if (is_percpu(info.type) && (ncpus = libbpf_num_possible_cpus()) < 0)
		return ncpus;
	n = (info.value_size + 7) / 8;
	err = read_keys(map_fd, info.key_size, &keys, &nkeys);
	values = calloc((size_t)ncpus * n ?: 1, sizeof(*values));
	sums = calloc(n ?: 1, sizeof(*sums));
	if (!err && (!values || !sums))
		err = -ENOMEM;
	for (size_t k = 0; !err && k < nkeys; k++) {
		if (bpf_map_lookup_elem(map_fd, keys + k * info.key_size, values))
			continue; /* evicted (LRU) since the keys were read */
		sum_counters(values, ncpus, n, sums);
		fn(ctx, keys + k * info.key_size, sums, n);
	}
	free(sums);
	free(values);
	free(keys);
	return err;
}

static size_t sort_key_size;

static int by_bytes(const void *a, const void *b)
{
	const struct count_row *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return memcmp(x->key, y->key, sort_key_size);
}

static void add_row(void *ctx, const void *key, const uint64_t *counters, size_t n)
{
	struct count_table *t = ctx;
	struct count_row *r;

	if (n < 2)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		void *rows = realloc(t->rows, cap * sizeof(*t->rows));

		if (rows)
			t->rows = rows;
		if (!rows || !(rows = realloc(t->keys, cap * t->key_size)))
			return; /* the row is left out of a report short of memory */
		t->keys = rows;
		t->cap = cap;
	}
	memcpy(t->keys + t->n * t->key_size, key, t->key_size);
	r = &t->rows[t->n++];
	r->packets = counters[0];
	r->bytes = counters[1];
}

int count_table_read(int map_fd, size_t key_size, struct count_table *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->key_size = key_size;
	err = count_map_each(map_fd, add_row, t);
	if (err) {
		count_table_free(t);
		return err;
	}
	/* The keys are where they will stay only now that the table has stopped growing. */
	for (size_t i = 0; i < t->n; i++)
		t->rows[i].key = t->keys + i * key_size;
	sort_key_size = key_size;
	if (t->n) /* rows is NULL then, which qsort may not be given */
		qsort(t->rows, t->n, sizeof(*t->rows), by_bytes);
	return 0;
}

void count_table_free(struct count_table *t)
{
	free(t->rows);
	free(t->keys);
	memset(t, 0, sizeof(*t));
}

uint64_t percpu_u64_sum(int map_fd, uint32_t key)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t per_cpu[ncpus > 0 ? ncpus : 1], sum = 0;

	if (ncpus <= 0 || bpf_map_lookup_elem(map_fd, &key, per_cpu))
		return 0;
	for (int i = 0; i < ncpus; i++)
		sum += per_cpu[i];
	return sum;
}
