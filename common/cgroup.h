/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup v2 ids and paths. The id is what the kernel knows a cgroup by (bpf_get_current_cgroup_id,
 * the kernfs node id, the directory's file handle); the path is the cgroup's directory below the
 * cgroup2 root, as /proc/PID/cgroup shows it ("/", "/system.slice/cron.service").
 */
#ifndef EBPFTRACE_CGROUP_H
#define EBPFTRACE_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

/* The id of the cgroup2 directory at path; false when it has none (not cgroup2, gone). */
bool cgroup_id_of(const char *path, uint64_t *id);

/*
 * The path of the cgroup with this id, or NULL when there is none (removed, or no cgroup2 mounted).
 * The first call reads the whole hierarchy; later misses read it again, at most once a second.
 * The string lives until cgroup_paths_free().
 */
const char *cgroup_path_of(uint64_t id);
void cgroup_paths_free(void);

#endif
