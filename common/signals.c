// SPDX-License-Identifier: GPL-2.0
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "signals.h"
#include "util.h"

/* Numbered by this C library, which matches the kernel of the same architecture. */
static const struct {
	int sig;
	const char *name;
} names[] = {
	{ SIGHUP, "HUP" },
	{ SIGINT, "INT" },
	{ SIGQUIT, "QUIT" },
	{ SIGILL, "ILL" },
	{ SIGTRAP, "TRAP" },
	{ SIGABRT, "ABRT" },
	{ SIGBUS, "BUS" },
	{ SIGFPE, "FPE" },
	{ SIGKILL, "KILL" },
	{ SIGUSR1, "USR1" },
	{ SIGSEGV, "SEGV" },
	{ SIGUSR2, "USR2" },
	{ SIGPIPE, "PIPE" },
	{ SIGALRM, "ALRM" },
	{ SIGTERM, "TERM" },
#ifdef SIGSTKFLT
	{ SIGSTKFLT, "STKFLT" },
#endif
	{ SIGCHLD, "CHLD" },
	{ SIGCONT, "CONT" },
	{ SIGSTOP, "STOP" },
	{ SIGTSTP, "TSTP" },
	{ SIGTTIN, "TTIN" },
	{ SIGTTOU, "TTOU" },
	{ SIGURG, "URG" },
	{ SIGXCPU, "XCPU" },
	{ SIGXFSZ, "XFSZ" },
	{ SIGVTALRM, "VTALRM" },
	{ SIGPROF, "PROF" },
	{ SIGWINCH, "WINCH" },
	{ SIGIO, "IO" },
#ifdef SIGPWR
	{ SIGPWR, "PWR" },
#endif
	{ SIGSYS, "SYS" },
	/* Other names for the same signals: accepted, never printed (the first name wins). */
	{ SIGABRT, "IOT" },
	{ SIGIO, "POLL" },
	{ SIGCHLD, "CLD" },
};

const char *signal_name(int sig, char *buf, size_t size)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (names[i].sig == sig) {
			snprintf(buf, size, "SIG%s", names[i].name);
			return buf;
		}
	}
	if (sig == SIGRTMIN)
		snprintf(buf, size, "SIGRTMIN");
	else if (sig == SIGRTMAX)
		snprintf(buf, size, "SIGRTMAX");
	else if (sig > SIGRTMIN && sig < SIGRTMAX)
		snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, size, "SIG%d", sig);
	return buf;
}

/* RTMIN, RTMIN+n, RTMAX, RTMAX-n: inside SIGRTMIN..SIGRTMAX, or -1. */
static int parse_rt(const char *s)
{
	int base, sign;
	uint64_t n = 0;

	if (!strncasecmp(s, "RTMIN", 5)) {
		base = SIGRTMIN;
		sign = 1;
	} else if (!strncasecmp(s, "RTMAX", 5)) {
		base = SIGRTMAX;
		sign = -1;
	} else {
		return -1;
	}
	s += 5;
	if (*s && (*s != (sign > 0 ? '+' : '-') || !parse_u64(s + 1, 0, SIGRTMAX - SIGRTMIN, &n)))
		return -1;
	return base + sign * (int)n;
}

int signal_parse(const char *s)
{
	uint64_t n;
	int rt;

	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	if (parse_u64(s, 0, SIGNAL_MAX, &n))
		return n;
	rt = parse_rt(s);
	if (rt >= 0)
		return rt;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	return -1;
}
