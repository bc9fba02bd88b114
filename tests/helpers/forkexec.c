// SPDX-License-Identifier: GPL-2.0
/*
 * Fork, and exec /bin/echo in the child with string literals as arguments: the child has not
 * touched the pages they are in, so a BPF read of them at syscall entry cannot fault them in.
 * Prints the child's pid.
 */
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

int main(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/echo", "echo", "ebpftrace-literal-argument", "second", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	printf("%d\n", pid);
	return 0;
}
