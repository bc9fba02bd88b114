// SPDX-License-Identifier: GPL-2.0
/* ebpftrace argdist: a histogram of one integer argument, or the return value, of a function. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "argdist.h"
#include "argdist.skel.h"
#include "cmds.h"
#include "hist.h"
#include "kfunc.h"
#include "metrics.h"
#include "opts.h"
#include "tool.h"
#include "util.h"

enum { OPT_LINEAR = OPT_SUB };

/* The targets are the function, known once the arguments are parsed. */
static struct attach_candidate candidates[] = {
	{ METHOD_FENTRY, NULL },
	{ METHOD_KPROBE, NULL },
};

static struct {
	struct argdist_cfg cfg;
	const char *func, *arg;
	struct kfunc_value value;
	double interval; /* seconds between histograms; 0: one when tracing ends */
	uint64_t count;	 /* histograms (intervals) to print; 0: no limit */
} ad;

static const struct argp_option options[] = {
	{ "pids", 'P', NULL, 0, "A histogram per process, labelled with its name", 0 },
	{ "linear", OPT_LINEAR, "MIN,MAX,STEP", 0,
	  "Linear buckets of STEP from MIN to MAX, and one for all above (default: log2)", 0 },
	{},
};

static void positional(const char *arg, unsigned int n)
{
	if (n == 0) {
		ad.func = arg;
		for (size_t i = 0; i < ARRAY_SIZE(candidates); i++)
			candidates[i].target = arg;
	} else if (n == 1) {
		ad.arg = arg;
	} else {
		tool_interval_arg(arg, n - 2, &ad.interval, &ad.count);
	}
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'P':
		ad.cfg.per_pid = 1;
		break;
	case OPT_LINEAR:
		hist_linear_option(arg, ARGDIST_SLOTS, &ad.cfg.min, &ad.cfg.step, &ad.cfg.n);
		break;
	case ARGP_KEY_ARG:
		positional(arg, state->arg_num);
		break;
	case ARGP_KEY_END:
		if (!ad.arg)
			usage_error("expected FUNCTION ARG: a kernel function and arg0..arg5, a "
				    "parameter's name, or ret");
		if (common_opts.count)
			usage_error("--count does not apply to argdist: give [interval [count]]");
		if (ad.cfg.step && metrics_on())
			usage_error("--metrics exports log2 histograms: --linear does not apply");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* The argument's type decides which bits of the 64-bit slot are its value, and their sign. */
static int resolve_value(void)
{
	char msg[256];
	int err = kfunc_value(ad.func, ad.arg, &ad.value, msg, sizeof(msg));

	if (err == -ENOENT || err == -EINVAL || err == -EDOM) {
		err_msg("%s", msg);
		return EXIT_USAGE;
	}
	if (err) {
		err_msg("%s", msg);
		return EXIT_UNSUPPORTED;
	}
	ad.cfg.arg = ad.value.slot;
	ad.cfg.shift = 64 - 8 * ad.value.size;
	ad.cfg.is_signed = ad.value.is_signed;
	return EXIT_OK;
}

static int configure(void *skel, enum attach_method m, const char **step)
{
	struct argdist_bpf *obj = skel;
	struct bpf_program *fentry = ad.value.is_ret ? obj->progs.fexit_ret : obj->progs.fentry_arg;
	int err;

	obj->rodata->argdist_cfg = ad.cfg;
	bpf_map__set_autocreate(obj->maps.events, false); /* histograms need no ring buffer */
	if (!ad.cfg.per_pid)
		bpf_map__set_max_entries(obj->maps.hists, 1);
	/* Of the two programs of the method, the one for an argument or the return value. */
	bpf_program__set_autoload(ad.value.is_ret ? obj->progs.fentry_arg : obj->progs.fexit_ret,
				  false);
	bpf_program__set_autoload(
		ad.value.is_ret ? obj->progs.kprobe_arg : obj->progs.kretprobe_ret, false);
	if (m != METHOD_FENTRY)
		return 0;
	err = bpf_program__set_attach_target(fentry, 0, ad.func);
	if (err)
		*step = "finding the function in the kernel's BTF";
	return err;
}

/* kprobe programs without a target in their section: attached here, detached with the rest. */
static int attach(void *skel, const char **step)
{
	struct argdist_bpf *obj = skel;
	struct bpf_program *prog =
		ad.value.is_ret ? obj->progs.kretprobe_ret : obj->progs.kprobe_arg;
	struct bpf_link **link =
		ad.value.is_ret ? &obj->links.kretprobe_ret : &obj->links.kprobe_arg;

	if (!bpf_program__autoload(prog))
		return 0;
	*link = bpf_program__attach_kprobe(prog, ad.value.is_ret, ad.func);
	if (*link)
		return 0;
	*step = "attaching the kprobe";
	return -errno;
}

static int key_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static size_t key_fields(__u32 pid, const struct argdist_hist *v, struct hist_key *key)
{
	if (!ad.cfg.per_pid)
		return 0;
	key[0] = (struct hist_key){ .name = "pid", .num = pid };
	key[1] = (struct hist_key){ .name = "comm", .str = v->comm, .len = sizeof(v->comm) };
	return 2;
}

static struct hist hist_of(const struct argdist_hist *v)
{
	return (struct hist){
		.scale = ad.cfg.step ? HIST_LINEAR : HIST_LOG2,
		.step = ad.cfg.step,
		.min = ad.cfg.min,
		.n = ad.cfg.step ? ad.cfg.n : HIST_SLOTS,
		.counts = v->slots,
		.sum = v->sum,
		.below = v->below,
		.unit = ad.arg,
	};
}

/* For metrics (log2 only): the entry's labels. */
static bool decode(const void *key, const void *value, struct hist_key *fields, size_t *nfields)
{
	*nfields = key_fields(*(const __u32 *)key, value, fields);
	return true;
}

static struct metric_family values = METRIC_VALUE_HISTOGRAM_FAMILY(
	"ebpftrace_argdist_values", "Values of the traced argument (or return value), from 0 up");

/* The log2 slots are the first HIST_SLOTS of the value's; its sum comes after all of them. */
static struct metrics_map hists = {
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct argdist_hist),
	.cmp = key_cmp,
	.decode = decode,
	.columns = { { .family = &values, .sum_offset = offsetof(struct argdist_hist, sum) } },
	.ncolumns = 1,
};

static void print_hist(const struct argdist_hist *v, const struct hist_key *key, size_t nkey,
		       uint64_t ts_ns)
{
	struct hist h = hist_of(v);

	hist_out(&h, key, nkey, ts_ns);
}

static void print_entry(void *ctx, const void *key, const void *value)
{
	struct hist_key fields[2];
	size_t n = key_fields(*(const __u32 *)key, value, fields);

	print_hist(value, fields, n, *(uint64_t *)ctx);
}

static void print_interval(void *ctx, uint64_t ts_ns)
{
	static const struct argdist_hist none;

	(void)ctx;
	/* An interval without a single call still says so: one empty histogram, without a key. */
	if (!metrics_map_each(&hists, ad.interval > 0, print_entry, &ts_ns))
		print_hist(&none, NULL, 0, ts_ns);
}

TOOL_SKELETON_FNS(argdist)

const char *const argdist_check_args[] = { "vfs_write", "count", NULL };

int cmd_argdist(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.args_doc = "FUNCTION ARG [interval [count]]",
		.doc = "Summarize one integer argument (arg0..arg5 or a parameter's name) or the "
		       "return value (ret) of a kernel function as histograms.\v"
		       "Every interval seconds (default: once, at the end) print the histograms "
		       "and start new ones; stop after count of them. See ebpftrace-argdist(8).",
		TOOL_CANDIDATES(candidates),
		TOOL_SKELETON(argdist),
		.configure = configure,
		.attach = attach,
	};
	char what[256];
	int ret;

	tool_parse(&tool, argc, argv);
	ret = resolve_value();
	if (!ret)
		ret = tool_load(&tool);
	if (!ret) {
		snprintf(what, sizeof(what), "%s %s (%s)", ad.func, ad.arg, ad.value.type);
		hists.fd = bpf_object__find_map_fd_by_name(tool_obj(&tool), "hists");
		out_init();
		metrics_watch_map(&hists);
		hist_run(what, ad.interval, ad.count, print_interval, NULL);
		lost_events_report(lost_events_read(tool_obj(&tool)));
	}
	tool_end(&tool);
	return ret;
}
