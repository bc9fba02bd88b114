// SPDX-License-Identifier: GPL-2.0
/* Number parsing and the common options: valid values, and one-line errors with exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include "opts.h"
#include "util.h"
#include "unit.h"

TEST(parse_u64_accepts_whole_numbers_in_range)
{
	uint64_t v = 0;

	CHECK(parse_u64("42", 1, 100, &v) && v == 42);
	CHECK(parse_u64("18446744073709551615", 0, UINT64_MAX, &v) && v == UINT64_MAX);
	CHECK(!parse_u64("18446744073709551616", 0, UINT64_MAX, &v));
	CHECK(!parse_u64("0", 1, 100, &v));
	CHECK(!parse_u64("101", 1, 100, &v));
	CHECK(!parse_u64("-5", 0, 100, &v));
	CHECK(!parse_u64("+5", 0, 100, &v));
	CHECK(!parse_u64(" 5", 0, 100, &v));
	CHECK(!parse_u64("5x", 0, 100, &v));
	CHECK(!parse_u64("", 0, 100, &v));
}

TEST(parse_seconds)
{
	double d = 0;

	CHECK(parse_seconds("1.5", &d) && d == 1.5);
	CHECK(parse_seconds("2", &d) && d == 2);
	CHECK(!parse_seconds("0", &d));
	CHECK(!parse_seconds("-1", &d));
	CHECK(!parse_seconds("abc", &d));
	CHECK(!parse_seconds("nan", &d));
	CHECK(!parse_seconds("inf", &d));
	CHECK(!parse_seconds("", &d));
	CHECK(!parse_seconds("1e3", &d));
	CHECK(!parse_seconds("0x10", &d));
	CHECK(!parse_seconds(" 1", &d));
	CHECK(!parse_seconds("1.", &d));
	CHECK(!parse_seconds(".5", &d));
	CHECK(!parse_seconds("1.2.3", &d));
	CHECK(parse_seconds("0.001", &d) && d == 0.001);
	CHECK(parse_seconds("1000000000", &d) && d == 1e9);
	CHECK(!parse_seconds("1000000000.5", &d));
}

TEST(parse_size)
{
	uint64_t v = 0;

	CHECK(parse_size("4096", &v) && v == 4096);
	CHECK(parse_size("64K", &v) && v == 65536);
	CHECK(parse_size("4m", &v) && v == 4u << 20);
	CHECK(parse_size("1G", &v) && v == 1u << 30);
	CHECK(!parse_size("4KB", &v));
	CHECK(!parse_size("K", &v));
	CHECK(!parse_size("-4K", &v));
}

static const struct argp test_argp = { .children = common_argp_children };

/* Parse argv in a child: its exit status and what it wrote to stderr. */
static int parse_in_child(char **argv, char *err, size_t size)
{
	int argc = 0, fds[2], status;
	ssize_t n;
	pid_t pid;

	while (argv[argc])
		argc++;
	if (pipe(fds))
		abort();
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		set_prog_name("test");
		parse_args(&test_argp, argc, argv, NULL);
		exit(100);
	}
	close(fds[1]);
	n = read(fds[0], err, size - 1);
	err[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define CHECK_USAGE_ERROR(expected_msg, ...)                                            \
	do {                                                                            \
		char *__argv[] = { "ebpftrace test", __VA_ARGS__, NULL };               \
		char __err[512];                                                        \
		CHECK_INT_EQ(parse_in_child(__argv, __err, sizeof(__err)), EXIT_USAGE); \
		CHECK_STR_EQ(__err, expected_msg);                                      \
	} while (0)

TEST(bad_values_are_one_line_usage_errors)
{
	CHECK_USAGE_ERROR("ebpftrace test: invalid --pid 'abc': expected a process id (a number "
			  "from 1 to 4194304)\n",
			  "--pid", "abc");
	CHECK_USAGE_ERROR("ebpftrace test: invalid --pid '-5': expected a process id (a number "
			  "from 1 to 4194304)\n",
			  "-p", "-5");
	CHECK_USAGE_ERROR("ebpftrace test: invalid --duration '0': expected a number of seconds > "
			  "0\n",
			  "--duration", "0");
	CHECK_USAGE_ERROR("ebpftrace test: invalid --name 'abcdefghijklmnopq': expected 1 to 15 "
			  "characters\n",
			  "-n", "abcdefghijklmnopq");
	CHECK_USAGE_ERROR("ebpftrace test: invalid --ringbuf-size '3000': expected a power of two "
			  "from 4K to 1G\n",
			  "--ringbuf-size", "3000");
}

TEST(unknown_option_is_one_line)
{
	char *argv[] = { "ebpftrace test", "--bogus", NULL };
	char err[512];

	CHECK_INT_EQ(parse_in_child(argv, err, sizeof(err)), EXIT_USAGE);
	CHECK_STR_EQ(err, "ebpftrace test: unrecognized option '--bogus'\n");
}

TEST(valid_common_options)
{
	char *argv[] = { "ebpftrace test", "-p",      "123", "-u", "0",	  "-n", "bash",
			 "--json",	   "--count", "5",   "-d", "1.5", NULL };
	char err[512];

	CHECK_INT_EQ(parse_in_child(argv, err, sizeof(err)), 100);
	CHECK_STR_EQ(err, "");
}

TEST(common_cfg_for_bpf)
{
	struct common_cfg cfg;

	common_opts.filter.pid = 7;
	common_opts.ringbuf_size = 1 << 20;
	cfg = common_bpf_cfg();
	CHECK_INT_EQ(cfg.filter.pid, 7);
	CHECK_INT_EQ(cfg.wakeup_bytes, 1 << 18);
	CHECK_INT_EQ(cfg.filter.cgroup, 0);
	common_opts.filter.pid = 0;
}
