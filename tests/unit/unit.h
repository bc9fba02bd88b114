/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small unit-test framework: TEST(name) { ... } registers a test; CHECK* record a failure with
 * its location and go on. tests/unit/main.c runs every test and prints PASS/FAIL per test and
 * "unit: N passed, N failed, N skipped".
 */
#ifndef EBPFTRACE_UNIT_H
#define EBPFTRACE_UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

void unit_register(const char *name, void (*fn)(void));
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TEST(name)                                                     \
	static void test_##name(void);                                 \
	__attribute__((constructor)) static void register_##name(void) \
	{                                                              \
		unit_register(#name, test_##name);                     \
	}                                                              \
	static void test_##name(void)

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond))                                               \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                                        \
	do {                                                                                      \
		long long __a = (long long)(a), __b = (long long)(b);                             \
		if (__a != __b)                                                                   \
			unit_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, __a, __b); \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                                 \
	do {                                                                               \
		const char *__a = (a), *__b = (b);                                         \
		if (!__a || !__b || strcmp(__a, __b))                                      \
			unit_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, \
				  __a ? __a : "(null)", __b ? __b : "(null)");             \
	} while (0)

/* The first n bytes at a equal the string literal b, and n is its length. */
#define CHECK_MEM_EQ(a, n, b)                                                                \
	do {                                                                                 \
		size_t __n = (n);                                                            \
		if (__n != sizeof(b) - 1 || memcmp((a), (b), __n))                           \
			unit_fail(__FILE__, __LINE__, "%s == \"%.*s\", expected \"%s\"", #a, \
				  (int)__n, (const char *)(a), b);                           \
	} while (0)

#endif
