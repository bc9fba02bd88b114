// SPDX-License-Identifier: GPL-2.0
/* The symbolizer on this very binary (built with -g), kallsyms, frame formatting, uprobe spots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "strbuf.h"
#include "symbolize.h"
#include "target.h"
#include "uprobe.h"
#include "unit.h"

static bool ends_with(const char *s, const char *tail)
{
	size_t n = s ? strlen(s) : 0, m = strlen(tail);

	return n >= m && !strcmp(s + n - m, tail);
}

/* The address this call returns to: a return address inside its caller. */
static __attribute__((noinline)) uint64_t return_address(void)
{
	return (uint64_t)__builtin_return_address(0);
}

TEST(symbolize_return_address_in_this_binary)
{
	/* The call and __LINE__ stay on one line. */
	/* clang-format off */
	uint64_t ra = return_address(); int line = __LINE__;
	/* clang-format on */
	struct symbolizer *s = symbolizer_new_process(getpid());
	struct sym_frame f;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(symbolize(s, ra, true, &f));
	CHECK_STR_EQ(f.function, "test_symbolize_return_address_in_this_binary");
	CHECK(f.offset > 0);
	CHECK(ends_with(f.file, "tests/unit/test_symbolize.c"));
	CHECK_INT_EQ(f.line, line);
	CHECK(ends_with(f.module, "/unit-tests"));
	/* The same modules, read again, still answer (from their cache). */
	CHECK_INT_EQ(symbolizer_refresh(s), 0);
	CHECK(symbolize(s, ra, true, &f));
	CHECK_INT_EQ(f.line, line);
	/* An address no module covers: the address alone. */
	CHECK(!symbolize(s, 16, false, &f));
	CHECK(f.module == NULL && f.function == NULL && f.addr == 16);
	symbolizer_free(s);
}

TEST(symbolize_function_in_libc)
{
	struct symbolizer *s = symbolizer_new_process(getpid());
	struct sym_frame f;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(symbolize(s, (uint64_t)&getpid, false, &f));
	CHECK(f.function != NULL);
	CHECK(f.module && strstr(f.module, "libc"));
	symbolizer_free(s);
}

static const char *write_temp(const char *text)
{
	static char path[] = "/tmp/ebpftrace-unit-XXXXXX";
	int fd;

	strcpy(path, "/tmp/ebpftrace-unit-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return NULL;
	close(fd);
	return path;
}

/* Two frames and the end of the stack (0): what a BPF stack map gives. */
static void stack_text_and_json(struct symbolizer *s)
{
	static const uint64_t ips[] = { 0xffffffff81000150, 0xffffffffc0001084, 0, 0x1234 };
	struct strbuf sb = {};

	sym_stack(s, ips, 4, &sb, false, "  ");
	CHECK_MEM_EQ(sb.buf, sb.len, "  helper+0x50 [kernel]\n  ext4_other+0x4 [ext4]\n");
	sb.len = 0;
	sym_stack(NULL, ips, 4, &sb, true, "");
	CHECK_MEM_EQ(sb.buf, sb.len,
		     "{\"addr\":18446744071578845520},{\"addr\":18446744072635814020}");
	sb_free(&sb);
}

TEST(kallsyms_lookup)
{
	const char *path = write_temp("ffffffff81000000 T _stext\n"
				      "ffffffff81000100 t helper\n"
				      "ffffffff81000200 D some_data\n"
				      "ffffffffc0001000 t ext4_thing\t[ext4]\n"
				      "ffffffffc0001080 T ext4_other\t[ext4]\n");
	struct symbolizer *s = path ? symbolizer_new_kernel(path) : NULL;
	struct sym_frame f;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(symbolize(s, 0xffffffff81000150, true, &f));
	CHECK_STR_EQ(f.function, "helper");
	CHECK_INT_EQ(f.offset, 0x50);
	CHECK_STR_EQ(f.module, "kernel");
	/* A return address at a symbol's start belongs to the function before (the call). */
	CHECK(symbolize(s, 0xffffffffc0001080, true, &f));
	CHECK_STR_EQ(f.function, "ext4_thing");
	CHECK_INT_EQ(f.offset, 0x80);
	CHECK_STR_EQ(f.module, "ext4");
	CHECK(symbolize(s, 0xffffffffc0001080, false, &f));
	CHECK_STR_EQ(f.function, "ext4_other");
	CHECK(!symbolize(s, 0x1000, false, &f));
	stack_text_and_json(s);
	symbolizer_free(s);
	unlink(path);
}

TEST(kallsyms_without_addresses_is_refused)
{
	const char *path = write_temp("0000000000000000 T _stext\n0000000000000000 t helper\n");

	CHECK(path && symbolizer_new_kernel(path) == NULL);
	unlink(path);
}

/* The program, bpf_trace_run2 and __traceiter_kmalloc are left out; a later bpf_trace_run stays. */
TEST(kernel_stacks_start_where_the_tracepoint_was_hit)
{
	const char *path = write_temp("ffffffff81000000 T _stext\n"
				      "ffffffff81000100 T bpf_trace_run2\n"
				      "ffffffff81000200 T __traceiter_kmalloc\n"
				      "ffffffff81000300 T __kmalloc\n"
				      "ffffffff81000400 T caller\n"
				      "ffffffff81000500 T _etext\n");
	static const uint64_t ips[] = { 0xffffffffc0002345,
					0xffffffff81000110,
					0xffffffff81000210,
					0xffffffff81000320,
					0xffffffff81000410,
					0xffffffff81000110,
					0 };
	struct symbolizer *s = path ? symbolizer_new_kernel(path) : NULL;
	struct strbuf sb = {};

	CHECK(s != NULL);
	if (!s)
		return;
	sym_stack(s, ips, 7, &sb, false, "");
	CHECK_MEM_EQ(
		sb.buf, sb.len,
		"__kmalloc+0x20 [kernel]\ncaller+0x10 [kernel]\nbpf_trace_run2+0x10 [kernel]\n");
	sb.len = 0;
	sym_stack_folded(s, ips, 7, &sb);
	CHECK_MEM_EQ(sb.buf, sb.len, "__kmalloc;caller;bpf_trace_run2");
	sb.len = 0;
	/* Without a bpf_trace_run among the first frames, every frame is shown. */
	sym_stack(s, ips + 3, 2, &sb, false, "");
	CHECK_MEM_EQ(sb.buf, sb.len, "__kmalloc+0x20 [kernel]\ncaller+0x10 [kernel]\n");
	sb_free(&sb);
	symbolizer_free(s);
	unlink(path);
}

TEST(kallsyms_read_in_a_thread_is_taken_once)
{
	const char *path = write_temp("ffffffff81000000 T _stext\nffffffff81000100 t helper\n");
	struct symbolizer_job job = {};
	struct symbolizer *s;
	struct sym_frame f;

	CHECK(path != NULL);
	if (!path)
		return;
	CHECK(symbolizer_new_kernel_wait(&job) == NULL && errno == ENOENT);
	symbolizer_new_kernel_start(&job, path);
	s = symbolizer_new_kernel_wait(&job);
	CHECK(s && symbolize(s, 0xffffffff81000104, false, &f));
	CHECK_STR_EQ(s ? f.function : "", "helper");
	CHECK(symbolizer_new_kernel_wait(&job) == NULL);
	symbolizer_free(s);
	/* A file that is not there: its errno, from the thread. */
	symbolizer_new_kernel_start(&job, "/nonexistent/kallsyms");
	CHECK(symbolizer_new_kernel_wait(&job) == NULL && errno == ENOENT);
	unlink(path);
}

TEST(frame_text_and_json)
{
	struct sym_frame full = { 0x401136, "/usr/bin/app", "leak", 0x1c, "src/a\"b.c", 42 };
	struct sym_frame sym = { 0x7f0010, "/lib/libz.so.1", "deflate", 0x10, NULL, 0 };
	struct sym_frame bare = { 0x7f0010, "/lib/libz.so.1", NULL, 0, NULL, 0 };
	struct sym_frame none = { 0x10, NULL, NULL, 0, NULL, 0 };
	struct strbuf sb = {};

	sym_frame_text(&sb, &full);
	CHECK_MEM_EQ(sb.buf, sb.len, "leak+0x1c (src/a\"b.c:42) [app]");
	sb.len = 0;
	sym_frame_text(&sb, &sym);
	CHECK_MEM_EQ(sb.buf, sb.len, "deflate+0x10 [libz.so.1]");
	sb.len = 0;
	sym_frame_text(&sb, &bare);
	CHECK_MEM_EQ(sb.buf, sb.len, "0x7f0010 [libz.so.1]");
	sb.len = 0;
	sym_frame_text(&sb, &none);
	CHECK_MEM_EQ(sb.buf, sb.len, "0x10 [unknown]");
	sb.len = 0;
	sym_frame_json(&sb, &full);
	CHECK_MEM_EQ(
		sb.buf, sb.len,
		"{\"addr\":4198710,\"function\":\"leak\",\"offset\":28,\"file\":\"src/a\\\"b.c\","
		"\"line\":42,\"module\":\"/usr/bin/app\"}");
	sb.len = 0;
	sym_frame_json(&sb, &none);
	CHECK_MEM_EQ(sb.buf, sb.len, "{\"addr\":16}");
	sb_free(&sb);
}

TEST(null_check_skipped_only_before_an_emulated_instruction)
{
	/* glibc 2.36's free: test %rdi,%rdi; je rel32; push %rbp */
	static const uint8_t glibc_free[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf,
					      0x00, 0x00, 0x00, 0x55, 0x48, 0x8d };
	/* With endbr64 first, a short je and push %r12. */
	static const uint8_t cet[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85,
				       0xff, 0x74, 0x20, 0x41, 0x54 };
	/* The instruction after the check is a mov: nothing gained, probe the entry. */
	static const uint8_t then_mov[] = { 0x48, 0x85, 0xff, 0x74, 0x20, 0x48, 0x89, 0xe5 };
	/* A backward je is a loop, not a NULL return. */
	static const uint8_t backward[] = { 0x48, 0x85, 0xff, 0x74, 0xf0, 0x55 };
	/* Starts with a push already: the entry is as cheap as it gets. */
	static const uint8_t malloc_like[] = { 0x41, 0x54, 0x55, 0x48 };

#if defined(__x86_64__)
	CHECK_INT_EQ(skip_null_check(glibc_free, sizeof(glibc_free)), 9);
	CHECK_INT_EQ(skip_null_check(cet, sizeof(cet)), 9);
#endif
	CHECK_INT_EQ(skip_null_check(glibc_free, 9), 0); /* too short to see the push */
	CHECK_INT_EQ(skip_null_check(then_mov, sizeof(then_mov)), 0);
	CHECK_INT_EQ(skip_null_check(backward, sizeof(backward)), 0);
	CHECK_INT_EQ(skip_null_check(malloc_like, sizeof(malloc_like)), 0);
}

/* A function of ours whose code the test finds in the file. */
__attribute__((noinline)) int unit_probe_target(int x)
{
	return x * 7 + 3;
}

TEST(elf_func_offset_finds_the_code_in_the_file)
{
	uint8_t in_file[16];
	uint64_t off;

	CHECK_INT_EQ(elf_func_offset("/proc/self/exe", "unit_probe_target", &off), 0);
	CHECK_INT_EQ(read_file_at("/proc/self/exe", off, in_file, sizeof(in_file)), 0);
	CHECK(!memcmp(in_file, (const void *)&unit_probe_target, sizeof(in_file)));
	CHECK_INT_EQ(elf_func_offset("/proc/self/exe", "no_such_function_here", &off), -ENOENT);
	CHECK(!elf_is_static("/proc/self/exe"));
	CHECK(!elf_is_static("/etc/passwd"));
}

TEST(command_split_and_path)
{
	char **argv = command_split("prog 'two words' \"x y\" plain\\ esc");
	char path[4096];

	CHECK(argv != NULL);
	if (argv) {
		CHECK_STR_EQ(argv[0], "prog");
		CHECK_STR_EQ(argv[1], "two words");
		CHECK_STR_EQ(argv[2], "x y");
		CHECK_STR_EQ(argv[3], "plain esc");
		CHECK(argv[4] == NULL);
	}
	command_free(argv);
	CHECK(command_split("") == NULL);
	CHECK(command_split("echo $(id)") == NULL);
	CHECK_INT_EQ(command_path("sh", path, sizeof(path)), 0);
	CHECK(ends_with(path, "/sh"));
	CHECK_INT_EQ(command_path("no-such-command-ebt", path, sizeof(path)), -ENOENT);
	CHECK_INT_EQ(command_path("/etc/passwd", path, sizeof(path)), -EACCES);
}
