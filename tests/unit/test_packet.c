// SPDX-License-Identifier: GPL-2.0
/* Packets as text (common/packetfmt) and as capture files (common/pcapwrite), read back. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include "netrule.h"
#include "packetfmt.h"
#include "pcapwrite.h"
#include "unit.h"

static struct packet_info v6_tcp(void)
{
	struct packet_info p = { .ethertype = PACKET_ETH_P_IPV6,
				 .proto = PACKET_IPPROTO_TCP,
				 .sport = 443,
				 .dport = 50000,
				 .tcp_flags = 0x12,
				 .flags = PACKET_HAS_PORTS };

	inet_pton(AF_INET6, "2001:db8::1", p.src);
	inet_pton(AF_INET6, "2001:db8::2", p.dst);
	return p;
}

static const char *text(void (*fmt)(struct strbuf *, const struct packet_info *),
			const struct packet_info *p)
{
	static struct strbuf sb;

	sb.len = 0;
	fmt(&sb, p);
	sb_putc(&sb, 0);
	return sb.buf;
}

static void src_endpoint(struct strbuf *sb, const struct packet_info *p)
{
	packet_endpoint(sb, p, false);
}

TEST(packet_text)
{
	struct packet_info p = v6_tcp(), icmp = { .ethertype = PACKET_ETH_P_IP,
						  .proto = PACKET_IPPROTO_ICMP,
						  .icmp_type = 3,
						  .icmp_code = 1,
						  .flags = PACKET_HAS_ICMP };

	CHECK_STR_EQ(text(src_endpoint, &p), "[2001:db8::1]:443");
	CHECK_STR_EQ(text(packet_summary, &p), "SYN|ACK");
	CHECK_STR_EQ(text(packet_proto, &p), "tcp");
	CHECK_STR_EQ(text(packet_summary, &icmp), "dest-unreachable code 1");
	icmp.icmp_type = 42;
	CHECK_STR_EQ(text(packet_summary, &icmp), "type 42 code 1");
	net_addr_from_ipv4(htonl(0xc6336407), icmp.src);
	CHECK_STR_EQ(text(src_endpoint, &icmp), "198.51.100.7");
	icmp.flags = PACKET_FRAGMENT | PACKET_TRUNCATED;
	CHECK_STR_EQ(text(packet_summary, &icmp), "fragment truncated");
	p.ethertype = 0x88cc;
	CHECK_STR_EQ(text(packet_proto, &p), "0x88cc");
	CHECK_STR_EQ(text(src_endpoint, &p), "");
	p.nvlans = 2;
	p.vlan_tci[0] = 0x2000 | 100; /* priority bits are not the id */
	p.vlan_tci[1] = 200;
	CHECK_STR_EQ(text(packet_vlans, &p), "100.200");
}

static const uint8_t frame[] = {
	0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 20,
};

/* Write one frame, read the file back with libpcap: the link type, lengths and bytes. */
static void check_capture(bool cooked, bool vlan, int linktype, const uint8_t *want, size_t n,
			  uint32_t want_len)
{
	char path[] = "/tmp/ebpftrace-unit-XXXXXX", errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_frame_meta m = { .ts_wall_ns = 1500000000123456789ull,
				     .ifindex = 7,
				     .outgoing = true,
				     .vlan = vlan,
				     .vlan_proto = 0x8100,
				     .vlan_tci = 100 };
	struct pcap_pkthdr *h;
	const u_char *data;
	struct pcap_writer *w;
	pcap_t *r;

	close(mkstemp(path));
	w = pcap_writer_open(path, cooked, 128, 0);
	CHECK(w);
	if (!w)
		return;
	pcap_writer_frame(w, frame, sizeof(frame), 60, &m);
	CHECK_INT_EQ(pcap_writer_flush(w), 0);
	pcap_writer_close(w);
	r = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	CHECK(r);
	if (r) {
		CHECK_INT_EQ(pcap_datalink(r), linktype);
		CHECK_INT_EQ(pcap_next_ex(r, &h, &data), 1);
		CHECK_INT_EQ(h->caplen, n);
		CHECK_INT_EQ(h->len, want_len);
		CHECK_INT_EQ(h->ts.tv_usec, 123456789); /* nanoseconds */
		CHECK(!memcmp(data, want, n));
		pcap_close(r);
	}
	unlink(path);
}

TEST(pcap_ethernet_with_tag_put_back)
{
	static const uint8_t tagged[] = {
		0x02, 0,    0,	  0, 0,	  2,	0x02, 0,    0, 0, 0,
		1,    0x81, 0x00, 0, 100, 0x08, 0x00, 0x45, 0, 0, 20,
	};

	check_capture(false, false, DLT_EN10MB, frame, sizeof(frame), 60);
	check_capture(false, true, DLT_EN10MB, tagged, sizeof(tagged), 64);
}

TEST(pcap_cooked_keeps_direction_and_ifindex)
{
	static const uint8_t cooked[] = {
		0x08, 0x00, 0, 0, 0, 0, 0, 7, 0, 1, 4, 6, 0x02, 0, 0, 0, 0, 1, 0, 0, 0x45, 0, 0, 20,
	};

	check_capture(true, false, DLT_LINUX_SLL2, cooked, sizeof(cooked), 66);
}
