// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "output.h"
#include "rulefile.h"
#include "util.h"

static char *skip_blanks(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* The rule on a line: without its comment and the blanks around it. */
static char *rule_text(char *line)
{
	char *s = skip_blanks(line), *end;

	for (char *p = s; *p; p++) {
		if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			break;
		}
	}
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

bool rulefile_parse(FILE *f, const char *name, rule_line_fn fn, void *ctx, char *err,
		    size_t errsize)
{
	char where[RULEFILE_ERR_SIZE], why[RULEFILE_ERR_SIZE];
	char *line = NULL;
	size_t cap = 0;
	unsigned int n = 0;
	bool ok = true;

	while (ok && getline(&line, &cap, f) >= 0) {
		char *text = rule_text(line);

		n++;
		if (!*text)
			continue;
		snprintf(where, sizeof(where), "%s:%u", name, n);
		why[0] = '\0';
		ok = fn(text, where, ctx, why, sizeof(why));
		if (!ok)
			snprintf(err, errsize, "%s: %s", where, why);
	}
	if (ok && ferror(f)) {
		snprintf(err, errsize, "cannot read policy file '%s': %s", name, strerror(errno));
		ok = false;
	}
	free(line);
	return ok;
}

void rulefile_read(const char *path, rule_line_fn fn, void *ctx)
{
	char err[2 * RULEFILE_ERR_SIZE + 2]; /* "FILE:LINE: why", each part whole */
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		usage_error("cannot read policy file '%s': %s", path, strerror(errno));
	ok = rulefile_parse(f, path, fn, ctx, err, sizeof(err));
	fclose(f);
	if (!ok)
		usage_error("%s", err);
}

char *rule_word(char **line)
{
	char *word = skip_blanks(*line), *end = word;

	while (*end && !isspace((unsigned char)*end))
		end++;
	*line = skip_blanks(end);
	if (*end)
		*end = '\0';
	return word;
}

int rule_kind(const char *word, const char *const *words, size_t n, char *err, size_t errsize)
{
	int len = snprintf(err, errsize, "unknown rule '%s' (expected ", word);

	for (size_t k = 0; k < n; k++) {
		const char *next = k + 1 == n ? ")" : k + 2 == n ? " or " : ", ";

		if (!strcmp(word, words[k]))
			return k;
		if (len >= 0 && (size_t)len < errsize)
			len += snprintf(err + len, errsize - len, "%s%s", words[k], next);
	}
	return -1;
}

bool rule_path_stat(const char *kind, const char *path, struct stat *st, char *err, size_t errsize)
{
	if (*path && !stat(path, st))
		return true;
	if (*path)
		snprintf(err, errsize, "invalid %s '%s': %s", kind, path, strerror(errno));
	else
		snprintf(err, errsize, "a path is missing after '%s'", kind);
	return false;
}

void rule_matches_print(const struct rule_origin *rules, size_t n, int hits_fd)
{
	static const struct out_field fields[] = {
		{ "matches", "MATCHES", 7 },
		{ "rule", "RULE", -40 },
		{ "source", "SOURCE", 0 },
	};

	if (!out_json())
		out_printf("\n");
	out_header(fields, ARRAY_SIZE(fields));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t rule = i + 1;
		uint64_t matches = 0;

		bpf_map_lookup_elem(hits_fd, &rule, &matches);
		out_row_begin("rule", 0);
		out_u64(&fields[0], matches);
		out_str(&fields[1], rules[i].text, SIZE_MAX);
		out_str(&fields[2], rules[i].source, SIZE_MAX);
		out_row_end();
	}
	out_flush();
}
