// SPDX-License-Identifier: GPL-2.0
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "metrics.h"
#include "opts.h"
#include "span.h"
#include "tool.h"
#include "util.h"

enum { OPT_HIST = OPT_SUB + 0x100 };

static struct {
	struct span_cfg cfg;
	double interval; /* seconds between reports; 0: one when tracing ends */
	uint64_t count;	 /* reports to print; 0: no limit */
} span = { .cfg = { .unit_ns = 1000 } };

static const struct argp_option span_options[] = {
	{ "hist", OPT_HIST, NULL, 0, "Histograms of the times instead of totals", 0 },
	{ "counts", 'C', NULL, 0, "Count events instead of timing them", 0 },
	{ "nanoseconds", 'N', NULL, 0, "Times in nanoseconds (default: microseconds)", 0 },
	{},
};

static error_t span_parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_HIST:
		span.cfg.hist = 1;
		break;
	case 'C':
		span.cfg.counts = 1;
		break;
	case 'N':
		span.cfg.unit_ns = 1;
		break;
	case ARGP_KEY_ARG:
		tool_interval_arg(arg, state->arg_num, &span.interval, &span.count);
		break;
	case ARGP_KEY_END:
		if (span.cfg.hist && span.cfg.counts)
			usage_error("--hist and --counts exclude each other: counts have no times");
		if (common_opts.count)
			usage_error(
				"--count does not apply here: give [interval [count]] (-C counts "
				"events)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int configure(void *skel, enum attach_method m, const char **step)
{
	struct bpf_object *obj = skel_object(skel);

	(void)m;
	*step = "writing span_cfg into the BPF object";
	/* Reports read maps: no ring buffer. */
	bpf_map__set_autocreate(bpf_object__find_map_by_name(obj, "events"), false);
	return rodata_set(obj, "span_cfg", &span.cfg, sizeof(span.cfg));
}

static const char *unit_name(void)
{
	return span.cfg.unit_ns == 1 ? "nsecs" : "usecs";
}

static const struct out_field count_field = { "count", "COUNT", 10 };
static const struct out_field total_us_field = { "total_us", "TOTAL_usecs", 0 };
static const struct out_field total_ns_field = { "total_ns", "TOTAL_nsecs", 0 };

struct interval {
	const struct span_report *r;
	uint64_t ts_ns;	  /* wall clock, for histograms */
	uint64_t mono_ns; /* the same instant, for rows */
};

static void print_row(const struct interval *iv, const struct hist_key *key, size_t nkey,
		      const struct span_stats *s)
{
	out_row_begin(iv->r->type, iv->mono_ns);
	for (size_t i = 0; i < nkey; i++) {
		if (key[i].str)
			out_str(&iv->r->key_fields[i], key[i].str, key[i].len);
		else
			out_u64(&iv->r->key_fields[i], key[i].num);
	}
	out_u64(&count_field, s->count);
	if (!span.cfg.counts && span.cfg.unit_ns == 1)
		out_u64(&total_ns_field, s->total_ns);
	else if (!span.cfg.counts)
		out_fixed(&total_us_field, s->total_ns, 3);
	out_row_end();
}

static void print_entry(void *ctx, const void *key, const void *value)
{
	const struct interval *iv = ctx;
	const struct span_stats *s = value;
	struct hist_key fields[SPAN_KEY_FIELDS];
	size_t n = iv->r->key_of(*(const __u32 *)key, s, fields);
	struct hist h;

	if (!span.cfg.hist) {
		print_row(iv, fields, n, s);
		return;
	}
	h = hist_from_log2(&s->hist, span.cfg.unit_ns, unit_name());
	hist_out(&h, fields, n, iv->ts_ns);
}

static void print_header(const struct span_report *r)
{
	struct out_field fields[SPAN_KEY_FIELDS + 2];
	size_t n = r->n_key;

	memcpy(fields, r->key_fields, n * sizeof(fields[0]));
	fields[n++] = count_field;
	if (!span.cfg.counts)
		fields[n++] = span.cfg.unit_ns == 1 ? total_ns_field : total_us_field;
	out_header(fields, n);
}

static int key_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static const struct span_report *report; /* the subcommand's, while it runs */

static bool decode(const void *key, const void *value, struct hist_key *fields, size_t *nfields)
{
	*nfields = report->key_of(*(const __u32 *)key, value, fields);
	return true;
}

/* ebpftrace_<type>_..., named when the subcommand is known. */
static struct {
	char events[64], time[64], duration[64];
	char events_help[96], time_help[96], duration_help[96];
} names;

static struct metric_family events_family =
	METRIC_FAMILY(METRIC_COUNTER, names.events, names.events_help);
static struct metric_family time_family =
	METRIC_FAMILY(METRIC_SECONDS, names.time, names.time_help);
static struct metric_family duration_family =
	METRIC_HISTOGRAM_FAMILY(names.duration, names.duration_help, 1000);

static struct metrics_map stats = {
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct span_stats),
	.cmp = key_cmp,
	.decode = decode,
};

static void add_column(struct metric_family *f, size_t offset)
{
	stats.columns[stats.ncolumns++] = (struct metrics_column){ .family = f, .offset = offset };
}

/* The counts always, the time unless -C, its histogram with --hist. */
static void watch_stats(const struct span_report *r, struct bpf_object *obj)
{
	snprintf(names.events, sizeof(names.events), "ebpftrace_%s_events_total", r->type);
	snprintf(names.events_help, sizeof(names.events_help), "Runs of %s", r->what);
	snprintf(names.time, sizeof(names.time), "ebpftrace_%s_time_seconds_total", r->type);
	snprintf(names.time_help, sizeof(names.time_help), "Time spent in %s", r->what);
	snprintf(names.duration, sizeof(names.duration), "ebpftrace_%s_duration_seconds", r->type);
	snprintf(names.duration_help, sizeof(names.duration_help), "How long each run of %s took",
		 r->what);
	report = r;
	stats.fd = bpf_object__find_map_fd_by_name(obj, "span_stats");
	add_column(&events_family, offsetof(struct span_stats, count));
	if (!span.cfg.counts)
		add_column(&time_family, offsetof(struct span_stats, total_ns));
	if (span.cfg.hist) {
		duration_family.hist_div = span.cfg.unit_ns;
		add_column(&duration_family, offsetof(struct span_stats, hist));
	}
	metrics_watch_map(&stats);
}

static void print_interval(void *ctx, uint64_t ts_ns)
{
	struct interval iv = { .r = report, .ts_ns = ts_ns, .mono_ns = monotonic_ns() };

	(void)ctx;
	if (!span.cfg.hist)
		print_header(iv.r);
	metrics_map_each(&stats, span.interval > 0, print_entry, &iv);
	if (!span.cfg.hist && !out_json())
		out_printf("\n");
}

static void run(const struct span_report *r, struct bpf_object *obj)
{
	watch_stats(r, obj);
	out_init();
	hist_run(r->what, span.interval, span.count, print_interval, NULL);
	lost_events_report(lost_events_read(obj));
}

int span_main(const struct span_report *r, int argc, char **argv)
{
	const struct attach_candidate cands[] = {
		{ METHOD_TP_BTF, r->entry_tp },
		{ METHOD_RAW_TP, r->entry_tp },
	};
	struct tool tool = {
		.options = span_options,
		.parser = span_parse_opt,
		.args_doc = "[interval [count]]",
		.doc = r->doc,
		.cands = cands,
		.n_cands = ARRAY_SIZE(cands),
		.open = r->open,
		.destroy = r->destroy,
		.configure = configure,
	};
	int ret;

	tool_parse(&tool, argc, argv);
	ret = tool_load(&tool);
	if (!ret)
		run(r, tool_obj(&tool));
	tool_end(&tool);
	return ret;
}
