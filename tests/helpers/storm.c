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
 *	storm [-n COMM] SECONDS THREADS connect ADDR	TCP connects ADDR to ADDR, reset
 *
 * An exec is counted whether or not it succeeds: the tracer reports failed ones too. A connect
 * is counted when it succeeds. For connect, the storm listens on ADDR (IPv4, a port of the
 * kernel's choosing) before it is ready, and THREADS server threads accept, one connection at a
 * time each: they send it a byte, read until the client's RST and close it. The client binds ADDR
 * (loopback would pick 127.0.0.1 otherwise), waits for the byte, so that the server has its end
 * before the RST comes, and closes with SO_LINGER {1, 0}: a RST and no TIME_WAIT, so that the
 * storm never runs out of ports. "done" comes once the servers have closed every connection.
 *
 * Before "go", each line "probe" on stdin makes one such connection from and to the address after
 * ADDR (ADDR + 1, its own listener), in the main thread, and answers "probed": events a tracer
 * can tell from the storm's, to find out that it sees events at all before the storm begins.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const char *what, *arg;
static struct timespec end;
static struct sockaddr_in server, client; /* connect: the listener's address; the client's */
static struct sockaddr_in probe_server, probe_client; /* connect: the same at ADDR + 1 */
static int listener = -1, probe_listener = -1;
static atomic_long served; /* connect: connections the server threads have closed */
static atomic_bool broken; /* connect: a server that sent no byte, or a failed socket call */

static void usage(void)
{
	fprintf(stderr, "usage: storm [-n COMM] SECONDS THREADS open PATH|kill PID|exit|exec PATH|"
			"connect ADDR\n");
	exit(2);
}

static bool valid_action(void)
{
	if (!strcmp(what, "exit"))
		return true;
	return arg && (!strcmp(what, "open") || !strcmp(what, "kill") || !strcmp(what, "exec") ||
		       !strcmp(what, "connect"));
}

/* A server thread: each connection gets a byte, and is closed once the client has reset it. */
static void *serve(void *unused)
{
	char byte = 0;
	int fd;

	(void)unused;
	for (;;) {
		fd = accept(listener, NULL, NULL);
		if (fd < 0) {
			broken = true;
			continue;
		}
		if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1)
			broken = true;
		while (recv(fd, &byte, 1, 0) > 0)
			;
		close(fd);
		served++;
	}
	return NULL;
}

/* A listener on addr, which gets the port the kernel chose; the socket, or -1. */
static int listen_on(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) || listen(fd, 4096) ||
	    getsockname(fd, (struct sockaddr *)addr, &len)) {
		perror("storm: listener");
		return -1;
	}
	return fd;
}

/* The listeners on ADDR and ADDR + 1 and the server threads; 0, or -1 when something failed. */
static int start_server(int threads)
{
	pthread_t tid;

	server.sin_family = AF_INET;
	if (inet_pton(AF_INET, arg, &server.sin_addr) != 1)
		usage();
	client = server;
	probe_client = server;
	probe_client.sin_addr.s_addr = htonl(ntohl(server.sin_addr.s_addr) + 1);
	probe_server = probe_client;
	listener = listen_on(&server);
	probe_listener = listen_on(&probe_server);
	if (listener < 0 || probe_listener < 0)
		return -1;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tid, NULL, serve, NULL))
			return -1;
	return 0;
}

/* A socket bound to from's address, that a close resets; -1 when something failed. */
static int rst_socket(const struct sockaddr_in *from)
{
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst)) ||
	    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)from, sizeof(*from))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A connect from the client address, closed by a RST; 1 if it succeeded. */
static int make_connect(void)
{
	int fd = rst_socket(&client), ok;
	char byte;

	if (fd < 0) {
		broken = true;
		return 0;
	}
	ok = !connect(fd, (struct sockaddr *)&server, sizeof(server));
	if (ok && recv(fd, &byte, 1, 0) != 1)
		broken = true;
	close(fd);
	return ok;
}

/* One connection from and to ADDR + 1, the same way as the storm's but in one thread; 0 or -1. */
static int probe(void)
{
	int fd = rst_socket(&probe_client), peer = -1, ok;
	char byte = 0;

	ok = fd >= 0 && !connect(fd, (struct sockaddr *)&probe_server, sizeof(probe_server)) &&
	     (peer = accept(probe_listener, NULL, NULL)) >= 0 && send(peer, &byte, 1, 0) == 1 &&
	     recv(fd, &byte, 1, 0) == 1;
	if (fd >= 0)
		close(fd);
	if (peer >= 0) {
		while (recv(peer, &byte, 1, 0) > 0)
			;
		close(peer);
	}
	return ok ? 0 : -1;
}

/* connect: wait (10 s at most) until the servers have closed all n connections. */
static int wait_served(long n)
{
	struct timespec ms = { .tv_nsec = 1000000 };

	for (int i = 0; i < 10000 && served < n; i++)
		nanosleep(&ms, NULL);
	if (served != n || broken) {
		fprintf(stderr, "storm: %ld connects, %ld served%s\n", n, (long)served,
			broken ? ", and a socket call failed" : "");
		return -1;
	}
	return 0;
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
	if (!strcmp(what, "connect"))
		return make_connect();
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

	if (!strcmp(what, "connect") && start_server(threads))
		return 1;
	printf("ready %d\n", getpid());
	fflush(stdout);
	for (;;) {
		if (!fgets(line, sizeof(line), stdin))
			return 1;
		if (strcmp(line, "probe\n") || strcmp(what, "connect"))
			break;
		if (probe())
			return 1;
		printf("probed\n");
		fflush(stdout);
	}
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
	if (!strcmp(what, "connect") && wait_served(total))
		return 1;
	printf("done %ld\n", total);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}
