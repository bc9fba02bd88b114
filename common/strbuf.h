/* SPDX-License-Identifier: GPL-2.0 */
/* A growable byte buffer and the two ways we escape untrusted bytes into it. */
#ifndef EBPFTRACE_STRBUF_H
#define EBPFTRACE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

void sb_put(struct strbuf *sb, const void *data, size_t n);
void sb_putc(struct strbuf *sb, char c);
void sb_puts(struct strbuf *sb, const char *s);
void sb_u64(struct strbuf *sb, uint64_t v);
void sb_s64(struct strbuf *sb, int64_t v);
__attribute__((format(printf, 2, 3))) void sb_printf(struct strbuf *sb, const char *fmt, ...);
void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
void sb_free(struct strbuf *sb);

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if s[0] does not start one. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/*
 * A JSON string with its quotes. Valid UTF-8 passes through; quotes, backslashes and control
 * characters are escaped; each byte that is not valid UTF-8 becomes \udcXX, the lone surrogate
 * U+DC00 + byte (Python's "surrogateescape"), never dropped and never a real character.
 */
void sb_json_str(struct strbuf *sb, const char *s, size_t n);

/*
 * Text for a table cell on one line: printable text and valid UTF-8 pass through, control
 * characters become \n, \t, \r or \xNN, invalid bytes \xNN. With quote, the result is wrapped in
 * double quotes and embedded quotes and backslashes are escaped, so arguments stay apart.
 * Returns the number of columns written.
 */
size_t sb_table_str(struct strbuf *sb, const char *s, size_t n, int quote);

#endif
