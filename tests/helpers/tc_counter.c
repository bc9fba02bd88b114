// SPDX-License-Identifier: GPL-2.0
/*
 * Another tool's program for the tc tests, with none of ebpftrace's code: on the ingress of DEV,
 * as a TCX link (after what is there) or as a cls_bpf filter (priority 10, handle 1) under the
 * clsact qdisc the test made, it counts IPv4 ICMP packets and lets every packet go on. Prints
 * "ready" once attached; when stdin closes, prints the count and exits, which takes a TCX link
 * with it and leaves a filter in place (as a tool that attached one would). Exit 3 when the
 * kernel has no TCX.
 *
 *   tc_counter tcx|clsact DEV
 */
#include <errno.h>
#include <stdbool.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define TCX_INGRESS 46 /* BPF_TCX_INGRESS (6.6+): newer than Debian 12's kernel headers */
#define TCX_NEXT    -1

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

static int load(bool tcx, int map_fd)
{
	struct bpf_insn insns[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),	   /* r6 = skb, for the ld_abs */
		INSN(BPF_LD | BPF_ABS | BPF_H, 0, 0, 0, 12),	   /* r0 = ethertype */
		INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 11, 0x0800), /* not IPv4: out */
		INSN(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 23),	   /* r0 = IP protocol */
		INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 9, 1),	   /* not ICMP: out */
		INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0),	   /* key 0 */
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
		INSN(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, map_fd),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 0, BPF_ADD), /* count += 1 */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, TCX_NEXT),  /* out: */
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = tcx ? TCX_INGRESS : 0);

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "test_tc_count", "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), &opts);
}

static int attach(bool tcx, int prog_fd, unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .prog_fd = prog_fd, .handle = 1, .priority = 10);

	if (tcx)
		return bpf_link_create(prog_fd, ifindex, TCX_INGRESS, NULL);
	return bpf_tc_attach(&hook, &tc);
}

int main(int argc, char **argv)
{
	unsigned int ifindex = argc == 3 ? if_nametoindex(argv[2]) : 0;
	bool tcx = argc == 3 && !strcmp(argv[1], "tcx");
	unsigned long long count = 0;
	int map_fd, prog_fd, key = 0;
	char buf[64];

	if (!ifindex || (!tcx && strcmp(argv[1], "clsact"))) {
		fprintf(stderr, "usage: tc_counter tcx|clsact DEV (an interface here)\n");
		return 2;
	}
	map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "test_tc_count", 4, 8, 1, NULL);
	prog_fd = map_fd < 0 ? -1 : load(tcx, map_fd);
	if (prog_fd < 0 || attach(tcx, prog_fd, ifindex) < 0) {
		fprintf(stderr, "tc_counter: %s: %s\n", prog_fd < 0 ? "loading" : "attaching",
			strerror(errno));
		return errno == EINVAL ? 3 : 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	if (bpf_map_lookup_elem(map_fd, &key, &count))
		perror("tc_counter: reading the count");
	printf("%llu\n", count);
	return 0;
}
