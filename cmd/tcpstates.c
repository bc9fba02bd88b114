// SPDX-License-Identifier: GPL-2.0
/* ebpftrace tcpstates: every TCP state change, with both ends and the time in the old state. */
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "tcpstates.h"
#include "tcpstates.skel.h"
#include "cmds.h"
#include "metrics.h"
#include "netrule.h"
#include "opts.h"
#include "tool.h"
#include "util.h"

enum { OPT_DPORT = OPT_SUB, OPT_SADDR, OPT_DADDR };

static struct tcpstates_cfg cfg;

static const struct argp_option options[] = {
	{ "ipv4", '4', NULL, 0, "Only IPv4 sockets (with -6: both)", 0 },
	{ "ipv6", '6', NULL, 0, "Only IPv6 sockets (IPv4-mapped peers included)", 0 },
	{ "lport", 'L', "PORTS", 0, "Only these local ports (80, or a range 8000-8080)", 0 },
	{ "dport", OPT_DPORT, "PORTS", 0, "Only these remote ports", 0 },
	{ "saddr", OPT_SADDR, "PREFIX", 0, "Only these local addresses (198.51.100.0/24, ::1)", 0 },
	{ "daddr", OPT_DADDR, "PREFIX", 0, "Only these remote addresses", 0 },
	{},
};

static void opt_ports(const char *opt, const char *arg, struct port_range *r)
{
	char err[NETRULE_ERR_SIZE];

	if (!net_parse_ports(arg, r, err, sizeof(err)))
		usage_error("invalid %s '%s': %s", opt, arg, err);
}

static void opt_prefix(const char *opt, const char *arg, struct net_prefix *p)
{
	char err[NETRULE_ERR_SIZE];

	if (!net_parse_prefix(arg, p, err, sizeof(err)))
		usage_error("invalid %s '%s': %s", opt, arg, err);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case '4':
		cfg.families |= TCPSTATES_IPV4;
		break;
	case '6':
		cfg.families |= TCPSTATES_IPV6;
		break;
	case 'L':
		opt_ports("--lport", arg, &cfg.lport);
		break;
	case OPT_DPORT:
		opt_ports("--dport", arg, &cfg.dport);
		break;
	case OPT_SADDR:
		opt_prefix("--saddr", arg, &cfg.saddr);
		break;
	case OPT_DADDR:
		opt_prefix("--daddr", arg, &cfg.daddr);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

enum {
	F_PID,
	F_TID,
	F_COMM,
	F_SKADDR,
	F_IP,
	F_SADDR,
	F_LPORT,
	F_DADDR,
	F_DPORT,
	F_OLD,
	F_NEW,
	F_MS
};

static const struct out_field fields[] = {
	[F_PID] = { "pid", "PID", 7 },
	[F_TID] = { "tid", NULL, 0 },
	[F_COMM] = { "comm", "COMM", -16 },
	[F_SKADDR] = { "skaddr", "SKADDR", -18 },
	[F_IP] = { "ip", "IP", 2 },
	[F_SADDR] = { "saddr", "SADDR", -23 },
	[F_LPORT] = { "lport", "LPORT", 5 },
	[F_DADDR] = { "daddr", "DADDR", -23 },
	[F_DPORT] = { "dport", "DPORT", 5 },
	[F_OLD] = { "oldstate", "OLDSTATE", -11 },
	[F_NEW] = { "newstate", "NEWSTATE", -11 },
	[F_MS] = { "old_state_ms", "MS", 0 },
};

/* include/net/tcp_states.h */
static const char *const state_names[] = {
	[1] = "ESTABLISHED",	 [2] = "SYN_SENT",  [3] = "SYN_RECV", [4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2",	 [6] = "TIME_WAIT", [7] = "CLOSE",    [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK",	 [10] = "LISTEN",   [11] = "CLOSING", [12] = "NEW_SYN_RECV",
	[13] = "BOUND_INACTIVE",
};

/* The kernel's name of a state, or its number. */
static const char *state_name(__u8 state, char *num, size_t size)
{
	if (state < ARRAY_SIZE(state_names) && state_names[state])
		return state_names[state];
	snprintf(num, size, "%u", state);
	return num;
}

static void out_state(const struct out_field *f, __u8 state)
{
	char num[8];

	out_str(f, state_name(state, num, sizeof(num)), SIZE_MAX);
}

static struct metric_family transitions =
	METRIC_FAMILY(METRIC_COUNTER, "ebpftrace_tcpstates_transitions_total",
		      "TCP state changes, by old and new state", "oldstate", "newstate");
static struct metric_family durations = METRIC_HISTOGRAM_FAMILY(
	"ebpftrace_tcpstates_state_duration_seconds",
	"How long sockets stayed in a state before leaving it, by state", 1000, "state");

static void count_change(const struct tcpstates_event *e)
{
	char old_num[8], new_num[8];
	const char *old = state_name(e->oldstate, old_num, sizeof(old_num));

	metrics_add(&transitions,
		    METRIC_VALUES(old, state_name(e->newstate, new_num, sizeof(new_num))), 1);
	if (e->delta_ns)
		metrics_observe(&durations, METRIC_VALUES(old), e->delta_ns);
}

static void out_addr(const struct out_field *f, const __u32 addr[4])
{
	char text[NET_PREFIX_STR_SIZE];

	net_addr_format(addr, text, sizeof(text));
	out_str(f, text, sizeof(text));
}

static int handle_event(void *ctx, const void *data, size_t size)
{
	const struct tcpstates_event *e = data;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	count_change(e);
	out_row_begin("tcpstates", e->ts_ns);
	out_u64(&fields[F_PID], e->pid);
	out_u64(&fields[F_TID], e->tid);
	out_str(&fields[F_COMM], e->comm, sizeof(e->comm));
	out_hex(&fields[F_SKADDR], e->skaddr);
	out_u64(&fields[F_IP], e->family == 10 /* AF_INET6 */ ? 6 : 4);
	out_addr(&fields[F_SADDR], e->saddr);
	out_u64(&fields[F_LPORT], e->lport);
	out_addr(&fields[F_DADDR], e->daddr);
	out_u64(&fields[F_DPORT], e->dport);
	out_state(&fields[F_OLD], e->oldstate);
	out_state(&fields[F_NEW], e->newstate);
	if (e->delta_ns)
		out_fixed(&fields[F_MS], e->delta_ns / 1000, 3);
	else
		out_none(&fields[F_MS]);
	out_row_end();
	return 0;
}

static int configure(void *skel, enum attach_method m, const char **step)
{
	struct tcpstates_bpf *obj = skel;

	(void)m;
	(void)step;
	obj->rodata->tcpstates_cfg = cfg;
	return 0;
}

TOOL_SKELETON_FNS(tcpstates)

/* The same tracepoint both ways: tp_btf detaches at once, its perf event after a grace period. */
static const struct attach_candidate candidates[] = {
	{ METHOD_TP_BTF, "inet_sock_set_state" },
	{ METHOD_TRACEPOINT, "sock:inet_sock_set_state" },
};

int cmd_tcpstates(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.doc = "Trace TCP state changes: both ends, old and new state, and how long the "
		       "socket was in the old one, in milliseconds.\v"
		       "PID and COMM are of the task running when the state changed: for changes "
		       "made by arriving packets, often not the socket's owner. Filters on them "
		       "(-p, -n...) apply likewise. See ebpftrace-tcpstates(8).",
		TOOL_CANDIDATES(candidates),
		TOOL_SKELETON(tcpstates),
		.configure = configure,
		.fields = fields,
		.n_fields = ARRAY_SIZE(fields),
		.what = "TCP state changes",
		.handle = handle_event,
	};

	net_prefix_any(&cfg.saddr);
	net_prefix_any(&cfg.daddr);
	port_range_any(&cfg.lport);
	port_range_any(&cfg.dport);
	return tool_run(&tool, argc, argv);
}
