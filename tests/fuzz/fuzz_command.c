// SPDX-License-Identifier: GPL-2.0
/*
 * Command splitting for memleak -c COMMAND (command_split, common/target.c: wordexp without
 * command substitution). Properties: the result is NULL or one or more words; $(...) and `...`
 * are never run; and where the line uses only quotes, backslashes and blanks, the words are
 * exactly those of a small model of the shell's rules below.
 */
#include "fuzz.h"
#include "target.h"

#define MAX_WORDS 64

/* The characters the model knows: anything else (expansions, operators) leaves it out. */
static bool model_knows(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
		else if (strchr("$`*?[]{}~|&;<>()#!=%^@", *s) || *s == 0x7f)
			return false;
	return true;
}

/* Split line as sh does with only quotes and backslashes; false if a quote is left open. */
static bool model_split(const char *s, char words[][256], size_t *n)
{
	size_t len = 0;
	bool in_word = false;

	*n = 0;
	while (*s) {
		char c = *s++;

		if (c == ' ' || c == '\t') {
			if (in_word)
				words[(*n)++][len] = '\0';
			in_word = false;
			len = 0;
			continue;
		}
		if (!in_word && *n == MAX_WORDS)
			return false;
		in_word = true;
		if (c == '\\') {
			if (!*s)
				return false;
			c = *s++;
		} else if (c == '\'') {
			for (; *s && *s != '\''; s++)
				words[*n][len++] = *s;
			if (!*s++)
				return false;
			continue;
		} else if (c == '"') {
			for (; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1] && strchr("\"\\", s[1]))
					s++;
				words[*n][len++] = *s;
			}
			if (!*s++)
				return false;
			continue;
		}
		words[*n][len++] = c;
	}
	if (in_word)
		words[(*n)++][len] = '\0';
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char words[MAX_WORDS][256];
	char *line, **argv;
	size_t n = 0, expected;
	bool model;

	/* Long lines and many globs only make wordexp walk the file system. */
	if (size > 200)
		return 0;
	line = fuzz_string(data, size);
	model = model_knows(line) && model_split(line, words, &expected);
	argv = command_split(line);
	for (; argv && argv[n]; n++)
		if (model)
			FUZZ_ASSERT(n < expected && !strcmp(argv[n], words[n]));
	FUZZ_ASSERT(!argv || n > 0);
	if (model)
		FUZZ_ASSERT(n == expected);
	command_free(argv);
	free(line);
	return 0;
}
