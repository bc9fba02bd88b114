// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "check.h"
#include "setup.h"
#include "tcattach.h"
#include "util.h"

#define MAX_FILTERS 64 /* per direction, in one tc_remove_filters() pass */

const char *tc_attach_name(enum tc_attach_kind k)
{
	return k == TC_ATTACH_TCX ? "tcx" : k == TC_ATTACH_CLSACT ? "clsact" : NULL;
}

int tc_attach_by_name(const char *name)
{
	if (!strcmp(name, "tcx"))
		return TC_ATTACH_TCX;
	if (!strcmp(name, "clsact"))
		return TC_ATTACH_CLSACT;
	return -1;
}

static uint32_t clsact_parent(bool egress)
{
	return TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
}

/* One filter as a dump shows it: its place, and the name of its BPF program for cls_bpf. */
struct filter_entry {
	uint32_t handle;
	uint32_t priority;
	char bpf_name[64]; /* TCA_BPF_NAME, "prog:[id]" as libbpf names it; "" for others */
};

static void read_bpf_name(struct rtattr *opts, struct filter_entry *f)
{
	int len = RTA_PAYLOAD(opts);

	for (struct rtattr *a = RTA_DATA(opts); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == TCA_BPF_NAME)
			snprintf(f->bpf_name, sizeof(f->bpf_name), "%.*s", (int)RTA_PAYLOAD(a),
				 (char *)RTA_DATA(a));
}

/* A filter message; false for the chain's own entry (handle 0), which is no filter. */
static bool parse_filter(struct nlmsghdr *nh, struct filter_entry *f)
{
	struct tcmsg *t = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	bool bpf = false;

	memset(f, 0, sizeof(*f));
	f->handle = t->tcm_handle;
	f->priority = TC_H_MAJ(t->tcm_info) >> 16;
	for (struct rtattr *a = TCA_RTA(t); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_KIND)
			bpf = !strcmp(RTA_DATA(a), "bpf");
		else if (a->rta_type == TCA_OPTIONS && bpf)
			read_bpf_name(a, f);
	}
	return f->handle != 0;
}

static int dump_request(int fd, int ifindex, uint32_t parent)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
			.nlmsg_type = RTM_GETTFILTER,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1 },
		.tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = parent },
	};

	return send(fd, &req, req.nh.nlmsg_len, 0) < 0 ? -errno : 0;
}

/* One batch of the reply: 1 when done, 0 for more, or a negative errno. */
static int dump_batch(char *buf, ssize_t len, struct filter_entry *out, size_t max, size_t *n)
{
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len);
	     nh = NLMSG_NEXT(nh, len)) {
		if (nh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nh->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(nh))->error ?: 1;
		if (nh->nlmsg_type == RTM_NEWTFILTER && *n < max && parse_filter(nh, &out[*n]))
			(*n)++;
	}
	return 0;
}

/* The filters under a clsact direction of ifindex, up to max; a count or a negative errno. */
static int dump_filters(int ifindex, bool egress, struct filter_entry *out, size_t max)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	static char buf[32768];
	size_t n = 0;
	int ret;

	if (fd < 0)
		return -errno;
	ret = dump_request(fd, ifindex, clsact_parent(egress));
	while (ret == 0) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);

		ret = len < 0 ? -errno : len == 0 ? -EIO : dump_batch(buf, len, out, max, &n);
	}
	close(fd);
	return ret < 0 ? ret : (int)n;
}

static bool clsact_empty(int ifindex)
{
	struct filter_entry f[1];

	return dump_filters(ifindex, false, f, 1) == 0 && dump_filters(ifindex, true, f, 1) == 0;
}

/* The qdisc we created goes, unless someone put a filter of their own under it meanwhile. */
static void remove_qdisc_if_empty(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err;

	if (!clsact_empty(ifindex)) {
		verbose("leaving the clsact qdisc on ifindex %d: it has filters of others",
			ifindex);
		return;
	}
	err = bpf_tc_hook_destroy(&hook);
	if (err && err != -ENODEV && err != -ENOENT && err != -EINVAL)
		err_msg("removing the clsact qdisc we added: %s", strerror(-err));
}

static int attach_tcx(struct tc_attachment *a, const struct bpf_program *prog)
{
	/* Before every program there (no relative one): others still run after our TCX_NEXT. */
	LIBBPF_OPTS(bpf_tcx_opts, opts, .flags = BPF_F_BEFORE);

	a->link = bpf_program__attach_tcx(prog, a->ifindex, &opts);
	if (!a->link)
		return -errno;
	a->kind = TC_ATTACH_TCX;
	return 0;
}

static int attach_clsact(struct tc_attachment *a, const struct bpf_program *prog, const char **step)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
		    .attach_point = a->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	/* Handle and priority 0: the kernel picks them, the priority before every filter there. */
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog));
	int err = bpf_tc_hook_create(&hook);

	*step = "adding a clsact qdisc";
	if (err && err != -EEXIST)
		return err;
	a->qdisc_created = !err;
	*step = "adding the cls_bpf filter";
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		if (a->qdisc_created)
			remove_qdisc_if_empty(a->ifindex);
		a->qdisc_created = false;
		return err;
	}
	a->kind = TC_ATTACH_CLSACT;
	a->handle = opts.handle;
	a->priority = opts.priority;
	verbose("cls_bpf filter on %s: handle %#x priority %u%s", a->egress ? "egress" : "ingress",
		a->handle, a->priority, a->qdisc_created ? " (clsact qdisc added)" : "");
	return 0;
}

void tc_prepare(struct bpf_program *prog, bool egress, enum tc_attach_kind kind)
{
	enum bpf_attach_type t = egress ? BPF_TCX_EGRESS : BPF_TCX_INGRESS;

	/* cls_bpf takes any; a kernel without TCX refuses to load a program that expects it. */
	bpf_program__set_expected_attach_type(prog, kind == TC_ATTACH_TCX ? t : 0);
}

int tc_attach(struct tc_attachment *a, const struct bpf_program *prog, int ifindex, bool egress,
	      enum tc_attach_kind kind, const char **step)
{
	*a = (struct tc_attachment){ .ifindex = ifindex, .egress = egress };
	if (kind == TC_ATTACH_CLSACT)
		return attach_clsact(a, prog, step);
	*step = "attaching a TCX link";
	return attach_tcx(a, prog);
}

static int load_attach_as(enum tc_attach_kind kind, int ifindex, const bool dirs[2],
			  tc_load_fn load, void *ctx, struct tc_attachment att[2],
			  const char **step)
{
	const char *target = dirs[0] && dirs[1] ? "ingress,egress" : dirs[1] ? "egress" : "ingress";
	struct bpf_program *progs[2] = {};
	int err = load(kind, ctx, progs, step);
	char why[160];

	for (int d = 0; d < 2 && !err; d++)
		if (dirs[d])
			err = tc_attach(&att[d], progs[d], ifindex, d == 1, kind, step);
	if (err)
		tc_detach(att, 2);
	if (err)
		snprintf(why, sizeof(why), "%s: %s", *step, strerror(-err));
	else
		verbose("attach: attaching with %s", tc_attach_name(kind));
	check_note_method("attach", tc_attach_name(kind), target, !err, err ? why : "");
	return err;
}

int tc_load_attach(enum tc_attach_kind want, int ifindex, const bool dirs[2], tc_load_fn load,
		   void *ctx, struct tc_attachment att[2], const char **step)
{
	int err;

	if (want != TC_ATTACH_CLSACT) {
		err = load_attach_as(TC_ATTACH_TCX, ifindex, dirs, load, ctx, att, step);
		if (!err || want == TC_ATTACH_TCX || err != -EINVAL)
			return err;
		verbose("no TCX here (%s: %s): using a clsact qdisc and cls_bpf filters", *step,
			strerror(-err));
	}
	return load_attach_as(TC_ATTACH_CLSACT, ifindex, dirs, load, ctx, att, step);
}

int tc_load_attach_dev(const char *dev, int ifindex, tc_load_fn load, void *ctx,
		       struct tc_attachment att[2])
{
	const char *step;
	int err = tc_load_attach(tc_attach_opts.kind, ifindex, tc_attach_opts.dirs, load, ctx, att,
				 &step);

	if (err == -ENODEV) {
		err_msg("interface %s went away", dev);
		return EXIT_RUNTIME;
	}
	return err ? report_bpf_error(step, err) : EXIT_OK;
}

static void detach_filter(struct tc_attachment *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
		    .attach_point = a->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = a->handle, .priority = a->priority);
	int err = bpf_tc_detach(&hook, &opts);

	if (err && err != -ENODEV && err != -ENOENT && err != -EINVAL)
		err_msg("removing our cls_bpf filter (handle %#x priority %u): %s", a->handle,
			a->priority, strerror(-err));
}

void tc_detach(struct tc_attachment *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].kind == TC_ATTACH_TCX)
			bpf_link__destroy(a[i].link);
		else if (a[i].kind == TC_ATTACH_CLSACT)
			detach_filter(&a[i]);
		a[i].link = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (a[i].kind == TC_ATTACH_CLSACT && a[i].qdisc_created)
			remove_qdisc_if_empty(a[i].ifindex);
		a[i].kind = TC_ATTACH_NONE;
	}
}

static int remove_ours(int ifindex, bool egress, const char *prefix)
{
	struct filter_entry f[MAX_FILTERS];
	int n = dump_filters(ifindex, egress, f, MAX_FILTERS), removed = 0;

	if (n == -EINVAL || n == -ENOENT)
		return 0; /* no clsact qdisc: nothing of anyone's */
	for (int i = 0; i < n; i++) {
		struct tc_attachment a = { .ifindex = ifindex,
					   .egress = egress,
					   .handle = f[i].handle,
					   .priority = f[i].priority };

		if (strncmp(f[i].bpf_name, prefix, strlen(prefix)))
			continue;
		verbose("removing %s filter %s (handle %#x priority %u)",
			egress ? "egress" : "ingress", f[i].bpf_name, f[i].handle, f[i].priority);
		detach_filter(&a);
		removed++;
	}
	return n < 0 ? n : removed;
}

int tc_remove_filters(int ifindex, const char *prefix)
{
	int in = remove_ours(ifindex, false, prefix);
	int out = remove_ours(ifindex, true, prefix);

	if (in < 0 || out < 0)
		return in < 0 ? in : out;
	return in + out;
}

bool netdev_still_there(int ifindex, const char *name)
{
	char now[IF_NAMESIZE];

	return if_indextoname(ifindex, now) && !strcmp(now, name);
}

int tc_cleanup(int ifindex, const char *dev, const char *prefix)
{
	int n = tc_remove_filters(ifindex, prefix);

	if (n < 0) {
		err_msg("listing the filters on %s: %s", dev, strerror(-n));
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "%s: removed %d filter%s of ours from %s\n", prog_name, n,
		n == 1 ? "" : "s", dev);
	return EXIT_OK;
}

/* Between the common options' keys (0x1000...) and the subcommands' (OPT_SUB, 0x2000...). */
enum {
	OPT_INGRESS = 0x1900,
	OPT_EGRESS,
	OPT_ATTACH,
	OPT_CLEANUP,
};

struct tc_attach_opts tc_attach_opts;

static const struct argp_option options[] = {
	{ "ingress", OPT_INGRESS, NULL, 0, "Packets the device receives (the default)", 0 },
	{ "egress", OPT_EGRESS, NULL, 0, "Packets the device sends", 0 },
	{ "attach", OPT_ATTACH, "HOW", 0, "tcx or clsact (default: tcx where the kernel has it)",
	  0 },
	{ "cleanup", OPT_CLEANUP, NULL, 0,
	  "Remove the filters a killed ebpftrace left on DEV (clsact kernels), and exit", 0 },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct tc_attach_opts *o = &tc_attach_opts;

	(void)state;
	switch (key) {
	case OPT_INGRESS:
	case OPT_EGRESS:
		o->dirs[key == OPT_EGRESS] = true;
		break;
	case OPT_ATTACH:
		o->kind = tc_attach_by_name(arg);
		if ((int)o->kind < 0)
			usage_error("invalid --attach '%s': expected tcx or clsact", arg);
		break;
	case OPT_CLEANUP:
		o->cleanup = true;
		break;
	case ARGP_KEY_END:
		if (!o->dirs[0] && !o->dirs[1])
			o->dirs[0] = true;
		return ARGP_ERR_UNKNOWN;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const char *tc_attach_dirs_text(void)
{
	const bool *d = tc_attach_opts.dirs;

	return d[0] && d[1] ? "ingress, egress" : d[1] ? "egress" : "ingress";
}

const struct argp tc_attach_argp = { .options = options, .parser = parse_opt };
