/* SPDX-License-Identifier: GPL-2.0 */
/* Where to put uprobes: functions in ELF files, the libraries a process maps, cheap spots. */
#ifndef EBPFTRACE_UPROBE_H
#define EBPFTRACE_UPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The file offset of function name's code in the ELF file at path (what a uprobe is attached
 * at), from .symtab or else .dynsym. Returns 0, -ENOENT when there is no such function, or
 * another negative errno.
 */
int elf_func_offset(const char *path, const char *name, uint64_t *offset);

/* Whether path is an ELF file that asks for no program interpreter (statically linked). */
bool elf_is_static(const char *path);

/*
 * The file that process pid maps whose name is lib or starts with "lib." or "lib-" (libc:
 * libc.so.6, libc-2.31.so), as a path through /proc/PID/root. Returns 0 or -ENOENT.
 */
int proc_find_library(pid_t pid, const char *lib, char *path, size_t size);

/*
 * The file the dynamic linker loads for the library named lib (matched as above, on the soname),
 * from its cache (/etc/ld.so.cache): where a process that maps nothing yet will find it. Returns
 * 0; -ENOENT when the cache has no such library; -EEXIST when lib names more than one file, or
 * builds for CPU levels (glibc-hwcaps) of which the linker picks one at run time; -ENOEXEC when
 * the cache is not in the format of glibc 2.32 and later; another negative errno.
 */
int ldcache_find_library(const char *cache, const char *lib, char *path, size_t size);
#define LDCACHE_PATH "/etc/ld.so.cache"

/*
 * A uprobe on an instruction the kernel cannot emulate is single-stepped out of line, which is
 * very slow (in a VM, ~30x a probe on a push). A function that starts by returning at once for
 * a NULL first argument (free: test %rdi,%rdi; je ...) can be probed just after that check
 * instead, seeing every call with a non-NULL argument. Given the function's first bytes,
 * returns how far into them to probe: the length of the check when the instruction after it
 * is one the kernel emulates (a push, as a prologue starts: no code jumps back to it), else 0
 * (probe the entry).
 */
size_t skip_null_check(const uint8_t *code, size_t len);

/* Read len bytes at offset of the file at path. Returns 0 or a negative errno. */
int read_file_at(const char *path, uint64_t offset, void *buf, size_t len);

#endif
