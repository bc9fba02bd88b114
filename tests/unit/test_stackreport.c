// SPDX-License-Identifier: GPL-2.0
/* Stack reports: sums by stack, most bytes first, and the exact text and JSON of the top ones. */
#include <errno.h>
#include <string.h>
#include "output.h"
#include "stackreport.h"
#include "strbuf.h"
#include "unit.h"

/* No stack map: every stack reads as not recorded. */
static const struct stack_source no_map = { .map_fd = -1, .depth = 4 };
static const struct stack_report_names names = { "allocs", "allocation", "outstanding" };

static void add(struct stack_report *rep, int64_t stack, uint64_t addr, uint64_t bytes,
		uint64_t age_ms)
{
	stack_report_add_item(
		rep, &(struct stack_item){ addr, bytes, rep->now_ns - age_ms * 1000000, stack });
}

TEST(stack_report_sums_and_sorts_by_bytes)
{
	struct stack_report rep;
	uint64_t bytes, count;

	CHECK_INT_EQ(stack_report_init(&rep, 4, false), 0);
	add(&rep, 2, 0x10, 100, 0);
	add(&rep, 2, 0x20, 50, 0);
	add(&rep, 0, 0x30, 400, 0);
	/* Stacks not stored, and ids past the table, share the "no stack" sum. */
	add(&rep, -14, 0x40, 1, 0);
	add(&rep, 9, 0x50, 2, 0);
	stack_report_add(&rep, 3, 7, 1);
	/* Per-stack totals of two failures: both counted in the "no stack" sum. */
	stack_report_add(&rep, -17, 20, 2);
	stack_report_add(&rep, -12, 30, 3);
	stack_report_sort(&rep);
	CHECK_INT_EQ(rep.nsums, 4);
	CHECK_INT_EQ(rep.sums[0].id, 0);
	CHECK_INT_EQ(rep.sums[1].bytes, 150);
	CHECK_INT_EQ(rep.sums[1].count, 2);
	CHECK_INT_EQ(rep.sums[2].bytes, 1 + 2 + 20 + 30);
	CHECK_INT_EQ(rep.sums[2].count, 1 + 1 + 2 + 3);
	CHECK_INT_EQ(rep.sums[3].bytes, 7);
	CHECK_INT_EQ(rep.nitems, 0);
	stack_report_totals(&rep, &bytes, &count);
	CHECK_INT_EQ(bytes, 610);
	CHECK_INT_EQ(count, 11);
	CHECK_INT_EQ(stack_report_shown(&rep, 2), 2);
	CHECK_INT_EQ(stack_report_shown(&rep, 10), 4);
	stack_report_free(&rep);
}

TEST(stack_report_text_lists_items_under_their_stack)
{
	struct stack_report rep;
	struct strbuf sb = {};

	CHECK_INT_EQ(stack_report_init(&rep, 4, true), 0);
	add(&rep, 1, 0x20, 8, 5);
	add(&rep, -1, 0x30, 2, 1);
	add(&rep, 1, 0x10, 8, 9);
	stack_report_sort(&rep);
	stack_report_print(&rep, &no_map, 10, &names, &sb, false);
	CHECK_MEM_EQ(sb.buf, sb.len,
		     "\t16 bytes in 2 allocations from stack\n"
		     "\t\t[stack not recorded]\n"
		     "\t\taddr 0x10, 8 bytes, 9 ms old\n"
		     "\t\taddr 0x20, 8 bytes, 5 ms old\n"
		     "\t2 bytes in 1 allocation from stack\n"
		     "\t\t[stack not recorded]\n"
		     "\t\taddr 0x30, 2 bytes, 1 ms old\n");
	sb_free(&sb);
	stack_report_free(&rep);
}

TEST(stack_report_json_of_the_top_stacks)
{
	struct stack_report rep;
	struct strbuf sb = {};

	CHECK_INT_EQ(stack_report_init(&rep, 4, true), 0);
	add(&rep, 1, 16, 8, 3);
	add(&rep, 2, 32, 4, 0);
	stack_report_sort(&rep);
	stack_report_print(&rep, &no_map, 1, &names, &sb, true);
	CHECK_MEM_EQ(sb.buf, sb.len,
		     "{\"bytes\":8,\"allocs\":1,\"frames\":[],"
		     "\"allocations\":[{\"addr\":16,\"size\":8,\"age_ms\":3}]}");
	sb_free(&sb);
	stack_report_free(&rep);
}

/* What follows the first occurrence of mark in the text, for output that begins with a time. */
static const char *after(struct strbuf *sb, const char *mark)
{
	const char *p;

	sb_putc(sb, '\0'); /* a strbuf is not a C string */
	p = strstr(sb->buf, mark);

	return p ? p + strlen(mark) : "";
}

TEST(stack_report_heading_has_totals_pid_and_only_real_losses)
{
	const struct stack_report_loss losses[] = {
		{ "stacks_lost", "stacks", "stacks could not be stored", 0 },
		{ "allocs_lost", "allocations", "allocations could not be tracked", 3 },
	};
	const struct stack_report_head head = { 42, losses, 2 };
	static const char json_start[] = "{\"type\":\"report\",\"ts_ns\":";
	struct stack_report rep;
	struct strbuf text = {}, json = {};

	CHECK_INT_EQ(stack_report_init(&rep, 4, false), 0);
	add(&rep, 1, 16, 8, 0);
	add(&rep, 2, 32, 4, 0);
	stack_report_sort(&rep);
	stack_report_write(&rep, &no_map, 1, &names, &head, &text, false);
	CHECK_STR_EQ(after(&text, "] "),
		     "12 bytes in 2 allocations outstanding in process 42; top 1 stacks:\n"
		     "\t(3 allocations could not be tracked)\n"
		     "\t8 bytes in 1 allocation from stack\n"
		     "\t\t[stack not recorded]\n\n");
	stack_report_write(&rep, &no_map, 1, &names, &head, &json, true);
	CHECK_STR_EQ(strchr(after(&json, "\"ts_ns\":"), ','),
		     ",\"pid\":42,\"bytes\":12,\"allocs\":2,\"stacks_lost\":0,\"allocs_lost\":3,"
		     "\"stacks\":[{\"bytes\":8,\"allocs\":1,\"frames\":[]}]}\n");
	CHECK(strncmp(json.buf, json_start, sizeof(json_start) - 1) == 0);
	sb_free(&text);
	sb_free(&json);
	stack_report_free(&rep);
}

/* A scan that finds a stack, then fails as a map read can. */
static int failing_scan(void *ctx, struct stack_report *rep)
{
	++*(int *)ctx;
	add(rep, 1, 16, 8, 0);
	return -EIO;
}

TEST(stack_report_run_writes_nothing_when_the_scan_fails)
{
	static const struct stack_report_spec spec = { &names, NULL, 4, 1, false };
	const struct stack_report_head head = { 42, NULL, 0 };
	int scans = 0;

	out_init();
	out_buf()->len = 0;
	CHECK_INT_EQ(stack_report_run(&spec, &no_map, &head, failing_scan, &scans), -EIO);
	CHECK_INT_EQ(scans, 1);
	CHECK_INT_EQ(out_buf()->len, 0);
}
