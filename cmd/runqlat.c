// SPDX-License-Identifier: GPL-2.0
/* ebpftrace runqlat: how long runnable tasks wait for a CPU, as log2 histograms. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include "runqlat.h"
#include "runqlat.skel.h"
#include "cgroup.h"
#include "cmds.h"
#include "events.h"
#include "hist.h"
#include "metrics.h"
#include "opts.h"
#include "output.h"
#include "tool.h"
#include "util.h"

enum { OPT_PIDNSS = OPT_SUB, OPT_CGROUPS };

/* tp_btf hands the programs typed task pointers: cheaper to read, and task storage needs them. */
static const struct attach_candidate candidates[] = {
	{ METHOD_TP_BTF, "sched_switch" },
	{ METHOD_RAW_TP, "sched_switch" },
};

static struct {
	struct runqlat_cfg cfg;
	double interval; /* seconds between histograms; 0: one when tracing ends */
	uint64_t count;	 /* histograms (intervals) to print; 0: no limit */
	int keys;	 /* how many of -P, -L, --pidnss, --cgroups were given */
} rq = { .cfg = { .unit_ns = 1000 } };

static const struct argp_option options[] = {
	{ "milliseconds", 'm', NULL, 0, "Histograms in milliseconds (default: microseconds)", 0 },
	{ "pids", 'P', NULL, 0, "A histogram per process, labelled with its name", 0 },
	{ "tids", 'L', NULL, 0, "A histogram per thread", 0 },
	{ "pidnss", OPT_PIDNSS, NULL, 0, "A histogram per pid namespace", 0 },
	{ "cgroups", OPT_CGROUPS, NULL, 0, "A histogram per cgroup, labelled with its path", 0 },
	{},
};

static void set_key(enum runqlat_key key)
{
	rq.cfg.key = key;
	rq.keys++;
}

/* Positional numbers are digits with at most one decimal point: no signs, spaces or exponents. */
static void positional(const char *arg, unsigned int n)
{
	switch (n) {
	case 0:
		if (!parse_seconds(arg, &rq.interval))
			usage_error("invalid interval '%s': expected a number of seconds > 0", arg);
		break;
	case 1:
		if (!parse_u64(arg, 1, UINT64_MAX, &rq.count))
			usage_error("invalid count '%s': expected a whole number > 0", arg);
		break;
	default:
		usage_error("unexpected argument '%s': expected [interval [count]]", arg);
	}
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'm':
		rq.cfg.unit_ns = 1000000;
		break;
	case 'P':
		set_key(RUNQLAT_KEY_PID);
		break;
	case 'L':
		set_key(RUNQLAT_KEY_TID);
		break;
	case OPT_PIDNSS:
		set_key(RUNQLAT_KEY_PIDNS);
		break;
	case OPT_CGROUPS:
		set_key(RUNQLAT_KEY_CGROUP);
		break;
	case ARGP_KEY_ARG:
		positional(arg, state->arg_num);
		break;
	case ARGP_KEY_END:
		if (rq.keys > 1)
			usage_error("-P, -L, --pidnss and --cgroups exclude each other");
		if (common_opts.count)
			usage_error("--count does not apply to runqlat: give [interval [count]]");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char doc[] =
	"Summarize run-queue latency: how long runnable tasks wait for a CPU, as "
	"histograms.\v"
	"Every interval seconds (default: once, at the end) print the histograms and start "
	"new ones; stop after count of them. Percentiles are estimated from the buckets. "
	"See ebpftrace-runqlat(8).";

/*
 * Task-local storage is the cheaper home for wakeup times, but only tp_btf programs may pass it a
 * task that is not current. And before 6.4 the kernel allocated it with kmalloc(GFP_ATOMIC): unsafe
 * under the run-queue lock these tracepoints hold, for the reason the verifier used to warn about
 * run-time allocated hash maps in tracing programs. From 6.4 on it comes from the BPF memory
 * allocator, which is safe anywhere. No trial load can tell, so the version decides.
 */
static bool use_task_storage(enum attach_method m)
{
	struct utsname u = {};
	int major = 0, minor = 0;

	if (m != METHOD_TP_BTF) {
		verbose("wakeup times in a hash by thread id: %s programs cannot use task storage",
			method_name(m));
		return false;
	}
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) != 1) {
		verbose("wakeup times in a hash by thread id: no task storage (5.11+)");
		return false;
	}
	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2 ||
	    major * 1000 + minor < 6 * 1000 + 4) {
		verbose("wakeup times in a hash by thread id: task storage allocates unsafely in "
			"scheduler tracepoints before 6.4 (kernel %s)",
			u.release);
		return false;
	}
	verbose("wakeup times in task-local storage");
	return true;
}

/* Create only the maps this run uses, at the size it needs. */
static void size_maps(struct runqlat_bpf *skel)
{
	bpf_map__set_autocreate(skel->maps.events, false); /* histograms need no ring buffer */
	if (rq.cfg.task_storage)
		bpf_map__set_autocreate(skel->maps.queued_at_tid, false);
	else
		bpf_map__set_autocreate(skel->maps.queued_at, false);
	if (rq.cfg.key == RUNQLAT_KEY_NONE)
		bpf_map__set_max_entries(skel->maps.hists, 1);
}

static const char *unit_name(void)
{
	return rq.cfg.unit_ns == 1000 ? "usecs" : "msecs";
}

static int key_cmp(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* The key fields of one histogram; returns how many. */
static size_t key_fields(__u64 id, const struct runqlat_hist *v, struct hist_key *key)
{
	const char *path;

	switch (rq.cfg.key) {
	case RUNQLAT_KEY_PID:
	case RUNQLAT_KEY_TID:
		key[0] = (struct hist_key){ .name = rq.cfg.key == RUNQLAT_KEY_PID ? "pid" : "tid",
					    .num = id };
		key[1] =
			(struct hist_key){ .name = "comm", .str = v->comm, .len = sizeof(v->comm) };
		return 2;
	case RUNQLAT_KEY_PIDNS:
		key[0] = (struct hist_key){ .name = "pidns", .num = id };
		return 1;
	case RUNQLAT_KEY_CGROUP:
		path = cgroup_path_of(id);
		key[0] = (struct hist_key){ .name = "cgroup_id", .num = id };
		if (!path)
			return 1; /* removed since, or no cgroup2 mounted: the id is all there is */
		key[1] = key[0];
		key[0] = (struct hist_key){ .name = "cgroup", .str = path, .len = SIZE_MAX };
		return 2;
	default:
		return 0;
	}
}

/* Decoded for the output and for metrics alike. Callers are serialized (cgroup_path_of). */
static bool decode(const void *key, const void *value, struct hist_key *fields, size_t *nfields)
{
	*nfields = key_fields(*(const __u64 *)key, value, fields);
	return true;
}

/* Slots of usecs or msecs (-m): hist_div is set to match before tracing. */
static struct metric_family latency = METRIC_HISTOGRAM_FAMILY(
	"ebpftrace_runqlat_latency_seconds", "Time runnable tasks waited for a CPU", 1000);

static struct metrics_map hists = {
	.key_size = sizeof(__u64),
	.value_size = sizeof(struct runqlat_hist),
	.cmp = key_cmp,
	.decode = decode,
	.columns = { { .family = &latency, .offset = offsetof(struct runqlat_hist, hist) } },
	.ncolumns = 1,
};

static void print_entry(void *ctx, const void *key, const void *value)
{
	const struct runqlat_hist *v = value;
	struct hist_key fields[2];
	size_t n = key_fields(*(const __u64 *)key, v, fields);
	struct hist h = hist_from_log2(&v->hist, rq.cfg.unit_ns, unit_name());
	uint64_t *ts_ns = ctx;

	hist_out(&h, fields, n, *ts_ns);
}

static void print_interval(void *ctx, uint64_t ts_ns)
{
	(void)ctx;
	/* An interval without a single wait still says so: one empty histogram, without a key. */
	if (!metrics_map_each(&hists, rq.interval > 0, print_entry, &ts_ns)) {
		static const struct hist_log2 none;
		struct hist h = hist_from_log2(&none, 1, unit_name());

		hist_out(&h, NULL, 0, ts_ns);
	}
}

static void report_lost(struct runqlat_bpf *skel)
{
	uint64_t lost = lost_events_read(skel->obj);

	if (!lost)
		return;
	err_msg("%llu waits were not counted: no room in the kernel's tables (%d histograms, %d "
		"waiting tasks when timed in a hash)",
		(unsigned long long)lost, RUNQLAT_MAX_HISTS, RUNQLAT_MAX_QUEUED);
	if (out_json())
		out_printf("{\"type\":\"lost\",\"count\":%llu}\n", (unsigned long long)lost);
	out_flush();
}

static int configure(void *s, enum attach_method m, const char **step)
{
	struct runqlat_bpf *skel = s;

	(void)step;
	rq.cfg.task_storage = use_task_storage(m);
	skel->rodata->runqlat_cfg = rq.cfg;
	size_maps(skel);
	return 0;
}

TOOL_SKELETON_FNS(runqlat)

int cmd_runqlat(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.args_doc = "[interval [count]]",
		.doc = doc,
		TOOL_CANDIDATES(candidates),
		TOOL_SKELETON(runqlat),
		.configure = configure,
	};
	struct runqlat_bpf *skel;
	int ret;

	tool_parse(&tool, argc, argv);
	ret = tool_load(&tool);
	if (!ret) {
		skel = tool.skel;
		out_init();
		hists.fd = bpf_map__fd(skel->maps.hists);
		latency.hist_div = rq.cfg.unit_ns;
		metrics_watch_map(&hists);
		hist_run("run queue latency", rq.interval, rq.count, print_interval, NULL);
		report_lost(skel);
	}
	tool_end(&tool);
	cgroup_paths_free();
	return ret;
}
