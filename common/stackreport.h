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

#endif
