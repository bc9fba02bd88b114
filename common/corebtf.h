/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small copy of the running kernel's BTF for CO-RE, kept in a cache. libbpf 1.4 relocates our
 * programs' field accesses against the whole of /sys/kernel/btf/vmlinux: it reads all of it
 * (5.5 MB on 6.18) and holds it twice while it parses, 11 MB of RSS and most of a start-up.
 * Given btf_custom_path instead, it reads only that file. The copy holds the types our BPF
 * objects name (build/core_types.h, from their BTF at build time) as the kernel defines them:
 * every member with its offset and type, embedded types whole, and pointers as pointers to void,
 * since CO-RE matches any pointer with any pointer and looks a pointed-to type up by its name.
 * Beside them it keeps the kernel's BTF ids of what our tp_btf, fentry, fexit and lsm programs
 * attach to, and hands libbpf those for tp_btf, fentry and fexit, which it would otherwise read
 * the whole BTF to find. lsm programs still make libbpf read it (it wants it for any of them).
 */
#ifndef EBPFTRACE_COREBTF_H
#define EBPFTRACE_COREBTF_H

#include <stddef.h>

struct btf;

/* Where the cache lives unless EBPFTRACE_CACHE_DIR says otherwise (empty: no cache). */
#define CORE_BTF_CACHE_DIR "/var/cache/ebpftrace"

/*
 * The cached copy for the running kernel, written on first use; NULL when there is none to be
 * had (no build id, a cache directory we may not trust or write), and libbpf then reads the
 * kernel's BTF as it would without us. Computed once per process.
 */
const char *core_btf_path(void);
/*
 * The kernel's BTF id of what a program of type attach (BPF_TRACE_RAW_TP, BPF_TRACE_FENTRY,
 * BPF_TRACE_FEXIT, BPF_LSM_MAC) attaches to when it names target, as libbpf finds it in vmlinux:
 * from the cached copy when one of our programs names it, else from the kernel's whole BTF.
 * A negative errno when the kernel has no such thing.
 */
int core_btf_attach_id(int attach, const char *target);
/* How many parameters the prototype of that target has, found the same way. */
int core_btf_attach_params(int attach, const char *target);
/* NAME_bpf__open() with core_btf_path() for CO-RE (needs <bpf/libbpf.h>). */
#define core_btf_open(name)                                                                    \
	({                                                                                     \
		LIBBPF_OPTS(bpf_object_open_opts, __opts, .btf_custom_path = core_btf_path()); \
		name##_bpf__open_opts(&__opts);                                                \
	})

/*
 * The types of src called by one of names (sorted by strcmp; a name is a struct, union, enum or
 * typedef), each with what it is made of, in a new BTF. NULL on allocation failure.
 */
struct btf *core_btf_prune(const struct btf *src, const char *const *names, size_t n_names);

#endif
