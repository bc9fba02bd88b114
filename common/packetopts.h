/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The options of a subcommand that sees whole packets: a filter (--proto, --host, --port: one
 * rule, which the BPF side matches like a --drop rule) and --drop rules, [PROTO][:KEY=VALUE,...].
 * A child parser: put PACKET_ARGP_CHILD before the common options in the subcommand's children.
 */
#ifndef EBPFTRACE_PACKETOPTS_H
#define EBPFTRACE_PACKETOPTS_H

#include <argp.h>
#include <stdbool.h>
#include "netrule.h"
#include "packet.h"

struct packet_opts {
	struct packet_rule filter; /* matches every packet unless filtered */
	bool filtered;
	struct packet_rule drop[PACKET_MAX_RULES];
	const char *rules[PACKET_MAX_RULES]; /* the --drop rules as given */
	unsigned int n_rules;
};

extern struct packet_opts packet_opts;
extern const struct argp packet_argp;

#define PACKET_ARGP_CHILD                                      \
	{                                                      \
		&packet_argp, 0, "Packet filter and rules:", 0 \
	}

#endif
