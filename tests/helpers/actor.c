// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture for the filters every subcommand shares: make one kind of event, COUNT times,
 * from a process whose pid and tid are known before it acts. It prints "ready PID TID" (TID is
 * the thread that will act), waits for a line on stdin, acts, and prints "done N" (N actions
 * made). With -t a second thread acts (tid != pid), and for exec the exec comes from it.
 *
 *	actor [-t] [-n COMM] [-c COUNT] open PATH		open(PATH, O_RDONLY)
 *	actor [-t] [-n COMM] [-c COUNT] kill PID SIG		kill(PID, SIG)
 *	actor [-t] [-n COMM] [-c COUNT] connect IPV4 PORT	a TCP connect, then close
 *	actor [-t] [-n COMM] exec PATH ARG...			execv(PATH, PATH ARG...)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static long count = 1;
static const char *comm;
static char **action;

static int act_open(void)
{
	int fd = open(action[1], O_RDONLY);

	if (fd >= 0)
		close(fd);
	return 0;
}

static int act_kill(void)
{
	kill(atoi(action[1]), atoi(action[2]));
	return 0;
}

static int act_connect(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(atoi(action[2])) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ret;

	if (fd < 0 || inet_pton(AF_INET, action[1], &in.sin_addr) != 1)
		return -1;
	ret = connect(fd, (struct sockaddr *)&in, sizeof(in));
	close(fd);
	return ret;
}

static int act_exec(void)
{
	execv(action[1], action + 1);
	return -1;
}

static void *act(void *arg)
{
	int (*fn)(void) = arg;
	char line[16];
	long done = 0;

	if (comm)
		prctl(PR_SET_NAME, comm);
	printf("ready %d %ld\n", getpid(), (long)syscall(SYS_gettid));
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		exit(1);
	for (long i = 0; i < count; i++)
		done += fn() == 0;
	printf("done %ld\n", done);
	fflush(stdout);
	return NULL;
}

static int (*action_fn(const char *name, int argc))(void)
{
	if (!strcmp(name, "open") && argc == 2)
		return act_open;
	if (!strcmp(name, "kill") && argc == 3)
		return act_kill;
	if (!strcmp(name, "connect") && argc == 3)
		return act_connect;
	if (!strcmp(name, "exec") && argc >= 2)
		return act_exec;
	return NULL;
}

int main(int argc, char **argv)
{
	int (*fn)(void);
	int thread = 0, opt;
	pthread_t t;

	while ((opt = getopt(argc, argv, "+tn:c:")) != -1) {
		if (opt == 't')
			thread = 1;
		else if (opt == 'n')
			comm = optarg;
		else if (opt == 'c')
			count = atol(optarg);
		else
			return 2;
	}
	if (optind >= argc)
		return 2;
	action = argv + optind;
	fn = action_fn(action[0], argc - optind);
	if (!fn)
		return 2;
	if (!thread) {
		act(fn);
		return 0;
	}
	if (pthread_create(&t, NULL, act, fn) || pthread_join(t, NULL))
		return 1;
	return 0;
}
