// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "unit.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	void (*fn)(void);
} tests[MAX_TESTS];
static int ntests, failures;

void unit_register(const char *name, void (*fn)(void))
{
	if (ntests == MAX_TESTS)
		abort();
	tests[ntests].name = name;
	tests[ntests++].fn = fn;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	failures++;
}

int main(int argc, char **argv)
{
	const char *prefix = argc > 1 ? argv[1] : "";
	int passed = 0, failed = 0;

	for (int i = 0; i < ntests; i++) {
		int before = failures;

		tests[i].fn();
		if (failures == before) {
			printf("PASS %sunit/%s\n", prefix, tests[i].name);
			passed++;
		} else {
			printf("FAIL %sunit/%s\n", prefix, tests[i].name);
			failed++;
		}
		fflush(stdout);
	}
	printf("unit: %d passed, %d failed, 0 skipped\n", passed, failed);
	return failed ? 1 : 0;
}
