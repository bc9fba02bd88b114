// SPDX-License-Identifier: GPL-2.0
/* The attach-method decision, against a fake kernel. */
#include <stdio.h>
#include "probe.h"
#include "unit.h"

static unsigned usable; /* bit m: method m works on the fake kernel */
static int trials;

static void fake_probe(enum attach_method m, const char *target, struct probe_result *res)
{
	trials++;
	res->ok = usable & (1u << m);
	snprintf(res->reason, sizeof(res->reason), "%s %s", method_name(m), target);
}

static const struct attach_candidate cands[] = {
	{ METHOD_FENTRY, "tcp_v4_connect" },
	{ METHOD_KPROBE, "tcp_v4_connect" },
	{ METHOD_TRACEPOINT, "sock:inet_sock_set_state" },
};

static int choose(unsigned works, int forced)
{
	struct probe_result res;

	usable = works;
	trials = 0;
	return choose_method("test", cands, 3, forced, fake_probe, &res);
}

TEST(first_usable_method_wins)
{
	CHECK_INT_EQ(choose(1u << METHOD_FENTRY | 1u << METHOD_TRACEPOINT, -1), 0);
	CHECK_INT_EQ(trials, 1);
}

TEST(falls_back_in_order)
{
	/* like our dev host: BTF says fentry exists, the kernel refuses it, no kprobes */
	CHECK_INT_EQ(choose(1u << METHOD_TRACEPOINT, -1), 2);
	CHECK_INT_EQ(trials, 3);
	CHECK_INT_EQ(choose(1u << METHOD_KPROBE | 1u << METHOD_TRACEPOINT, -1), 1);
}

TEST(nothing_usable)
{
	CHECK_INT_EQ(choose(0, -1), -1);
}

TEST(forced_method)
{
	struct probe_result res;

	CHECK_INT_EQ(choose(1u << METHOD_FENTRY | 1u << METHOD_TRACEPOINT, METHOD_TRACEPOINT), 2);
	CHECK_INT_EQ(trials, 1);
	CHECK_INT_EQ(choose(1u << METHOD_TRACEPOINT, METHOD_KPROBE), -1);
	usable = 1u << METHOD_TRACEPOINT;
	CHECK_INT_EQ(choose_method("test", cands, 3, METHOD_LSM, fake_probe, &res), -1);
	CHECK_STR_EQ(res.reason, "test cannot be attached with lsm");
}

TEST(method_names_round_trip)
{
	for (int m = 0; m < METHOD_COUNT; m++)
		CHECK_INT_EQ(method_by_name(method_name(m)), m);
	CHECK_INT_EQ(method_by_name("uprobe"), -1);
}

TEST(method_option_takes_the_candidates_methods)
{
	CHECK_INT_EQ(opt_method("fentry", cands, 3), METHOD_FENTRY);
	CHECK_INT_EQ(opt_method("kprobe", cands, 3), METHOD_KPROBE);
	CHECK_INT_EQ(opt_method("tracepoint", cands, 3), METHOD_TRACEPOINT);
}
