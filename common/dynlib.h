/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Libraries only some runs need (the metrics server, pcap files), opened when one does: linked
 * in, each would cost every run its start-up time and resident pages (libmicrohttpd brings
 * gnutls and its crypto: 2.5 MB, libpcap dbus and systemd: 1 MB, of a 4 MB budget).
 */
#ifndef EBPFTRACE_DYNLIB_H
#define EBPFTRACE_DYNLIB_H

#include <stddef.h>

/*
 * Open the first of sonames (NULL-terminated) that opens and fill fns[i] with the address of
 * names[i]. 0, or -1 after a message that says what needed it (for_what) and what failed.
 */
int dynlib_load(const char *const *sonames, const char *const *names, void **fns, size_t n,
		const char *for_what);

/*
 * A table of a library's functions, given as FNS(F) expanding to F(fn1) F(fn2)...: the union
 * `name` has a member of each function's own pointer type, named as the function, over the array
 * that DYNLIB_LOAD fills.
 */
#define DYNLIB_POINTER(fn) typeof(&fn) fn;
#define DYNLIB_NAME(fn)	   #fn,
#define DYNLIB_TABLE(name, FNS)                                            \
	static const char *const name##_names[] = { FNS(DYNLIB_NAME) };    \
	static union {                                                     \
		struct {                                                   \
			FNS(DYNLIB_POINTER)                                \
		};                                                         \
		void *fns[sizeof(name##_names) / sizeof(name##_names[0])]; \
	} name;                                                            \
	_Static_assert(sizeof(name) == sizeof(name.fns), #name ": a pointer per function")
#define DYNLIB_LOAD(name, sonames, for_what)         \
	dynlib_load(sonames, name##_names, name.fns, \
		    sizeof(name##_names) / sizeof(name##_names[0]), for_what)

#endif
