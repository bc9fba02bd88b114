// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture for tcpconnlat: connect COUNT times, one after the other, to ADDR PORT (IPv4,
 * IPv6, or IPv4-mapped IPv6 written ::ffff:a.b.c.d) and print one line per connect: the local
 * port and the connect's errno (0 when it was established). SYNCNT sets TCP_SYNCNT, the SYN
 * retransmissions before a connect times out.
 *
 *	tcpconn ADDR PORT COUNT [SYNCNT]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int make_addr(const char *text, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int count, syncnt;

	if (argc < 4 || argc > 5 || make_addr(argv[1], atoi(argv[2]), &ss, &len)) {
		fprintf(stderr, "usage: tcpconn ADDR PORT COUNT [SYNCNT]\n");
		return 2;
	}
	count = atoi(argv[3]);
	syncnt = argc == 5 ? atoi(argv[4]) : 0;
	for (int i = 0; i < count; i++) {
		int fd = socket(ss.ss_family, SOCK_STREAM, 0), err = 0;

		if (fd < 0 ||
		    (syncnt && setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof(syncnt)))) {
			perror("tcpconn: socket");
			return 1;
		}
		if (connect(fd, (struct sockaddr *)&ss, len))
			err = errno;
		printf("%d %d\n", local_port(fd), err);
		fflush(stdout);
		close(fd);
	}
	return 0;
}
