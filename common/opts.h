/* SPDX-License-Identifier: GPL-2.0 */
/* The options every subcommand takes, as an argp child parser (see ARCHITECTURE.md). */
#ifndef EBPFTRACE_OPTS_H
#define EBPFTRACE_OPTS_H

#include <argp.h>
#include <stdbool.h>
#include <stdint.h>
#include "common.h"

struct common_opts {
	struct filter_cfg filter;
	const char *cgroup_path;
	double duration;       /* seconds; 0: until interrupted */
	uint64_t count;	       /* stop after this many output rows; 0: no limit */
	uint64_t ringbuf_size; /* bytes */
	bool timestamp;	       /* -T */
	bool json;	       /* --json */
	bool quiet;	       /* --quiet: no table or JSON output (with --metrics) */
	const char *output;    /* -o/--output FILE for the records; NULL or "-": stdout */
};

extern struct common_opts common_opts;
extern const struct argp common_argp;

/* Long-only option keys: values above any character. Subcommands number theirs from OPT_SUB. */
enum {
	OPT_COUNT = 0x1000,
	OPT_JSON,
	OPT_RINGBUF,
	OPT_METRICS,
	OPT_METRICS_MAX_SERIES,
	OPT_QUIET,
	OPT_SUB = 0x2000,
};

/* The children list a subcommand's argp points at: the common options under their own heading. */
extern const struct argp_child common_argp_children[];

/*
 * Parse argv with the subcommand's argp. Errors print one line and exit with EXIT_USAGE; --help
 * prints and exits 0.
 */
void parse_args(const struct argp *argp, int argc, char **argv, void *input);

/* A subcommand's own default ring buffer size, used unless --ringbuf-size was given. */
void default_ringbuf_size(uint64_t size);

/* The common settings for the BPF side (.rodata common_cfg). */
struct common_cfg common_bpf_cfg(void);

#endif
