// SPDX-License-Identifier: GPL-2.0
/* ebpftrace exec: every execve/execveat with its arguments and result. */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "exec.h"
#include "exec.skel.h"
#include "cmds.h"
#include "events.h"
#include "metrics.h"
#include "opts.h"
#include "output.h"
#include "setup.h"
#include "tool.h"
#include "util.h"

enum { OPT_MAX_ARGS = OPT_SUB };

/*
 * How -x catches failed execs: the exec syscalls' own exit tracepoints, or a program on every
 * syscall's exit (see bpf/exec.bpf.c). The first cost other syscalls less, the second detach at
 * once. Successful execs have one way in, which needs neither.
 */
static const struct attach_candidate candidates[] = {
	{ METHOD_TRACEPOINT, "syscalls:sys_exit_execve" },
	{ METHOD_TP_BTF, "sys_exit" },
};
static enum attach_method method;

static struct {
	struct exec_cfg cfg;
	const char *line;
	bool quote;
	bool failed;
} exec_opts = { .cfg = { .max_args = EXEC_DEFAULT_ARGS } };

static const struct argp_option options[] = {
	{ "failed", 'x', NULL, 0, "Include failed execs", 0 },
	{ "ppid", 'P', "PPID", 0, "Only processes whose parent is PPID", 0 },
	{ "line", 'l', "TEXT", 0, "Only execs with an argument containing TEXT", 0 },
	{ "quote", 'q', NULL, 0, "Quote each argument (table output)", 0 },
	{ "max-args", OPT_MAX_ARGS, "N", 0, "Arguments to capture, 1 to 64 (default 20)", 0 },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'x':
		exec_opts.failed = true;
		break;
	case 'P':
		exec_opts.cfg.ppid = opt_pid("--ppid", arg);
		break;
	case 'l':
		exec_opts.line = opt_text("--line", arg, "the text an argument contains");
		break;
	case 'q':
		exec_opts.quote = true;
		break;
	case OPT_MAX_ARGS:
		exec_opts.cfg.max_args = opt_u64("--max-args", arg, 1, EXEC_MAX_ARGS);
		break;
	default:
		(void)state;
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char doc[] = "Trace exec() calls: pid, ppid, uid, comm, filename, argv and result.\v"
			  "Arguments longer than 255 bytes are cut (marked ... in tables, "
			  "\"truncated\" in JSON). See ebpftrace-exec(8).";

enum { F_PID, F_PPID, F_UID, F_COMM, F_RET, F_FILENAME, F_ARGV };

static const struct out_field fields[] = {
	[F_PID] = { "pid", "PID", 7 },	  [F_PPID] = { "ppid", "PPID", 7 },
	[F_UID] = { "uid", "UID", 6 },	  [F_COMM] = { "comm", "COMM", -16 },
	[F_RET] = { "ret", "RET", 6 },	  [F_FILENAME] = { "filename", NULL, 0 },
	[F_ARGV] = { "argv", "ARGS", 0 },
};

static const struct out_field truncated_field = { "truncated", NULL, 0 };

static struct metric_family exec_events = METRIC_FAMILY(
	METRIC_COUNTER, "ebpftrace_exec_events_total", "Execs traced, by result", "result");

struct args {
	__u32 count;
	bool more; /* arguments were left out */
	bool cut;  /* an argument was cut */
	struct {
		const char *s;
		size_t len;
		bool cut;
	} arg[EXEC_MAX_ARGS];
};

/*
 * The record's arguments, with --max-args and the per-argument length applied here when the
 * kernel sent the new image's whole argument area (EXEC_ARGS_RAW) rather than cut them itself.
 */
static void collect_args(const struct exec_event *e, struct args *a)
{
	const char *p = e->data + e->filename_size, *end = p + e->args_size;
	bool raw = e->flags & EXEC_ARGS_RAW;

	a->count = 0;
	a->more = e->flags & (EXEC_MORE_ARGS | EXEC_ARGS_FAULT);
	a->cut = e->args_cut;
	for (; p < end; p += strnlen(p, end - p) + 1) {
		__u32 i = a->count;
		size_t len = strnlen(p, end - p);

		if (i == (raw ? exec_opts.cfg.max_args : e->args_count)) {
			a->more |= raw;
			break;
		}
		a->arg[i].s = p;
		a->arg[i].len = raw && len > EXEC_ARG_LEN - 1 ? EXEC_ARG_LEN - 1 : len;
		a->arg[i].cut = raw ? a->arg[i].len < len || p + len == end : e->args_cut >> i & 1;
		a->cut |= a->arg[i].cut;
		a->count++;
	}
}

/* -l: does any captured argument contain the text? */
static bool line_matches(const struct args *a)
{
	if (!exec_opts.line)
		return true;
	for (__u32 i = 0; i < a->count; i++)
		if (memmem(a->arg[i].s, a->arg[i].len, exec_opts.line, strlen(exec_opts.line)))
			return true;
	return false;
}

static void print_args(const struct args *a)
{
	out_array_begin(&fields[F_ARGV], exec_opts.quote);
	for (__u32 i = 0; i < a->count; i++)
		out_array_str(a->arg[i].s, a->arg[i].len, a->arg[i].cut);
	out_array_end(a->more);
}

static int handle_event(void *ctx, const void *data, size_t size)
{
	const struct exec_event *e = data;
	struct args args;

	(void)ctx;
	if (size < offsetof(struct exec_event, data) || e->filename_size < 1 ||
	    e->filename_size > PATH_BUF_LEN ||
	    size < offsetof(struct exec_event, data) + e->filename_size + e->args_size)
		return 0;
	collect_args(e, &args);
	if (!line_matches(&args))
		return 0;
	metrics_add(&exec_events, METRIC_VALUES(metrics_result(e->ret)), 1);
	out_row_begin("exec", e->ts_ns);
	out_u64(&fields[F_PID], e->pid);
	out_u64(&fields[F_PPID], e->ppid);
	out_u64(&fields[F_UID], e->uid);
	out_str(&fields[F_COMM], e->comm, sizeof(e->comm));
	out_result(&fields[F_RET], e->ret);
	out_str(&fields[F_FILENAME], e->data, e->filename_size);
	print_args(&args);
	if (args.more || args.cut || (e->flags & EXEC_PATH_CUT))
		out_bool(&truncated_field, true);
	out_row_end();
	return 0;
}

static struct bpf_link *execveat_link;

/*
 * The execve program serves execveat too: attach it to that one's tracepoint as well. execveat
 * arrived in 3.19, but a kernel may be built without its tracepoints.
 */
static int attach_execveat(void *s, const char **step)
{
	struct exec_bpf *skel = s;

	/* From 0 on: a rate over the first scrapes counts the first exec too. */
	metrics_add(&exec_events, METRIC_VALUES("ok"), 0);
	if (method != METHOD_TRACEPOINT)
		return 0;
	if (!tracepoint_exists("syscalls", "sys_exit_execveat")) {
		verbose("no execveat tracepoints: failed execveat calls are not seen");
		return 0;
	}
	*step = "attaching to sys_exit_execveat";
	execveat_link = bpf_program__attach_tracepoint(skel->progs.exec_exit_tp, "syscalls",
						       "sys_exit_execveat");
	return execveat_link ? 0 : -errno;
}

static int configure(void *s, enum attach_method m, const char **step)
{
	struct exec_bpf *skel = s;

	(void)step;
	method = m;
	if (m == METHOD_COUNT) { /* no -x: no syscall is traced */
		bpf_program__set_autoload(skel->progs.exec_sys_exit, false);
		bpf_program__set_autoload(skel->progs.exec_exit_tp, false);
	}
	exec_opts.cfg.execve_nr = SYS_execve;
	exec_opts.cfg.execveat_nr = SYS_execveat;
	skel->rodata->exec_cfg = exec_opts.cfg;
	return 0;
}

TOOL_SKELETON_FNS(exec)

static void parsed(struct tool *t)
{
	if (exec_opts.failed)
		return;
	if (t->method >= 0)
		usage_error("--method chooses how -x catches failed execs: give it with -x");
	t->n_cands = 0;
}

/* `ebpftrace check exec` covers the methods too. */
const char *const exec_check_args[] = { "-x", NULL };

int cmd_exec(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.doc = doc,
		TOOL_CANDIDATES(candidates),
		TOOL_SKELETON(exec),
		.configure = configure,
		.attach = attach_execveat,
		.links = &execveat_link,
		.n_links = 1,
		.parsed = parsed,
		.fields = fields,
		.n_fields = ARRAY_SIZE(fields),
		.what = "exec() calls",
		.handle = handle_event,
	};

	return tool_run(&tool, argc, argv);
}
