// SPDX-License-Identifier: GPL-2.0
/* ebpftrace: one binary, many subcommands. Adding one is a row here and a file in cmd/. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "check.h"
#include "cmds.h"
#include "dispatch.h"
#include "events.h"
#include "opts.h"
#include "probe.h"
#include "setup.h"
#include "util.h"

static const struct subcommand subcommands[] = {
	{ "exec", "every exec() with pid, ppid, uid, comm, full argv and result", cmd_exec,
	  exec_check_args },
	{ "runqlat", "run-queue latency histograms: how long runnable tasks wait for a CPU",
	  cmd_runqlat, NULL },
	{ "kill", "signals generated or sent by kill() calls, with sender and target", cmd_kill,
	  NULL },
	{ "open", "every open/openat/openat2/creat with flags, mode, path and result", cmd_open,
	  NULL },
	{ "tcpconnlat", "TCP connect latency per connection, or as a histogram", cmd_tcpconnlat,
	  NULL },
	{ "exit", "every process (or thread) exit with its code or signal, and its age", cmd_exit,
	  NULL },
	{ "tcpstates", "every TCP state change with both ends and the time in the old state",
	  cmd_tcpstates, NULL },
	{ "softirqs", "time in each softirq vector, as totals or histograms", cmd_softirqs, NULL },
	{ "hardirqs", "time in each hard interrupt's handlers, as totals or histograms",
	  cmd_hardirqs, NULL },
	{ "bashreadline", "the lines typed at interactive bash prompts", cmd_bashreadline, NULL },
	{ "tcprtt", "TCP smoothed round-trip time histograms, overall or by one end", cmd_tcprtt,
	  NULL },
	{ "biopattern", "per disk, the share of random and sequential I/O, every interval",
	  cmd_biopattern, NULL },
	{ "memleak", "outstanding allocations by symbolized stack, of a process or the kernel",
	  cmd_memleak, NULL },
	{ "lsm-block", "deny connects, execs and opens with BPF LSM; report every denial",
	  cmd_lsm_block, lsm_block_check_args },
	{ "argdist", "histograms of a kernel function's integer argument or return value",
	  cmd_argdist, argdist_check_args },
	{ "tc", "see, count, capture (pcap) and drop the packets of a network device", cmd_tc,
	  tc_check_args },
};

static const char *const builtins[] = { "help", "check", "version" };

static void print_usage(FILE *f)
{
	fprintf(f, "Usage: ebpftrace <subcommand> [options]\n"
		   "       ebpftrace help <subcommand>   the options of a subcommand\n"
		   "       ebpftrace check [--json] [SUBCOMMAND...]\n"
		   "                                     which subcommands run here, and how\n"
		   "       ebpftrace --version\n\n"
		   "Subcommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(f, "  %-12s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\nSee ebpftrace(8) and ebpftrace-<subcommand>(8).\n");
}

static int print_version(void)
{
	printf("ebpftrace %s\nlibbpf %u.%u\nfeatures: %s\n", EBPFTRACE_VERSION,
	       libbpf_major_version(), libbpf_minor_version(), EBPFTRACE_FEATURES);
	return EXIT_OK;
}

static int unknown_subcommand(const char *name)
{
	const char *names[ARRAY_SIZE(subcommands) + ARRAY_SIZE(builtins)];
	const char *hint;
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		names[n++] = subcommands[i].name;
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		names[n++] = builtins[i];
	hint = closest_name(names, n, name);
	if (hint)
		err_msg("unknown subcommand '%s'; did you mean '%s'?", name, hint);
	else
		err_msg("unknown subcommand '%s' (ebpftrace help lists them)", name);
	return EXIT_USAGE;
}

static int run_subcommand(const struct subcommand *sub, int argc, char **argv)
{
	char argv0[64];

	snprintf(argv0, sizeof(argv0), "ebpftrace %s", sub->name);
	set_prog_name(sub->name);
	argv[0] = argv0;
	run_catch_stop_signals();
	return sub->run(argc, argv);
}

static int help(int argc, char **argv)
{
	const struct subcommand *sub;
	char *help_argv[] = { NULL, "--help", NULL };

	if (argc < 2) {
		print_usage(stdout);
		return EXIT_OK;
	}
	sub = subcommand_find(subcommands, ARRAY_SIZE(subcommands), argv[1]);
	if (!sub)
		return unknown_subcommand(argv[1]);
	return run_subcommand(sub, 2, help_argv);
}

/* check [--json] [SUBCOMMAND...]: --json may come anywhere; the rest are names. */
static int check(int argc, char **argv)
{
	char *names[argc];
	int n = 0;

	set_prog_name("check");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			common_opts.json = true;
		else if (argv[i][0] == '-')
			usage_error("unknown option '%s'; usage: ebpftrace check [--json] "
				    "[SUBCOMMAND...]",
				    argv[i]);
		else
			names[n++] = argv[i];
	}
	return check_run(subcommands, ARRAY_SIZE(subcommands), n, names);
}

int main(int argc, char **argv)
{
	const struct subcommand *sub;

	/*
	 * libbpf copies the kernel's BTF (5+ MB, twice) for each load and frees it after. glibc
	 * would raise its mmap threshold past that size on the first free, so that a second load
	 * (a method the kernel refused, then the next) kept its copies in the heap for good: a
	 * fixed threshold keeps them mmapped, and given back.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h"))
		return help(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
		return print_version();
	if (!strcmp(argv[1], "check"))
		return check(argc - 1, argv + 1);
	sub = subcommand_find(subcommands, ARRAY_SIZE(subcommands), argv[1]);
	if (!sub)
		return unknown_subcommand(argv[1]);
	return run_subcommand(sub, argc - 1, argv + 1);
}
