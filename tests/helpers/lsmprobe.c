// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture for lsm-block: try one thing the policy may deny and print "errno N" (0: it
 * worked), or time a call in a loop and print "ns_per_call N".
 *
 *	lsmprobe connect|udp-connect|sendto|fastopen|uring-connect ADDR PORT
 *	lsmprobe udp-send-connected ADDR PORT      connect first, wait for a line on stdin, send
 *	lsmprobe open PATH r|w|rt                  read, write, or read-only with O_TRUNC
 *	lsmprobe uring-open PATH                   IORING_OP_OPENAT, read-only
 *	lsmprobe mmap-exec|mprotect-exec PATH      map the file executable, at once or later
 *	lsmprobe execveat PATH [ARG...]            execveat(fd, "", AT_EMPTY_PATH) on an O_PATH fd
 *	lsmprobe loop-connect ADDR PORT N          N connect() calls of a UDP socket
 *	lsmprobe loop-open PATH N                  N open()+close() calls
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static socklen_t make_addr(const char *text, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(atoi(port));
		return sizeof(*in);
	}
	if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(atoi(port));
		return sizeof(*in6);
	}
	fprintf(stderr, "bad address %s\n", text);
	exit(2);
}

static int result(int ok)
{
	printf("errno %d\n", ok ? 0 : errno);
	return 0;
}

/* One request through io_uring: a connect (path NULL) or an openat; prints its errno. */
static int uring_one(int fd, struct sockaddr_storage *ss, socklen_t len, const char *path)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int err = io_uring_queue_init(4, &ring, 0);

	if (err) {
		printf("no-io-uring %d\n", -err);
		return 0;
	}
	sqe = io_uring_get_sqe(&ring);
	if (path)
		io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
	else
		io_uring_prep_connect(sqe, fd, (struct sockaddr *)ss, len);
	io_uring_submit(&ring);
	err = io_uring_wait_cqe(&ring, &cqe);
	if (!err)
		err = cqe->res;
	io_uring_queue_exit(&ring);
	errno = err < 0 ? -err : 0;
	return result(err >= 0);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int net(const char *cmd, const char *addr, const char *port, long n)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, port, &ss);
	int dgram =
		strcmp(cmd, "connect") && strcmp(cmd, "fastopen") && strcmp(cmd, "uring-connect");
	int fd = socket(ss.ss_family, dgram ? SOCK_DGRAM : SOCK_STREAM, 0);
	struct sockaddr *sa = (struct sockaddr *)&ss;
	char line[16];
	double t0;

	if (fd < 0)
		return result(0);
	if (!strcmp(cmd, "connect") || !strcmp(cmd, "udp-connect"))
		return result(connect(fd, sa, len) == 0);
	if (!strcmp(cmd, "sendto"))
		return result(sendto(fd, "x", 1, 0, sa, len) == 1);
	if (!strcmp(cmd, "fastopen"))
		return result(sendto(fd, "x", 1, MSG_FASTOPEN, sa, len) >= 0 ||
			      errno == EINPROGRESS);
	if (!strcmp(cmd, "uring-connect"))
		return uring_one(fd, &ss, len, NULL);
	if (!strcmp(cmd, "udp-send-connected")) {
		if (connect(fd, sa, len))
			return result(0);
		printf("connected\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
		return result(send(fd, "x", 1, 0) == 1);
	}
	if (n <= 0) {
		fprintf(stderr, "unknown command %s\n", cmd);
		return 2;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		connect(fd, sa, len);
	printf("ns_per_call %.0f\n", (now_ns() - t0) / n);
	return 0;
}

static int map_exec(const char *cmd, const char *path)
{
	int fd = open(path, O_RDONLY);
	int later = !strcmp(cmd, "mprotect-exec");
	void *p;

	if (fd < 0)
		return result(0);
	p = mmap(NULL, 4096, PROT_READ | (later ? 0 : PROT_EXEC), MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED || !later)
		return result(p != MAP_FAILED);
	return result(mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0);
}

static int open_file(const char *path, const char *how)
{
	int flags = !strcmp(how, "w")	 ? O_WRONLY
		    : !strcmp(how, "rt") ? O_RDONLY | O_TRUNC
					 : O_RDONLY;
	int fd = open(path, flags);

	if (fd >= 0)
		close(fd);
	return result(fd >= 0);
}

static int loop_open(const char *path, long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);

		if (fd >= 0)
			close(fd);
	}
	printf("ns_per_call %.0f\n", (now_ns() - t0) / n);
	return 0;
}

static int exec_at(char **argv)
{
	int fd = open(argv[0], O_PATH | O_CLOEXEC);
	char *env[] = { NULL };

	if (fd < 0)
		return result(0);
	fflush(stdout);
	syscall(SYS_execveat, fd, "", argv, env, AT_EMPTY_PATH);
	return result(0);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && (!strcmp(cmd, "mmap-exec") || !strcmp(cmd, "mprotect-exec")))
		return map_exec(cmd, argv[2]);
	if (argc == 4 && !strcmp(cmd, "open"))
		return open_file(argv[2], argv[3]);
	if (argc == 3 && !strcmp(cmd, "uring-open"))
		return uring_one(-1, NULL, 0, argv[2]);
	if (argc == 4 && !strcmp(cmd, "loop-open"))
		return loop_open(argv[2], atol(argv[3]));
	if (argc >= 3 && !strcmp(cmd, "execveat"))
		return exec_at(argv + 2);
	if (argc == 5 && !strcmp(cmd, "loop-connect"))
		return net(cmd, argv[2], argv[3], atol(argv[4]));
	if (argc == 4)
		return net(cmd, argv[2], argv[3], 0);
	fprintf(stderr, "usage: see tests/helpers/lsmprobe.c\n");
	return 2;
}
