// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include "check.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "strbuf.h"
#include "util.h"

/* A subcommand that is not ready to trace by then is reported as stuck, and killed. */
/* Loading every subcommand at once takes a while on a slow machine (tens of seconds under TCG). */
#define CHECK_TIMEOUT_MS 60000

/* In a child started by check: where its notes go. */
static int report_fd = -1;

bool check_mode(void)
{
	return report_fd >= 0;
}

/* One note: tab-separated fields on a line; tabs and newlines inside a field become spaces. */
static void note(const char *const *fields, size_t n)
{
	struct strbuf sb = { 0 };

	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_putc(&sb, '\t');
		for (const char *c = fields[i] ? fields[i] : ""; *c; c++)
			sb_putc(&sb, *c == '\t' || *c == '\n' ? ' ' : *c);
	}
	sb_putc(&sb, '\n');
	if (write(report_fd, sb.buf, sb.len) < 0)
		_exit(EXIT_RUNTIME);
	sb_free(&sb);
}

void check_note_method(const char *option, const char *method, const char *target, bool chosen,
		       const char *reason)
{
	const char *fields[] = { "M", option, method, target, chosen ? "1" : "0", reason };

	if (check_mode())
		note(fields, ARRAY_SIZE(fields));
}

void check_note_program(const char *name, const char *section)
{
	const char *fields[] = { "P", name, section };

	if (check_mode())
		note(fields, ARRAY_SIZE(fields));
}

void check_ready(void)
{
	const char *fields[] = { "R" };

	if (!check_mode())
		return;
	note(fields, 1);
	/* Exiting closes every fd: the kernel detaches and frees what the subcommand loaded. */
	_exit(EXIT_OK);
}

/* What one subcommand's child said and how it ended. */
struct child {
	const struct subcommand *sub;
	pid_t pid;
	int report_fd, err_fd;
	struct strbuf report, err;
	int status; /* exit code, or 128 + signal */
};

/*
 * The child: stdout to /dev/null, stderr and notes to the parent. In a network namespace of its
 * own, so that a subcommand attaching to an interface (its check_args) attaches to that
 * namespace's loopback, and the namespace goes with the child.
 */
static __attribute__((noreturn)) void child_run(const struct subcommand *sub, int report_w,
						int err_w)
{
	char argv0[64], *argv[16] = { argv0 };
	int argc = 1, null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (null < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(err_w, STDERR_FILENO) < 0)
		_exit(EXIT_RUNTIME);
	if (unshare(CLONE_NEWNET) && sub->check_args) {
		err_msg("check needs a network namespace of its own for %s: %s (run as root)",
			sub->name, strerror(errno));
		_exit(EXIT_RUNTIME);
	}
	snprintf(argv0, sizeof(argv0), "ebpftrace %s", sub->name);
	for (const char *const *a = sub->check_args; a && *a && argc < 15; a++)
		argv[argc++] = (char *)*a;
	argv[argc] = NULL;
	report_fd = report_w;
	set_prog_name(sub->name);
	_exit(sub->run(argc, argv));
}

static int child_start(struct child *c)
{
	int report[2], err[2];

	if (pipe2(report, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0)
		child_run(c->sub, report[1], err[1]);
	close(report[1]);
	close(err[1]);
	c->report_fd = report[0];
	c->err_fd = err[0];
	return 0;
}

static bool drain(int *fd, struct strbuf *sb)
{
	char buf[4096];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n > 0) {
		sb_put(sb, buf, n);
		return true;
	}
	if (n < 0 && errno == EINTR)
		return true;
	close(*fd);
	*fd = -1;
	return false;
}

/* Read every child's pipes to their end, or until the time is up. */
static void collect(struct child *kids, size_t n)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd[2 * n];
		struct strbuf *sbs[2 * n];
		int *fds[2 * n];
		size_t m = 0;
		struct timespec now;
		long elapsed;

		for (size_t i = 0; i < n; i++) {
			int *f[] = { &kids[i].report_fd, &kids[i].err_fd };
			struct strbuf *s[] = { &kids[i].report, &kids[i].err };

			for (int j = 0; j < 2; j++) {
				if (*f[j] < 0)
					continue;
				pfd[m] = (struct pollfd){ .fd = *f[j], .events = POLLIN };
				fds[m] = f[j];
				sbs[m++] = s[j];
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (now.tv_sec - start.tv_sec) * 1000 +
			  (now.tv_nsec - start.tv_nsec) / 1000000;
		if (!m || elapsed >= CHECK_TIMEOUT_MS ||
		    poll(pfd, m, CHECK_TIMEOUT_MS - elapsed) <= 0)
			return;
		for (size_t i = 0; i < m; i++)
			if (pfd[i].revents)
				drain(fds[i], sbs[i]);
	}
}

static void reap(struct child *c)
{
	int st;

	if (c->report_fd >= 0 || c->err_fd >= 0) {
		kill(c->pid, SIGKILL);
		sb_printf(&c->err, "not ready to trace within %d s: stopped\n",
			  CHECK_TIMEOUT_MS / 1000);
	}
	while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
		;
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (c->report_fd >= 0)
		close(c->report_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
}

static bool child_ready(const struct child *c)
{
	return c->status == EXIT_OK && c->report.len >= 2 &&
	       !memcmp(c->report.buf + c->report.len - 2, "R\n", 2);
}

/* The last line the child wrote on stderr, without our "ebpftrace NAME: " prefix. */
static const char *child_reason(struct child *c, char *buf, size_t size)
{
	char prefix[64];
	const char *line, *end;

	sb_putc(&c->err, '\0');
	end = c->err.buf + strlen(c->err.buf);
	while (end > c->err.buf && end[-1] == '\n')
		end--;
	for (line = end; line > c->err.buf && line[-1] != '\n'; line--)
		;
	snprintf(prefix, sizeof(prefix), "ebpftrace %s: ", c->sub->name);
	if (!strncmp(line, prefix, strlen(prefix)))
		line += strlen(prefix);
	if (line == end)
		snprintf(buf, size, "ended with exit code %d before it was ready", c->status);
	else
		snprintf(buf, size, "%.*s", (int)(end - line), line);
	return buf;
}

/* Split a note line in place into its fields; returns how many. */
static size_t split_note(char *line, char **fields, size_t max)
{
	size_t n = 0;

	for (char *p = line; n < max; p++) {
		fields[n++] = p;
		p = strchrnul(p, '\t');
		if (!*p)
			break;
		*p = '\0';
	}
	return n;
}

static void json_key_str(struct strbuf *sb, const char *key, const char *v)
{
	sb_printf(sb, ",\"%s\":", key);
	sb_json_str(sb, v, strlen(v));
}

static void print_method(const char *sub, char **f, bool json)
{
	bool chosen = f[4][0] == '1';

	if (!json) {
		if (chosen)
			out_printf("%-16s     --%s %s (%s)\n", "", f[1], f[2], f[3]);
		else
			out_printf("%-16s     passed over %s %s: %s\n", "", f[2], f[3], f[5]);
		return;
	}
	sb_puts(out_buf(), "{\"type\":\"method\"");
	json_key_str(out_buf(), "subcommand", sub);
	json_key_str(out_buf(), "option", f[1]);
	json_key_str(out_buf(), "method", f[2]);
	json_key_str(out_buf(), "target", f[3]);
	sb_printf(out_buf(), ",\"chosen\":%s", chosen ? "true" : "false");
	if (!chosen)
		json_key_str(out_buf(), "reason", f[5]);
	sb_puts(out_buf(), "}\n");
}

static void print_program(const char *sub, char **f, bool json)
{
	if (!json) {
		out_printf("%-16s     program %s: %s\n", "", f[1], f[2]);
		return;
	}
	sb_puts(out_buf(), "{\"type\":\"program\"");
	json_key_str(out_buf(), "subcommand", sub);
	json_key_str(out_buf(), "name", f[1]);
	json_key_str(out_buf(), "section", f[2]);
	sb_puts(out_buf(), "}\n");
}

static void print_programs(const char *sub, char **programs, size_t *n, bool json)
{
	char *f[3];

	for (size_t i = 0; i < *n; i++)
		if (split_note(programs[i], f, ARRAY_SIZE(f)) == 3)
			print_program(sub, f, json);
	*n = 0;
}

/*
 * The notes in order, but for the programs of an attempt that was passed over: a method's
 * programs are noted when they load, the method after its attach.
 */
static void print_notes(struct child *c, bool json)
{
	char *line, *next, *f[6], *programs[64];
	size_t held = 0;

	sb_putc(&c->report, '\0');
	for (line = c->report.buf; *line; line = next) {
		size_t n;

		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		n = split_note(line, f, ARRAY_SIZE(f));
		if (f[0][0] == 'P' && n == 3 && held < ARRAY_SIZE(programs)) {
			f[1][-1] = f[2][-1] = '\t'; /* whole again: split when printed */
			programs[held++] = line;
			continue;
		}
		if (f[0][0] != 'M' || n != 6)
			continue;
		if (f[4][0] != '1')
			held = 0; /* that attempt's programs are gone */
		print_programs(c->sub->name, programs, &held, json);
		print_method(c->sub->name, f, json);
	}
	print_programs(c->sub->name, programs, &held, json);
}

static void print_child(struct child *c, bool runs, bool json)
{
	char reason[512];

	if (!runs)
		child_reason(c, reason, sizeof(reason));
	if (json) {
		sb_puts(out_buf(), "{\"type\":\"subcommand\"");
		json_key_str(out_buf(), "name", c->sub->name);
		sb_printf(out_buf(), ",\"runs\":%s,\"exit_code\":%d", runs ? "true" : "false",
			  c->status);
		if (!runs)
			json_key_str(out_buf(), "reason", reason);
		sb_puts(out_buf(), "}\n");
	} else {
		out_printf("%-16s %s%s%s\n", c->sub->name, runs ? "yes" : "no ", runs ? "" : "  ",
			   runs ? "" : reason);
	}
	print_notes(c, json);
}

static void print_kernel(bool json)
{
	struct utsname u;
	char libbpf[16];

	uname(&u);
	snprintf(libbpf, sizeof(libbpf), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	if (!json) {
		out_printf("%-15s %s %s, libbpf %s\n\n", "KERNEL", u.release, u.machine, libbpf);
		return;
	}
	sb_puts(out_buf(), "{\"type\":\"kernel\"");
	json_key_str(out_buf(), "release", u.release);
	json_key_str(out_buf(), "machine", u.machine);
	json_key_str(out_buf(), "libbpf", libbpf);
	sb_puts(out_buf(), "}\n");
}

/* The subcommands named in argv (all when none is), into kids; false after a usage error. */
static bool select_subcommands(const struct subcommand *table, size_t n, int argc, char **argv,
			       struct child *kids, size_t *nkids)
{
	*nkids = 0;
	for (int i = 0; i < argc; i++) {
		const struct subcommand *sub = subcommand_find(table, n, argv[i]);

		if (!sub) {
			err_msg("unknown subcommand '%s' (ebpftrace help lists them)", argv[i]);
			return false;
		}
		kids[(*nkids)++] = (struct child){ .sub = sub, .report_fd = -1, .err_fd = -1 };
	}
	for (size_t i = 0; !argc && i < n; i++)
		kids[(*nkids)++] =
			(struct child){ .sub = &table[i], .report_fd = -1, .err_fd = -1 };
	return true;
}

int check_run(const struct subcommand *table, size_t n, int argc, char **argv)
{
	struct child kids[argc + n];
	size_t nkids;
	bool all_run = true;

	if (!select_subcommands(table, n, argc, argv, kids, &nkids))
		return EXIT_USAGE;
	/* All at once: each one's load is mostly waiting on the kernel's verifier and BTF. */
	for (size_t i = 0; i < nkids; i++) {
		int err = child_start(&kids[i]);

		if (err) {
			err_msg("cannot start the check of %s: %s", kids[i].sub->name,
				strerror(-err));
			return EXIT_RUNTIME;
		}
	}
	collect(kids, nkids);
	print_kernel(common_opts.json);
	probe_report(common_opts.json);
	if (!common_opts.json)
		out_printf("\n%-16s %-4s %s\n", "SUBCOMMAND", "RUNS", "HOW, OR WHY NOT");
	for (size_t i = 0; i < nkids; i++) {
		bool runs;

		reap(&kids[i]);
		runs = child_ready(&kids[i]);
		print_child(&kids[i], runs, common_opts.json);
		all_run &= runs;
		sb_free(&kids[i].report);
		sb_free(&kids[i].err);
	}
	out_flush();
	return all_run ? EXIT_OK : EXIT_UNSUPPORTED;
}
