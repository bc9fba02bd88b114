// SPDX-License-Identifier: GPL-2.0
/*
 * lsm-block: a deny policy on BPF LSM hooks. Files are matched by the identity the kernel gives
 * them (superblock device and inode), so every name of a file is the same file; networks by the
 * address the kernel is about to use, IPv4 as ::ffff:a.b.c.d so that one rule covers both
 * families. Every program first passes on a denial an earlier LSM made: it can only add denials.
 */
#include "common.bpf.h"
#include "file_id.bpf.h"
#include "net_match.bpf.h"
#include "path.bpf.h"
#include "lsm_block.h"

#define EPERM		1
#define AF_INET		2
#define AF_INET6	10
#define PROT_EXEC	4
#define O_TRUNC		01000
#define FMODE_WRITE	0x2
#define SOCK_DGRAM	2
#define TCP_ESTABLISHED 1

const volatile struct lsm_cfg lsm_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lsm_net_rules);
} net_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LSM_MAX_FILE_IDS);
	__type(key, struct file_id);
	__type(value, struct lsm_file_rules);
} file_rules SEC(".maps");

/* Matches per rule number, for the summary at exit. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LSM_MAX_RULES + 1);
	__type(key, __u32);
	__type(value, __u64);
} rule_hits SEC(".maps");

/* The record is built here (too large for the stack), and only its used part is sent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lsm_block_event);
} scratch SEC(".maps");

/* Whether the policy applies to the current task: not to ebpftrace, and within the scope. */
static __always_inline bool in_scope(void)
{
	if (bpf_get_current_pid_tgid() >> 32 == lsm_cfg.self_tgid)
		return false;
	return filter_current();
}

/* Count the match, and start its record (NULL when there is no room for one). */
static __always_inline struct lsm_block_event *decision_begin(__u32 rule, enum lsm_hook hook)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 *hits = bpf_map_lookup_elem(&rule_hits, &rule);
	struct lsm_block_event *e;
	__u32 zero = 0;

	if (hits)
		__sync_fetch_and_add(hits, 1);
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return NULL;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = task->tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = bpf_get_current_uid_gid();
	e->rule = rule;
	e->hook = hook;
	e->denied = !lsm_cfg.audit;
	e->path_len = 0;
	__builtin_memcpy(e->comm, task->comm, TASK_COMM_LEN);
	return e;
}

static __always_inline int verdict(void)
{
	return lsm_cfg.audit ? 0 : -EPERM;
}

/* The first --deny-connect rule that covers addr and port, or 0. */
static __always_inline __u32 net_rule_of(const __u32 addr[4], __u16 port)
{
	__u32 zero = 0;
	struct lsm_net_rules *rules = bpf_map_lookup_elem(&net_rules, &zero);

	if (!rules)
		return 0;
	for (__u32 i = 0; i < LSM_MAX_NET_RULES && i < lsm_cfg.n_net; i++) {
		const struct lsm_net_rule *r = &rules->r[i];

		if (net_prefix_contains(&r->prefix, addr) && port_in_range(&r->ports, port))
			return r->rule;
	}
	return 0;
}

/* A destination as the kernel will use it, from a sockaddr in kernel memory. */
struct net_dest {
	__u32 addr[4];
	__u16 port;
	__u8 family;
};

static __always_inline bool dest_from_sockaddr(const void *sa, struct net_dest *d)
{
	struct sockaddr_in6 s6 = {};

	if (!sa || bpf_probe_read_kernel(&s6, sizeof(s6), sa))
		return false;
	d->family = s6.sin6_family;
	d->port = bpf_ntohs(s6.sin6_port);
	if (s6.sin6_family == AF_INET) {
		net_addr_from_ipv4(((struct sockaddr_in *)&s6)->sin_addr.s_addr, d->addr);
		return true;
	}
	if (s6.sin6_family != AF_INET6)
		return false; /* AF_UNSPEC: a disconnect */
	__builtin_memcpy(d->addr, &s6.sin6_addr, sizeof(d->addr));
	return true;
}

/* The peer of a connected datagram socket, which a send without an address goes to. */
static __always_inline bool dest_of_connected_dgram(struct socket *sock, struct net_dest *d)
{
	struct sock *sk = sock->sk;

	if (sock->type != SOCK_DGRAM || sk->__sk_common.skc_state != TCP_ESTABLISHED)
		return false;
	d->family = sk->__sk_common.skc_family;
	d->port = bpf_ntohs(sk->__sk_common.skc_dport);
	if (d->family == AF_INET6)
		__builtin_memcpy(d->addr, &sk->__sk_common.skc_v6_daddr, sizeof(d->addr));
	else
		net_addr_from_ipv4(sk->__sk_common.skc_daddr, d->addr);
	return true;
}

static __always_inline int decide_net(struct socket *sock, const struct net_dest *d,
				      enum lsm_hook hook)
{
	struct lsm_block_event *e;
	__u32 rule = net_rule_of(d->addr, d->port);

	if (!rule)
		return 0;
	e = decision_begin(rule, hook);
	if (e) {
		e->proto = sock->sk->sk_protocol;
		e->family = d->family;
		e->port = d->port;
		__builtin_memcpy(e->addr, d->addr, sizeof(e->addr));
		e->file = (struct file_id){};
		event_output(e, offsetof(struct lsm_block_event, path));
	}
	return verdict();
}

/* Only internet sockets: a unix socket's address is a path, not ours to judge here. */
static __always_inline bool inet_socket(struct socket *sock)
{
	__u16 family = sock->sk->__sk_common.skc_family;

	return family == AF_INET || family == AF_INET6;
}

SEC("lsm/socket_connect")
int BPF_PROG(lsm_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	struct net_dest d;

	if (ret || !lsm_cfg.n_net || !in_scope() || !inet_socket(sock))
		return ret;
	if (!dest_from_sockaddr(address, &d))
		return 0;
	return decide_net(sock, &d, LSM_HOOK_CONNECT);
}

/* sendto/sendmsg with an address (unconnected UDP, TCP fast open), or to a connected peer. */
SEC("lsm/socket_sendmsg")
int BPF_PROG(lsm_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	struct net_dest d;
	void *name;

	if (ret || !lsm_cfg.n_net || !in_scope() || !inet_socket(sock))
		return ret;
	name = msg->msg_name;
	if (name ? !dest_from_sockaddr(name, &d) : !dest_of_connected_dgram(sock, &d))
		return 0;
	return decide_net(sock, &d, LSM_HOOK_SENDMSG);
}

static __always_inline int decide_file(__u32 rule, const struct file_id *id,
				       const struct path *path, enum lsm_hook hook)
{
	struct lsm_block_event *e = decision_begin(rule, hook);
	bool complete;
	int len;

	if (e) {
		e->file = *id;
		e->family = 0;
		e->port = 0;
		len = path_resolve(path, e->path, &complete);
		e->path_len = len < 0 || !complete ? 0 : len + 1;
		event_output(e, offsetof(struct lsm_block_event, path) +
					(e->path_len & (PATH_BUF_LEN - 1)));
	}
	return verdict();
}

/* The file's rule for running its code: exec, or mapping it executable. */
static __always_inline int decide_exec(struct file *file, enum lsm_hook hook)
{
	struct file_id id;
	struct lsm_file_rules *r;

	if (!file || !in_scope())
		return 0;
	id = file_id_of(BPF_CORE_READ(file, f_inode));
	r = bpf_map_lookup_elem(&file_rules, &id);
	if (!r || !r->exec)
		return 0;
	return decide_file(r->exec, &id, &file->f_path, hook);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(lsm_bprm_check, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	return decide_exec(bprm->file, LSM_HOOK_BPRM_CHECK);
}

/* ld.so DENIED maps the file executable itself: that is what is left to deny. */
SEC("lsm/mmap_file")
int BPF_PROG(lsm_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret || !(prot & PROT_EXEC))
		return ret;
	return decide_exec(file, LSM_HOOK_MMAP_FILE);
}

/* A readable mapping made executable later. */
SEC("lsm/file_mprotect")
int BPF_PROG(lsm_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot,
	     unsigned long prot, int ret)
{
	if (ret || !(prot & PROT_EXEC))
		return ret;
	return decide_exec(vma->vm_file, LSM_HOOK_FILE_MPROTECT);
}

/* Opens that write: for writing, or read-only with O_TRUNC (which empties the file). */
static __always_inline bool open_writes(struct file *file)
{
	return (file->f_mode & FMODE_WRITE) || (file->f_flags & O_TRUNC);
}

SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file, int ret)
{
	struct lsm_file_rules *r;
	struct file_id id;
	__u32 rule;

	if (ret)
		return ret;
	id = file_id_of(file->f_inode);
	file_id_learn(&id); /* the rule files ebpftrace opens to learn them */
	if (!in_scope())
		return 0;
	r = bpf_map_lookup_elem(&file_rules, &id);
	if (!r)
		return 0;
	rule = r->open ? r->open : open_writes(file) ? r->open_write : 0;
	if (!rule)
		return 0;
	return decide_file(rule, &id, &file->f_path, LSM_HOOK_FILE_OPEN);
}

/* truncate(2) by name changes the file without opening it: a write as far as rules go. */
SEC("lsm/path_truncate")
int BPF_PROG(lsm_path_truncate, const struct path *path, int ret)
{
	struct lsm_file_rules *r;
	struct file_id id;
	__u32 rule;

	if (ret || !in_scope())
		return ret;
	id = file_id_of(BPF_CORE_READ(path, dentry, d_inode));
	r = bpf_map_lookup_elem(&file_rules, &id);
	rule = !r ? 0 : r->open ? r->open : r->open_write;
	if (!rule)
		return 0;
	return decide_file(rule, &id, path, LSM_HOOK_PATH_TRUNCATE);
}
