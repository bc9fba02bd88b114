// SPDX-License-Identifier: GPL-2.0
/* ebpftrace tcpconnlat: how long each active TCP open (connect) takes to be established. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "tcpconnlat.h"
#include "tcpconnlat.skel.h"
#include "cmds.h"
#include "hist.h"
#include "metrics.h"
#include "opts.h"
#include "output.h"
#include "tool.h"
#include "util.h"

enum { OPT_DPORT = OPT_SUB, OPT_HIST, OPT_BY_DEST };

/*
 * Best first: fentry and kprobe see the connect call itself; the tracepoint is everywhere, and
 * as tp_btf it detaches without waiting out an RCU grace period (the perf event's 50 ms here).
 */
static const struct attach_candidate candidates[] = {
	{ METHOD_FENTRY, "tcp_rcv_state_process" },
	{ METHOD_KPROBE, "tcp_rcv_state_process" },
	{ METHOD_TP_BTF, "inet_sock_set_state" },
	{ METHOD_TRACEPOINT, "sock:inet_sock_set_state" },
};

static struct {
	struct tcpconnlat_cfg cfg;
	const char *args[2]; /* the positional arguments: MIN_MS, or with --hist INTERVAL COUNT */
	unsigned int nargs;
	double interval; /* --hist: seconds between histograms; 0: one at the end */
	uint64_t count;	 /* --hist: histograms to print; 0: no limit */
} conn_opts;

static const struct argp_option options[] = {
	{ "ipv4", '4', NULL, 0, "Only IPv4 sockets", 0 },
	{ "ipv6", '6', NULL, 0, "Only IPv6 sockets (IPv4-mapped peers included)", 0 },
	{ "failed", 'x', NULL, 0, "Include connects that failed (refused, timed out, ...)", 0 },
	{ "lport", 'L', "LIST", 0, "Only these local ports (comma-separated)", 0 },
	{ "dport", OPT_DPORT, "LIST", 0, "Only these destination ports (comma-separated)", 0 },
	{ "hist", OPT_HIST, NULL, 0,
	  "Latency histograms (usecs) of established connects instead of events", 0 },
	{ "by-dest", OPT_BY_DEST, NULL, 0, "With --hist: one histogram per destination and port",
	  0 },
	{},
};

/* "80,443": up to TCPCONNLAT_MAX_PORTS ports; returns how many. */
static __u32 parse_ports(const char *opt, const char *arg, __u16 *ports)
{
	const char *p = arg;
	__u32 n = 0;

	for (;;) {
		size_t len = strcspn(p, ",");
		char tok[8];
		uint64_t v;

		if (n == TCPCONNLAT_MAX_PORTS || !len || len >= sizeof(tok))
			break;
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (!parse_u64(tok, 1, 65535, &v))
			break;
		ports[n++] = v;
		if (!p[len])
			return n;
		p += len + 1;
	}
	usage_error("invalid %s '%s': expected up to %d ports (1 to 65535) separated by commas",
		    opt, arg, TCPCONNLAT_MAX_PORTS);
}

/* The positional minimum latency: milliseconds, fractions allowed, 0 for all. */
static __u64 parse_min_ms(const char *arg)
{
	char *end;
	double ms;

	errno = 0;
	ms = strtod(arg, &end);
	if (!*arg || *end || errno || !isfinite(ms) || ms < 0 || ms > 1e9)
		usage_error("invalid minimum latency '%s': expected milliseconds (e.g. 0.5)", arg);
	return (__u64)(ms * 1e6 + 0.5); /* rounded: ms is at most 1e9 */
}

static void set_family(__u32 family)
{
	if (conn_opts.cfg.family && conn_opts.cfg.family != family)
		usage_error("-4 and -6 exclude each other");
	conn_opts.cfg.family = family;
}

/* The positional arguments mean MIN_MS, or INTERVAL [COUNT] with --hist. */
static void check_args(void)
{
	struct tcpconnlat_cfg *c = &conn_opts.cfg;
	const char *const *args = conn_opts.args;

	if (!c->hist) {
		if (c->by_dest)
			usage_error("--by-dest needs --hist");
		if (conn_opts.nargs > 1)
			usage_error("unexpected argument '%s'", args[1]);
		if (conn_opts.nargs)
			c->min_ns = parse_min_ms(args[0]);
		return;
	}
	if (c->failed)
		usage_error("--failed does not apply to --hist: failed connects have no latency");
	if (common_opts.count)
		usage_error("--count does not apply to --hist: give [INTERVAL [COUNT]]");
	if (conn_opts.nargs && !parse_seconds(args[0], &conn_opts.interval))
		usage_error("invalid interval '%s': expected a number of seconds > 0", args[0]);
	if (conn_opts.nargs > 1)
		conn_opts.count = opt_u64("count", args[1], 1, UINT64_MAX);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct tcpconnlat_cfg *c = &conn_opts.cfg;

	switch (key) {
	case '4':
		set_family(AF_INET);
		break;
	case '6':
		set_family(AF_INET6);
		break;
	case 'x':
		c->failed = 1;
		break;
	case 'L':
		c->nr_lports = parse_ports("--lport", arg, c->lports);
		break;
	case OPT_DPORT:
		c->nr_dports = parse_ports("--dport", arg, c->dports);
		break;
	case OPT_HIST:
		c->hist = 1;
		break;
	case OPT_BY_DEST:
		c->by_dest = 1;
		break;
	case ARGP_KEY_ARG:
		if (conn_opts.nargs == ARRAY_SIZE(conn_opts.args))
			usage_error("unexpected argument '%s'", arg);
		conn_opts.args[conn_opts.nargs++] = arg;
		break;
	case ARGP_KEY_END:
		check_args();
		break;
	default:
		(void)state;
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char doc[] =
	"Trace TCP connects and how long each took to be established, in milliseconds.\v"
	"MIN_MS: only connects that took at least this long (fractions allowed). --hist "
	"prints a histogram every INTERVAL seconds (COUNT times), or once at the end. "
	"Attaches with fentry, kprobe or the sock:inet_sock_set_state tracepoint, whichever "
	"the kernel allows first (-v says which). See ebpftrace-tcpconnlat(8).";

enum { F_PID, F_COMM, F_IP, F_SADDR, F_LPORT, F_DADDR, F_DPORT, F_LAT, F_RESULT };

/* RESULT is a column only with --failed, and last, so that the header can leave it out. */
static const struct out_field fields[] = {
	[F_PID] = { "pid", "PID", 7 },
	[F_COMM] = { "comm", "COMM", -16 },
	[F_IP] = { "ip", "IP", 2 },
	[F_SADDR] = { "saddr", "SADDR", -23 },
	[F_LPORT] = { "lport", "LPORT", 5 },
	[F_DADDR] = { "daddr", "DADDR", -23 },
	[F_DPORT] = { "dport", "DPORT", 5 },
	[F_LAT] = { "lat_ms", "LAT(ms)", 9 },
	[F_RESULT] = { "result", "RESULT", 0 },
};

static struct metric_family connects =
	METRIC_FAMILY(METRIC_COUNTER, "ebpftrace_tcpconnlat_connects_total",
		      "Connects traced, by result and IP version", "result", "ip_version");
/* Fed by the events, or with --hist by the kernel's histograms (labelled as they are printed). */
static struct metric_family latency =
	METRIC_HISTOGRAM_FAMILY("ebpftrace_tcpconnlat_connect_latency_seconds",
				"Time from connect to established", 1000, "ip_version");

static const struct out_field result_json = { "result", NULL, 0 };
static const struct out_field error_json = { "error", NULL, 0 };

static const char *result_name(const struct tcpconnlat_event *e)
{
	if (!e->failed)
		return "established";
	switch (e->err) {
	case 0:
		return "aborted"; /* closed from this side (close(), a local error) */
	case ECONNREFUSED:
		return "refused";
	case ETIMEDOUT:
		return "timeout";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "unreachable";
	default:
		return "error";
	}
}

static void out_addr(const struct out_field *f, int family, const __u8 *addr)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	out_str(f, text, sizeof(text));
}

static int handle_event(void *ctx, const void *data, size_t size)
{
	const struct tcpconnlat_event *e = data;
	const struct tcpconnlat_addrs *a = &e->addrs;
	int family = a->family == AF_INET6 ? AF_INET6 : AF_INET;
	const char *result;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	result = result_name(e);
	out_row_begin("tcpconnlat", e->ts_ns);
	out_u64(&fields[F_PID], e->pid);
	out_str(&fields[F_COMM], e->comm, sizeof(e->comm));
	out_u64(&fields[F_IP], family == AF_INET6 ? 6 : 4);
	out_addr(&fields[F_SADDR], family, a->saddr);
	out_u64(&fields[F_LPORT], a->lport);
	out_addr(&fields[F_DADDR], family, a->daddr);
	out_u64(&fields[F_DPORT], a->dport);
	out_fixed(&fields[F_LAT], e->lat_ns / 1000, 3);
	out_str(conn_opts.cfg.failed ? &fields[F_RESULT] : &result_json, result, strlen(result));
	if (e->err)
		out_str(&error_json, errno_name(e->err), 32);
	out_row_end();
	metrics_add(&connects, METRIC_VALUES(result, family == AF_INET6 ? "6" : "4"), 1);
	if (!e->failed)
		metrics_observe(&latency, METRIC_VALUES(family == AF_INET6 ? "6" : "4"), e->lat_ns);
	return 0;
}

static int dest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tcpconnlat_dest));
}

static void print_hist(const struct hist_log2 *log2, const struct hist_key *key, size_t nkey,
		       uint64_t ts_ns)
{
	struct hist h = hist_from_log2(log2, 1000, "usecs");

	hist_out(&h, key, nkey, ts_ns);
}

/* A histogram's key fields: the destination with --by-dest. Callers are serialized. */
static bool decode_dest(const void *key, const void *value, struct hist_key *fields,
			size_t *nfields)
{
	static char daddr[INET6_ADDRSTRLEN];
	const struct tcpconnlat_dest *d = key;

	if (!inet_ntop(d->family == AF_INET6 ? AF_INET6 : AF_INET, d->daddr, daddr, sizeof(daddr)))
		snprintf(daddr, sizeof(daddr), "?");
	fields[0] = (struct hist_key){ .name = "daddr", .str = daddr, .len = sizeof(daddr) };
	fields[1] = (struct hist_key){ .name = "dport", .num = d->dport };
	(void)value;
	*nfields = conn_opts.cfg.by_dest ? 2 : 0;
	return true;
}

static void print_dest(void *ctx, const void *key, const void *value)
{
	struct hist_key fields[2];
	size_t n;

	decode_dest(key, value, fields, &n);
	print_hist(value, fields, n, *(uint64_t *)ctx);
}

static struct metrics_map hists = {
	.key_size = sizeof(struct tcpconnlat_dest),
	.value_size = sizeof(struct hist_log2),
	.cmp = dest_cmp,
	.decode = decode_dest,
	.columns = { { .family = &latency } },
	.ncolumns = 1,
};

static void print_interval(void *ctx, uint64_t ts_ns)
{
	static const struct hist_log2 none;

	(void)ctx;
	/* Without --by-dest there is one histogram, shown even when no connect completed. */
	if (!metrics_map_each(&hists, conn_opts.interval > 0, print_dest, &ts_ns) &&
	    !conn_opts.cfg.by_dest)
		print_hist(&none, NULL, 0, ts_ns);
}

static void run_hists(struct tcpconnlat_bpf *skel)
{
	uint64_t lost;

	hists.fd = bpf_map__fd(skel->maps.hists);
	metrics_watch_map(&hists);
	hist_run("TCP connects", conn_opts.interval, conn_opts.count, print_interval, NULL);
	lost = lost_events_read(skel->obj);
	if (!lost)
		return;
	err_msg("%llu connects were not counted: more than %d destinations",
		(unsigned long long)lost, TCPCONNLAT_MAX_DESTS);
	if (out_json())
		out_printf("{\"type\":\"lost\",\"count\":%llu}\n", (unsigned long long)lost);
	out_flush();
}

static int configure(void *s, enum attach_method m, const char **step)
{
	struct tcpconnlat_bpf *skel = s;

	(void)m;
	(void)step;
	skel->rodata->tcpconnlat_cfg = conn_opts.cfg;
	/* Its entries are preallocated: 8 MB, and 16 ms of start-up, that only --hist uses. */
	if (!conn_opts.cfg.hist)
		bpf_map__set_max_entries(skel->maps.hists, 1);
	return 0;
}

TOOL_SKELETON_FNS(tcpconnlat)

int cmd_tcpconnlat(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.args_doc = "[MIN_MS]\n--hist [INTERVAL [COUNT]]",
		.doc = doc,
		TOOL_CANDIDATES(candidates),
		TOOL_SKELETON(tcpconnlat),
		.configure = configure,
	};
	int ret;

	tool_parse(&tool, argc, argv);
	ret = tool_load(&tool);
	if (!ret && conn_opts.cfg.hist) {
		out_init();
		run_hists(tool.skel);
	} else if (!ret) {
		ret = tool_trace(&tool, fields, ARRAY_SIZE(fields) - !conn_opts.cfg.failed,
				 "TCP connects", handle_event, NULL);
	}
	tool_end(&tool);
	return ret;
}
