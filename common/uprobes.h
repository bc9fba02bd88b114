/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A set of uprobes on the functions of one ELF file, attached by uprobe_multi links where the
 * kernel has them (6.6+: one link per program, far faster to attach and to detach), else by one
 * link per probe. The BPF object carries each program twice: NAME in a "uprobe" or "uretprobe"
 * section, and NAME_multi in its ".multi" twin; uprobes_choose() keeps the one that is used.
 */
#ifndef EBPFTRACE_UPROBES_H
#define EBPFTRACE_UPROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bpf_link;
struct bpf_object;

/* Functions a set can hold; each has up to two probes, and so links. */
#define UPROBES_MAX_FNS 16

/* One function to probe, by name, and the programs for its entry and its return. */
struct uprobe_fn {
	const char *name;     /* without the set's prefix; also its name in messages */
	const char *prog;     /* the entry's program */
	const char *ret_prog; /* the return's program; NULL: none */
	uint64_t cookie;      /* what bpf_get_attach_cookie() gives both */
	bool required;	      /* a file without it is an error; otherwise it is left out */
	bool past_null_check; /* probed past a NULL check of its first argument (skip_null_check) */
};

struct uprobes {
	struct bpf_link *links[2 * UPROBES_MAX_FNS];
	size_t n;
	bool multi; /* through uprobe_multi links, one per program */
};

/*
 * After open, before load: attach by uprobe_multi links or not (multi: whether the kernel takes
 * them, uprobe_multi_supported(); said under -v), and autoload turned off for the twin of every
 * uprobe program that will not be attached.
 */
void uprobes_choose(struct uprobes *u, struct bpf_object *obj, bool multi);
/*
 * After load: probe fns (at most UPROBES_MAX_FNS) of the file at path, named prefix + name, in
 * process pid (-1: every process). A function at the same address as one before it (an alias)
 * is probed once. Returns an exit code, after a one-line message.
 */
int uprobes_attach(struct uprobes *u, struct bpf_object *obj, pid_t pid, const char *path,
		   const char *prefix, const struct uprobe_fn *fns, size_t n);

#endif
