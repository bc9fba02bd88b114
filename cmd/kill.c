// SPDX-License-Identifier: GPL-2.0
/* ebpftrace kill: signals, with who sent them, to whom, and whether the kernel or a call did. */
#include <errno.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "kill.h"
#include "kill.skel.h"
#include "cmds.h"
#include "events.h"
#include "opts.h"
#include "output.h"
#include "setup.h"
#include "signals.h"
#include "util.h"

enum { OPT_TARGET = OPT_SUB };

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
	case ARGP_KEY_ARG:
		usage_error("unexpected argument '%s'", arg);
	default:
		(void)state;
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = {
	.options = options,
	.parser = parse_opt,
	.children = common_argp_children,
	.doc = "Trace signals: every signal generated, including those the kernel sends (SIGSEGV, "
	       "SIGCHLD, SIGPIPE...), and the kill()-family calls that failed; with --kill, every "
	       "kill()-family call.\v"
	       "The common filters (-p, -t, -u, -n, -c) select the sender. SOURCE names the call a "
	       "signal came from, or \"kernel\". See ebpftrace-kill(8).",
};

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
	return 0;
}

/* Syscalls a kernel may lack (rt_tgsigqueueinfo came in 2.6.31, pidfd_send_signal in 5.1). */
static int skip_missing_tracepoints(struct kill_bpf *skel)
{
	const struct {
		const char *name;
		struct bpf_program *enter, *exit;
	} calls[] = {
		{ "kill", skel->progs.kill_enter, skel->progs.kill_exit },
		{ "tkill", skel->progs.tkill_enter, skel->progs.tkill_exit },
		{ "tgkill", skel->progs.tgkill_enter, skel->progs.tgkill_exit },
		{ "rt_sigqueueinfo", skel->progs.sigqueue_enter, skel->progs.sigqueue_exit },
		{ "rt_tgsigqueueinfo", skel->progs.tgsigqueue_enter, skel->progs.tgsigqueue_exit },
		{ "pidfd_send_signal", skel->progs.pidfd_enter, skel->progs.pidfd_exit },
	};
	char enter[64], exit[64];
	size_t present = 0;

	for (size_t i = 0; i < ARRAY_SIZE(calls); i++) {
		snprintf(enter, sizeof(enter), "sys_enter_%s", calls[i].name);
		snprintf(exit, sizeof(exit), "sys_exit_%s", calls[i].name);
		if (tracepoint_exists("syscalls", enter) && tracepoint_exists("syscalls", exit)) {
			present++;
			continue;
		}
		verbose("no syscalls:%s tracepoints: not tracing %s()", enter + 10, calls[i].name);
		bpf_program__set_autoload(calls[i].enter, false);
		bpf_program__set_autoload(calls[i].exit, false);
	}
	if (present)
		return EXIT_OK;
	err_msg("this kernel has no kill() syscall tracepoints: it needs CONFIG_FTRACE_SYSCALLS=y");
	return EXIT_UNSUPPORTED;
}

int cmd_kill(int argc, char **argv)
{
	struct kill_bpf *skel;
	int ret;

	parse_args(&argp, argc, argv, NULL);
	ret = setup_system();
	if (ret)
		return ret;
	skel = kill_bpf__open();
	if (!skel)
		return report_bpf_error("opening the BPF object", -errno);
	kill_opts.eagain = EAGAIN;
	skel->rodata->common_cfg = common_bpf_cfg();
	skel->rodata->kill_cfg = kill_opts;
	ret = skip_missing_tracepoints(skel);
	if (ret)
		goto out;
	ret = skel_load_attach(skel->skeleton);
	if (ret)
		goto out;
	out_init();
	out_header(fields, ARRAY_SIZE(fields));
	ret = events_run(skel->obj, kill_opts.syscalls_only ? "kill() calls" : "signals",
			 handle_event, NULL);
out:
	kill_bpf__destroy(skel);
	return ret;
}
