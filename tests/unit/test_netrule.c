// SPDX-License-Identifier: GPL-2.0
/* The shared parser of addresses, prefixes, ports, protocols and packet rules. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include "netrule.h"
#include "unit.h"

static char err[NETRULE_ERR_SIZE];

/* The prefix s parsed and formatted back. */
static const char *prefix_text(const char *s)
{
	static char buf[NET_PREFIX_STR_SIZE];
	struct net_prefix p;

	if (!net_parse_prefix(s, &p, err, sizeof(err)))
		return err;
	net_prefix_format(&p, buf, sizeof(buf));
	return buf;
}

/* The endpoint s parsed and formatted back as PREFIX PORTLO-PORTHI. */
static const char *endpoint_text(const char *s)
{
	static char buf[NET_PREFIX_STR_SIZE + 16];
	char prefix[NET_PREFIX_STR_SIZE];
	struct net_prefix p;
	struct port_range r;

	if (!net_parse_endpoint(s, &p, &r, err, sizeof(err)))
		return err;
	net_prefix_format(&p, prefix, sizeof(prefix));
	snprintf(buf, sizeof(buf), "%s %u-%u", prefix, r.lo, r.hi);
	return buf;
}

static bool contains(const char *prefix, const char *addr)
{
	struct net_prefix p, a;

	CHECK(net_parse_prefix(prefix, &p, err, sizeof(err)));
	CHECK(net_parse_prefix(addr, &a, err, sizeof(err)));
	return net_prefix_contains(&p, a.addr);
}

TEST(netrule_prefixes)
{
	CHECK_STR_EQ(prefix_text("198.51.100.7"), "198.51.100.7");
	CHECK_STR_EQ(prefix_text("198.51.100.0/24"), "198.51.100.0/24");
	CHECK_STR_EQ(prefix_text("198.51.100.7/24"), "198.51.100.0/24"); /* host bits cleared */
	CHECK_STR_EQ(prefix_text("0.0.0.0/0"), "0.0.0.0/0");
	CHECK_STR_EQ(prefix_text("2001:db8::1"), "2001:db8::1");
	CHECK_STR_EQ(prefix_text("2001:db8::1/64"), "2001:db8::/64");
	CHECK_STR_EQ(prefix_text("::/0"), "::/0");
	/* An IPv4-mapped address is the IPv4 address. */
	CHECK_STR_EQ(prefix_text("::ffff:198.51.100.7"), "198.51.100.7");
	CHECK_STR_EQ(prefix_text("::ffff:198.51.100.0/120"), "198.51.100.0/24");
}

TEST(netrule_bad_prefixes)
{
	CHECK_STR_EQ(prefix_text("198.51.100.300"),
		     "'198.51.100.300' is not an IPv4 or IPv6 address");
	CHECK_STR_EQ(prefix_text("198.51.100.0/33"),
		     "'198.51.100.0/33': the prefix length must be a number from 0 to 32");
	CHECK_STR_EQ(prefix_text("2001:db8::/129"),
		     "'2001:db8::/129': the prefix length must be a number from 0 to 128");
	CHECK_STR_EQ(prefix_text("198.51.100.0/"),
		     "'198.51.100.0/': the prefix length must be a number from 0 to 32");
	CHECK_STR_EQ(prefix_text("198.51.100.0/-1"),
		     "'198.51.100.0/-1': the prefix length must be a number from 0 to 32");
	CHECK_STR_EQ(prefix_text("/24"), "'/24': an address is missing");
	CHECK_STR_EQ(prefix_text(""), "'': an address is missing");
	CHECK_STR_EQ(prefix_text("example.com"), "'example.com' is not an IPv4 or IPv6 address");
}

TEST(netrule_contains)
{
	CHECK(contains("198.51.100.0/24", "198.51.100.255"));
	CHECK(!contains("198.51.100.0/25", "198.51.100.128"));
	CHECK(contains("198.51.100.7", "198.51.100.7"));
	CHECK(!contains("198.51.100.7", "198.51.100.8"));
	/* An IPv4 rule covers the same address written as IPv4-mapped IPv6. */
	CHECK(contains("198.51.100.0/24", "::ffff:198.51.100.9"));
	CHECK(contains("0.0.0.0/0", "203.0.113.1"));
	CHECK(!contains("0.0.0.0/0", "2001:db8::1"));
	CHECK(contains("::/0", "2001:db8::1"));
	CHECK(contains("::/0", "198.51.100.1"));
	CHECK(contains("2001:db8::/64", "2001:db8::ffff:1"));
	CHECK(!contains("2001:db8::/64", "2001:db8:0:1::1"));
	CHECK(contains("2001:db8::/33", "2001:db8:7fff::1"));
	CHECK(!contains("2001:db8::/33", "2001:db8:8000::1"));
}

TEST(netrule_endpoints)
{
	CHECK_STR_EQ(endpoint_text("198.51.100.7"), "198.51.100.7 0-65535");
	CHECK_STR_EQ(endpoint_text("198.51.100.7:80"), "198.51.100.7 80-80");
	CHECK_STR_EQ(endpoint_text("198.51.100.0/24:8000-8080"), "198.51.100.0/24 8000-8080");
	CHECK_STR_EQ(endpoint_text("2001:db8::1"), "2001:db8::1 0-65535");
	CHECK_STR_EQ(endpoint_text("2001:db8::/64"), "2001:db8::/64 0-65535");
	CHECK_STR_EQ(endpoint_text("[2001:db8::1]:443"), "2001:db8::1 443-443");
	CHECK_STR_EQ(endpoint_text("[2001:db8::/64]:443"), "2001:db8::/64 443-443");
	CHECK_STR_EQ(endpoint_text("[2001:db8::]/64:443"), "2001:db8::/64 443-443");
	CHECK_STR_EQ(endpoint_text("[::1]"), "::1 0-65535");
	CHECK_STR_EQ(endpoint_text("198.51.100.7:65536"),
		     "'65536' is not a port (a number from 1 to 65535)");
	CHECK_STR_EQ(endpoint_text("198.51.100.7:0"),
		     "'0' is not a port (a number from 1 to 65535)");
	CHECK_STR_EQ(endpoint_text("198.51.100.7:"), "'' is not a port (a number from 1 to 65535)");
	CHECK_STR_EQ(endpoint_text("198.51.100.7:90-80"),
		     "'90-80': the range ends before it starts");
	CHECK_STR_EQ(endpoint_text("[2001:db8::1:443"), "'[2001:db8::1:443': '[' without ']'");
	CHECK_STR_EQ(endpoint_text("[198.51.100.7]:80"),
		     "'[198.51.100.7]:80': brackets are for IPv6 addresses");
	CHECK_STR_EQ(endpoint_text("[2001:db8::/64]/64:1"),
		     "'[2001:db8::/64]/64:1': two prefix lengths");
	CHECK_STR_EQ(endpoint_text("[2001:db8::1]x"),
		     "'[2001:db8::1]x': expected ':PORT' after ']'");
}

TEST(netrule_protocols)
{
	char buf[8];
	uint8_t p = 0;

	CHECK(net_parse_proto("tcp", &p, err, sizeof(err)) && p == IPPROTO_TCP);
	CHECK(net_parse_proto("UDP", &p, err, sizeof(err)) && p == IPPROTO_UDP);
	CHECK(net_parse_proto("icmp6", &p, err, sizeof(err)) && p == IPPROTO_ICMPV6);
	CHECK(net_parse_proto("47", &p, err, sizeof(err)) && p == 47);
	CHECK(!net_parse_proto("0", &p, err, sizeof(err)));
	CHECK(!net_parse_proto("256", &p, err, sizeof(err)));
	CHECK(!net_parse_proto("tcpx", &p, err, sizeof(err)));
	CHECK_STR_EQ(err, "'tcpx' is not a protocol (tcp, udp, icmp, icmpv6, sctp or 1-255)");
	CHECK_STR_EQ(net_proto_name(IPPROTO_ICMPV6, buf), "icmpv6");
	CHECK_STR_EQ(net_proto_name(47, buf), "47");
}

static const char *rule_error(const char *s)
{
	struct packet_rule r;

	return net_parse_packet_rule(s, &r, err, sizeof(err)) ? "ok" : err;
}

TEST(netrule_packet_rules)
{
	struct packet_rule r;
	char buf[NET_PREFIX_STR_SIZE];

	CHECK(net_parse_packet_rule("tcp:dport=8080", &r, err, sizeof(err)));
	CHECK_INT_EQ(r.proto, IPPROTO_TCP);
	CHECK(r.dport.lo == 8080 && r.dport.hi == 8080);
	CHECK(port_range_is_any(&r.sport) && port_range_is_any(&r.port));
	CHECK_INT_EQ(r.src.len, 0);

	CHECK(net_parse_packet_rule("udp:src=198.51.100.0/24,port=53-54", &r, err, sizeof(err)));
	CHECK_INT_EQ(r.proto, IPPROTO_UDP);
	net_prefix_format(&r.src, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "198.51.100.0/24");
	CHECK(r.port.lo == 53 && r.port.hi == 54);

	CHECK(net_parse_packet_rule("dst=2001:db8::/64", &r, err, sizeof(err)));
	CHECK_INT_EQ(r.proto, 0);
	net_prefix_format(&r.dst, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "2001:db8::/64");

	CHECK(net_parse_packet_rule("icmp", &r, err, sizeof(err)));
	CHECK_INT_EQ(r.proto, IPPROTO_ICMP);
	CHECK_STR_EQ(rule_error("host=198.51.100.1"), "ok");

	CHECK_STR_EQ(rule_error(""), "an empty rule");
	CHECK_STR_EQ(rule_error("icmp:dport=80"), "'dport=80': only tcp, udp and sctp have ports");
	CHECK_STR_EQ(rule_error("tcp:dport=70000"),
		     "'70000' is not a port (a number from 1 to 65535)");
	CHECK_STR_EQ(rule_error("tcp:to=1"),
		     "'to=1' is not KEY=VALUE with KEY src, dst, host, sport, dport or port");
	CHECK_STR_EQ(rule_error("tcp:"), "'tcp:': an empty KEY=VALUE");
	CHECK_STR_EQ(rule_error("tcp:dport=1,,sport=2"),
		     "'tcp:dport=1,,sport=2': an empty KEY=VALUE");
	CHECK_STR_EQ(rule_error("ftp:dport=21"),
		     "'ftp' is not a protocol (tcp, udp, icmp, icmpv6, sctp or 1-255)");
	CHECK_STR_EQ(rule_error("src=198.51.100.1,dst=2001:db8::1"),
		     "'src=198.51.100.1,dst=2001:db8::1' mixes IPv4 and IPv6 addresses: it could "
		     "never match");
}

TEST(netrule_endpoint_format)
{
	char buf[NET_ENDPOINT_STR_SIZE];
	struct net_prefix p;

	CHECK(net_parse_prefix("198.51.100.7", &p, err, sizeof(err)));
	net_endpoint_format(p.addr, AF_INET, 80, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "198.51.100.7:80");
	/* The same address on an AF_INET6 socket, as the caller wrote it there. */
	net_endpoint_format(p.addr, AF_INET6, 80, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "[::ffff:198.51.100.7]:80");
	net_addr_format_family(p.addr, AF_INET6, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "::ffff:198.51.100.7");
	CHECK(net_parse_prefix("2001:db8::1", &p, err, sizeof(err)));
	net_endpoint_format(p.addr, AF_INET6, 443, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "[2001:db8::1]:443");
}
