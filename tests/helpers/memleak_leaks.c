// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture for the memleak tests: leaks exact amounts from named functions and frees everything
 * else. The lines marked "leak:NAME" are the calls the tests expect in the frames.
 *
 *   memleak_leaks N run      leak (N mallocs of 1024 bytes and the rest), then exit
 *   memleak_leaks N wait     wait for a line on stdin, leak, print "leaked", wait for EOF
 *   memleak_leaks N staged   like wait, but leak_malloc first, print "first", wait for a line,
 *                            then the rest
 *   memleak_leaks 0 dlopen   wait for a line, load libz (not mapped before) and leak a deflate
 *                            stream's state from inside it, print "leaked", wait for EOF; exit 3
 *                            when there is no libz.so.1
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define MAX_MALLOCS 100000

static void *kept[MAX_MALLOCS + 1024];
static size_t nkept;

/* Kept reachable, so that the compiler cannot drop an allocation. */
static void keep(void *p)
{
	kept[nkept++] = p;
}

static void leak_malloc(long n)
{
	for (long i = 0; i < n; i++)
		keep(malloc(1024)); /* leak:malloc */
}

static void leak_calloc(void)
{
	for (int i = 0; i < 50; i++)
		keep(calloc(4, 16)); /* leak:calloc */
}

/* realloc(NULL) is a malloc inside glibc; the chain's last block is the leak. */
static void leak_realloc(void)
{
	char *p = realloc(NULL, 100);

	p = realloc(p, 200);
	p = realloc(p, 5000); /* leak:realloc */
	keep(p);
}

static void leak_posix_memalign(void)
{
	void *p;

	if (posix_memalign(&p, 64, 512) == 0) /* leak:posix_memalign */
		keep(p);
}

/* aligned_alloc and memalign are one function in glibc. */
static void leak_aligned_alloc(void)
{
	for (int i = 0; i < 3; i++)
		keep(aligned_alloc(64, 256)); /* leak:aligned_alloc */
}

static void leak_reallocarray(void)
{
	keep(reallocarray(NULL, 10, 30)); /* leak:reallocarray */
}

static void leak_mmap(void)
{
	int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *p = mmap(NULL, 8192, prot, flags, -1, 0); /* leak:mmap */

	if (p != MAP_FAILED)
		keep(p);
}

/* All of it freed: nothing from here may be reported. */
static void churn(void)
{
	void *blocks[200], *m;

	for (int i = 0; i < 200; i++)
		blocks[i] = malloc(777);
	for (int i = 0; i < 200; i++)
		free(blocks[i]);
	for (int i = 0; i < 20; i++) {
		blocks[i] = calloc(3, 100);
		blocks[i] = realloc(blocks[i], 2000);
	}
	for (int i = 0; i < 20; i++)
		free(blocks[i]);
	if (posix_memalign(&m, 128, 4000) == 0)
		free(m);
	free(aligned_alloc(64, 640));
	free(NULL);
	m = mmap(NULL, 4096 * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED)
		munmap(m, 4096 * 3);
}

static void leak_the_rest(void)
{
	leak_calloc();
	leak_realloc();
	leak_posix_memalign();
	leak_aligned_alloc();
	leak_reallocarray();
	leak_mmap();
	churn();
}

/* deflateInit_ allocates its state with malloc, from inside libz: the library's frame. */
static int leak_from_library(void)
{
	int (*init)(void *strm, int level, const char *version, int size);
	void *lib = dlopen("libz.so.1", RTLD_NOW);
	static char strm[512]; /* larger than any z_stream; zeroed: default allocators */

	if (!lib)
		return 3;
	*(void **)&init = dlsym(lib, "deflateInit_");
	/* zlib checks the version's first digit and the struct size: 112 on LP64. */
	if (!init || init(strm, 6, "1", 112) != 0)
		return 3;
	return 0;
}

static void wait_line(void)
{
	char line[64];

	if (!fgets(line, sizeof(line), stdin))
		exit(1);
}

static void say(const char *what)
{
	printf("%s\n", what);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100;
	const char *mode = argc > 2 ? argv[2] : "run";

	if (n < 0 || n > MAX_MALLOCS) {
		fprintf(stderr, "usage: memleak_leaks N [run|wait|staged] (N <= %d)\n",
			MAX_MALLOCS);
		return 2;
	}
	if (strcmp(mode, "run"))
		wait_line();
	if (!strcmp(mode, "dlopen")) {
		if (leak_from_library())
			return 3;
		say("leaked");
		while (getchar() != EOF)
			;
		return 0;
	}
	leak_malloc(n);
	if (!strcmp(mode, "staged")) {
		say("first");
		wait_line();
	}
	leak_the_rest();
	if (!strcmp(mode, "run"))
		return 0;
	say("leaked");
	/* The barrier: stay, with everything allocated, until the test closes stdin. */
	while (getchar() != EOF)
		;
	return 0;
}
