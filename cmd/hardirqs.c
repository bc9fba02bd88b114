// SPDX-License-Identifier: GPL-2.0
/* ebpftrace hardirqs: time in each interrupt's handlers, as totals or histograms per interval. */
#include "span_stats.h"
#include "hardirqs.skel.h"
#include "cmds.h"
#include "span.h"
#include "tool.h"
#include "util.h"

static const struct out_field key_fields[] = {
	{ "irq", "IRQ", 5 },
	{ "name", "NAME", -20 },
};

static size_t key_of(__u32 irq, const struct span_stats *s, struct hist_key *out)
{
	out[0] = (struct hist_key){ .name = "irq", .num = irq };
	out[1] = (struct hist_key){ .name = "name", .str = s->name, .len = sizeof(s->name) };
	return 2;
}

TOOL_SKELETON_FNS(hardirqs)

int cmd_hardirqs(int argc, char **argv)
{
	static const struct span_report report = {
		.type = "hardirqs",
		.what = "hard interrupts",
		.doc = "Summarize the time spent in hard interrupt handlers, per irq: totals, or "
		       "histograms with --hist, or event counts with -C.\v"
		       "Every interval seconds (default: once, at the end) print the report and "
		       "start a new one; stop after count of them. See ebpftrace-hardirqs(8).",
		.entry_tp = "irq_handler_entry",
		TOOL_SKELETON(hardirqs),
		.key_fields = key_fields,
		.n_key = ARRAY_SIZE(key_fields),
		.key_of = key_of,
	};

	return span_main(&report, argc, argv);
}
