// SPDX-License-Identifier: GPL-2.0
/* Inputs the fuzz targets (tests/fuzz) found wrong, each kept here once fixed. */
#include <stdlib.h>
#include "opts.h"
#include "output.h"
#include "target.h"
#include "unit.h"

static size_t words(char **argv)
{
	size_t n = 0;

	while (argv && argv[n])
		n++;
	return n;
}

/* glibc's wordexp made a word of an empty quote at the start of a word: ''a gave "" and a. */
TEST(command_split_empty_quotes_are_no_word_of_their_own)
{
	char **argv = command_split("''a x\"\"'' ''''''");

	CHECK_INT_EQ(words(argv), 3);
	if (words(argv) == 3) {
		CHECK_STR_EQ(argv[0], "a");
		CHECK_STR_EQ(argv[1], "x");
		CHECK_STR_EQ(argv[2], "");
	}
	command_free(argv);
	argv = command_split("'''x' \"\"\"\"");
	CHECK_INT_EQ(words(argv), 2);
	if (words(argv) == 2) {
		CHECK_STR_EQ(argv[0], "x");
		CHECK_STR_EQ(argv[1], "");
	}
	command_free(argv);
}

/* A quote at the very end of the line: nothing is read past it. */
TEST(command_split_open_quote_at_the_end)
{
	CHECK(command_split("a '") == NULL);
	CHECK(command_split("\"") == NULL);
}

/* A result below -4095 is no errno: its name is its number, and -INT64_MIN is not computed. */
TEST(out_result_far_below_the_errnos)
{
	static const struct out_field ret = { "ret", "RET", 0 };
	struct strbuf *sb = out_buf();

	common_opts.json = true;
	common_opts.timestamp = false;
	out_init();
	sb->len = 0;
	out_row_begin("x", 0);
	out_result(&ret, INT64_MIN);
	out_row_end();
	CHECK_MEM_EQ(sb->buf, sb->len,
		     "{\"type\":\"x\",\"ret\":-9223372036854775808,"
		     "\"error\":\"-9223372036854775808\"}\n");
	sb->len = 0;
	out_result(&ret, -2);
	CHECK_MEM_EQ(sb->buf, sb->len, ",\"ret\":-2,\"error\":\"ENOENT\"");
	sb->len = 0;
	common_opts.json = false;
	out_init();
}
