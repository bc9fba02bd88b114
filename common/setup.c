// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "check.h"
#include "opts.h"
#include "metrics.h"
#include "setup.h"
#include "util.h"

#define TRACEFS_DIR "/sys/kernel/tracing"
#define BTF_VMLINUX "/sys/kernel/btf/vmlinux"

static int cgroup_fd = -1;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose_mode || (level == LIBBPF_DEBUG && !libbpf_debug))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* What every subcommand loads and attaches with; setup_require_caps() changes it. */
static uint64_t required_caps = 1ull << CAP_BPF | 1ull << CAP_PERFMON;

/* The ones we may need, in the order a message names them. */
static const struct {
	int cap;
	const char *name;
} caps[] = {
	{ CAP_BPF, "CAP_BPF" },
	{ CAP_PERFMON, "CAP_PERFMON" },
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN" },
};

void setup_require_caps(uint64_t caps)
{
	required_caps = caps;
}

/* Whether cap is in our effective set: a root whose capabilities were dropped lacks it too. */
bool have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* The kernel takes CAP_SYS_ADMIN for each (bpf_capable, perfmon_capable, bpf_net_capable). */
static bool cap_granted(int cap)
{
	return have_cap(cap) || have_cap(CAP_SYS_ADMIN);
}

/* Names as a list: "A", "A and B", "A, B and C". */
static void append_name(char *buf, size_t size, const char *name)
{
	char *last = strstr(buf, " and ");
	size_t len;

	if (last) {
		memmove(last + 1, last + 4, strlen(last + 4) + 1);
		*last = ',';
	}
	len = strlen(buf);
	snprintf(buf + len, size - len, "%s%s", len ? " and " : "", name);
}

/* Before anything loads: one line naming each capability we need and lack. */
static int check_caps(void)
{
	char missing[96] = "", needed[96] = "";

	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		if (!(required_caps & 1ull << caps[i].cap))
			continue;
		append_name(needed, sizeof(needed), caps[i].name);
		if (!cap_granted(caps[i].cap))
			append_name(missing, sizeof(missing), caps[i].name);
	}
	if (!*missing)
		return EXIT_OK;
	err_msg("missing %s: this needs %s (or root)", missing, needed);
	return EXIT_RUNTIME;
}

static bool is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

/*
 * Minimal hosts and containers may have no tracefs (or securityfs) mounted, and libbpf needs
 * tracefs to resolve tracepoints. Mount it in a mount namespace of our own, so that nothing is
 * left behind on the host; the host's mounts still propagate to us.
 */
static int ensure_fs(const char *dir, const char *type, long magic)
{
	if (is_fs(dir, magic))
		return 0;
	if (!have_cap(CAP_SYS_ADMIN)) {
		verbose("%s is not mounted at %s, and mounting it needs CAP_SYS_ADMIN", type, dir);
		return -EPERM;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) ||
	    mount(type, dir, type, 0, NULL)) {
		int err = errno;

		verbose("%s is not mounted and mounting it at %s failed: %s", type, dir,
			strerror(err));
		return -err;
	}
	verbose("%s was not mounted: mounted it at %s in a private mount namespace", type, dir);
	return 0;
}

int ensure_tracefs(void)
{
	return ensure_fs(TRACEFS_DIR, "tracefs", TRACEFS_MAGIC);
}

int ensure_securityfs(void)
{
	return ensure_fs("/sys/kernel/security", "securityfs", SECURITYFS_MAGIC);
}

bool tracepoint_exists(const char *category, const char *name)
{
	char path[256];

	if (ensure_tracefs())
		return false;
	snprintf(path, sizeof(path), TRACEFS_DIR "/events/%s/%s/id", category, name);
	return access(path, R_OK) == 0;
}

static int open_cgroup(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		usage_error("invalid --cgroup '%s': %s", path, strerror(errno));
	if (!is_fs(path, CGROUP2_SUPER_MAGIC))
		usage_error("invalid --cgroup '%s': not a cgroup v2 directory", path);
	return fd;
}

int setup_system(void)
{
	libbpf_set_print(libbpf_print);
	if (common_opts.cgroup_path)
		cgroup_fd = open_cgroup(common_opts.cgroup_path);
	if (check_caps())
		return EXIT_RUNTIME;
	if (access(BTF_VMLINUX, R_OK)) {
		err_msg("the kernel has no BTF (%s is missing): it needs CONFIG_DEBUG_INFO_BTF=y",
			BTF_VMLINUX);
		return EXIT_UNSUPPORTED;
	}
	return metrics_start();
}

/* After open, before load: size the ring buffer from --ringbuf-size. */
static int setup_before_load(struct bpf_object *obj)
{
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "events");

	return events ? bpf_map__set_max_entries(events, common_opts.ringbuf_size) : 0;
}

/* After load: hand the --cgroup directory to the BPF side. */
static int setup_after_load(struct bpf_object *obj)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "cgroup_filter");
	uint32_t zero = 0;

	if (cgroup_fd < 0)
		return 0;
	if (!map)
		return -ENOENT;
	return bpf_map_update_elem(bpf_map__fd(map), &zero, &cgroup_fd, BPF_ANY) ? -errno : 0;
}

/* libbpf finds a tracepoint's id in tracefs. */
static int tracefs_for_tracepoints(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
	{
		if (bpf_program__autoload(prog) &&
		    bpf_program__type(prog) == BPF_PROG_TYPE_TRACEPOINT)
			return ensure_tracefs();
	}
	return 0;
}

/* Where a program attaches: its section, but for a tcx/ program loaded for cls_bpf instead. */
static const char *attach_point(const struct bpf_program *prog)
{
	enum bpf_attach_type t = bpf_program__expected_attach_type(prog);

	if (bpf_program__type(prog) == BPF_PROG_TYPE_SCHED_CLS && t != BPF_TCX_INGRESS &&
	    t != BPF_TCX_EGRESS)
		return "tc (cls_bpf)";
	return bpf_program__section_name(prog);
}

/* For `ebpftrace check`: what was loaded, and where each program attaches. */
static void note_programs(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
	{
		if (bpf_program__autoload(prog))
			check_note_program(bpf_program__name(prog), attach_point(prog));
	}
}

int skel_try_load(struct bpf_object_skeleton *skel, bool attach, const char **step)
{
	struct bpf_object *obj = *skel->obj;
	int err;

	*step = "mounting tracefs at " TRACEFS_DIR;
	err = tracefs_for_tracepoints(obj);
	if (err)
		return err;
	*step = "sizing the ring buffer";
	err = setup_before_load(obj);
	if (err)
		return err;
	*step = "loading the BPF programs";
	err = bpf_object__load_skeleton(skel);
	if (err)
		return err;
	note_programs(obj);
	*step = "setting the cgroup filter";
	err = setup_after_load(obj);
	if (err)
		return err;
	if (attach) {
		*step = "attaching the BPF programs";
		err = bpf_object__attach_skeleton(skel);
		if (err)
			return err;
	}
	metrics_add_object(obj);
	return 0;
}

int skel_load_attach(struct bpf_object_skeleton *skel)
{
	const char *step;
	int err = skel_try_load(skel, true, &step);

	return err ? report_bpf_error(step, err) : EXIT_OK;
}

/* The map, then into its slot: the update waits out a grace period (maybe_wait_bpf_programs). */
static void *make_late_map(void *arg)
{
	struct late_map *m = arg;
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = m->flags);
	__u32 zero = 0;

	m->fd = bpf_map_create(m->type, m->name, m->key_size, m->value_size, m->max_entries, &o);
	if (m->fd < 0 || bpf_map_update_elem(m->slot_fd, &zero, &m->fd, BPF_ANY))
		m->err = -errno;
	return NULL;
}

/* The slot, made from a one-entry map of the same kind (the kernel keeps what it needs of it). */
static int make_slot(const struct late_map *m)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = m->flags);
	int template, slot;

	template = bpf_map_create(m->type, m->name, m->key_size, m->value_size, 1, &o);
	if (template <0)
		return -errno;
	o.map_flags = 0;
	o.inner_map_fd = template;
	slot = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, m->name, sizeof(__u32), sizeof(__u32), 1,
			      &o);
	slot = slot < 0 ? -errno : slot;
	close(template);
	return slot;
}

int late_map_start(struct late_map *m)
{
	m->fd = -1;
	m->err = 0;
	m->started = false;
	m->slot_fd = make_slot(m);
	m->live = m->slot_fd >= 0;
	if (!m->live)
		return m->slot_fd;
	m->started = !pthread_create(&m->thread, NULL, make_late_map, m);
	if (!m->started)
		make_late_map(m);
	return 0;
}

int late_map_bind(struct late_map *m, struct bpf_map *slot)
{
	return bpf_map__reuse_fd(slot, m->slot_fd);
}

int late_map_wait(struct late_map *m)
{
	if (m->started)
		pthread_join(m->thread, NULL);
	m->started = false;
	return m->err;
}

void late_map_free(struct late_map *m)
{
	if (!m->live)
		return;
	late_map_wait(m);
	if (m->fd >= 0)
		close(m->fd);
	close(m->slot_fd);
	m->live = false;
}

static void *destroy_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

/*
 * A link on a perf event (tracepoint, kprobe, uprobe; also a perf event fd libbpf set a program
 * on, of which the kernel gives no link info) or a multi-probe link waits out an RCU grace period
 * as it closes: each gets a thread, so that the waits overlap where the kernel lets them. The
 * others close without such a wait, and a thread would only add its start.
 */
static bool closes_at_once(struct bpf_link *link)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_link_get_info_by_fd(bpf_link__fd(link), &info, &len))
		return false;
	switch (info.type) {
	case BPF_LINK_TYPE_RAW_TRACEPOINT:
	case BPF_LINK_TYPE_TRACING:
	case BPF_LINK_TYPE_CGROUP:
	case BPF_LINK_TYPE_TCX:
		return true;
	default:
		return false;
	}
}

#define LINKS_AT_ONCE 64

void links_destroy(struct bpf_link **links, size_t n)
{
	pthread_t threads[LINKS_AT_ONCE];
	bool started[LINKS_AT_ONCE];

	/* Every teardown starts here: no scrape may read the maps that go next. */
	metrics_stop();
	for (size_t base = 0; base < n; base += LINKS_AT_ONCE) {
		size_t batch = n - base < LINKS_AT_ONCE ? n - base : LINKS_AT_ONCE;

		for (size_t i = 0; i < batch; i++)
			started[i] =
				links[base + i] && !closes_at_once(links[base + i]) &&
				!pthread_create(&threads[i], NULL, destroy_link, links[base + i]);
		for (size_t i = 0; i < batch; i++) {
			if (started[i])
				pthread_join(threads[i], NULL);
			else /* NULL, closing at once, or no thread to spare */
				bpf_link__destroy(links[base + i]);
			links[base + i] = NULL;
		}
	}
}

void skel_detach(struct bpf_object_skeleton *s, struct bpf_link **extra, size_t n_extra)
{
	struct bpf_link *links[LINKS_AT_ONCE];
	size_t n = 0;

	for (int i = 0; s && i < s->prog_cnt && n < LINKS_AT_ONCE; i++) {
		struct bpf_prog_skeleton *p = (void *)((char *)s->progs + i * s->prog_skel_sz);

		if (*p->link) {
			links[n++] = *p->link;
			*p->link = NULL;
		}
	}
	for (size_t i = 0; i < n_extra && n < LINKS_AT_ONCE; i++) {
		links[n++] = extra[i];
		extra[i] = NULL;
	}
	links_destroy(links, n);
}

int report_bpf_error(const char *what, int err)
{
	const char *hint = verbose_mode ? "" : " (-v shows libbpf's messages)";

	if (err > 0)
		err = -err;
	/*
	 * CAP_BPF and CAP_PERFMON were checked first. Without CAP_SYS_ADMIN a refusal may be for
	 * want of it (mounting tracefs, uprobes on some kernels): grant it, then blame the kernel.
	 */
	if ((err == -EPERM || err == -EACCES) && !have_cap(CAP_SYS_ADMIN)) {
		err_msg("%s failed: %s: it needs CAP_SYS_ADMIN here, which is missing", what,
			errno_name(-err));
		return EXIT_RUNTIME;
	}
	switch (-err) {
	case EPERM:
		/* We are privileged: the kernel's policy refuses this program type. */
		err_msg("%s failed: the kernel refused it (EPERM)%s", what, hint);
		return EXIT_UNSUPPORTED;
	case ENOENT:
	case EOPNOTSUPP:
		err_msg("%s failed: %s: this kernel lacks what it needs%s", what, strerror(-err),
			hint);
		return EXIT_UNSUPPORTED;
	default:
		err_msg("%s failed: %s%s", what, strerror(-err), hint);
		return EXIT_RUNTIME;
	}
}
