// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture for event storms: THREADS threads make one kind of event as fast as they can for
 * SECONDS, each counting what it made, from a process whose pid is known before it starts. It
 * prints "ready PID", waits for a line on stdin, storms, prints "done N" (the events made, in
 * all), and exits at the end of its stdin (so that its own exit comes after the tracer stopped).
 *
 *	storm [-n COMM] SECONDS THREADS open PATH	openat(AT_FDCWD, PATH, O_RDONLY)
 *	storm [-n COMM] SECONDS THREADS kill PID	kill(PID, 0)
 *	storm [-n COMM] SECONDS THREADS exit		fork a child that _exits at once, reap it
 *	storm [-n COMM] SECONDS THREADS exec PATH	fork a child that execs PATH, reap it
 *
 * An exec is counted whether or not it succeeds: the tracer reports failed ones too.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *what, *arg;
static struct timespec end;

static void usage(void)
{
	fprintf(stderr,
		"usage: storm [-n COMM] SECONDS THREADS open PATH|kill PID|exit|exec PATH\n");
	exit(2);
}

static bool valid_action(void)
{
	if (!strcmp(what, "exit"))
		return true;
	return arg && (!strcmp(what, "open") || !strcmp(what, "kill") || !strcmp(what, "exec"));
}

/* One event; 1 if it was made, 0 if not (a fork that failed). */
static int make_event(void)
{
	pid_t pid;
	int fd;

	if (!strcmp(what, "open")) {
		fd = open(arg, O_RDONLY);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (!strcmp(what, "kill")) {
		kill(atoi(arg), 0);
		return 1;
	}
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		if (!strcmp(what, "exec"))
			execl(arg, arg, (char *)NULL);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 1;
}

static bool time_left(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec);
}

static void *storm(void *made)
{
	long n = 0;

	while (time_left())
		n += make_event();
	*(long *)made = n;
	return NULL;
}

int main(int argc, char **argv)
{
	int opt, threads;
	double seconds;
	long total = 0;
	char line[16];

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			usage();
		prctl(PR_SET_NAME, optarg);
	}
	if (argc - optind < 3)
		usage();
	seconds = atof(argv[optind]);
	threads = atoi(argv[optind + 1]);
	what = argv[optind + 2];
	arg = argv[optind + 3];
	if (seconds <= 0 || threads < 1 || threads > 64 || !valid_action())
		usage();

	pthread_t tids[threads];
	long made[threads];

	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)seconds;
	end.tv_nsec += (long)((seconds - (time_t)seconds) * 1e9);
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, storm, &made[i]))
			return 1;
	for (int i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		total += made[i];
	}
	printf("done %ld\n", total);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}
