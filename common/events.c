// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "check.h"
#include "opts.h"
#include "output.h"
#include "ringbuf.h"
#include "util.h"

/* How long the reader sleeps when no wakeup comes: the BPF side wakes it only on a fill level. */
#define POLL_MS 50

static volatile sig_atomic_t stop_signal;
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
static double deadline;

double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

void run_catch_stop_signals(void)
{
	/* No SA_RESTART: a signal must cut the poll short. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaction(stop_signals[i], &sa, NULL);
}

void run_start(void)
{
	check_ready();
	run_catch_stop_signals();
	/* A closed pipe shows up as EPIPE on write, and ends the run cleanly. */
	signal(SIGPIPE, SIG_IGN);
	deadline = common_opts.duration > 0 ? monotonic_seconds() + common_opts.duration : 0;
}

static bool count_reached(void)
{
	return common_opts.count && out_rows() >= common_opts.count;
}

bool run_going(void)
{
	return !stop_signal && !out_closed() && !count_reached() &&
	       !(deadline && monotonic_seconds() >= deadline);
}

bool run_sleep(double seconds)
{
	double end = monotonic_seconds() + seconds;
	sigset_t stops, outside, sleeping;
	size_t i;

	/*
	 * A stop signal caught between run_going() and the sleep would leave the sleep to run to
	 * its end, which without an interval is never: they stay blocked from the check on, and
	 * ppoll() lets them in only for as long as it sleeps.
	 */
	sigemptyset(&stops);
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaddset(&stops, stop_signals[i]);
	pthread_sigmask(SIG_BLOCK, &stops, &outside);
	sleeping = outside;
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigdelset(&sleeping, stop_signals[i]);
	while (run_going()) {
		double left = end - monotonic_seconds();
		struct timespec ts;

		if (deadline && deadline - monotonic_seconds() < left)
			left = deadline - monotonic_seconds();
		if (left <= 0)
			break;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
		ppoll(NULL, 0, &ts, &sleeping);
	}
	pthread_sigmask(SIG_SETMASK, &outside, NULL);
	return run_going();
}

struct dispatch {
	event_fn fn;
	void *ctx;
	int err;
};

/* -ECANCELED from a callback makes libbpf stop consuming at once: used for --count. */
static int dispatch_record(void *ctx, void *data, size_t size)
{
	struct dispatch *d = ctx;
	int err = d->fn(d->ctx, data, size);

	if (err) {
		d->err = err;
		return err;
	}
	return count_reached() || out_closed() ? -ECANCELED : 0;
}

static int poll_timeout_ms(void)
{
	double left;

	if (!deadline)
		return POLL_MS;
	left = (deadline - monotonic_seconds()) * 1000;
	return left < 0 ? 0 : left < POLL_MS ? (int)left + 1 : POLL_MS;
}

static int poll_loop(struct ringbuf *rb, struct dispatch *d)
{
	while (run_going()) {
		int n = ringbuf_wait(rb, poll_timeout_ms());

		/* The wait ends early only for a wakeup; take what came in without one too. */
		if (n >= 0)
			n = ringbuf_consume(rb);
		out_flush();
		if (n == -ECANCELED || n == -EINTR)
			continue;
		if (n < 0) {
			if (d->err)
				return EXIT_RUNTIME;
			err_msg("reading the ring buffer failed: %s", strerror(-n));
			return EXIT_RUNTIME;
		}
	}
	return EXIT_OK;
}

int events_run(struct bpf_object *obj, const char *what, event_fn fn, void *ctx)
{
	return events_run_then(obj, what, fn, ctx, NULL, NULL);
}

int events_run_then(struct bpf_object *obj, const char *what, event_fn fn, void *ctx,
		    void (*stopped)(void *arg), void *arg)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "events");
	struct dispatch d = { .fn = fn, .ctx = ctx };
	struct ringbuf *rb;
	int ret;

	/*
	 * What loading freed goes back first: mapped after that, the ring adds to the smaller heap
	 * of the run, and the peak is the larger of the two, not their sum (~130 KB for exec).
	 */
	malloc_trim(0);
	rb = ringbuf_open(bpf_map__fd(map), dispatch_record, &d);
	if (!rb) {
		err_msg("cannot set up the ring buffer: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	run_start();
	out_flush();
	fprintf(stderr, "Tracing %s. Hit Ctrl-C to end.\n", what);
	ret = poll_loop(rb, &d);
	if (stopped)
		stopped(arg);
	/* Whatever the kernel already wrote is still ours to print, unless --count is met. */
	if (ret == EXIT_OK && !count_reached() && !out_closed())
		ringbuf_consume(rb);
	ringbuf_close(rb);
	lost_events_report(lost_events_read(obj));
	out_flush();
	return ret;
}

struct events_reader {
	struct ringbuf *rb;
	struct bpf_object *obj;
	struct dispatch d;
};

struct events_reader *events_reader_new(struct bpf_object *obj, event_fn fn, void *ctx)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "events");
	struct events_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->obj = obj;
	r->d = (struct dispatch){ .fn = fn, .ctx = ctx };
	r->rb = ringbuf_open(bpf_map__fd(map), dispatch_record, &r->d);
	if (!r->rb) {
		err_msg("cannot set up the ring buffer: %s", strerror(errno));
		free(r);
		return NULL;
	}
	return r;
}

int events_reader_poll(struct events_reader *r, double seconds)
{
	double end = monotonic_seconds() + seconds;
	int ret = EXIT_OK;

	while (ret == EXIT_OK && run_going()) {
		double left_ms = (end - monotonic_seconds()) * 1000;
		int n;

		if (left_ms <= 0)
			break;
		n = ringbuf_wait(r->rb, left_ms < POLL_MS ? (int)left_ms + 1 : POLL_MS);
		if (n >= 0)
			n = ringbuf_consume(r->rb);
		out_flush();
		if (n < 0 && n != -ECANCELED && n != -EINTR) {
			if (!r->d.err)
				err_msg("reading the ring buffer failed: %s", strerror(-n));
			ret = EXIT_RUNTIME;
		}
	}
	return ret;
}

void events_reader_free(struct events_reader *r)
{
	if (!r)
		return;
	ringbuf_close(r->rb);
	lost_events_report(lost_events_read(r->obj));
	free(r);
}

uint64_t lost_events_read(struct bpf_object *obj)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "lost_events");
	int ncpus = libbpf_num_possible_cpus();
	uint64_t total = 0;
	uint32_t zero = 0;

	if (!map || ncpus <= 0)
		return 0;
	{
		uint64_t values[ncpus];

		if (bpf_map_lookup_elem(bpf_map__fd(map), &zero, values))
			return 0;
		for (int i = 0; i < ncpus; i++)
			total += values[i];
	}
	return total;
}

void lost_events_report(uint64_t lost)
{
	if (!lost)
		return;
	err_msg("lost %llu events: the ring buffer was full (a larger --ringbuf-size helps)",
		(unsigned long long)lost);
	if (out_json())
		out_printf("{\"type\":\"lost\",\"count\":%llu}\n", (unsigned long long)lost);
}

/* Poll r (NULL: sleep) up to the next tick or report, whichever comes first. */
static int wait_for_tick(struct events_reader *r, const struct events_loop *l, double next_report)
{
	double left = next_report - monotonic_seconds(), seconds = l->tick;

	if (l->interval && left < seconds)
		seconds = left > 0 ? left : 0;
	if (r)
		return events_reader_poll(r, seconds);
	run_sleep(seconds);
	return EXIT_OK;
}

int events_loop_run(struct events_reader *r, const struct events_loop *l)
{
	double next_report = monotonic_seconds() + l->interval;
	uint64_t reports = 0;
	int ret = EXIT_OK;

	while (ret == EXIT_OK && run_going()) {
		ret = wait_for_tick(r, l, next_report);
		if (ret != EXIT_OK || !l->on_tick(l->ctx, &ret))
			break;
		if (l->interval && monotonic_seconds() >= next_report) {
			ret = l->report(l->ctx);
			next_report += l->interval;
			if (l->count && ++reports == l->count)
				return ret;
		}
	}
	/* What the run ended on. */
	if (ret == EXIT_OK && l->interval && !out_closed())
		ret = l->report(l->ctx);
	return ret;
}
