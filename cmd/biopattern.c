// SPDX-License-Identifier: GPL-2.0
/* ebpftrace biopattern: per disk, the share of random and sequential I/O, every interval. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "biopattern.h"
#include "biopattern.skel.h"
#include "cmds.h"
#include "fileid.h"
#include "hist.h"
#include "metrics.h"
#include "opts.h"
#include "tool.h"
#include "util.h"

static struct {
	double interval; /* seconds between reports; 0: one when tracing ends */
	uint64_t count;	 /* reports to print; 0: no limit */
} bp;

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	if (key == ARGP_KEY_ARG)
		tool_interval_arg(arg, state->arg_num, &bp.interval, &bp.count);
	else if (key == ARGP_KEY_END && common_opts.count)
		usage_error("--count does not apply to biopattern: give [interval [count]]");
	else
		return ARGP_ERR_UNKNOWN;
	return 0;
}

enum { F_DISK, F_DEV, F_RND_PCT, F_SEQ_PCT, F_COUNT, F_KBYTES, F_RND, F_SEQ, F_RND_B, F_SEQ_B };

static const struct out_field fields[] = {
	[F_DISK] = { "disk", "DISK", -12 },	   [F_DEV] = { "dev", NULL, 0 },
	[F_RND_PCT] = { "random_pct", "%RND", 5 }, [F_SEQ_PCT] = { "sequential_pct", "%SEQ", 5 },
	[F_COUNT] = { "count", "COUNT", 8 },	   [F_KBYTES] = { "kbytes", "KBYTES", 0 },
	[F_RND] = { "random", NULL, 0 },	   [F_SEQ] = { "sequential", NULL, 0 },
	[F_RND_B] = { "random_bytes", NULL, 0 },   [F_SEQ_B] = { "sequential_bytes", NULL, 0 },
};

/* The disk of dev (the kernel's encoding): its name, and its number as MAJOR:MINOR. */
static void disk_name(__u32 dev, char *name, size_t size, char *num, size_t num_size)
{
	char path[64], line[128];
	FILE *f;

	kernel_dev_format(dev, num, num_size);
	snprintf(name, size, "%s", num);
	snprintf(path, sizeof(path), "/sys/dev/block/%s/uevent", num);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8))
			snprintf(name, size, "%.*s", (int)strcspn(line + 8, "\n"), line + 8);
	fclose(f);
}

static void print_disk(void *ctx, const void *key, const void *value)
{
	const struct biopattern_counts *c = value;
	uint64_t n = c->random + c->sequential;
	char name[64], num[24];

	disk_name(*(const __u32 *)key, name, sizeof(name), num, sizeof(num));
	out_row_begin("biopattern", *(uint64_t *)ctx);
	out_str(&fields[F_DISK], name, sizeof(name));
	out_str(&fields[F_DEV], num, sizeof(num));
	out_u64(&fields[F_RND_PCT], n ? (c->random * 100 + n / 2) / n : 0);
	out_u64(&fields[F_SEQ_PCT], n ? 100 - (c->random * 100 + n / 2) / n : 0);
	out_u64(&fields[F_COUNT], n);
	out_u64(&fields[F_KBYTES], (c->random_bytes + c->sequential_bytes) / 1024);
	out_u64(&fields[F_RND], c->random);
	out_u64(&fields[F_SEQ], c->sequential);
	out_u64(&fields[F_RND_B], c->random_bytes);
	out_u64(&fields[F_SEQ_B], c->sequential_bytes);
	out_row_end();
}

static int key_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* For metrics: the disk as print_disk shows it. Callers are serialized. */
static bool decode(const void *key, const void *value, struct hist_key *fields, size_t *nfields)
{
	static char name[64], num[24];

	(void)value;
	disk_name(*(const __u32 *)key, name, sizeof(name), num, sizeof(num));
	fields[0] = (struct hist_key){ .name = "disk", .str = name, .len = sizeof(name) };
	fields[1] = (struct hist_key){ .name = "dev", .str = num, .len = sizeof(num) };
	*nfields = 2;
	return true;
}

static struct metric_family requests =
	METRIC_FAMILY(METRIC_COUNTER, "ebpftrace_biopattern_requests_total",
		      "Block I/O requests completed, by disk and pattern (random or sequential)");
static struct metric_family bytes = METRIC_FAMILY(
	METRIC_COUNTER, "ebpftrace_biopattern_bytes_total",
	"Bytes of the block I/O requests completed, by disk and pattern (random or sequential)");

#define PATTERN_COLUMN(f, field, pattern)                                          \
	{                                                                          \
		.family = &f, .offset = offsetof(struct biopattern_counts, field), \
		.label = "pattern", .label_value = pattern                         \
	}

static struct metrics_map counts = {
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct biopattern_counts),
	.cmp = key_cmp,
	.decode = decode,
	.columns = {
		PATTERN_COLUMN(requests, random, "random"),
		PATTERN_COLUMN(requests, sequential, "sequential"),
		PATTERN_COLUMN(bytes, random_bytes, "random"),
		PATTERN_COLUMN(bytes, sequential_bytes, "sequential"),
	},
	.ncolumns = 4,
};

static void print_interval(void *ctx, uint64_t ts_ns)
{
	uint64_t mono = ts_ns - (wall_now_ns() - mono_to_wall_ns(0));

	out_header(fields, ARRAY_SIZE(fields));
	metrics_map_each(ctx, bp.interval > 0, print_disk, &mono);
	if (!out_json())
		out_printf("\n");
}

static int configure(void *skel, enum attach_method m, const char **step)
{
	(void)m;
	(void)step;
	bpf_map__set_autocreate(((struct biopattern_bpf *)skel)->maps.events, false);
	return 0;
}

TOOL_SKELETON_FNS(biopattern)

/* The same tracepoint both ways: tp_btf detaches at once, its perf event after a grace period. */
static const struct attach_candidate candidates[] = {
	{ METHOD_TP_BTF, "block_rq_complete" },
	{ METHOD_TRACEPOINT, "block:block_rq_complete" },
};

int cmd_biopattern(int argc, char **argv)
{
	struct tool tool = {
		.parser = parse_opt,
		.args_doc = "[interval [count]]",
		.doc = "Show, per disk, the share of random and sequential I/O requests and their "
		       "bytes.\v"
		       "A request is sequential when it starts where the disk's previous one "
		       "ended. "
		       "Every interval seconds (default: once, at the end) print a report and "
		       "start "
		       "a new one; stop after count of them. See ebpftrace-biopattern(8).",
		TOOL_CANDIDATES(candidates),
		TOOL_SKELETON(biopattern),
		.configure = configure,
	};

	return tool_run_reports(&tool, argc, argv, "counts", &counts, "block I/O", &bp.interval,
				&bp.count, print_interval);
}
