/* SPDX-License-Identifier: GPL-2.0 */
/* The lsm-block records, shared by bpf/lsm_block.bpf.c and cmd/lsm_block.c. */
#ifndef EBPFTRACE_LSM_BLOCK_H
#define EBPFTRACE_LSM_BLOCK_H

#include "common.h"
#include "file_id.h"
#include "net_match.h"
#include "path.h"

#define LSM_MAX_RULES	  256 /* every rule, numbered from 1 (0: none) */
#define LSM_MAX_NET_RULES 64  /* of which --deny-connect: the kernel side tries each in turn */
/* Identities of the files of --deny-exec and --deny-open: stat's and the learned ones. */
#define LSM_MAX_FILE_IDS (LSM_MAX_RULES * (1 + FILE_ID_MAX_LEARNED))

/* Where a decision was taken. */
enum lsm_hook {
	LSM_HOOK_CONNECT,
	LSM_HOOK_SENDMSG,
	LSM_HOOK_BPRM_CHECK,
	LSM_HOOK_MMAP_FILE,
	LSM_HOOK_FILE_MPROTECT,
	LSM_HOOK_FILE_OPEN,
	LSM_HOOK_PATH_TRUNCATE,
	LSM_HOOK_COUNT,
};

/* Written into .rodata before load. */
struct lsm_cfg {
	__u32 audit;	 /* 1: report, deny nothing */
	__u32 n_net;	 /* --deny-connect rules in net_rules */
	__u32 self_tgid; /* ebpftrace itself: never denied */
	__u32 pad;
};

/* One --deny-connect rule: every protocol of AF_INET and AF_INET6 sockets. */
struct lsm_net_rule {
	struct net_prefix prefix;
	struct port_range ports;
	__u32 rule; /* its number */
};

/* All of them in one map value: one lookup, then a loop the verifier can follow. */
struct lsm_net_rules {
	struct lsm_net_rule r[LSM_MAX_NET_RULES];
};

/* The rules on one file; 0: none. */
struct lsm_file_rules {
	__u32 exec;	  /* --deny-exec */
	__u32 open;	  /* --deny-open */
	__u32 open_write; /* --deny-open --write-only */
	__u32 pad;
};

/* One decision; sent with the used part of path only. */
struct lsm_block_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 rule;
	__u8 hook;	/* enum lsm_hook */
	__u8 denied;	/* 0: audit mode, the call went on */
	__u8 proto;	/* network: IPPROTO_* of the socket */
	__u8 family;	/* network: AF_INET or AF_INET6 as the caller passed it */
	__u16 port;	/* network: destination port, host order */
	__u16 path_len; /* file: bytes of path, NUL included; 0: none */
	__u32 addr[4];	/* network: destination, IPv4 as ::ffff:a.b.c.d */
	struct file_id file;
	char comm[TASK_COMM_LEN];
	char path[PATH_BUF_LEN];
};

#endif
