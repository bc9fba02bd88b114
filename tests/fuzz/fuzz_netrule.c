// SPDX-License-Identifier: GPL-2.0
/*
 * Addresses, prefixes, ports, endpoints, protocols and packet rules (common/netrule.c), as
 * lsm-block --deny-connect, tc --host/--port/--proto/--drop and tcpstates take them. The first
 * byte picks the parser, the rest is the text. Properties: a refusal says why in one line; an
 * accepted prefix has no host bits, prints back as text that parses to the same prefix; port
 * ranges are within 1-65535 and ordered; a protocol's name parses back to it.
 */
#include "fuzz.h"
#include "netrule.h"

/* A refusal says why (the message layer, common/util.c, keeps it on one line). */
static void check_err(bool ok, const char *err)
{
	if (!ok)
		FUZZ_ASSERT(err[0] != '\0' && strlen(err) < NETRULE_ERR_SIZE);
}

static void check_prefix(const struct net_prefix *p)
{
	struct net_prefix again;
	char text[NET_PREFIX_STR_SIZE], err[NETRULE_ERR_SIZE];

	FUZZ_ASSERT(p->len <= 128);
	for (int i = 0; i < 4; i++)
		FUZZ_ASSERT((p->addr[i] & ~p->mask[i]) == 0);
	net_prefix_format(p, text, sizeof(text));
	FUZZ_ASSERT(net_parse_prefix(text, &again, err, sizeof(err)));
	FUZZ_ASSERT(!memcmp(&again, p, sizeof(again)));
	FUZZ_ASSERT(net_prefix_contains(p, p->addr));
}

static void check_ports(const struct port_range *r)
{
	FUZZ_ASSERT(r->lo <= r->hi);
	FUZZ_ASSERT(r->lo >= 1 || port_range_is_any(r));
}

static void check_proto(uint8_t proto)
{
	char buf[8], err[NETRULE_ERR_SIZE];
	uint8_t again;

	FUZZ_ASSERT(proto >= 1);
	FUZZ_ASSERT(net_parse_proto(net_proto_name(proto, buf), &again, err, sizeof(err)));
	FUZZ_ASSERT(again == proto);
}

static void check_packet_rule(const struct packet_rule *r)
{
	const struct port_range *ports[] = { &r->sport, &r->dport, &r->port };
	bool any_ports = true;

	if (r->proto)
		check_proto(r->proto);
	check_prefix(&r->src);
	check_prefix(&r->dst);
	check_prefix(&r->host);
	for (size_t i = 0; i < 3; i++) {
		check_ports(ports[i]);
		any_ports = any_ports && port_range_is_any(ports[i]);
	}
	if (r->proto == 1 || r->proto == 58) /* icmp, icmpv6: no ports */
		FUZZ_ASSERT(any_ports);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NETRULE_ERR_SIZE] = "";
	struct packet_rule rule;
	struct net_prefix p;
	struct port_range r;
	uint8_t proto;
	char *s;
	bool ok;

	if (!size)
		return 0;
	s = fuzz_string(data + 1, size - 1);
	switch (data[0] % 5) {
	case 0:
		ok = net_parse_prefix(s, &p, err, sizeof(err));
		if (ok)
			check_prefix(&p);
		break;
	case 1:
		ok = net_parse_ports(s, &r, err, sizeof(err));
		if (ok)
			check_ports(&r);
		break;
	case 2:
		ok = net_parse_endpoint(s, &p, &r, err, sizeof(err));
		if (ok) {
			check_prefix(&p);
			check_ports(&r);
		}
		break;
	case 3:
		ok = net_parse_proto(s, &proto, err, sizeof(err));
		if (ok)
			check_proto(proto);
		break;
	default:
		ok = net_parse_packet_rule(s, &rule, err, sizeof(err));
		if (ok)
			check_packet_rule(&rule);
		break;
	}
	check_err(ok, err);
	free(s);
	return 0;
}
