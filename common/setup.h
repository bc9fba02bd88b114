/* SPDX-License-Identifier: GPL-2.0 */
/* The steps every subcommand takes around its skeleton: checks, mounts, sizing, load errors. */
#ifndef EBPFTRACE_SETUP_H
#define EBPFTRACE_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
 * Create large maps of an open object at the same time, a thread each, ahead of its load, which
 * would make them one after the other: a hash map zeroes its buckets, a preallocated map fills
 * its elements (memleak's two take 20 ms each here). After open and sizing, before load; plain
 * maps only (no BTF-typed fields such as spin locks or timers, no initial contents, not
 * map-in-map), as they are created without BTF. Each map made is handed to libbpf
 * (bpf_map__reuse_fd), which then creates nothing for it; one that fails is left to the load,
 * which says why.
 */
struct bpf_map;
void maps_create_together(struct bpf_map *const *maps, size_t n);

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
