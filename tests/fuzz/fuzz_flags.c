// SPDX-License-Identifier: GPL-2.0
/*
 * Flag names both ways (common/flags.c) and flag lists (parse_list, common/util.c), on a table
 * shaped like open's: flags of several bits (O_SYNC holds O_DSYNC, O_TMPFILE O_DIRECTORY). The
 * first 8 bytes are a value, the rest a list. Properties: NAME|NAME|0xBITS as sb_flags writes
 * it names exactly the value's bits, each once; a list is taken when each item names a flag.
 */
#include <fcntl.h>
#include "flags.h"
#include "fuzz.h"
#include "util.h"

static const struct flag_name table[] = {
	{ O_CREAT, "O_CREAT" },	    { O_EXCL, "O_EXCL" },	  { O_TRUNC, "O_TRUNC" },
	{ O_APPEND, "O_APPEND" },   { O_NONBLOCK, "O_NONBLOCK" }, { O_SYNC, "O_SYNC" },
	{ O_DSYNC, "O_DSYNC" },	    { O_TMPFILE, "O_TMPFILE" },	  { O_DIRECTORY, "O_DIRECTORY" },
	{ O_CLOEXEC, "O_CLOEXEC" }, { O_PATH, "O_PATH" },	  { 0, "O_RDONLY" },
};

/* The bits the text sb_flags wrote names: each name's, and the hex number last. */
static uint64_t bits_named(char *text, size_t items)
{
	uint64_t bits = 0;
	size_t n = 0;

	for (char *save, *item = strtok_r(text, "|", &save); item;
	     item = strtok_r(NULL, "|", &save), n++) {
		const struct flag_name *f = flag_by_name(table, ARRAY_SIZE(table), item);
		uint64_t v = f ? f->mask : strtoull(item, NULL, 16);

		FUZZ_ASSERT(f || !strncmp(item, "0x", 2));
		FUZZ_ASSERT(v && !(bits & v)); /* no bit named twice */
		bits |= v;
	}
	FUZZ_ASSERT(n == items);
	return bits;
}

static bool take_flag(const char *item, void *ctx)
{
	uint64_t *mask = ctx;
	const struct flag_name *f = flag_by_name(table, ARRAY_SIZE(table), item);

	if (!f)
		return false;
	FUZZ_ASSERT(!strcasecmp(f->name, item));
	*mask |= f->mask;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf sb = {};
	struct list_error bad;
	uint64_t value = 0, mask = 0;
	size_t items;
	char *list;

	memcpy(&value, data, size < sizeof(value) ? size : sizeof(value));
	items = sb_flags(&sb, value, table, ARRAY_SIZE(table));
	sb_putc(&sb, '\0');
	FUZZ_ASSERT((items == 0) == (value == 0));
	FUZZ_ASSERT(bits_named(sb.buf, items) == value);
	sb_free(&sb);

	if (size <= sizeof(value))
		return 0;
	list = fuzz_string(data + sizeof(value), size - sizeof(value));
	if (!parse_list(list, take_flag, &mask, &bad))
		FUZZ_ASSERT(bad.item >= list && bad.item + bad.len <= list + strlen(list));
	free(list);
	return 0;
}
