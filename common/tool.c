// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "metrics.h"
#include "opts.h"
#include "setup.h"
#include "tool.h"
#include "util.h"

/* Above the common options' keys, below the subcommands' own (OPT_SUB). */
#define OPT_TOOL_METHOD (OPT_SUB - 1)

static struct tool *parsing; /* the tool whose argv is being parsed, for --method */

static error_t parse_method(int key, char *arg, struct argp_state *state)
{
	(void)state;
	if (key != OPT_TOOL_METHOD)
		return ARGP_ERR_UNKNOWN;
	parsing->method = opt_method(arg, parsing->cands, parsing->n_cands);
	return 0;
}

/* "Attach with tp_btf or raw_tracepoint (default: the first this kernel takes)" */
static void method_doc(const struct tool *t, char *buf, size_t size)
{
	size_t len = snprintf(buf, size, "Attach with ");

	for (size_t i = 0; i < t->n_cands && len < size; i++)
		len += snprintf(buf + len, size - len, "%s%s",
				i == 0		     ? ""
				: i + 1 < t->n_cands ? ", "
						     : " or ",
				method_name(t->cands[i].method));
	if (len < size)
		snprintf(buf + len, size - len, " (default: the first this kernel takes)");
}

void tool_parse(struct tool *t, int argc, char **argv)
{
	char doc[160];
	const struct argp_option method_options[] = {
		{ "method", OPT_TOOL_METHOD, "METHOD", 0, doc, 0 },
		{},
	};
	const struct argp method_argp = { .options = method_options, .parser = parse_method };
	struct argp_child children[] = {
		{ &common_argp, 0, "Common options:", 1 },
		{ &method_argp, 0, NULL, 0 },
		{},
	};
	const struct argp argp = {
		.options = t->options,
		.parser = t->parser,
		.args_doc = t->args_doc,
		.doc = t->doc,
		.children = children,
	};

	method_doc(t, doc, sizeof(doc));
	if (t->n_cands < 2)
		children[1] = (struct argp_child){};
	t->method = -1;
	parsing = t;
	parse_args(&argp, argc, argv, NULL);
	parsing = NULL;
}

/* Every skeleton struct starts with its bpf_object_skeleton pointer, then its object's. */
static struct bpf_object_skeleton *skeleton_of(const struct tool *t)
{
	return t->skel ? *(struct bpf_object_skeleton **)t->skel : NULL;
}

struct bpf_object *skel_object(void *skel)
{
	return ((struct bpf_object **)skel)[1];
}

struct bpf_object *tool_obj(const struct tool *t)
{
	return skel_object(t->skel);
}

int rodata_set(struct bpf_object *obj, const char *name, const void *value, size_t size)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, ".rodata");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *v;
	const struct btf_type *sec;
	size_t map_size;
	char *data;
	int id;

	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -ENOENT;
	data = map ? bpf_map__initial_value(map, &map_size) : NULL;
	if (id < 0 || !data)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	v = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, v++) {
		const char *var = btf__name_by_offset(btf, btf__type_by_id(btf, v->type)->name_off);

		if (strcmp(var, name))
			continue;
		if (v->size != size || v->offset + size > map_size)
			return -EINVAL;
		memcpy(data + v->offset, value, size);
		return 0;
	}
	return -ENOENT;
}

static int load_method(enum attach_method m, void *ctx, const char **step)
{
	struct tool *t = ctx;
	struct common_cfg common;
	int err;

	if (t->skel)
		t->destroy(t->skel);
	t->skel = t->open();
	if (!t->skel) {
		*step = "opening the BPF object";
		return -errno;
	}
	autoload_method(tool_obj(t), t->cands, t->n_cands, m);
	common = common_bpf_cfg();
	err = rodata_set(tool_obj(t), "common_cfg", &common, sizeof(common));
	if (err) {
		*step = "writing common_cfg into the BPF object";
		return err;
	}
	err = t->configure(t->skel, m, step);
	if (err)
		return err;
	err = skel_try_load(skeleton_of(t), true, step);
	if (err || !t->attach)
		return err;
	return t->attach(t->skel, step);
}

int tool_load(struct tool *t)
{
	const char *step = NULL;
	int ret = setup_system(), err;

	if (!ret && t->check_kernel)
		ret = t->check_kernel();
	if (ret)
		return ret;
	if (t->n_cands)
		return load_with_method("method", t->cands, t->n_cands, t->method, precheck_method,
					load_method, t);
	err = load_method(METHOD_COUNT, t, &step);
	return err ? report_bpf_error(step, err) : EXIT_OK;
}

int tool_trace(struct tool *t, const struct out_field *fields, size_t n, const char *what,
	       event_fn fn, void *ctx)
{
	out_init();
	out_header(fields, n);
	return events_run(tool_obj(t), what, fn, ctx);
}

int tracepoint_btf_args(const char *tp)
{
	int n = core_btf_attach_params(BPF_TRACE_RAW_TP, tp);

	return n > 0 ? n - 1 : n; /* the first is the tracepoint's own data pointer */
}

void tool_end(struct tool *t)
{
	skel_detach(skeleton_of(t), t->links, t->n_links);
	if (t->skel)
		t->destroy(t->skel);
	t->skel = NULL;
}

int tool_run(struct tool *t, int argc, char **argv)
{
	int ret;

	tool_parse(t, argc, argv);
	if (t->parsed)
		t->parsed(t);
	ret = tool_load(t);
	if (!ret)
		ret = tool_trace(t, t->fields, t->n_fields, t->what, t->handle, NULL);
	tool_end(t);
	return ret;
}

void tool_interval_arg(const char *arg, unsigned int n, double *interval, uint64_t *count)
{
	if (n == 0 && !parse_seconds(arg, interval))
		usage_error("invalid interval '%s': expected a number of seconds > 0", arg);
	if (n == 1 && !parse_u64(arg, 1, UINT64_MAX, count))
		usage_error("invalid count '%s': expected a whole number > 0", arg);
	if (n > 1)
		usage_error("unexpected argument '%s': expected [interval [count]]", arg);
}

int tool_run_reports(struct tool *t, int argc, char **argv, const char *map_name,
		     struct metrics_map *map, const char *what, const double *interval,
		     const uint64_t *count, hist_print_fn print)
{
	int ret;

	tool_parse(t, argc, argv);
	ret = tool_load(t);
	if (!ret) {
		map->fd = bpf_object__find_map_fd_by_name(tool_obj(t), map_name);
		metrics_watch_map(map);
		out_init();
		hist_run(what, *interval, *count, print, map);
		lost_events_report(lost_events_read(tool_obj(t)));
	}
	tool_end(t);
	return ret;
}
