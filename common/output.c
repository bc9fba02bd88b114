// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "opts.h"
#include "output.h"
#include "util.h"

/* Write once this much is buffered; the event loop also flushes after every batch. */
#define FLUSH_AT    (64 * 1024)
#define TIME_HEADER "TIME"
#define TIME_WIDTH  12

static struct {
	struct strbuf sb;
	bool json;
	bool timestamp;
	bool closed;
	bool first_field; /* JSON: no comma before the next key */
	bool first_item;  /* the current array is still empty */
	bool quote_items;
	int64_t wall_offset_ns;
	uint64_t rows;
} out;

static int out_fd = STDOUT_FILENO;

int out_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	out_fd = fd;
	return 0;
}

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void out_init(void)
{
	out.json = common_opts.json;
	out.timestamp = common_opts.timestamp;
	out.wall_offset_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
}

bool out_json(void)
{
	return out.json;
}

uint64_t mono_to_wall_ns(uint64_t mono_ns)
{
	return mono_ns + out.wall_offset_ns;
}

uint64_t wall_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

void format_local_time(uint64_t wall_ns, char *buf, size_t size)
{
	time_t secs = wall_ns / 1000000000;
	struct tm tm;

	localtime_r(&secs, &tm);
	snprintf(buf, size, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(wall_ns % 1000000000 / 1000000));
}

static void pad(size_t n)
{
	static const char spaces[] = "                                ";

	for (; n > sizeof(spaces) - 1; n -= sizeof(spaces) - 1)
		sb_put(&out.sb, spaces, sizeof(spaces) - 1);
	sb_put(&out.sb, spaces, n);
}

/* Table cells are separated by one space; cell() writes it before all but the first. */
static void cell_sep(void)
{
	if (!out.first_field)
		sb_putc(&out.sb, ' ');
	out.first_field = false;
}

static void cell_text(int width, const char *s, size_t len, size_t cols)
{
	size_t w = width < 0 ? (size_t)-width : (size_t)width;

	cell_sep();
	if (width > 0 && cols < w)
		pad(w - cols);
	sb_put(&out.sb, s, len);
	if (width < 0 && cols < w)
		pad(w - cols);
}

static void json_key(const char *key)
{
	if (!out.first_field)
		sb_putc(&out.sb, ',');
	out.first_field = false;
	sb_putc(&out.sb, '"');
	sb_puts(&out.sb, key);
	sb_put(&out.sb, "\":", 2);
}

void out_header(const struct out_field *fields, size_t n)
{
	if (out.json)
		return;
	out.first_field = true;
	if (out.timestamp)
		cell_text(-TIME_WIDTH, TIME_HEADER, strlen(TIME_HEADER), strlen(TIME_HEADER));
	for (size_t i = 0; i < n; i++) {
		const char *h = fields[i].header;

		if (h)
			cell_text(fields[i].width, h, strlen(h), strlen(h));
	}
	sb_putc(&out.sb, '\n');
}

void out_row_begin(const char *type, uint64_t ts_mono_ns)
{
	uint64_t wall = ts_mono_ns ? mono_to_wall_ns(ts_mono_ns) : 0;
	char tbuf[32];

	out.first_field = true;
	if (out.json) {
		sb_putc(&out.sb, '{');
		json_key("type");
		sb_json_str(&out.sb, type, strlen(type));
		if (ts_mono_ns) {
			json_key("ts_ns");
			sb_u64(&out.sb, wall);
		}
		return;
	}
	if (out.timestamp && ts_mono_ns) {
		format_local_time(wall, tbuf, sizeof(tbuf));
		cell_text(-TIME_WIDTH, tbuf, strlen(tbuf), strlen(tbuf));
	}
}

static void out_number(const struct out_field *f, const char *digits, size_t len)
{
	if (out.json) {
		json_key(f->key);
		sb_put(&out.sb, digits, len);
	} else if (f->header) {
		cell_text(f->width, digits, len, len);
	}
}

/* Decimal digits of v, with a minus sign when negative, ending at end; returns the start. */
static char *format_decimal(char *end, uint64_t v, bool negative)
{
	char *p = end;

	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	if (negative)
		*--p = '-';
	return p;
}

/* Numbers are most of every row: formatted by hand, as snprintf costs several times more. */
void out_u64(const struct out_field *f, uint64_t v)
{
	char tmp[24], *p = format_decimal(tmp + sizeof(tmp), v, false);

	out_number(f, p, tmp + sizeof(tmp) - p);
}

void out_s64(const struct out_field *f, int64_t v)
{
	uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
	char tmp[24], *p = format_decimal(tmp + sizeof(tmp), mag, v < 0);

	out_number(f, p, tmp + sizeof(tmp) - p);
}

void out_fixed(const struct out_field *f, uint64_t v, unsigned int decimals)
{
	uint64_t scale = 1;
	char tmp[32];

	for (unsigned int i = 0; i < decimals; i++)
		scale *= 10;
	if (!decimals) {
		out_u64(f, v);
		return;
	}
	out_number(f, tmp,
		   snprintf(tmp, sizeof(tmp), "%llu.%0*llu", (unsigned long long)(v / scale),
			    (int)decimals, (unsigned long long)(v % scale)));
}

void out_octal(const struct out_field *f, uint64_t v)
{
	char tmp[24];

	if (out.json)
		out_u64(f, v);
	else if (f->header)
		out_number(f, tmp, snprintf(tmp, sizeof(tmp), "%#llo", (unsigned long long)v));
}

void out_none(const struct out_field *f)
{
	if (!out.json && f->header)
		cell_text(f->width, "-", 1, 1);
}

void out_hex(const struct out_field *f, uint64_t v)
{
	char tmp[24];

	if (out.json) {
		out_u64(f, v);
		return;
	}
	out_number(f, tmp, snprintf(tmp, sizeof(tmp), "0x%llx", (unsigned long long)v));
}

void out_bool(const struct out_field *f, bool v)
{
	const char *s = v ? "true" : "false";

	if (out.json) {
		json_key(f->key);
		sb_puts(&out.sb, s);
	} else if (f->header) {
		cell_text(f->width, s, strlen(s), strlen(s));
	}
}

void out_str(const struct out_field *f, const char *s, size_t maxlen)
{
	static struct strbuf cell; /* reused: no allocation per cell */
	size_t len = strnlen(s, maxlen);
	size_t cols;

	if (out.json) {
		json_key(f->key);
		sb_json_str(&out.sb, s, len);
		return;
	}
	if (!f->header)
		return;
	cell.len = 0;
	cols = sb_table_str(&cell, s, len, 0);
	cell_text(f->width, cell.buf ? cell.buf : "", cell.len, cols);
}

/*
 * The name of a negative result: -1 to -4095 are errnos (the kernel's MAX_ERRNO); a value further
 * down (a corrupt record) has none and is named by its number, which also cannot overflow -ret.
 */
static const char *result_error_name(int64_t ret)
{
	static char num[24];

	if (ret >= -4095)
		return errno_name((int)-ret);
	snprintf(num, sizeof(num), "%lld", (long long)ret);
	return num;
}

void out_result(const struct out_field *f, int64_t ret)
{
	const char *name;

	if (out.json) {
		json_key(f->key);
		sb_s64(&out.sb, ret);
		if (ret < 0) {
			json_key("error");
			name = result_error_name(ret);
			sb_json_str(&out.sb, name, strlen(name));
		}
		return;
	}
	if (ret >= 0 || !f->header) {
		out_s64(f, ret);
		return;
	}
	name = result_error_name(ret);
	cell_text(f->width, name, strlen(name), strlen(name));
}

void out_array_begin(const struct out_field *f, bool quote)
{
	if (out.json) {
		json_key(f->key);
		sb_putc(&out.sb, '[');
	} else {
		cell_sep();
	}
	out.first_item = true;
	out.quote_items = quote;
}

void out_array_str(const char *s, size_t len, bool cut)
{
	if (!out.first_item)
		sb_putc(&out.sb, out.json ? ',' : ' ');
	out.first_item = false;
	if (out.json) {
		sb_json_str(&out.sb, s, len);
		return;
	}
	sb_table_str(&out.sb, s, len, out.quote_items);
	if (cut)
		sb_put(&out.sb, "...", 3);
}

void out_array_end(bool more)
{
	if (out.json) {
		sb_putc(&out.sb, ']');
	} else if (more) {
		sb_put(&out.sb, out.first_item ? "..." : " ...", out.first_item ? 3 : 4);
	}
}

void out_row_end(void)
{
	if (out.json)
		sb_putc(&out.sb, '}');
	sb_putc(&out.sb, '\n');
	out.rows++;
	if (out.sb.len >= FLUSH_AT)
		out_flush();
}

void out_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(&out.sb, fmt, ap);
	va_end(ap);
}

struct strbuf *out_buf(void)
{
	return &out.sb;
}

uint64_t out_rows(void)
{
	return out.rows;
}

bool out_closed(void)
{
	return out.closed;
}

bool out_flush(void)
{
	size_t done = 0;

	if (common_opts.quiet)
		out.sb.len = 0;
	while (!out.closed && done < out.sb.len) {
		ssize_t n = write(out_fd, out.sb.buf + done, out.sb.len - done);

		if (n > 0) {
			done += n;
		} else if (n < 0 && errno != EINTR) {
			/* EPIPE: the reader went away (| head). Anything else: we cannot write. */
			if (errno != EPIPE)
				err_msg("cannot write output: %s", strerror(errno));
			out.closed = true;
		}
	}
	out.sb.len = 0;
	return !out.closed;
}
