// SPDX-License-Identifier: GPL-2.0
/* ebpftrace softirqs: time spent in each softirq vector, as totals or histograms per interval. */
#include "span_stats.h"
#include "softirqs.skel.h"
#include "cmds.h"
#include "span.h"
#include "tool.h"
#include "util.h"

/* include/linux/interrupt.h, in the kernel's own spelling (/proc/softirqs) */
static const char *const vec_names[] = {
	"HI",	    "TIMER",   "NET_TX", "NET_RX",  "BLOCK",
	"IRQ_POLL", "TASKLET", "SCHED",	 "HRTIMER", "RCU",
};

static const struct out_field key_fields[] = {
	{ "softirq", "SOFTIRQ", -10 },
	{ "vec", NULL, 0 },
};

static size_t key_of(__u32 vec, const struct span_stats *s, struct hist_key *out)
{
	(void)s;
	out[0] = (struct hist_key){ .name = "softirq",
				    .str = vec < ARRAY_SIZE(vec_names) ? vec_names[vec] : "?",
				    .len = SIZE_MAX };
	out[1] = (struct hist_key){ .name = "vec", .num = vec };
	return 2;
}

TOOL_SKELETON_FNS(softirqs)

int cmd_softirqs(int argc, char **argv)
{
	static const struct span_report report = {
		.type = "softirqs",
		.what = "softirqs",
		.doc = "Summarize the time spent in softirqs, per vector: totals, or histograms "
		       "with "
		       "--hist, or event counts with -C.\v"
		       "Every interval seconds (default: once, at the end) print the report and "
		       "start a new one; stop after count of them. See ebpftrace-softirqs(8).",
		.entry_tp = "softirq_entry",
		TOOL_SKELETON(softirqs),
		.key_fields = key_fields,
		.n_key = ARRAY_SIZE(key_fields),
		.key_of = key_of,
	};

	return span_main(&report, argc, argv);
}
