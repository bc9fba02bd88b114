/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The user side of bpf/span_stats.h: the options of a tool that times spans by key (--hist, -C,
 * -N, [interval [count]]), and every interval the totals (a row per key: count and total time)
 * or the histograms of the span_stats map. Knows the key only through the tool's key_of().
 */
#ifndef EBPFTRACE_SPAN_USER_H
#define EBPFTRACE_SPAN_USER_H

#include <argp.h>
#include "hist.h"
#include "output.h"
#include "span_stats.h"

struct span_report {
	const char *type;     /* the subcommand, and the JSON "type" of a totals row */
	const char *what;     /* "Tracing what." */
	const char *doc;      /* for --help */
	const char *entry_tp; /* the raw tracepoint where a span begins */
	void *(*open)(void);  /* the skeleton's (TOOL_SKELETON) */
	void (*destroy)(void *skel);
	const struct out_field *key_fields; /* the key's columns, in key_of()'s order */
	size_t n_key;			    /* at most SPAN_KEY_FIELDS */
	/* The key's values, named as key_fields; returns how many. */
	size_t (*key_of)(__u32 key, const struct span_stats *s, struct hist_key *out);
};

#define SPAN_KEY_FIELDS 2

/*
 * The whole subcommand: options (--hist, -C, -N, --method, [interval [count]] and the common
 * ones), load with tp_btf or a raw tracepoint, then until the run stops every interval the
 * report of the object's span_stats map; at the end the spans not counted for want of room
 * (lost events). Returns an exit code.
 */
int span_main(const struct span_report *r, int argc, char **argv);

#endif
