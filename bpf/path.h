/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBPFTRACE_BPF_PATH_H
#define EBPFTRACE_BPF_PATH_H

/* Room for a resolved path, NUL included (a power of two: the BPF side masks with it). */
#define PATH_BUF_LEN 4096

#endif
