/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The run loop: signals, --duration, --count, a closed stdout, the ring buffer "events" and the
 * lost-event count "lost_events" that every BPF program of ours has (bpf/common.bpf.h).
 */
#ifndef EBPFTRACE_EVENTS_H
#define EBPFTRACE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_object;

/* Turn one record into output rows; return 0, or a negative errno to stop with a failure. */
typedef int (*event_fn)(void *ctx, const void *data, size_t size);

/* CLOCK_MONOTONIC in seconds, and in nanoseconds (the clock of bpf_ktime_get_ns). */
double monotonic_seconds(void);
uint64_t monotonic_ns(void);
/*
 * From now on SIGINT, SIGTERM and SIGHUP stop the run instead of killing the process: caught
 * before anything is loaded, a signal that comes while a subcommand attaches lets it finish
 * attaching, then run_going() is false at once and the normal exit path detaches (netlink
 * attachments included). Handlers, not SIG_IGN: a command a subcommand starts gets the defaults.
 */
void run_catch_stop_signals(void);
/* Catch the stop signals, ignore SIGPIPE and start the --duration clock. */
void run_start(void);
/* False once a signal came, --duration passed, --count was reached or stdout closed. */
bool run_going(void);
/* Sleep up to seconds (cut short by a stop); returns run_going(). */
bool run_sleep(double seconds);

/*
 * Print "Tracing ...", then poll the ring buffer and hand each record to fn until the run stops.
 * Reports lost events at the end. Returns an exit code.
 */
int events_run(struct bpf_object *obj, const char *what, event_fn fn, void *ctx);
/*
 * The same, calling stopped(arg) once the run has stopped and before the last records are read:
 * where programs act rather than watch (lsm-block), they are detached there, so that every
 * record of what they did is printed.
 */
int events_run_then(struct bpf_object *obj, const char *what, event_fn fn, void *ctx,
		    void (*stopped)(void *arg), void *arg);

/*
 * For interval-driven subcommands that also stream records (memleak -t): the ring buffer read
 * by their own loop. poll hands records to fn for up to seconds, less if the run stops, and
 * returns EXIT_OK or an exit code; free reports lost events.
 */
struct events_reader;
struct events_reader *events_reader_new(struct bpf_object *obj, event_fn fn, void *ctx);
int events_reader_poll(struct events_reader *r, double seconds);
void events_reader_free(struct events_reader *r);
/*
 * The loop of a subcommand with work between records, and maybe reports every interval: poll
 * r (NULL: no records, sleep) for up to tick seconds, never past a report that is due, then
 * on_tick(ctx, &ret), which returns false to end (with ret saying why, EXIT_OK for an end that
 * is no error: the process traced is gone). With an interval, report(ctx) each time one is due,
 * until count of them (then the loop ends there), and once more when the loop ends otherwise with
 * EXIT_OK and the output still open. Returns EXIT_OK or the first exit code of a poll, on_tick
 * or report.
 */
struct events_loop {
	double tick;	 /* seconds, at most, between calls of on_tick */
	double interval; /* seconds between reports; 0: none */
	uint64_t count;	 /* reports to make; 0: until the run stops */
	bool (*on_tick)(void *ctx, int *ret);
	int (*report)(void *ctx);
	void *ctx;
};
int events_loop_run(struct events_reader *r, const struct events_loop *l);

/* Events the BPF side could not put in the ring buffer, summed over CPUs. */
uint64_t lost_events_read(struct bpf_object *obj);
/* Say so on stderr and, with --json, as {"type":"lost","count":N}; nothing when lost is 0. */
void lost_events_report(uint64_t lost);

#endif
