// SPDX-License-Identifier: GPL-2.0
/* ebpftrace tc: see, count, capture and drop the packets of a network device. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tc.h"
#include "tc.skel.h"
#include "cmds.h"
#include "countmap.h"
#include "events.h"
#include "netrule.h"
#include "opts.h"
#include "output.h"
#include "packetfmt.h"
#include "pcapwrite.h"
#include "setup.h"
#include "tcattach.h"
#include "util.h"

enum {
	OPT_INGRESS = OPT_SUB,
	OPT_EGRESS,
	OPT_SAMPLE,
	OPT_SNAPLEN,
	OPT_STATS,
	OPT_TOP,
	OPT_DROP,
	OPT_PROTO,
	OPT_HOST,
	OPT_PORT,
	OPT_ATTACH,
	OPT_CLEANUP,
};

#define PROG_PREFIX	  "ebpftrace_tc_" /* what --cleanup looks for in filter names */
#define TICK_SECONDS	  0.2		  /* how often the device is checked */
#define PCAP_RINGBUF_SIZE (8u << 20)	  /* -w's default ring buffer: room for 128 GSO packets */
#define DEFAULT_RINGBUF	  (1u << 20)

static struct {
	struct tc_cfg cfg;
	struct packet_rule filter;
	struct packet_rule drop[TC_MAX_RULES];
	const char *dev;
	const char *pcap_path;
	const char *rules[TC_MAX_RULES];
	bool dirs[TC_DIRS];
	bool cleanup;
	double interval; /* --stats; 0: not in stats mode */
	uint64_t top;
	enum tc_attach_kind attach;
} tc_opts = { .cfg = { .snaplen = TC_SNAP_MAX }, .top = 10 };

static const struct argp_option options[] = {
	{ "ingress", OPT_INGRESS, NULL, 0, "Packets the device receives (the default)", 0 },
	{ "egress", OPT_EGRESS, NULL, 0, "Packets the device sends", 0 },
	{ "sample", OPT_SAMPLE, "N", 0, "Log or capture one packet in N (per CPU)", 0 },
	{ "write", 'w', "FILE", 0, "Write the packets to a pcap file (-: stdout)", 0 },
	{ "snaplen", OPT_SNAPLEN, "BYTES", 0, "Bytes of each packet written (default 262144)", 0 },
	{ "stats", OPT_STATS, "INTERVAL", OPTION_ARG_OPTIONAL,
	  "Count packets and bytes per protocol and flow, shown every INTERVAL s (default 1)", 0 },
	{ "top", OPT_TOP, "N", 0, "--stats: show the N flows with most bytes (default 10)", 0 },
	{ "drop", OPT_DROP, "RULE", 0,
	  "Drop packets matching RULE, [PROTO][:KEY=VALUE,...] (repeatable)", 0 },
	{ "proto", OPT_PROTO, "PROTO", 0, "Only packets of this protocol (tcp, udp, icmp...)", 0 },
	{ "host", OPT_HOST, "PREFIX", 0, "Only packets from or to this address or network", 0 },
	{ "port", OPT_PORT, "PORTS", 0, "Only packets from or to this port or range", 0 },
	{ "attach", OPT_ATTACH, "HOW", 0, "tcx or clsact (default: tcx where the kernel has it)",
	  0 },
	{ "cleanup", OPT_CLEANUP, NULL, 0,
	  "Remove the filters a killed ebpftrace left on DEV (clsact kernels), and exit", 0 },
	{},
};

/* --proto, --host and --port: one rule, matched in the kernel like a --drop rule. */
static void set_filter(int key, const char *opt, const char *arg)
{
	struct packet_rule *r = &tc_opts.filter;
	char err[NETRULE_ERR_SIZE];
	bool ok = key == OPT_PROTO  ? net_parse_proto(arg, &r->proto, err, sizeof(err))
		  : key == OPT_HOST ? net_parse_prefix(arg, &r->host, err, sizeof(err))
				    : net_parse_ports(arg, &r->port, err, sizeof(err));

	if (!ok)
		usage_error("invalid %s '%s': %s", opt, arg, err);
	tc_opts.cfg.filtered = 1;
}

static void add_drop_rule(const char *arg)
{
	struct tc_cfg *c = &tc_opts.cfg;
	char err[NETRULE_ERR_SIZE];

	if (c->n_rules == TC_MAX_RULES)
		usage_error("too many --drop rules: at most %d", TC_MAX_RULES);
	if (!net_parse_packet_rule(arg, &tc_opts.drop[c->n_rules], err, sizeof(err)))
		usage_error("invalid --drop '%s': %s", arg, err);
	tc_opts.rules[c->n_rules++] = arg;
}

/* A bare --stats may take its INTERVAL from the next word: argp gives optional values with = only. */
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
	case OPT_INGRESS:
	case OPT_EGRESS:
		tc_opts.dirs[key == OPT_EGRESS] = true;
		break;
	case OPT_SAMPLE:
		tc_opts.cfg.sample = opt_u64("--sample", arg, 1, UINT32_MAX);
		break;
	case 'w':
		tc_opts.pcap_path = arg;
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
	case OPT_DROP:
		add_drop_rule(arg);
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
	case OPT_ATTACH:
		tc_opts.attach = tc_attach_by_name(arg);
		if ((int)tc_opts.attach < 0)
			usage_error("invalid --attach '%s': expected tcx or clsact", arg);
		break;
	case OPT_CLEANUP:
		tc_opts.cleanup = true;
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

static const struct argp argp = {
	.options = options,
	.parser = parse_opt,
	.args_doc = "DEV",
	.children = common_argp_children,
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
	if (!tc_opts.dirs[TC_INGRESS] && !tc_opts.dirs[TC_EGRESS])
		tc_opts.dirs[TC_INGRESS] = true;
	tc_opts.cfg.mode = tc_opts.interval    ? TC_MODE_STATS
			   : tc_opts.pcap_path ? TC_MODE_PCAP
					       : TC_MODE_LOG;
	tc_opts.cfg.ifindex = if_nametoindex(tc_opts.dev);
}

static const char *const dir_names[TC_DIRS] = { "ingress", "egress" };

static struct pcap_writer *pcap;
static uint64_t written;

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

	if (common_opts.count && written >= common_opts.count)
		return;
	pcap_writer_frame(pcap, (const uint8_t *)(e + 1), e->cap_len, e->len, &m);
	written++;
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
			.drop_rule = e->dropped ? tc_opts.rules[e->rule % TC_MAX_RULES] : NULL,
		};

		packet_print(&v);
	}
	return 0;
}

/* Rows on stdout (--stats, --json), or lines on stderr where stdout has no room for them. */
static void report_drops(struct tc_bpf *skel, bool rows)
{
	rule_counts_print("drop", "--drop", "dropped", tc_opts.rules, tc_opts.cfg.n_rules,
			  bpf_map__fd(skel->maps.drops), rows);
}

static int print_stats(struct tc_bpf *skel)
{
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

static double mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* After each tick: whether to go on; *ret says why not. */
static bool tick(struct tc_bpf *skel, double *next_report, int *ret)
{
	int err;

	if (!netdev_still_there(tc_opts.cfg.ifindex, tc_opts.dev)) {
		err_msg("interface %s went away", tc_opts.dev);
		*ret = EXIT_RUNTIME;
		return false;
	}
	if (tc_opts.interval && mono_seconds() >= *next_report) {
		*next_report += tc_opts.interval;
		*ret = print_stats(skel);
	}
	if (!pcap)
		return *ret == EXIT_OK;
	err = pcap_writer_flush(pcap);
	if (err && err != EPIPE) {
		err_msg("writing %s: %s", tc_opts.pcap_path, strerror(err));
		*ret = EXIT_RUNTIME;
	}
	return !err && !(common_opts.count && written >= common_opts.count);
}

static int watch(struct tc_bpf *skel, const char *how)
{
	struct events_reader *r = NULL;
	double next_report;
	int ret = EXIT_OK;

	if (tc_opts.cfg.mode != TC_MODE_STATS) {
		r = events_reader_new(skel->obj, handle_event, NULL);
		if (!r)
			return EXIT_RUNTIME;
	}
	run_start();
	next_report = mono_seconds() + tc_opts.interval;
	fprintf(stderr, "Tracing packets on %s (%s%s%s) with %s. Hit Ctrl-C to end.\n", tc_opts.dev,
		tc_opts.dirs[TC_INGRESS] ? "ingress" : "",
		tc_opts.dirs[TC_INGRESS] && tc_opts.dirs[TC_EGRESS] ? ", " : "",
		tc_opts.dirs[TC_EGRESS] ? "egress" : "", how);
	do {
		if (r)
			ret = events_reader_poll(r, TICK_SECONDS);
		else
			run_sleep(TICK_SECONDS);
	} while (ret == EXIT_OK && tick(skel, &next_report, &ret) && run_going());
	if (ret == EXIT_OK && tc_opts.interval)
		ret = print_stats(skel);
	events_reader_free(r);
	return ret;
}

static void setup_maps(struct tc_bpf *skel)
{
	struct tc_cfg *c = &tc_opts.cfg;
	int ncpus = libbpf_num_possible_cpus();

	if (c->mode == TC_MODE_PCAP && common_opts.ringbuf_size == DEFAULT_RINGBUF)
		common_opts.ringbuf_size = PCAP_RINGBUF_SIZE;
	/* A record must fit in the ring buffer with room for others. */
	if (c->snaplen > common_opts.ringbuf_size / 4) {
		c->snaplen = common_opts.ringbuf_size / 4;
		verbose("--snaplen cut to %u bytes, a quarter of the ring buffer", c->snaplen);
	}
	/* Maps a mode does not use keep one entry: the verifier wants them all. */
	bpf_map__set_max_entries(skel->maps.capture,
				 c->mode == TC_MODE_PCAP && ncpus > 0 ? ncpus : 1);
	if (c->mode != TC_MODE_STATS) {
		bpf_map__set_max_entries(skel->maps.protos, 1);
		bpf_map__set_max_entries(skel->maps.flows, 1);
	}
	skel->rodata->common_cfg = common_bpf_cfg();
	skel->rodata->tc_cfg = *c;
	skel->bss->tc_filter = tc_opts.filter;
	memcpy(skel->bss->tc_drop, tc_opts.drop, sizeof(tc_opts.drop));
}

/* Open and load for kind (what a previous try loaded destroyed first). */
static int load_for(enum tc_attach_kind kind, void *ctx, struct bpf_program **progs,
		    const char **step)
{
	struct tc_bpf **skel = ctx;

	tc_bpf__destroy(*skel);
	*step = "opening the BPF object";
	*skel = tc_bpf__open();
	if (!*skel)
		return -errno;
	progs[TC_INGRESS] = (*skel)->progs.ebpftrace_tc_in;
	progs[TC_EGRESS] = (*skel)->progs.ebpftrace_tc_eg;
	for (int d = 0; d < TC_DIRS; d++)
		tc_prepare(progs[d], d == TC_EGRESS, kind);
	setup_maps(*skel);
	return skel_try_load((*skel)->skeleton, false, step);
}

static int load_attach(struct tc_bpf **skel, struct tc_attachment *att)
{
	const char *step;
	int err = tc_load_attach(tc_opts.attach, tc_opts.cfg.ifindex, tc_opts.dirs, load_for, skel,
				 att, &step);

	if (err == -ENODEV) {
		err_msg("interface %s went away", tc_opts.dev);
		return EXIT_RUNTIME;
	}
	return err ? report_bpf_error(step, err) : EXIT_OK;
}

static int cleanup(void)
{
	int n = tc_remove_filters(tc_opts.cfg.ifindex, PROG_PREFIX);

	if (n < 0) {
		err_msg("listing the filters on %s: %s", tc_opts.dev, strerror(-n));
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "%s: removed %d filter%s of ours from %s\n", prog_name, n,
		n == 1 ? "" : "s", tc_opts.dev);
	return EXIT_OK;
}

static int open_capture(void)
{
	pcap = pcap_writer_open(tc_opts.pcap_path,
				tc_opts.dirs[TC_INGRESS] && tc_opts.dirs[TC_EGRESS],
				tc_opts.cfg.snaplen);
	if (!pcap)
		err_msg("cannot write %s: %s", tc_opts.pcap_path, strerror(errno));
	return pcap ? EXIT_OK : EXIT_RUNTIME;
}

const char *const tc_check_args[] = { "lo", "--ingress", "--egress", NULL };

int cmd_tc(int argc, char **argv)
{
	struct tc_attachment att[TC_DIRS] = {};
	struct tc_bpf *skel = NULL;
	int ret;

	net_packet_rule_any(&tc_opts.filter);
	parse_args(&argp, argc, argv, NULL);
	check_options();
	/* sched_cls programs need CAP_NET_ADMIN; the 6.1 verifier also wants CAP_PERFMON for ours. */
	setup_require_caps(1ull << CAP_BPF | 1ull << CAP_PERFMON | 1ull << CAP_NET_ADMIN);
	ret = setup_system();
	if (ret || tc_opts.cleanup)
		return ret ?: cleanup();
	ret = load_attach(&skel, att);
	if (!ret && tc_opts.pcap_path)
		ret = open_capture();
	if (ret)
		goto out;
	common_opts.timestamp = tc_opts.cfg.mode == TC_MODE_LOG;
	out_init();
	if (tc_opts.cfg.mode == TC_MODE_LOG)
		packet_header();
	ret = watch(skel,
		    tc_attach_name(att[tc_opts.dirs[TC_INGRESS] ? TC_INGRESS : TC_EGRESS].kind));
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
