// SPDX-License-Identifier: GPL-2.0
/*
 * bashreadline: the lines interactive bash shells read, as readline() returns them (a uretprobe
 * on readline in bash or in the libreadline it uses; user space attaches it). A NULL return is
 * the end of input, not a line.
 */
#include "common.bpf.h"
#include "bashreadline.h"

SEC("uretprobe")
int BPF_URETPROBE(bashreadline_ret, const char *line)
{
	struct bashreadline_event *e;
	long len;

	if (!line || !filter_current())
		return 0;
	e = event_reserve(struct bashreadline_event);
	if (!e)
		return 0;
	len = bpf_probe_read_user_str(e->line, sizeof(e->line), line);
	if (len < 0) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	/* Older kernels (6.1 among them) return 0, not 1, for an empty string. */
	if (len == 0) {
		e->line[0] = '\0';
		len = 1;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->len = len;
	/* A full buffer: there may be more; the byte after it tells. */
	e->cut = 0;
	if (len == sizeof(e->line)) {
		char next = 0;

		bpf_probe_read_user(&next, 1, line + len - 1);
		e->cut = next != 0;
	}
	current_comm(e->comm);
	event_submit(e);
	return 0;
}
