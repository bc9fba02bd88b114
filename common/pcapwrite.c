// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include "dynlib.h"
#include "pcapwrite.h"
#include "util.h"

#define ETH_ALEN	6
#define ETH_HLEN	14
#define VLAN_HLEN	4
#define SLL2_HLEN	20
#define ARPHRD_ETHER	1
#define PACKET_HOST	0
#define PACKET_OUTGOING 4

struct pcap_writer {
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	FILE *file;
	bool cooked;
	uint32_t snaplen;
	uint64_t frames, max;
	uint8_t *buf; /* a record being built: a header, a tag put back, then the frame */
};

/* libpcap, opened by the first pcap_writer_open (see dynlib.h). */
/* clang-format off */
#define PCAP_FUNCTIONS(F)							\
	F(pcap_open_dead_with_tstamp_precision) F(pcap_dump_fopen) F(pcap_dump)	\
	F(pcap_dump_close) F(pcap_close)
/* clang-format on */
DYNLIB_TABLE(lib, PCAP_FUNCTIONS);

static bool pcap_loaded(void)
{
	/* Debian and Ubuntu's soname first, then upstream's. */
	static const char *const sonames[] = { "libpcap.so.0.8", "libpcap.so.1", NULL };

	return lib.pcap_close || !DYNLIB_LOAD(lib, sonames, "pcap output");
}

struct pcap_writer *pcap_writer_open(const char *path, bool cooked, uint32_t snaplen, uint64_t max)
{
	struct pcap_writer *w;

	if (!pcap_loaded())
		return NULL; /* it said why */
	w = calloc(1, sizeof(*w));
	if (!w) {
		err_msg("cannot write %s: %s", path, strerror(errno));
		return NULL;
	}
	w->cooked = cooked;
	w->max = max;
	w->snaplen = snaplen;
	w->buf = malloc(snaplen + SLL2_HLEN + VLAN_HLEN);
	w->file = strcmp(path, "-") ? fopen(path, "we") : stdout;
	if (!w->buf || !w->file)
		goto fail;
	w->pcap = lib.pcap_open_dead_with_tstamp_precision(cooked ? DLT_LINUX_SLL2 : DLT_EN10MB,
							   snaplen, PCAP_TSTAMP_PRECISION_NANO);
	if (!w->pcap)
		goto fail;
	w->dumper = lib.pcap_dump_fopen(w->pcap, w->file);
	if (!w->dumper)
		goto fail;
	return w;
fail:
	err_msg("cannot write %s: %s", path, strerror(errno ?: ENOMEM));
	pcap_writer_close(w);
	return NULL;
}

bool pcap_writer_full(const struct pcap_writer *w)
{
	return w->max && w->frames >= w->max;
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

/* Linux cooked v2: protocol, reserved, ifindex, hardware type, packet type, address. */
static void sll2_header(uint8_t *h, const uint8_t *eth, const struct pcap_frame_meta *m)
{
	memset(h, 0, SLL2_HLEN);
	if (m->vlan)
		put16(h, m->vlan_proto);
	else
		memcpy(h, eth + 2 * ETH_ALEN, 2);
	put32(h + 4, m->ifindex);
	put16(h + 8, ARPHRD_ETHER);
	h[10] = m->outgoing ? PACKET_OUTGOING : PACKET_HOST;
	h[11] = ETH_ALEN;
	memcpy(h + 12, eth + ETH_ALEN, ETH_ALEN);
}

/* The frame with the tag put back into w->buf at off; returns the bytes it takes there. */
static uint32_t with_tag(struct pcap_writer *w, uint32_t off, const uint8_t *frame, uint32_t cap,
			 const struct pcap_frame_meta *m)
{
	uint8_t *p = w->buf + off;

	if (!m->vlan || cap < 2 * ETH_ALEN) {
		memcpy(p, frame, cap);
		return cap;
	}
	memcpy(p, frame, 2 * ETH_ALEN);
	put16(p + 2 * ETH_ALEN, m->vlan_proto);
	put16(p + 2 * ETH_ALEN + 2, m->vlan_tci);
	memcpy(p + 2 * ETH_ALEN + VLAN_HLEN, frame + 2 * ETH_ALEN, cap - 2 * ETH_ALEN);
	return cap + VLAN_HLEN;
}

void pcap_writer_frame(struct pcap_writer *w, const uint8_t *frame, uint32_t cap, uint32_t len,
		       const struct pcap_frame_meta *m)
{
	struct pcap_pkthdr h = {
		.ts.tv_sec = m->ts_wall_ns / 1000000000,
		.ts.tv_usec = m->ts_wall_ns % 1000000000, /* nanoseconds, by the file's precision */
	};
	uint32_t n, added = m->vlan ? VLAN_HLEN : 0;

	if (pcap_writer_full(w))
		return;
	w->frames++;
	if (cap > w->snaplen)
		cap = w->snaplen;
	if (!w->cooked && !m->vlan) {
		/* The frame as it is: written from where it lies, not copied first. */
		h.caplen = cap;
		h.len = len;
		lib.pcap_dump((u_char *)w->dumper, &h, frame);
		return;
	}
	if (!w->cooked || cap < ETH_HLEN) {
		n = with_tag(w, 0, frame, cap, m);
		h.len = len + added;
	} else {
		/* The cooked header takes the place of the MAC addresses and type. */
		n = with_tag(w, SLL2_HLEN - ETH_HLEN, frame, cap, m) + SLL2_HLEN - ETH_HLEN;
		sll2_header(w->buf, frame, m);
		h.len = len + added + SLL2_HLEN - ETH_HLEN;
	}
	h.caplen = n < w->snaplen ? n : w->snaplen;
	lib.pcap_dump((u_char *)w->dumper, &h, w->buf);
}

int pcap_writer_flush(struct pcap_writer *w)
{
	if (fflush(w->file) || ferror(w->file))
		return errno ?: EIO;
	return 0;
}

void pcap_writer_close(struct pcap_writer *w)
{
	if (!w)
		return;
	if (w->dumper)
		lib.pcap_dump_close(w->dumper); /* closes the file too */
	else if (w->file && w->file != stdout)
		fclose(w->file);
	if (w->pcap)
		lib.pcap_close(w->pcap);
	free(w->buf);
	free(w);
}
