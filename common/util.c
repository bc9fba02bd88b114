// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"
#include "util.h"

const char *prog_name = "ebpftrace";
bool verbose_mode;
bool libbpf_debug;

void set_prog_name(const char *subcommand)
{
	static char name[64];

	snprintf(name, sizeof(name), "ebpftrace %s", subcommand);
	prog_name = name;
}

/*
 * One line on stderr, whatever the message quotes: a newline or other control character in a
 * bad argument is written escaped (\n, \x1b), as table cells are.
 */
static void vmessage(const char *fmt, va_list ap)
{
	struct strbuf sb = {};
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	sb_table_str(&sb, line, strlen(line), 0);
	fprintf(stderr, "%s: %.*s\n", prog_name, (int)sb.len, sb.buf ? sb.buf : "");
	sb_free(&sb);
}

void err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void verbose(const char *fmt, ...)
{
	va_list ap;

	if (!verbose_mode)
		return;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Digits with an optional fraction: no sign, exponent, hex, "inf" or "nan" (strtod takes those). */
static bool decimal_number(const char *s)
{
	bool digits = false, point = false;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digits = true;
		else if (*s == '.' && digits && !point)
			point = true;
		else
			return false;
	}
	return digits && s[-1] != '.';
}

bool parse_seconds(const char *s, double *out)
{
	double v;

	if (!s || !decimal_number(s))
		return false;
	v = strtod(s, NULL);
	/* The bound keeps every conversion to ns, ms or a timespec in range. */
	if (v <= 0 || v > MAX_SECONDS)
		return false;
	*out = v;
	return true;
}

bool parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

uint64_t opt_u64(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (!parse_u64(arg, min, max, &v))
		usage_error("invalid %s '%s': expected a whole number from %llu to %llu", opt, arg,
			    (unsigned long long)min, (unsigned long long)max);
	return v;
}

uint64_t opt_size(const char *opt, const char *arg)
{
	uint64_t v;

	if (!parse_size(arg, &v))
		usage_error("invalid %s '%s': expected a size in bytes (e.g. 64, 4K, 1M)", opt,
			    arg);
	return v;
}

uint32_t opt_pid(const char *opt, const char *arg)
{
	uint64_t v;

	/* pid_max can be at most 4194304 (PID_MAX_LIMIT). */
	if (!parse_u64(arg, 1, 4194304, &v))
		usage_error("invalid %s '%s': expected a process id (a number from 1 to 4194304)",
			    opt, arg);
	return v;
}

const char *opt_text(const char *opt, const char *arg, const char *what)
{
	if (!*arg)
		usage_error("invalid %s '': expected %s", opt, what);
	return arg;
}

bool parse_list(const char *arg, bool (*fn)(const char *item, void *ctx), void *ctx,
		struct list_error *bad)
{
	char item[64];

	for (const char *p = arg;; p++) {
		size_t len = strcspn(p, ",");

		if (len < sizeof(item)) {
			memcpy(item, p, len);
			item[len] = '\0';
		}
		if (len == 0 || len >= sizeof(item) || !fn(item, ctx)) {
			*bad = (struct list_error){ .item = p, .len = len };
			return false;
		}
		p += len;
		if (!*p)
			return true;
	}
}

void opt_list(const char *opt, const char *arg, const char *what,
	      bool (*fn)(const char *item, void *ctx), void *ctx)
{
	struct list_error bad;

	if (parse_list(arg, fn, ctx, &bad))
		return;
	if (!bad.len)
		usage_error("invalid %s '%s': an empty item in the list", opt, arg);
	usage_error("invalid %s '%s': '%.*s' is not %s", opt, arg, (int)bad.len, bad.item, what);
}

const char *errno_name(int err)
{
	static char buf[16];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "%d", err);
	return buf;
}
