/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One output layer for table and JSON, so the two never disagree about fields. A subcommand
 * describes its fields once (JSON key, table header, width) and writes each row with the out_*
 * calls; --json decides the format. Output is buffered and written in large blocks.
 */
#ifndef EBPFTRACE_OUTPUT_H
#define EBPFTRACE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "strbuf.h"

struct out_field {
	const char *key;    /* JSON key (snake_case) */
	const char *header; /* table column title; NULL: JSON only */
	int width;	    /* table width: > 0 right-aligned, < 0 left-aligned, 0 last column */
};

/*
 * Send the output to the file path (created 0644, or truncated) instead of standard output.
 * Returns 0 or a negative errno. The descriptor is close-on-exec: a command we run never gets it.
 */
int out_open(const char *path);

/* Read --json and -T from the common options; call once before output. */
void out_init(void);
bool out_json(void);

/* The table header line for these fields (with TIME first under -T); nothing in JSON mode. */
void out_header(const struct out_field *fields, size_t n);

/* Start a row: JSON {"type":type,"ts_ns":...; table TIME under -T. ts_mono_ns 0: no time. */
void out_row_begin(const char *type, uint64_t ts_mono_ns);
void out_u64(const struct out_field *f, uint64_t v);
void out_s64(const struct out_field *f, int64_t v);
void out_str(const struct out_field *f, const char *s, size_t maxlen);
void out_bool(const struct out_field *f, bool v);
/* An address: a number in JSON, 0x-prefixed hex in tables. */
void out_hex(const struct out_field *f, uint64_t v);
/* A number shown in octal in tables, like a file mode (0640); a plain number in JSON. */
void out_octal(const struct out_field *f, uint64_t v);
/* A field with no value in this row: "-" in tables, no key at all in JSON. */
void out_none(const struct out_field *f);
/* A fixed-point number v / 10^decimals, printed with that many decimals (1234, 3: 1.234). */
void out_fixed(const struct out_field *f, uint64_t v, unsigned int decimals);
/* A syscall result: JSON "key":ret and, when negative, "error":"ENAME"; table 0/value or ENAME. */
void out_result(const struct out_field *f, int64_t ret);
/* An array of strings: JSON array; table cell of space-separated items (quoted with quote). */
void out_array_begin(const struct out_field *f, bool quote);
void out_array_str(const char *s, size_t len, bool cut);
void out_array_end(bool more);
void out_row_end(void);

/* Free-form text (histogram bars, summaries). */
__attribute__((format(printf, 1, 2))) void out_printf(const char *fmt, ...);
/* The buffer itself, for writers that build their own JSON objects. */
struct strbuf *out_buf(void);

/* Rows written so far (for --count). */
uint64_t out_rows(void);
/* Write what is buffered. Returns false once stdout is closed (EPIPE): stop producing. */
bool out_flush(void);
bool out_closed(void);

/* Convert a CLOCK_MONOTONIC time (bpf_ktime_get_ns) to wall-clock nanoseconds since the epoch. */
uint64_t mono_to_wall_ns(uint64_t mono_ns);
/* Now, as wall-clock nanoseconds since the epoch (the ts_ns of output made by a timer). */
uint64_t wall_now_ns(void);
/* "HH:MM:SS.mmm" local time, into buf (at least 13 bytes). */
void format_local_time(uint64_t wall_ns, char *buf, size_t size);

#endif
