// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "setup.h"
#include "uprobe.h"
#include "uprobes.h"
#include "util.h"

/* One probe of the set: its program, where, and the cookie it sees. */
struct probe {
	const char *prog;
	const char *fn;
	uint64_t off;
	uint64_t cookie;
	bool retprobe;
};

static bool is_uprobe(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);

	return !strncmp(sec, "uprobe", 6) || !strncmp(sec, "uretprobe", 9);
}

void uprobes_choose(struct uprobes *u, struct bpf_object *obj, bool multi)
{
	struct bpf_program *prog;

	u->multi = multi;
	verbose("uprobes: %s", u->multi ? "one uprobe_multi link per program"
					: "one link per function (no uprobe_multi links here)");
	bpf_object__for_each_program(prog, obj)
	{
		if (is_uprobe(prog) &&
		    u->multi != !!strstr(bpf_program__section_name(prog), ".multi"))
			bpf_program__set_autoload(prog, false);
	}
}

static int add_link(struct uprobes *u, struct bpf_link *link, const char *what)
{
	if (!link)
		return report_bpf_error(what, -errno);
	u->links[u->n++] = link;
	return EXIT_OK;
}

static int attach_one(struct uprobes *u, struct bpf_object *obj, pid_t pid, const char *path,
		      const struct probe *p)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, p->prog);
	LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = p->cookie, .retprobe = p->retprobe);
	char what[96];

	snprintf(what, sizeof(what), "attaching a %s to %s", p->retprobe ? "uretprobe" : "uprobe",
		 p->fn);
	return add_link(u, bpf_program__attach_uprobe_opts(prog, pid, path, p->off, &o), what);
}

/* The probes of probes[0]'s program, through one uprobe_multi link of its twin. */
static int attach_multi(struct uprobes *u, struct bpf_object *obj, pid_t pid, const char *path,
			const struct probe *probes, size_t n)
{
	unsigned long offs[UPROBES_MAX_FNS];
	__u64 cookies[UPROBES_MAX_FNS];
	LIBBPF_OPTS(bpf_uprobe_multi_opts, o, .offsets = offs, .cookies = cookies,
		    .retprobe = probes[0].retprobe);
	struct bpf_program *prog;
	char name[64], what[96];

	for (size_t i = 0; i < n; i++) {
		if (strcmp(probes[i].prog, probes[0].prog))
			continue;
		offs[o.cnt] = probes[i].off;
		cookies[o.cnt++] = probes[i].cookie;
	}
	snprintf(name, sizeof(name), "%s_multi", probes[0].prog);
	prog = bpf_object__find_program_by_name(obj, name);
	snprintf(what, sizeof(what), "attaching %s to %zu functions", name, o.cnt);
	return add_link(u, bpf_program__attach_uprobe_multi(prog, pid, path, NULL, &o), what);
}

static bool prog_seen(const struct probe *probes, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(probes[j].prog, probes[i].prog))
			return true;
	return false;
}

/*
 * An entry after a NULL check: its first instruction (often `test %rdi,%rdi`) is one the kernel
 * single-steps, very slow in a VM; past the check the code starts with a push, which it emulates.
 */
static uint64_t past_null_check(const char *path, const char *name, uint64_t off)
{
	uint8_t code[16];
	size_t skip;

	if (read_file_at(path, off, code, sizeof(code)))
		return off;
	skip = skip_null_check(code, sizeof(code));
	if (skip)
		verbose("%s: probing after its NULL check (+%zu bytes), on an instruction the "
			"kernel emulates",
			name, skip);
	else
		verbose("%s: probing its entry (no NULL check before an emulated instruction)",
			name);
	return off + skip;
}

static bool alias(const uint64_t *seen, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (seen[i] == off)
			return true;
	return false;
}

/*
 * The probes of fns found in path: every entry in the order of fns, then every return. Returns
 * their number, or -1 after a message when a required function is missing.
 */
static int find_probes(const char *path, const char *prefix, const struct uprobe_fn *fns, size_t n,
		       struct probe *probes)
{
	struct probe rets[UPROBES_MAX_FNS];
	uint64_t seen[UPROBES_MAX_FNS];
	size_t nseen = 0, np = 0, nrets = 0;

	for (size_t i = 0; i < n; i++) {
		char name[128];
		uint64_t off;
		int err;

		snprintf(name, sizeof(name), "%s%s", prefix, fns[i].name);
		err = elf_func_offset(path, name, &off);
		if (err && fns[i].required) {
			err_msg("cannot find %s in %s: %s", name, path, strerror(-err));
			return -1;
		}
		if (err) {
			verbose("%s: not in %s, not traced", name, path);
			continue;
		}
		if (alias(seen, nseen, off)) {
			verbose("%s: the same code as a function already probed", name);
			continue;
		}
		seen[nseen++] = off;
		if (fns[i].past_null_check)
			off = past_null_check(path, name, off);
		probes[np++] =
			(struct probe){ fns[i].prog, fns[i].name, off, fns[i].cookie, false };
		if (fns[i].ret_prog)
			rets[nrets++] = (struct probe){ fns[i].ret_prog, fns[i].name, off,
							fns[i].cookie, true };
	}
	memcpy(probes + np, rets, nrets * sizeof(rets[0]));
	return np + nrets;
}

int uprobes_attach(struct uprobes *u, struct bpf_object *obj, pid_t pid, const char *path,
		   const char *prefix, const struct uprobe_fn *fns, size_t n)
{
	struct probe probes[2 * UPROBES_MAX_FNS];
	int ret = EXIT_OK, np;

	if (n > UPROBES_MAX_FNS) {
		err_msg("%zu functions to probe: a set holds %d", n, UPROBES_MAX_FNS);
		return EXIT_RUNTIME;
	}
	np = find_probes(path, prefix, fns, n, probes);
	if (np < 0)
		return EXIT_RUNTIME;
	for (int i = 0; i < np && ret == EXIT_OK; i++) {
		if (!u->multi)
			ret = attach_one(u, obj, pid, path, &probes[i]);
		else if (!prog_seen(probes, i))
			ret = attach_multi(u, obj, pid, path, probes + i, np - i);
	}
	return ret;
}
