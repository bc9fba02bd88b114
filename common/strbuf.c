// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"

static void sb_grow(struct strbuf *sb, size_t extra)
{
	size_t cap = sb->cap ? sb->cap : 4096;

	if (sb->len + extra <= sb->cap)
		return;
	while (cap < sb->len + extra)
		cap *= 2;
	sb->buf = realloc(sb->buf, cap);
	if (!sb->buf)
		abort();
	sb->cap = cap;
}

void sb_put(struct strbuf *sb, const void *data, size_t n)
{
	if (!n)
		return;
	if (sb->len + n > sb->cap)
		sb_grow(sb, n);
	memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
}

void sb_putc(struct strbuf *sb, char c)
{
	if (sb->len >= sb->cap)
		sb_grow(sb, 1);
	sb->buf[sb->len++] = c;
}

/* The length of the run at s of bytes that go out unchanged: printable ASCII but quote and '\\'. */
static size_t plain_run(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
		i++;
	return i;
}

void sb_puts(struct strbuf *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}

void sb_u64(struct strbuf *sb, uint64_t v)
{
	char tmp[20];
	int i = sizeof(tmp);

	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	sb_put(sb, tmp + i, sizeof(tmp) - i);
}

void sb_s64(struct strbuf *sb, int64_t v)
{
	if (v < 0) {
		sb_putc(sb, '-');
		sb_u64(sb, -(uint64_t)v);
	} else {
		sb_u64(sb, v);
	}
}

void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n >= 0) {
		sb_grow(sb, n + 1);
		vsnprintf(sb->buf + sb->len, n + 1, fmt, again);
		sb->len += n;
	}
	va_end(again);
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	*sb = (struct strbuf){};
}

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0; /* a continuation byte, an overlong lead (c0, c1) or past U+10FFFF */
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static const char hex[] = "0123456789abcdef";

/*
 * A byte as a JSON unicode escape. Control characters are the code points U+0000..U+001F. A byte
 * that is not part of valid UTF-8 (always 0x80..0xff) becomes the lone surrogate U+DC00 + byte, as
 * Python's "surrogateescape" does: valid UTF-8 never encodes a surrogate, so a reader can tell it
 * from any real character and get the exact byte back (see OUTPUT in ebpftrace(8)).
 */
static void json_escape_byte(struct strbuf *sb, unsigned char c)
{
	sb_put(sb, c < 0x80 ? "\\u00" : "\\udc", 4);
	sb_putc(sb, hex[c >> 4]);
	sb_putc(sb, hex[c & 15]);
}

void sb_json_str(struct strbuf *sb, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	sb_putc(sb, '"');
	while (i < n) {
		unsigned char c = p[i];
		size_t len = plain_run(p + i, n - i);

		/* Most text needs no escaping: copy it a run at a time. */
		if (len) {
			sb_put(sb, p + i, len);
			i += len;
			continue;
		}
		switch (c) {
		case '"':
			sb_put(sb, "\\\"", 2);
			break;
		case '\\':
			sb_put(sb, "\\\\", 2);
			break;
		case '\n':
			sb_put(sb, "\\n", 2);
			break;
		case '\t':
			sb_put(sb, "\\t", 2);
			break;
		case '\r':
			sb_put(sb, "\\r", 2);
			break;
		case '\b':
			sb_put(sb, "\\b", 2);
			break;
		case '\f':
			sb_put(sb, "\\f", 2);
			break;
		default:
			if (c >= 0x20 && c < 0x80) {
				sb_putc(sb, c);
				break;
			}
			len = c < 0x80 ? 0 : utf8_seq_len(p + i, n - i);
			if (len) {
				sb_put(sb, p + i, len);
				i += len;
				continue;
			}
			json_escape_byte(sb, c);
		}
		i++;
	}
	sb_putc(sb, '"');
}

static size_t table_escape_byte(struct strbuf *sb, unsigned char c)
{
	switch (c) {
	case '\n':
		sb_put(sb, "\\n", 2);
		return 2;
	case '\t':
		sb_put(sb, "\\t", 2);
		return 2;
	case '\r':
		sb_put(sb, "\\r", 2);
		return 2;
	}
	sb_put(sb, "\\x", 2);
	sb_putc(sb, hex[c >> 4]);
	sb_putc(sb, hex[c & 15]);
	return 4;
}

size_t sb_table_str(struct strbuf *sb, const char *s, size_t n, int quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t cols = 0, i = 0;

	if (quote) {
		sb_putc(sb, '"');
		cols++;
	}
	while (i < n) {
		unsigned char c = p[i];
		size_t len = plain_run(p + i, n - i);

		if (len) {
			sb_put(sb, p + i, len);
			cols += len;
			i += len;
			continue;
		}
		if (quote && (c == '"' || c == '\\')) {
			sb_putc(sb, '\\');
			sb_putc(sb, c);
			cols += 2;
			i++;
			continue;
		}
		if (c >= 0x20 && c < 0x7f) {
			sb_putc(sb, c);
			cols++;
			i++;
			continue;
		}
		len = c < 0x80 ? 0 : utf8_seq_len(p + i, n - i);
		if (len) {
			sb_put(sb, p + i, len);
			cols++;
			i += len;
			continue;
		}
		cols += table_escape_byte(sb, c);
		i++;
	}
	if (quote) {
		sb_putc(sb, '"');
		cols++;
	}
	return cols;
}
