/* SPDX-License-Identifier: GPL-2.0 */
/* Subcommand lookup for cmd/main.c's table, and "did you mean" suggestions. */
#ifndef EBPFTRACE_DISPATCH_H
#define EBPFTRACE_DISPATCH_H

#include <stddef.h>

struct subcommand {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is "ebpftrace <name>" */
	/*
	 * The arguments `ebpftrace check` runs it with, for a subcommand that needs some (NULL:
	 * none). The check runs in a network namespace of its own (common/check.h).
	 */
	const char *const *check_args;
};

const struct subcommand *subcommand_find(const struct subcommand *table, size_t n,
					 const char *name);
/* Levenshtein distance, for suggestions. */
size_t edit_distance(const char *a, const char *b);
/* The name in names closest to name when it is plausibly a typo of it, else NULL. */
const char *closest_name(const char *const *names, size_t n, const char *name);

#endif
