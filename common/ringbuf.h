/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reading end of a BPF ring buffer map, mapped once. libbpf's ring_buffer maps the data
 * area twice, back to back, so that a record that wraps reads as one piece; the kernel maps
 * every page of both copies at mmap time, and they all count as resident: 2 MB of a 1 MB ring,
 * more than the rest of a run together. Here the few records that wrap are copied whole.
 */
#ifndef EBPFTRACE_RINGBUF_H
#define EBPFTRACE_RINGBUF_H

#include <stddef.h>

/* One record; return 0, or a negative errno to stop the consume with it. */
typedef int (*ringbuf_sample_fn)(void *ctx, void *data, size_t size);

struct ringbuf;

/* NULL with errno set if map_fd is no ring buffer or cannot be mapped. */
struct ringbuf *ringbuf_open(int map_fd, ringbuf_sample_fn fn, void *ctx);
/* Wait up to timeout_ms for the kernel's wakeup: 1 if it came, 0 if not, or -errno (-EINTR). */
int ringbuf_wait(struct ringbuf *rb, int timeout_ms);
/* Hand every complete record to fn: how many, or fn's negative errno (the record is consumed). */
int ringbuf_consume(struct ringbuf *rb);
void ringbuf_close(struct ringbuf *rb);

#endif
