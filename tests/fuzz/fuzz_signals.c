// SPDX-License-Identifier: GPL-2.0
/*
 * Signal names and lists (common/signals.c, parse_list in common/util.c), as kill --signal takes
 * them. Properties: a parsed signal is 0 to SIGNAL_MAX and its printed name parses back to it; a
 * list is accepted exactly when every comma-separated item is a signal, and a refusal points at
 * an item of the input.
 */
#include "fuzz.h"
#include "signals.h"
#include "util.h"

static bool take_signal(const char *item, void *ctx)
{
	unsigned int *n = ctx;
	char name[SIGNAL_NAME_SIZE];
	int sig = signal_parse(item);

	if (sig < 0)
		return false;
	FUZZ_ASSERT(sig <= SIGNAL_MAX);
	FUZZ_ASSERT(signal_parse(signal_name(sig, name, sizeof(name))) == sig);
	(*n)++;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	struct list_error bad;
	unsigned int n = 0, commas = 0;

	for (const char *c = s; *c; c++)
		commas += *c == ',';
	if (parse_list(s, take_signal, &n, &bad)) {
		FUZZ_ASSERT(n == commas + 1);
	} else {
		FUZZ_ASSERT(bad.item >= s && bad.item + bad.len <= s + strlen(s));
		FUZZ_ASSERT(bad.item[bad.len] == ',' || bad.item[bad.len] == '\0');
		FUZZ_ASSERT(bad.item == s || bad.item[-1] == ',');
	}
	free(s);
	return 0;
}
