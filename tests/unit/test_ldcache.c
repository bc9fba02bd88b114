// SPDX-License-Identifier: GPL-2.0
/* Libraries found through the dynamic linker's cache, in a cache of glibc's format made here. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "uprobe.h"
#include "unit.h"

#define OURS 0x0303 /* x86-64 (the only architecture the unit tests build for here) */

struct entry {
	int32_t flags;
	const char *name, *file;
	uint64_t hwcap;
};

static char dir[] = "/tmp/ebt-ldcache-XXXXXX";

/* A file in dir, and path to it. */
static void touch(const char *name, char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f)
		fclose(f);
}

/* The cache: head (48 bytes), entries (24 each), then the strings they point at. */
static void write_cache(const char *path, const struct entry *e, size_t n, const char *magic)
{
	uint8_t buf[4096] = {};
	size_t strings = 48 + 24 * n;
	uint32_t nlibs = n;
	FILE *f = fopen(path, "w");

	memcpy(buf, magic, strlen(magic));
	memcpy(buf + 20, &nlibs, 4);
	for (size_t i = 0; i < n; i++) {
		uint8_t *ent = buf + 48 + 24 * i;
		uint32_t key = strings, value;

		strcpy((char *)buf + strings, e[i].name);
		strings += strlen(e[i].name) + 1;
		value = strings;
		strcpy((char *)buf + strings, e[i].file);
		strings += strlen(e[i].file) + 1;
		memcpy(ent, &e[i].flags, 4);
		memcpy(ent + 4, &key, 4);
		memcpy(ent + 8, &value, 4);
		memcpy(ent + 16, &e[i].hwcap, 8);
	}
	if (f) {
		fwrite(buf, 1, strings, f);
		fclose(f);
	}
}

TEST(ldcache_finds_one_file_by_name_and_refuses_ambiguity)
{
	char foo1[512], foo_dev[512], bar1[512], bar2[512], hw[512], cache[512], got[512];
	char resolved[PATH_MAX];

	CHECK(mkdtemp(dir) != NULL);
	touch("libfoo.so.1", foo1, sizeof(foo1));
	snprintf(foo_dev, sizeof(foo_dev), "%s/libfoo.so", dir);
	CHECK(symlink(foo1, foo_dev) == 0);
	touch("libbar.so.1", bar1, sizeof(bar1));
	touch("libbar.so.2", bar2, sizeof(bar2));
	touch("libhw.so.1", hw, sizeof(hw));
	snprintf(cache, sizeof(cache), "%s/ld.so.cache", dir);
	const struct entry entries[] = {
		{ OURS, "libbar.so.1", bar1, 0 },   { OURS, "libbar.so.2", bar2, 0 },
		{ OURS, "libfoo.so", foo_dev, 0 },  { OURS, "libfoo.so.1", foo1, 0 },
		{ OURS, "libhw.so.1", hw, 0 },	    { OURS, "libhw.so.1", hw, 1 << 2 },
		{ 0x0003, "libold.so.1", foo1, 0 }, /* a 32-bit library's entry */
	};
	write_cache(cache, entries, sizeof(entries) / sizeof(entries[0]), "glibc-ld.so.cache1.1");

	/* The -dev link and the soname are one file. */
	CHECK_INT_EQ(ldcache_find_library(cache, "libfoo", got, sizeof(got)), 0);
	CHECK(realpath(foo1, resolved) != NULL);
	CHECK_STR_EQ(got, resolved);
	CHECK_INT_EQ(ldcache_find_library(cache, "libbar", got, sizeof(got)), -EEXIST);
	CHECK_INT_EQ(ldcache_find_library(cache, "libbar.so.2", got, sizeof(got)), 0);
	CHECK(realpath(bar2, resolved) != NULL);
	CHECK_STR_EQ(got, resolved);
	/* A build for a CPU level: the linker picks at run time, so we cannot. */
	CHECK_INT_EQ(ldcache_find_library(cache, "libhw", got, sizeof(got)), -EEXIST);
	CHECK_INT_EQ(ldcache_find_library(cache, "libold", got, sizeof(got)), -ENOENT);
	CHECK_INT_EQ(ldcache_find_library(cache, "libfo", got, sizeof(got)), -ENOENT);
	CHECK_INT_EQ(ldcache_find_library("/nonexistent/ld.so.cache", "libfoo", got, sizeof(got)),
		     -ENOENT);
	write_cache(cache, entries, 2, "ld.so-1.7.0");
	CHECK_INT_EQ(ldcache_find_library(cache, "libbar", got, sizeof(got)), -ENOEXEC);

	unlink(cache);
	unlink(foo_dev);
	unlink(foo1);
	unlink(bar1);
	unlink(bar2);
	unlink(hw);
	rmdir(dir);
}
