// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "ringbuf.h"

struct ringbuf {
	int fd;
	ringbuf_sample_fn fn;
	void *ctx;
	size_t page_size;
	size_t size;		     /* of the data area: a power of 2 pages */
	unsigned long *consumer_pos; /* the one page we may write */
	unsigned long *producer_pos; /* read-only: this page, then the data area once */
	char *data;
	char *wrapped; /* a wrapped record, copied whole */
	size_t wrapped_size;
};

struct ringbuf *ringbuf_open(int map_fd, ringbuf_sample_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	struct ringbuf *rb;
	void *p;

	if (bpf_map_get_info_by_fd(map_fd, &info, &len))
		return NULL;
	if (info.type != BPF_MAP_TYPE_RINGBUF) {
		errno = EINVAL;
		return NULL;
	}
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return NULL;
	*rb = (struct ringbuf){ .fd = map_fd, .fn = fn, .ctx = ctx };
	rb->page_size = sysconf(_SC_PAGESIZE);
	rb->size = info.max_entries;
	p = mmap(NULL, rb->page_size, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	rb->consumer_pos = p;
	p = mmap(NULL, rb->page_size + rb->size, PROT_READ, MAP_SHARED, map_fd, rb->page_size);
	if (p == MAP_FAILED)
		goto fail;
	rb->producer_pos = p;
	rb->data = (char *)p + rb->page_size;
	return rb;
fail:
	len = errno;
	ringbuf_close(rb);
	errno = len;
	return NULL;
}

int ringbuf_wait(struct ringbuf *rb, int timeout_ms)
{
	struct pollfd p = { .fd = rb->fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	return n < 0 ? -errno : n;
}

/* The record at pos, in one piece: in place, or copied when it runs past the end of the area. */
static void *record_at(struct ringbuf *rb, unsigned long pos, size_t len)
{
	size_t start = pos & (rb->size - 1);
	size_t first = rb->size - start;

	if (len <= first)
		return rb->data + start;
	if (rb->wrapped_size < len) {
		char *bigger = realloc(rb->wrapped, len);

		if (!bigger)
			return NULL;
		rb->wrapped = bigger;
		rb->wrapped_size = len;
	}
	memcpy(rb->wrapped, rb->data + start, first);
	memcpy(rb->wrapped + first, rb->data, len - first);
	return rb->wrapped;
}

int ringbuf_consume(struct ringbuf *rb)
{
	unsigned long cons = __atomic_load_n(rb->consumer_pos, __ATOMIC_ACQUIRE);
	unsigned long prod;
	int count = 0;

	/* Records that came while we read are read too, as libbpf does. */
	while (cons < (prod = __atomic_load_n(rb->producer_pos, __ATOMIC_ACQUIRE))) {
		while (cons < prod) {
			/* Headers are 8-byte aligned and never wrap; the data after one can. */
			uint32_t *hdr = (uint32_t *)(rb->data + (cons & (rb->size - 1)));
			uint32_t word = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			size_t len = word & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			unsigned long next = cons + ((BPF_RINGBUF_HDR_SZ + len + 7) & ~7UL);
			int err = 0;

			if (word & BPF_RINGBUF_BUSY_BIT)
				return count; /* still being written: the rest waits for it */
			if (!(word & BPF_RINGBUF_DISCARD_BIT)) {
				void *rec = record_at(rb, cons + BPF_RINGBUF_HDR_SZ, len);

				err = rec ? rb->fn(rb->ctx, rec, len) : -ENOMEM;
				count++;
			}
			cons = next;
			__atomic_store_n(rb->consumer_pos, cons, __ATOMIC_RELEASE);
			if (err < 0)
				return err;
		}
	}
	return count;
}

void ringbuf_close(struct ringbuf *rb)
{
	if (!rb)
		return;
	if (rb->producer_pos)
		munmap(rb->producer_pos, rb->page_size + rb->size);
	if (rb->consumer_pos)
		munmap(rb->consumer_pos, rb->page_size);
	free(rb->wrapped);
	free(rb);
}
