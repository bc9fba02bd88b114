// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cgroup.h"
#include "events.h"

#define MAX_DEPTH	   64 /* directories below the root we descend into */
#define RESCAN_MIN_SECONDS 1

struct cgroup_entry {
	uint64_t id;
	char *path;
};

static struct {
	struct cgroup_entry *entries; /* sorted by id after a scan */
	size_t n, cap;
	double scanned_at; /* CLOCK_MONOTONIC seconds; 0: never */
} cache;

/* A cgroup's id is its directory's file handle: 8 bytes, on every architecture. */
static bool handle_id(int dirfd, const char *name, int flags, uint64_t *id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	int mount_id;

	if (name_to_handle_at(dirfd, name, &h.fh, &mount_id, flags) ||
	    h.fh.handle_bytes != sizeof(uint64_t))
		return false;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return true;
}

bool cgroup_id_of(const char *path, uint64_t *id)
{
	return handle_id(AT_FDCWD, path, 0, id);
}

/* mountinfo writes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* Where cgroup2 is mounted (*dir) and which of its directories that shows (*root). */
static bool find_cgroup2(char **dir, char **root)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, r[4096], d[4096];
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - ");

		/* id parent major:minor root mountpoint ... - fstype source options */
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) ||
		    sscanf(line, "%*s %*s %*s %4095s %4095s", r, d) != 2)
			continue;
		unescape_octal(r);
		unescape_octal(d);
		*root = strdup(r);
		*dir = strdup(d);
		found = *root && *dir;
	}
	free(line);
	fclose(f);
	return found;
}

static void add_entry(uint64_t id, const char *path)
{
	char *copy = strdup(path);

	if (!copy)
		return;
	if (cache.n == cache.cap) {
		size_t cap = cache.cap ? cache.cap * 2 : 256;
		struct cgroup_entry *e = realloc(cache.entries, cap * sizeof(*e));

		if (!e) {
			free(copy);
			return;
		}
		cache.entries = e;
		cache.cap = cap;
	}
	cache.entries[cache.n++] = (struct cgroup_entry){ id, copy };
}

/* Record dirfd's cgroup as path, then every cgroup below it. Takes dirfd over. */
static void scan_dir(int dirfd, char *path, size_t len, size_t size, int depth)
{
	DIR *d;
	struct dirent *de;
	uint64_t id;

	if (handle_id(dirfd, "", AT_EMPTY_PATH, &id))
		add_entry(id, len ? path : "/");
	d = depth < MAX_DEPTH ? fdopendir(dirfd) : NULL;
	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		size_t nlen = strlen(de->d_name);
		int fd;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    len + 1 + nlen >= size)
			continue;
		fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue; /* removed meanwhile */
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, nlen + 1);
		scan_dir(fd, path, len + 1 + nlen, size, depth + 1);
		path[len] = '\0';
	}
	closedir(d);
}

static int cmp_entry(const void *a, const void *b)
{
	uint64_t x = ((const struct cgroup_entry *)a)->id, y = ((const struct cgroup_entry *)b)->id;

	return x < y ? -1 : x > y;
}

static void scan(void)
{
	char *dir = NULL, *root = NULL, path[4096];
	size_t len = 0;
	int fd;

	cgroup_paths_free();
	cache.scanned_at = monotonic_seconds();
	if (!find_cgroup2(&dir, &root))
		goto out;
	/* A mount of a cgroup below the root shows paths below that one. */
	if (strcmp(root, "/")) {
		len = snprintf(path, sizeof(path), "%s", root);
		if (len >= sizeof(path))
			goto out;
	}
	path[len] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		scan_dir(fd, path, len, sizeof(path), 0);
	qsort(cache.entries, cache.n, sizeof(*cache.entries), cmp_entry);
out:
	free(dir);
	free(root);
}

static const char *lookup(uint64_t id)
{
	struct cgroup_entry key = { .id = id }, *e;

	if (!cache.n)
		return NULL;
	e = bsearch(&key, cache.entries, cache.n, sizeof(*cache.entries), cmp_entry);
	return e ? e->path : NULL;
}

const char *cgroup_path_of(uint64_t id)
{
	const char *path = lookup(id);

	if (!path &&
	    (!cache.scanned_at || monotonic_seconds() - cache.scanned_at >= RESCAN_MIN_SECONDS)) {
		scan();
		path = lookup(id);
	}
	return path;
}

void cgroup_paths_free(void)
{
	for (size_t i = 0; i < cache.n; i++)
		free(cache.entries[i].path);
	free(cache.entries);
	cache.entries = NULL;
	cache.n = cache.cap = 0;
	cache.scanned_at = 0;
}
