// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include "countmap.h"
#include "flags.h"
#include "metrics.h"
#include "netrule.h"
#include "output.h"
#include "packetfmt.h"
#include "util.h"

#define ETH_P_ARP 0x0806

static const struct flag_name tcp_flags[] = {
	{ 0x02, "SYN" }, { 0x10, "ACK" }, { 0x01, "FIN" }, { 0x04, "RST" },
	{ 0x08, "PSH" }, { 0x20, "URG" }, { 0x40, "ECE" }, { 0x80, "CWR" },
};

struct icmp_name {
	uint8_t type;
	const char *name;
};

static const struct icmp_name icmp4_names[] = {
	{ 0, "echo-reply" },   { 3, "dest-unreachable" }, { 5, "redirect" },
	{ 8, "echo-request" }, { 11, "time-exceeded" },	  { 12, "parameter-problem" },
	{ 13, "timestamp" },   { 14, "timestamp-reply" },
};

static const struct icmp_name icmp6_names[] = {
	{ 1, "dest-unreachable" },	  { 2, "packet-too-big" },
	{ 3, "time-exceeded" },		  { 4, "parameter-problem" },
	{ 128, "echo-request" },	  { 129, "echo-reply" },
	{ 133, "router-solicitation" },	  { 134, "router-advertisement" },
	{ 135, "neighbor-solicitation" }, { 136, "neighbor-advertisement" },
};

bool packet_is_ip(const struct packet_info *p)
{
	return p->ethertype == PACKET_ETH_P_IP || p->ethertype == PACKET_ETH_P_IPV6;
}

void packet_l3(struct strbuf *sb, const struct packet_info *p)
{
	if (p->ethertype == PACKET_ETH_P_IP)
		sb_puts(sb, "ipv4");
	else if (p->ethertype == PACKET_ETH_P_IPV6)
		sb_puts(sb, "ipv6");
	else if (p->ethertype == ETH_P_ARP)
		sb_puts(sb, "arp");
	else
		sb_printf(sb, "0x%04x", p->ethertype);
}

void packet_proto(struct strbuf *sb, const struct packet_info *p)
{
	char buf[8];

	if (packet_is_ip(p))
		sb_puts(sb, net_proto_name(p->proto, buf));
	else
		packet_l3(sb, p);
}

void packet_addr(struct strbuf *sb, const struct packet_info *p, bool dst)
{
	char buf[NET_PREFIX_STR_SIZE];

	if (!packet_is_ip(p))
		return;
	net_addr_format(dst ? p->dst : p->src, buf, sizeof(buf));
	sb_puts(sb, buf);
}

void packet_endpoint(struct strbuf *sb, const struct packet_info *p, bool dst)
{
	bool v6 = p->ethertype == PACKET_ETH_P_IPV6;
	bool port = p->flags & PACKET_HAS_PORTS;

	if (!packet_is_ip(p))
		return;
	if (port && v6)
		sb_putc(sb, '[');
	packet_addr(sb, p, dst);
	if (port)
		sb_printf(sb, "%s:%u", v6 ? "]" : "", dst ? p->dport : p->sport);
}

void packet_tcp_flags(struct strbuf *sb, uint8_t flags)
{
	sb_flags(sb, flags, tcp_flags, ARRAY_SIZE(tcp_flags));
}

void packet_icmp(struct strbuf *sb, const struct packet_info *p)
{
	bool v6 = p->proto == PACKET_IPPROTO_ICMPV6;
	const struct icmp_name *names = v6 ? icmp6_names : icmp4_names;
	size_t n = v6 ? ARRAY_SIZE(icmp6_names) : ARRAY_SIZE(icmp4_names);

	for (size_t i = 0; i < n; i++) {
		if (names[i].type == p->icmp_type) {
			sb_puts(sb, names[i].name);
			if (p->icmp_code)
				sb_printf(sb, " code %u", p->icmp_code);
			return;
		}
	}
	sb_printf(sb, "type %u code %u", p->icmp_type, p->icmp_code);
}

void packet_summary(struct strbuf *sb, const struct packet_info *p)
{
	size_t start = sb->len;

	if (p->proto == PACKET_IPPROTO_TCP && (p->flags & PACKET_HAS_PORTS))
		packet_tcp_flags(sb, p->tcp_flags);
	else if (p->flags & PACKET_HAS_ICMP)
		packet_icmp(sb, p);
	if (p->flags & PACKET_FRAGMENT)
		sb_puts(sb, "fragment");
	if (p->flags & PACKET_TRUNCATED)
		sb_puts(sb, sb->len > start ? " truncated" : "truncated");
}

void packet_vlans(struct strbuf *sb, const struct packet_info *p)
{
	for (int i = 0; i < p->nvlans && i < PACKET_MAX_VLANS; i++)
		sb_printf(sb, "%s%u", i ? "." : "", p->vlan_tci[i] & 0xfff);
}

enum {
	F_IFACE,
	F_DIR,
	F_L3,
	F_PROTO,
	F_SRC,
	F_SPORT,
	F_DST,
	F_DPORT,
	F_LEN,
	F_TTL,
	F_VLAN,
	F_VLAN_INNER,
	F_TCP_FLAGS,
	F_ICMP_TYPE,
	F_ICMP_CODE,
	F_FRAGMENT,
	F_TRUNCATED,
	F_DROPPED,
	F_RULE,
	F_INFO,
};

/* In tables SRC and DST carry the port too, and INFO what JSON has as keys of its own. */
static const struct out_field fields[] = {
	[F_IFACE] = { "ifname", "IFACE", -10 },
	[F_DIR] = { "direction", "DIR", -7 },
	[F_L3] = { "l3", NULL, 0 },
	[F_PROTO] = { "proto", "PROTO", -6 },
	[F_SRC] = { "src", "SRC", -30 },
	[F_SPORT] = { "sport", NULL, 0 },
	[F_DST] = { "dst", "DST", -30 },
	[F_DPORT] = { "dport", NULL, 0 },
	[F_LEN] = { "len", "LEN", 6 },
	[F_TTL] = { "ttl", "TTL", 4 },
	[F_VLAN] = { "vlan", "VLAN", -8 },
	[F_VLAN_INNER] = { "vlan_inner", NULL, 0 },
	[F_TCP_FLAGS] = { "tcp_flags", NULL, 0 },
	[F_ICMP_TYPE] = { "icmp_type", NULL, 0 },
	[F_ICMP_CODE] = { "icmp_code", NULL, 0 },
	[F_FRAGMENT] = { "fragment", NULL, 0 },
	[F_TRUNCATED] = { "truncated", NULL, 0 },
	[F_DROPPED] = { "dropped", NULL, 0 },
	[F_RULE] = { "rule", NULL, 0 },
	[F_INFO] = { "info", "INFO", 0 },
};

static struct strbuf cell;

/* The cell built in `cell`, or none when it stayed empty. */
static void put_cell(const struct out_field *f)
{
	if (cell.len)
		out_str(f, cell.buf, cell.len);
	else
		out_none(f);
	cell.len = 0;
}

static void print_json_details(const struct packet_view *v, const struct packet_info *p)
{
	packet_l3(&cell, p);
	put_cell(&fields[F_L3]);
	if (p->flags & PACKET_HAS_PORTS) {
		out_u64(&fields[F_SPORT], p->sport);
		out_u64(&fields[F_DPORT], p->dport);
	}
	if (p->nvlans)
		out_u64(&fields[F_VLAN], p->vlan_tci[0] & 0xfff);
	if (p->nvlans > 1)
		out_u64(&fields[F_VLAN_INNER], p->vlan_tci[1] & 0xfff);
	if (p->proto == PACKET_IPPROTO_TCP && (p->flags & PACKET_HAS_PORTS)) {
		packet_tcp_flags(&cell, p->tcp_flags);
		put_cell(&fields[F_TCP_FLAGS]);
	}
	if (p->flags & PACKET_HAS_ICMP) {
		out_u64(&fields[F_ICMP_TYPE], p->icmp_type);
		out_u64(&fields[F_ICMP_CODE], p->icmp_code);
	}
	if (p->flags & PACKET_FRAGMENT)
		out_bool(&fields[F_FRAGMENT], true);
	if (p->flags & PACKET_TRUNCATED)
		out_bool(&fields[F_TRUNCATED], true);
	if (v->drop_rule) {
		out_bool(&fields[F_DROPPED], true);
		out_str(&fields[F_RULE], v->drop_rule, SIZE_MAX);
	}
}

static void print_table_details(const struct packet_view *v, const struct packet_info *p)
{
	packet_vlans(&cell, p);
	put_cell(&fields[F_VLAN]);
	packet_summary(&cell, p);
	if (v->drop_rule)
		sb_printf(&cell, "%sDROPPED by %s", cell.len ? " " : "", v->drop_rule);
	put_cell(&fields[F_INFO]);
}

void packet_header(void)
{
	out_header(fields, ARRAY_SIZE(fields));
}

void packet_print(const struct packet_view *v)
{
	const struct packet_info *p = v->pkt;
	bool json = out_json();

	out_row_begin("packet", v->ts_mono_ns);
	out_str(&fields[F_IFACE], v->ifname, SIZE_MAX);
	out_str(&fields[F_DIR], v->direction, SIZE_MAX);
	packet_proto(&cell, p);
	put_cell(&fields[F_PROTO]);
	(json ? packet_addr : packet_endpoint)(&cell, p, false);
	put_cell(&fields[F_SRC]);
	(json ? packet_addr : packet_endpoint)(&cell, p, true);
	put_cell(&fields[F_DST]);
	out_u64(&fields[F_LEN], v->len);
	if (packet_is_ip(p))
		out_u64(&fields[F_TTL], p->ttl);
	else
		out_none(&fields[F_TTL]);
	(json ? print_json_details : print_table_details)(v, p);
	out_row_end();
}

enum { C_DIR, C_L3, C_PROTO, C_SRC, C_SPORT, C_DST, C_DPORT, C_PACKETS, C_BYTES };

static const struct out_field count_fields[] = {
	[C_DIR] = { "direction", "DIR", -7 }, [C_L3] = { "l3", NULL, 0 },
	[C_PROTO] = { "proto", "PROTO", -6 }, [C_SRC] = { "src", "SRC", -30 },
	[C_SPORT] = { "sport", NULL, 0 },     [C_DST] = { "dst", "DST", -30 },
	[C_DPORT] = { "dport", NULL, 0 },     [C_PACKETS] = { "packets", "PACKETS", 10 },
	[C_BYTES] = { "bytes", "BYTES", 0 },
};

static bool proto_has_ports(uint8_t proto)
{
	return proto == PACKET_IPPROTO_TCP || proto == PACKET_IPPROTO_UDP ||
	       proto == PACKET_IPPROTO_SCTP;
}

static void print_count(const char *type, const char *dir, const struct packet_info *p, bool flow,
			const struct count_row *r)
{
	bool json = out_json();

	out_row_begin(type, 0);
	out_str(&count_fields[C_DIR], dir, SIZE_MAX);
	packet_l3(&cell, p);
	put_cell(&count_fields[C_L3]);
	packet_proto(&cell, p);
	put_cell(&count_fields[C_PROTO]);
	if (flow) {
		(json ? packet_addr : packet_endpoint)(&cell, p, false);
		put_cell(&count_fields[C_SRC]);
		if (json && (p->flags & PACKET_HAS_PORTS))
			out_u64(&count_fields[C_SPORT], p->sport);
		(json ? packet_addr : packet_endpoint)(&cell, p, true);
		put_cell(&count_fields[C_DST]);
		if (json && (p->flags & PACKET_HAS_PORTS))
			out_u64(&count_fields[C_DPORT], p->dport);
	}
	out_u64(&count_fields[C_PACKETS], r->packets);
	out_u64(&count_fields[C_BYTES], r->bytes);
	out_row_end();
}

/* Header lines for the two kinds of rows: the protocol rows have no addresses. */
static void count_header(bool flow)
{
	struct out_field f[ARRAY_SIZE(count_fields)];

	memcpy(f, count_fields, sizeof(f));
	if (!flow)
		f[C_SRC].header = f[C_DST].header = NULL;
	out_header(f, ARRAY_SIZE(f));
}

static void protos_print(const struct count_table *t, const char *const *dir_names, size_t ndirs)
{
	count_header(false);
	for (size_t i = 0; i < t->n; i++) {
		const struct packet_proto_key *k = t->rows[i].key;
		struct packet_info p = { .ethertype = k->ethertype, .proto = k->proto };

		print_count("proto", k->dir < ndirs ? dir_names[k->dir] : "?", &p, false,
			    &t->rows[i]);
	}
}

static void flows_print(const struct count_table *t, size_t top, const char *const *dir_names,
			size_t ndirs)
{
	count_header(true);
	for (size_t i = 0; i < t->n && i < top; i++) {
		const struct packet_flow_key *k = t->rows[i].key;
		struct packet_info p = { .ethertype = k->ethertype,
					 .proto = k->proto,
					 .sport = k->sport,
					 .dport = k->dport };

		memcpy(p.src, k->src, sizeof(p.src));
		memcpy(p.dst, k->dst, sizeof(p.dst));
		if (proto_has_ports(k->proto))
			p.flags |= PACKET_HAS_PORTS;
		print_count("flow", k->dir < ndirs ? dir_names[k->dir] : "?", &p, true,
			    &t->rows[i]);
	}
}

int packet_stats_print(int protos_fd, int flows_fd, size_t top, const char *const *dir_names,
		       size_t ndirs)
{
	static unsigned int reports;
	struct count_table protos, flows;
	char now[16];
	int err = count_table_read(protos_fd, sizeof(struct packet_proto_key), &protos);

	if (err)
		return err;
	err = count_table_read(flows_fd, sizeof(struct packet_flow_key), &flows);
	if (err) {
		count_table_free(&protos);
		return err;
	}
	if (!out_json()) {
		format_local_time(wall_now_ns(), now, sizeof(now));
		out_printf("%s%s\n", reports++ ? "\n" : "", now);
	}
	protos_print(&protos, dir_names, ndirs);
	if (top)
		flows_print(&flows, top, dir_names, ndirs);
	count_table_free(&protos);
	count_table_free(&flows);
	return 0;
}

static const struct out_field rule_fields[] = {
	{ "rule", "RULE", -30 },
	{ "packets", "PACKETS", 0 },
};

void rule_counts_print(const char *type, const char *opt, const char *done,
		       const char *const *rules, size_t n, int map_fd, bool rows)
{
	if (rows && n)
		out_header(rule_fields, ARRAY_SIZE(rule_fields));
	for (size_t i = 0; i < n; i++) {
		uint64_t count = percpu_u64_sum(map_fd, i);

		if (!rows) {
			fprintf(stderr, "%s: %s %s: %llu packets %s\n", prog_name, opt, rules[i],
				(unsigned long long)count, done);
			continue;
		}
		out_row_begin(type, 0);
		out_str(&rule_fields[0], rules[i], SIZE_MAX);
		out_u64(&rule_fields[1], count);
		out_row_end();
	}
}

struct dir_names {
	const char *const *names;
	size_t n;
};

static bool proto_labels(void *ctx, const void *key, char (*values)[METRIC_LABEL_SIZE])
{
	const struct dir_names *d = ctx;
	const struct packet_proto_key *k = key;
	struct packet_info p = { .ethertype = k->ethertype, .proto = k->proto };
	struct strbuf sb = {};

	packet_proto(&sb, &p);
	snprintf(values[0], METRIC_LABEL_SIZE, "%s", k->dir < d->n ? d->names[k->dir] : "?");
	snprintf(values[1], METRIC_LABEL_SIZE, "%.*s", (int)sb.len, sb.buf ?: "");
	sb_free(&sb);
	return true;
}

void packet_metrics_watch(struct metric_family *packets, struct metric_family *bytes, int protos_fd,
			  const char *const *dir_names, size_t ndirs)
{
	static struct dir_names dirs;
	static struct metrics_count_map maps[2];

	dirs = (struct dir_names){ dir_names, ndirs };
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		maps[i] = (struct metrics_count_map){
			.family = i ? bytes : packets,
			.fd = protos_fd,
			.column = i, /* struct packet_counter */
			.labels = proto_labels,
			.ctx = &dirs,
		};
		metrics_watch_count_map(&maps[i]);
	}
}

struct rule_texts {
	const char *const *rules;
	size_t n;
};

static bool rule_labels(void *ctx, const void *key, char (*values)[METRIC_LABEL_SIZE])
{
	const struct rule_texts *r = ctx;
	uint32_t i;

	memcpy(&i, key, sizeof(i));
	if (i >= r->n)
		return false;
	snprintf(values[0], METRIC_LABEL_SIZE, "%s", r->rules[i]);
	return true;
}

void rule_counts_watch(struct metric_family *f, const char *const *rules, size_t n, int map_fd)
{
	static struct rule_texts texts;
	static struct metrics_count_map map;

	texts = (struct rule_texts){ rules, n };
	map = (struct metrics_count_map){
		.family = f, .fd = map_fd, .labels = rule_labels, .ctx = &texts
	};
	metrics_watch_count_map(&map);
}
