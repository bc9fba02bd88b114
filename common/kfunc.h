/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The integer values of a kernel function that a tracing program can read, found in the
 * prototype the kernel's BTF (vmlinux) gives it: an argument, by position or by name, or the
 * return value.
 */
#ifndef EBPFTRACE_KFUNC_H
#define EBPFTRACE_KFUNC_H

#include <stdbool.h>
#include <stddef.h>

#define KFUNC_ARG_SLOTS 6 /* the 64-bit argument slots passed in registers (x86-64, arm64: 6+) */

struct kfunc_value {
	char type[96];	   /* its C type as declared: "size_t", "unsigned int", "enum pid_type" */
	unsigned int slot; /* an argument's 64-bit slot (0..KFUNC_ARG_SLOTS - 1) */
	unsigned int size; /* bytes: 1, 2, 4 or 8 */
	bool is_ret;
	bool is_signed;
};

/*
 * The value arg of func: "argN" (from 0), a parameter's name, or "ret". Returns 0; -ENOENT
 * when the kernel has no such function, -EINVAL when it has no such argument (or one past the
 * register slots), -EDOM when its type is not an integer, or returns void: then msg says why in
 * one line. Another negative errno: the kernel's BTF could not be read (msg says so too).
 */
int kfunc_value(const char *func, const char *arg, struct kfunc_value *v, char *msg, size_t size);

#endif
