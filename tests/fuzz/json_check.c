// SPDX-License-Identifier: GPL-2.0
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json_check.h"
#include "strbuf.h"

struct reader {
	const unsigned char *p, *end;
};

static void skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool eat(struct reader *r, char c)
{
	skip_ws(r);
	if (r->p >= r->end || *r->p != c)
		return false;
	r->p++;
	return true;
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool read_hex4(struct reader *r, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int d = r->p < r->end ? hex_digit(*r->p) : -1;

		if (d < 0)
			return false;
		*v = *v << 4 | d;
		r->p++;
	}
	return true;
}

static void put_utf8(struct strbuf *sb, uint32_t cp)
{
	if (cp < 0x80) {
		sb_putc(sb, cp);
	} else if (cp < 0x800) {
		sb_putc(sb, 0xc0 | cp >> 6);
		sb_putc(sb, 0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		sb_putc(sb, 0xe0 | cp >> 12);
		sb_putc(sb, 0x80 | (cp >> 6 & 0x3f));
		sb_putc(sb, 0x80 | (cp & 0x3f));
	} else {
		sb_putc(sb, 0xf0 | cp >> 18);
		sb_putc(sb, 0x80 | (cp >> 12 & 0x3f));
		sb_putc(sb, 0x80 | (cp >> 6 & 0x3f));
		sb_putc(sb, 0x80 | (cp & 0x3f));
	}
}

/*
 * \uXXXX, a UTF-16 surrogate pair as two of them. A lone \udc80..\udcff is ebpftrace's escape of
 * a byte that is not UTF-8 (surrogateescape, see ebpftrace(8)): it reads back as that byte.
 */
static bool read_unicode_escape(struct reader *r, struct strbuf *sb)
{
	uint32_t cp, lo;

	if (!read_hex4(r, &cp))
		return false;
	if (cp >= 0xdc80 && cp <= 0xdcff) {
		sb_putc(sb, cp - 0xdc00);
		return true;
	}
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return false;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
			return false;
		r->p += 2;
		if (!read_hex4(r, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return false;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(sb, cp);
	return true;
}

static bool read_escape(struct reader *r, struct strbuf *sb)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *c;

	if (r->p >= r->end)
		return false;
	if (*r->p == 'u') {
		r->p++;
		return read_unicode_escape(r, sb);
	}
	c = memchr(from, *r->p, sizeof(from) - 1);
	if (!c)
		return false;
	sb_putc(sb, to[c - from]);
	r->p++;
	return true;
}

/*
 * The length of the UTF-8 sequence at p, or 0: RFC 3629's table of well-formed byte sequences,
 * on purpose not the writer's own utf8_seq_len(), so that the two check each other.
 */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	static const struct {
		unsigned char lead_lo, lead_hi, second_lo, second_hi, len;
	} forms[] = {
		{ 0x00, 0x7f, 0, 0, 1 },       { 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 }, { 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 }, { 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 }, { 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t len = forms[i].len;

		if (p[0] < forms[i].lead_lo || p[0] > forms[i].lead_hi)
			continue;
		if (len > n)
			return 0;
		if (len > 1 && (p[1] < forms[i].second_lo || p[1] > forms[i].second_hi))
			return 0;
		for (size_t j = 2; j < len; j++)
			if (p[j] < 0x80 || p[j] > 0xbf)
				return 0;
		return len;
	}
	return 0;
}

static bool read_string(struct reader *r, struct json_text *out)
{
	struct strbuf sb = {};

	if (!eat(r, '"'))
		return false;
	while (r->p < r->end && *r->p != '"') {
		size_t n;

		if (*r->p < 0x20)
			goto bad;
		if (*r->p == '\\') {
			r->p++;
			if (!read_escape(r, &sb))
				goto bad;
			continue;
		}
		n = utf8_len(r->p, r->end - r->p);
		if (!n)
			goto bad;
		sb_put(&sb, r->p, n);
		r->p += n;
	}
	if (r->p >= r->end)
		goto bad;
	r->p++;
	out->len = sb.len;
	sb_putc(&sb, '\0');
	out->s = sb.buf;
	return true;
bad:
	sb_free(&sb);
	return false;
}

static bool digits(struct reader *r)
{
	const unsigned char *start = r->p;

	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	return r->p > start;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool read_number(struct reader *r, struct json_text *out)
{
	const unsigned char *start = r->p;

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (r->p >= r->end || *r->p < '1' || *r->p > '9' || !digits(r))
		return false;
	if (r->p < r->end && *r->p == '.' && (r->p++, !digits(r)))
		return false;
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!digits(r))
			return false;
	}
	out->len = r->p - start;
	out->s = strndup((const char *)start, out->len);
	return out->s != NULL;
}

static bool read_literal(struct reader *r, const char *word, struct json_text *out)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
		return false;
	r->p += n;
	out->s = strdup(word);
	out->len = n;
	return out->s != NULL;
}

static bool read_array(struct reader *r, struct json_member *m)
{
	m->items = calloc(JSON_MAX_ITEMS, sizeof(*m->items));
	if (!m->items || !eat(r, '['))
		return false;
	if (eat(r, ']'))
		return true;
	do {
		if (m->n_items == JSON_MAX_ITEMS || !read_string(r, &m->items[m->n_items]))
			return false;
		m->n_items++;
	} while (eat(r, ','));
	return eat(r, ']');
}

static bool read_value(struct reader *r, struct json_member *m)
{
	skip_ws(r);
	if (r->p >= r->end)
		return false;
	switch (*r->p) {
	case '"':
		m->kind = 's';
		return read_string(r, &m->value);
	case '[':
		m->kind = 'a';
		return read_array(r, m);
	case 't':
		m->kind = 'b';
		return read_literal(r, "true", &m->value);
	case 'f':
		m->kind = 'b';
		return read_literal(r, "false", &m->value);
	default:
		m->kind = 'n';
		return read_number(r, &m->value);
	}
}

bool json_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, n; i < len; i += n)
		if (!(n = utf8_len(p + i, len - i)))
			return false;
	return true;
}

bool json_object_parse(const char *s, size_t len, struct json_object *obj)
{
	struct reader r = { (const unsigned char *)s, (const unsigned char *)s + len };

	memset(obj, 0, sizeof(*obj));
	if (!eat(&r, '{'))
		return false;
	if (!eat(&r, '}')) {
		do {
			struct json_member *m = &obj->members[obj->n];

			if (obj->n == JSON_MAX_MEMBERS)
				return false;
			obj->n++;
			if (!read_string(&r, &m->key) || !eat(&r, ':') || !read_value(&r, m))
				return false;
		} while (eat(&r, ','));
		if (!eat(&r, '}'))
			return false;
	}
	skip_ws(&r);
	return r.p == r.end;
}

void json_object_free(struct json_object *obj)
{
	for (size_t i = 0; i < obj->n; i++) {
		struct json_member *m = &obj->members[i];

		free(m->key.s);
		free(m->value.s);
		for (size_t j = 0; m->items && j < m->n_items; j++)
			free(m->items[j].s);
		free(m->items);
	}
	obj->n = 0;
}
