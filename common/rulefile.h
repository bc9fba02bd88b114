/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policy files: one rule per line, '#' to the end of the line a comment (at the start of a line
 * or after a blank), blank lines skipped. Errors name FILE:LINE, so that a policy is fixed where
 * it is wrong, and end the program before anything is loaded.
 */
#ifndef EBPFTRACE_RULEFILE_H
#define EBPFTRACE_RULEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#define RULEFILE_ERR_SIZE 256

/*
 * Take one rule: line is its text without comment and surrounding blanks, where is "FILE:LINE".
 * Return false after writing why into err (one line, no newline).
 */
typedef bool (*rule_line_fn)(char *line, const char *where, void *ctx, char *err, size_t errsize);

/*
 * Hand each rule read from f to fn, in order; name is the file's name for FILE:LINE. Returns false
 * at the first rule fn refuses, or a read error, with "FILE:LINE: why" (or why the file could not
 * be read) in err.
 */
bool rulefile_parse(FILE *f, const char *name, rule_line_fn fn, void *ctx, char *err,
		    size_t errsize);

/*
 * Hand each rule of the file at path to fn, in order. An unreadable file, or a rule fn refuses,
 * ends the program with "FILE:LINE: why" (usage_error, EXIT_USAGE).
 */
void rulefile_read(const char *path, rule_line_fn fn, void *ctx);

/*
 * Split off the first word of *line (NUL-terminating it) and point *line at the rest, without
 * its leading blanks. Returns the word ("" when the line is empty).
 */
char *rule_word(char **line);

/*
 * Which of the n words word is: its index, or -1 with "unknown rule 'WORD' (expected A, B or C)"
 * in err.
 */
int rule_kind(const char *word, const char *const *words, size_t n, char *err, size_t errsize);

/*
 * The file a rule of kind (its word) names: true with stat's answer in st, or false with why in
 * err ("a path is missing after 'KIND'", "invalid KIND 'PATH': No such file or directory").
 */
bool rule_path_stat(const char *kind, const char *path, struct stat *st, char *err, size_t errsize);

/* A rule as reports name it: its text, and where it came from ("FILE:LINE", "command line"). */
struct rule_origin {
	char *text;
	char *source;
};

/*
 * The end-of-run report of how often each rule matched, from hits_fd, an array of u64 keyed by
 * rule number (rule i at i + 1): a MATCHES RULE SOURCE table, or one
 * {"type":"rule","matches":N,"rule":...,"source":...} per rule with --json.
 */
void rule_matches_print(const struct rule_origin *rules, size_t n, int hits_fd);

#endif
