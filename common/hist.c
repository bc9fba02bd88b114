// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "events.h"
#include "hist.h"
#include "opts.h"
#include "output.h"
#include "util.h"

#define BAR_WIDTH	40
#define RANGE_MIN_WIDTH 10 /* columns for each end of a bucket's range, at least */
#define COUNT_MIN_WIDTH 8

/* The percentiles of the summary line and the JSON keys p50, p90, p99. */
static const unsigned int percentiles[] = { 50, 90, 99 };

struct hist hist_from_log2(const struct hist_log2 *k, uint64_t div, const char *unit)
{
	return (struct hist){
		.scale = HIST_LOG2,
		.n = HIST_SLOTS,
		.counts = k->slots,
		.sum = (double)k->sum / div,
		.unit = unit,
	};
}

void hist_linear_option(const char *arg, uint32_t max_n, __u64 *min, __u64 *step, __u32 *n)
{
	unsigned long long lo, hi, width;
	int end = 0;

	if (sscanf(arg, "%llu,%llu,%llu%n", &lo, &hi, &width, &end) != 3 || arg[end] ||
	    strpbrk(arg, "-+ ") || !width || hi <= lo || (hi - lo) % width)
		usage_error("invalid --linear '%s': expected MIN,MAX,STEP with MIN < MAX and MAX - "
			    "MIN a multiple of STEP",
			    arg);
	if ((hi - lo) / width > max_n - 1)
		usage_error("invalid --linear '%s': %llu buckets, at most %u", arg,
			    (hi - lo) / width + 1, max_n);
	*min = lo;
	*step = width;
	*n = (hi - lo) / width + 1;
}

uint64_t hist_low(const struct hist *h, size_t i)
{
	if (h->scale == HIST_LINEAR)
		return h->min + i * h->step;
	return i ? 1ULL << (i - 1) : 0;
}

bool hist_high(const struct hist *h, size_t i, uint64_t *high)
{
	uint64_t low = hist_low(h, i);

	if (h->scale == HIST_LINEAR)
		*high = low + (h->step - 1);
	else
		*high = low ? low + (low - 1) : 0;
	/* The last bucket holds everything from its low up, unless that is all it holds anyway. */
	return i + 1 < h->n || *high == UINT64_MAX;
}

uint64_t hist_count(const struct hist *h)
{
	uint64_t total = 0;

	for (size_t i = 0; i < h->n; i++)
		total += h->counts[i];
	return total;
}

/* The j-th (from 1) of c values spread evenly over [low, high]. */
static uint64_t spread_value(uint64_t low, uint64_t high, uint64_t j, uint64_t c)
{
	double off = (double)(high - low) * ((double)j - 0.5) / (double)c + 0.5;

	/* Doubles near 2^64 round up: stay inside the bucket. */
	if (off >= (double)(high - low))
		return high;
	return low + (uint64_t)off; /* off >= 0.5: the conversion rounds down */
}

/* The least whole number at or above x, within [1, max]. */
static uint64_t round_up(double x, uint64_t max)
{
	uint64_t n;

	if (x <= 1)
		return 1;
	if (x >= (double)max)
		return max;
	n = (uint64_t)x;
	return n < x ? n + 1 : n;
}

bool hist_percentile(const struct hist *h, double p, uint64_t *value)
{
	uint64_t total = hist_count(h), below = 0, rank, high;

	if (!total)
		return false;
	/* Multiplying first keeps whole percentages exact: 90 * 10 / 100 is 9, not 9.000...1. */
	rank = round_up(p * (double)total / 100, total);
	for (size_t i = 0; i < h->n; i++) {
		uint64_t c = h->counts[i];

		if (below + c < rank) {
			below += c;
			continue;
		}
		if (!hist_high(h, i, &high))
			*value = hist_low(h, i);
		else
			*value = spread_value(hist_low(h, i), high, rank - below, c);
		return true;
	}
	return false;
}

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* One past the last bucket with a count; 0 for an empty histogram. */
static size_t used_end(const struct hist *h)
{
	size_t end = h->n;

	while (end && !h->counts[end - 1])
		end--;
	return end;
}

static void key_line(struct strbuf *sb, const struct hist_key *key, size_t nkey)
{
	for (size_t i = 0; i < nkey; i++) {
		sb_printf(sb, "%s%s = ", i ? ", " : "", key[i].name);
		if (key[i].str)
			sb_table_str(sb, key[i].str, strnlen(key[i].str, key[i].len), 0);
		else
			sb_u64(sb, key[i].num);
	}
	sb_putc(sb, '\n');
}

static void bar_row(struct strbuf *sb, const struct hist *h, size_t i, int range_w, int count_w,
		    uint64_t max)
{
	uint64_t count = h->counts[i], high;
	size_t stars = count * BAR_WIDTH / max;
	char high_s[24] = "inf";

	if (hist_high(h, i, &high))
		snprintf(high_s, sizeof(high_s), "%llu", (unsigned long long)high);
	sb_printf(sb, "%*llu -> %-*s : %-*llu |", range_w, (unsigned long long)hist_low(h, i),
		  range_w, high_s, count_w, (unsigned long long)count);
	for (size_t s = 0; s < BAR_WIDTH; s++)
		sb_putc(sb, s < stars ? '*' : ' ');
	sb_put(sb, "|\n", 2);
}

static void summary_line(struct strbuf *sb, const struct hist *h, uint64_t total)
{
	double mean = h->sum / total;
	uint64_t v;

	/* Three decimals below 1, so that a mean of 0.04 msecs does not print as 0.0. */
	sb_printf(sb, "count %llu, mean %.*f", (unsigned long long)total,
		  mean > 0 && mean < 1 ? 3 : 1, mean);
	for (size_t i = 0; i < ARRAY_SIZE(percentiles); i++)
		if (hist_percentile(h, percentiles[i], &v))
			sb_printf(sb, ", p%u %llu", percentiles[i], (unsigned long long)v);
	sb_printf(sb, " (%s)\n", h->unit);
}

static void below_line(struct strbuf *sb, const struct hist *h)
{
	if (h->below)
		sb_printf(sb, "%llu below %llu (not in the buckets)\n",
			  (unsigned long long)h->below, (unsigned long long)hist_low(h, 0));
}

void hist_text(struct strbuf *sb, const struct hist *h, const struct hist_key *key, size_t nkey)
{
	size_t end = used_end(h);
	int range_w = RANGE_MIN_WIDTH, count_w = COUNT_MIN_WIDTH;
	uint64_t max = 0, high;

	if (nkey)
		key_line(sb, key, nkey);
	if (!end) {
		sb_puts(sb, "no events\n");
		below_line(sb, h);
		sb_putc(sb, '\n');
		return;
	}
	for (size_t i = 0; i < end; i++) {
		if (h->counts[i] > max)
			max = h->counts[i];
		if (hist_high(h, i, &high) && digits(high) > range_w)
			range_w = digits(high);
		if (digits(hist_low(h, i)) > range_w)
			range_w = digits(hist_low(h, i));
	}
	if (digits(max) > count_w)
		count_w = digits(max);
	/* The unit sits over the ranges, the way bcc's tools print it. */
	sb_printf(sb, "%*s%-*s : %-*s distribution\n", range_w / 2, "",
		  2 * range_w + 4 - range_w / 2, h->unit, count_w, "count");
	for (size_t i = 0; i < end; i++)
		bar_row(sb, h, i, range_w, count_w, max);
	summary_line(sb, h, hist_count(h));
	below_line(sb, h);
	sb_putc(sb, '\n');
}

/* A JSON number with up to 6 decimals and no trailing zeros. */
static void json_double(struct strbuf *sb, double v)
{
	char tmp[64];
	int n = snprintf(tmp, sizeof(tmp), "%.6f", v);

	if (n <= 0 || n >= (int)sizeof(tmp)) {
		sb_puts(sb, "null");
		return;
	}
	while (tmp[n - 1] == '0')
		n--;
	if (tmp[n - 1] == '.')
		n--;
	sb_put(sb, tmp, n);
}

static void json_key_object(struct strbuf *sb, const struct hist_key *key, size_t nkey)
{
	sb_puts(sb, ",\"key\":{");
	for (size_t i = 0; i < nkey; i++) {
		if (i)
			sb_putc(sb, ',');
		sb_json_str(sb, key[i].name, strlen(key[i].name));
		sb_putc(sb, ':');
		if (key[i].str)
			sb_json_str(sb, key[i].str, strnlen(key[i].str, key[i].len));
		else
			sb_u64(sb, key[i].num);
	}
	sb_putc(sb, '}');
}

static void json_buckets(struct strbuf *sb, const struct hist *h)
{
	bool first = true;
	uint64_t high;

	sb_puts(sb, ",\"buckets\":[");
	for (size_t i = 0; i < h->n; i++) {
		if (!h->counts[i])
			continue;
		sb_puts(sb, first ? "{\"low\":" : ",{\"low\":");
		first = false;
		sb_u64(sb, hist_low(h, i));
		if (hist_high(h, i, &high)) {
			sb_puts(sb, ",\"high\":");
			sb_u64(sb, high);
		}
		sb_puts(sb, ",\"count\":");
		sb_u64(sb, h->counts[i]);
		sb_putc(sb, '}');
	}
	sb_putc(sb, ']');
}

void hist_json(struct strbuf *sb, const struct hist *h, const struct hist_key *key, size_t nkey,
	       uint64_t ts_ns)
{
	uint64_t v;

	sb_puts(sb, "{\"type\":\"hist\"");
	if (ts_ns) {
		sb_puts(sb, ",\"ts_ns\":");
		sb_u64(sb, ts_ns);
	}
	sb_puts(sb, ",\"unit\":");
	sb_json_str(sb, h->unit, strlen(h->unit));
	json_key_object(sb, key, nkey);
	json_buckets(sb, h);
	sb_puts(sb, ",\"count\":");
	sb_u64(sb, hist_count(h));
	if (h->below) {
		sb_puts(sb, ",\"below\":");
		sb_u64(sb, h->below);
	}
	sb_puts(sb, ",\"sum\":");
	json_double(sb, h->sum);
	for (size_t i = 0; i < ARRAY_SIZE(percentiles); i++) {
		sb_printf(sb, ",\"p%u\":", percentiles[i]);
		if (hist_percentile(h, percentiles[i], &v))
			sb_u64(sb, v);
		else
			sb_puts(sb, "null");
	}
	sb_put(sb, "}\n", 2);
}

void hist_out(const struct hist *h, const struct hist_key *key, size_t nkey, uint64_t ts_ns)
{
	if (out_json())
		hist_json(out_buf(), h, key, nkey, ts_ns);
	else
		hist_text(out_buf(), h, key, nkey);
	if (out_buf()->len >= 64 * 1024)
		out_flush();
}

/* One entry's value, removed from the map with clear. */
static bool take_value(int fd, const void *key, void *value, bool clear)
{
	if (!clear)
		return !bpf_map_lookup_elem(fd, key, value);
	if (!bpf_map_lookup_and_delete_elem(fd, key, value))
		return true;
	/* Before 5.14 hashes lack lookup-and-delete: a count may slip in between the two. */
	if (errno == ENOENT || bpf_map_lookup_elem(fd, key, value))
		return false;
	bpf_map_delete_elem(fd, key);
	return true;
}

size_t hist_map_each(int fd, size_t key_size, size_t value_size, bool clear,
		     int (*cmp)(const void *a, const void *b), hist_entry_fn fn, void *ctx)
{
	char *keys = NULL, *grown, *value = malloc(value_size);
	size_t n = 0, cap = 0, done = 0;

	/* All keys first: removing entries during the walk would restart it. */
	while (value) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(keys, cap * key_size);
			if (!grown)
				break;
			keys = grown;
		}
		if (bpf_map_get_next_key(fd, n ? keys + (n - 1) * key_size : NULL,
					 keys + n * key_size))
			break;
		n++;
	}
	if (n)
		qsort(keys, n, key_size, cmp);
	for (size_t i = 0; i < n; i++) {
		if (take_value(fd, keys + i * key_size, value, clear)) {
			fn(ctx, keys + i * key_size, value);
			done++;
		}
	}
	free(keys);
	free(value);
	return done;
}

static void print_interval(hist_print_fn print, void *ctx)
{
	uint64_t ts_ns = wall_now_ns();
	char time[32];

	if (common_opts.timestamp && !out_json()) {
		format_local_time(ts_ns, time, sizeof(time));
		out_printf("%s\n", time);
	}
	print(ctx, ts_ns);
	out_flush();
}

void hist_run(const char *what, double interval, uint64_t count, hist_print_fn print, void *ctx)
{
	/* Without an interval, one print when tracing ends: a sleep that outlasts any run. */
	double period = interval > 0 ? interval : 1e9;
	uint64_t printed = 0;
	bool going;

	run_start();
	out_flush();
	fprintf(stderr, "Tracing %s. Hit Ctrl-C to end.\n", what);
	do {
		going = run_sleep(period);
		print_interval(print, ctx);
	} while (going && ++printed != count);
}
