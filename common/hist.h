/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Histograms for every subcommand that prints them: log2 buckets (filled in the kernel, see
 * bpf/hist_slots.h) or linear buckets of a given width, printed as the familiar text bars of bcc's
 * tools or as one JSON object each, with a summary of count, mean and percentiles.
 *
 * Percentiles are estimated from the buckets. The p-th percentile is the value of rank
 * r = ceil(p / 100 * count) in sorted order (the nearest-rank definition). The counts say which
 * bucket holds rank r; inside it, the bucket's c values are taken as spread evenly over
 * [low, high], so the j-th of them (j = r minus the count below the bucket) is estimated as
 * low + (high - low) * (j - 1/2) / c, rounded to the nearest integer.
 *
 * Error bound: the estimate and the true value lie in the same bucket, so they differ by at most
 * high - low. For log2 buckets that is exact for 0 and 1 and within a factor of two either way
 * above (bucket k spans 2^(k-1) .. 2^k - 1); for linear buckets it is less than one step. In the
 * open-ended last bucket of a linear histogram the estimate is the bucket's low: a lower bound.
 * A bucket holding each of its integers once yields exact percentiles.
 */
#ifndef EBPFTRACE_HIST_H
#define EBPFTRACE_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hist_slots.h"
#include "strbuf.h"

enum hist_scale {
	HIST_LOG2,   /* buckets as in bpf/hist_slots.h */
	HIST_LINEAR, /* bucket i holds min + i * step .. min + (i + 1) * step - 1, the last one all
		      * above */
};

struct hist {
	enum hist_scale scale;
	uint64_t step;	     /* HIST_LINEAR: the width of a bucket (> 0) */
	uint64_t min;	     /* HIST_LINEAR: the low end of bucket 0 */
	uint64_t below;	     /* values under bucket 0, counted apart (negative ones, or < min) */
	size_t n;	     /* buckets */
	const __u64 *counts; /* n counts (the kernel's type: no copy of its slots) */
	double sum;	     /* of the values, in unit (fractions when the kernel counts finer) */
	const char *unit;    /* "usecs", "msecs": the text header and JSON "unit" */
};

/*
 * One field of a histogram's key, the JSON "key" object and the text line above the bars (e.g.
 * pid = 42, comm = bash): a number, or text when str is set.
 */
struct hist_key {
	const char *name;
	const char *str; /* at most len bytes, up to a NUL (a comm need not have one) */
	size_t len;
	uint64_t num;
};

/* A histogram over a kernel log2 histogram whose values are div times finer than unit. */
struct hist hist_from_log2(const struct hist_log2 *k, uint64_t div, const char *unit);

/*
 * --linear MIN,MAX,STEP: buckets of STEP from MIN up to MAX, then one for MAX and above; MAX - MIN
 * a multiple of STEP, in at most max_n buckets. A bad one ends with a usage error. In the
 * kernel's types: the BPF side buckets with them (hist_linear_slot()).
 */
void hist_linear_option(const char *arg, uint32_t max_n, __u64 *min, __u64 *step, __u32 *n);

/* The smallest value of bucket i. */
uint64_t hist_low(const struct hist *h, size_t i);
/* The largest value of bucket i; false when the bucket is open-ended (the last linear one). */
bool hist_high(const struct hist *h, size_t i, uint64_t *high);
uint64_t hist_count(const struct hist *h);
/* The p-th percentile (0 < p <= 100) estimated as described above; false when h is empty. */
bool hist_percentile(const struct hist *h, double p, uint64_t *value);

/*
 * Text: the key line (when nkey > 0), the unit header, one bar per bucket from 0 to the last one
 * used, "count N, mean M, p50 A, p90 B, p99 C (unit)", with values below bucket 0
 * "N below L (not in the buckets)", and an empty line. An empty histogram prints the key line,
 * "no events" (and the line of those below) and the empty line. Count, mean and percentiles are
 * of the values in the buckets.
 */
void hist_text(struct strbuf *sb, const struct hist *h, const struct hist_key *key, size_t nkey);

/*
 * One JSON line: {"type":"hist","ts_ns":T,"unit":U,"key":{...},"buckets":[{"low":L,"high":H,
 * "count":C},...],"count":N,"sum":S,"p50":A,"p90":B,"p99":C}. Only buckets with a count are listed;
 * an open-ended bucket has no "high"; ts_ns 0 leaves "ts_ns" out; percentiles of an empty histogram
 * are null; values below bucket 0 add "below":N after "count" (only when there are some).
 */
void hist_json(struct strbuf *sb, const struct hist *h, const struct hist_key *key, size_t nkey,
	       uint64_t ts_ns);

/*
 * h into the output buffer: hist_json() under --json, else hist_text(); flushed once it holds
 * 64 KiB, so that a report of many histograms does not grow without bound.
 */
void hist_out(const struct hist *h, const struct hist_key *key, size_t nkey, uint64_t ts_ns);

/*
 * For tools that read histograms out of a BPF hash map every interval. hist_map_each() hands
 * every entry to fn in key order (cmp compares two keys) and returns how many there were; with
 * clear it also removes them, each in one step where the kernel can (5.14+) so that nothing
 * counted meanwhile is lost.
 */
typedef void (*hist_entry_fn)(void *ctx, const void *key, const void *value);
size_t hist_map_each(int fd, size_t key_size, size_t value_size, bool clear,
		     int (*cmp)(const void *a, const void *b), hist_entry_fn fn, void *ctx);

/*
 * The run of such a tool: "Tracing what." on stderr, then every interval seconds (0: once, when
 * tracing ends) the time under -T (tables) and print(ctx, wall-clock ns) for that interval's
 * histograms; count intervals at most (0: no limit), ended early by a signal, --duration or a
 * closed stdout, which still print the interval so far.
 */
typedef void (*hist_print_fn)(void *ctx, uint64_t ts_ns);
void hist_run(const char *what, double interval, uint64_t count, hist_print_fn print, void *ctx);

#endif
