// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include "dispatch.h"

const struct subcommand *subcommand_find(const struct subcommand *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[lb + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *closest_name(const char *const *names, size_t n, const char *name)
{
	const char *best = NULL;
	size_t best_dist = (size_t)-1;
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(name, names[i]);

		/* A prefix ("tcpconn") is as good a hint as a typo. */
		if (len >= 2 && !strncmp(names[i], name, len))
			d = 1;
		if (d < best_dist) {
			best_dist = d;
			best = names[i];
		}
	}
	/* Up to a third of the word may be wrong, and at least one letter. */
	return best && best_dist <= (len / 3 > 1 ? len / 3 : 1) + 1 ? best : NULL;
}
