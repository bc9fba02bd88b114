// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture for open: make one kind of open call, through syscall(2) so that the flags reach
 * the kernel exactly as written here, and print its result as "fd N" or "errno N".
 *
 *	opener [-n COMM] [-w] create PATH	openat(AT_FDCWD, PATH, O_WRONLY|O_CREAT|O_EXCL, 0640)
 *	opener [-n COMM] [-w] missing PATH	openat(AT_FDCWD, PATH, O_RDONLY)
 *	opener [-n COMM] [-w] at DIR NAME	openat(fd of DIR, NAME, O_RDONLY|O_CLOEXEC)
 *	opener [-n COMM] [-w] at2 DIR NAME	openat2(fd of DIR, NAME, O_RDONLY|O_CLOEXEC, BENEATH)
 *	opener [-n COMM] [-w] cwd DIR NAME	chdir(DIR), then openat(AT_FDCWD, NAME, O_RDONLY)
 *	opener [-n COMM] [-w] open PATH		open(PATH, O_RDONLY), the old syscall
 *	opener [-n COMM] [-w] creat PATH	creat(PATH, 0600)
 *	opener loop PATH N			openat(AT_FDCWD, PATH, O_RDONLY) N times; prints ns/op
 *
 * -n sets the comm; -w prints "ready PID" and waits for a line on stdin before the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static long sys_openat(int dfd, const char *path, int flags, int mode)
{
	return syscall(SYS_openat, dfd, path, flags, mode);
}

static void report(long ret)
{
	if (ret < 0)
		printf("errno %d\n", errno);
	else
		printf("fd %ld\n", ret);
}

static int dir_fd(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		perror(dir);
		exit(1);
	}
	printf("dirfd %d\n", fd);
	return fd;
}

static int loop(const char *path, long n)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		sys_openat(AT_FDCWD, path, O_RDONLY, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f ns/op\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}

static void wait_for_go(void)
{
	char line[16];

	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		exit(1);
}

int main(int argc, char **argv)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH };
	bool wait = false;
	int opt;

	while ((opt = getopt(argc, argv, "+n:w")) != -1) {
		if (opt == 'n')
			prctl(PR_SET_NAME, optarg);
		else if (opt == 'w')
			wait = true;
		else
			return 2;
	}
	argv += optind;
	argc -= optind;
	if (argc == 3 && !strcmp(argv[0], "loop"))
		return loop(argv[1], atol(argv[2]));
	if (wait)
		wait_for_go();
	if (argc == 2 && !strcmp(argv[0], "create"))
		report(sys_openat(AT_FDCWD, argv[1], O_WRONLY | O_CREAT | O_EXCL, 0640));
	else if (argc == 2 && !strcmp(argv[0], "missing"))
		report(sys_openat(AT_FDCWD, argv[1], O_RDONLY, 0));
	else if (argc == 3 && !strcmp(argv[0], "at"))
		report(sys_openat(dir_fd(argv[1]), argv[2], O_RDONLY | O_CLOEXEC, 0));
	else if (argc == 3 && !strcmp(argv[0], "at2"))
		report(syscall(SYS_openat2, dir_fd(argv[1]), argv[2], &how, sizeof(how)));
	else if (argc == 3 && !strcmp(argv[0], "cwd") && !chdir(argv[1]))
		report(sys_openat(AT_FDCWD, argv[2], O_RDONLY, 0));
#ifdef SYS_open
	else if (argc == 2 && !strcmp(argv[0], "open"))
		report(syscall(SYS_open, argv[1], O_RDONLY, 0));
	else if (argc == 2 && !strcmp(argv[0], "creat"))
		report(syscall(SYS_creat, argv[1], 0600));
#endif
	else
		return 2;
	return 0;
}
