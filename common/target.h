/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one process a subcommand traces: one given by -p, or a command it starts itself, held
 * before exec until the probes are attached so that its first call is seen.
 */
#ifndef EBPFTRACE_TARGET_H
#define EBPFTRACE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct target {
	pid_t pid;
	bool child; /* started by us */
	int go_fd;  /* child: written to let it exec; -1 once it did */
	int err_fd; /* child: carries errno when its exec fails */
	int pidfd;  /* to see a process that is not our child exit; -1 if unavailable */
};

/*
 * Split a command line into words as the shell would (quotes, backslashes; no command
 * substitution). Returns a NULL-terminated array to free with command_free, or NULL.
 */
char **command_split(const char *line);
void command_free(char **argv);

/* Find a command as execvp would: through PATH unless it has a slash. 0 or -ENOENT, -EACCES. */
int command_path(const char *cmd, char *path, size_t size);

/* Fork a child that will exec path with argv once target_resume() is called. 0 or -errno. */
int target_spawn(struct target *t, const char *path, char *const argv[]);
/* Let the child exec; returns 0, or -errno when the exec failed (the child is then reaped). */
int target_resume(struct target *t);
/* Watch a process we did not start. 0 or -ESRCH. */
int target_watch(struct target *t, pid_t pid);
/* Whether the process has exited (our child is reaped then). */
bool target_exited(struct target *t);
/*
 * The process to trace: command (-c) started and held before exec, its path written to exe, or
 * else process pid (-p), watched; neither: t->pid is 0. A command line that cannot be split ends
 * with a usage error; other failures return an exit code after a one-line message.
 */
int target_open(struct target *t, const char *command, pid_t pid, char *exe, size_t size);
/* Let a command we started exec, once the probes are attached: an exit code, as above. */
int target_go(struct target *t, const char *exe);
/*
 * The file that holds library lib (a path, or a name as proc_find_library() matches it) for the
 * target, written to path: the one the process maps, or for a command not started yet (whose
 * executable is exe) the one the dynamic linker's cache names. lib NULL is the C library: the one
 * the process maps or, started by us, the one we map; a static executable's own. Returns an exit
 * code after a one-line message when there is none.
 */
int target_library(const struct target *t, const char *exe, const char *lib, char *path,
		   size_t size);
/*
 * A command we started may wait stopped while its new mappings are read (the BPF side stops it
 * when it maps code): let it go on. Nothing for a process given by -p, or one gone.
 */
void target_continue(const struct target *t);
/*
 * Close what is ours; a child that never ran is killed and reaped, one that ran is let go on if
 * it waits stopped, as it would stay so once we are gone.
 */
void target_release(struct target *t);

#endif
