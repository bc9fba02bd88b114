// SPDX-License-Identifier: GPL-2.0
/* Policy files: comments, blanks, FILE:LINE, the first word of a rule, its kind and path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rulefile.h"
#include "unit.h"

struct seen {
	char text[8][64];
	char where[8][64];
	int n;
};

static bool keep(char *line, const char *where, void *ctx, char *err, size_t size)
{
	struct seen *s = ctx;

	(void)err;
	(void)size;
	if (s->n < 8) {
		snprintf(s->text[s->n], sizeof(s->text[0]), "%s", line);
		snprintf(s->where[s->n], sizeof(s->where[0]), "%s", where);
	}
	s->n++;
	return true;
}

TEST(rulefile_skips_comments_and_blanks_and_numbers_lines)
{
	char path[] = "/tmp/ebt-rulefile-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "# comment\n\n  deny-exec /bin/true  \n\t\ndeny-open /a#b # note\n"
			   "   # indented comment\nlast-line-without-newline";
	struct seen s = {};
	char where[64];

	CHECK(fd >= 0);
	CHECK_INT_EQ(write(fd, text, strlen(text)), strlen(text));
	close(fd);
	rulefile_read(path, keep, &s);
	unlink(path);
	CHECK_INT_EQ(s.n, 3);
	CHECK_STR_EQ(s.text[0], "deny-exec /bin/true");
	snprintf(where, sizeof(where), "%s:3", path);
	CHECK_STR_EQ(s.where[0], where);
	/* '#' inside a word is part of it; after a blank it starts a comment. */
	CHECK_STR_EQ(s.text[1], "deny-open /a#b");
	snprintf(where, sizeof(where), "%s:5", path);
	CHECK_STR_EQ(s.where[1], where);
	CHECK_STR_EQ(s.text[2], "last-line-without-newline");
}

TEST(rule_word_splits_off_the_first_word)
{
	char buf[] = "deny-open   write-only /some path";
	char *line = buf;

	CHECK_STR_EQ(rule_word(&line), "deny-open");
	CHECK_STR_EQ(line, "write-only /some path");
	CHECK_STR_EQ(rule_word(&line), "write-only");
	CHECK_STR_EQ(line, "/some path");

	char one[] = "deny-exec";
	line = one;
	CHECK_STR_EQ(rule_word(&line), "deny-exec");
	CHECK_STR_EQ(line, "");
}

TEST(rule_kind_finds_the_word_or_lists_the_expected_ones)
{
	static const char *const words[] = { "deny-connect", "deny-exec", "deny-open" };
	char err[RULEFILE_ERR_SIZE] = "";

	CHECK_INT_EQ(rule_kind("deny-exec", words, 3, err, sizeof(err)), 1);
	CHECK_INT_EQ(rule_kind("allow-open", words, 3, err, sizeof(err)), -1);
	CHECK_STR_EQ(err,
		     "unknown rule 'allow-open' (expected deny-connect, deny-exec or deny-open)");
	CHECK_INT_EQ(rule_kind("x", words, 1, err, sizeof(err)), -1);
	CHECK_STR_EQ(err, "unknown rule 'x' (expected deny-connect)");
	/* A message cut short by a small buffer stays a terminated string. */
	CHECK_INT_EQ(rule_kind("allow-open", words, 3, err, 24), -1);
	CHECK_STR_EQ(err, "unknown rule 'allow-ope");
}

TEST(rule_path_stat_names_the_rule_when_the_path_is_wrong)
{
	char err[RULEFILE_ERR_SIZE];
	struct stat st;

	CHECK(rule_path_stat("deny-exec", "/", &st, err, sizeof(err)));
	CHECK(S_ISDIR(st.st_mode));
	CHECK(!rule_path_stat("deny-exec", "/no/such/ebt", &st, err, sizeof(err)));
	CHECK_STR_EQ(err, "invalid deny-exec '/no/such/ebt': No such file or directory");
	CHECK(!rule_path_stat("deny-open", "", &st, err, sizeof(err)));
	CHECK_STR_EQ(err, "a path is missing after 'deny-open'");
}
