// SPDX-License-Identifier: GPL-2.0
/*
 * hardirqs: time in each interrupt's handlers, from irq_handler_entry to irq_handler_exit on the
 * same CPU, by irq number, named after the handler (its irqaction's name) when first seen.
 */
#include "span.bpf.h"

static __always_inline int on_entry(void)
{
	if (filter_current())
		span_begin();
	return 0;
}

static __always_inline int on_exit(int irq, struct irqaction *action)
{
	struct span_stats *s;

	if (!filter_current())
		return 0;
	s = span_end(irq);
	if (s && !s->name[0])
		bpf_probe_read_kernel_str(s->name, sizeof(s->name), BPF_CORE_READ(action, name));
	return 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(irq_entry_btf, int irq, struct irqaction *action)
{
	return on_entry();
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(irq_exit_btf, int irq, struct irqaction *action, int ret)
{
	return on_exit(irq, action);
}

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(irq_entry_raw, int irq, struct irqaction *action)
{
	return on_entry();
}

SEC("raw_tp/irq_handler_exit")
int BPF_PROG(irq_exit_raw, int irq, struct irqaction *action, int ret)
{
	return on_exit(irq, action);
}
