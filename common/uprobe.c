// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "uprobe.h"

/* The symbol's address in the file's address space, from one symbol table. */
static bool find_symbol(Elf *elf, Elf_Scn *scn, const char *name, uint64_t *vaddr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	bool found_local = false;
	GElf_Shdr shdr;

	if (!data || !gelf_getshdr(scn, &shdr) || !shdr.sh_entsize)
		return false;
	for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
		GElf_Sym sym;
		const char *n;

		if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		n = elf_strptr(elf, shdr.sh_link, sym.st_name);
		if (!n || strcmp(n, name))
			continue;
		/* The global definition is what callers reach; a local one when there is none. */
		if (GELF_ST_BIND(sym.st_info) != STB_LOCAL) {
			*vaddr = sym.st_value;
			return true;
		}
		if (!found_local)
			*vaddr = sym.st_value;
		found_local = true;
	}
	return found_local;
}

static bool vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *offset)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr &&
		    vaddr < ph.p_vaddr + ph.p_filesz) {
			*offset = vaddr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

static Elf *elf_open(const char *path, int *fd)
{
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return NULL;
	elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(*fd);
		errno = ENOEXEC;
		return NULL;
	}
	return elf;
}

int elf_func_offset(const char *path, const char *name, uint64_t *offset)
{
	static const Elf64_Word tables[] = { SHT_SYMTAB, SHT_DYNSYM };
	uint64_t vaddr = 0;
	bool found = false;
	int fd, err;
	Elf *elf;

	elf = elf_open(path, &fd);
	if (!elf)
		return -errno;
	for (size_t t = 0; t < 2 && !found; t++) {
		Elf_Scn *scn = NULL;
		GElf_Shdr shdr;

		while (!found && (scn = elf_nextscn(elf, scn)))
			if (gelf_getshdr(scn, &shdr) && shdr.sh_type == tables[t])
				found = find_symbol(elf, scn, name, &vaddr);
	}
	err = !found ? -ENOENT : vaddr_to_offset(elf, vaddr, offset) ? 0 : -ENOEXEC;
	elf_end(elf);
	close(fd);
	return err;
}

bool elf_is_static(const char *path)
{
	bool interp = false;
	size_t n;
	int fd;
	Elf *elf = elf_open(path, &fd);

	if (!elf)
		return false;
	if (elf_getphdrnum(elf, &n))
		interp = true; /* unreadable: not known to be static */
	for (size_t i = 0; i < n && !interp; i++) {
		GElf_Phdr ph;

		interp = gelf_getphdr(elf, i, &ph) && ph.p_type == PT_INTERP;
	}
	elf_end(elf);
	close(fd);
	return !interp;
}

static bool library_matches(const char *file, const char *lib)
{
	const char *base = strrchr(file, '/');
	size_t n = strlen(lib);

	base = base ? base + 1 : file;
	return !strncmp(base, lib, n) && (!base[n] || base[n] == '.' || base[n] == '-');
}

int proc_find_library(pid_t pid, const char *lib, char *path, size_t size)
{
	char line[4096 + 128], file[4096];
	int err = -ENOENT;
	FILE *maps;

	snprintf(line, sizeof(line), "/proc/%d/maps", (int)pid);
	maps = fopen(line, "re");
	if (!maps)
		return -errno;
	while (err && fgets(line, sizeof(line), maps)) {
		/* start-end perms offset dev inode path */
		if (sscanf(line, "%*s %*s %*s %*s %*s %4095[^\n]", file) != 1 || file[0] != '/' ||
		    strstr(file, " (deleted)") || !library_matches(file, lib))
			continue;
		snprintf(path, size, "/proc/%d/root%s", (int)pid, file);
		err = 0;
	}
	fclose(maps);
	return err;
}

/* glibc's ld.so.cache, the format ldconfig has written alone since glibc 2.32. */
#define LDCACHE_MAGIC "glibc-ld.so.cache1.1"

struct ldcache_head {
	char magic[sizeof(LDCACHE_MAGIC) - 1];
	uint32_t nlibs, len_strings;
	uint8_t flags, pad[3];
	uint32_t extension_offset, unused[3];
};

struct ldcache_entry {
	int32_t flags;
	uint32_t key, value; /* offsets of the soname and the path, from the head */
	uint32_t osversion;
	uint64_t hwcap; /* non-zero: a build for a CPU level (glibc-hwcaps) */
};

/* An ELF libc6 library of our own architecture (ldconfig's FLAG_ELF_LIBC6 and FLAG_*_LIB64). */
#if defined(__x86_64__)
#define LDCACHE_OUR_FLAGS 0x0303
#elif defined(__aarch64__)
#define LDCACHE_OUR_FLAGS 0x0a03
#else
#error "LDCACHE_OUR_FLAGS: ldconfig's flags for this architecture's libraries"
#endif

static const char *ldcache_string(const char *cache, size_t size, uint32_t off)
{
	return off < size && memchr(cache + off, '\0', size - off) ? cache + off : NULL;
}

/*
 * The one file lib names in the cache read into buf, resolved (libfoo.so.1 and the libfoo.so of
 * its -dev package are links to one file); -ENOENT, or -EEXIST when it names more than one.
 */
static int ldcache_lookup(const char *buf, size_t size, const char *lib, char *path,
			  size_t path_size)
{
	const struct ldcache_head *h = (const void *)buf;
	char found[PATH_MAX] = "", file[PATH_MAX];

	if (size < sizeof(*h) || memcmp(h->magic, LDCACHE_MAGIC, sizeof(h->magic)) ||
	    h->nlibs > (size - sizeof(*h)) / sizeof(struct ldcache_entry))
		return -ENOEXEC;
	for (uint32_t i = 0; i < h->nlibs; i++) {
		const struct ldcache_entry *e =
			(const struct ldcache_entry *)(buf + sizeof(*h)) + i;
		const char *name = ldcache_string(buf, size, e->key);
		const char *value = ldcache_string(buf, size, e->value);

		if ((e->flags & 0xffff) != LDCACHE_OUR_FLAGS || !name || !value ||
		    !library_matches(name, lib) || !realpath(value, file))
			continue;
		if (e->hwcap || (*found && strcmp(found, file)))
			return -EEXIST;
		memcpy(found, file, sizeof(found));
	}
	if (!*found)
		return -ENOENT;
	snprintf(path, path_size, "%s", found);
	return 0;
}

int ldcache_find_library(const char *cache, const char *lib, char *path, size_t size)
{
	char *buf = NULL;
	struct stat st;
	int fd, err;

	fd = open(cache, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (st.st_size > (64 << 20)) /* 865 libraries take 56 KB here: not a cache */
		err = -EFBIG;
	else if (!(buf = malloc(st.st_size + 1)))
		err = -ENOMEM;
	else
		err = read(fd, buf, st.st_size) == st.st_size ? 0 : -EIO;
	close(fd);
	if (!err)
		err = ldcache_lookup(buf, st.st_size, lib, path, size);
	free(buf);
	return err;
}

int read_file_at(const char *path, uint64_t offset, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, offset);
	close(fd);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* push %reg, with or without the REX.B prefix of r8..r15: emulated by x86's uprobes. */
static bool is_push(const uint8_t *code, size_t len)
{
	if (len >= 1 && code[0] >= 0x50 && code[0] <= 0x57)
		return true;
	return len >= 2 && code[0] == 0x41 && code[1] >= 0x50 && code[1] <= 0x57;
}

size_t skip_null_check(const uint8_t *code, size_t len)
{
#if defined(__x86_64__)
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const uint8_t test_rdi[] = { 0x48, 0x85, 0xff };
	size_t at = 0;
	int32_t rel;

	if (len >= sizeof(endbr64) && !memcmp(code, endbr64, sizeof(endbr64)))
		at += sizeof(endbr64);
	if (len < at + sizeof(test_rdi) || memcmp(code + at, test_rdi, sizeof(test_rdi)))
		return 0;
	at += sizeof(test_rdi);
	if (len >= at + 2 && code[at] == 0x74) { /* je rel8 */
		rel = (int8_t)code[at + 1];
		at += 2;
	} else if (len >= at + 6 && code[at] == 0x0f && code[at + 1] == 0x84) { /* je rel32 */
		memcpy(&rel, code + at + 2, sizeof(rel));
		at += 6;
	} else {
		return 0;
	}
	/* The NULL case must leave (jump forward, past the probe), the rest fall through. */
	if (rel <= 0 || !is_push(code + at, len - at))
		return 0;
	return at;
#else
	(void)code;
	(void)len;
	return 0;
#endif
}
