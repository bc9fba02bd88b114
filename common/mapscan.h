/* SPDX-License-Identifier: GPL-2.0 */
/* Every entry of a BPF hash map, read while the BPF side goes on adding and deleting. */
#ifndef EBPFTRACE_MAPSCAN_H
#define EBPFTRACE_MAPSCAN_H

#include <stddef.h>

typedef void (*map_entry_fn)(void *ctx, const void *key, const void *value);

/*
 * Hand each entry of the hash map fd (not a per-CPU one) to fn, read in batches: a walk by next
 * key starts over from the first key whenever the key it stands on is deleted, which a map the
 * BPF side keeps deleting from does all the time. Returns 0 or a negative errno.
 */
int map_scan(int fd, size_t key_size, size_t value_size, map_entry_fn fn, void *ctx);

#endif
