/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small strict JSON reader (RFC 8259) for fuzz_json.c: it accepts only valid JSON (UTF-8 text,
 * no raw control characters in strings, well-formed escapes and numbers) and hands back the
 * members of one top-level object, strings decoded to UTF-8.
 */
#ifndef EBPFTRACE_JSON_CHECK_H
#define EBPFTRACE_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_MEMBERS 64
#define JSON_MAX_ITEMS	 64

struct json_text {
	char *s; /* decoded, NUL-terminated (a decoded U+0000 ends it early: len says where) */
	size_t len;
};

struct json_member {
	struct json_text key;
	char kind;		 /* 's' string, 'n' number, 'b' true/false, 'a' array of strings */
	struct json_text value;	 /* the string; or the number or literal as written */
	struct json_text *items; /* 'a' */
	size_t n_items;
};

struct json_object {
	struct json_member members[JSON_MAX_MEMBERS];
	size_t n;
};

/* Parse exactly one object from s[0..len); false if that is not valid JSON of that shape. */
bool json_object_parse(const char *s, size_t len, struct json_object *obj);
void json_object_free(struct json_object *obj);
/* Whether s[0..len) is well-formed UTF-8. */
bool json_utf8_valid(const char *s, size_t len);

#endif
