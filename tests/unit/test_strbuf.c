// SPDX-License-Identifier: GPL-2.0
/* JSON and table escaping: exact bytes for every class of input. */
#include "strbuf.h"
#include "unit.h"

static struct strbuf json(const char *s, size_t n)
{
	struct strbuf sb = {};

	sb_json_str(&sb, s, n);
	return sb;
}

#define CHECK_JSON(in, expected)                               \
	do {                                                   \
		struct strbuf __sb = json(in, sizeof(in) - 1); \
		CHECK_MEM_EQ(__sb.buf, __sb.len, expected);    \
		sb_free(&__sb);                                \
	} while (0)

TEST(json_plain_ascii)
{
	CHECK_JSON("hello world", "\"hello world\"");
	CHECK_JSON("", "\"\"");
}

TEST(json_quotes_and_backslashes)
{
	CHECK_JSON("say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"");
}

TEST(json_control_characters)
{
	CHECK_JSON("a\nb\tc\rd\be\ff", "\"a\\nb\\tc\\rd\\be\\ff\"");
	CHECK_JSON("\x01\x1f", "\"\\u0001\\u001f\"");
	/* NUL inside a counted string is data, not an end. */
	CHECK_JSON("a\0b", "\"a\\u0000b\"");
	/* DEL is allowed unescaped in JSON. */
	CHECK_JSON("\x7f", "\"\x7f\"");
}

TEST(json_valid_utf8_passes_through)
{
	CHECK_JSON("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	CHECK_JSON("\xe2\x82\xac", "\"\xe2\x82\xac\"");
	CHECK_JSON("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
}

TEST(json_invalid_utf8_is_escaped_not_dropped)
{
	CHECK_JSON("\xff\xfe", "\"\\udcff\\udcfe\"");
	/* a lone continuation byte, a truncated sequence, an overlong '/' and a surrogate */
	CHECK_JSON("\x80", "\"\\udc80\"");
	CHECK_JSON("\xc3", "\"\\udcc3\"");
	CHECK_JSON("\xe2\x82", "\"\\udce2\\udc82\"");
	CHECK_JSON("\xc0\xaf", "\"\\udcc0\\udcaf\"");
	CHECK_JSON("\xed\xa0\x80", "\"\\udced\\udca0\\udc80\"");
	/* past U+10FFFF */
	CHECK_JSON("\xf4\x90\x80\x80", "\"\\udcf4\\udc90\\udc80\\udc80\"");
	/* valid text around an invalid byte stays intact */
	CHECK_JSON("\xc3\xa9\xff\xc3\xa9", "\"\xc3\xa9\\udcff\xc3\xa9\"");
}

/*
 * The byte 0xff and the character U+00FF (c3 bf) must not come out alike, nor the byte 0x80 and
 * U+0080 (c2 80): readers map \\udcXX back to the byte and see a real character otherwise.
 */
TEST(json_invalid_byte_differs_from_its_code_point)
{
	CHECK_JSON("\xff\xc3\xbf", "\"\\udcff\xc3\xbf\"");
	CHECK_JSON("\x80\xc2\x80", "\"\\udc80\xc2\x80\"");
	/* a control character is its own code point; only bytes 0x80..0xff are ever invalid */
	CHECK_JSON("\x1b\xc3", "\"\\u001b\\udcc3\"");
}

TEST(utf8_sequence_lengths)
{
	CHECK_INT_EQ(utf8_seq_len((const unsigned char *)"a", 1), 1);
	CHECK_INT_EQ(utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2);
	CHECK_INT_EQ(utf8_seq_len((const unsigned char *)"\xc3\xa9", 1), 0);
	CHECK_INT_EQ(utf8_seq_len((const unsigned char *)"\xef\xbf\xbf", 3), 3);
	CHECK_INT_EQ(utf8_seq_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
	CHECK_INT_EQ(utf8_seq_len((const unsigned char *)"\xe0\x80\x80", 3), 0);
}

static void check_table(const char *in, size_t n, int quote, const char *expected, size_t cols)
{
	struct strbuf sb = {};
	size_t got = sb_table_str(&sb, in, n, quote);

	CHECK(sb.len == strlen(expected) && !memcmp(sb.buf, expected, sb.len));
	CHECK_INT_EQ(got, cols);
	sb_free(&sb);
}

TEST(table_escaping_keeps_one_line)
{
	check_table("a b", 3, 0, "a b", 3);
	check_table("new\nline", 8, 0, "new\\nline", 9);
	check_table("\x01\xff", 2, 0, "\\x01\\xff", 8);
	check_table("caf\xc3\xa9", 5, 0, "caf\xc3\xa9", 4);
}

TEST(table_quoting)
{
	check_table("a b", 3, 1, "\"a b\"", 5);
	check_table("q\"x\\", 4, 1, "\"q\\\"x\\\\\"", 8);
	check_table("", 0, 1, "\"\"", 2);
}

TEST(numbers)
{
	struct strbuf sb = {};

	sb_u64(&sb, 0);
	sb_putc(&sb, ' ');
	sb_u64(&sb, UINT64_MAX);
	sb_putc(&sb, ' ');
	sb_s64(&sb, INT64_MIN);
	CHECK_MEM_EQ(sb.buf, sb.len, "0 18446744073709551615 -9223372036854775808");
	sb_free(&sb);
}
