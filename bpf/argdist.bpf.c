// SPDX-License-Identifier: GPL-2.0
/*
 * argdist: a histogram of one integer argument, or the return value, of a kernel function chosen
 * at run time. fentry/fexit programs have no target until user space sets one before load, and
 * read the argument's 64-bit slot by index; kprobe/kretprobe programs are attached by user space
 * and pick the register by the same index. User space loads the two of one method.
 */
#include "common.bpf.h"
#include "argdist.h"

const volatile struct argdist_cfg argdist_cfg = {};

/* Emptied by user space at every interval. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ARGDIST_MAX_HISTS); /* 1 without -P: set from user space */
	__type(key, __u32);
	__type(value, struct argdist_hist);
} hists SEC(".maps");

static const struct argdist_hist empty_hist;

/* Count the raw 64 bits of the argument, cut to the width of its type. */
static __always_inline void count(__u64 raw)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 key = argdist_cfg.per_pid ? pid_tgid >> 32 : 0, slot;
	struct argdist_hist *h;
	__u64 v = raw << argdist_cfg.shift;

	if (!filter_current())
		return;
	v = argdist_cfg.is_signed ? (__u64)((__s64)v >> argdist_cfg.shift) : v >> argdist_cfg.shift;
	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		h = map_lookup_or_init(&hists, &key, &empty_hist);
		if (!h)
			return;
		if (argdist_cfg.per_pid)
			bpf_get_current_comm(h->comm, sizeof(h->comm));
	}
	if ((argdist_cfg.is_signed && (__s64)v < 0) || v < argdist_cfg.min) {
		__sync_fetch_and_add(&h->below, 1);
		return;
	}
	if (argdist_cfg.step)
		slot = hist_linear_slot(v - argdist_cfg.min, argdist_cfg.step, argdist_cfg.n);
	else
		slot = hist_log2_slot(v);
	if (slot >= ARGDIST_SLOTS) /* never: it tells the verifier the index is in range */
		return;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->sum, v);
}

SEC("fentry")
int BPF_PROG(fentry_arg)
{
	__u64 v = 0;

	if (!bpf_get_func_arg(ctx, argdist_cfg.arg, &v))
		count(v);
	return 0;
}

SEC("fexit")
int BPF_PROG(fexit_ret)
{
	__u64 v = 0;

	if (!bpf_get_func_ret(ctx, &v))
		count(v);
	return 0;
}

SEC("kprobe")
int kprobe_arg(struct pt_regs *regs)
{
	count(regs_arg(regs, argdist_cfg.arg));
	return 0;
}

SEC("kretprobe")
int kretprobe_ret(struct pt_regs *regs)
{
	count(PT_REGS_RC_CORE(regs));
	return 0;
}
