// SPDX-License-Identifier: GPL-2.0
/*
 * --metrics [ADDR:]PORT (metrics_parse_addr, common/metrics.c). Properties: an accepted value
 * has a port from 1 to 65535 and the address family its text says (brackets: IPv6); without
 * ADDR it is the loopback address; and it prints back as text that parses to the same address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "fuzz.h"
#include "metrics.h"

static void check_same(const struct metrics_addr *a)
{
	const struct sockaddr_in *in = (const void *)&a->addr;
	const struct sockaddr_in6 *in6 = (const void *)&a->addr;
	char host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 16];
	struct metrics_addr again;

	if (a->addr.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "%s:%u", host, ntohs(in->sin_port));
	}
	FUZZ_ASSERT(metrics_parse_addr(text, &again));
	FUZZ_ASSERT(again.addr_len == a->addr_len && !memcmp(&again.addr, &a->addr, a->addr_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	struct metrics_addr a;

	if (metrics_parse_addr(s, &a)) {
		const struct sockaddr_in *in = (const void *)&a.addr;
		const struct sockaddr_in6 *in6 = (const void *)&a.addr;
		bool v6 = s[0] == '[';

		FUZZ_ASSERT(a.explicit_addr == (strchr(s, ':') != NULL));
		FUZZ_ASSERT(a.addr.ss_family == (v6 ? AF_INET6 : AF_INET));
		FUZZ_ASSERT(a.addr_len == (v6 ? sizeof(*in6) : sizeof(*in)));
		FUZZ_ASSERT((v6 ? in6->sin6_port : in->sin_port) != 0);
		if (!a.explicit_addr)
			FUZZ_ASSERT(in->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
		check_same(&a);
	}
	free(s);
	return 0;
}
