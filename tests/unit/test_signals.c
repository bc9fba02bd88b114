// SPDX-License-Identifier: GPL-2.0
/* Signal names and numbers, both ways. */
#include <signal.h>
#include "signals.h"
#include "unit.h"

static const char *name(int sig)
{
	static char buf[SIGNAL_NAME_SIZE];

	return signal_name(sig, buf, sizeof(buf));
}

TEST(signal_names)
{
	CHECK_STR_EQ(name(SIGTERM), "SIGTERM");
	CHECK_STR_EQ(name(SIGKILL), "SIGKILL");
	CHECK_STR_EQ(name(SIGSEGV), "SIGSEGV");
	CHECK_STR_EQ(name(SIGCHLD), "SIGCHLD"); /* not its alias CLD */
	CHECK_STR_EQ(name(SIGABRT), "SIGABRT"); /* not IOT */
	CHECK_STR_EQ(name(SIGIO), "SIGIO");
	CHECK_STR_EQ(name(SIGSYS), "SIGSYS");
	CHECK_STR_EQ(name(0), "SIG0");
	CHECK_STR_EQ(name(SIGRTMIN), "SIGRTMIN");
	CHECK_STR_EQ(name(SIGRTMIN + 3), "SIGRTMIN+3");
	CHECK_STR_EQ(name(SIGRTMAX - 1), "SIGRTMIN+29");
	CHECK_STR_EQ(name(SIGRTMAX), "SIGRTMAX");
	CHECK_STR_EQ(name(32), "SIG32"); /* below glibc's SIGRTMIN: kept by the C library */
	CHECK_STR_EQ(name(99), "SIG99");
	CHECK_STR_EQ(name(-1), "SIG-1");
}

TEST(signal_parse_names_and_numbers)
{
	CHECK_INT_EQ(signal_parse("TERM"), SIGTERM);
	CHECK_INT_EQ(signal_parse("SIGTERM"), SIGTERM);
	CHECK_INT_EQ(signal_parse("sigterm"), SIGTERM);
	CHECK_INT_EQ(signal_parse("Kill"), SIGKILL);
	CHECK_INT_EQ(signal_parse("9"), 9);
	CHECK_INT_EQ(signal_parse("0"), 0);
	CHECK_INT_EQ(signal_parse("SIG0"), 0);
	CHECK_INT_EQ(signal_parse("SIG33"), 33);
	CHECK_INT_EQ(signal_parse("64"), 64);
	CHECK_INT_EQ(signal_parse("IOT"), SIGABRT);
	CHECK_INT_EQ(signal_parse("CLD"), SIGCHLD);
	CHECK_INT_EQ(signal_parse("POLL"), SIGIO);
	CHECK_INT_EQ(signal_parse("RTMIN"), SIGRTMIN);
	CHECK_INT_EQ(signal_parse("SIGRTMIN+3"), SIGRTMIN + 3);
	CHECK_INT_EQ(signal_parse("rtmax-2"), SIGRTMAX - 2);
	CHECK_INT_EQ(signal_parse("RTMAX"), SIGRTMAX);
}

TEST(signal_parse_rejects)
{
	CHECK_INT_EQ(signal_parse(""), -1);
	CHECK_INT_EQ(signal_parse("SIG"), -1);
	CHECK_INT_EQ(signal_parse("FOO"), -1);
	CHECK_INT_EQ(signal_parse("SIGTERMX"), -1);
	CHECK_INT_EQ(signal_parse("65"), -1);
	CHECK_INT_EQ(signal_parse("-9"), -1);
	CHECK_INT_EQ(signal_parse("9x"), -1);
	CHECK_INT_EQ(signal_parse("RTMIN-1"), -1);
	CHECK_INT_EQ(signal_parse("RTMAX+1"), -1);
	CHECK_INT_EQ(signal_parse("RTMIN+"), -1);
	CHECK_INT_EQ(signal_parse("RTMIN+31"), -1);
}

TEST(every_signal_name_parses_back)
{
	for (int sig = 0; sig <= SIGNAL_MAX; sig++)
		CHECK_INT_EQ(signal_parse(name(sig)), sig);
}
