// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdwfl.h>
#include "dynlib.h"
#include "strbuf.h"
#include "symbolize.h"
#include "util.h"

struct ksym {
	uint64_t addr;
	uint32_t name;	 /* offset in names */
	uint32_t module; /* offset in names of "kernel" or the module's name */
};

struct symbolizer {
	pid_t pid; /* 0: the kernel */
	Dwfl *dwfl;
	char root_path[64]; /* "/proc/PID/root": find_elf opens modules through it */
	struct ksym *ksyms;
	size_t nksyms;
	struct strbuf names;
};

static char *debuginfo_path; /* NULL: elfutils' default, which has /usr/lib/debug and build ids */

/*
 * libdw, opened by the first process symbolizer (see dynlib.h): linked in, it and the
 * compression libraries it brings would cost every subcommand's start 350 KB of resident pages.
 */
/* clang-format off */
#define LIBDW_FUNCTIONS(F)							\
	F(dwfl_begin) F(dwfl_end) F(dwfl_report_begin) F(dwfl_report_end)	\
	F(dwfl_linux_proc_maps_report) F(dwfl_linux_proc_find_elf)		\
	F(dwfl_standard_find_debuginfo) F(dwfl_getmodules) F(dwfl_addrmodule)	\
	F(dwfl_module_info) F(dwfl_module_addrinfo) F(dwfl_module_getsrc) F(dwfl_lineinfo)
/* clang-format on */
DYNLIB_TABLE(dw, LIBDW_FUNCTIONS);

/*
 * Open a module's file as the process sees it, through /proc/PID/root (a process in a container
 * maps files of another root); when that is gone with the process, the path as it is.
 */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	struct symbolizer *s = *userdata;
	char path[4096];
	int fd;

	if (s && name[0] == '/') {
		snprintf(path, sizeof(path), "%s%s", s->root_path, name);
		fd = dw.dwfl_linux_proc_find_elf(mod, userdata, path, base, file_name, elfp);
		if (fd >= 0)
			return fd;
	}
	return dw.dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
}

/* find_debuginfo is libdw's own, set when libdw is opened. */
static Dwfl_Callbacks proc_callbacks = {
	.find_elf = find_elf,
	.debuginfo_path = &debuginfo_path,
};

/* Tried once: a missing libdw is said once, and stacks then show addresses only. */
static bool libdw_loaded(void)
{
	static const char *const sonames[] = { "libdw.so.1", NULL };
	static int state; /* 0: not tried, 1: loaded, -1: failed */

	if (!state) {
		state = DYNLIB_LOAD(dw, sonames, "symbolizing user stacks") ? -1 : 1;
		if (state > 0)
			proc_callbacks.find_debuginfo = dw.dwfl_standard_find_debuginfo;
	}
	return state > 0;
}

static int set_userdata(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			void *arg)
{
	(void)mod;
	(void)name;
	(void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

/* The whole maps file first: a process gone halfway must not leave us with half its modules. */
static FILE *read_maps(pid_t pid, char **buf, size_t *len)
{
	char path[64];
	FILE *in, *mem;
	char chunk[8192];
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	in = fopen(path, "re");
	if (!in)
		return NULL;
	mem = open_memstream(buf, len);
	if (!mem) {
		fclose(in);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		fwrite(chunk, 1, n, mem);
	if (ferror(in)) {
		fclose(in);
		fclose(mem);
		free(*buf);
		errno = EIO;
		return NULL;
	}
	fclose(in);
	fclose(mem);
	return fmemopen(*buf, *len, "r");
}

int symbolizer_refresh(struct symbolizer *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *maps;
	int err;

	if (!s->dwfl)
		return 0;
	maps = read_maps(s->pid, &buf, &len);
	if (!maps)
		return -errno;
	if (!len) { /* a process that has exited but is not reaped yet */
		fclose(maps);
		free(buf);
		return -ESRCH;
	}
	/* Modules reported again with the same name and range keep their symbols and DWARF. */
	dw.dwfl_report_begin(s->dwfl);
	err = dw.dwfl_linux_proc_maps_report(s->dwfl, maps);
	dw.dwfl_report_end(s->dwfl, NULL, NULL);
	fclose(maps);
	free(buf);
	if (err)
		return err > 0 ? -err : -EINVAL;
	dw.dwfl_getmodules(s->dwfl, set_userdata, s, 0);
	return 0;
}

struct symbolizer *symbolizer_follow(struct symbolizer *s, pid_t pid, uint64_t changed,
				     uint64_t *seen)
{
	if (s && changed == *seen)
		return s;
	*seen = changed;
	if (!s)
		return symbolizer_new_process(pid);
	verbose("the process mapped code: reading its mappings again");
	symbolizer_refresh(s);
	return s;
}

struct symbolizer *symbolizer_new_process(pid_t pid)
{
	struct symbolizer *s;
	int err;

	if (!libdw_loaded()) {
		errno = ELIBACC;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->pid = pid;
	snprintf(s->root_path, sizeof(s->root_path), "/proc/%d/root", (int)pid);
	s->dwfl = dw.dwfl_begin(&proc_callbacks);
	if (!s->dwfl) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	err = symbolizer_refresh(s);
	if (err) {
		symbolizer_free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* "ffffffff81000000 T _text" or "ffffffffc0a01000 t name\t[module]": code symbols only. */
static int add_ksym(struct symbolizer *s, const char *line, size_t *cap)
{
	char type, name[512], module[128] = "kernel";
	uint64_t addr;
	struct ksym *k;

	if (sscanf(line, "%" SCNx64 " %c %511s [%127[^]]]", &addr, &type, name, module) < 3)
		return 0;
	if (!strchr("tTwW", type) || !addr)
		return 0;
	if (s->nksyms == *cap) {
		size_t n = *cap ? *cap * 2 : 65536;
		struct ksym *grown = realloc(s->ksyms, n * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->ksyms = grown;
		*cap = n;
	}
	k = &s->ksyms[s->nksyms++];
	k->addr = addr;
	k->name = s->names.len;
	sb_put(&s->names, name, strlen(name) + 1);
	/* Consecutive symbols share their module's name. */
	if (s->nksyms > 1 && !strcmp(s->names.buf + k[-1].module, module)) {
		k->module = k[-1].module;
	} else {
		k->module = s->names.len;
		sb_put(&s->names, module, strlen(module) + 1);
	}
	return 0;
}

struct symbolizer *symbolizer_new_kernel(const char *kallsyms)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	char line[1024];
	size_t cap = 0;
	FILE *f;
	int err = 0;

	if (!s)
		return NULL;
	f = fopen(kallsyms, "re");
	if (!f) {
		err = errno;
		free(s);
		errno = err;
		return NULL;
	}
	while (!err && fgets(line, sizeof(line), f))
		err = add_ksym(s, line, &cap);
	fclose(f);
	if (!err && !s->nksyms)
		err = -EPERM; /* every address shown as 0: kptr_restrict hides them from us */
	if (err) {
		symbolizer_free(s);
		errno = -err;
		return NULL;
	}
	qsort(s->ksyms, s->nksyms, sizeof(*s->ksyms), ksym_cmp);
	return s;
}

static void *read_kernel_symbols(void *arg)
{
	struct symbolizer_job *job = arg;

	job->sym = symbolizer_new_kernel(job->path);
	job->err = job->sym ? 0 : errno;
	return NULL;
}

void symbolizer_new_kernel_start(struct symbolizer_job *job, const char *kallsyms)
{
	*job = (struct symbolizer_job){ .path = kallsyms };
	job->threaded = !pthread_create(&job->thread, NULL, read_kernel_symbols, job);
}

struct symbolizer *symbolizer_new_kernel_wait(struct symbolizer_job *job)
{
	if (!job->path) {
		errno = ENOENT;
		return NULL;
	}
	if (job->threaded)
		pthread_join(job->thread, NULL);
	else
		read_kernel_symbols(job); /* no thread could be made: read here */
	job->path = NULL;
	errno = job->err;
	return job->sym;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dw.dwfl_end(s->dwfl);
	free(s->ksyms);
	sb_free(&s->names);
	free(s);
}

static bool symbolize_kernel(struct symbolizer *s, uint64_t addr, uint64_t lookup,
			     struct sym_frame *f)
{
	size_t lo = 0, hi = s->nksyms;

	/* The last symbol at or below lookup. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->ksyms[mid].addr <= lookup)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	f->function = s->names.buf + s->ksyms[lo - 1].name;
	f->module = s->names.buf + s->ksyms[lo - 1].module;
	f->offset = addr - s->ksyms[lo - 1].addr;
	return true;
}

bool symbolize(struct symbolizer *s, uint64_t addr, bool return_addr, struct sym_frame *f)
{
	uint64_t lookup = return_addr && addr ? addr - 1 : addr;
	Dwfl_Module *mod;
	Dwfl_Line *line;
	GElf_Off off;
	GElf_Sym sym;

	*f = (struct sym_frame){ .addr = addr };
	if (!s->dwfl)
		return symbolize_kernel(s, addr, lookup, f);
	mod = dw.dwfl_addrmodule(s->dwfl, lookup);
	if (!mod)
		return false;
	f->module = dw.dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	f->function = dw.dwfl_module_addrinfo(mod, lookup, &off, &sym, NULL, NULL, NULL);
	f->offset = off + (addr - lookup);
	line = dw.dwfl_module_getsrc(mod, lookup);
	if (line)
		f->file = dw.dwfl_lineinfo(line, NULL, &f->line, NULL, NULL, NULL);
	if (!f->file || f->line <= 0)
		f->file = NULL;
	return true;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

void sym_frame_text(struct strbuf *sb, const struct sym_frame *f)
{
	if (f->function)
		sb_printf(sb, "%s+0x%" PRIx64, f->function, f->offset);
	else
		sb_printf(sb, "0x%" PRIx64, f->addr);
	if (f->file)
		sb_printf(sb, " (%s:%d)", f->file, f->line);
	sb_printf(sb, " [%s]", f->module ? base_name(f->module) : "unknown");
}

static void json_str_key(struct strbuf *sb, const char *key, const char *value)
{
	sb_printf(sb, ",\"%s\":", key);
	sb_json_str(sb, value, strlen(value));
}

void sym_frame_json(struct strbuf *sb, const struct sym_frame *f)
{
	sb_printf(sb, "{\"addr\":%" PRIu64, f->addr);
	if (f->function) {
		json_str_key(sb, "function", f->function);
		sb_printf(sb, ",\"offset\":%" PRIu64, f->offset);
	}
	if (f->file) {
		json_str_key(sb, "file", f->file);
		sb_printf(sb, ",\"line\":%d", f->line);
	}
	if (f->module)
		json_str_key(sb, "module", f->module);
	sb_putc(sb, '}');
}

static bool name_starts(const char *name, const char *prefix)
{
	return name && !strncmp(name, prefix, strlen(prefix));
}

/*
 * A kernel stack taken by a program on a raw or BTF-typed tracepoint starts inside BPF: the
 * program (JIT code, which kallsyms may not name), bpf_trace_runN, and where several probes
 * share the tracepoint its __traceiter_ and __bpf_trace_ functions. The frames up to the code
 * that hit the tracepoint say nothing of it: how many to leave out.
 */
static size_t bpf_frames(struct symbolizer *s, const uint64_t *ips, size_t n)
{
	struct sym_frame f;
	size_t i, run = n;

	if (!s || s->pid)
		return 0;
	for (i = 0; i < n && i < 4 && ips[i] && run == n; i++)
		if (symbolize(s, ips[i], true, &f) && name_starts(f.function, "bpf_trace_run"))
			run = i;
	if (run == n)
		return 0;
	for (i = run + 1; i < n && ips[i] && symbolize(s, ips[i], true, &f); i++)
		if (!name_starts(f.function, "__bpf_trace_") &&
		    !name_starts(f.function, "__traceiter_"))
			break;
	return i;
}

void sym_stack_folded(struct symbolizer *s, const uint64_t *ips, size_t n, struct strbuf *sb)
{
	for (size_t i = bpf_frames(s, ips, n), first = i; i < n && ips[i]; i++) {
		struct sym_frame f = { .addr = ips[i] };

		if (s)
			symbolize(s, ips[i], true, &f);
		if (i > first)
			sb_putc(sb, ';');
		if (f.function)
			sb_puts(sb, f.function);
		else
			sb_printf(sb, "0x%llx", (unsigned long long)f.addr);
	}
}

void sym_stack(struct symbolizer *s, const uint64_t *ips, size_t n, struct strbuf *sb, bool json,
	       const char *indent)
{
	for (size_t i = bpf_frames(s, ips, n), first = i; i < n && ips[i]; i++) {
		struct sym_frame f = { .addr = ips[i] };

		if (s)
			symbolize(s, ips[i], true, &f);
		if (json) {
			if (i > first)
				sb_putc(sb, ',');
			sym_frame_json(sb, &f);
		} else {
			sb_puts(sb, indent);
			sym_frame_text(sb, &f);
			sb_putc(sb, '\n');
		}
	}
}
