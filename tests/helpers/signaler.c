// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture for kill: send or provoke signals and print what happened, one "key value" line
 * each, so the test knows the pids and results to look for.
 *
 *	signaler send SIG...	fork a child that blocks the signals, kill() it with each, reap it
 *	signaler queue SIG	the same with sigqueue() (rt_sigqueueinfo)
 *	signaler kill0 PID	kill(PID, 0)
 *	signaler segv		fork a child that writes through a NULL pointer, reap it
 *	signaler tgkill SIG	start a thread that blocks SIG, tgkill() it, join it
 *	signaler tkill SIG	the same with tkill()
 *	signaler pidfd SIG	fork a child that blocks SIG, pidfd_send_signal() it, reap it
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static void result(const char *what, int ret)
{
	printf("%s %d\n", what, ret < 0 ? -errno : ret);
}

/* A child with the signals blocked, so that they stay pending and it exits when told to. */
static pid_t blocked_child(const sigset_t *set, int *go)
{
	int ready[2], done[2];
	pid_t pid;
	char c;

	if (pipe(ready) || pipe(done))
		exit(1);
	pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_BLOCK, set, NULL);
		close(done[1]);
		if (write(ready[1], "r", 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(done[0]);
	if (read(ready[0], &c, 1) != 1)
		exit(1);
	printf("child %d\n", pid);
	*go = done[1];
	return pid;
}

static int send_signals(int argc, char **argv, bool queue)
{
	union sigval v = { .sival_int = 7 };
	sigset_t set;
	pid_t pid;
	int go;

	sigemptyset(&set);
	for (int i = 0; i < argc; i++)
		sigaddset(&set, atoi(argv[i]));
	pid = blocked_child(&set, &go);
	for (int i = 0; i < argc; i++)
		result("ret", queue ? sigqueue(pid, atoi(argv[i]), v) : kill(pid, atoi(argv[i])));
	close(go);
	waitpid(pid, NULL, 0);
	return 0;
}

static int kill0(pid_t pid)
{
	result("ret", kill(pid, 0));
	return 0;
}

static int segv(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		*(volatile int *)NULL = 1;
		_exit(0);
	}
	printf("child %d\n", pid);
	waitpid(pid, &status, 0);
	printf("signaled %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return 0;
}

static int thread_sig;
static pid_t thread_tid;
static pthread_barrier_t barrier;

static void *thread_main(void *arg)
{
	sigset_t set;
	int sig;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, thread_sig);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	thread_tid = gettid();
	pthread_barrier_wait(&barrier);
	sigwait(&set, &sig);
	return NULL;
}

static int thread_kill(int sig, bool tgkill)
{
	pthread_t t;
	sigset_t set;

	/* Blocked in the main thread too, so only the target thread can take it. */
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	thread_sig = sig;
	pthread_barrier_init(&barrier, NULL, 2);
	pthread_create(&t, NULL, thread_main, NULL);
	pthread_barrier_wait(&barrier);
	printf("pid %d\ntid %d\n", getpid(), thread_tid);
	if (tgkill)
		result("ret", syscall(SYS_tgkill, getpid(), thread_tid, sig));
	else
		result("ret", syscall(SYS_tkill, thread_tid, sig));
	pthread_join(t, NULL);
	return 0;
}

static int pidfd_send(int sig)
{
	sigset_t set;
	pid_t pid;
	int go, fd;

	sigemptyset(&set);
	sigaddset(&set, sig);
	pid = blocked_child(&set, &go);
	fd = syscall(SYS_pidfd_open, pid, 0);
	result("ret", fd < 0 ? fd : syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0));
	close(go);
	waitpid(pid, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	int ret = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "send"))
		ret = send_signals(argc - 2, argv + 2, false);
	else if (argc == 3 && !strcmp(argv[1], "queue"))
		ret = send_signals(1, argv + 2, true);
	else if (argc == 3 && !strcmp(argv[1], "kill0"))
		ret = kill0(atoi(argv[2]));
	else if (argc == 2 && !strcmp(argv[1], "segv"))
		ret = segv();
	else if (argc == 3 && !strcmp(argv[1], "tgkill"))
		ret = thread_kill(atoi(argv[2]), true);
	else if (argc == 3 && !strcmp(argv[1], "tkill"))
		ret = thread_kill(atoi(argv[2]), false);
	else if (argc == 3 && !strcmp(argv[1], "pidfd"))
		ret = pidfd_send(atoi(argv[2]));
	return ret;
}
