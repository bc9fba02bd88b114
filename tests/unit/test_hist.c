// SPDX-License-Identifier: GPL-2.0
/* Histograms: bucket edges, exact text and JSON, percentiles against known distributions. */
#include <math.h>
#include <stdlib.h>
#include "hist.h"
#include "unit.h"

static struct hist log2_hist(const __u64 *counts, double sum)
{
	return (struct hist){
		.scale = HIST_LOG2, .n = HIST_SLOTS, .counts = counts, .sum = sum, .unit = "usecs"
	};
}

static bool in_bucket(const struct hist *h, size_t i, uint64_t v)
{
	uint64_t high;

	return hist_low(h, i) <= v && (!hist_high(h, i, &high) || v <= high);
}

TEST(log2_bucket_edges)
{
	__u64 counts[HIST_SLOTS] = {};
	struct hist h = log2_hist(counts, 0);
	uint64_t high;

	CHECK_INT_EQ(hist_log2_slot(0), 0);
	CHECK_INT_EQ(hist_log2_slot(1), 1);
	CHECK_INT_EQ(hist_log2_slot(2), 2);
	CHECK_INT_EQ(hist_log2_slot(3), 2);
	CHECK_INT_EQ(hist_log2_slot(4), 3);
	for (unsigned int k = 1; k < 64; k++) {
		uint64_t p = 1ULL << k;

		CHECK_INT_EQ(hist_log2_slot(p - 1), k);
		CHECK_INT_EQ(hist_log2_slot(p), k + 1);
		CHECK(in_bucket(&h, k, p - 1));
		CHECK(in_bucket(&h, k + 1, p));
		CHECK(!in_bucket(&h, k, p));
	}
	/* The largest value has a bucket of its own kind: nothing is clamped. */
	CHECK_INT_EQ(hist_log2_slot(UINT64_MAX), 64);
	CHECK_INT_EQ(hist_low(&h, 64), 1ULL << 63);
	CHECK(hist_high(&h, 64, &high));
	CHECK(high == UINT64_MAX);
	CHECK(hist_high(&h, 0, &high) && high == 0);
	CHECK(hist_high(&h, 1, &high) && high == 1);
	CHECK(hist_high(&h, 2, &high) && high == 3);
}

TEST(linear_bucket_edges)
{
	__u64 counts[5] = {};
	struct hist h = { .scale = HIST_LINEAR, .step = 10, .n = 5, .counts = counts };
	uint64_t high;

	CHECK_INT_EQ(hist_linear_slot(0, 10, 5), 0);
	CHECK_INT_EQ(hist_linear_slot(9, 10, 5), 0);
	CHECK_INT_EQ(hist_linear_slot(10, 10, 5), 1);
	CHECK_INT_EQ(hist_linear_slot(39, 10, 5), 3);
	CHECK_INT_EQ(hist_linear_slot(40, 10, 5), 4);
	/* Past the last bucket: counted in it, and it says it is open-ended. */
	CHECK_INT_EQ(hist_linear_slot(50, 10, 5), 4);
	CHECK_INT_EQ(hist_linear_slot(UINT64_MAX, 10, 5), 4);
	CHECK_INT_EQ(hist_low(&h, 4), 40);
	CHECK(!hist_high(&h, 4, &high));
	CHECK(hist_high(&h, 3, &high) && high == 39);
}

/* 60 values: 3 of 1, 12 in 2..3, 40 in 4..7, 5 in 8..15. */
static const __u64 fixed[HIST_SLOTS] = { [1] = 3, [2] = 12, [3] = 40, [4] = 5 };

TEST(text_exact)
{
	struct hist h = log2_hist(fixed, 270);
	struct hist_key key[] = { { .name = "pid", .num = 42 },
				  { .name = "comm", .str = "sh\n", .len = 16 } };
	struct strbuf sb = {};

	hist_text(&sb, &h, key, 2);
	CHECK_MEM_EQ(
		sb.buf, sb.len,
		"pid = 42, comm = sh\\n\n"
		"     usecs               : count    distribution\n"
		"         0 -> 0          : 0        |                                        |\n"
		"         1 -> 1          : 3        |***                                     |\n"
		"         2 -> 3          : 12       |************                            |\n"
		"         4 -> 7          : 40       |****************************************|\n"
		"         8 -> 15         : 5        |*****                                   |\n"
		"count 60, mean 4.5, p50 5, p90 7, p99 14 (usecs)\n"
		"\n");
	sb_free(&sb);
}

TEST(text_widens_for_large_numbers)
{
	__u64 counts[HIST_SLOTS] = { [35] = 123456789 };
	struct hist h = log2_hist(counts, 0);
	struct strbuf sb = {};
	const char *header = "     usecs                 : count     distribution\n";
	const char *row = "17179869184 -> 34359738367 : 123456789 |*****";
	char *found;

	hist_text(&sb, &h, NULL, 0);
	sb_putc(&sb, '\0');
	/* 2^34 .. 2^35 - 1 need 11 columns and the count 9: the bar still lines up. */
	CHECK(!strncmp(sb.buf, header, strlen(header)));
	found = strstr(sb.buf, "\n17179869184");
	CHECK(found && !strncmp(found + 1, row, strlen(row)));
	sb_free(&sb);
}

TEST(text_linear_open_ended)
{
	__u64 counts[3] = { 1, 0, 2 };
	struct hist h = { .scale = HIST_LINEAR,
			  .step = 5,
			  .n = 3,
			  .counts = counts,
			  .sum = 31,
			  .unit = "msecs" };
	struct strbuf sb = {};

	hist_text(&sb, &h, NULL, 0);
	CHECK_MEM_EQ(
		sb.buf, sb.len,
		"     msecs               : count    distribution\n"
		"         0 -> 4          : 1        |********************                    |\n"
		"         5 -> 9          : 0        |                                        |\n"
		"        10 -> inf        : 2        |****************************************|\n"
		"count 3, mean 10.3, p50 10, p90 10, p99 10 (msecs)\n"
		"\n");
	sb_free(&sb);
}

/* From min up, and what lies below it counted apart: out of count, mean and percentiles. */
TEST(linear_from_min_with_values_below)
{
	__u64 counts[3] = { 1, 0, 2 };
	struct hist h = { .scale = HIST_LINEAR,
			  .step = 5,
			  .min = 10,
			  .n = 3,
			  .counts = counts,
			  .sum = 51,
			  .below = 4,
			  .unit = "count" };
	static const __u64 none[3];
	struct strbuf sb = {};

	hist_text(&sb, &h, NULL, 0);
	CHECK_MEM_EQ(
		sb.buf, sb.len,
		"     count               : count    distribution\n"
		"        10 -> 14         : 1        |********************                    |\n"
		"        15 -> 19         : 0        |                                        |\n"
		"        20 -> inf        : 2        |****************************************|\n"
		"count 3, mean 17.0, p50 20, p90 20, p99 20 (count)\n"
		"4 below 10 (not in the buckets)\n"
		"\n");
	sb.len = 0;
	hist_json(&sb, &h, NULL, 0, 0);
	CHECK_MEM_EQ(sb.buf, sb.len,
		     "{\"type\":\"hist\",\"unit\":\"count\",\"key\":{},\"buckets\":[{\"low\":10,"
		     "\"high\":14,\"count\":1},{\"low\":20,\"count\":2}],\"count\":3,\"below\":4,"
		     "\"sum\":51,\"p50\":20,\"p90\":20,\"p99\":20}\n");
	sb.len = 0;
	h.counts = none;
	hist_text(&sb, &h, NULL, 0);
	CHECK_MEM_EQ(sb.buf, sb.len, "no events\n4 below 10 (not in the buckets)\n\n");
	sb_free(&sb);
}

TEST(text_empty_says_no_events)
{
	__u64 counts[HIST_SLOTS] = {};
	struct hist h = log2_hist(counts, 0);
	struct hist_key key[] = { { .name = "pidns", .num = 4026531836 } };
	struct strbuf sb = {};

	hist_text(&sb, &h, NULL, 0);
	CHECK_MEM_EQ(sb.buf, sb.len, "no events\n\n");
	sb.len = 0;
	hist_text(&sb, &h, key, 1);
	CHECK_MEM_EQ(sb.buf, sb.len, "pidns = 4026531836\nno events\n\n");
	sb_free(&sb);
}

TEST(json_exact)
{
	struct hist h = log2_hist(fixed, 270.125);
	struct hist_key key[] = { { .name = "pid", .num = 42 },
				  { .name = "comm", .str = "a\"b\xff", .len = 16 } };
	struct strbuf sb = {};

	hist_json(&sb, &h, key, 2, 0);
	CHECK_MEM_EQ(sb.buf, sb.len,
		     "{\"type\":\"hist\",\"unit\":\"usecs\",\"key\":{\"pid\":42,\"comm\":"
		     "\"a\\\"b\\udcff\"},"
		     "\"buckets\":[{\"low\":1,\"high\":1,\"count\":3},{\"low\":2,\"high\":3,"
		     "\"count\":12},"
		     "{\"low\":4,\"high\":7,\"count\":40},{\"low\":8,\"high\":15,\"count\":5}],"
		     "\"count\":60,\"sum\":270.125,\"p50\":5,\"p90\":7,\"p99\":14}\n");
	sb_free(&sb);
}

TEST(json_time_open_bucket_and_empty)
{
	__u64 counts[3] = { 0, 0, 4 }, none[HIST_SLOTS] = {};
	struct hist lin = { .scale = HIST_LINEAR,
			    .step = 5,
			    .n = 3,
			    .counts = counts,
			    .sum = 48,
			    .unit = "msecs" };
	struct hist empty = log2_hist(none, 0);
	struct strbuf sb = {};

	hist_json(&sb, &lin, NULL, 0, 1700000000123456789ULL);
	CHECK_MEM_EQ(
		sb.buf, sb.len,
		"{\"type\":\"hist\",\"ts_ns\":1700000000123456789,\"unit\":\"msecs\",\"key\":{},"
		"\"buckets\":[{\"low\":10,\"count\":4}],\"count\":4,\"sum\":48,\"p50\":10,"
		"\"p90\":10,\"p99\":10}\n");
	sb.len = 0;
	hist_json(&sb, &empty, NULL, 0, 0);
	CHECK_MEM_EQ(sb.buf, sb.len,
		     "{\"type\":\"hist\",\"unit\":\"usecs\",\"key\":{},\"buckets\":[],\"count\":0,"
		     "\"sum\":0,\"p50\":null,\"p90\":null,\"p99\":null}\n");
	sb_free(&sb);
}

TEST(from_kernel_log2_scales_the_sum)
{
	struct hist_log2 k = { .slots = { [2] = 2 }, .sum = 5500 };
	struct hist h = hist_from_log2(&k, 1000, "usecs");

	CHECK(h.scale == HIST_LOG2);
	CHECK_INT_EQ(h.n, HIST_SLOTS);
	CHECK_INT_EQ(hist_count(&h), 2);
	CHECK(h.sum == 5.5);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of sorted values. */
static uint64_t true_percentile(const uint64_t *sorted, size_t n, unsigned int p)
{
	size_t rank = (p * n + 99) / 100;

	return sorted[(rank ? rank : 1) - 1];
}

static const unsigned int ps[] = { 1, 10, 50, 90, 99, 100 };

TEST(percentiles_exact_for_evenly_spread_values)
{
	__u64 log2_counts[HIST_SLOTS] = {}, lin_counts[101] = {};
	uint64_t sorted[1023], v;
	struct hist h = log2_hist(log2_counts, 0);
	struct hist lin = { .scale = HIST_LINEAR, .step = 10, .n = 101, .counts = lin_counts };

	/* 1..1023 once each fills log2 buckets 1..10; 0..999 the first 100 linear ones (the 101st,
	 * open-ended, stays empty). */
	for (uint64_t i = 1; i <= 1023; i++) {
		log2_counts[hist_log2_slot(i)]++;
		sorted[i - 1] = i;
	}
	for (uint64_t i = 0; i < 1000; i++)
		lin_counts[hist_linear_slot(i, 10, 101)]++;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		CHECK(hist_percentile(&h, ps[i], &v));
		CHECK_INT_EQ(v, true_percentile(sorted, 1023, ps[i]));
		CHECK(hist_percentile(&lin, ps[i], &v));
		CHECK_INT_EQ(v, true_percentile(sorted, 1000, ps[i]) - 1); /* 0-based: one less */
	}
}

TEST(percentiles_of_single_values)
{
	__u64 counts[HIST_SLOTS] = {};
	uint64_t v;
	struct hist h = log2_hist(counts, 0);

	CHECK(!hist_percentile(&h, 50, &v));
	counts[0] = 7; /* seven zeros */
	CHECK(hist_percentile(&h, 99, &v) && v == 0);
	counts[0] = 0;
	counts[1] = 1; /* one 1 */
	CHECK(hist_percentile(&h, 50, &v) && v == 1);
	counts[1] = 0;
	counts[10] = 1000; /* a thousand values somewhere in 512..1023: the middle is the guess */
	CHECK(hist_percentile(&h, 50, &v) && v == 767);
	CHECK(hist_percentile(&h, 100, &v) && v == 1023);
}

/* A skewed distribution: the estimate stays in the true value's bucket, within a factor of 2. */
TEST(percentiles_within_bound_for_skewed_values)
{
	enum { N = 20000 };
	__u64 counts[HIST_SLOTS] = {};
	uint64_t *values = malloc(N * sizeof(*values)), v, t;
	struct hist h = log2_hist(counts, 0);
	uint64_t x = 88172645463325252ULL;

	CHECK(values != NULL);
	if (!values)
		return;
	for (int i = 0; i < N; i++) {
		/* xorshift64; a power of a uniform value makes a long tail */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		values[i] = (uint64_t)(1e6 * pow((double)(x % 1000000) / 1e6, 6));
		counts[hist_log2_slot(values[i])]++;
	}
	qsort(values, N, sizeof(*values), cmp_u64);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		t = true_percentile(values, N, ps[i]);
		CHECK(hist_percentile(&h, ps[i], &v));
		CHECK_INT_EQ(hist_log2_slot(v), hist_log2_slot(t));
		CHECK(t < 2 ? v == t : (v < 2 * t && t < 2 * v));
	}
	free(values);
}
