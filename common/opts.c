// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cgroup.h"
#include "metrics.h"
#include "opts.h"
#include "output.h"
#include "util.h"

/* Room for ~10 ms of events at 1M/s; each MiB is a MiB of RSS (the reader maps it once). */
#define DEFAULT_RINGBUF_SIZE (1u << 20)

struct common_opts common_opts = {
	.filter = { .uid = FILTER_UID_ANY },
	.ringbuf_size = DEFAULT_RINGBUF_SIZE,
};
static bool ringbuf_size_given;

static const struct argp_option common_options[] = {
	{ "pid", 'p', "PID", 0, "Only this process (thread group)", 0 },
	{ "tid", 't', "TID", 0, "Only this thread", 0 },
	{ "uid", 'u', "UID", 0, "Only this user id", 0 },
	{ "name", 'n', "NAME", 0, "Only tasks whose comm contains NAME", 0 },
	{ "cgroup", 'c', "PATH", 0, "Only tasks in this cgroup v2 directory or below it", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (fractions allowed)", 0 },
	{ "count", OPT_COUNT, "N", 0, "Stop after N events", 0 },
	{ "timestamp", 'T', NULL, 0, "Print a TIME column (local time)", 0 },
	{ "json", OPT_JSON, NULL, 0, "One JSON object per line (NDJSON)", 0 },
	{ "output", 'o', "FILE", 0, "Write the table or JSON to FILE (-: standard output)", 0 },
	{ "verbose", 'v', NULL, 0,
	  "Explain attach choices; show libbpf messages (-vv: its debug messages too)", 0 },
	{ "ringbuf-size", OPT_RINGBUF, "SIZE", 0,
	  "Ring buffer size, a power of two (e.g. 256K, 4M; default 1M)", 0 },
	{ "metrics", OPT_METRICS, "[ADDR:]PORT", 0,
	  "Serve Prometheus metrics at /metrics (ADDR default 127.0.0.1)", 0 },
	{ "metrics-max-series", OPT_METRICS_MAX_SERIES, "N", 0,
	  "At most N labelled series (default 1000, at most 10000)", 0 },
	{ "quiet", OPT_QUIET, NULL, 0, "With --metrics: no table or JSON output", 0 },
	{},
};

static void set_comm(const char *arg)
{
	size_t len = strlen(arg);

	if (len == 0 || len >= TASK_COMM_LEN)
		usage_error("invalid --name '%s': expected 1 to %d characters", arg,
			    TASK_COMM_LEN - 1);
	memcpy(common_opts.filter.comm, arg, len);
	common_opts.filter.comm_len = len;
}

static void set_ringbuf_size(const char *arg)
{
	uint64_t v;

	if (!parse_size(arg, &v) || v < 4096 || v > (1ull << 30) || (v & (v - 1)))
		usage_error("invalid --ringbuf-size '%s': expected a power of two from 4K to 1G",
			    arg);
	common_opts.ringbuf_size = v;
	ringbuf_size_given = true;
}

void default_ringbuf_size(uint64_t size)
{
	if (!ringbuf_size_given)
		common_opts.ringbuf_size = size;
}

static void open_output(void)
{
	int err;

	if (!common_opts.output || !strcmp(common_opts.output, "-"))
		return;
	err = out_open(common_opts.output);
	if (err) {
		err_msg("cannot write --output '%s': %s", common_opts.output, strerror(-err));
		exit(EXIT_RUNTIME);
	}
}

static error_t parse_common(int key, char *arg, struct argp_state *state)
{
	struct filter_cfg *f = &common_opts.filter;

	(void)state;
	switch (key) {
	case 'p':
		f->pid = opt_pid("--pid", arg);
		break;
	case 't':
		f->tid = opt_pid("--tid", arg);
		break;
	case 'u':
		f->uid = opt_u64("--uid", arg, 0, FILTER_UID_ANY - 1);
		break;
	case 'n':
		set_comm(arg);
		break;
	case 'c':
		common_opts.cgroup_path = arg;
		break;
	case 'd':
		if (!parse_seconds(arg, &common_opts.duration))
			usage_error("invalid --duration '%s': expected a number of seconds > 0",
				    arg);
		break;
	case OPT_COUNT:
		common_opts.count = opt_u64("--count", arg, 1, UINT64_MAX);
		break;
	case 'T':
		common_opts.timestamp = true;
		break;
	case OPT_JSON:
		common_opts.json = true;
		break;
	case 'v':
		libbpf_debug = verbose_mode; /* -vv */
		verbose_mode = true;
		break;
	case OPT_RINGBUF:
		set_ringbuf_size(arg);
		break;
	case OPT_METRICS:
		metrics_option(arg);
		break;
	case OPT_METRICS_MAX_SERIES:
		metrics_max_series_option(arg);
		break;
	case OPT_QUIET:
		common_opts.quiet = true;
		break;
	case 'o':
		if (!*arg)
			usage_error("invalid --output '': expected a file name, or - for stdout");
		common_opts.output = arg;
		break;
	case ARGP_KEY_END:
		if (common_opts.quiet && !metrics_on())
			usage_error(
				"--quiet needs --metrics: without it nothing would be reported");
		return ARGP_ERR_UNKNOWN;
	case ARGP_KEY_SUCCESS: /* after every parser's checks: a bad command line creates no file */
		open_output();
		return ARGP_ERR_UNKNOWN;
	case ARGP_KEY_ARG: /* one the subcommand's own parser did not take */
		usage_error("unexpected argument '%s'", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp common_argp = { .options = common_options, .parser = parse_common };

const struct argp_child common_argp_children[] = {
	{ &common_argp, 0, "Common options:", 1 },
	{},
};

/*
 * argp follows getopt's own one-line message ("unrecognized option") with a "Try --help" hint on
 * its error stream; our contract is one line per error, so that stream goes nowhere.
 */
static ssize_t discard_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	(void)buf;
	return size;
}

static error_t quiet_errors(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	if (key == ARGP_KEY_INIT) {
		state->err_stream =
			fopencookie(NULL, "w", (cookie_io_functions_t){ .write = discard_write });
		if (!state->err_stream)
			state->err_stream = stderr;
	}
	return ARGP_ERR_UNKNOWN;
}

void parse_args(const struct argp *argp, int argc, char **argv, void *input)
{
	const struct argp_child children[] = { { argp, 0, NULL, 0 }, {} };
	/* No doc of its own: argp then prints the subcommand's usage and doc, once. */
	const struct argp root = { .parser = quiet_errors, .children = children };

	argp_err_exit_status = EXIT_USAGE;
	if (argp_parse(&root, argc, argv, 0, NULL, input))
		exit(EXIT_USAGE);
}

struct common_cfg common_bpf_cfg(void)
{
	struct common_cfg cfg = { .filter = common_opts.filter };
	uint64_t cgroup_id = 0;

	cfg.filter.cgroup = common_opts.cgroup_path != NULL;
	/* filter_task() compares ids: the cgroup_filter map only answers for the current task. */
	if (common_opts.cgroup_path && cgroup_id_of(common_opts.cgroup_path, &cgroup_id))
		cfg.filter.cgroup_id = cgroup_id;
	/* Wake the reader when a quarter of the buffer is used; below that it polls. */
	cfg.wakeup_bytes = common_opts.ringbuf_size / 4;
	return cfg;
}
