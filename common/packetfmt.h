/* SPDX-License-Identifier: GPL-2.0 */
/* The headers bpf/packet.bpf.h read (struct packet_info) as text, for tables and JSON. */
#ifndef EBPFTRACE_PACKETFMT_H
#define EBPFTRACE_PACKETFMT_H

#include <stdbool.h>
#include <stdint.h>
#include "countmap.h"
#include "packet.h"
#include "strbuf.h"

bool packet_is_ip(const struct packet_info *p);
/* "ipv4", "ipv6", "arp", or the ethertype as 0x88cc. */
void packet_l3(struct strbuf *sb, const struct packet_info *p);
/* IP: "tcp", "udp", ... or the number; others: as packet_l3(). */
void packet_proto(struct strbuf *sb, const struct packet_info *p);
/* The source (or destination) address; nothing for packets that are not IP. */
void packet_addr(struct strbuf *sb, const struct packet_info *p, bool dst);
/* The address and port, as 198.51.100.1:80 or [2001:db8::1]:80 (no port: the address alone). */
void packet_endpoint(struct strbuf *sb, const struct packet_info *p, bool dst);
/* "SYN|ACK"; nothing for no flags. */
void packet_tcp_flags(struct strbuf *sb, uint8_t flags);
/* "echo-request", or "type 5 code 1" for types without a name here. */
void packet_icmp(struct strbuf *sb, const struct packet_info *p);
/* What a log line says after the addresses: TCP flags, ICMP type, "fragment", "truncated". */
void packet_summary(struct strbuf *sb, const struct packet_info *p);
/* VLAN ids, outer first: "100" or "100.200"; nothing without tags. */
void packet_vlans(struct strbuf *sb, const struct packet_info *p);

/* One packet as a row of output (a table line or a JSON object of type "packet"). */
struct packet_view {
	uint64_t ts_mono_ns;
	const char *ifname;
	const char *direction; /* "ingress", "egress" */
	uint32_t len;	       /* of the frame */
	const struct packet_info *pkt;
	const char *drop_rule; /* the rule that dropped it; NULL: not dropped */
};

void packet_header(void);
void packet_print(const struct packet_view *v);

/*
 * A report of counters: the maps keyed by struct packet_proto_key (rows of type "proto") and
 * struct packet_flow_key (type "flow", the top ones by bytes; none for top 0), after a line with
 * the time in tables. dir_names name the keys' dir. 0 or a negative errno.
 */
int packet_stats_print(int protos_fd, int flows_fd, size_t top, const char *const *dir_names,
		       size_t ndirs);

/*
 * Per-rule counters from a per-CPU array of u64 (one per rule, in order): rows of type type
 * (keys rule, packets) on stdout, or else lines "OPT RULE: N packets DONE" on stderr.
 */
void rule_counts_print(const char *type, const char *opt, const char *done,
		       const char *const *rules, size_t n, int map_fd, bool rows);

/*
 * --metrics: the counters of the map packet_stats_print() reads as protos, served at each scrape
 * as the counter families packets and bytes, labelled direction (dir_names) and protocol (as the
 * "proto" rows name it). Once per run; the names must outlive it.
 */
struct metric_family;
void packet_metrics_watch(struct metric_family *packets, struct metric_family *bytes, int protos_fd,
			  const char *const *dir_names, size_t ndirs);
/* --metrics: the counters rule_counts_print() reads, as family f labelled rule. Once per run. */
void rule_counts_watch(struct metric_family *f, const char *const *rules, size_t n, int map_fd);

#endif
