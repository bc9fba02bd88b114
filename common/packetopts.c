// SPDX-License-Identifier: GPL-2.0
#include "packetopts.h"
#include "util.h"

/* Between the common options' keys (0x1000...) and the subcommands' (OPT_SUB, 0x2000...). */
enum {
	OPT_PROTO = 0x1800,
	OPT_HOST,
	OPT_PORT,
	OPT_DROP,
};

struct packet_opts packet_opts;

static const struct argp_option options[] = {
	{ "drop", OPT_DROP, "RULE", 0,
	  "Drop packets matching RULE, [PROTO][:KEY=VALUE,...] (repeatable)", 0 },
	{ "proto", OPT_PROTO, "PROTO", 0, "Only packets of this protocol (tcp, udp, icmp...)", 0 },
	{ "host", OPT_HOST, "PREFIX", 0, "Only packets from or to this address or network", 0 },
	{ "port", OPT_PORT, "PORTS", 0, "Only packets from or to this port or range", 0 },
	{},
};

static void set_filter(int key, const char *opt, const char *arg)
{
	struct packet_rule *r = &packet_opts.filter;
	char err[NETRULE_ERR_SIZE];
	bool ok = key == OPT_PROTO  ? net_parse_proto(arg, &r->proto, err, sizeof(err))
		  : key == OPT_HOST ? net_parse_prefix(arg, &r->host, err, sizeof(err))
				    : net_parse_ports(arg, &r->port, err, sizeof(err));

	if (!ok)
		usage_error("invalid %s '%s': %s", opt, arg, err);
	packet_opts.filtered = true;
}

static void add_drop_rule(const char *arg)
{
	struct packet_opts *o = &packet_opts;
	char err[NETRULE_ERR_SIZE];

	if (o->n_rules == PACKET_MAX_RULES)
		usage_error("too many --drop rules: at most %d", PACKET_MAX_RULES);
	if (!net_parse_packet_rule(arg, &o->drop[o->n_rules], err, sizeof(err)))
		usage_error("invalid --drop '%s': %s", arg, err);
	o->rules[o->n_rules++] = arg;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case ARGP_KEY_INIT:
		net_packet_rule_any(&packet_opts.filter);
		break;
	case OPT_PROTO:
		set_filter(key, "--proto", arg);
		break;
	case OPT_HOST:
		set_filter(key, "--host", arg);
		break;
	case OPT_PORT:
		set_filter(key, "--port", arg);
		break;
	case OPT_DROP:
		add_drop_rule(arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp packet_argp = { .options = options, .parser = parse_opt };
