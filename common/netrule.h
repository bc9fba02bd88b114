/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one parser for addresses, prefixes, ports and protocols, shared by every subcommand that
 * takes network rules (see bpf/net_match.h for the records). Each function returns false on bad
 * input and writes one line saying why into err (without a newline), for the caller to prefix
 * with the option or FILE:LINE.
 *
 *   prefix    198.51.100.7  198.51.100.0/24  2001:db8::1  2001:db8::/64  ::ffff:198.51.100.7
 *   ports     80  8000-8080
 *   endpoint  PREFIX  PREFIX:PORTS for IPv4, [IPV6]:PORTS or [IPV6/LEN]:PORTS or [IPV6]/LEN:PORTS
 *   proto     tcp udp icmp icmpv6 (icmp6) sctp, or a number from 1 to 255
 *   packet    [PROTO][:KEY=VALUE[,KEY=VALUE...]], KEY one of src dst host (a prefix) and
 *             sport dport port (ports); host and port match either side: tcp:dport=8080,
 *             udp:src=198.51.100.0/24,dport=53, icmp, dst=2001:db8::/64
 */
#ifndef EBPFTRACE_COMMON_NETRULE_H
#define EBPFTRACE_COMMON_NETRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net_match.h"

#define NETRULE_ERR_SIZE 160
/* Longest text net_prefix_format() writes, with its NUL. */
#define NET_PREFIX_STR_SIZE 48

bool net_parse_prefix(const char *s, struct net_prefix *p, char *err, size_t errsize);
bool net_parse_ports(const char *s, struct port_range *r, char *err, size_t errsize);
/* A prefix with an optional port part; no port part is any port. */
bool net_parse_endpoint(const char *s, struct net_prefix *p, struct port_range *r, char *err,
			size_t errsize);
bool net_parse_proto(const char *s, uint8_t *proto, char *err, size_t errsize);
bool net_parse_packet_rule(const char *s, struct packet_rule *r, char *err, size_t errsize);

/* The prefix that matches every address, and the range that matches every port. */
void net_prefix_any(struct net_prefix *p);
void port_range_any(struct port_range *r);
bool port_range_is_any(const struct port_range *r);
/* The rule every packet matches, to fill in field by field (tc's --proto, --host, --port). */
void net_packet_rule_any(struct packet_rule *r);

/* An IPv4 address (network byte order) or a 16-byte IPv6 one, as net_prefix keeps addresses. */
void net_addr_from_ipv4(uint32_t be, uint32_t out[4]);
void net_addr_from_ipv6(const uint8_t in[16], uint32_t out[4]);
bool net_addr_is_ipv4(const uint32_t addr[4]);
bool net_prefix_contains(const struct net_prefix *p, const uint32_t addr[4]);

/*
 * "198.51.100.0/24", "2001:db8::/64", a single address without its /32 or /128; an IPv4
 * prefix as IPv4. buf holds NET_PREFIX_STR_SIZE bytes.
 */
void net_addr_format(const uint32_t addr[4], char *buf, size_t size);
void net_prefix_format(const struct net_prefix *p, char *buf, size_t size);
/*
 * An address as a socket of that family (AF_INET, AF_INET6) holds it: on AF_INET6 always as IPv6
 * (::ffff:198.51.100.7); and as a destination, ADDR:PORT or [ADDR]:PORT. buf holds
 * NET_ENDPOINT_STR_SIZE bytes.
 */
#define NET_ENDPOINT_STR_SIZE (NET_PREFIX_STR_SIZE + 8)
void net_addr_format_family(const uint32_t addr[4], int family, char *buf, size_t size);
void net_endpoint_format(const uint32_t addr[4], int family, uint16_t port, char *buf, size_t size);
/* "tcp", "udp", ... or the number. */
const char *net_proto_name(uint8_t proto, char buf[8]);

#endif
