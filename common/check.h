/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `ebpftrace check [SUBCOMMAND...]`: will each subcommand run here, and how. Each one is started
 * for real, in a child process of its own, with the arguments its dispatch row gives for the
 * check: it takes every decision a real run takes (privileges, BTF, attach methods tried in
 * order, load, attach) and notes them as it goes; once it is ready to trace, the child reports
 * and exits, and the kernel closes everything it loaded. So check and a real run cannot disagree:
 * there is one decision path.
 */
#ifndef EBPFTRACE_CHECK_H
#define EBPFTRACE_CHECK_H

#include <stdbool.h>
#include "dispatch.h"

/* Whether this process is a subcommand started by check. */
bool check_mode(void);

/* Notes for the report, no-ops outside check mode: a method tried, and one passed over. */
void check_note_method(const char *option, const char *method, const char *target, bool chosen,
		       const char *reason);
/* A program loaded (name and ELF section, which names its attach type and point). */
void check_note_program(const char *name, const char *section);
/* The subcommand is ready to trace: in check mode, report it and end the child. */
void check_ready(void);

/*
 * Run the check for the subcommands named in argv (all of them when none is named) and print the
 * report (--json: one object per line). Returns EXIT_OK when all of them can run, else
 * EXIT_UNSUPPORTED, EXIT_USAGE for an unknown name.
 */
int check_run(const struct subcommand *table, size_t n, int argc, char **argv);

#endif
