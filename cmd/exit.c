// SPDX-License-Identifier: GPL-2.0
/* ebpftrace exit: every process (or thread) exit, with its code or signal and its age. */
#include <errno.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "exit.h"
#include "exit.skel.h"
#include "cmds.h"
#include "metrics.h"
#include "opts.h"
#include "signals.h"
#include "tool.h"
#include "util.h"

enum { OPT_THREADS = OPT_SUB };

static struct exit_cfg exit_cfg;

static const struct argp_option options[] = {
	{ "failed", 'x', NULL, 0, "Only exits with a non-zero code or by a signal", 0 },
	{ "threads", OPT_THREADS, NULL, 0, "Every thread's exit, not only whole processes'", 0 },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	(void)state;
	if (key == 'x')
		exit_cfg.failed = 1;
	else if (key == OPT_THREADS)
		exit_cfg.threads = 1;
	else
		return ARGP_ERR_UNKNOWN;
	return 0;
}

enum { F_PID, F_PPID, F_TID, F_UID, F_COMM, F_AGE, F_EXIT, F_CODE, F_SIGNAL, F_CORE };

static const struct out_field fields[] = {
	[F_PID] = { "pid", "PID", 7 },	       [F_PPID] = { "ppid", "PPID", 7 },
	[F_TID] = { "tid", "TID", 7 },	       [F_UID] = { "uid", "UID", 6 },
	[F_COMM] = { "comm", "COMM", -16 },    [F_AGE] = { "age_ms", "AGE(ms)", 12 },
	[F_EXIT] = { NULL, "EXIT", 0 }, /* table only: the code, or the signal */
	[F_CODE] = { "code", NULL, 0 },	       [F_SIGNAL] = { "signal", NULL, 0 },
	[F_CORE] = { "core_dumped", NULL, 0 },
};

/* The wait status: exited with a code (WIFEXITED), or killed by a signal, maybe dumping core. */
static void print_status(__u32 status)
{
	char name[SIGNAL_NAME_SIZE], cell[SIGNAL_NAME_SIZE + 8];
	int sig = status & 0x7f;
	bool core = status & 0x80;

	if (out_json()) {
		if (!sig) {
			out_u64(&fields[F_CODE], status >> 8 & 0xff);
			return;
		}
		out_str(&fields[F_SIGNAL], signal_name(sig, name, sizeof(name)), sizeof(name));
		out_bool(&fields[F_CORE], core);
		return;
	}
	if (!sig)
		snprintf(cell, sizeof(cell), "%u", status >> 8 & 0xff);
	else
		snprintf(cell, sizeof(cell), "%s%s", signal_name(sig, name, sizeof(name)),
			 core ? " (core)" : "");
	out_str(&fields[F_EXIT], cell, sizeof(cell));
}

static struct metric_family exits = METRIC_FAMILY(
	METRIC_COUNTER, "ebpftrace_exit_events_total",
	"Exits traced, by result: the exit code, or the signal that ended it", "result");
static struct metric_family core_dumps =
	METRIC_FAMILY(METRIC_COUNTER, "ebpftrace_exit_core_dumps_total",
		      "Exits by a signal that dumped core, by signal", "signal");
static struct metric_family ages = METRIC_HISTOGRAM_FAMILY(
	"ebpftrace_exit_age_seconds", "How long the exited processes (threads) had lived", 1000);

static void count_exit(const struct exit_event *e, uint64_t age_ns)
{
	char result[SIGNAL_NAME_SIZE];
	int sig = e->status & 0x7f;

	if (!metrics_on())
		return;
	if (sig)
		signal_name(sig, result, sizeof(result));
	else
		snprintf(result, sizeof(result), "%u", e->status >> 8 & 0xff);
	metrics_add(&exits, METRIC_VALUES(result), 1);
	if (sig && e->status & 0x80)
		metrics_add(&core_dumps, METRIC_VALUES(result), 1);
	metrics_observe(&ages, NULL, age_ns);
}

static int handle_event(void *ctx, const void *data, size_t size)
{
	const struct exit_event *e = data;
	uint64_t age_ns;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	age_ns = e->ts_ns > e->start_ns ? e->ts_ns - e->start_ns : 0;
	count_exit(e, age_ns);
	out_row_begin("exit", e->ts_ns);
	out_u64(&fields[F_PID], e->pid);
	out_u64(&fields[F_PPID], e->ppid);
	out_u64(&fields[F_TID], e->tid);
	out_u64(&fields[F_UID], e->uid);
	out_str(&fields[F_COMM], e->comm, sizeof(e->comm));
	out_fixed(&fields[F_AGE], age_ns / 1000, 3);
	print_status(e->status);
	out_row_end();
	return 0;
}

static int configure(void *skel, enum attach_method m, const char **step)
{
	struct exit_bpf *obj = skel;

	if (m == METHOD_TP_BTF && tracepoint_btf_args("sched_process_exit") < 2) {
		*step = "finding group_dead in the sched_process_exit tracepoint (Linux 6.16+)";
		return -EOPNOTSUPP;
	}
	obj->rodata->exit_cfg = exit_cfg;
	/* Only the raw tracepoint path, and only for whole processes, marks reported ones. */
	if (m != METHOD_RAW_TP || exit_cfg.threads) {
		bpf_map__set_autocreate(obj->maps.reported, false);
		bpf_program__set_autoload(obj->progs.exit_free_raw, false);
	}
	return 0;
}

TOOL_SKELETON_FNS(exit)

/* tp_btf where the tracepoint says which thread is the last (6.16+); the raw tracepoint else. */
static const struct attach_candidate candidates[] = {
	{ METHOD_TP_BTF, "sched_process_exit" },
	{ METHOD_RAW_TP, "sched_process_exit" },
};

int cmd_exit(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.doc = "Trace process exits: pid, ppid, tid, uid, comm, age, and the exit code or "
		       "the signal that ended it.\v"
		       "A process is reported when its last thread exits, with the status its "
		       "parent's wait() gets; --threads reports every thread. See "
		       "ebpftrace-exit(8).",
		TOOL_CANDIDATES(candidates),
		TOOL_SKELETON(exit),
		.configure = configure,
		.fields = fields,
		.n_fields = ARRAY_SIZE(fields),
		.what = "exits",
		.handle = handle_event,
	};

	return tool_run(&tool, argc, argv);
}
