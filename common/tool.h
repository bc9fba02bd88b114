/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The frame of a tracing subcommand, so that its file holds only what is its own: its options,
 * its .rodata, and how a record becomes a row. The subcommand describes itself in a struct tool
 * (options, doc, attach candidates, its skeleton, a configure step); tool_parse() adds the common
 * options and, with more than one candidate, --method; tool_load() checks the system and loads and
 * attaches with the first candidate the kernel takes; tool_trace() runs the event loop under a
 * table header; tool_end() detaches and frees, on every path.
 */
#ifndef EBPFTRACE_TOOL_H
#define EBPFTRACE_TOOL_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "corebtf.h"
#include "events.h"
#include "hist.h"
#include "output.h"
#include "probe.h"

struct bpf_link;
struct bpf_object;
struct metrics_map;

struct tool {
	const struct argp_option *options; /* the subcommand's own; NULL: none */
	argp_parser_t parser;		   /* for them; NULL: none */
	const char *args_doc;
	const char *doc;
	/* In order of preference; none: one way only (a uprobe), configure gets METHOD_COUNT. */
	const struct attach_candidate *cands;
	size_t n_cands;
	/* The skeleton's open and destroy (TOOL_SKELETON). */
	void *(*open)(void);
	void (*destroy)(void *skel);
	/*
	 * After open, before load, for method m: write the subcommand's .rodata (common_cfg is
	 * written already), size or drop maps, turn off programs (those of the other candidates'
	 * methods are off already). Returns 0, or a negative errno with *step set to what failed.
	 */
	int (*configure)(void *skel, enum attach_method m, const char **step);
	/* After load, for programs the skeleton cannot attach by itself (NULL: none). */
	int (*attach)(void *skel, const char **step);
	/* Links attach made beyond the skeleton's own, destroyed by tool_end (NULL: none). */
	struct bpf_link **links;
	size_t n_links;
	/* After parsing, for tool_run(): settle what options decide, e.g. columns (NULL: none). */
	void (*parsed)(struct tool *t);
	/* After the system checks, before loading: what this kernel lacks (NULL: nothing). */
	int (*check_kernel)(void);
	/* For tool_run(): the table's columns, "Tracing what.", and record -> row. */
	const struct out_field *fields;
	size_t n_fields;
	const char *what;
	event_fn handle;
	int method; /* --method; -1: the first candidate the kernel takes */
	void *skel; /* the loaded skeleton */
};

/* .open and .destroy of struct tool for the skeleton NAME_bpf, with TOOL_SKELETON_FNS(NAME). */
#define TOOL_SKELETON_FNS(name)                     \
	static void *name##_tool_open(void)         \
	{                                           \
		return core_btf_open(name);         \
	}                                           \
	static void name##_tool_destroy(void *skel) \
	{                                           \
		name##_bpf__destroy(skel);          \
	}
#define TOOL_SKELETON(name) .open = name##_tool_open, .destroy = name##_tool_destroy
/* .cands and .n_cands of struct tool from an array of attach candidates. */
#define TOOL_CANDIDATES(c) .cands = (c), .n_cands = ARRAY_SIZE(c)

/* The BPF object of a skeleton (every skeleton struct starts with the same two pointers). */
struct bpf_object *skel_object(void *skel);

/*
 * Write the .rodata variable name of obj (after open, before load), found by name in the
 * object's BTF, so that code which does not know the skeleton's type can set it. Returns 0,
 * -ENOENT when obj has no such variable, or -EINVAL when its size is not size.
 */
int rodata_set(struct bpf_object *obj, const char *name, const void *value, size_t size);

/* Parse argv: the tool's options, --method (with several candidates) and the common ones. */
void tool_parse(struct tool *t, int argc, char **argv);
/* System checks, then open, configure, load, attach. Returns an exit code. */
int tool_load(struct tool *t);
/* The BPF object of the loaded skeleton. */
struct bpf_object *tool_obj(const struct tool *t);
/* The table header, then "Tracing what." and the event loop (events_run). Returns an exit code. */
int tool_trace(struct tool *t, const struct out_field *fields, size_t n, const char *what,
	       event_fn fn, void *ctx);
/*
 * How many arguments the kernel hands tp_btf programs on raw tracepoint tp (from its
 * btf_trace_<tp> type in the kernel's BTF), or a negative errno. Tracepoints gain arguments
 * over kernel versions; a program reading one the kernel lacks is refused with a bare EACCES.
 */
int tracepoint_btf_args(const char *tp);
/* Detach and destroy (nothing when nothing loaded). */
void tool_end(struct tool *t);
/*
 * The whole run of a tool that reports a map every interval: parse, load, then serve map (the
 * fd of the object's map called map_name) as metrics and hist_run() with print(map, ts_ns) until
 * the run stops (interval and count as the parse left them), then the lost events; end. print
 * reads the map with metrics_map_each(). Returns an exit code.
 */
int tool_run_reports(struct tool *t, int argc, char **argv, const char *map_name,
		     struct metrics_map *map, const char *what, const double *interval,
		     const uint64_t *count, hist_print_fn print);
/* Positional argument n of an interval tool's [interval [count]]; a bad one is a usage error. */
void tool_interval_arg(const char *arg, unsigned int n, double *interval, uint64_t *count);
/* The whole run of an event-streaming tool: parse, load, trace, end. Returns an exit code. */
int tool_run(struct tool *t, int argc, char **argv);

#endif
