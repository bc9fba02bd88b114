// SPDX-License-Identifier: GPL-2.0
/*
 * The loops bench/run measures, one per traced operation. Each runs N operations or for SECONDS,
 * whichever ends first, then prints one line on stdout:
 *
 *	mode=open pid=1234 ops=1000000 ns=345678901 ns_per_op=345.7 cpu_ns=340123456
 *
 * cpu_ns is the CPU time the loop used (its children's included): unlike the wall time, it does
 * not grow while other processes on a busy machine hold the CPU.
 *
 *	workload [-w] [-c CPU] MODE N SECONDS
 *
 * -w: print "ready pid=PID" and wait for a byte on stdin before starting, so that a tracer given
 * the pid (-p PID) can attach first. -c: pin to that CPU (pingpong pins both of its processes).
 *
 * Modes (one operation each):
 *	open      open() of a path that does not exist: /ebpftrace-bench-PID-missing
 *	kill      kill(getpid(), 0)
 *	exec      fork, exec /bin/true ebpftrace-bench-PID, wait
 *	pingpong  a byte there and back over two pipes between two processes (two wakeups, two
 *		  context switches)
 *	malloc    free(malloc(64))
 *	connect   a TCP connect to a listener on 127.0.0.1, accept, close both ends
 *	spin      nothing: a CPU hog, to see what a tracer loses when it has to share the CPUs
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

static char marker[64]; /* names this run in the paths and arguments the tracers see */
static uint64_t deadline_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000 + (uint64_t)tv.tv_usec * 1000;
}

/* User and system time of this process and of its children that were waited for. */
static uint64_t cpu_ns(void)
{
	struct rusage self, children;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	return tv_ns(self.ru_utime) + tv_ns(self.ru_stime) + tv_ns(children.ru_utime) +
	       tv_ns(children.ru_stime);
}

static void die(const char *what)
{
	fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Checked every `mask + 1` operations, so that reading the clock stays out of the fast loops. */
static bool time_left(long i, long mask)
{
	return (i & mask) || now_ns() < deadline_ns;
}

static long loop_open(long n)
{
	char path[128];
	long i;

	snprintf(path, sizeof(path), "/%s-missing", marker);
	for (i = 0; i < n && time_left(i, 1023); i++)
		if (open(path, O_RDONLY) >= 0)
			die("open of a missing file worked");
	return i;
}

static long loop_kill(long n)
{
	pid_t self = getpid();
	long i;

	for (i = 0; i < n && time_left(i, 1023); i++)
		if (kill(self, 0))
			die("kill");
	return i;
}

static long loop_exec(long n)
{
	/*
	 * The arguments live on the stack: a fork child has no page-table entries yet for the
	 * parent's untouched file-backed pages (string literals), and a tracer that reads argv
	 * on exec entry cannot fault them in, so it would see no arguments at all.
	 */
	char arg0[] = "true", arg1[sizeof(marker)];
	char *const argv[] = { arg0, arg1, NULL };
	long i;

	memcpy(arg1, marker, sizeof(marker));
	for (i = 0; i < n && time_left(i, 0); i++) {
		pid_t pid = fork();
		int status;

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			execv("/bin/true", argv);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			die("exec of /bin/true");
	}
	return i;
}

static long loop_malloc(long n)
{
	/* volatile: the compiler may not pair the calls away. */
	void *volatile p;
	long i;

	for (i = 0; i < n && time_left(i, 1023); i++) {
		p = malloc(64);
		free(p);
	}
	return i;
}

/* The child echoes until its pipe closes; the parent counts round trips. */
static long loop_pingpong(long n)
{
	int there[2], back[2];
	char c = 'x';
	pid_t pid;
	long i;

	if (pipe(there) || pipe(back))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(there[1]);
		close(back[0]);
		while (read(there[0], &c, 1) == 1 && write(back[1], &c, 1) == 1)
			;
		_exit(0);
	}
	close(there[0]);
	close(back[1]);
	for (i = 0; i < n && time_left(i, 1023); i++)
		if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
			die("pipe round trip");
	close(there[1]);
	waitpid(pid, NULL, 0);
	return i;
}

static long loop_connect(long n)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	long i;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		die("listen on 127.0.0.1");
	for (i = 0; i < n && time_left(i, 0); i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), afd;

		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			die("connect");
		afd = accept(lfd, NULL, NULL);
		if (afd < 0)
			die("accept");
		/* Reset, not TIME_WAIT: thousands of those would use up the local ports. */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 },
			   sizeof(struct linger));
		close(fd);
		close(afd);
	}
	close(lfd);
	return i;
}

static long loop_spin(long n)
{
	long i;

	for (i = 0; i < n && time_left(i, 1023); i++)
		__asm__ volatile("" ::: "memory");
	return i;
}

static const struct {
	const char *name;
	long (*loop)(long n);
} modes[] = {
	{ "open", loop_open },	       { "kill", loop_kill },	  { "exec", loop_exec },
	{ "pingpong", loop_pingpong }, { "malloc", loop_malloc }, { "connect", loop_connect },
	{ "spin", loop_spin },
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* -w: the harness starts the tracer with our pid, and lets us go once it is ready. */
static void wait_for_go(void)
{
	char c;

	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	if (read(STDIN_FILENO, &c, 1) != 1)
		exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: workload [-w] [-c CPU] open|kill|exec|pingpong|malloc|connect|spin "
			"N SECONDS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long (*loop)(long n) = NULL;
	bool wait = false;
	uint64_t start, ns, cpu;
	long n, ops;
	double secs;
	int opt;

	while ((opt = getopt(argc, argv, "wc:")) != -1) {
		if (opt == 'w')
			wait = true;
		else if (opt == 'c')
			pin(atoi(optarg));
		else
			usage();
	}
	if (argc - optind != 3)
		usage();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[optind], modes[i].name))
			loop = modes[i].loop;
	n = atol(argv[optind + 1]);
	secs = atof(argv[optind + 2]);
	if (!loop || n <= 0 || secs <= 0)
		usage();
	snprintf(marker, sizeof(marker), "ebpftrace-bench-%d", (int)getpid());
	if (wait)
		wait_for_go();
	cpu = cpu_ns();
	start = now_ns();
	deadline_ns = start + (uint64_t)(secs * 1e9);
	ops = loop(n);
	ns = now_ns() - start;
	cpu = cpu_ns() - cpu;
	printf("mode=%s pid=%d ops=%ld ns=%llu ns_per_op=%.1f cpu_ns=%llu\n", argv[optind],
	       (int)getpid(), ops, (unsigned long long)ns, ops ? (double)ns / ops : 0.0,
	       (unsigned long long)cpu);
	return 0;
}
