// SPDX-License-Identifier: GPL-2.0
/* Subcommand lookup and "did you mean" suggestions. */
#include "dispatch.h"
#include "unit.h"

static int run_a(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 7;
}

static const struct subcommand table[] = {
	{ "exec", "x", run_a, NULL },
	{ "tcpconnlat", "y", run_a, NULL },
	{ "lsm-block", "z", run_a, NULL },
};

static const char *const names[] = { "exec", "open", "kill", "tcpconnlat", "runqlat", "help" };

TEST(find_subcommand)
{
	const struct subcommand *s = subcommand_find(table, 3, "tcpconnlat");

	CHECK(s == &table[1]);
	CHECK_INT_EQ(s->run(0, NULL), 7);
	CHECK(subcommand_find(table, 3, "tcp") == NULL);
	CHECK(subcommand_find(table, 3, "") == NULL);
}

TEST(edit_distance)
{
	CHECK_INT_EQ(edit_distance("exec", "exec"), 0);
	CHECK_INT_EQ(edit_distance("exce", "exec"), 2);
	CHECK_INT_EQ(edit_distance("", "abc"), 3);
	CHECK_INT_EQ(edit_distance("kitten", "sitting"), 3);
}

TEST(suggestions)
{
	CHECK_STR_EQ(closest_name(names, 6, "exce"), "exec");
	CHECK_STR_EQ(closest_name(names, 6, "opn"), "open");
	CHECK_STR_EQ(closest_name(names, 6, "runqlatt"), "runqlat");
	CHECK_STR_EQ(closest_name(names, 6, "tcpconn"), "tcpconnlat");
	CHECK(closest_name(names, 6, "zzzzzzzz") == NULL);
	CHECK(closest_name(names, 6, "x") == NULL);
}
