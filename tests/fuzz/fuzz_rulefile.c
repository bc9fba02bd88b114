// SPDX-License-Identifier: GPL-2.0
/*
 * Policy files (common/rulefile.c) with lsm-block's grammar on top: WORD ARG per line, ARG of
 * deny-connect an endpoint (common/netrule.c). Properties: every rule handed on is non-empty
 * text without a comment or surrounding blanks, rules come in line order, and a refusal names
 * FILE:LINE of the rule refused.
 */
#include <ctype.h>
#include "fuzz.h"
#include "netrule.h"
#include "rulefile.h"

struct seen {
	unsigned int last_line;
	unsigned int refused_line;
};

static unsigned int line_of(const char *where)
{
	const char *colon = strrchr(where, ':');

	FUZZ_ASSERT(colon && !strncmp(where, "fuzz:", 5));
	return strtoul(colon + 1, NULL, 10);
}

static bool take_rule(char *line, const char *where, void *ctx, char *err, size_t size)
{
	struct seen *seen = ctx;
	unsigned int n = line_of(where);
	struct net_prefix p;
	struct port_range r;
	char *word;

	FUZZ_ASSERT(*line && !isspace((unsigned char)line[0]));
	FUZZ_ASSERT(!isspace((unsigned char)line[strlen(line) - 1]));
	FUZZ_ASSERT(line[0] != '#');
	for (char *c = line + 1; *c; c++)
		FUZZ_ASSERT(*c != '#' || !isspace((unsigned char)c[-1]));
	FUZZ_ASSERT(n > seen->last_line);
	seen->last_line = n;
	word = rule_word(&line);
	FUZZ_ASSERT(*word && !isspace((unsigned char)*line));
	if (!strcmp(word, "deny-connect") && !net_parse_endpoint(line, &p, &r, err, size)) {
		seen->refused_line = n;
		return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[2 * RULEFILE_ERR_SIZE + 2] = "", prefix[32];
	struct seen seen = {};
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		abort();
	if (!rulefile_parse(f, "fuzz", take_rule, &seen, err, sizeof(err))) {
		snprintf(prefix, sizeof(prefix), "fuzz:%u: ", seen.refused_line);
		FUZZ_ASSERT(seen.refused_line && !strncmp(err, prefix, strlen(prefix)));
	}
	fclose(f);
	return 0;
}
