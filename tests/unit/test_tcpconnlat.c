// SPDX-License-Identifier: GPL-2.0
/* tcpconnlat's object carries a variant per attach method: each method loads only its own. */
#include <bpf/libbpf.h>
#include "probe.h"
#include "tcpconnlat.h"
#include "tcpconnlat.skel.h"
#include "util.h"
#include "unit.h"

static const struct attach_candidate cands[] = {
	{ METHOD_FENTRY, "tcp_rcv_state_process" },
	{ METHOD_KPROBE, "tcp_rcv_state_process" },
	{ METHOD_TP_BTF, "inet_sock_set_state" },
	{ METHOD_TRACEPOINT, "sock:inet_sock_set_state" },
};

/* The programs left to load, as "name name ...". */
static void autoloaded(enum attach_method m, char *buf, size_t size)
{
	struct tcpconnlat_bpf *skel = tcpconnlat_bpf__open();
	struct bpf_program *prog;
	size_t len = 0;

	buf[0] = '\0';
	if (!skel)
		return;
	autoload_method(skel->obj, cands, ARRAY_SIZE(cands), m);
	bpf_object__for_each_program(prog, skel->obj) if (bpf_program__autoload(prog)) len +=
		snprintf(buf + len, size - len, "%s%s", len ? " " : "", bpf_program__name(prog));
	tcpconnlat_bpf__destroy(skel);
}

TEST(tcpconnlat_loads_one_variant_per_method)
{
	char buf[256];

	autoloaded(METHOD_FENTRY, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "fentry_v4_connect fentry_v6_connect fentry_rcv_state fentry_set_state");
	autoloaded(METHOD_KPROBE, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "kprobe_v4_connect kprobe_v6_connect kprobe_rcv_state kprobe_set_state");
	autoloaded(METHOD_TP_BTF, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "btf_set_state");
	autoloaded(METHOD_TRACEPOINT, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "tp_set_state");
}
