/* SPDX-License-Identifier: GPL-2.0 */
/* Messages, exit codes and number parsing shared by every subcommand. */
#ifndef EBPFTRACE_UTIL_H
#define EBPFTRACE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes: documented in man/ebpftrace.8. */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,     /* a runtime failure */
	EXIT_USAGE = 2,	      /* bad command line */
	EXIT_UNSUPPORTED = 3, /* the kernel lacks what this needs */
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "ebpftrace" or "ebpftrace <subcommand>": the prefix of every message. */
extern const char *prog_name;
extern bool verbose_mode;
/* -vv: libbpf's debug messages too (each CO-RE relocation, each step of a load). */
extern bool libbpf_debug;

void set_prog_name(const char *subcommand);
__attribute__((format(printf, 1, 2))) void err_msg(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void verbose(const char *fmt, ...);
__attribute__((format(printf, 1, 2), noreturn)) void usage_error(const char *fmt, ...);

/* Parse a whole decimal number in [min, max]; false on anything else. */
bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A longest interval or duration: about 31 years. */
#define MAX_SECONDS 1e9
/* Parse a decimal number of seconds (fractions allowed) in (0, MAX_SECONDS]; false otherwise. */
bool parse_seconds(const char *s, double *out);
/* Parse a size like 4096, 64K, 8M; false otherwise. */
bool parse_size(const char *s, uint64_t *out);

/* Option values that are wrong end the program with a one-line message and EXIT_USAGE. */
uint64_t opt_u64(const char *opt, const char *arg, uint64_t min, uint64_t max);
uint32_t opt_pid(const char *opt, const char *arg);
/* A size in bytes, as parse_size() reads it. */
uint64_t opt_size(const char *opt, const char *arg);
/* A value that means nothing when empty (a path, a text to match): arg, or the same end. */
const char *opt_text(const char *opt, const char *arg, const char *what);
/* The item of a list that parse_list() refused: len 0 for an empty one. */
struct list_error {
	const char *item;
	size_t len;
};

/*
 * Hand each item of a comma-separated list (TERM,KILL) to fn, which returns false for an item it
 * does not know. Returns false, with the item in bad, at the first item fn refuses, an empty one
 * or one longer than 63 bytes.
 */
bool parse_list(const char *arg, bool (*fn)(const char *item, void *ctx), void *ctx,
		struct list_error *bad);
/*
 * A comma-separated option value (-s TERM,KILL): each item goes to fn, which returns false for an
 * item it does not know; that, or an empty item, ends the program like the above, naming the item
 * and what it should have been ("a signal name or number").
 */
void opt_list(const char *opt, const char *arg, const char *what,
	      bool (*fn)(const char *item, void *ctx), void *ctx);

/* The errno name ("ENOENT") of a positive error number, or its number as text. */
const char *errno_name(int err);

#endif
