// SPDX-License-Identifier: GPL-2.0
/* A uprobe set keeps one of each program's twins: the uprobe_multi one where the kernel can. */
#include <string.h>
#include <bpf/libbpf.h>
#include "memleak.h"
#include "memleak.skel.h"
#include "uprobes.h"
#include "unit.h"

/* Either way, without asking the kernel (the unit tests also run under valgrind). */
static void check_twins(bool multi)
{
	struct memleak_bpf *skel = memleak_bpf__open();
	struct uprobes u = {};
	struct bpf_program *prog;
	int uprobes = 0;

	CHECK(skel != NULL);
	if (!skel)
		return;
	uprobes_choose(&u, skel->obj, multi);
	bpf_object__for_each_program(prog, skel->obj)
	{
		const char *sec = bpf_program__section_name(prog);
		bool multi = strstr(sec, ".multi") != NULL;

		if (strncmp(sec, "uprobe", 6) && strncmp(sec, "uretprobe", 9)) {
			CHECK(bpf_program__autoload(prog)); /* tracepoints: not the set's */
			continue;
		}
		uprobes++;
		CHECK_INT_EQ(bpf_program__autoload(prog), multi == u.multi);
	}
	CHECK_INT_EQ(uprobes, 2 * 8); /* 8 programs, each with its twin */
	memleak_bpf__destroy(skel);
}

TEST(uprobes_keep_one_twin_of_each_program)
{
	check_twins(true);
	check_twins(false);
}
