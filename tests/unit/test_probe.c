// SPDX-License-Identifier: GPL-2.0
/* The attach-method decision, against a fake kernel. */
#include <errno.h>
#include <stdio.h>
#include "probe.h"
#include "setup.h"
#include "util.h"
#include "unit.h"

static unsigned passes; /* bit m: method m passes the fake kernel's precheck */
static unsigned loads;	/* bit m: method m's programs load on the fake kernel */
static int prechecks, attempts;
static int loaded;	      /* the method fake_load loaded, or -1 */
static unsigned unprivileged; /* bit m: method m fails its precheck for want of a capability */

static void fake_precheck(enum attach_method m, const char *target, struct probe_result *res)
{
	prechecks++;
	res->ok = passes & (1u << m);
	res->no_privilege = unprivileged & (1u << m);
	snprintf(res->reason, sizeof(res->reason), "%s %s", method_name(m), target);
}

static int fake_load(enum attach_method m, void *ctx, const char **step)
{
	(void)ctx;
	attempts++;
	*step = "loading";
	if (!(loads & (1u << m)))
		return -EPERM;
	loaded = m;
	return 0;
}

static const struct attach_candidate cands[] = {
	{ METHOD_FENTRY, "tcp_v4_connect" },
	{ METHOD_KPROBE, "tcp_v4_connect" },
	{ METHOD_TRACEPOINT, "sock:inet_sock_set_state" },
};

#define ALL (1u << METHOD_FENTRY | 1u << METHOD_KPROBE | 1u << METHOD_TRACEPOINT)

/* The method loaded, or -1 with the exit code in *code. */
static int choose(unsigned pass, unsigned load, int forced, int *code)
{
	int ret;

	passes = pass;
	loads = load;
	prechecks = attempts = 0;
	loaded = -1;
	ret = load_with_method("test", cands, 3, forced, fake_precheck, fake_load, NULL);
	if (code)
		*code = ret;
	return ret == EXIT_OK ? loaded : -1;
}

TEST(first_working_method_wins)
{
	CHECK_INT_EQ(choose(ALL, ALL, -1, NULL), METHOD_FENTRY);
	CHECK_INT_EQ(prechecks, 1);
	CHECK_INT_EQ(attempts, 1);
}

TEST(falls_back_when_the_precheck_fails)
{
	/* no kprobes: tried no further than the precheck */
	CHECK_INT_EQ(choose(1u << METHOD_TRACEPOINT, ALL, -1, NULL), METHOD_TRACEPOINT);
	CHECK_INT_EQ(prechecks, 3);
	CHECK_INT_EQ(attempts, 1);
}

TEST(falls_back_when_the_load_fails)
{
	/* like our dev host: BTF says fentry exists, the kernel refuses it, no kprobes */
	CHECK_INT_EQ(choose(ALL & ~(1u << METHOD_KPROBE), 1u << METHOD_TRACEPOINT, -1, NULL),
		     METHOD_TRACEPOINT);
	CHECK_INT_EQ(attempts, 2);
}

TEST(nothing_works)
{
	int code;

	CHECK_INT_EQ(choose(0, ALL, -1, &code), -1);
	CHECK_INT_EQ(code, EXIT_UNSUPPORTED);
	CHECK_INT_EQ(attempts, 0);
	/*
	 * The last load's error decides the exit code: EPERM is the kernel's refusal where we have
	 * CAP_SYS_ADMIN, and may be for want of it where we do not.
	 */
	CHECK_INT_EQ(choose(ALL, 0, -1, &code), -1);
	CHECK_INT_EQ(code, have_cap(CAP_SYS_ADMIN) ? EXIT_UNSUPPORTED : EXIT_RUNTIME);
	CHECK_INT_EQ(attempts, 3);
}

TEST(missing_capability_is_a_runtime_failure)
{
	int code;

	/* fentry refused by the kernel, the tracepoint for want of CAP_SYS_ADMIN: grant it */
	unprivileged = 1u << METHOD_TRACEPOINT;
	CHECK_INT_EQ(choose(0, ALL, -1, &code), -1);
	CHECK_INT_EQ(code, EXIT_RUNTIME);
	/* the reverse: the last reason is the kernel's */
	unprivileged = 1u << METHOD_FENTRY;
	CHECK_INT_EQ(choose(0, ALL, -1, &code), -1);
	CHECK_INT_EQ(code, EXIT_UNSUPPORTED);
	unprivileged = 0;
}

TEST(forced_method)
{
	int code;

	CHECK_INT_EQ(choose(ALL, ALL, METHOD_TRACEPOINT, NULL), METHOD_TRACEPOINT);
	CHECK_INT_EQ(prechecks, 1);
	CHECK_INT_EQ(attempts, 1);
	CHECK_INT_EQ(choose(1u << METHOD_TRACEPOINT, ALL, METHOD_KPROBE, &code), -1);
	CHECK_INT_EQ(code, EXIT_UNSUPPORTED);
	CHECK_INT_EQ(choose(ALL, 1u << METHOD_TRACEPOINT, METHOD_FENTRY, &code), -1);
	CHECK_INT_EQ(attempts, 1);
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
