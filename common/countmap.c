// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "countmap.h"

struct pair {
	uint64_t packets;
	uint64_t bytes;
};

static size_t sort_key_size;

static int by_bytes(const void *a, const void *b)
{
	const struct count_row *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return memcmp(x->key, y->key, sort_key_size);
}

/* The keys, copied before any value is read: a key the BPF side adds meanwhile waits a turn. */
static int read_keys(int fd, size_t key_size, struct count_table *t)
{
	size_t cap = 0;
	unsigned char *prev = NULL;

	for (;;) {
		if (t->n == cap) {
			unsigned char *k = realloc(t->keys, (cap = cap ? cap * 2 : 64) * key_size);

			if (!k)
				return -ENOMEM;
			t->keys = k;
		}
		if (bpf_map_get_next_key(fd, prev, t->keys + t->n * key_size))
			return errno == ENOENT ? 0 : -errno;
		prev = t->keys + t->n * key_size;
		t->n++;
	}
}

static int sum_values(int fd, struct count_table *t, int ncpus)
{
	struct pair *per_cpu = calloc(ncpus, sizeof(*per_cpu));
	size_t kept = 0;

	t->rows = calloc(t->n ?: 1, sizeof(*t->rows));
	if (!per_cpu || !t->rows) {
		free(per_cpu);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct count_row *r = &t->rows[kept];

		if (bpf_map_lookup_elem(fd, t->keys + i * t->key_size, per_cpu))
			continue; /* evicted (LRU) since the keys were read */
		r->key = t->keys + i * t->key_size;
		r->packets = r->bytes = 0;
		for (int c = 0; c < ncpus; c++) {
			r->packets += per_cpu[c].packets;
			r->bytes += per_cpu[c].bytes;
		}
		kept++;
	}
	free(per_cpu);
	t->n = kept;
	return 0;
}

int count_table_read(int map_fd, size_t key_size, struct count_table *t)
{
	int ncpus = libbpf_num_possible_cpus();
	int err;

	memset(t, 0, sizeof(*t));
	t->key_size = key_size;
	if (ncpus < 0)
		return ncpus;
	err = read_keys(map_fd, key_size, t);
	if (!err)
		err = sum_values(map_fd, t, ncpus);
	if (err) {
		count_table_free(t);
		return err;
	}
	sort_key_size = key_size;
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
