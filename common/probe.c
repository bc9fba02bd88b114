// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "check.h"
#include "corebtf.h"
#include "output.h"
#include "probe.h"
#include "setup.h"
#include "util.h"

static const char *const method_names[METHOD_COUNT] = {
	[METHOD_FENTRY] = "fentry",	    [METHOD_KPROBE] = "kprobe",
	[METHOD_TP_BTF] = "tp_btf",	    [METHOD_RAW_TP] = "raw_tracepoint",
	[METHOD_TRACEPOINT] = "tracepoint", [METHOD_LSM] = "lsm",
};

const char *method_name(enum attach_method m)
{
	return m < METHOD_COUNT ? method_names[m] : "?";
}

int method_by_name(const char *name)
{
	for (int m = 0; m < METHOD_COUNT; m++)
		if (!strcmp(name, method_names[m]))
			return m;
	return -1;
}

/* r0 = 0; exit: the smallest program every type accepts. */
static const struct bpf_insn return_zero[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static void set_reason(struct probe_result *res, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_reason(struct probe_result *res, bool ok, const char *fmt, ...)
{
	va_list ap;

	res->ok = ok;
	res->no_privilege = false;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

static int load_trial(enum bpf_prog_type type, enum bpf_attach_type attach, int btf_id)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach,
		    .attach_btf_id = btf_id);
	int fd = bpf_prog_load(type, "ebpftrace_probe", "GPL", return_zero, ARRAY_SIZE(return_zero),
			       &opts);

	return fd < 0 ? -errno : fd;
}

/* fentry, tp_btf and lsm: BTF-typed programs attached through a BPF link. */
static void probe_btf_typed(enum bpf_prog_type type, enum bpf_attach_type attach,
			    const char *target, const char *what, struct probe_result *res)
{
	int btf_id = core_btf_attach_id(attach, target);
	int fd, link;

	if (btf_id < 0) {
		set_reason(res, false, "%s: no BTF for %s", what, target);
		return;
	}
	fd = load_trial(type, attach, btf_id);
	if (fd < 0) {
		set_reason(res, false, "%s program for %s refused at load: %s", what, target,
			   strerror(-fd));
		return;
	}
	link = bpf_link_create(fd, 0, attach, NULL);
	if (link < 0)
		set_reason(res, false, "%s on %s refused at attach: %s", what, target,
			   strerror(errno));
	else
		set_reason(res, true, "%s on %s loads and attaches", what, target);
	if (link >= 0)
		close(link);
	close(fd);
}

static int perf_event_open(struct perf_event_attr *attr)
{
	return syscall(SYS_perf_event_open, attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
}

static int read_int_file(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

/*
 * kprobe and tracepoint: a perf event with a program set on it. Closing that event costs an RCU
 * grace period (the kernel waits out the probe's last callers, 50 ms on our dev host), so with
 * attach false only the program type is tried and the load decides the rest.
 */
static void probe_perf_event(enum bpf_prog_type type, struct perf_event_attr *attr,
			     const char *target, const char *what, bool attach,
			     struct probe_result *res)
{
	int fd = load_trial(type, 0, 0), pfd;

	if (fd < 0) {
		set_reason(res, false, "%s program refused at load: %s", what, strerror(-fd));
		return;
	}
	if (!attach) {
		set_reason(res, true, "%s on %s: the load decides", what, target);
		close(fd);
		return;
	}
	pfd = perf_event_open(attr);
	if (pfd < 0)
		set_reason(res, false, "%s on %s: perf_event_open failed: %s", what, target,
			   strerror(errno));
	else if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, fd))
		set_reason(res, false, "%s on %s refused at attach: %s", what, target,
			   strerror(errno));
	else
		set_reason(res, true, "%s on %s loads and attaches", what, target);
	if (pfd >= 0)
		close(pfd);
	close(fd);
}

static void probe_kprobe(const char *func, bool attach, struct probe_result *res)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	int type = read_int_file("/sys/bus/event_source/devices/kprobe/type");

	if (type < 0) {
		set_reason(res, false, "kprobe: the kernel has no kprobe PMU (CONFIG_KPROBES)");
		return;
	}
	attr.type = type;
	attr.config1 = (unsigned long)func;
	probe_perf_event(BPF_PROG_TYPE_KPROBE, &attr, func, "kprobe", attach, res);
}

static void probe_tracepoint(const char *target, bool attach, struct probe_result *res)
{
	struct perf_event_attr attr = { .size = sizeof(attr), .type = PERF_TYPE_TRACEPOINT };
	char cat[64], path[256];
	const char *colon = strchr(target, ':');
	int id;

	if (!colon || colon - target >= (long)sizeof(cat)) {
		set_reason(res, false, "tracepoint: bad name %s", target);
		return;
	}
	snprintf(cat, sizeof(cat), "%.*s", (int)(colon - target), target);
	if (ensure_tracefs()) {
		bool privilege = !have_cap(CAP_SYS_ADMIN);

		set_reason(res, false, "tracepoint: tracefs is not %s",
			   privilege ? "mounted, and mounting it needs CAP_SYS_ADMIN"
				     : "available");
		res->no_privilege = privilege;
		return;
	}
	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/%s/id", cat, colon + 1);
	id = read_int_file(path);
	if (id < 0) {
		set_reason(res, false, "tracepoint %s does not exist on this kernel", target);
		return;
	}
	attr.config = id;
	probe_perf_event(BPF_PROG_TYPE_TRACEPOINT, &attr, target, "tracepoint", attach, res);
}

static void probe_raw_tp(const char *name, struct probe_result *res)
{
	int fd = load_trial(BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0), link;

	if (fd < 0) {
		set_reason(res, false, "raw tracepoint program refused at load: %s", strerror(-fd));
		return;
	}
	link = bpf_raw_tracepoint_open(name, fd);
	if (link < 0)
		set_reason(res, false, "raw tracepoint %s refused at attach: %s", name,
			   strerror(errno));
	else
		set_reason(res, true, "raw tracepoint %s loads and attaches", name);
	if (link >= 0)
		close(link);
	close(fd);
}

/*
 * BPF LSM programs attach even where the bpf LSM is inactive, and then never run: false, with
 * the reason in res, when bpf is not in the kernel's list of active LSMs.
 */
static bool bpf_lsm_active(struct probe_result *res)
{
	char buf[256] = "";
	int fd = ensure_securityfs() ? -1 : open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	char list[sizeof(buf)];

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return true; /* no securityfs: the trial load decides */
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(list, sizeof(list), ",%s,", buf);
	if (strstr(list, ",bpf,"))
		return true;
	set_reason(res, false,
		   "the bpf LSM is not active (active: %s); boot with lsm=%s%sbpf on the kernel "
		   "command line",
		   *buf ? buf : "none", buf, *buf ? "," : "");
	return false;
}

void probe_kernel(enum attach_method m, const char *target, struct probe_result *res)
{
	switch (m) {
	case METHOD_FENTRY:
		probe_btf_typed(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, target, "fentry", res);
		break;
	case METHOD_TP_BTF:
		probe_btf_typed(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, target, "tp_btf", res);
		break;
	case METHOD_LSM:
		if (!bpf_lsm_active(res))
			break;
		/* libbpf adds the bpf_lsm_ prefix of the hook's BTF name itself. */
		probe_btf_typed(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, target, "lsm", res);
		break;
	case METHOD_KPROBE:
		probe_kprobe(target, true, res);
		break;
	case METHOD_TRACEPOINT:
		probe_tracepoint(target, true, res);
		break;
	case METHOD_RAW_TP:
		probe_raw_tp(target, res);
		break;
	default:
		set_reason(res, false, "unknown method");
	}
}

int probe_required(enum attach_method m, const char *target, const char *what)
{
	struct probe_result res;

	probe_kernel(m, target, &res);
	if (res.ok)
		return EXIT_OK;
	err_msg("%s is not usable on this kernel: %s", what, res.reason);
	return EXIT_UNSUPPORTED;
}

static bool candidate_method(const struct attach_candidate *cands, size_t n, int m)
{
	for (size_t i = 0; i < n; i++)
		if ((int)cands[i].method == m)
			return true;
	return false;
}

int opt_method(const char *arg, const struct attach_candidate *cands, size_t n)
{
	int m = method_by_name(arg);
	char list[128] = "";
	size_t len = 0;

	if (m >= 0 && candidate_method(cands, n, m))
		return m;
	for (size_t i = 0; i < n; i++) {
		if (candidate_method(cands, i, cands[i].method))
			continue; /* listed already */
		len += snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
				method_name(cands[i].method));
		if (len >= sizeof(list))
			break;
	}
	usage_error("invalid --method '%s': expected one of %s", arg, list);
}

/*
 * A kernel that refuses a program type outright (EPERM: a security policy, or not privileged)
 * says so before it looks at the target: a trial without one tells that much for one syscall,
 * where the real load would first parse the kernel's BTF (tens of ms and 11 MB). Any other answer
 * leaves the decision to the load.
 */
static void precheck_btf_typed(enum bpf_prog_type type, enum bpf_attach_type attach,
			       enum attach_method m, const char *target, struct probe_result *res)
{
	int fd = load_trial(type, attach, 0);

	if (fd >= 0)
		close(fd);
	if (fd == -EPERM)
		set_reason(res, false, "%s programs refused at load: %s", method_name(m),
			   strerror(EPERM));
	else
		set_reason(res, true, "%s on %s: the load decides", method_name(m), target);
}

/*
 * What can be told of a method before loading the real programs, cheaply: a full trial of the
 * BTF-typed ones (fentry, tp_btf, lsm) and a detach of a kprobe or tracepoint each wait out an
 * RCU grace period, tens of ms. Past the cheap checks the load itself decides for them; raw
 * tracepoints detach without waiting and get the full trial.
 */
void precheck_method(enum attach_method m, const char *target, struct probe_result *res)
{
	switch (m) {
	case METHOD_FENTRY:
		precheck_btf_typed(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, m, target, res);
		break;
	case METHOD_TP_BTF:
		precheck_btf_typed(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, m, target, res);
		break;
	case METHOD_LSM:
		if (bpf_lsm_active(res))
			precheck_btf_typed(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, m, target, res);
		break;
	case METHOD_KPROBE:
		probe_kprobe(target, false, res);
		break;
	case METHOD_TRACEPOINT:
		probe_tracepoint(target, false, res);
		break;
	default:
		probe_kernel(m, target, res);
	}
}

/*
 * Why no candidate worked: the last load's error where one got as far as loading, else the last
 * precheck's reason. Returns the exit code.
 */
static int report_no_method(int forced, const struct attach_candidate *last, const char *step,
			    int err, const struct probe_result *res)
{
	char what[192];

	if (err && forced >= 0)
		snprintf(what, sizeof(what), "--method %s is not usable on this kernel: %s",
			 method_name(forced), step);
	else if (err)
		snprintf(what, sizeof(what),
			 "no attach method works on this kernel (the last one tried, %s): %s",
			 method_name(last->method), step);
	if (err)
		return report_bpf_error(what, err);
	if (forced >= 0)
		err_msg("--method %s is not usable %s: %s", method_name(forced),
			res->no_privilege ? "here" : "on this kernel", res->reason);
	else
		err_msg("no attach method works %s (the last one tried: %s)",
			res->no_privilege ? "here" : "on this kernel", res->reason);
	/* A capability we lack is the caller's to grant, not the kernel's to lack. */
	return res->no_privilege ? EXIT_RUNTIME : EXIT_UNSUPPORTED;
}

int load_with_method(const char *program, const struct attach_candidate *cands, size_t n,
		     int forced, probe_fn precheck, method_load_fn load, void *ctx)
{
	const struct attach_candidate *last = NULL;
	struct probe_result res = { .ok = false };
	const char *step = NULL;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		const char *name = method_name(cands[i].method);

		if (forced >= 0 && (int)cands[i].method != forced)
			continue;
		precheck(cands[i].method, cands[i].target, &res);
		if (!res.ok) {
			verbose("%s: %s %s: %s", program, name, cands[i].target, res.reason);
			check_note_method(program, name, cands[i].target, false, res.reason);
			err = 0;
			continue;
		}
		last = &cands[i];
		err = load(cands[i].method, ctx, &step);
		if (!err) {
			verbose("%s: attaching with %s", program, name);
			check_note_method(program, name, cands[i].target, true, "");
			return EXIT_OK;
		}
		verbose("%s: %s %s: %s failed: %s", program, name, cands[i].target, step,
			strerror(-err));
		snprintf(res.reason, sizeof(res.reason), "%s failed: %s", step, strerror(-err));
		res.no_privilege = false;
		check_note_method(program, name, cands[i].target, false, res.reason);
	}
	return report_no_method(forced, last, step, err, &res);
}

/* The method a program of the object is written for, from its section; -1 if none of ours. */
static int program_method(const struct bpf_program *prog)
{
	enum bpf_attach_type attach = bpf_program__expected_attach_type(prog);

	switch (bpf_program__type(prog)) {
	case BPF_PROG_TYPE_TRACING:
		if (attach == BPF_TRACE_FENTRY || attach == BPF_TRACE_FEXIT)
			return METHOD_FENTRY;
		return attach == BPF_TRACE_RAW_TP ? METHOD_TP_BTF : -1;
	case BPF_PROG_TYPE_KPROBE:
		return METHOD_KPROBE;
	case BPF_PROG_TYPE_TRACEPOINT:
		return METHOD_TRACEPOINT;
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		return METHOD_RAW_TP;
	case BPF_PROG_TYPE_LSM:
		return METHOD_LSM;
	default:
		return -1;
	}
}

void autoload_method(struct bpf_object *obj, const struct attach_candidate *cands, size_t n,
		     enum attach_method chosen)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
	{
		int m = program_method(prog);

		if (m != (int)chosen && candidate_method(cands, n, m))
			bpf_program__set_autoload(prog, false);
	}
}

/*
 * uprobe_multi links (6.6+): a kernel that has them looks at the path first (EBADF for a
 * directory), one without rejects the attach type. Nothing is attached either way.
 */
bool uprobe_multi_supported(void)
{
	unsigned long offset = 0;
	LIBBPF_OPTS(bpf_link_create_opts, opts, .uprobe_multi.path = "/",
		    .uprobe_multi.offsets = &offset, .uprobe_multi.cnt = 1);
	int fd = load_trial(BPF_PROG_TYPE_KPROBE, BPF_TRACE_UPROBE_MULTI, 0), link, err;

	if (fd < 0)
		return false;
	link = bpf_link_create(fd, -1, BPF_TRACE_UPROBE_MULTI, &opts);
	err = link < 0 ? errno : 0;
	if (link >= 0)
		close(link);
	close(fd);
	return link >= 0 || err == EBADF;
}

/* A TCX link on loopback ingress, closed at once (a passing program: nothing changes for lo). */
static void probe_tcx(struct probe_result *res)
{
	int fd = load_trial(BPF_PROG_TYPE_SCHED_CLS, BPF_TCX_INGRESS, 0), link;

	if (fd < 0) {
		set_reason(res, false, "tc program refused at load: %s", strerror(-fd));
		return;
	}
	link = bpf_link_create(fd, 1, BPF_TCX_INGRESS, NULL);
	if (link < 0)
		set_reason(res, false,
			   "TCX link refused (6.6+ needed; netlink tc used instead): %s",
			   strerror(errno));
	else
		set_reason(res, true, "TCX links attach");
	if (link >= 0)
		close(link);
	close(fd);
}

/* Targets every kernel we support has, so that a failure says something about the method. */
static const struct attach_candidate report_targets[] = {
	{ METHOD_TRACEPOINT, "sched:sched_process_exec" },
	{ METHOD_RAW_TP, "sched_switch" },
	{ METHOD_TP_BTF, "sched_switch" },
	{ METHOD_KPROBE, "do_sys_openat2" },
	{ METHOD_FENTRY, "do_sys_openat2" },
	{ METHOD_LSM, "file_open" },
};

static void report_line(bool json, const char *name, bool ok, const char *detail)
{
	if (json) {
		struct strbuf *sb = out_buf();

		sb_puts(sb, "{\"type\":\"feature\",\"name\":");
		sb_json_str(sb, name, strlen(name));
		sb_printf(sb, ",\"ok\":%s,\"detail\":", ok ? "true" : "false");
		sb_json_str(sb, detail, strlen(detail));
		sb_puts(sb, "}\n");
	} else {
		out_printf("%-15s %-4s %s\n", name, ok ? "yes" : "no", detail);
	}
}

int probe_report(bool json)
{
	struct probe_result res;
	bool btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;

	if (!json)
		out_printf("%-15s %-4s %s\n", "FEATURE", "OK", "DETAIL");
	report_line(json, "btf", btf, btf ? "/sys/kernel/btf/vmlinux" : "no kernel BTF");
	report_line(json, "tracefs", ensure_tracefs() == 0, "/sys/kernel/tracing");
	report_line(json, "ringbuf", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1,
		    "BPF ring buffer (5.8+)");
	for (size_t i = 0; i < ARRAY_SIZE(report_targets); i++) {
		probe_kernel(report_targets[i].method, report_targets[i].target, &res);
		report_line(json, method_name(report_targets[i].method), res.ok, res.reason);
	}
	probe_tcx(&res);
	report_line(json, "tcx", res.ok, res.reason);
	out_flush();
	return EXIT_OK;
}
