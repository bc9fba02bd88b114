// SPDX-License-Identifier: GPL-2.0
/*
 * A context-switch-heavy benchmark (and runqlat fixture): two processes pass one byte back and
 * forth over two pipes, ROUNDTRIPS times; each round trip is two wakeups and two context switches.
 * With -c CPU both are pinned to that CPU, so that every wakeup waits on the run queue (as with
 * taskset -c CPU perf bench sched pipe). Prints "N round trips in S s: R round trips/s, U usecs
 * each".
 *
 *	pingpong [-c CPU] ROUNDTRIPS
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Echo every byte from in back to out until in closes. */
static void echo(int in, int out)
{
	char c;

	while (read(in, &c, 1) == 1)
		if (write(out, &c, 1) != 1)
			break;
}

int main(int argc, char **argv)
{
	int to_child[2], to_parent[2], cpu = -1;
	long rounds;
	double start, took;
	char c = 'x';
	pid_t pid;

	if (argc == 4 && !strcmp(argv[1], "-c")) {
		cpu = atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	rounds = argc == 2 ? atol(argv[1]) : 0;
	if (rounds <= 0) {
		fprintf(stderr, "usage: pingpong [-c CPU] ROUNDTRIPS\n");
		return 2;
	}
	if ((cpu >= 0 && pin(cpu)) || pipe(to_child) || pipe(to_parent)) {
		perror("pingpong");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		echo(to_child[0], to_parent[1]);
		return 0;
	}
	close(to_child[0]);
	close(to_parent[1]);
	start = now();
	for (long i = 0; i < rounds; i++) {
		if (write(to_child[1], &c, 1) != 1 || read(to_parent[0], &c, 1) != 1) {
			perror("pingpong");
			return 1;
		}
	}
	took = now() - start;
	close(to_child[1]);
	waitpid(pid, NULL, 0);
	printf("%ld round trips in %.3f s: %.0f round trips/s, %.3f usecs each\n", rounds, took,
	       rounds / took, took * 1e6 / rounds);
	return 0;
}
