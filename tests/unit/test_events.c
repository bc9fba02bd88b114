// SPDX-License-Identifier: GPL-2.0
/* The loop of subcommands with work between records: ticks, reports every interval, the last. */
#include "events.h"
#include "unit.h"
#include "util.h"

struct loop_seen {
	unsigned int ticks, reports;
	unsigned int stop_at_tick; /* 0: never */
	int report_ret;
};

static bool on_tick(void *ctx, int *ret)
{
	struct loop_seen *s = ctx;

	(void)ret;
	return ++s->ticks != s->stop_at_tick;
}

static int on_report(void *ctx)
{
	struct loop_seen *s = ctx;

	s->reports++;
	return s->report_ret;
}

static int run_loop(struct loop_seen *s, double interval, uint64_t count)
{
	const struct events_loop l = { 0.005, interval, count, on_tick, on_report, s };

	return events_loop_run(NULL, &l);
}

TEST(events_loop_makes_count_reports_then_ends_without_another)
{
	struct loop_seen s = {};

	CHECK_INT_EQ(run_loop(&s, 0.02, 3), EXIT_OK);
	CHECK_INT_EQ(s.reports, 3);
	CHECK(s.ticks >= 3);
}

TEST(events_loop_reports_once_more_when_a_tick_ends_it)
{
	struct loop_seen s = { .stop_at_tick = 5 };
	double start = monotonic_seconds();

	/* A report 10 s away does not hold the ticks back, and the end brings the last report. */
	CHECK_INT_EQ(run_loop(&s, 10, 0), EXIT_OK);
	CHECK_INT_EQ(s.ticks, 5);
	CHECK_INT_EQ(s.reports, 1);
	CHECK(monotonic_seconds() - start < 5);

	s = (struct loop_seen){ .stop_at_tick = 2 };
	CHECK_INT_EQ(run_loop(&s, 0, 0), EXIT_OK);
	CHECK_INT_EQ(s.reports, 0); /* no interval: no reports */
}

TEST(events_loop_ends_at_a_failed_report)
{
	struct loop_seen s = { .report_ret = EXIT_RUNTIME };

	CHECK_INT_EQ(run_loop(&s, 0.01, 0), EXIT_RUNTIME);
	CHECK_INT_EQ(s.reports, 1);
}
