/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus metrics (--metrics [ADDR:]PORT): libmicrohttpd serves GET /metrics in the text
 * exposition format 0.0.4 from its own thread, so a scrape never waits for the event loop nor the
 * event loop for a scrape longer than it takes to write out one family.
 *
 * A subcommand declares its families once (name, help, type, label names) and feeds them where it
 * decides its numbers: metrics_add() for a counter where it prints an event, metrics_set() for a
 * gauge where it prints a report, metrics_observe() for a latency histogram, or, read at each
 * scrape, metrics_watch_map() for the counters and log2 histograms a BPF hash map holds and
 * metrics_watch_count_map() for the counters of a (per-CPU) counter map. This
 * file only formats. Self-metrics come for free: build and program info, lost events, program run
 * counts and times (which the kernel keeps under kernel.bpf_stats_enabled), and what the series
 * cap dropped.
 *
 * Every update is a no-op without --metrics. A family's series are created on first update and
 * capped in number over all families (--metrics-max-series); an update that would need a new
 * series past the cap is dropped and counted in ebpftrace_metrics_dropped_total.
 */
#ifndef EBPFTRACE_METRICS_H
#define EBPFTRACE_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "hist.h"

#define METRIC_MAX_LABELS 4

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_INFO,	  /* a gauge of 1 whose labels are the information; name ends in _info */
	METRIC_HISTOGRAM, /* of durations in seconds (or plain values), with log2 buckets */
	METRIC_SECONDS,	  /* a counter of ns, served in seconds; name ends in _seconds_total */
};

struct metrics_map;
struct metrics_count_map;
struct metric_series;

struct metric_family {
	const char *name; /* the whole name: ebpftrace_<sub>_<what>_<unit>[_total] */
	const char *help;
	enum metric_type type;
	const char *labels[METRIC_MAX_LABELS]; /* label names, NULL after the last */
	/* histogram: nanoseconds per unit of the log2 slots (1000: usecs); 0: of plain values */
	uint64_t hist_div;
	uint64_t sum_ns; /* histogram: nanoseconds per unit of the sum (0: 1, the sum is in ns) */
	/* metrics.c's own */
	pthread_mutex_t lock;
	struct metric_series *series;
	size_t nseries, cap;
	size_t *index, index_cap; /* open addressing by label hash: series number + 1, 0 free */
	struct metrics_map *source;
	struct metrics_count_map *counts;
	struct metric_family *next;
	bool listed;
};

#define METRIC_FAMILY(type_, name_, help_, ...)                                         \
	{                                                                               \
		.name = name_, .help = help_, .type = type_, .labels = { __VA_ARGS__ }, \
		.lock = PTHREAD_MUTEX_INITIALIZER                                       \
	}
/* A histogram of durations whose log2 slots count units of div nanoseconds. */
#define METRIC_HISTOGRAM_FAMILY(name_, help_, div, ...)                                            \
	{                                                                                          \
		.name = name_, .help = help_, .type = METRIC_HISTOGRAM, .labels = { __VA_ARGS__ }, \
		.hist_div = div, .lock = PTHREAD_MUTEX_INITIALIZER                                 \
	}

/* A histogram of plain values (sizes, counts: no unit to convert) from log2 slots. */
#define METRIC_VALUE_HISTOGRAM_FAMILY(name_, help_, ...) \
	METRIC_HISTOGRAM_FAMILY(name_, help_, 0, __VA_ARGS__)
/* The label values of one update, in the order of the family's label names. */
#define METRIC_VALUES(...) ((const char *const[]){ __VA_ARGS__ })

/* Where --metrics listens. */
struct metrics_addr {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	bool explicit_addr; /* ADDR was given: not the loopback default */
};

/* "PORT", "A.B.C.D:PORT" or "[IPV6]:PORT"; false on anything else. */
bool metrics_parse_addr(const char *arg, struct metrics_addr *a);

/* The common options: --metrics [ADDR:]PORT and --metrics-max-series N. Usage errors exit 2. */
void metrics_option(const char *arg);
void metrics_max_series_option(const char *arg);
bool metrics_on(void);

/*
 * Bind the address and start serving (before anything is loaded). Returns EXIT_OK, EXIT_USAGE for
 * an address this host does not have, or EXIT_RUNTIME (a port already taken).
 */
int metrics_start(void);
/* Stop serving: after this no scrape reads a map. Call before the BPF objects go. */
void metrics_stop(void);
/* A loaded object: its programs go into build info and run statistics, its lost events counted. */
struct bpf_object;
void metrics_add_object(struct bpf_object *obj);
/* Before obj is destroyed while serving (a load tried again another way): no scrape reads it. */
void metrics_forget_object(struct bpf_object *obj);

void metrics_add(struct metric_family *f, const char *const *values, uint64_t delta);
void metrics_set(struct metric_family *f, const char *const *values, uint64_t value);
/* A histogram: one duration of ns nanoseconds (of plain values: one value). */
void metrics_observe(struct metric_family *f, const char *const *values, uint64_t ns);
/* Drop every series of f (a gauge family that a report replaces as a whole). */
void metrics_clear(struct metric_family *f);
/* "ok" for a result >= 0, else the errno name of -ret: the result label of syscall events. */
const char *metrics_result(int64_t ret);

/* One number of a BPF map's values, served as a family's series. */
struct metrics_column {
	struct metric_family *family; /* a counter, METRIC_SECONDS or histogram family */
	size_t offset;		      /* in the value: of a __u64, or of a struct hist_log2 */
	size_t sum_offset; /* a histogram's sum, when it is not right after the slots (0: it is) */
	/* A label after the key's that tells this column from the family's others (pattern =
	 * random, sequential), or NULL. */
	const char *label, *label_value;
};

#define METRICS_MAX_COLUMNS 4

/*
 * A BPF hash map whose values hold counters or log2 histograms, served as the columns' families:
 * at each scrape every entry becomes a series of each column, labelled with its key fields (as
 * the text and JSON output show them). When the subcommand takes entries out every interval, the
 * counts taken are kept, so that the series stay cumulative as Prometheus counters must.
 */
struct metrics_map {
	int fd;
	size_t key_size, value_size;
	int (*cmp)(const void *a, const void *b);
	/* An entry's key fields (into fields, up to METRIC_MAX_LABELS - 1); false: skip it. */
	bool (*decode)(const void *key, const void *value, struct hist_key *fields,
		       size_t *nfields);
	struct metrics_column columns[METRICS_MAX_COLUMNS];
	size_t ncolumns;
};

void metrics_watch_map(struct metrics_map *m);

/*
 * A BPF map whose values are u64 counters (per-CPU ones summed over the CPUs), exported as the
 * counter family: at each scrape the counter at index column of every entry's value becomes the
 * series that labels() names, in the order of the family's label names. Entries that labels()
 * names alike add up into one series; an entry it returns false for is left out.
 */
#define METRIC_LABEL_SIZE 256
struct metrics_count_map {
	struct metric_family *family;
	int fd;
	size_t column;
	bool (*labels)(void *ctx, const void *key, char (*values)[METRIC_LABEL_SIZE]);
	void *ctx;
};

void metrics_watch_count_map(struct metrics_count_map *m);

/* What a scrape answers: every family, then the self-metrics. The caller frees it. */
struct strbuf metrics_text(void);
/*
 * hist_map_each() on the map, in step with scrapes: with clear, what is taken out is added to the
 * exported counts before a scrape can miss it. decode and fn are not called concurrently.
 */
size_t metrics_map_each(struct metrics_map *m, bool clear, hist_entry_fn fn, void *ctx);

#endif
