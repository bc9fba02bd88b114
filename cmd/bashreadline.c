// SPDX-License-Identifier: GPL-2.0
/* ebpftrace bashreadline: the lines typed at interactive bash prompts. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "bashreadline.h"
#include "bashreadline.skel.h"
#include "cmds.h"
#include "metrics.h"
#include "opts.h"
#include "tool.h"
#include "uprobe.h"
#include "util.h"

enum { OPT_SHELL = OPT_SUB };

static struct {
	const char *shell;   /* the bash binary */
	char path[PATH_MAX]; /* where readline is: the shell, or the libreadline it uses */
	uint64_t offset;
} brl = { .shell = "/bin/bash" };

static const struct argp_option options[] = {
	{ "shell", OPT_SHELL, "PATH", 0,
	  "The bash binary whose prompts to trace (default /bin/bash)", 0 },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	(void)state;
	if (key != OPT_SHELL)
		return ARGP_ERR_UNKNOWN;
	if (access(arg, X_OK))
		usage_error("invalid --shell '%s': %s", arg, strerror(errno));
	brl.shell = arg;
	return 0;
}

/*
 * readline in the shell itself (Debian's bash has it built in), else in the libreadline that
 * the traced process (-p) maps. Returns 0 or a negative errno with *step set.
 */
static int find_readline(const char **step)
{
	uint32_t pid = common_opts.filter.pid;
	int err;

	if (!realpath(brl.shell, brl.path)) {
		*step = "finding the shell (--shell)";
		return -errno;
	}
	err = elf_func_offset(brl.path, "readline", &brl.offset);
	if (err != -ENOENT)
		goto found;
	*step = "finding readline: not in the shell; with -p PID, in the libreadline it maps";
	if (!pid || proc_find_library(pid, "libreadline", brl.path, sizeof(brl.path)))
		return -EOPNOTSUPP;
	err = elf_func_offset(brl.path, "readline", &brl.offset);
found:
	if (err)
		*step = "finding readline in the shell's symbols";
	else
		verbose("readline at %s+%#llx", brl.path, (unsigned long long)brl.offset);
	return err;
}

static int configure(void *skel, enum attach_method m, const char **step)
{
	(void)skel;
	(void)m;
	return find_readline(step);
}

static int attach(void *skel, const char **step)
{
	struct bashreadline_bpf *obj = skel;
	LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = true);
	int pid = common_opts.filter.pid ? (int)common_opts.filter.pid : -1;

	obj->links.bashreadline_ret = bpf_program__attach_uprobe_opts(
		obj->progs.bashreadline_ret, pid, brl.path, brl.offset, &o);
	if (obj->links.bashreadline_ret)
		return 0;
	*step = "attaching the uretprobe on readline";
	return -errno;
}

enum { F_PID, F_UID, F_COMM, F_LINE };

static const struct out_field fields[] = {
	[F_PID] = { "pid", "PID", 7 },
	[F_UID] = { "uid", "UID", 6 },
	[F_COMM] = { "comm", "COMM", -16 },
	[F_LINE] = { "line", "LINE", 0 },
};

static const struct out_field truncated_field = { "truncated", NULL, 0 };

static struct metric_family lines =
	METRIC_FAMILY(METRIC_COUNTER, "ebpftrace_bashreadline_lines_total",
		      "Lines read at bash prompts, by uid", "uid");

static int handle_event(void *ctx, const void *data, size_t size)
{
	const struct bashreadline_event *e = data;
	char uid[16];

	(void)ctx;
	if (size < sizeof(*e) || !e->len || e->len > sizeof(e->line))
		return 0;
	snprintf(uid, sizeof(uid), "%u", e->uid);
	metrics_add(&lines, METRIC_VALUES(uid), 1);
	out_row_begin("bashreadline", e->ts_ns);
	out_u64(&fields[F_PID], e->pid);
	out_u64(&fields[F_UID], e->uid);
	out_str(&fields[F_COMM], e->comm, sizeof(e->comm));
	out_str(&fields[F_LINE], e->line, e->len - 1);
	if (e->cut)
		out_bool(&truncated_field, true);
	out_row_end();
	return 0;
}

TOOL_SKELETON_FNS(bashreadline)

int cmd_bashreadline(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.doc = "Trace the lines typed at interactive bash prompts, as readline() returns "
		       "them: pid, uid, comm and the line.\v"
		       "Lines longer than 255 bytes are cut (\"truncated\" in JSON). See "
		       "ebpftrace-bashreadline(8).",
		TOOL_SKELETON(bashreadline),
		.configure = configure,
		.attach = attach,
		.fields = fields,
		.n_fields = ARRAY_SIZE(fields),
		.what = "bash readline() calls",
		.handle = handle_event,
	};

	return tool_run(&tool, argc, argv);
}
