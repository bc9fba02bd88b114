/* SPDX-License-Identifier: GPL-2.0 */
/* The steps every subcommand takes around its skeleton: checks, mounts, sizing, load errors. */
#ifndef EBPFTRACE_SETUP_H
#define EBPFTRACE_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <linux/bpf.h>
#include <linux/capability.h>

/* Older kernel headers lack the capabilities of 5.8. */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

struct bpf_object;
struct bpf_object_skeleton;

/*
 * Before opening a skeleton: privileges, kernel BTF, the --cgroup path, libbpf's messages. Returns
 * EXIT_OK or an exit code to return.
 */
int setup_system(void);
/*
 * The capabilities setup_system() requires, as a mask of 1 << CAP_x (default CAP_BPF and
 * CAP_PERFMON; CAP_SYS_ADMIN stands in for both, as in the kernel). Call before it.
 */
void setup_require_caps(uint64_t caps);
/* Whether this process has the capability cap in its effective set. */
bool have_cap(int cap);

/*
 * Mount tracefs if it is not there yet, in a private mount namespace. Returns 0 or a negative
 * errno (-v says why). skel_try_load() calls it for objects with tracepoint programs.
 */
int ensure_tracefs(void);
/* The same for securityfs at /sys/kernel/security (the list of active LSMs). */
int ensure_securityfs(void);
/* Whether the tracepoint category/name exists (mounting tracefs if need be). */
bool tracepoint_exists(const char *category, const char *name);

/*
 * The rest of a skeleton's life before tracing, once it is open and its .rodata is written: mount
 * tracefs if a tracepoint program needs it, size the ring buffer (--ringbuf-size), load, hand
 * over the --cgroup directory, and attach unless the caller attaches itself. Pass
 * skel->skeleton. Returns 0, or a negative errno with *step set to what failed.
 */
int skel_try_load(struct bpf_object_skeleton *skel, bool attach, const char **step);
/* The same with a one-line error; returns an exit code. On failure the caller destroys. */
int skel_load_attach(struct bpf_object_skeleton *skel);

/*
 * A map too large to make before the load, as it would hold the load up: a hash map zeroes its
 * buckets, a preallocated map fills its elements (memleak's take 10-20 ms each here). The
 * programs reach it through a one-slot BPF_MAP_TYPE_ARRAY_OF_MAPS (LATE_MAP_SLOT in
 * bpf/common.bpf.h), made at once; a thread makes the map and puts it in the slot while they load
 * and attach, and late_map_wait() waits for that before tracing starts. Until then the programs
 * find the slot empty. Plain maps only, made without BTF.
 * Set the definition, then late_map_start(); late_map_bind() each skeleton's slot before its
 * load; late_map_wait() after it; late_map_free() at the end, whatever happened.
 */
struct late_map {
	enum bpf_map_type type;
	const char *name;
	__u32 key_size, value_size, max_entries, flags;
	/* set by late_map_start() */
	int slot_fd;
	int fd, err; /* the map, once made; or why not */
	pthread_t thread;
	bool started, live;
};
/* 0, or a negative errno (not even the slot could be made). */
int late_map_start(struct late_map *m);
struct bpf_map;
int late_map_bind(struct late_map *m, struct bpf_map *slot);
/* The map is in its slot: 0, or a negative errno. */
int late_map_wait(struct late_map *m);
void late_map_free(struct late_map *m);

/*
 * Destroy BPF links concurrently, a thread each: closing a perf-event link (tracepoint, kprobe,
 * uprobe) waits for the kernel's RCU grace periods, tens of milliseconds apiece, and waits that
 * overlap share them. Sets the pointers to NULL.
 */
struct bpf_link;
void links_destroy(struct bpf_link **links, size_t n);
/*
 * Detach the links of a skeleton (NULL: none) and extra links of the subcommand's own, all at
 * once as links_destroy() does; the skeleton's destroy then has none left to close one by one.
 */
void skel_detach(struct bpf_object_skeleton *s, struct bpf_link **extra, size_t n_extra);

/* A one-line explanation of a failed load or attach; returns the exit code to use. */
int report_bpf_error(const char *what, int err);

#endif
