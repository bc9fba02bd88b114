// SPDX-License-Identifier: GPL-2.0
/* The output layer: the same fields as an exact table row and an exact JSON object. */
#include "opts.h"
#include "output.h"
#include "unit.h"

static const struct out_field fields[] = {
	{ "pid", "PID", 7 },   { "comm", "COMM", -8 }, { "ret", "RET", 6 },
	{ "hidden", NULL, 0 }, { "argv", "ARGS", 0 },
};

static void start(bool json)
{
	common_opts.json = json;
	common_opts.timestamp = false;
	out_init();
	out_buf()->len = 0;
}

static void write_row(int ret)
{
	out_row_begin("exec", 0);
	out_u64(&fields[0], 42);
	out_str(&fields[1], "sh", 16);
	out_result(&fields[2], ret);
	out_str(&fields[3], "x", 16);
	out_array_begin(&fields[4], false);
	out_array_str("a b", 3, false);
	out_array_str("c", 1, true);
	out_array_end(true);
	out_row_end();
}

TEST(table_header_and_row)
{
	struct strbuf *sb;

	start(false);
	out_header(fields, 5);
	write_row(-2);
	sb = out_buf();
	CHECK_MEM_EQ(sb->buf, sb->len,
		     "    PID COMM        RET ARGS\n"
		     "     42 sh       ENOENT a b c... ...\n");
	sb->len = 0;
}

TEST(json_row_has_every_field)
{
	struct strbuf *sb;

	start(true);
	out_header(fields, 5);
	write_row(-2);
	sb = out_buf();
	CHECK_MEM_EQ(
		sb->buf, sb->len,
		"{\"type\":\"exec\",\"pid\":42,\"comm\":\"sh\",\"ret\":-2,\"error\":\"ENOENT\","
		"\"hidden\":\"x\",\"argv\":[\"a b\",\"c\"]}\n");
	sb->len = 0;
}

TEST(json_success_has_no_error_key)
{
	struct strbuf *sb;

	start(true);
	write_row(3);
	sb = out_buf();
	CHECK(memmem(sb->buf, sb->len, "\"ret\":3,\"hidden\"", 16) != NULL);
	sb->len = 0;
}

TEST(timestamps)
{
	char buf[32];
	struct strbuf *sb;

	start(true);
	out_row_begin("x", 1000);
	out_row_end();
	sb = out_buf();
	/* ts_ns is wall-clock: the monotonic time plus the offset taken at out_init(). */
	CHECK(sb->len > 30 && !memcmp(sb->buf, "{\"type\":\"x\",\"ts_ns\":", 20));
	sb->len = 0;
	format_local_time(0, buf, sizeof(buf));
	CHECK_INT_EQ(strlen(buf), 12);
	CHECK(buf[2] == ':' && buf[5] == ':' && buf[8] == '.');
}

TEST(row_count)
{
	uint64_t before;

	start(true);
	before = out_rows();
	write_row(0);
	write_row(0);
	CHECK_INT_EQ(out_rows() - before, 2);
	out_buf()->len = 0;
}

TEST(fixed_point_numbers)
{
	static const struct out_field lat = { "lat_ms", "LAT", 7 };
	struct strbuf *sb;

	start(false);
	out_row_begin("x", 0);
	out_fixed(&lat, 1234, 3);
	out_fixed(&lat, 5, 3);
	out_fixed(&lat, 7, 0);
	out_row_end();
	sb = out_buf();
	CHECK_MEM_EQ(sb->buf, sb->len, "  1.234   0.005       7\n");
	start(true);
	out_row_begin("x", 0);
	out_fixed(&lat, 120050, 3);
	out_row_end();
	sb = out_buf();
	CHECK_MEM_EQ(sb->buf, sb->len, "{\"type\":\"x\",\"lat_ms\":120.050}\n");
	sb->len = 0;
}

TEST(octal_and_absent_fields)
{
	static const struct out_field mode = { "mode", "MODE", 5 };
	static const struct out_field path = { "path", "PATH", 0 };
	struct strbuf *sb;

	start(false);
	out_row_begin("x", 0);
	out_octal(&mode, 0640);
	out_none(&mode);
	out_none(&path);
	out_row_end();
	sb = out_buf();
	CHECK_MEM_EQ(sb->buf, sb->len, " 0640     - -\n");
	start(true);
	out_row_begin("x", 0);
	out_octal(&mode, 0640);
	out_none(&path);
	out_row_end();
	sb = out_buf();
	CHECK_MEM_EQ(sb->buf, sb->len, "{\"type\":\"x\",\"mode\":416}\n");
	sb->len = 0;
}

TEST(integers_at_their_limits)
{
	static const struct out_field n = { "n", "N", 3 };
	struct strbuf *sb;

	start(false);
	out_row_begin("x", 0);
	out_u64(&n, 0);
	out_u64(&n, UINT64_MAX);
	out_s64(&n, -5);
	out_s64(&n, INT64_MIN);
	out_s64(&n, INT64_MAX);
	out_row_end();
	sb = out_buf();
	CHECK_MEM_EQ(sb->buf, sb->len,
		     "  0 18446744073709551615  -5 -9223372036854775808 9223372036854775807\n");
	sb->len = 0;
}
