// SPDX-License-Identifier: GPL-2.0
/* ebpftrace open: every open, openat, openat2 and creat with its flags, mode, path and result. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "open.h"
#include "open.skel.h"
#include "cmds.h"
#include "flags.h"
#include "metrics.h"
#include "opts.h"
#include "output.h"
#include "setup.h"
#include "tool.h"
#include "util.h"

/* glibc numbers O_LARGEFILE 0 on 64-bit hosts; the kernel still sees its own bit. */
#if O_LARGEFILE == 0 && defined(__x86_64__)
#define KERNEL_O_LARGEFILE 0100000
#elif O_LARGEFILE == 0 && defined(__aarch64__)
#define KERNEL_O_LARGEFILE 0400000
#else
#define KERNEL_O_LARGEFILE O_LARGEFILE
#endif

enum { OPT_FLAGS = OPT_SUB };

/*
 * One program per open syscall, or one on every syscall's exit (see bpf/open.bpf.c): the first
 * costs other syscalls far less, the second detaches at once and needs no tracefs.
 */
static const struct attach_candidate candidates[] = {
	{ METHOD_TRACEPOINT, "syscalls:sys_exit_openat" },
	{ METHOD_TP_BTF, "sys_exit" },
	{ METHOD_RAW_TP, "sys_exit" },
};

static struct {
	struct open_cfg cfg;
	bool extended;
} open_opts;

static const struct argp_option options[] = {
	{ "failed", 'x', NULL, 0, "Only failed opens", 0 },
	{ "extended", 'e', NULL, 0, "Show the FLAGS and MODE columns", 0 },
	{ "full-path", 'F', NULL, 0, "Show absolute paths (relative ones resolved in the kernel)",
	  0 },
	{ "flags", OPT_FLAGS, "LIST", 0,
	  "Only opens with any of these flags (e.g. O_WRONLY,O_CREAT)", 0 },
	{},
};

/* Multi-bit flags before the flags they contain: O_TMPFILE holds O_DIRECTORY, O_SYNC O_DSYNC. */
static const struct flag_name open_flags[] = {
	{ O_CREAT, "O_CREAT" },
	{ O_EXCL, "O_EXCL" },
	{ O_NOCTTY, "O_NOCTTY" },
	{ O_TRUNC, "O_TRUNC" },
	{ O_APPEND, "O_APPEND" },
	{ O_NONBLOCK, "O_NONBLOCK" },
	{ O_SYNC, "O_SYNC" },
	{ O_DSYNC, "O_DSYNC" },
	{ O_ASYNC, "O_ASYNC" },
	{ O_DIRECT, "O_DIRECT" },
	{ KERNEL_O_LARGEFILE, "O_LARGEFILE" },
	{ O_TMPFILE, "O_TMPFILE" },
	{ O_DIRECTORY, "O_DIRECTORY" },
	{ O_NOFOLLOW, "O_NOFOLLOW" },
	{ O_NOATIME, "O_NOATIME" },
	{ O_CLOEXEC, "O_CLOEXEC" },
	{ O_PATH, "O_PATH" },
};

static const char *const access_modes[] = { "O_RDONLY", "O_WRONLY", "O_RDWR" };

static const char *const syscall_names[] = {
	[OPEN_SYS_OPEN] = "open",
	[OPEN_SYS_OPENAT] = "openat",
	[OPEN_SYS_OPENAT2] = "openat2",
	[OPEN_SYS_CREAT] = "creat",
};

/*
 * The bits that tell a flag apart from the others: for O_TMPFILE not O_DIRECTORY's, for O_SYNC
 * not O_DSYNC's. The kernel side matches any bit, which is then exact.
 */
static uint32_t own_bits(const struct flag_name *f)
{
	uint64_t bits = f->mask;

	for (size_t i = 0; i < ARRAY_SIZE(open_flags); i++)
		if (&open_flags[i] != f && (f->mask & open_flags[i].mask) == open_flags[i].mask)
			bits &= ~open_flags[i].mask;
	return bits;
}

static bool add_flag_filter(const char *name, void *ctx)
{
	const struct flag_name *f = flag_by_name(open_flags, ARRAY_SIZE(open_flags), name);

	(void)ctx;
	for (size_t i = 0; i < ARRAY_SIZE(access_modes); i++) {
		if (!strcasecmp(name, access_modes[i])) {
			open_opts.cfg.acc_modes |= 1u << i;
			return true;
		}
	}
	if (!f || !f->mask)
		return false;
	open_opts.cfg.flag_mask |= own_bits(f);
	return true;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'x':
		open_opts.cfg.failed = 1;
		break;
	case 'e':
		open_opts.extended = true;
		break;
	case 'F':
		open_opts.cfg.full_path = 1;
		break;
	case OPT_FLAGS:
		opt_list("--flags", arg, "an open flag (O_RDONLY, O_CREAT, O_CLOEXEC...)",
			 add_flag_filter, NULL);
		break;
	default:
		(void)state;
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char doc[] =
	"Trace open(), openat(), openat2() and creat(): pid, tid, uid, comm, fd or error, "
	"flags, mode and path.\v"
	"FD shows the file descriptor, or the error name when the open failed. With "
	"--full-path a relative path is shown resolved against the cwd or the directory fd. "
	"See ebpftrace-open(8).";

enum { F_PID, F_TID, F_UID, F_COMM, F_RET, F_SYSCALL, F_FLAGS, F_MODE, F_PATH, F_FULL_PATH };

/* Headers are dropped at start-up for the columns the options leave out of the table. */
static struct out_field fields[] = {
	[F_PID] = { "pid", "PID", 7 },	       [F_TID] = { "tid", "TID", 7 },
	[F_UID] = { "uid", "UID", 6 },	       [F_COMM] = { "comm", "COMM", -16 },
	[F_RET] = { "ret", "FD", 6 },	       [F_SYSCALL] = { "syscall", NULL, 0 },
	[F_FLAGS] = { "flags", "FLAGS", -30 }, [F_MODE] = { "mode", "MODE", 5 },
	[F_PATH] = { "path", "PATH", 0 },      [F_FULL_PATH] = { "full_path", NULL, 0 },
};

static const struct out_field truncated_field = { "truncated", NULL, 0 };

static struct metric_family open_events =
	METRIC_FAMILY(METRIC_COUNTER, "ebpftrace_open_events_total",
		      "Opens traced, by syscall and result", "syscall", "result");

static void print_flags(uint32_t flags)
{
	static struct strbuf sb;
	uint32_t acc = flags & OPEN_ACCMODE;

	sb.len = 0;
	if (acc < ARRAY_SIZE(access_modes))
		sb_puts(&sb, access_modes[acc]);
	else
		sb_printf(&sb, "%#x", acc);
	if (flags & ~OPEN_ACCMODE) {
		sb_putc(&sb, '|');
		sb_flags(&sb, flags & ~OPEN_ACCMODE, open_flags, ARRAY_SIZE(open_flags));
	}
	out_str(&fields[F_FLAGS], sb.buf, sb.len);
}

/* The mode matters only when the open may create a file. */
static void print_mode(const struct open_event *e)
{
	if ((e->flags & O_CREAT) || (e->flags & O_TMPFILE) == O_TMPFILE)
		out_octal(&fields[F_MODE], e->mode);
	else
		out_none(&fields[F_MODE]);
}

static void print_full_path(const struct open_event *e)
{
	if (e->ev_flags & OPEN_FULL_SAME)
		out_str(&fields[F_FULL_PATH], e->buf, e->path_len);
	else if (e->full_len)
		out_str(&fields[F_FULL_PATH], e->buf + e->path_len, e->full_len);
	else
		out_none(&fields[F_FULL_PATH]);
}

static int handle_event(void *ctx, const void *data, size_t size)
{
	const struct open_event *e = data;
	bool extended = open_opts.extended || out_json();

	(void)ctx;
	if (size < offsetof(struct open_event, buf) ||
	    size < offsetof(struct open_event, buf) + e->path_len + e->full_len)
		return 0;
	out_row_begin("open", e->ts_ns);
	out_u64(&fields[F_PID], e->pid);
	out_u64(&fields[F_TID], e->tid);
	out_u64(&fields[F_UID], e->uid);
	out_str(&fields[F_COMM], e->comm, sizeof(e->comm));
	out_result(&fields[F_RET], e->ret);
	if (e->syscall < ARRAY_SIZE(syscall_names)) {
		out_str(&fields[F_SYSCALL], syscall_names[e->syscall], SIZE_MAX);
		metrics_add(&open_events,
			    METRIC_VALUES(syscall_names[e->syscall], metrics_result(e->ret)), 1);
	}
	if (extended) {
		print_flags(e->flags);
		print_mode(e);
	}
	out_str(&fields[F_PATH], e->buf, e->path_len);
	if (open_opts.cfg.full_path)
		print_full_path(e);
	if (e->ev_flags & OPEN_FULL_CUT)
		out_bool(&truncated_field, true);
	out_row_end();
	return 0;
}

static void choose_columns(void)
{
	if (!open_opts.extended) {
		fields[F_FLAGS].header = NULL;
		fields[F_MODE].header = NULL;
	}
	if (open_opts.cfg.full_path) {
		fields[F_PATH].header = NULL;
		fields[F_FULL_PATH].header = "PATH";
	}
}

/* The syscalls' numbers on this architecture (arm64 has no open and creat). */
static void set_syscall_numbers(struct open_cfg *cfg)
{
	for (size_t i = 0; i < ARRAY_SIZE(cfg->nr); i++)
		cfg->nr[i] = OPEN_NO_SYSCALL;
#ifdef SYS_open
	cfg->nr[OPEN_SYS_OPEN] = SYS_open;
#endif
#ifdef SYS_creat
	cfg->nr[OPEN_SYS_CREAT] = SYS_creat;
#endif
	cfg->nr[OPEN_SYS_OPENAT] = SYS_openat;
	cfg->nr[OPEN_SYS_OPENAT2] = SYS_openat2;
}

/* A kernel may lack some of the syscall tracepoints; attach to the others. */
static void skip_missing_tracepoints(struct open_bpf *skel)
{
	static const char *const names[] = {
		[OPEN_SYS_OPEN] = "sys_exit_open",
		[OPEN_SYS_OPENAT] = "sys_exit_openat",
		[OPEN_SYS_OPENAT2] = "sys_exit_openat2",
		[OPEN_SYS_CREAT] = "sys_exit_creat",
	};
	struct bpf_program *progs[] = {
		[OPEN_SYS_OPEN] = skel->progs.open_exit_open,
		[OPEN_SYS_OPENAT] = skel->progs.open_exit_openat,
		[OPEN_SYS_OPENAT2] = skel->progs.open_exit_openat2,
		[OPEN_SYS_CREAT] = skel->progs.open_exit_creat,
	};

	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		if (tracepoint_exists("syscalls", names[i]))
			continue;
		verbose("no syscalls:%s tracepoint: not tracing %s()", names[i], syscall_names[i]);
		bpf_program__set_autoload(progs[i], false);
	}
}

/* The syscall tracepoints read the arguments with bpf_task_pt_regs, which Linux 5.15 added. */
static bool has_task_pt_regs(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_pt_regs, NULL) > 0;
}

static int configure(void *s, enum attach_method m, const char **step)
{
	struct open_bpf *skel = s;

	if (m == METHOD_TRACEPOINT && !has_task_pt_regs()) {
		*step = "finding bpf_task_pt_regs (Linux 5.15+) for the syscall tracepoints";
		return -EOPNOTSUPP;
	}
	skel->rodata->open_cfg = open_opts.cfg;
	if (m == METHOD_TRACEPOINT)
		skip_missing_tracepoints(skel);
	return 0;
}

TOOL_SKELETON_FNS(open)

static void parsed(struct tool *t)
{
	(void)t;
	open_opts.cfg.creat_flags = O_CREAT | O_WRONLY | O_TRUNC;
	set_syscall_numbers(&open_opts.cfg);
	choose_columns();
}

int cmd_open(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.doc = doc,
		TOOL_CANDIDATES(candidates),
		TOOL_SKELETON(open),
		.configure = configure,
		.parsed = parsed,
		.fields = fields,
		.n_fields = ARRAY_SIZE(fields),
		.what = "open() calls",
		.handle = handle_event,
	};

	return tool_run(&tool, argc, argv);
}
