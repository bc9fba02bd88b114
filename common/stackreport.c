// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include "stackreport.h"
#include "events.h"
#include "metrics.h"
#include "output.h"
#include "strbuf.h"
#include "symbolize.h"

/* The innermost frames of a stack, on one line: a label value of bounded length. */
#define LABEL_FRAMES 16

int stack_report_init(struct stack_report *rep, size_t max_stacks, bool keep_items)
{
	*rep = (struct stack_report){
		.max_stacks = max_stacks,
		.keep_items = keep_items,
		.now_ns = monotonic_ns(),
	};
	rep->sums = calloc(max_stacks + 1, sizeof(*rep->sums));
	return rep->sums ? 0 : -ENOMEM;
}

void stack_report_free(struct stack_report *rep)
{
	free(rep->sums);
	free(rep->items);
}

static size_t sum_index(const struct stack_report *rep, int64_t id)
{
	return id >= 0 && (uint64_t)id < rep->max_stacks ? (size_t)id + 1 : 0;
}

void stack_report_add(struct stack_report *rep, int64_t id, uint64_t bytes, uint64_t count)
{
	struct stack_sum *s = &rep->sums[sum_index(rep, id)];

	s->id = id;
	s->bytes += bytes;
	s->count += count;
}

static void keep_item(struct stack_report *rep, const struct stack_item *item)
{
	if (rep->nitems == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 1024;
		struct stack_item *grown = realloc(rep->items, cap * sizeof(*grown));

		if (!grown)
			return;
		rep->items = grown;
		rep->cap = cap;
	}
	rep->items[rep->nitems++] = *item;
}

void stack_report_add_item(struct stack_report *rep, const struct stack_item *item)
{
	struct stack_sum *s = &rep->sums[sum_index(rep, item->stack_id)];

	s->id = item->stack_id;
	s->bytes += item->bytes;
	s->count++;
	if (rep->keep_items)
		keep_item(rep, item);
}

static int by_bytes(const void *a, const void *b)
{
	const struct stack_sum *x = a, *y = b;

	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static int by_stack_then_age(const void *a, const void *b)
{
	const struct stack_item *x = a, *y = b;

	if (x->stack_id != y->stack_id)
		return x->stack_id < y->stack_id ? -1 : 1;
	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

void stack_report_sort(struct stack_report *rep)
{
	size_t n = 0;

	for (size_t i = 0; i <= rep->max_stacks; i++)
		if (rep->sums[i].count)
			rep->sums[n++] = rep->sums[i];
	rep->nsums = n;
	qsort(rep->sums, n, sizeof(*rep->sums), by_bytes);
	if (rep->nitems) /* items is NULL without keep_items */
		qsort(rep->items, rep->nitems, sizeof(*rep->items), by_stack_then_age);
}

void stack_report_totals(const struct stack_report *rep, uint64_t *bytes, uint64_t *count)
{
	*bytes = *count = 0;
	for (size_t i = 0; i < rep->nsums; i++) {
		*bytes += rep->sums[i].bytes;
		*count += rep->sums[i].count;
	}
}

size_t stack_report_shown(const struct stack_report *rep, size_t top)
{
	return rep->nsums < top ? rep->nsums : top;
}

/* The stack's return addresses, zero after the last; NULL when the map has no such stack. */
static uint64_t *lookup_stack(const struct stack_source *src, int64_t id)
{
	uint32_t key = id;
	uint64_t *ips;

	if (id < 0)
		return NULL;
	ips = calloc(src->depth, sizeof(*ips));
	if (ips && bpf_map_lookup_elem(src->map_fd, &key, ips)) {
		free(ips);
		return NULL;
	}
	return ips;
}

static void print_frames(const struct stack_source *src, int64_t id, struct strbuf *sb, bool json)
{
	uint64_t *ips = lookup_stack(src, id);

	if (!ips) {
		if (!json)
			sb_puts(sb, "\t\t[stack not recorded]\n");
		return;
	}
	/* The first frame is where the stack's function returns to: like the rest. */
	sym_stack(src->sym, ips, src->depth, sb, json, "\t\t");
	free(ips);
}

/* The items of one stack: they are sorted by stack, then age. */
static void print_items(const struct stack_report *rep, int64_t id, struct strbuf *sb, bool json)
{
	bool first = true;

	for (size_t i = 0; i < rep->nitems; i++) {
		const struct stack_item *it = &rep->items[i];
		uint64_t age_ms = (rep->now_ns - it->ts_ns) / 1000000;

		if (sum_index(rep, it->stack_id) != sum_index(rep, id))
			continue;
		if (json)
			sb_printf(sb, "%s{\"addr\":%llu,\"size\":%llu,\"age_ms\":%llu}",
				  first ? "" : ",", (unsigned long long)it->addr,
				  (unsigned long long)it->bytes, (unsigned long long)age_ms);
		else
			sb_printf(sb, "\t\taddr 0x%llx, %llu bytes, %llu ms old\n",
				  (unsigned long long)it->addr, (unsigned long long)it->bytes,
				  (unsigned long long)age_ms);
		first = false;
	}
}

static void print_json(const struct stack_report *rep, const struct stack_source *src, size_t i,
		       const struct stack_report_names *names, struct strbuf *sb)
{
	const struct stack_sum *s = &rep->sums[i];

	sb_printf(sb, "%s{\"bytes\":%llu,\"%s\":%llu,\"frames\":[", i ? "," : "",
		  (unsigned long long)s->bytes, names->count_key, (unsigned long long)s->count);
	print_frames(src, s->id, sb, true);
	sb_putc(sb, ']');
	if (rep->keep_items) {
		sb_printf(sb, ",\"%ss\":[", names->noun);
		print_items(rep, s->id, sb, true);
		sb_putc(sb, ']');
	}
	sb_putc(sb, '}');
}

static void print_text(const struct stack_report *rep, const struct stack_source *src, size_t i,
		       const struct stack_report_names *names, struct strbuf *sb)
{
	const struct stack_sum *s = &rep->sums[i];

	sb_printf(sb, "\t%llu bytes in %llu %s%s from stack\n", (unsigned long long)s->bytes,
		  (unsigned long long)s->count, names->noun, s->count == 1 ? "" : "s");
	print_frames(src, s->id, sb, false);
	print_items(rep, s->id, sb, false);
}

void stack_report_print(const struct stack_report *rep, const struct stack_source *src, size_t top,
			const struct stack_report_names *names, struct strbuf *sb, bool json)
{
	size_t shown = stack_report_shown(rep, top);

	for (size_t i = 0; i < shown; i++)
		if (json)
			print_json(rep, src, i, names, sb);
		else
			print_text(rep, src, i, names, sb);
}

static void write_json_head(const struct stack_report *rep, const struct stack_report_names *names,
			    const struct stack_report_head *head, struct strbuf *sb)
{
	uint64_t bytes, count;

	stack_report_totals(rep, &bytes, &count);
	sb_printf(sb, "{\"type\":\"report\",\"ts_ns\":%llu", (unsigned long long)wall_now_ns());
	if (head->pid)
		sb_printf(sb, ",\"pid\":%d", head->pid);
	sb_printf(sb, ",\"bytes\":%llu,\"%s\":%llu", (unsigned long long)bytes, names->count_key,
		  (unsigned long long)count);
	for (size_t i = 0; i < head->nlosses; i++)
		sb_printf(sb, ",\"%s\":%llu", head->losses[i].json_key,
			  (unsigned long long)head->losses[i].n);
	sb_puts(sb, ",\"stacks\":[");
}

static void write_text_head(const struct stack_report *rep, size_t top,
			    const struct stack_report_names *names,
			    const struct stack_report_head *head, struct strbuf *sb)
{
	uint64_t bytes, count;
	char when[32];

	stack_report_totals(rep, &bytes, &count);
	format_local_time(wall_now_ns(), when, sizeof(when));
	sb_printf(sb, "[%s] %llu bytes in %llu %ss %s", when, (unsigned long long)bytes,
		  (unsigned long long)count, names->noun, names->state);
	if (head->pid)
		sb_printf(sb, " in process %d", head->pid);
	sb_printf(sb, "; top %zu stacks:\n", stack_report_shown(rep, top));
	for (size_t i = 0; i < head->nlosses; i++)
		if (head->losses[i].n)
			sb_printf(sb, "\t(%llu %s)\n", (unsigned long long)head->losses[i].n,
				  head->losses[i].text);
}

void stack_report_write(const struct stack_report *rep, const struct stack_source *src, size_t top,
			const struct stack_report_names *names,
			const struct stack_report_head *head, struct strbuf *sb, bool json)
{
	if (json)
		write_json_head(rep, names, head, sb);
	else
		write_text_head(rep, top, names, head, sb);
	stack_report_print(rep, src, top, names, sb, json);
	sb_puts(sb, json ? "]}\n" : "\n");
}

static void stack_label(const struct stack_source *src, int64_t id, struct strbuf *sb)
{
	uint64_t *ips = lookup_stack(src, id);

	sb->len = 0;
	if (!ips)
		sb_puts(sb, "[stack not recorded]");
	else
		sym_stack_folded(src->sym, ips,
				 src->depth < LABEL_FRAMES ? src->depth : LABEL_FRAMES, sb);
	sb_putc(sb, '\0');
	free(ips);
}

void stack_report_export(const struct stack_report *rep, const struct stack_source *src, size_t top,
			 const struct stack_report_metrics *m, const struct stack_report_head *head)
{
	size_t shown = stack_report_shown(rep, top);
	struct strbuf label = {};
	uint64_t bytes, count;
	char rank[24];

	if (!metrics_on())
		return;
	stack_report_totals(rep, &bytes, &count);
	metrics_set(m->total_bytes, NULL, bytes);
	metrics_set(m->total_count, NULL, count);
	for (size_t i = 0; i < head->nlosses; i++)
		metrics_set(m->lost, METRIC_VALUES(head->losses[i].label), head->losses[i].n);
	metrics_clear(m->info);
	metrics_clear(m->bytes);
	metrics_clear(m->count);
	for (size_t i = 0; i < shown; i++) {
		snprintf(rank, sizeof(rank), "%zu", i + 1);
		stack_label(src, rep->sums[i].id, &label);
		metrics_set(m->info, METRIC_VALUES(rank, label.buf), 1);
		metrics_set(m->bytes, METRIC_VALUES(rank), rep->sums[i].bytes);
		metrics_set(m->count, METRIC_VALUES(rank), rep->sums[i].count);
	}
	sb_free(&label);
}

int stack_report_run(const struct stack_report_spec *spec, const struct stack_source *src,
		     const struct stack_report_head *head,
		     int (*scan)(void *ctx, struct stack_report *rep), void *ctx)
{
	struct stack_report rep;
	int err = stack_report_init(&rep, spec->max_stacks, spec->keep_items);

	if (!err)
		err = scan(ctx, &rep);
	if (!err) {
		stack_report_sort(&rep);
		stack_report_write(&rep, src, spec->top, spec->names, head, out_buf(), out_json());
		out_flush();
		stack_report_export(&rep, src, spec->top, spec->metrics, head);
	}
	stack_report_free(&rep);
	return err;
}
