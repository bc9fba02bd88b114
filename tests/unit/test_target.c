// SPDX-License-Identifier: GPL-2.0
/* The process a subcommand traces: a command started held before its exec, or one watched. */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "target.h"
#include "unit.h"
#include "util.h"

TEST(target_open_holds_a_command_until_it_may_go)
{
	struct target t;
	char exe[4096] = "";

	CHECK_INT_EQ(target_open(&t, "true --an-argument", 0, exe, sizeof(exe)), EXIT_OK);
	CHECK(t.child && t.pid > 0 && t.go_fd >= 0);
	CHECK(strlen(exe) > 5 && !strcmp(exe + strlen(exe) - 5, "/true"));
	CHECK(!target_exited(&t));
	CHECK_INT_EQ(target_go(&t, exe), EXIT_OK);
	CHECK(t.go_fd < 0);
	while (!target_exited(&t))
		usleep(1000);
	target_release(&t);
}

/* Stopped for a hold, a command goes on with target_continue(), and so when it is released. */
static bool continued(pid_t pid, void (*let_go)(struct target *t), struct target *t)
{
	int status;

	kill(pid, SIGSTOP);
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		return false;
	let_go(t);
	/* Not forever: a command left stopped fails the test rather than hanging it. */
	for (int ms = 0; ms < 2000; ms++) {
		if (waitpid(pid, &status, WCONTINUED | WNOHANG) == pid)
			return WIFCONTINUED(status);
		usleep(1000);
	}
	return false;
}

static void target_continue_fn(struct target *t)
{
	target_continue(t);
}

TEST(target_continue_and_release_let_a_stopped_command_go_on)
{
	struct target t;
	char exe[4096] = "";
	pid_t pid;

	CHECK_INT_EQ(target_open(&t, "sleep 10", 0, exe, sizeof(exe)), EXIT_OK);
	CHECK_INT_EQ(target_go(&t, exe), EXIT_OK);
	pid = t.pid;
	CHECK(continued(pid, target_continue_fn, &t));
	CHECK(continued(pid, target_release, &t));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(target_open_watches_a_pid_or_nothing)
{
	struct target t;
	char exe[64] = "";

	CHECK_INT_EQ(target_open(&t, NULL, getpid(), exe, sizeof(exe)), EXIT_OK);
	CHECK(!t.child && t.pid == getpid() && !target_exited(&t));
	CHECK_INT_EQ(target_go(&t, exe), EXIT_OK); /* not ours to let go: nothing */
	target_release(&t);
	CHECK_INT_EQ(target_open(&t, NULL, 0, exe, sizeof(exe)), EXIT_OK);
	CHECK_INT_EQ(t.pid, 0);
	target_release(&t);
}

TEST(target_open_fails_for_a_command_not_found)
{
	struct target t;
	char exe[4096];

	CHECK_INT_EQ(target_open(&t, "no-such-command-ebt", 0, exe, sizeof(exe)), EXIT_RUNTIME);
	CHECK_INT_EQ(t.pid, 0);
	target_release(&t);
}
