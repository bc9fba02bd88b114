/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Programs on a network device's ingress or egress: a TCX link where the kernel has one (6.6+),
 * placed before every other program and owned by our file descriptor (so that even SIGKILL
 * leaves nothing), else a cls_bpf filter in direct-action mode under a clsact qdisc (libbpf's
 * bpf_tc_* netlink calls), which outlives us unless removed. Nothing we did not create is
 * removed: the qdisc goes only when we added it and no filter is left under it.
 */
#ifndef EBPFTRACE_TCATTACH_H
#define EBPFTRACE_TCATTACH_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_program;
struct bpf_link;

enum tc_attach_kind {
	TC_ATTACH_NONE,
	TC_ATTACH_TCX,
	TC_ATTACH_CLSACT,
};

struct tc_attachment {
	enum tc_attach_kind kind; /* what is attached */
	int ifindex;
	bool egress;
	struct bpf_link *link;	   /* TCX */
	bool qdisc_created;	   /* clsact: the qdisc is ours */
	uint32_t handle, priority; /* clsact: our filter */
};

/* "tcx", "clsact" (NULL for nothing); and back, -1 for other names. */
const char *tc_attach_name(enum tc_attach_kind k);
int tc_attach_by_name(const char *name);

/*
 * Before the load: what prog expects to be attached to. A kernel without TCX (before 6.6) refuses
 * to load a program meant for TCX, with EINVAL: load it again for clsact then.
 */
void tc_prepare(struct bpf_program *prog, bool egress, enum tc_attach_kind kind);

/*
 * Attach prog on ifindex by kind (TCX or clsact), first in the chain. Returns 0, or a negative
 * errno with *step set to what failed; EINVAL from TCX means the kernel has none.
 */
int tc_attach(struct tc_attachment *a, const struct bpf_program *prog, int ifindex, bool egress,
	      enum tc_attach_kind kind, const char **step);

/*
 * Open and load the BPF object for kind (calling tc_prepare() on its programs), giving its
 * ingress and egress programs in progs. 0, or a negative errno with *step set.
 */
typedef int (*tc_load_fn)(enum tc_attach_kind kind, void *ctx, struct bpf_program **progs,
			  const char **step);

/*
 * Load with load and attach on ifindex the programs of the directions in dirs ([0] ingress,
 * [1] egress) into att[0..1]: by TCX, and where the kernel has none (EINVAL) by clsact, each try
 * from a fresh load; want other than TC_ATTACH_NONE: that way only. 0, or a negative errno with
 * *step set and nothing left attached.
 */
int tc_load_attach(enum tc_attach_kind want, int ifindex, const bool dirs[2], tc_load_fn load,
		   void *ctx, struct tc_attachment att[2], const char **step);

/*
 * tc_load_attach() as tc_attach_opts say, on the device dev (ifindex). Returns an exit code,
 * having said what failed.
 */
int tc_load_attach_dev(const char *dev, int ifindex, tc_load_fn load, void *ctx,
		       struct tc_attachment att[2]);

/*
 * Remove what tc_attach() added on these, then each qdisc we created that is left empty.
 * Entries with nothing attached are skipped; a device that is gone took everything with it.
 */
void tc_detach(struct tc_attachment *a, size_t n);

/*
 * Remove the cls_bpf filters on ifindex (both directions) whose BPF program's name starts with
 * prefix: what a run killed with SIGKILL leaves on a clsact kernel. Returns how many were
 * removed, or a negative errno.
 */
int tc_remove_filters(int ifindex, const char *prefix);
/* --cleanup: tc_remove_filters() on dev, saying on stderr how many. Returns an exit code. */
int tc_cleanup(int ifindex, const char *dev, const char *prefix);

/*
 * The options of a subcommand on tc: --ingress and --egress (neither: ingress), --attach tcx|clsact
 * and --cleanup. A child parser: put TC_ATTACH_ARGP_CHILD in the subcommand's children.
 */
struct tc_attach_opts {
	bool dirs[2];		  /* [0] ingress, [1] egress */
	enum tc_attach_kind kind; /* TC_ATTACH_NONE: TCX where the kernel has it, else clsact */
	bool cleanup;
};

extern struct tc_attach_opts tc_attach_opts;
/* The directions of tc_attach_opts as words: "ingress", "egress" or "ingress, egress". */
const char *tc_attach_dirs_text(void);
extern const struct argp tc_attach_argp;

#define TC_ATTACH_ARGP_CHILD                        \
	{                                           \
		&tc_attach_argp, 0, "Attaching:", 0 \
	}

/* Whether ifindex is still the device called name (it may have gone away, or been renamed). */
bool netdev_still_there(int ifindex, const char *name);

#endif
