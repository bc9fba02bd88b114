/* SPDX-License-Identifier: GPL-2.0 */
/* Bit flags as names (O_CREAT|O_CLOEXEC) and names as bit flags, from a table per flag family. */
#ifndef EBPFTRACE_FLAGS_H
#define EBPFTRACE_FLAGS_H

#include <stddef.h>
#include <stdint.h>
#include "strbuf.h"

struct flag_name {
	uint64_t mask; /* the flag's bits: a flag of several bits is there only when all are set */
	const char *name;
};

/*
 * Append the flags set in value as NAME|NAME, in table order (so a flag of several bits goes
 * before the flags it contains), then the bits no name covers as one hex number. Appends nothing
 * for 0. Returns the number of items appended.
 */
size_t sb_flags(struct strbuf *sb, uint64_t value, const struct flag_name *table, size_t n);

/* The entry called name (exactly, case-insensitively), or NULL. */
const struct flag_name *flag_by_name(const struct flag_name *table, size_t n, const char *name);

#endif
