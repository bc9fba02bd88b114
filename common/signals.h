/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Signal names and numbers, both ways. Real-time signals are named from the C library's SIGRTMIN
 * (which glibc puts at 34, above the two it keeps for itself), as kill -l numbers them.
 */
#ifndef EBPFTRACE_SIGNALS_H
#define EBPFTRACE_SIGNALS_H

#include <stddef.h>

#define SIGNAL_MAX	 64 /* the kernel's _NSIG on x86, arm64 and most others */
#define SIGNAL_NAME_SIZE 16 /* "SIGRTMIN+30" and a NUL fit */

/* SIGTERM, SIGRTMIN+3, SIGRTMAX; SIG0 for 0 and SIG<n> for a number without a name. */
const char *signal_name(int sig, char *buf, size_t size);

/*
 * A signal by name, with or without SIG and in any case (TERM, SIGTERM, sigterm, RTMIN+3,
 * SIGRTMAX-1, SIG33), or by number (0 to SIGNAL_MAX). Returns the number, or -1.
 */
int signal_parse(const char *s);

#endif
