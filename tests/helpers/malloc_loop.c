// SPDX-License-Identifier: GPL-2.0
/*
 * A malloc/free-heavy loop, for the overhead of memleak: free(malloc(SIZE)) N times, then one
 * line on stderr (stdout stays free for a tracer's output): "N ops in S s: R ops/s, T ns/op;
 * cpu: R ops/s, T ns/op". The cpu figures count the CPU time of the process only, probes
 * included (they run in its context), so other load on the machine barely moves them.
 *
 *   malloc_loop N [SIZE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	size_t size = argc > 2 ? (size_t)atol(argv[2]) : 64;
	/* volatile: the compiler may not pair the calls away. */
	void *volatile p;
	double start, cpu_start, secs, cpu;

	if (n <= 0) {
		fprintf(stderr, "usage: malloc_loop N [SIZE]\n");
		return 2;
	}
	start = now(CLOCK_MONOTONIC);
	cpu_start = now(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < n; i++) {
		p = malloc(size);
		free(p);
	}
	secs = now(CLOCK_MONOTONIC) - start;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
	fprintf(stderr, "%ld ops in %.3f s: %.0f ops/s, %.1f ns/op; cpu: %.0f ops/s, %.1f ns/op\n",
		n, secs, n / secs, secs * 1e9 / n, n / cpu, cpu * 1e9 / n);
	return 0;
}
