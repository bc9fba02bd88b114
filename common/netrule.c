// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "netrule.h"
#include "util.h"

static const struct {
	const char *name;
	uint8_t proto;
} protocols[] = {
	{ "tcp", IPPROTO_TCP },	      { "udp", IPPROTO_UDP },	   { "icmp", IPPROTO_ICMP },
	{ "icmpv6", IPPROTO_ICMPV6 }, { "icmp6", IPPROTO_ICMPV6 }, { "sctp", IPPROTO_SCTP },
};

__attribute__((format(printf, 3, 4))) static bool fail(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return false;
}

void net_addr_from_ipv4(uint32_t be, uint32_t out[4])
{
	out[0] = 0;
	out[1] = 0;
	out[2] = htonl(0xffff);
	out[3] = be;
}

void net_addr_from_ipv6(const uint8_t in[16], uint32_t out[4])
{
	memcpy(out, in, 16);
}

bool net_addr_is_ipv4(const uint32_t addr[4])
{
	return !addr[0] && !addr[1] && addr[2] == htonl(0xffff);
}

static void prefix_set_len(struct net_prefix *p, unsigned int len)
{
	p->len = len;
	for (int i = 0; i < 4; i++) {
		unsigned int bits = len > 32u * i ? len - 32u * i : 0;

		p->mask[i] = bits >= 32 ? 0xffffffffu : htonl(bits ? ~0u << (32 - bits) : 0);
		p->addr[i] &= p->mask[i];
	}
}

void net_prefix_any(struct net_prefix *p)
{
	memset(p, 0, sizeof(*p));
}

void port_range_any(struct port_range *r)
{
	r->lo = 0;
	r->hi = 65535;
}

bool port_range_is_any(const struct port_range *r)
{
	return r->lo == 0 && r->hi == 65535;
}

bool net_prefix_contains(const struct net_prefix *p, const uint32_t addr[4])
{
	for (int i = 0; i < 4; i++)
		if ((addr[i] & p->mask[i]) != p->addr[i])
			return false;
	return true;
}

/* The address part alone, into p->addr; *max_len is 32 for IPv4, 128 for IPv6. */
static bool parse_addr(const char *s, struct net_prefix *p, unsigned int *max_len, char *err,
		       size_t size)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		net_addr_from_ipv4(a4.s_addr, p->addr);
		*max_len = 32;
		return true;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		net_addr_from_ipv6(a6.s6_addr, p->addr);
		*max_len = 128;
		return true;
	}
	return fail(err, size, "'%s' is not an IPv4 or IPv6 address", s);
}

/* "ADDR" or "ADDR/LEN"; host bits beyond LEN are cleared, as iptables and nft do. */
bool net_parse_prefix(const char *s, struct net_prefix *p, char *err, size_t size)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int max_len = 0;
	uint64_t len;

	memset(p, 0, sizeof(*p));
	if (!alen)
		return fail(err, size, "'%s': an address is missing", s);
	if (alen >= sizeof(addr))
		return fail(err, size, "'%.*s' is not an IPv4 or IPv6 address", (int)alen, s);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (!parse_addr(addr, p, &max_len, err, size))
		return false;
	len = max_len;
	if (slash && !parse_u64(slash + 1, 0, max_len, &len))
		return fail(err, size, "'%s': the prefix length must be a number from 0 to %u", s,
			    max_len);
	prefix_set_len(p, len + (128 - max_len));
	return true;
}

static bool parse_port(const char *s, size_t n, uint16_t *port)
{
	char buf[8];
	uint64_t v;

	if (!n || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!parse_u64(buf, 1, 65535, &v))
		return false;
	*port = v;
	return true;
}

bool net_parse_ports(const char *s, struct port_range *r, char *err, size_t size)
{
	const char *dash = strchr(s, '-');

	if (!dash) {
		if (!parse_port(s, strlen(s), &r->lo))
			return fail(err, size, "'%s' is not a port (a number from 1 to 65535)", s);
		r->hi = r->lo;
		return true;
	}
	if (!parse_port(s, dash - s, &r->lo) || !parse_port(dash + 1, strlen(dash + 1), &r->hi))
		return fail(err, size, "'%s' is not a port range (LOW-HIGH, from 1 to 65535)", s);
	if (r->lo > r->hi)
		return fail(err, size, "'%s': the range ends before it starts", s);
	return true;
}

/* "[IPV6]:PORTS", "[IPV6/LEN]:PORTS", "[IPV6]/LEN:PORTS", each port part optional. */
static bool parse_bracketed(const char *s, struct net_prefix *p, struct port_range *r, char *err,
			    size_t size)
{
	const char *close = strchr(s, ']');
	const char *rest, *colon;
	char prefix[INET6_ADDRSTRLEN + 8];
	size_t n;

	if (!close)
		return fail(err, size, "'%s': '[' without ']'", s);
	rest = close + 1;
	colon = strchr(rest, ':');
	n = close - (s + 1);
	if (n >= sizeof(prefix))
		return fail(err, size, "'%s' is not an IPv6 address", s);
	memcpy(prefix, s + 1, n);
	prefix[n] = '\0';
	if (*rest == '/') {
		size_t len_n = colon ? (size_t)(colon - rest) : strlen(rest);

		if (strchr(prefix, '/') || n + len_n >= sizeof(prefix))
			return fail(err, size, "'%s': two prefix lengths", s);
		memcpy(prefix + n, rest, len_n);
		prefix[n + len_n] = '\0';
	} else if (*rest && *rest != ':') {
		return fail(err, size, "'%s': expected ':PORT' after ']'", s);
	}
	if (!net_parse_prefix(prefix, p, err, size))
		return false;
	if (net_addr_is_ipv4(p->addr) && !strchr(prefix, ':'))
		return fail(err, size, "'%s': brackets are for IPv6 addresses", s);
	return colon ? net_parse_ports(colon + 1, r, err, size) : true;
}

bool net_parse_endpoint(const char *s, struct net_prefix *p, struct port_range *r, char *err,
			size_t size)
{
	const char *colon = strchr(s, ':');
	char prefix[INET6_ADDRSTRLEN + 8];
	size_t n;

	port_range_any(r);
	if (*s == '[')
		return parse_bracketed(s, p, r, err, size);
	/* More than one colon: a bare IPv6 address, which cannot carry a port. */
	if (!colon || strchr(colon + 1, ':'))
		return net_parse_prefix(s, p, err, size);
	n = colon - s;
	if (n >= sizeof(prefix))
		return fail(err, size, "'%.*s' is not an IPv4 address", (int)n, s);
	memcpy(prefix, s, n);
	prefix[n] = '\0';
	return net_parse_prefix(prefix, p, err, size) && net_parse_ports(colon + 1, r, err, size);
}

bool net_parse_proto(const char *s, uint8_t *proto, char *err, size_t size)
{
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(protocols); i++) {
		if (!strcasecmp(s, protocols[i].name)) {
			*proto = protocols[i].proto;
			return true;
		}
	}
	if (!parse_u64(s, 1, 255, &v))
		return fail(err, size,
			    "'%s' is not a protocol (tcp, udp, icmp, icmpv6, sctp or 1-255)", s);
	*proto = v;
	return true;
}

const char *net_proto_name(uint8_t proto, char buf[8])
{
	for (size_t i = 0; i < ARRAY_SIZE(protocols); i++)
		if (protocols[i].proto == proto)
			return protocols[i].name;
	snprintf(buf, 8, "%u", proto);
	return buf;
}

static bool has_ports(uint8_t proto)
{
	return !proto || proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/* One KEY=VALUE of a packet rule. */
static bool parse_rule_item(const char *item, struct packet_rule *r, char *err, size_t size)
{
	static const char *const keys[] = { "src", "dst", "host", "sport", "dport", "port" };
	struct net_prefix *prefixes[] = { &r->src, &r->dst, &r->host };
	struct port_range *ports[] = { &r->sport, &r->dport, &r->port };
	const char *eq = strchr(item, '=');
	size_t klen = eq ? (size_t)(eq - item) : 0;

	for (size_t k = 0; eq && k < ARRAY_SIZE(keys); k++) {
		if (strlen(keys[k]) != klen || strncmp(item, keys[k], klen))
			continue;
		if (k < 3)
			return net_parse_prefix(eq + 1, prefixes[k], err, size);
		if (!has_ports(r->proto))
			return fail(err, size, "'%s': only tcp, udp and sctp have ports", item);
		return net_parse_ports(eq + 1, ports[k - 3], err, size);
	}
	return fail(err, size,
		    "'%s' is not KEY=VALUE with KEY src, dst, host, sport, dport or port", item);
}

/* The addresses a rule names must all be of one family, or it could never match. */
static bool one_family(const struct packet_rule *r)
{
	const struct net_prefix *p[] = { &r->src, &r->dst, &r->host };
	int v4 = 0, v6 = 0;

	for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
		if (!p[i]->len)
			continue;
		if (net_addr_is_ipv4(p[i]->addr) && p[i]->len >= 96)
			v4++;
		else
			v6++;
	}
	return !v4 || !v6;
}

bool net_parse_packet_rule(const char *s, struct packet_rule *r, char *err, size_t size)
{
	const char *colon = strchr(s, ':'), *eq = strchr(s, '='), *items = s;
	char buf[256];

	memset(r, 0, sizeof(*r));
	port_range_any(&r->sport);
	port_range_any(&r->dport);
	port_range_any(&r->port);
	if (!*s)
		return fail(err, size, "an empty rule");
	/* A protocol first unless the rule starts with KEY=: "tcp:dport=80", "dport=80". */
	if (!eq || (colon && colon < eq)) {
		size_t n = colon ? (size_t)(colon - s) : strlen(s);

		if (n >= sizeof(buf))
			return fail(err, size, "'%.*s' is not a protocol", (int)n, s);
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (!net_parse_proto(buf, &r->proto, err, size))
			return false;
		if (!colon)
			return true;
		items = colon + 1;
	}
	for (const char *p = items;; p++) {
		size_t n = strcspn(p, ",");

		if (!n)
			return fail(err, size, "'%s': an empty KEY=VALUE", s);
		if (n >= sizeof(buf))
			return fail(err, size, "'%.*s' is too long", (int)n, p);
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (!parse_rule_item(buf, r, err, size))
			return false;
		p += n;
		if (!*p)
			break;
	}
	if (!one_family(r))
		return fail(err, size, "'%s' mixes IPv4 and IPv6 addresses: it could never match",
			    s);
	return true;
}

void net_addr_format(const uint32_t addr[4], char *buf, size_t size)
{
	if (net_addr_is_ipv4(addr))
		inet_ntop(AF_INET, &addr[3], buf, size);
	else
		inet_ntop(AF_INET6, addr, buf, size);
}

void net_addr_format_family(const uint32_t addr[4], int family, char *buf, size_t size)
{
	if (family == AF_INET6)
		inet_ntop(AF_INET6, addr, buf, size);
	else
		net_addr_format(addr, buf, size);
}

void net_endpoint_format(const uint32_t addr[4], int family, uint16_t port, char *buf, size_t size)
{
	char a[NET_PREFIX_STR_SIZE];
	bool v6 = family == AF_INET6 || !net_addr_is_ipv4(addr);

	net_addr_format_family(addr, family, a, sizeof(a));
	snprintf(buf, size, v6 ? "[%s]:%u" : "%s:%u", a, port);
}

void net_prefix_format(const struct net_prefix *p, char *buf, size_t size)
{
	bool v4 = net_addr_is_ipv4(p->addr) && p->len >= 96;
	unsigned int len = v4 ? p->len - 96u : p->len;
	size_t n;

	if (v4)
		inet_ntop(AF_INET, &p->addr[3], buf, size);
	else
		inet_ntop(AF_INET6, p->addr, buf, size);
	n = strlen(buf);
	if (len != (v4 ? 32u : 128u))
		snprintf(buf + n, size - n, "/%u", len);
}

void net_packet_rule_any(struct packet_rule *r)
{
	memset(r, 0, sizeof(*r));
	net_prefix_any(&r->src);
	net_prefix_any(&r->dst);
	net_prefix_any(&r->host);
	port_range_any(&r->sport);
	port_range_any(&r->dport);
	port_range_any(&r->port);
}
