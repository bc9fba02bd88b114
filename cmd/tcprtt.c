// SPDX-License-Identifier: GPL-2.0
/* ebpftrace tcprtt: histograms of TCP smoothed RTT, overall or by one end of the connection. */
#include <string.h>
#include <bpf/libbpf.h>
#include "tcprtt.h"
#include "tcprtt.skel.h"
#include "cmds.h"
#include "hist.h"
#include "metrics.h"
#include "netrule.h"
#include "opts.h"
#include "tool.h"
#include "util.h"

enum { OPT_BY = OPT_SUB };

static const char *const by_names[] = {
	[TCPRTT_BY_LADDR] = "laddr",
	[TCPRTT_BY_RADDR] = "raddr",
	[TCPRTT_BY_LPORT] = "lport",
	[TCPRTT_BY_RPORT] = "rport",
};

static struct {
	struct tcprtt_cfg cfg;
	double interval; /* seconds between histograms; 0: one when tracing ends */
	uint64_t count;	 /* histograms (intervals) to print; 0: no limit */
} rtt = { .cfg = { .div = 1 } };

static const struct argp_option options[] = {
	{ "milliseconds", 'm', NULL, 0, "Histograms in milliseconds (default: microseconds)", 0 },
	{ "by", OPT_BY, "END", 0, "A histogram per laddr, raddr, lport or rport", 0 },
	{},
};

static void set_by(const char *arg)
{
	for (size_t i = 1; i < ARRAY_SIZE(by_names); i++) {
		if (!strcmp(arg, by_names[i])) {
			rtt.cfg.by = i;
			return;
		}
	}
	usage_error("invalid --by '%s': expected laddr, raddr, lport or rport", arg);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'm':
		rtt.cfg.div = 1000;
		break;
	case OPT_BY:
		set_by(arg);
		break;
	case ARGP_KEY_ARG:
		tool_interval_arg(arg, state->arg_num, &rtt.interval, &rtt.count);
		break;
	case ARGP_KEY_END:
		if (common_opts.count)
			usage_error("--count does not apply to tcprtt: give [interval [count]]");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static size_t key_fields(const struct tcprtt_key *k, struct hist_key *out, char *addr, size_t size)
{
	const char *name = by_names[rtt.cfg.by];

	switch (rtt.cfg.by) {
	case TCPRTT_BY_LADDR:
	case TCPRTT_BY_RADDR:
		net_addr_format(k->addr, addr, size);
		out[0] = (struct hist_key){ .name = name, .str = addr, .len = size };
		return 1;
	case TCPRTT_BY_LPORT:
	case TCPRTT_BY_RPORT:
		out[0] = (struct hist_key){ .name = name, .num = k->port };
		return 1;
	default:
		return 0;
	}
}

static void print_entry(void *ctx, const void *key, const void *value)
{
	struct hist h = hist_from_log2(value, rtt.cfg.div, rtt.cfg.div == 1 ? "usecs" : "msecs");
	char addr[NET_PREFIX_STR_SIZE];
	struct hist_key k[1];
	size_t n = key_fields(key, k, addr, sizeof(addr));

	hist_out(&h, k, n, *(uint64_t *)ctx);
}

/* For metrics: the key as print_entry shows it. Callers are serialized. */
static bool decode(const void *key, const void *value, struct hist_key *fields, size_t *nfields)
{
	static char addr[NET_PREFIX_STR_SIZE];

	(void)value;
	*nfields = key_fields(key, fields, addr, sizeof(addr));
	return true;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tcprtt_key));
}

/* Slots of div usecs (hist_div set to match in configure), the sum in usecs. */
static struct metric_family rtt_family = {
	.name = "ebpftrace_tcprtt_rtt_seconds",
	.help = "Smoothed round-trip times of TCP connections, sampled per segment received",
	.type = METRIC_HISTOGRAM,
	.hist_div = 1000,
	.sum_ns = 1000,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static struct metrics_map hists = {
	.key_size = sizeof(struct tcprtt_key),
	.value_size = sizeof(struct hist_log2),
	.cmp = key_cmp,
	.decode = decode,
	.columns = { { .family = &rtt_family } },
	.ncolumns = 1,
};

static void print_interval(void *ctx, uint64_t ts_ns)
{
	static const struct hist_log2 none;
	struct tcprtt_key zero = {};

	/* Without --by, an interval without a sample still says so: one empty histogram. */
	if (!metrics_map_each(ctx, rtt.interval > 0, print_entry, &ts_ns) &&
	    rtt.cfg.by == TCPRTT_BY_NONE) {
		print_entry(&ts_ns, &zero, &none);
	}
}

static int configure(void *skel, enum attach_method m, const char **step)
{
	struct tcprtt_bpf *obj = skel;

	(void)m;
	(void)step;
	obj->rodata->tcprtt_cfg = rtt.cfg;
	rtt_family.hist_div = 1000 * rtt.cfg.div;
	bpf_map__set_autocreate(obj->maps.events, false); /* histograms need no ring buffer */
	if (rtt.cfg.by == TCPRTT_BY_NONE)
		bpf_map__set_max_entries(obj->maps.hists, 1);
	return 0;
}

TOOL_SKELETON_FNS(tcprtt)

/* The same tracepoint both ways: tp_btf detaches at once, its perf event after a grace period. */
static const struct attach_candidate candidates[] = {
	{ METHOD_TP_BTF, "tcp_probe" },
	{ METHOD_TRACEPOINT, "tcp:tcp_probe" },
};

int cmd_tcprtt(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.args_doc = "[interval [count]]",
		.doc = "Summarize TCP smoothed round-trip times, sampled at every segment received "
		       "on an established connection, as histograms.\v"
		       "Every interval seconds (default: once, at the end) print the histograms "
		       "and "
		       "start new ones; stop after count of them. See ebpftrace-tcprtt(8).",
		TOOL_CANDIDATES(candidates),
		TOOL_SKELETON(tcprtt),
		.configure = configure,
	};

	return tool_run_reports(&tool, argc, argv, "hists", &hists, "TCP round-trip times",
				&rtt.interval, &rtt.count, print_interval);
}
