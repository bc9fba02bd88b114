// SPDX-License-Identifier: GPL-2.0
/* softirqs: time in each softirq vector, from softirq_entry to softirq_exit on the same CPU. */
#include "span.bpf.h"

/* Only spans interrupting a task that passes the common filters (none given: every one). */
static __always_inline int on_entry(void)
{
	if (filter_current())
		span_begin();
	return 0;
}

static __always_inline int on_exit(unsigned int vec)
{
	if (filter_current())
		span_end(vec);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry_btf, unsigned int vec)
{
	return on_entry();
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(softirq_exit_btf, unsigned int vec)
{
	return on_exit(vec);
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(softirq_entry_raw, unsigned int vec)
{
	return on_entry();
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(softirq_exit_raw, unsigned int vec)
{
	return on_exit(vec);
}
