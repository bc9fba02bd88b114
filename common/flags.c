// SPDX-License-Identifier: GPL-2.0
#include <strings.h>
#include "flags.h"

size_t sb_flags(struct strbuf *sb, uint64_t value, const struct flag_name *table, size_t n)
{
	size_t items = 0;

	for (size_t i = 0; i < n && value; i++) {
		if (!table[i].mask || (value & table[i].mask) != table[i].mask)
			continue;
		if (items++)
			sb_putc(sb, '|');
		sb_puts(sb, table[i].name);
		value &= ~table[i].mask;
	}
	if (value) {
		if (items++)
			sb_putc(sb, '|');
		sb_printf(sb, "%#llx", (unsigned long long)value);
	}
	return items;
}

const struct flag_name *flag_by_name(const struct flag_name *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(table[i].name, name))
			return &table[i];
	return NULL;
}
