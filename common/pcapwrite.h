/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Capture files through libpcap, for tcpdump -r, tshark -r and Wireshark: Ethernet frames as a
 * device shows them, or (to keep the direction of each packet in one file) Linux "cooked" v2
 * records, as `tcpdump -i any` writes them, with the interface index and whether the packet was
 * outgoing. libpcap 1.10 writes pcap only, not pcapng. Timestamps in nanoseconds.
 */
#ifndef EBPFTRACE_PCAPWRITE_H
#define EBPFTRACE_PCAPWRITE_H

#include <stdbool.h>
#include <stdint.h>

struct pcap_writer;

/* What the frame's bytes do not carry. */
struct pcap_frame_meta {
	uint64_t ts_wall_ns;
	uint32_t ifindex;
	bool outgoing;
	/* A VLAN tag the stack kept beside the data: put back after the MAC addresses, as
	 * AF_PACKET does for tcpdump. */
	bool vlan;
	uint16_t vlan_proto;
	uint16_t vlan_tci;
};

/*
 * Open path ("-": stdout) for records of up to snaplen bytes, at most max of them (0: no limit);
 * cooked: Linux cooked v2, else Ethernet. NULL, having said why on stderr.
 */
struct pcap_writer *pcap_writer_open(const char *path, bool cooked, uint32_t snaplen, uint64_t max);
/* Whether max frames have been written. */
bool pcap_writer_full(const struct pcap_writer *w);

/* One Ethernet frame of len bytes, of which cap were copied (nothing once full). */
void pcap_writer_frame(struct pcap_writer *w, const uint8_t *frame, uint32_t cap, uint32_t len,
		       const struct pcap_frame_meta *m);

/* Write what is buffered. 0, or a positive errno once writing failed (EPIPE: reader gone). */
int pcap_writer_flush(struct pcap_writer *w);
void pcap_writer_close(struct pcap_writer *w);

#endif
