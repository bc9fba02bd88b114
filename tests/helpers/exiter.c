// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture for exit: end in a known way, printing "tid N" for every thread it ran (its own
 * first) so the test knows which threads to look for.
 *
 *	exiter code N [THREADS]		start THREADS threads that wait, then exit(N): all at once
 *	exiter signal SIG [THREADS]	the same, then die by signal number SIG (its default action)
 *	exiter joined N THREADS		start THREADS threads that end by themselves, join them, exit(N)
 *	exiter leader-first N		the main thread ends first; a second thread then calls exit(N)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_barrier_t started;
static int code;

static void print_tid(void)
{
	printf("tid %d\n", gettid());
	fflush(stdout);
}

static void *wait_forever(void *arg)
{
	(void)arg;
	print_tid();
	pthread_barrier_wait(&started);
	for (;;)
		pause();
	return NULL;
}

static void *end_now(void *arg)
{
	(void)arg;
	print_tid();
	return NULL;
}

/* Once the main thread is gone, the process ends with this thread's exit(). */
static void *exit_after_leader(void *arg)
{
	pid_t pid = getpid();
	char path[64];

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, pid);
	/* The leader stays a zombie in the list; its state letter turns to Z once it has exited. */
	for (;;) {
		char buf[512], *p;
		FILE *f = fopen(path, "r");

		if (!f || !fgets(buf, sizeof(buf), f))
			exit(90);
		fclose(f);
		p = strrchr(buf, ')');
		if (p && p[2] == 'Z')
			break;
		usleep(1000);
	}
	print_tid();
	exit(code);
}

static void start_threads(int n, void *(*fn)(void *), pthread_t *tids)
{
	for (int i = 0; i < n; i++)
		if (pthread_create(&tids[i], NULL, fn, NULL))
			exit(91);
}

int main(int argc, char **argv)
{
	int n = argc > 3 ? atoi(argv[3]) : 0;
	pthread_t tids[64];

	if (argc < 3 || n < 0 || n > 64) {
		fprintf(stderr, "usage: exiter code|signal|joined|leader-first N [THREADS]\n");
		return 2;
	}
	code = atoi(argv[2]);
	print_tid();
	if (!strcmp(argv[1], "joined")) {
		start_threads(n, end_now, tids);
		for (int i = 0; i < n; i++)
			pthread_join(tids[i], NULL);
		exit(code);
	}
	if (!strcmp(argv[1], "leader-first")) {
		start_threads(1, exit_after_leader, tids);
		pthread_exit(NULL);
	}
	pthread_barrier_init(&started, NULL, n + 1);
	start_threads(n, wait_forever, tids);
	pthread_barrier_wait(&started);
	if (!strcmp(argv[1], "signal")) {
		signal(code, SIG_DFL);
		raise(code);
		return 92;
	}
	exit(code);
}
