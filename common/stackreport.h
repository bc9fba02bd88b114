/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A report of the stacks that hold the most bytes: sums per stack id of a BPF stack map, most
 * bytes first, the top N printed frame by frame (text or JSON) and exported as metrics by rank.
 * Optionally the single items (address, size, age) each stack holds, listed under it.
 */
#ifndef EBPFTRACE_STACKREPORT_H
#define EBPFTRACE_STACKREPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct metric_family;
struct strbuf;
struct symbolizer;

/* One stack's bytes and the number of items they are in. */
struct stack_sum {
	int64_t id; /* in the stack map; < 0: the stack could not be stored */
	uint64_t bytes;
	uint64_t count;
};

/* One item a stack holds. */
struct stack_item {
	uint64_t addr;
	uint64_t bytes;
	uint64_t ts_ns; /* CLOCK_MONOTONIC */
	int64_t stack_id;
};

struct stack_report {
	/*
	 * While adding: index stack id + 1, 0 for every stack not stored (and any id past
	 * max_stacks). After stack_report_sort(): the nsums stacks with a count, most bytes first.
	 */
	struct stack_sum *sums;
	size_t nsums;
	size_t max_stacks;
	struct stack_item *items; /* kept only with keep_items; sorted by stack, then age */
	size_t nitems, cap;
	bool keep_items;
	uint64_t now_ns; /* CLOCK_MONOTONIC, when the report began: items' ages are from it */
};

/* Where the stacks are: a BPF stack map of depth frames per stack, and their symbols. */
struct stack_source {
	int map_fd;
	size_t depth;
	struct symbolizer *sym; /* NULL: addresses only */
};

/* How the report names what it counts: for "allocation", the text says "3 allocations". */
struct stack_report_names {
	const char *count_key; /* JSON key of a stack's count, and of the report's */
	const char *noun;      /* text: "N <noun>s from stack"; JSON key of the items: "<noun>s" */
	const char *state;     /* heading: "B bytes in N <noun>s <state>" */
};

/* A count of what the kernel's tables had no room for, told with every report. */
struct stack_report_loss {
	const char *json_key; /* "stacks_lost" */
	const char *label;    /* its value of the lost family's one label: "stacks" */
	const char *text; /* text, after the count: "stacks could not be stored: --max-stacks" */
	uint64_t n;
};

/* Whose report it is, for its heading, and what it could not hold. */
struct stack_report_head {
	pid_t pid; /* 0: the kernel's */
	const struct stack_report_loss *losses;
	size_t nlosses;
};

/*
 * The report as metrics: the totals (gauges), the losses (counter, by label) and the --top
 * families by rank: info (labels rank, stack), bytes and count (label rank).
 */
struct stack_report_metrics {
	struct metric_family *total_bytes, *total_count, *lost;
	struct metric_family *info, *bytes, *count;
};

/*
 * The families of a subcommand's report, as static variables and var, their struct: with
 * prefix "ebpftrace_memleak", state "outstanding" and nouns "allocations", the gauges
 * PREFIX_STATE_bytes and PREFIX_STATE_NOUNS (helped by bytes_help and count_help), the counter
 * PREFIX_untracked_total{what} and, by rank, PREFIX_top_stack_info{rank,stack},
 * PREFIX_top_stack_STATE_bytes{rank} and PREFIX_top_stack_STATE_NOUNS{rank}.
 */
#define STACK_REPORT_METRICS(var, prefix, state, nouns, bytes_help, count_help)              \
	static struct metric_family var##_bytes =                                            \
		METRIC_FAMILY(METRIC_GAUGE, prefix "_" state "_bytes", bytes_help);          \
	static struct metric_family var##_count =                                            \
		METRIC_FAMILY(METRIC_GAUGE, prefix "_" state "_" nouns, count_help);         \
	static struct metric_family var##_lost =                                             \
		METRIC_FAMILY(METRIC_COUNTER, prefix "_untracked_total",                     \
			      "What the kernel's tables had no room for", "what");           \
	static struct metric_family var##_info = METRIC_FAMILY(                              \
		METRIC_INFO, prefix "_top_stack_info",                                       \
		"The --top stacks with the most " state " bytes, by rank", "rank", "stack"); \
	static struct metric_family var##_rank_bytes =                                       \
		METRIC_FAMILY(METRIC_GAUGE, prefix "_top_stack_" state "_bytes",             \
			      "The " state " bytes of the stack of this rank", "rank");      \
	static struct metric_family var##_rank_count =                                       \
		METRIC_FAMILY(METRIC_GAUGE, prefix "_top_stack_" state "_" nouns,            \
			      "The " state " " nouns " of the stack of this rank", "rank");  \
	static const struct stack_report_metrics var = { &var##_bytes,	    &var##_count,    \
							 &var##_lost,	    &var##_info,     \
							 &var##_rank_bytes, &var##_rank_count }

/* For stacks 0 to max_stacks - 1. Returns 0 or -ENOMEM. */
int stack_report_init(struct stack_report *rep, size_t max_stacks, bool keep_items);
void stack_report_free(struct stack_report *rep);

/*
 * A stack's sums (from per-stack totals), added to its slot's: the stacks not stored, each under
 * an id of its own (the errno of the failure), share slot 0.
 */
void stack_report_add(struct stack_report *rep, int64_t id, uint64_t bytes, uint64_t count);
/* One item: added to its stack's sums, and kept with keep_items (dropped when out of memory). */
void stack_report_add_item(struct stack_report *rep, const struct stack_item *item);

/* The stacks with a count to the front, most bytes first; the items by stack, then age. */
void stack_report_sort(struct stack_report *rep);
void stack_report_totals(const struct stack_report *rep, uint64_t *bytes, uint64_t *count);
/* How many stacks the top N are: N, or fewer when fewer hold anything. */
size_t stack_report_shown(const struct stack_report *rep, size_t top);

/*
 * The top stacks, after sorting: text, per stack a line with its sums, its frames and its items;
 * JSON, the stack objects comma-separated (the caller writes the brackets), each with bytes, the
 * count, frames and, when items are kept, the items.
 */
void stack_report_print(const struct stack_report *rep, const struct stack_source *src, size_t top,
			const struct stack_report_names *names, struct strbuf *sb, bool json);
/*
 * The whole report: a heading with the totals and the losses, then the top stacks. Text, a
 * timestamped line and a blank one after the stacks; JSON, one object of type "report" and a
 * newline.
 */
void stack_report_write(const struct stack_report *rep, const struct stack_source *src, size_t top,
			const struct stack_report_names *names,
			const struct stack_report_head *head, struct strbuf *sb, bool json);
/* The same report as metrics (the --top families cleared first); nothing without --metrics. */
void stack_report_export(const struct stack_report *rep, const struct stack_source *src, size_t top,
			 const struct stack_report_metrics *m,
			 const struct stack_report_head *head);

/* What a subcommand reports, for stack_report_run(). */
struct stack_report_spec {
	const struct stack_report_names *names;
	const struct stack_report_metrics *metrics;
	size_t max_stacks, top;
	bool keep_items;
};

/*
 * A whole report: gathered by scan(ctx, rep) (0 or a negative errno), sorted, written to the
 * output (stack_report_write) and exported (stack_report_export). Returns 0, or the negative
 * errno of the allocation or the scan that failed (nothing is written then).
 */
int stack_report_run(const struct stack_report_spec *spec, const struct stack_source *src,
		     const struct stack_report_head *head,
		     int (*scan)(void *ctx, struct stack_report *rep), void *ctx);

#endif
