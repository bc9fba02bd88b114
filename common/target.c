// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wordexp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "target.h"
#include "uprobe.h"
#include "util.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\0';
}

/*
 * The line without the empty quotes ('' or "") that are only part of a word: they change nothing
 * in the shell (a''b is ab), but glibc's wordexp makes a word of its own of one at the start of a
 * word (''a gives "" and a). An empty quote that is a whole word stays: it is an empty argument.
 */
static char *drop_empty_quotes(const char *line)
{
	char *out = strdup(line), *w = out;
	char quote = 0;

	for (const char *p = line; out && *p; p++) {
		bool empty = !quote && (*p == '\'' || *p == '"') && p[1] == *p;

		if (empty && !((w == out || is_blank(w[-1])) && is_blank(p[2]))) {
			p++;
			continue;
		}
		*w++ = *p;
		if (*p == '\\' && quote != '\'' && p[1])
			*w++ = *++p;
		else if (!quote && (*p == '\'' || *p == '"'))
			quote = *p;
		else if (quote == *p)
			quote = 0;
	}
	if (out)
		*w = '\0';
	return out;
}

char **command_split(const char *line)
{
	char *words = drop_empty_quotes(line);
	wordexp_t we;
	char **argv;
	int err;

	/* WRDE_NOCMD: $(...) and `...` are refused, not run. */
	err = !words || wordexp(words, &we, WRDE_NOCMD);
	free(words);
	if (err)
		return NULL;
	if (!we.we_wordc) {
		wordfree(&we);
		return NULL;
	}
	argv = calloc(we.we_wordc + 1, sizeof(*argv));
	for (size_t i = 0; argv && i < we.we_wordc; i++) {
		argv[i] = strdup(we.we_wordv[i]);
		if (!argv[i]) {
			command_free(argv);
			argv = NULL;
		}
	}
	wordfree(&we);
	return argv;
}

void command_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static int executable(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	return access(path, X_OK) ? -errno : 0;
}

int command_path(const char *cmd, char *path, size_t size)
{
	const char *dirs = getenv("PATH");
	int err = -ENOENT;

	if (!*cmd)
		return -ENOENT;
	if (strchr(cmd, '/')) {
		snprintf(path, size, "%s", cmd);
		return executable(path);
	}
	if (!dirs)
		dirs = "/usr/local/bin:/usr/bin:/bin";
	while (*dirs) {
		size_t n = strcspn(dirs, ":");
		int e;

		/* An empty entry is the current directory. */
		snprintf(path, size, "%.*s%s%s", (int)n, n ? dirs : ".", "/", cmd);
		e = executable(path);
		if (!e)
			return 0;
		if (e == -EACCES)
			err = e; /* like execvp: EACCES if one was found but not runnable */
		dirs += n + (dirs[n] == ':');
	}
	return err;
}

/* In the child: wait for the go byte (EOF: the parent gave up), exec, or report errno. */
static void child_run(int go_fd, int err_fd, const char *path, char *const argv[])
{
	char go;
	int err;

	if (read(go_fd, &go, 1) != 1)
		_exit(127);
	execv(path, argv);
	err = errno;
	if (write(err_fd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int target_spawn(struct target *t, const char *path, char *const argv[])
{
	int go[2], errp[2];

	*t = (struct target){ .go_fd = -1, .err_fd = -1, .pidfd = -1, .child = true };
	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(errp, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	t->pid = fork();
	if (t->pid == 0) {
		close(go[1]);
		close(errp[0]);
		child_run(go[0], errp[1], path, argv);
	}
	close(go[0]);
	close(errp[1]);
	if (t->pid < 0) {
		int err = errno;

		close(go[1]);
		close(errp[0]);
		return -err;
	}
	t->go_fd = go[1];
	t->err_fd = errp[0];
	return 0;
}

int target_resume(struct target *t)
{
	int err = 0;
	ssize_t n;

	if (write(t->go_fd, "g", 1) != 1)
		return -errno;
	close(t->go_fd);
	t->go_fd = -1;
	/* EOF as the exec closes the pipe; an errno if it failed. */
	do {
		n = read(t->err_fd, &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	close(t->err_fd);
	t->err_fd = -1;
	if (n == sizeof(err)) {
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
		return -err;
	}
	return 0;
}

int target_watch(struct target *t, pid_t pid)
{
	*t = (struct target){ .pid = pid, .go_fd = -1, .err_fd = -1 };
	/* A pidfd becomes readable when the process exits; without one (before 5.3), kill(0). */
	t->pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (t->pidfd < 0 && errno == ESRCH)
		return -ESRCH;
	return 0;
}

bool target_exited(struct target *t)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

	if (!t->pid)
		return true;
	if (t->child) {
		if (waitpid(t->pid, NULL, WNOHANG) != t->pid)
			return false;
		t->pid = 0;
		return true;
	}
	if (t->pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	return kill(t->pid, 0) && errno == ESRCH;
}

void target_continue(const struct target *t)
{
	if (t->child && t->pid > 0 && t->go_fd < 0)
		kill(t->pid, SIGCONT);
}

void target_release(struct target *t)
{
	target_continue(t);
	if (t->child && t->go_fd >= 0 && t->pid > 0) {
		/* Closing the pipe makes it exit before exec; the kill is for good measure. */
		close(t->go_fd);
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	} else if (t->go_fd >= 0) {
		close(t->go_fd);
	}
	if (t->err_fd >= 0)
		close(t->err_fd);
	if (t->pidfd >= 0)
		close(t->pidfd);
	*t = (struct target){ .go_fd = -1, .err_fd = -1, .pidfd = -1 };
}

/* Fork the command, held before its exec. The child has its own copy of argv: ours goes. */
static int start_command(struct target *t, const char *command, char *exe, size_t size)
{
	char **argv = command_split(command);
	int err;

	if (!argv)
		usage_error("invalid --command '%s': expected a command and its arguments",
			    command);
	err = command_path(argv[0], exe, size);
	if (err)
		err_msg("cannot run '%s': %s", argv[0],
			err == -ENOENT ? "command not found" : strerror(-err));
	else if ((err = target_spawn(t, exe, argv)))
		err_msg("cannot start '%s': %s", exe, strerror(-err));
	command_free(argv);
	return err ? EXIT_RUNTIME : EXIT_OK;
}

int target_open(struct target *t, const char *command, pid_t pid, char *exe, size_t size)
{
	*t = (struct target){ .go_fd = -1, .err_fd = -1, .pidfd = -1 };
	if (command)
		return start_command(t, command, exe, size);
	if (pid && target_watch(t, pid)) {
		err_msg("no process %d", pid);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int target_go(struct target *t, const char *exe)
{
	int err = t->child ? target_resume(t) : 0;

	if (!err)
		return EXIT_OK;
	err_msg("cannot run '%s': %s", exe, strerror(-err));
	return EXIT_RUNTIME;
}

/* Where the dynamic linker of a command not started yet will find lib: its cache says. */
static int linker_library(const char *lib, char *path, size_t size)
{
	const char *env = getenv("LD_LIBRARY_PATH");
	int err;

	if (env && *env) {
		err_msg("LD_LIBRARY_PATH is set: the command may load %s from there, not from the "
			"linker's cache; give its path",
			lib);
		return EXIT_RUNTIME;
	}
	err = ldcache_find_library(LDCACHE_PATH, lib, path, size);
	if (!err)
		return EXIT_OK;
	if (err == -ENOENT)
		err_msg("no library named %s in the linker's cache (%s): give its path", lib,
			LDCACHE_PATH);
	else if (err == -EEXIST)
		err_msg("%s names more than one file in the linker's cache (%s): give its path",
			lib, LDCACHE_PATH);
	else
		err_msg("cannot read the linker's cache (%s): %s; give %s as a path", LDCACHE_PATH,
			strerror(-err), lib);
	return EXIT_RUNTIME;
}

/* No library named: the C library, which a static executable carries inside itself. */
int target_library(const struct target *t, const char *exe, const char *lib, char *path,
		   size_t size)
{
	const char *name = lib ? lib : "libc";

	if (lib && strchr(lib, '/')) {
		snprintf(path, size, "%s", lib);
		return EXIT_OK;
	}
	if (!t->child) {
		if (!proc_find_library(t->pid, name, path, size))
			return EXIT_OK;
		if (lib) {
			err_msg("process %d maps no library named %s", t->pid, lib);
			return EXIT_RUNTIME;
		}
		snprintf(path, size, "/proc/%d/exe", t->pid);
		return EXIT_OK;
	}
	if (!lib && elf_is_static(exe)) {
		snprintf(path, size, "%s", exe);
		return EXIT_OK;
	}
	/* A command not started yet maps nothing: it will use the C library we use. */
	if (!lib && !proc_find_library(getpid(), name, path, size))
		return EXIT_OK;
	return lib ? linker_library(lib, path, size) : EXIT_RUNTIME;
}
