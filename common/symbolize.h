/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Addresses to function+offset, source file:line and module, for the stacks subcommands print.
 * A process is symbolized with elfutils' libdwfl (what perf uses): ELF symbols, DWARF lines and
 * separate debug files found by build id, per module and cached for the symbolizer's life.
 * The kernel is symbolized from /proc/kallsyms.
 */
#ifndef EBPFTRACE_SYMBOLIZE_H
#define EBPFTRACE_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

struct strbuf;
struct symbolizer;

/* One frame. Strings belong to the symbolizer: valid until its next refresh or free. */
struct sym_frame {
	uint64_t addr;
	const char *module;   /* path (kernel: "kernel" or the module name); NULL: unknown */
	const char *function; /* NULL: no symbol covers addr */
	uint64_t offset;      /* addr - function's start */
	const char *file;     /* NULL: no line information */
	int line;
};

/*
 * The modules process pid has mapped now (/proc/PID/maps; paths opened through the process's
 * root, so processes in containers work). NULL with errno set when the process is not there,
 * or ELIBACC when libdw.so.1 does not open (said once on stderr).
 */
struct symbolizer *symbolizer_new_process(pid_t pid);
/* The kernel, from a kallsyms file (normally /proc/kallsyms). NULL with errno set. */
struct symbolizer *symbolizer_new_kernel(const char *kallsyms);
void symbolizer_free(struct symbolizer *s);

/*
 * Reading /proc/kallsyms costs ~40 ms of kernel time: a caller with other work to do (tracing
 * until a first report) starts it in a thread of its own and takes the result when it first
 * needs it.
 */
struct symbolizer_job {
	const char *path; /* non-NULL while the result waits to be taken */
	pthread_t thread;
	bool threaded; /* false: no thread could be made, the wait reads them */
	struct symbolizer *sym;
	int err;
};

void symbolizer_new_kernel_start(struct symbolizer_job *job, const char *kallsyms);
/* symbolizer_new_kernel()'s result, taken once; NULL with errno set (ENOENT: none started). */
struct symbolizer *symbolizer_new_kernel_wait(struct symbolizer_job *job);

/*
 * Read the process's mappings again, for libraries it has mapped since: modules still mapped
 * keep what was read of them. When the process is gone, what was known stays. Returns 0 or a
 * negative errno.
 */
int symbolizer_refresh(struct symbolizer *s);

/*
 * The symbols of process pid as its mappings change: changed is a count the BPF side bumps when
 * the process maps code, *seen the count they were last read at. The first call makes them
 * (s NULL), later ones read the mappings again when changed is new. Returns s, or the new one
 * (NULL when the process could not be read: the next call tries again).
 */
struct symbolizer *symbolizer_follow(struct symbolizer *s, pid_t pid, uint64_t changed,
				     uint64_t *seen);

/*
 * Describe addr. A return address (every frame of a stack but an interrupted one's first) is
 * looked up one byte back, so that the line is the call's, not the next statement's. Returns
 * false when no module covers addr (f then holds the address only).
 */
bool symbolize(struct symbolizer *s, uint64_t addr, bool return_addr, struct sym_frame *f);

/*
 * A frame as text, "function+0xoff (file:line) [module]": the parts that are known, the address
 * in hex when there is no function; as JSON, an object with the keys addr, function, offset,
 * file, line and module, of which only the known ones.
 */
void sym_frame_text(struct strbuf *sb, const struct sym_frame *f);
void sym_frame_json(struct strbuf *sb, const struct sym_frame *f);

/*
 * A stack of return addresses, as a BPF stack map holds one (up to n, ending at the first 0),
 * symbolized with s (NULL: addresses only). JSON: the frame objects, comma-separated (the caller
 * writes the brackets); text: a line per frame, after indent.
 */
void sym_stack(struct symbolizer *s, const uint64_t *ips, size_t n, struct strbuf *sb, bool json,
	       const char *indent);
/* The same stack on one line: function names (else addresses), innermost first, ';' between. */
void sym_stack_folded(struct symbolizer *s, const uint64_t *ips, size_t n, struct strbuf *sb);

#endif
