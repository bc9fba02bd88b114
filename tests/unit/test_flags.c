// SPDX-License-Identifier: GPL-2.0
/* Bit flags as names and back, and comma-separated option lists. */
#include <stdio.h>
#include <strings.h>
#include "flags.h"
#include "util.h"
#include "unit.h"

/* A made-up family with a flag of two bits (like O_TMPFILE, which holds O_DIRECTORY). */
static const struct flag_name table[] = {
	{ 0x1, "F_ONE" }, { 0x6, "F_BOTH" }, { 0x2, "F_TWO" }, { 0x4, "F_FOUR" }, { 0, "F_NONE" },
};

static const char *format(uint64_t v)
{
	static struct strbuf sb;

	sb.len = 0;
	sb_flags(&sb, v, table, ARRAY_SIZE(table));
	sb_putc(&sb, '\0');
	return sb.buf;
}

TEST(flags_format)
{
	CHECK_STR_EQ(format(0), "");
	CHECK_STR_EQ(format(0x1), "F_ONE");
	CHECK_STR_EQ(format(0x3), "F_ONE|F_TWO");
	CHECK_STR_EQ(format(0x6), "F_BOTH");
	CHECK_STR_EQ(format(0x7), "F_ONE|F_BOTH");
	CHECK_STR_EQ(format(0x4), "F_FOUR");
	CHECK_STR_EQ(format(0x19), "F_ONE|0x18");
	CHECK_STR_EQ(format(0x100), "0x100");
}

TEST(flags_items_counted)
{
	struct strbuf sb = {};

	CHECK_INT_EQ(sb_flags(&sb, 0, table, ARRAY_SIZE(table)), 0);
	CHECK_INT_EQ(sb_flags(&sb, 0x7, table, ARRAY_SIZE(table)), 2);
	CHECK_INT_EQ(sb_flags(&sb, 0x19, table, ARRAY_SIZE(table)), 2);
	sb_free(&sb);
}

TEST(flag_by_name)
{
	CHECK(flag_by_name(table, ARRAY_SIZE(table), "F_TWO") == &table[2]);
	CHECK(flag_by_name(table, ARRAY_SIZE(table), "f_both") == &table[1]);
	CHECK(flag_by_name(table, ARRAY_SIZE(table), "F_THREE") == NULL);
	CHECK(flag_by_name(table, ARRAY_SIZE(table), "") == NULL);
}

static bool collect(const char *item, void *ctx)
{
	char *out = ctx;

	if (!strcasecmp(item, "bad"))
		return false;
	strcat(out, "[");
	strcat(out, item);
	strcat(out, "]");
	return true;
}

TEST(opt_list_hands_over_each_item)
{
	char out[128] = "";

	opt_list("--x", "a,bc,d", "a word", collect, out);
	CHECK_STR_EQ(out, "[a][bc][d]");
	out[0] = '\0';
	opt_list("--x", "single", "a word", collect, out);
	CHECK_STR_EQ(out, "[single]");
}
