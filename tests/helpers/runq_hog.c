// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture for runqlat: THREADS threads, named "hog-worker" (the process keeps the name of
 * its executable), spin on the CPU for SECONDS, so that with more threads than CPUs they keep
 * preempting each other and wait on the run queue. Prints "ready" once the threads run.
 *
 * -n: each thread first unshares its pid namespace, which puts its future children in a new one
 * and leaves it in the old: its namespace and pid_for_children then differ.
 *
 *	runq_hog [-n] THREADS SECONDS
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double seconds;
static bool new_pidns;
static pthread_barrier_t started;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *spin(void *arg)
{
	double end = now() + seconds;
	volatile unsigned long n = 0;

	(void)arg;
	if (new_pidns && unshare(CLONE_NEWPID))
		perror("unshare");
	pthread_barrier_wait(&started);
	while (now() < end)
		n++;
	return NULL;
}

int main(int argc, char **argv)
{
	int threads;
	pthread_t *tids;

	if (argc == 4 && !strcmp(argv[1], "-n")) {
		new_pidns = true;
		argv++;
		argc--;
	}
	threads = argc == 3 ? atoi(argv[1]) : 0;
	seconds = argc == 3 ? atof(argv[2]) : 0;
	if (threads <= 0 || seconds <= 0) {
		fprintf(stderr, "usage: runq_hog [-n] THREADS SECONDS\n");
		return 2;
	}
	tids = calloc(threads, sizeof(*tids));
	if (!tids || pthread_barrier_init(&started, NULL, threads + 1))
		return 1;
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&tids[i], NULL, spin, NULL)) {
			perror("pthread_create");
			return 1;
		}
		pthread_setname_np(tids[i], "hog-worker");
	}
	pthread_barrier_wait(&started);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
