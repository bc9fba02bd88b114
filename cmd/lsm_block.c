// SPDX-License-Identifier: GPL-2.0
/* ebpftrace lsm-block: deny connects, execs and opens with BPF LSM, and report each denial. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lsm_block.h"
#include "lsm_block.skel.h"
#include "cmds.h"
#include "events.h"
#include "fileid.h"
#include "metrics.h"
#include "netrule.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "rulefile.h"
#include "setup.h"
#include "tool.h"
#include "util.h"

enum rule_kind { RULE_CONNECT, RULE_EXEC, RULE_OPEN };

static const char *const rule_words[] = {
	[RULE_CONNECT] = "deny-connect",
	[RULE_EXEC] = "deny-exec",
	[RULE_OPEN] = "deny-open",
};

struct rule {
	enum rule_kind kind;
	bool write_only;
	char *arg; /* the address or path as given */
	struct lsm_net_rule net;
	struct stat st; /* the file's, at parse time */
};

/* The rule options in the order of enum rule_kind. */
enum { OPT_CONNECT = OPT_SUB, OPT_EXEC, OPT_OPEN, OPT_WRITE_ONLY, OPT_AUDIT };

static struct {
	struct rule rules[LSM_MAX_RULES];
	struct rule_origin origins[LSM_MAX_RULES]; /* "deny-open /etc/shadow", "FILE:LINE" */
	unsigned int n, n_net;
	bool audit;
} policy;

static const struct argp_option options[] = {
	{ "deny-connect", OPT_CONNECT, "ADDR[/LEN][:PORT]", 0,
	  "Deny connect() and sendto() to these addresses (IPv6 as [ADDR]:PORT)", 0 },
	{ "deny-exec", OPT_EXEC, "PATH", 0, "Deny running this file, by any name", 0 },
	{ "deny-open", OPT_OPEN, "PATH", 0, "Deny opening this file, by any name", 0 },
	{ "write-only", OPT_WRITE_ONLY, NULL, 0,
	  "The --deny-open before it denies opens that write only", 0 },
	{ "file", 'f', "FILE", 0, "Read rules from FILE, one per line (see the man page)", 0 },
	{ "audit", OPT_AUDIT, NULL, 0, "Report what would be denied; deny nothing", 0 },
	{},
};

static bool parse_connect(struct rule *r, const char *arg, char *err, size_t size)
{
	char why[NETRULE_ERR_SIZE];

	if (policy.n_net >= LSM_MAX_NET_RULES)
		snprintf(why, sizeof(why), "more than %d rules", LSM_MAX_NET_RULES);
	else if (net_parse_endpoint(arg, &r->net.prefix, &r->net.ports, why, sizeof(why)))
		return ++policy.n_net;
	snprintf(err, size, "invalid deny-connect: %s", why);
	return false;
}

/* One rule of kind on arg; false with err set when it is wrong. */
static bool rule_add(enum rule_kind kind, const char *arg, bool write_only, const char *source,
		     char *err, size_t size)
{
	struct rule *r = &policy.rules[policy.n];

	if (policy.n >= LSM_MAX_RULES) {
		snprintf(err, size, "too many rules (at most %d)", LSM_MAX_RULES);
		return false;
	}
	*r = (struct rule){ .kind = kind, .write_only = write_only };
	if (kind == RULE_CONNECT ? !parse_connect(r, arg, err, size)
				 : !rule_path_stat(rule_words[kind], arg, &r->st, err, size))
		return false;
	r->arg = strdup(arg);
	policy.origins[policy.n].source = strdup(source);
	r->net.rule = ++policy.n;
	return true;
}

/* A policy file's line: WORD ARG, "deny-open write-only PATH" for --write-only. */
static bool file_rule(char *line, const char *where, void *ctx, char *err, size_t size)
{
	int kind = rule_kind(rule_word(&line), rule_words, ARRAY_SIZE(rule_words), err, size);
	bool write_only = kind == RULE_OPEN && !strncmp(line, "write-only ", 11);

	(void)ctx;
	if (write_only)
		rule_word(&line);
	return kind >= 0 && rule_add(kind, line, write_only, where, err, size);
}

static void cli_rule(enum rule_kind kind, const char *arg)
{
	char err[RULEFILE_ERR_SIZE];

	if (!rule_add(kind, arg, false, "command line", err, sizeof(err)))
		usage_error("%s", err);
}

/* --write-only turns the --deny-open just before it into a write-only one. */
static void write_only_last(void)
{
	struct rule *r = policy.n ? &policy.rules[policy.n - 1] : NULL;

	if (!r || r->kind != RULE_OPEN || r->write_only ||
	    strcmp(policy.origins[policy.n - 1].source, "command line"))
		usage_error("--write-only must follow a --deny-open PATH");
	r->write_only = true;
}

/* Each rule's text for reports, as a policy file would say it. */
static void name_rules(void)
{
	for (unsigned int i = 0; i < policy.n; i++) {
		const struct rule *r = &policy.rules[i];

		if (asprintf(&policy.origins[i].text, "%s%s %s", rule_words[r->kind],
			     r->write_only ? " write-only" : "", r->arg) < 0)
			policy.origins[i].text = r->arg;
	}
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_CONNECT:
	case OPT_EXEC:
	case OPT_OPEN:
		cli_rule(RULE_CONNECT + (key - OPT_CONNECT), arg);
		break;
	case OPT_WRITE_ONLY:
		write_only_last();
		break;
	case 'f':
		rulefile_read(arg, file_rule, NULL);
		break;
	case OPT_AUDIT:
		policy.audit = true;
		break;
	case ARGP_KEY_END:
		if (!policy.n)
			usage_error(
				"no rules: give --deny-connect, --deny-exec, --deny-open or -f");
		name_rules();
		break;
	default:
		(void)state;
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char doc[] =
	"Deny connects, execs and opens with BPF LSM, and report every denial.\v"
	"Files are matched by device and inode, so every name of a denied file is denied; "
	"an IPv4 rule also covers ::ffff:a.b.c.d. The common filters (--pid, --uid, "
	"--cgroup, --name) narrow who the policy applies to. The policy ends with "
	"ebpftrace. See ebpftrace-lsm-block(8).";

enum { F_PID, F_PPID, F_UID, F_COMM, F_ACTION, F_HOOK, F_TARGET, F_RULE, F_SOURCE, F_RULE_ID };
enum { F_PROTO, F_ADDR, F_PORT, F_PATH, F_DEV, F_INO };

static const struct out_field fields[] = {
	[F_PID] = { "pid", "PID", 7 },
	[F_PPID] = { "ppid", "PPID", 7 },
	[F_UID] = { "uid", "UID", 6 },
	[F_COMM] = { "comm", "COMM", -16 },
	[F_ACTION] = { "action", "ACTION", -6 },
	[F_HOOK] = { "hook", "HOOK", -19 },
	[F_TARGET] = { "target", "TARGET", -40 },
	[F_RULE] = { "rule", "RULE", 0 },
	[F_SOURCE] = { "source", NULL, 0 },
	[F_RULE_ID] = { "rule_id", NULL, 0 },
};

/* JSON only: the target's parts. */
static const struct out_field target_fields[] = {
	[F_PROTO] = { "proto", NULL, 0 }, [F_ADDR] = { "addr", NULL, 0 },
	[F_PORT] = { "port", NULL, 0 },	  [F_PATH] = { "path", NULL, 0 },
	[F_DEV] = { "dev", NULL, 0 },	  [F_INO] = { "ino", NULL, 0 },
};

static const char *const hook_names[LSM_HOOK_COUNT] = {
	[LSM_HOOK_CONNECT] = "socket_connect",	       [LSM_HOOK_SENDMSG] = "socket_sendmsg",
	[LSM_HOOK_BPRM_CHECK] = "bprm_check_security", [LSM_HOOK_MMAP_FILE] = "mmap_file",
	[LSM_HOOK_FILE_MPROTECT] = "file_mprotect",    [LSM_HOOK_FILE_OPEN] = "file_open",
	[LSM_HOOK_PATH_TRUNCATE] = "path_truncate",
};

static void print_net_target(const struct lsm_block_event *e)
{
	char addr[NET_ENDPOINT_STR_SIZE], target[NET_ENDPOINT_STR_SIZE + 8], buf[8];
	const char *proto = net_proto_name(e->proto, buf);

	net_endpoint_format(e->addr, e->family, e->port, addr, sizeof(addr));
	snprintf(target, sizeof(target), "%s %s", proto, addr);
	out_str(&fields[F_TARGET], target, SIZE_MAX);
	if (!out_json())
		return;
	/* An IPv4 address on an AF_INET6 socket is shown the way the caller wrote it. */
	net_addr_format_family(e->addr, e->family, addr, sizeof(addr));
	out_str(&target_fields[F_PROTO], proto, SIZE_MAX);
	out_str(&target_fields[F_ADDR], addr, SIZE_MAX);
	out_u64(&target_fields[F_PORT], e->port);
}

static void print_file_target(const struct lsm_block_event *e)
{
	char dev[24], target[PATH_BUF_LEN + 64];

	kernel_dev_format(e->file.dev, dev, sizeof(dev));
	snprintf(target, sizeof(target), "%.*s (%s ino %llu)", e->path_len ? e->path_len - 1 : 1,
		 e->path_len ? e->path : "?", dev, (unsigned long long)e->file.ino);
	out_str(&fields[F_TARGET], target, SIZE_MAX);
	if (!out_json())
		return;
	if (e->path_len)
		out_str(&target_fields[F_PATH], e->path, e->path_len);
	out_str(&target_fields[F_DEV], dev, SIZE_MAX);
	out_u64(&target_fields[F_INO], e->file.ino);
}

/* Rules are few (LSM_MAX_RULES): the rule's text is a label of bounded cardinality. */
static struct metric_family decisions = METRIC_FAMILY(
	METRIC_COUNTER, "ebpftrace_lsm_block_decisions_total",
	"Calls a rule matched, by rule, action (deny or audit) and hook", "rule", "action", "hook");

static int handle_event(void *ctx, const void *data, size_t size)
{
	const struct lsm_block_event *e = data;
	const struct rule_origin *o;

	(void)ctx;
	if (size < offsetof(struct lsm_block_event, path) || e->hook >= LSM_HOOK_COUNT ||
	    !e->rule || e->rule > policy.n ||
	    size < offsetof(struct lsm_block_event, path) + e->path_len)
		return 0;
	o = &policy.origins[e->rule - 1];
	metrics_add(&decisions,
		    METRIC_VALUES(o->text, e->denied ? "deny" : "audit", hook_names[e->hook]), 1);
	out_row_begin("lsm_block", e->ts_ns);
	out_u64(&fields[F_PID], e->pid);
	out_u64(&fields[F_PPID], e->ppid);
	out_u64(&fields[F_UID], e->uid);
	out_str(&fields[F_COMM], e->comm, sizeof(e->comm));
	out_str(&fields[F_ACTION], e->denied ? "deny" : "audit", SIZE_MAX);
	out_str(&fields[F_HOOK], hook_names[e->hook], SIZE_MAX);
	if (policy.rules[e->rule - 1].kind == RULE_CONNECT)
		print_net_target(e);
	else
		print_file_target(e);
	out_str(&fields[F_RULE], o->text, SIZE_MAX);
	out_str(&fields[F_SOURCE], o->source, SIZE_MAX);
	out_u64(&fields[F_RULE_ID], e->rule);
	out_row_end();
	return 0;
}

static int add_file_id(int fd, const struct rule *r, const struct file_id *id)
{
	struct lsm_file_rules v = {};
	uint32_t *slot = r->kind == RULE_EXEC ? &v.exec : r->write_only ? &v.open_write : &v.open;

	bpf_map_lookup_elem(fd, id, &v);
	if (!*slot)
		*slot = r->net.rule;
	return bpf_map_update_elem(fd, id, &v, BPF_ANY) ? -errno : 0;
}

/* The rule's file by every identity the kernel gives it (file_ids_learn). */
static int learn_file(struct lsm_block_bpf *skel, const struct rule *r)
{
	struct file_id ids[FILE_IDS_MAX];
	int n = file_ids_learn(bpf_map__fd(skel->maps.file_id_learning), r->arg, &r->st, ids);
	int err = n < 0 ? n : 0;

	for (int i = 0; i < n && !err; i++)
		err = add_file_id(bpf_map__fd(skel->maps.file_rules), r, &ids[i]);
	return err;
}

/* The rules into the maps, once the programs are attached. */
static int install_rules(void *s, const char **step)
{
	struct lsm_block_bpf *skel = s;
	static struct lsm_net_rules net;
	unsigned int n_net = 0;
	uint32_t zero = 0;
	int err = 0;

	for (unsigned int i = 0; i < policy.n && !err; i++) {
		const struct rule *r = &policy.rules[i];

		*step = policy.origins[i].text;
		if (r->kind == RULE_CONNECT)
			net.r[n_net++] = r->net;
		else
			err = learn_file(skel, r);
	}
	*step = "writing the --deny-connect rules";
	if (!err && bpf_map_update_elem(bpf_map__fd(skel->maps.net_rules), &zero, &net, BPF_ANY))
		err = -errno;
	return err;
}

/* Only the hooks some rule needs: a policy of connect rules costs opens nothing. */
static void load_needed_hooks(struct lsm_block_bpf *skel)
{
	struct bpf_program *net[] = { skel->progs.lsm_connect, skel->progs.lsm_sendmsg };
	struct bpf_program *file[] = { skel->progs.lsm_bprm_check, skel->progs.lsm_mmap_file,
				       skel->progs.lsm_file_mprotect, skel->progs.lsm_file_open,
				       skel->progs.lsm_path_truncate };

	for (size_t i = 0; i < ARRAY_SIZE(net); i++)
		bpf_program__set_autoload(net[i], policy.n_net > 0);
	for (size_t i = 0; i < ARRAY_SIZE(file); i++)
		bpf_program__set_autoload(file[i], policy.n > policy.n_net);
}

/* The run has stopped: the policy ends here, before its last decisions are read. */
static void detach_policy(void *skel)
{
	skel_detach(((struct lsm_block_bpf *)skel)->skeleton, NULL, 0);
}

const char *const lsm_block_check_args[] = {
	"--audit", /* deny nothing */
	"--deny-connect", "198.51.100.1:9", "--deny-exec", "/bin/sh",
	"--deny-open",	  "/dev/null",	    NULL,
};

static int check_kernel(void)
{
	return probe_required(METHOD_LSM, "file_open", "BPF LSM");
}

static int configure(void *s, enum attach_method m, const char **step)
{
	struct lsm_block_bpf *skel = s;

	(void)m;
	(void)step;
	skel->rodata->lsm_cfg = (struct lsm_cfg){ .audit = policy.audit,
						  .n_net = policy.n_net,
						  .self_tgid = getpid() };
	load_needed_hooks(skel);
	return 0;
}

TOOL_SKELETON_FNS(lsm_block)

int cmd_lsm_block(int argc, char **argv)
{
	struct tool tool = {
		.options = options,
		.parser = parse_opt,
		.doc = doc,
		TOOL_SKELETON(lsm_block),
		.configure = configure,
		.attach = install_rules,
		.check_kernel = check_kernel,
	};
	struct lsm_block_bpf *skel;
	char what[96];
	int ret;

	tool_parse(&tool, argc, argv);
	ret = tool_load(&tool);
	skel = tool.skel;
	if (!ret) {
		out_init();
		out_header(fields, ARRAY_SIZE(fields));
		snprintf(what, sizeof(what), "%s of %u rule%s",
			 policy.audit ? "what would be denied" : "denials", policy.n,
			 policy.n == 1 ? "" : "s");
		ret = events_run_then(tool_obj(&tool), what, handle_event, NULL, detach_policy,
				      skel);
		if (!out_closed())
			rule_matches_print(policy.origins, policy.n,
					   bpf_map__fd(skel->maps.rule_hits));
	}
	tool_end(&tool);
	return ret;
}
