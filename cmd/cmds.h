/* SPDX-License-Identifier: GPL-2.0 */
/* The run function of every subcommand, for the table in cmd/main.c. */
#ifndef EBPFTRACE_CMDS_H
#define EBPFTRACE_CMDS_H

int cmd_exec(int argc, char **argv);
int cmd_runqlat(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_open(int argc, char **argv);
int cmd_tcpconnlat(int argc, char **argv);
int cmd_memleak(int argc, char **argv);
int cmd_lsm_block(int argc, char **argv);
/* check runs lsm-block with a rule of each kind, in audit mode: every hook loads, none denies. */
extern const char *const exec_check_args[];
extern const char *const lsm_block_check_args[];
int cmd_tc(int argc, char **argv);
/* check runs tc on the loopback of the network namespace it makes for the check. */
extern const char *const tc_check_args[];
int cmd_exit(int argc, char **argv);
int cmd_tcpstates(int argc, char **argv);
int cmd_softirqs(int argc, char **argv);
int cmd_hardirqs(int argc, char **argv);
int cmd_bashreadline(int argc, char **argv);
int cmd_tcprtt(int argc, char **argv);
int cmd_biopattern(int argc, char **argv);
int cmd_argdist(int argc, char **argv);
/* check runs argdist on an argument by name of a function every kernel has. */
extern const char *const argdist_check_args[];

#endif
