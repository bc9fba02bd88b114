// SPDX-License-Identifier: GPL-2.0
/*
 * Numbers, sizes and durations (common/util.c): parse_u64, parse_size, parse_seconds. What is
 * accepted is exactly what the text says: a number parse_u64 takes prints back as its digits
 * (without leading zeros), a size is that number shifted by its suffix, seconds are > 0 and
 * finite.
 */
#include <math.h>
#include "fuzz.h"
#include "util.h"

static const char *without_leading_zeros(const char *s)
{
	while (s[0] == '0' && s[1])
		s++;
	return s;
}

static void check_u64(const char *s)
{
	char back[24];
	uint64_t v = 0, lo = 0, hi = UINT64_MAX;

	if (!parse_u64(s, lo, hi, &v))
		return;
	snprintf(back, sizeof(back), "%llu", (unsigned long long)v);
	FUZZ_ASSERT(!strcmp(back, without_leading_zeros(s)));
	/* The bounds are kept: v is refused just outside them. */
	FUZZ_ASSERT(v == UINT64_MAX || !parse_u64(s, v + 1, UINT64_MAX, &lo));
	FUZZ_ASSERT(v == 0 || !parse_u64(s, 0, v - 1, &lo));
}

static void check_size(const char *s)
{
	static const char suffixes[] = "kKmMgG";
	size_t n = strlen(s);
	uint64_t v, digits;
	unsigned int shift = 0;
	char *num;

	if (!parse_size(s, &v))
		return;
	FUZZ_ASSERT(n > 0);
	num = strndup(s, n);
	if (!num)
		abort();
	if (strchr(suffixes, s[n - 1])) {
		shift = 10 * (1 + (strchr(suffixes, s[n - 1]) - suffixes) / 2);
		num[n - 1] = '\0';
	}
	FUZZ_ASSERT(parse_u64(num, 0, UINT64_MAX, &digits));
	FUZZ_ASSERT(digits <= UINT64_MAX >> shift && v == digits << shift);
	free(num);
}

static void check_seconds(const char *s)
{
	double v;

	if (parse_seconds(s, &v))
		FUZZ_ASSERT(isfinite(v) && v > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);

	check_u64(s);
	check_size(s);
	check_seconds(s);
	free(s);
	return 0;
}
