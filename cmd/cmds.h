/* SPDX-License-Identifier: GPL-2.0 */
/* The run function of every subcommand, for the table in cmd/main.c. */
#ifndef EBPFTRACE_CMDS_H
#define EBPFTRACE_CMDS_H

int cmd_exec(int argc, char **argv);

#endif
