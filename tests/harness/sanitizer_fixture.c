// SPDX-License-Identifier: GPL-2.0
/*
 * A suite that prints a clean summary line and then fails the way a sanitizer makes a real one
 * fail: "leak" leaves a block that LeakSanitizer reports at exit, "overflow" overflows an int so
 * that UBSan aborts. Built with -fsanitize=address,undefined by tests/harness/run.sh.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *keep;

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	volatile int big = INT_MAX;

	printf("PASS fixture/one\nfixture: 1 passed, 0 failed, 0 skipped\n");
	fflush(stdout);
	if (!strcmp(mode, "leak")) {
		keep = malloc(64);
		keep = NULL;
	} else if (!strcmp(mode, "overflow")) {
		return big + argc;
	}
	return 0;
}
