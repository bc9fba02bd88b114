// SPDX-License-Identifier: GPL-2.0
/* Metrics: the exposition text of counters, gauges and histograms, label escaping, the cap. */
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "unit.h"

/* The text a scrape would get; --metrics given (nothing is bound until metrics_start()). */
static char *text(void)
{
	struct strbuf sb;

	metrics_option("9");
	sb = metrics_text();
	sb_putc(&sb, '\0');
	return sb.buf;
}

#define CHECK_HAS(t, s)                                                               \
	do {                                                                          \
		if (!strstr((t), (s)))                                                \
			unit_fail(__FILE__, __LINE__, "no \"%s\" in:\n%s", (s), (t)); \
	} while (0)

TEST(metrics_counters_by_label)
{
	static struct metric_family f = METRIC_FAMILY(METRIC_COUNTER, "ebpftrace_t_events_total",
						      "Events", "syscall", "result");
	char *t;

	metrics_option("9");
	metrics_add(&f, METRIC_VALUES("openat", "ok"), 2);
	metrics_add(&f, METRIC_VALUES("openat", "ENOENT"), 1);
	metrics_add(&f, METRIC_VALUES("openat", "ok"), 1);
	t = text();
	CHECK_HAS(t, "# HELP ebpftrace_t_events_total Events\n"
		     "# TYPE ebpftrace_t_events_total counter\n"
		     "ebpftrace_t_events_total{syscall=\"openat\",result=\"ok\"} 3\n"
		     "ebpftrace_t_events_total{syscall=\"openat\",result=\"ENOENT\"} 1\n");
	free(t);
	metrics_clear(&f);
}

TEST(metrics_label_values_escaped)
{
	static struct metric_family f =
		METRIC_FAMILY(METRIC_GAUGE, "ebpftrace_t_bytes", "Bytes", "comm");
	char *t;

	metrics_option("9");
	metrics_set(&f, METRIC_VALUES("a\"b\\c\nd\xff\xc3\xa9"), 7);
	t = text();
	CHECK_HAS(t, "ebpftrace_t_bytes{comm=\"a\\\"b\\\\c\\nd\\\\xff\xc3\xa9\"} 7\n");
	free(t);
	metrics_clear(&f);
}

TEST(metrics_histogram_cumulative_seconds)
{
	static struct metric_family f = METRIC_HISTOGRAM_FAMILY("ebpftrace_t_latency_seconds",
								"Latency", 1000, "ip_version");
	char *t;

	metrics_option("9");
	metrics_observe(&f, METRIC_VALUES("4"), 999);	/* 0 usecs: slot 0, below 1 us */
	metrics_observe(&f, METRIC_VALUES("4"), 1500);	/* 1 usec: below 2 us */
	metrics_observe(&f, METRIC_VALUES("4"), 3999);	/* 3 usecs: below 4 us */
	metrics_observe(&f, METRIC_VALUES("4"), 300e9); /* 5 minutes: past the last bucket */
	t = text();
	CHECK_HAS(t, "# TYPE ebpftrace_t_latency_seconds histogram\n"
		     "ebpftrace_t_latency_seconds_bucket{ip_version=\"4\",le=\"0.000001\"} 1\n"
		     "ebpftrace_t_latency_seconds_bucket{ip_version=\"4\",le=\"0.000002\"} 2\n"
		     "ebpftrace_t_latency_seconds_bucket{ip_version=\"4\",le=\"0.000004\"} 3\n"
		     "ebpftrace_t_latency_seconds_bucket{ip_version=\"4\",le=\"0.000008\"} 3\n");
	CHECK_HAS(t, "ebpftrace_t_latency_seconds_bucket{ip_version=\"4\",le=\"134.217728\"} 3\n"
		     "ebpftrace_t_latency_seconds_bucket{ip_version=\"4\",le=\"+Inf\"} 4\n"
		     "ebpftrace_t_latency_seconds_sum{ip_version=\"4\"} 300.000006498\n"
		     "ebpftrace_t_latency_seconds_count{ip_version=\"4\"} 4\n");
	CHECK(!strstr(t, "le=\"268.435456\""));
	free(t);
	metrics_clear(&f);
}

TEST(metrics_seconds_counter)
{
	static struct metric_family secs =
		METRIC_FAMILY(METRIC_SECONDS, "ebpftrace_t_time_seconds_total", "Time", "vec");
	char *t;

	metrics_option("9");
	metrics_add(&secs, METRIC_VALUES("3"), 1500000001);
	metrics_add(&secs, METRIC_VALUES("3"), 1);
	metrics_add(&secs, METRIC_VALUES("4"), 0);
	t = text();
	CHECK_HAS(t, "# TYPE ebpftrace_t_time_seconds_total counter\n"
		     "ebpftrace_t_time_seconds_total{vec=\"3\"} 1.500000002\n"
		     "ebpftrace_t_time_seconds_total{vec=\"4\"} 0.0\n");
	free(t);
	metrics_clear(&secs);
}

TEST(metrics_histogram_of_plain_values)
{
	static struct metric_family f =
		METRIC_VALUE_HISTOGRAM_FAMILY("ebpftrace_t_values", "Sizes", "fn");
	char *t;

	metrics_option("9");
	metrics_observe(&f, METRIC_VALUES("w"), 0);
	metrics_observe(&f, METRIC_VALUES("w"), 1);
	metrics_observe(&f, METRIC_VALUES("w"), 7);  /* slot 3: 4..7, at most 7 */
	metrics_observe(&f, METRIC_VALUES("w"), 8);  /* slot 4: 8..15 */
	metrics_observe(&f, METRIC_VALUES("w"), -1); /* the top slot: only +Inf holds it */
	t = text();
	CHECK_HAS(t, "# TYPE ebpftrace_t_values histogram\n"
		     "ebpftrace_t_values_bucket{fn=\"w\",le=\"0\"} 1\n"
		     "ebpftrace_t_values_bucket{fn=\"w\",le=\"1\"} 2\n"
		     "ebpftrace_t_values_bucket{fn=\"w\",le=\"3\"} 2\n"
		     "ebpftrace_t_values_bucket{fn=\"w\",le=\"7\"} 3\n"
		     "ebpftrace_t_values_bucket{fn=\"w\",le=\"15\"} 4\n");
	CHECK_HAS(t, "ebpftrace_t_values_bucket{fn=\"w\",le=\"9223372036854775807\"} 4\n"
		     "ebpftrace_t_values_bucket{fn=\"w\",le=\"+Inf\"} 5\n"
		     "ebpftrace_t_values_sum{fn=\"w\"} 15\n"
		     "ebpftrace_t_values_count{fn=\"w\"} 5\n");
	free(t);
	metrics_clear(&f);
}

TEST(metrics_cap_drops_and_counts)
{
	static struct metric_family f =
		METRIC_FAMILY(METRIC_COUNTER, "ebpftrace_t_capped_total", "Capped", "n");
	static const char *const n[] = { "1", "2", "3", "4", "5" };
	char *t;

	metrics_option("9");
	metrics_max_series_option("3");
	for (size_t i = 0; i < 5; i++)
		metrics_add(&f, METRIC_VALUES(n[i]), 1);
	metrics_add(&f, METRIC_VALUES("1"), 1); /* a series that exists still counts */
	t = text();
	CHECK_HAS(t, "ebpftrace_t_capped_total{n=\"1\"} 2\n"
		     "ebpftrace_t_capped_total{n=\"2\"} 1\n"
		     "ebpftrace_t_capped_total{n=\"3\"} 1\n# ");
	CHECK(!strstr(t, "n=\"4\""));
	CHECK_HAS(t, "ebpftrace_metrics_dropped_total 2\n");
	free(t);
	metrics_clear(&f);
	metrics_max_series_option("1000");
}
