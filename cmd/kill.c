// SPDX-License-Identifier: GPL-2.0
/* ebpftrace kill: signals, with who sent them, to whom, and whether the kernel or a call did. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "kill.h"
#include "kill.skel.h"
#include "cmds.h"
#include "metrics.h"
#include "opts.h"
#include "output.h"
#include "setup.h"
#include "signals.h"
#include "tool.h"
#include "util.h"

enum { OPT_TARGET = OPT_SUB };

/* One program on every syscall's exit, or one on each of the family's exit tracepoints. */
static const struct attach_candidate candidates[] = {
	{ METHOD_TP_BTF, "sys_exit" },
	{ METHOD_TRACEPOINT, "syscalls:sys_exit_kill" },
};

static struct kill_cfg kill_opts;

static const struct argp_option options[] = {
	{ "kill", 'k', NULL, 0,
	  "Only kill(), tkill(), tgkill(), rt_sigqueueinfo() and similar calls", 0 },
	{ "target", OPT_TARGET, "PID", 0, "Only signals sent to this process or thread", 0 },
	{ "signal", 's', "LIST", 0, "Only these signals, by name or number (e.g. TERM,KILL,9)", 0 },
	{ "failed", 'x', NULL, 0, "Only failed sends", 0 },
	{},
};

static bool add_signal(const char *name, void *ctx)
{
	int sig = signal_parse(name);

	(void)ctx;
	if (sig < 0)
		return false;
	kill_opts.sig_mask[sig >> 6] |= 1ull << (sig & 63);
	kill_opts.sig_filter = 1;
	return true;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'k':
		kill_opts.syscalls_only = 1;
		break;
	case OPT_TARGET:
		kill_opts.target = opt_pid("--target", arg);
		break;
	case 's':
		opt_list("--signal", arg, "a signal name or number", add_signal, NULL);
		break;
	case 'x':
		kill_opts.failed = 1;
		break;
	default:
		(void)state;
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char doc[] =
	"Trace signals: every signal generated, including those the kernel sends (SIGSEGV, "
	"SIGCHLD, SIGPIPE...), and the kill()-family calls that failed; with --kill, every "
	"kill()-family call.\v"
	"The common filters (-p, -t, -u, -n, -c) select the sender. SOURCE names the call a "
	"signal came from, or \"kernel\". See ebpftrace-kill(8).";

enum { F_PID, F_TID, F_COMM, F_TPID, F_TTID, F_SIG, F_SIGNAL, F_RET, F_SOURCE };

static const struct out_field fields[] = {
	[F_PID] = { "pid", "PID", 7 },
	[F_TID] = { "tid", NULL, 0 },
	[F_COMM] = { "comm", "COMM", -16 },
	[F_TPID] = { "target_pid", "TPID", 7 },
	[F_TTID] = { "target_tid", "TTID", 7 },
	[F_SIG] = { "sig", "SIG", 3 },
	[F_SIGNAL] = { "signal", "SIGNAL", -11 },
	[F_RET] = { "ret", "RESULT", 6 },
	[F_SOURCE] = { "source", "SOURCE", 0 },
};

static const char *const sources[KILL_SRC_COUNT] = {
	[KILL_SRC_KERNEL] = "kernel",
	[KILL_SRC_KILL] = "kill",
	[KILL_SRC_TKILL] = "tkill",
	[KILL_SRC_TGKILL] = "tgkill",
	[KILL_SRC_RT_SIGQUEUEINFO] = "rt_sigqueueinfo",
	[KILL_SRC_RT_TGSIGQUEUEINFO] = "rt_tgsigqueueinfo",
	[KILL_SRC_PIDFD_SEND_SIGNAL] = "pidfd_send_signal",
};

static struct metric_family kill_events =
	METRIC_FAMILY(METRIC_COUNTER, "ebpftrace_kill_events_total",
		      "Signals traced, by signal, source and result", "signal", "source", "result");

static int handle_event(void *ctx, const void *data, size_t size)
{
	const struct kill_event *e = data;
	char name[SIGNAL_NAME_SIZE];

	(void)ctx;
	if (size < sizeof(*e) || e->source >= KILL_SRC_COUNT)
		return 0;
	out_row_begin("kill", e->ts_ns);
	out_u64(&fields[F_PID], e->pid);
	out_u64(&fields[F_TID], e->tid);
	out_str(&fields[F_COMM], e->comm, sizeof(e->comm));
	out_s64(&fields[F_TPID], e->target_pid);
	out_u64(&fields[F_TTID], e->target_tid);
	out_s64(&fields[F_SIG], e->sig);
	out_str(&fields[F_SIGNAL], signal_name(e->sig, name, sizeof(name)), sizeof(name));
	out_result(&fields[F_RET], e->ret);
	out_str(&fields[F_SOURCE], sources[e->source], SIZE_MAX);
	out_row_end();
	metrics_add(&kill_events, METRIC_VALUES(name, sources[e->source], metrics_result(e->ret)),
		    1);
	return 0;
}

/* The calls' numbers on this architecture (some lack a call, or a libc its number). */
static void set_syscall_numbers(struct kill_cfg *cfg)
{
	for (size_t i = 0; i < ARRAY_SIZE(cfg->nr); i++)
		cfg->nr[i] = KILL_NO_SYSCALL;
	cfg->nr[KILL_SRC_KILL] = SYS_kill;
	cfg->nr[KILL_SRC_TKILL] = SYS_tkill;
	cfg->nr[KILL_SRC_TGKILL] = SYS_tgkill;
	cfg->nr[KILL_SRC_RT_SIGQUEUEINFO] = SYS_rt_sigqueueinfo;
	cfg->nr[KILL_SRC_RT_TGSIGQUEUEINFO] = SYS_rt_tgsigqueueinfo;
#ifdef SYS_pidfd_send_signal
	cfg->nr[KILL_SRC_PIDFD_SEND_SIGNAL] = SYS_pidfd_send_signal;
#endif
}

/* kill_exit_tp on the family's other tracepoints, with --method tracepoint */
static struct bpf_link *tracepoint_links[KILL_SRC_COUNT];
static enum attach_method chosen_method;

/*
 * --method tracepoint: the skeleton attaches the exit program to sys_exit_kill; attach it to
 * the family's other tracepoints the kernel has (pidfd_send_signal came in 5.1).
 */
static int attach_other_tracepoints(void *s, const char **step)
{
	struct kill_bpf *skel = s;
	char name[64];

	if (chosen_method != METHOD_TRACEPOINT)
		return 0;
	*step = "attaching to the other syscall tracepoints";
	for (int i = KILL_SRC_TKILL; i < KILL_SRC_COUNT; i++) {
		snprintf(name, sizeof(name), "sys_exit_%s", sources[i]); /* a call's name */
		if (!tracepoint_exists("syscalls", name)) {
			verbose("no syscalls:%s tracepoint: not tracing %s()", name, sources[i]);
			continue;
		}
		tracepoint_links[i] =
			bpf_program__attach_tracepoint(skel->progs.kill_exit_tp, "syscalls", name);
		if (!tracepoint_links[i])
			return -errno;
	}
	return 0;
}

static int configure(void *s, enum attach_method m, const char **step)
{
	struct kill_bpf *skel = s;

	(void)step;
	chosen_method = m;
	skel->rodata->kill_cfg = kill_opts;
	/* A tp_btf program too, but for every method: the methods differ in the exit program. */
	bpf_program__set_autoload(skel->progs.signal_generate, true);
	if (!kill_opts.syscalls_only)
		bpf_map__set_max_entries(skel->maps.targets, 1); /* used by -k only */
	return 0;
}

/* The sender's registers are read with bpf_task_pt_regs, which Linux 5.15 added. */
static int check_kernel(void)
{
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_pt_regs, NULL) > 0)
		return EXIT_OK;
	err_msg("this kernel lacks the bpf_task_pt_regs helper: kill needs Linux 5.15 or later");
	return EXIT_UNSUPPORTED;
}

TOOL_SKELETON_FNS(kill)

static void parsed(struct tool *t)
{
	kill_opts.eagain = EAGAIN;
	set_syscall_numbers(&kill_opts);
	t->what = kill_opts.syscalls_only ? "kill() calls" : "signals";
}

int cmd_kill(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.doc = doc,
		TOOL_CANDIDATES(candidates),
		TOOL_SKELETON(kill),
		.configure = configure,
		.attach = attach_other_tracepoints,
		.links = tracepoint_links,
		.n_links = ARRAY_SIZE(tracepoint_links),
		.parsed = parsed,
		.check_kernel = check_kernel,
		.fields = fields,
		.n_fields = ARRAY_SIZE(fields),
		.handle = handle_event,
	};

	return tool_run(&tool, argc, argv);
}
