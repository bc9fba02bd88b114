// SPDX-License-Identifier: GPL-2.0
/* ebpftrace tc: see, count, capture and drop the packets of a network device. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tc.h"
#include "tc.skel.h"
#include "cmds.h"
#include "corebtf.h"
#include "countmap.h"
#include "events.h"
#include "metrics.h"
#include "opts.h"
#include "output.h"
#include "packetfmt.h"
#include "packetopts.h"
#include "pcapwrite.h"
#include "setup.h"
#include "tcattach.h"
#include "util.h"

enum {
	OPT_SAMPLE = OPT_SUB,
	OPT_SNAPLEN,
	OPT_STATS,
	OPT_TOP,
};

#define PROG_PREFIX	  "ebpftrace_tc_" /* what --cleanup looks for in filter names */
#define TICK_SECONDS	  0.2		  /* how often the device is checked */
#define PCAP_RINGBUF_SIZE (8u << 20)	  /* -w's default ring buffer: room for 128 GSO packets */

static struct {
	struct tc_cfg cfg;
	const char *dev;
	const char *pcap_path;
	double interval; /* --stats; 0: not in stats mode */
	uint64_t top;
} tc_opts = { .cfg = { .snaplen = TC_SNAP_MAX }, .top = 10 };

static const struct argp_option options[] = {
	{ "sample", OPT_SAMPLE, "N", 0, "Log or capture one packet in N (per CPU)", 0 },
	{ "write", 'w', "FILE", 0, "Write the packets to a pcap file (-: stdout)", 0 },
	{ "snaplen", OPT_SNAPLEN, "BYTES", 0, "Bytes of each packet written (default 262144)", 0 },
	{ "stats", OPT_STATS, "INTERVAL", OPTION_ARG_OPTIONAL,
	  "Count packets and bytes per protocol and flow, shown every INTERVAL s (default 1)", 0 },
	{ "top", OPT_TOP, "N", 0, "--stats: show the N flows with most bytes (default 10)", 0 },
	{},
};

/* A bare --stats may take its INTERVAL from the next word: argp takes optional values with =. */
static bool interval_open;

static void set_stats(const char *arg)
{
	tc_opts.interval = 1;
	interval_open = !arg;
	if (arg && !parse_seconds(arg, &tc_opts.interval))
		usage_error("invalid --stats '%s': expected a number of seconds > 0", arg);
}

/* DEV, or the INTERVAL of a bare --stats: a number that no interface here is called. */
static void positional(const char *arg)
{
	if (interval_open && parse_seconds(arg, &tc_opts.interval) && !if_nametoindex(arg)) {
		interval_open = false;
		return;
	}
	if (tc_opts.dev)
		usage_error("unexpected argument '%s' (one DEV only)", arg);
	tc_opts.dev = arg;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_SAMPLE:
		tc_opts.cfg.sample = opt_u64("--sample", arg, 1, UINT32_MAX);
		break;
	case 'w':
		tc_opts.pcap_path = opt_text("--write", arg, "a file name, or - for stdout");
		break;
	case OPT_SNAPLEN:
		tc_opts.cfg.snaplen = opt_u64("--snaplen", arg, 64, TC_SNAP_MAX);
		break;
	case OPT_STATS:
		set_stats(arg);
		break;
	case OPT_TOP:
		tc_opts.top = opt_u64("--top", arg, 0, TC_MAX_FLOWS);
		break;
	case ARGP_KEY_ARG:
		positional(arg);
		break;
	default:
		(void)state;
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_child children[] = {
	TC_ATTACH_ARGP_CHILD,
	PACKET_ARGP_CHILD,
	{ &common_argp, 0, "Common options:", 1 },
	{},
};

static const struct argp argp = {
	.options = options,
	.parser = parse_opt,
	.args_doc = "DEV",
	.children = children,
	.doc = "See, count, capture and drop the packets of network device DEV: a line per packet "
	       "(default), a pcap file (-w) or counters (--stats), with --drop rules in any mode.\v"
	       "RULE is [PROTO][:KEY=VALUE,...] with keys src, dst, host (an address or prefix) "
	       "and "
	       "sport, dport, port (a port or range): tcp:dport=8080, udp:src=198.51.100.0/24, "
	       "icmp. See ebpftrace-tc(8).",
};

/* Every option combination is checked before anything is loaded. */
static void check_options(void)
{
	const struct filter_cfg *f = &common_opts.filter;

	if (!tc_opts.dev)
		usage_error("no DEV given: ebpftrace tc DEV [options]");
	if (!if_nametoindex(tc_opts.dev))
		usage_error("no network interface '%s' here", tc_opts.dev);
	if (f->pid || f->tid || f->uid != FILTER_UID_ANY || f->comm_len || common_opts.cgroup_path)
		usage_error("-p, -t, -u, -n and -c do not apply to packets; use --host or --port");
	if (tc_opts.pcap_path && tc_opts.interval)
		usage_error("-w and --stats are two modes: give one");
	if (tc_opts.cfg.sample && tc_opts.interval)
		usage_error("--sample applies to the log and -w, not to --stats");
	tc_opts.cfg.mode = tc_opts.interval    ? TC_MODE_STATS
			   : tc_opts.pcap_path ? TC_MODE_PCAP
					       : TC_MODE_LOG;
	tc_opts.cfg.ifindex = if_nametoindex(tc_opts.dev);
	tc_opts.cfg.filtered = packet_opts.filtered;
	tc_opts.cfg.n_rules = packet_opts.n_rules;
}

static const char *const dir_names[TC_DIRS] = { "ingress", "egress" };

static struct metric_family packets_total =
	METRIC_FAMILY(METRIC_COUNTER, "ebpftrace_tc_packets_total",
		      "Packets seen (that the filter lets through)", "direction", "protocol");
static struct metric_family bytes_total = METRIC_FAMILY(
	METRIC_COUNTER, "ebpftrace_tc_bytes_total",
	"Bytes of the packets seen (frames, L2 header included)", "direction", "protocol");
static struct metric_family drops_total = METRIC_FAMILY(
	METRIC_COUNTER, "ebpftrace_tc_drops_total", "Packets dropped by each --drop rule", "rule");

/* Read from the kernel's counters at each scrape: the event loop never waits for a scrape. */
static void watch_metrics(struct tc_bpf *skel)
{
	packet_metrics_watch(&packets_total, &bytes_total, bpf_map__fd(skel->maps.protos),
			     dir_names, TC_DIRS);
	rule_counts_watch(&drops_total, packet_opts.rules, packet_opts.n_rules,
			  bpf_map__fd(skel->maps.drops));
}

static struct pcap_writer *pcap;

static void write_frame(const struct tc_event *e)
{
	const struct packet_info *p = &e->pkt;
	struct pcap_frame_meta m = {
		.ts_wall_ns = mono_to_wall_ns(e->ts_ns),
		.ifindex = tc_opts.cfg.ifindex,
		.outgoing = e->dir == TC_EGRESS,
		.vlan = p->flags & PACKET_VLAN_META,
		.vlan_proto = p->vlan_proto[0],
		.vlan_tci = p->vlan_tci[0],
	};

	pcap_writer_frame(pcap, (const uint8_t *)(e + 1), e->cap_len, e->len, &m);
}

static int handle_event(void *ctx, const void *data, size_t size)
{
	const struct tc_event *e = data;

	(void)ctx;
	if (size < sizeof(*e) || size < sizeof(*e) + e->cap_len)
		return 0;
	if (pcap) {
		write_frame(e);
	} else {
		struct packet_view v = {
			.ts_mono_ns = e->ts_ns,
			.ifname = tc_opts.dev,
			.direction = dir_names[e->dir % TC_DIRS],
			/* As on the wire: with the tag the stack took off the data. */
			.len = e->len + (e->pkt.flags & PACKET_VLAN_META ? 4 : 0),
			.pkt = &e->pkt,
			.drop_rule = e->dropped ? packet_opts.rules[e->rule % TC_MAX_RULES] : NULL,
		};

		packet_print(&v);
	}
	return 0;
}

/* Rows on stdout (--stats, --json), or lines on stderr where stdout has no room for them. */
static void report_drops(struct tc_bpf *skel, bool rows)
{
	rule_counts_print("drop", "--drop", "dropped", packet_opts.rules, packet_opts.n_rules,
			  bpf_map__fd(skel->maps.drops), rows);
}

static int print_stats(void *s)
{
	struct tc_bpf *skel = s;
	int err = packet_stats_print(bpf_map__fd(skel->maps.protos), bpf_map__fd(skel->maps.flows),
				     tc_opts.top, dir_names, TC_DIRS);

	if (err) {
		err_msg("reading the counters: %s", strerror(-err));
		return EXIT_RUNTIME;
	}
	report_drops(skel, true);
	out_flush();
	return EXIT_OK;
}

/* After each tick: whether to go on; *ret says why not. */
static bool tick(void *ctx, int *ret)
{
	int err;

	(void)ctx;
	if (!netdev_still_there(tc_opts.cfg.ifindex, tc_opts.dev)) {
		err_msg("interface %s went away", tc_opts.dev);
		*ret = EXIT_RUNTIME;
		return false;
	}
	if (!pcap)
		return true;
	err = pcap_writer_flush(pcap);
	if (err && err != EPIPE) {
		err_msg("writing %s: %s", tc_opts.pcap_path, strerror(err));
		*ret = EXIT_RUNTIME;
	}
	return !err && !pcap_writer_full(pcap);
}

static int watch(struct tc_bpf *skel, const char *how)
{
	struct events_reader *r = NULL;
	int ret;

	if (tc_opts.cfg.mode != TC_MODE_STATS) {
		r = events_reader_new(skel->obj, handle_event, NULL);
		if (!r)
			return EXIT_RUNTIME;
	}
	run_start();
	fprintf(stderr, "Tracing packets on %s (%s) with %s. Hit Ctrl-C to end.\n", tc_opts.dev,
		tc_attach_dirs_text(), how);
	ret = events_loop_run(r, &(struct events_loop){ TICK_SECONDS, tc_opts.interval, 0, tick,
							print_stats, skel });
	events_reader_free(r);
	return ret;
}

static void setup_maps(struct tc_bpf *skel)
{
	struct tc_cfg *c = &tc_opts.cfg;

	if (c->mode == TC_MODE_PCAP)
		default_ringbuf_size(PCAP_RINGBUF_SIZE);
	/* A record must fit in the ring buffer with room for others. */
	if (c->snaplen > common_opts.ringbuf_size / 4) {
		c->snaplen = common_opts.ringbuf_size / 4;
		verbose("--snaplen cut to %u bytes, a quarter of the ring buffer", c->snaplen);
	}
	/* Maps a mode does not use keep one entry: the verifier wants them all. */
	c->counted = c->mode == TC_MODE_STATS || metrics_on();
	if (!c->counted)
		bpf_map__set_max_entries(skel->maps.protos, 1);
	if (c->mode != TC_MODE_STATS)
		bpf_map__set_max_entries(skel->maps.flows, 1);
	skel->rodata->common_cfg = common_bpf_cfg();
	skel->rodata->tc_cfg = *c;
	skel->bss->tc_filter = packet_opts.filter;
	memcpy(skel->bss->tc_drop, packet_opts.drop, sizeof(packet_opts.drop));
}

/* Open and load for kind (what a previous try loaded destroyed first). */
static int load_for(enum tc_attach_kind kind, void *ctx, struct bpf_program **progs,
		    const char **step)
{
	struct tc_bpf **skel = ctx;

	if (*skel)
		metrics_forget_object((*skel)->obj);
	tc_bpf__destroy(*skel);
	*step = "opening the BPF object";
	*skel = core_btf_open(tc);
	if (!*skel)
		return -errno;
	progs[TC_INGRESS] = (*skel)->progs.ebpftrace_tc_in;
	progs[TC_EGRESS] = (*skel)->progs.ebpftrace_tc_eg;
	for (int d = 0; d < TC_DIRS; d++)
		tc_prepare(progs[d], d == TC_EGRESS, kind);
	setup_maps(*skel);
	return skel_try_load((*skel)->skeleton, false, step);
}

const char *const tc_check_args[] = { "lo", "--ingress", "--egress", NULL };

int cmd_tc(int argc, char **argv)
{
	struct tc_attachment att[TC_DIRS] = {};
	struct tc_bpf *skel = NULL;
	int ret;

	parse_args(&argp, argc, argv, NULL);
	check_options();
	/* sched_cls programs need CAP_NET_ADMIN; 6.1's verifier also wants CAP_PERFMON for ours. */
	setup_require_caps(1ull << CAP_BPF | 1ull << CAP_PERFMON | 1ull << CAP_NET_ADMIN);
	ret = setup_system();
	if (ret || tc_attach_opts.cleanup)
		return ret ?: tc_cleanup(tc_opts.cfg.ifindex, tc_opts.dev, PROG_PREFIX);
	ret = tc_load_attach_dev(tc_opts.dev, tc_opts.cfg.ifindex, load_for, &skel, att);
	if (!ret && tc_opts.pcap_path &&
	    !(pcap = pcap_writer_open(tc_opts.pcap_path,
				      tc_attach_opts.dirs[0] && tc_attach_opts.dirs[1],
				      tc_opts.cfg.snaplen, common_opts.count)))
		ret = EXIT_RUNTIME;
	if (ret)
		goto out;
	watch_metrics(skel);
	common_opts.timestamp = tc_opts.cfg.mode == TC_MODE_LOG;
	out_init();
	if (tc_opts.cfg.mode == TC_MODE_LOG)
		packet_header();
	ret = watch(
		skel,
		tc_attach_name(att[tc_attach_opts.dirs[TC_INGRESS] ? TC_INGRESS : TC_EGRESS].kind));
	tc_detach(att, TC_DIRS);
	/* --stats reported them with its last counts. */
	if (!tc_opts.interval)
		report_drops(skel, out_json() && !pcap && !out_closed());
out:
	tc_detach(att, TC_DIRS);
	pcap_writer_close(pcap);
	out_flush();
	tc_bpf__destroy(skel);
	return ret;
}
