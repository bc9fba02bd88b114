// SPDX-License-Identifier: GPL-2.0
/* Inputs the fuzz targets (tests/fuzz) found wrong, each kept here once fixed. */
#include <stdlib.h>
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
