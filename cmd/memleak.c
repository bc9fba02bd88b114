// SPDX-License-Identifier: GPL-2.0
/*
 * ebpftrace memleak: allocations not freed yet, grouped by the stack that made them, in one
 * process (uprobes on its allocator) or in the kernel (kmem tracepoints).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "memleak.h"
#include "memleak.skel.h"
#include "cmds.h"
#include "events.h"
#include "mapscan.h"
#include "metrics.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "setup.h"
#include "stackreport.h"
#include "symbolize.h"
#include "target.h"
#include "tool.h"
#include "uprobes.h"
#include "util.h"

enum {
	OPT_TOP = OPT_SUB,
	OPT_PREFIX,
	OPT_COMBINED,
	OPT_PERCPU,
	OPT_MAX_ALLOCS,
	OPT_MAX_STACKS,
	OPT_OLDER,
};

/* Distinct stacks kept: the kernel's are many more than one process's. */
#define USER_STACKS	    16384
#define KERNEL_STACKS	    65536
#define NOTICE_RINGBUF_SIZE (16u << 10) /* ~290 notices of 56 bytes */

static struct {
	struct memleak_cfg cfg;
	double interval;
	uint64_t reports; /* 0: until stopped */
	uint64_t top;
	uint64_t older_ms;
	uint64_t max_allocs;
	uint64_t max_stacks; /* 0: by mode */
	const char *command;
	const char *obj;
	const char *prefix;
	bool show_allocs;
	bool percpu;
} opts = {
	.cfg = { .sample = 1, .max_size = UINT64_MAX },
	.interval = 5,
	.top = 10,
	.max_allocs = 1 << 20,
	.prefix = "",
};

static const struct argp_option options[] = {
	{ "command", 'c', "COMMAND", 0,
	  "Run COMMAND (words split as by the shell, found through PATH) and trace it; -c here is "
	  "not --cgroup",
	  0 },
	{ "obj", 'O', "LIB", 0,
	  "The allocator's library: a path, or a name the process maps (with -c: that the linker's "
	  "cache has); default: libc",
	  0 },
	{ "symbol-prefix", OPT_PREFIX, "PREFIX", 0,
	  "Allocator functions are named PREFIX<name> (e.g. je_ for je_malloc)", 0 },
	{ "top", OPT_TOP, "N", 0, "Show the N stacks with the most outstanding bytes (default 10)",
	  0 },
	{ "show-allocs", 'a', NULL, 0, "Also list each outstanding allocation", 0 },
	{ "older", OPT_OLDER, "MS", 0, "Only allocations older than MS milliseconds", 0 },
	{ "sample", 's', "N", 0, "Record one allocation in N, chosen at random in the kernel", 0 },
	{ "min-size", 'z', "SIZE", 0, "Only allocations of at least SIZE bytes", 0 },
	{ "max-size", 'Z', "SIZE", 0, "Only allocations of at most SIZE bytes", 0 },
	{ "combined-only", OPT_COMBINED, NULL, 0,
	  "Keep only per-stack totals, in the kernel (cheaper to report)", 0 },
	{ "trace", 't', NULL, 0,
	  "Print each recorded allocation and its free; -t here is not --tid", 0 },
	{ "percpu", OPT_PERCPU, NULL, 0, "Kernel mode: percpu allocations too", 0 },
	{ "max-allocs", OPT_MAX_ALLOCS, "N", 0,
	  "Track up to N outstanding allocations (default 1048576)", 0 },
	{ "max-stacks", OPT_MAX_STACKS, "N", 0,
	  "Keep up to N distinct stacks (default 16384 for a process, 65536 for the kernel)", 0 },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'c':
		opts.command = arg;
		break;
	case 'O':
		opts.obj = opt_text("--obj", arg, "a library's path or name");
		break;
	case OPT_PREFIX:
		opts.prefix = arg;
		break;
	case OPT_TOP:
		opts.top = opt_u64("--top", arg, 1, UINT32_MAX);
		break;
	case 'a':
		opts.show_allocs = true;
		break;
	case OPT_OLDER:
		opts.older_ms = opt_u64("--older", arg, 1, UINT64_MAX / 1000000);
		break;
	case 's':
		opts.cfg.sample = opt_u64("--sample", arg, 1, UINT32_MAX);
		break;
	case 'z':
		opts.cfg.min_size = opt_size("--min-size", arg);
		break;
	case 'Z':
		opts.cfg.max_size = opt_size("--max-size", arg);
		break;
	case OPT_COMBINED:
		opts.cfg.combined = 1;
		break;
	case 't':
		opts.cfg.trace = 1;
		break;
	case OPT_PERCPU:
		opts.percpu = true;
		break;
	case OPT_MAX_ALLOCS:
		opts.max_allocs = opt_u64("--max-allocs", arg, 1, 1 << 26);
		break;
	case OPT_MAX_STACKS:
		opts.max_stacks = opt_u64("--max-stacks", arg, 1, 1 << 20);
		break;
	case ARGP_KEY_ARG:
		tool_interval_arg(arg, state->arg_num, &opts.interval, &opts.reports);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char doc[] =
	"Outstanding (not yet freed) allocations by stack, of a process (-p PID or -c COMMAND) "
	"or of the kernel.\v"
	"Every INTERVAL seconds (default 5), COUNT times or until stopped, prints the top stacks "
	"by outstanding bytes, and a last report when the run or the process ends. "
	"See ebpftrace-memleak(8).";

static void check_options(struct tool *t)
{
	bool user = opts.command || common_opts.filter.pid;

	if (user && t->method >= 0)
		usage_error("--method is for kernel mode (without -p or -c)");
	if (user)
		t->n_cands = 0; /* one way in: uprobes */
	if (opts.command && common_opts.filter.pid)
		usage_error("-c/--command and -p/--pid cannot be used together");
	if (opts.cfg.min_size > opts.cfg.max_size)
		usage_error("--min-size is larger than --max-size");
	if (opts.cfg.combined && (opts.older_ms || opts.show_allocs))
		usage_error("--combined-only keeps no single allocations: not with --older or -a");
	if (opts.percpu && user)
		usage_error("--percpu is for kernel mode (without -p or -c)");
	if ((opts.obj || *opts.prefix) && !user)
		usage_error("--obj and --symbol-prefix are for a process (-p or -c)");
}

/* Everything a run holds, released in one place. */
struct run {
	struct memleak_bpf *skel;
	struct target target;
	struct symbolizer *sym;
	struct symbolizer_job ksyms; /* kernel mode: read while tracing, until the first report */
	struct events_reader *reader;
	struct uprobes uprobes;
	pid_t pid; /* 0: kernel mode */
	uint64_t maps_seen;
	struct late_map allocs, stacks; /* bpf/memleak.bpf.c's allocs_slot and stacks_slot */
	bool maps_started; /* at the first method's configure(); the others share them */
	int maps_err;
};

#define CALL_NAME(call, name) [MEMLEAK_##call] = name
static const char *const call_names[MEMLEAK_CALLS] = { MEMLEAK_CALL_LIST(CALL_NAME) };

/*
 * The allocator's functions, in the order their probes are attached, and their programs. malloc
 * and free are a must; free is probed past its NULL check, where the kernel need not single-step.
 */
#define ALLOC_FN(c, fn, entry)                                                     \
	{                                                                          \
		.name = fn, .prog = entry, .ret_prog = "alloc_return", .cookie = c \
	}
static const struct uprobe_fn alloc_fns[] = {
	{ "malloc", "size_arg1", "alloc_return", MEMLEAK_MALLOC, .required = true },
	ALLOC_FN(MEMLEAK_CALLOC, "calloc", "calloc_enter"),
	ALLOC_FN(MEMLEAK_REALLOC, "realloc", "realloc_enter"),
	ALLOC_FN(MEMLEAK_REALLOCARRAY, "reallocarray", "reallocarray_enter"),
	ALLOC_FN(MEMLEAK_POSIX_MEMALIGN, "posix_memalign", "posix_memalign_enter"),
	ALLOC_FN(MEMLEAK_ALIGNED_ALLOC, "aligned_alloc", "size_arg2"),
	ALLOC_FN(MEMLEAK_MEMALIGN, "memalign", "size_arg2"),
	ALLOC_FN(MEMLEAK_VALLOC, "valloc", "size_arg1"),
	ALLOC_FN(MEMLEAK_PVALLOC, "pvalloc", "size_arg1"),
	ALLOC_FN(MEMLEAK_MMAP, "mmap", "size_arg2"),
	{ "free", "free_enter", NULL, MEMLEAK_FREE, .required = true, .past_null_check = true },
	{ .name = "munmap", .prog = "free_enter", .cookie = MEMLEAK_MUNMAP },
};

static bool user_program(struct run *r, const struct bpf_program *prog)
{
	return bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE ||
	       prog == r->skel->progs.mmap_exit || prog == r->skel->progs.target_exec;
}

/* The allocator's uprobes; the skeleton attached the mmap and exec tracepoints. */
static int attach_user(struct run *r, const char *exe)
{
	char path[4096];
	int ret = target_library(&r->target, exe, opts.obj, path, sizeof(path));

	if (ret)
		return ret;
	verbose("allocator: %s", path);
	return uprobes_attach(&r->uprobes, r->skel->obj, r->pid, path, opts.prefix, alloc_fns,
			      ARRAY_SIZE(alloc_fns));
}

static bool percpu_tracepoints(enum attach_method m)
{
	if (m == METHOD_RAW_TP)
		return tracepoint_btf_args("percpu_alloc_percpu") > 0;
	return tracepoint_exists("percpu", "percpu_alloc_percpu");
}

/* Kernel mode or user mode: the programs of the other do not load. */
static void choose_programs(struct run *r, enum attach_method m)
{
	bool percpu = opts.percpu && percpu_tracepoints(m);
	struct bpf_program *prog;

	if (opts.percpu && !percpu)
		err_msg("no percpu tracepoints on this kernel: percpu allocations are not traced");
	if (r->pid)
		uprobes_choose(&r->uprobes, r->skel->obj, uprobe_multi_supported());
	bpf_object__for_each_program(prog, r->skel->obj)
	{
		bool user = user_program(r, prog);

		if (r->pid ? !user : user || (!percpu && strstr(bpf_program__name(prog), "percpu")))
			bpf_program__set_autoload(prog, false);
	}
}

/* memleak counts allocations; a stack's list of them is -a. */
static const struct stack_report_names report_names = { "allocs", "allocation", "outstanding" };

static void scan_alloc(void *ctx, const void *addr, const void *value)
{
	const struct memleak_alloc *a = value;
	struct stack_report *rep = ctx;

	if (opts.older_ms && rep->now_ns - a->ts_ns < opts.older_ms * 1000000)
		return;
	stack_report_add_item(rep, &(struct stack_item){ *(const uint64_t *)addr, a->size, a->ts_ns,
							 a->stack_id });
}

static void scan_total(void *rep, const void *key, const void *value)
{
	const struct memleak_total *t = value;

	if (t->allocs)
		stack_report_add(rep, *(const int64_t *)key, t->bytes, t->allocs);
}

/* The symbols are read again after the scan, so that they cover every stack it found. */
static int scan(void *ctx, struct stack_report *rep)
{
	struct run *r = ctx;
	int err;

	if (opts.cfg.combined)
		err = map_scan(bpf_map__fd(r->skel->maps.totals), sizeof(int64_t),
			       sizeof(struct memleak_total), scan_total, rep);
	else
		err = map_scan(r->allocs.fd, sizeof(uint64_t), sizeof(struct memleak_alloc),
			       scan_alloc, rep);
	if (!err && r->sym && r->pid)
		symbolizer_refresh(r->sym);
	return err;
}

STACK_REPORT_METRICS(report_metrics, "ebpftrace_memleak", "outstanding", "allocations",
		     "Bytes allocated and not freed, at the last report",
		     "Allocations not freed, at the last report");

/* The symbols for a report; in kernel mode those read meanwhile, taken at the first one. */
static struct symbolizer *report_symbols(struct run *r)
{
	if (!r->ksyms.path)
		return r->sym;
	r->sym = symbolizer_new_kernel_wait(&r->ksyms);
	if (!r->sym)
		err_msg("cannot read kernel symbols from /proc/kallsyms (%s): stacks show "
			"addresses",
			strerror(errno));
	return r->sym;
}

static int report(void *ctx)
{
	struct run *r = ctx;
	const struct stack_report_loss losses[] = {
		{ "stacks_lost", "stacks", "stacks could not be stored: --max-stacks",
		  r->skel->bss->stacks_lost },
		{ "allocs_lost", "allocations", "allocations could not be tracked: --max-allocs",
		  r->skel->bss->allocs_lost },
	};
	const struct stack_report_head head = { r->pid, losses, ARRAY_SIZE(losses) };
	const struct stack_report_spec spec = { &report_names, &report_metrics, opts.max_stacks,
						opts.top, opts.show_allocs };
	const struct stack_source src = { r->stacks.fd, MEMLEAK_STACK_DEPTH, report_symbols(r) };
	int err = stack_report_run(&spec, &src, &head, scan, r);

	if (err)
		err_msg("reading the allocations failed: %s", strerror(-err));
	return err ? EXIT_RUNTIME : EXIT_OK;
}

enum { F_CALL, F_PID, F_TID, F_ADDR, F_SIZE };

static const struct out_field trace_fields[] = {
	[F_CALL] = { "call", "CALL", -16 }, [F_PID] = { "pid", "PID", 7 },
	[F_TID] = { "tid", "TID", 7 },	    [F_ADDR] = { "addr", "ADDRESS", 18 },
	[F_SIZE] = { "size", "SIZE", 0 },
};

/*
 * The symbolizer follows the process's mappings: from the start, and whenever it maps code. A
 * command we started waits stopped meanwhile (memleak_cfg.hold): let it go on.
 */
static void follow_maps(struct run *r)
{
	if (!r->pid)
		return;
	r->sym = symbolizer_follow(r->sym, r->pid, r->skel->bss->maps_changed, &r->maps_seen);
	target_continue(&r->target);
}

static int handle_record(void *ctx, const void *data, size_t size)
{
	const struct memleak_event *e = data;
	const char *name;

	if (size < sizeof(*e))
		return 0;
	if (e->call == MEMLEAK_MAPS_CHANGED) {
		follow_maps(ctx);
		return 0;
	}
	if (e->call >= MEMLEAK_CALLS)
		return 0;
	name = call_names[e->call];
	out_row_begin(e->freed ? "free" : "alloc", e->ts_ns);
	out_str(&trace_fields[F_CALL], name, strlen(name));
	out_u64(&trace_fields[F_PID], e->pid);
	out_u64(&trace_fields[F_TID], e->tid);
	out_hex(&trace_fields[F_ADDR], e->addr);
	out_u64(&trace_fields[F_SIZE], e->size);
	out_row_end();
	return 0;
}

/* Between polls: follow the process's new mappings; once it is gone, the last report. */
static bool tick(void *ctx, int *ret)
{
	struct run *r = ctx;

	(void)ret;
	if (r->pid && target_exited(&r->target))
		return false;
	follow_maps(r);
	return true;
}

/* The run, for the tool's callbacks. */
static struct run run = { .target = { .go_fd = -1, .err_fd = -1, .pidfd = -1 } };

/* Kernel mode: the arguments the raw tracepoint programs read are those of 6.1 and later. */
static bool kmem_raw_args_known(void)
{
	int percpu = opts.percpu ? tracepoint_btf_args("percpu_alloc_percpu") : 0;

	return tracepoint_btf_args("kmalloc") == 6 && (percpu <= 0 || percpu == 10);
}

/*
 * allocs and stacks: tens of megabytes each to zero or fill, made while the programs load. Tracing
 * the kernel, an element allocated as it comes is itself a kernel allocation to track: on 6.1 the
 * BPF allocator's refills (alloc_bulk) filled the map with themselves within a second.
 * Preallocated, the map allocates nothing while it traces. A process's is allocated as entries
 * come: preallocating a million took 0.7 s at start and as much again at exit, for a process that
 * may have a handful outstanding.
 */
static int late_maps_start(struct run *r)
{
	int err;

	if (!opts.max_stacks)
		opts.max_stacks = r->pid ? USER_STACKS : KERNEL_STACKS;
	r->allocs = (struct late_map){ .type = BPF_MAP_TYPE_HASH,
				       .name = "allocs",
				       .key_size = sizeof(uint64_t),
				       .value_size = sizeof(struct memleak_alloc),
				       .max_entries = opts.max_allocs,
				       .flags = r->pid ? BPF_F_NO_PREALLOC : 0 };
	r->stacks = (struct late_map){ .type = BPF_MAP_TYPE_STACK_TRACE,
				       .name = "stacks",
				       .key_size = sizeof(uint32_t),
				       .value_size = MEMLEAK_STACK_DEPTH * sizeof(uint64_t),
				       .max_entries = opts.max_stacks };
	err = late_map_start(&r->allocs);
	return err ? err : late_map_start(&r->stacks);
}

/* After the load and attach: they are in their slots, and tracing starts. */
static int late_maps_wait(struct run *r)
{
	int err = late_map_wait(&r->allocs);

	if (!err)
		err = late_map_wait(&r->stacks);
	return err ? report_bpf_error("making the allocations and stacks maps", err) : EXIT_OK;
}

static int configure(void *s, enum attach_method m, const char **step)
{
	struct memleak_bpf *skel = run.skel = s;
	int err;

	if (m == METHOD_RAW_TP && !kmem_raw_args_known()) {
		*step = "finding Linux 6.1's arguments in the kmem and percpu tracepoints";
		return -EOPNOTSUPP;
	}
	/*
	 * Without -t the ring only carries "the process mapped code" notices, and the loop looks at
	 * maps_changed every 0.1 s anyway: a 1 MiB ring would be 1 MiB of RSS for nothing.
	 */
	if (!opts.cfg.trace)
		default_ringbuf_size(NOTICE_RINGBUF_SIZE);
	opts.cfg.user = run.pid != 0;
	opts.cfg.pid = run.pid;
	opts.cfg.hold = run.target.child;
	opts.cfg.page_size = sysconf(_SC_PAGESIZE);
	skel->rodata->memleak_cfg = opts.cfg;
	if (!run.maps_started) {
		run.maps_started = true;
		run.maps_err = late_maps_start(&run);
	}
	if (run.maps_err) {
		*step = "making the allocations and stacks maps";
		return run.maps_err;
	}
	err = late_map_bind(&run.allocs, skel->maps.allocs_slot);
	if (!err)
		err = late_map_bind(&run.stacks, skel->maps.stacks_slot);
	if (err) {
		*step = "giving the allocations and stacks maps their slots";
		return err;
	}
	bpf_map__set_max_entries(skel->maps.totals, opts.max_stacks + 1);
	choose_programs(&run, m);
	return 0;
}

TOOL_SKELETON_FNS(memleak)

/* Kernel mode: raw tracepoints, which detach at once, where they read the arguments right. */
static const struct attach_candidate kernel_candidates[] = {
	{ METHOD_RAW_TP, "kmalloc" },
	{ METHOD_TRACEPOINT, "kmem:kmalloc" },
};

static int start(struct tool *t, struct run *r, char *exe, size_t size)
{
	int ret = target_open(&r->target, opts.command, common_opts.filter.pid, exe, size);

	r->pid = r->target.pid;
	if (!ret)
		ret = tool_load(t);
	if (!ret && r->pid)
		ret = attach_user(r, exe);
	t->links = r->uprobes.links;
	t->n_links = r->uprobes.n;
	if (!ret)
		ret = late_maps_wait(r);
	if (ret)
		return ret;
	/* Not during the load: the maps and the verifier keep both CPUs busy then. */
	if (!r->pid)
		symbolizer_new_kernel_start(&r->ksyms, "/proc/kallsyms");
	r->reader = events_reader_new(r->skel->obj, handle_record, r);
	if (!r->reader)
		return EXIT_RUNTIME;
	if (r->pid && !r->target.child)
		follow_maps(r);
	return EXIT_OK;
}

int cmd_memleak(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.args_doc = "[INTERVAL [COUNT]]",
		.doc = doc,
		TOOL_SKELETON(memleak),
		TOOL_CANDIDATES(kernel_candidates),
		.configure = configure,
	};
	char exe[4096] = "";
	int ret;

	tool_parse(&tool, argc, argv);
	check_options(&tool);
	ret = start(&tool, &run, exe, sizeof(exe));
	if (!ret) {
		out_init();
		if (opts.cfg.trace)
			out_header(trace_fields, ARRAY_SIZE(trace_fields));
		run_start();
		out_flush();
		ret = target_go(&run.target, exe);
	}
	if (!ret) {
		if (run.pid)
			fprintf(stderr, "Tracing allocations of process %d. Hit Ctrl-C to end.\n",
				run.pid);
		else
			fprintf(stderr, "Tracing kernel allocations. Hit Ctrl-C to end.\n");
		/* The last report: what is still outstanding at the end, for -c the leaks. */
		ret = events_loop_run(run.reader,
				      &(struct events_loop){ 0.1, opts.interval, opts.reports, tick,
							     report, &run });
	}
	events_reader_free(run.reader);
	tool_end(&tool);
	late_map_free(&run.allocs);
	late_map_free(&run.stacks);
	symbolizer_free(run.sym);
	symbolizer_free(symbolizer_new_kernel_wait(&run.ksyms));
	target_release(&run.target);
	return ret;
}
