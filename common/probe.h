/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which attach method works on this kernel, decided by a real trial: load a two-instruction
 * program of that type for that target and attach it. A BTF lookup alone is not enough: a kernel
 * can have BTF for a function and still refuse fentry programs (EPERM), as our own dev host does.
 */
#ifndef EBPFTRACE_PROBE_H
#define EBPFTRACE_PROBE_H

#include <stdbool.h>
#include <stddef.h>

enum attach_method {
	METHOD_FENTRY,
	METHOD_KPROBE,
	METHOD_TP_BTF,
	METHOD_RAW_TP,
	METHOD_TRACEPOINT,
	METHOD_LSM,
	METHOD_COUNT,
};

const char *method_name(enum attach_method m);
/* The method called name, or -1. */
int method_by_name(const char *name);

/* What to attach to: a kernel function, a tracepoint "category:name", a raw tracepoint, a hook. */
struct attach_candidate {
	enum attach_method method;
	const char *target;
};

struct probe_result {
	bool ok;
	bool no_privilege; /* not ok for want of a capability (named in reason), not the kernel's */
	char reason[160];  /* why not, or what worked */
};

/* The trial itself; replaceable so that the decision logic can be tested without a kernel. */
typedef void (*probe_fn)(enum attach_method m, const char *target, struct probe_result *res);
void probe_kernel(enum attach_method m, const char *target, struct probe_result *res);

/*
 * What a subcommand with a variant per method calls. --method NAME: the method, which must be one
 * of the candidates' (else a usage error that lists them).
 */
int opt_method(const char *arg, const struct attach_candidate *cands, size_t n);

/*
 * For a subcommand that has one way in: the trial `ebpftrace check` makes, before anything of its
 * own loads. EXIT_OK, or EXIT_UNSUPPORTED after one line "<what> is not usable on this kernel:
 * <reason>".
 */
int probe_required(enum attach_method m, const char *target, const char *what);
/* Whether the kernel attaches uprobes in bulk through uprobe_multi links (6.6+). */
bool uprobe_multi_supported(void);

/* The check before a load: probe_kernel() where that needs no kernel BTF, else what it can tell. */
void precheck_method(enum attach_method m, const char *target, struct probe_result *res);

/*
 * Open, set up, load and attach a subcommand's skeleton for method m (destroying the previous
 * attempt's first). Returns 0, or a negative errno with *step set to what failed ("loading the
 * BPF programs"...).
 */
typedef int (*method_load_fn)(enum attach_method m, void *ctx, const char **step);

/*
 * Load with the first candidate, in order, that passes precheck and loads and attaches; with
 * forced >= 0 only candidates of that method are tried. A kernel may list a function in its BTF
 * and still refuse fentry programs (EPERM), as our own dev host does: the next candidate is
 * tried then. Under -v every step is reported. Returns an exit code after saying why nothing
 * worked, or EXIT_OK.
 */
int load_with_method(const char *program, const struct attach_candidate *cands, size_t n,
		     int forced, probe_fn precheck, method_load_fn load, void *ctx);

/*
 * One BPF object can carry a variant of its programs per candidate method: after open, turn off
 * autoload for the programs of every candidate method but the chosen one. Programs of other
 * methods are left alone.
 */
struct bpf_object;
void autoload_method(struct bpf_object *obj, const struct attach_candidate *cands, size_t n,
		     enum attach_method chosen);

/* `ebpftrace check`: report what this kernel offers. Returns an exit code. */
int probe_report(bool json);

#endif
