// SPDX-License-Identifier: GPL-2.0
/*
 * The JSON writer (common/output.c over common/strbuf.c): the input is a program of out_* calls
 * with their values, strings of any bytes among them. Property: each row written parses as one
 * strict JSON object (json_check.c) with the members written, in order; numbers as written;
 * strings that were valid UTF-8 decode to exactly the bytes given. The same strings as table
 * cells have no control character and are valid UTF-8.
 */
#include <inttypes.h>
#include "fuzz.h"
#include "json_check.h"
#include "opts.h"
#include "output.h"
#include "util.h"

#define MAX_MEMBERS 32

/* What a row should hold: per member its kind and value (text of a number, bytes of a string). */
struct expected {
	char key[8];
	char kind;
	const char *value;
	size_t len;
	char number[32];
	size_t n_items;
	const char *items[8];
	size_t item_lens[8];
};

struct program {
	const uint8_t *p, *end;
};

static uint8_t next_byte(struct program *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

static uint64_t next_u64(struct program *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | next_byte(in);
	return v;
}

/* A string of the input: a length byte, then that many bytes (fewer at the end). */
static const char *next_bytes(struct program *in, size_t *len)
{
	const char *s = (const char *)in->p;
	size_t n = next_byte(in);

	s = (const char *)in->p;
	if (n > (size_t)(in->end - in->p))
		n = in->end - in->p;
	in->p += n;
	*len = n;
	return s;
}

static void check_table_cell(const char *s, size_t len)
{
	struct strbuf sb = {};

	sb_table_str(&sb, s, len, len & 1); /* quoted or not, by the length */
	FUZZ_ASSERT(json_utf8_valid(sb.buf ? sb.buf : "", sb.len));
	for (size_t i = 0; i < sb.len; i++)
		FUZZ_ASSERT((unsigned char)sb.buf[i] >= 0x20 && sb.buf[i] != 0x7f);
	sb_free(&sb);
}

static void expect_number(struct expected *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void expect_number(struct expected *e, const char *fmt, ...)
{
	va_list ap;

	e->kind = 'n';
	va_start(ap, fmt);
	vsnprintf(e->number, sizeof(e->number), fmt, ap);
	va_end(ap);
	e->value = e->number;
	e->len = strlen(e->number);
}

/* One out_* call of the program; returns how many members it added to the row (0, 1 or 2). */
static size_t write_member(struct program *in, struct expected *e)
{
	const struct out_field f = { e->key, NULL, 0 };
	uint8_t op = next_byte(in) % 9;
	uint64_t v = op < 8 ? next_u64(in) : 0;
	unsigned int decimals;
	char *copy;

	switch (op) {
	case 0:
		out_u64(&f, v);
		expect_number(e, "%" PRIu64, v);
		return 1;
	case 1:
		out_s64(&f, (int64_t)v);
		expect_number(e, "%" PRId64, (int64_t)v);
		return 1;
	case 2:
		out_hex(&f, v);
		expect_number(e, "%" PRIu64, v);
		return 1;
	case 3:
		out_bool(&f, v & 1);
		e->kind = 'b';
		e->value = v & 1 ? "true" : "false";
		e->len = strlen(e->value);
		return 1;
	case 4:
		decimals = next_byte(in) % 20; /* 10^19 still fits in 64 bits */
		out_fixed(&f, v, decimals);
		if (decimals) {
			uint64_t scale = 1;

			for (unsigned int i = 0; i < decimals; i++)
				scale *= 10;
			expect_number(e, "%" PRIu64 ".%0*" PRIu64, v / scale, (int)decimals,
				      v % scale);
		} else {
			expect_number(e, "%" PRIu64, v);
		}
		return 1;
	case 5:
		out_none(&f);
		return 0;
	case 6:
		out_result(&f, (int64_t)v);
		expect_number(e, "%" PRId64, (int64_t)v);
		if ((int64_t)v >= 0)
			return 1;
		snprintf(e[1].key, sizeof(e[1].key), "error");
		e[1].kind = 's';
		e[1].value = NULL; /* a name, whatever it is */
		return 2;
	case 7:
		e->value = next_bytes(in, &e->len);
		check_table_cell(e->value, e->len);
		/* out_str stops at a NUL, as at the end of a C string. */
		copy = strndup(e->value, e->len);
		if (!copy)
			abort();
		out_str(&f, copy, e->len);
		e->len = strlen(copy);
		free(copy);
		e->kind = 's';
		return 1;
	default:
		e->kind = 'a';
		e->n_items = next_byte(in) % 8;
		out_array_begin(&f, false);
		for (size_t i = 0; i < e->n_items; i++) {
			e->items[i] = next_bytes(in, &e->item_lens[i]);
			check_table_cell(e->items[i], e->item_lens[i]);
			out_array_str(e->items[i], e->item_lens[i], false);
		}
		out_array_end(false);
		return 1;
	}
}

static bool same_text(const struct json_text *t, const char *s, size_t len)
{
	/* Bytes that are not UTF-8 come back through their surrogate escapes, exactly. */
	if (!s)
		return true;
	return t->len == len && !memcmp(t->s, s, len);
}

static void check_row(const char *row, size_t len, const struct expected *want, size_t n)
{
	static struct json_object obj;

	FUZZ_ASSERT(len && row[len - 1] == '\n' && !memchr(row, '\n', len - 1));
	FUZZ_ASSERT(json_object_parse(row, len - 1, &obj));
	FUZZ_ASSERT(obj.n == n);
	for (size_t i = 0; i < n; i++) {
		const struct json_member *m = &obj.members[i];

		FUZZ_ASSERT(!strcmp(m->key.s, want[i].key) && m->kind == want[i].kind);
		if (m->kind == 'a') {
			FUZZ_ASSERT(m->n_items == want[i].n_items);
			for (size_t j = 0; j < m->n_items; j++)
				FUZZ_ASSERT(same_text(&m->items[j], want[i].items[j],
						      want[i].item_lens[j]));
		} else {
			FUZZ_ASSERT(same_text(&m->value, want[i].value, want[i].len));
		}
	}
	json_object_free(&obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct expected want[2 + 2 * MAX_MEMBERS]; /* type, ts_ns; a member can take two */
	struct program in = { data, data + size };
	struct strbuf *sb = out_buf();

	/* Escaped, a row stays below the size at which out_row_end() writes it out to stdout. */
	if (size > 8192)
		return 0;
	common_opts.json = true;
	out_init();
	while (in.p < in.end) {
		uint64_t ts = next_u64(&in);
		size_t n = 0, members = next_byte(&in) % MAX_MEMBERS;

		memset(want, 0, sizeof(want));
		sb->len = 0;
		snprintf(want[n].key, sizeof(want[n].key), "type");
		want[n].kind = 's';
		want[n].value = next_bytes(&in, &want[n].len);
		out_row_begin(strndupa(want[n].value, want[n].len), ts);
		want[n].len = strnlen(want[n].value, want[n].len);
		n++;
		if (ts) {
			snprintf(want[n].key, sizeof(want[n].key), "ts_ns");
			expect_number(&want[n++], "%" PRIu64, mono_to_wall_ns(ts));
		}
		for (size_t i = 0; i < members; i++) {
			snprintf(want[n].key, sizeof(want[n].key), "k%zu", i);
			n += write_member(&in, &want[n]);
		}
		out_row_end();
		check_row(sb->buf, sb->len, want, n);
	}
	sb->len = 0;
	return 0;
}
