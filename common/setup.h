/* SPDX-License-Identifier: GPL-2.0 */
/* The steps every subcommand takes around its skeleton: checks, mounts, sizing, load errors. */
#ifndef EBPFTRACE_SETUP_H
#define EBPFTRACE_SETUP_H

#include <stdbool.h>

struct bpf_object;
struct bpf_object_skeleton;

/*
 * Before opening a skeleton: privileges, kernel BTF, tracefs (mounted in a private mount namespace
 * when absent), the --cgroup path, libbpf's messages. Returns EXIT_OK or an exit code to return.
 */
int setup_system(void);

/* Mount tracefs if it is not there yet. Returns 0 or a negative errno. */
int ensure_tracefs(void);
/* Whether the tracepoint category/name exists (needs tracefs). */
bool tracepoint_exists(const char *category, const char *name);

/* After open, before load: size the ring buffer from --ringbuf-size. */
int setup_before_load(struct bpf_object *obj);
/* After load: hand the --cgroup directory to the BPF side. Returns an exit code. */
int setup_after_load(struct bpf_object *obj);

/*
 * The rest of a skeleton's life before tracing, once it is open and its .rodata is written:
 * setup_before_load, load, setup_after_load, attach, with one-line errors. Pass skel->skeleton.
 * Returns an exit code; on failure the caller only destroys the skeleton.
 */
int skel_load_attach(struct bpf_object_skeleton *skel);

/* A one-line explanation of a failed load or attach; returns the exit code to use. */
int report_bpf_error(const char *what, int err);

#endif
