/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checking the audit chain (SPEC §8.4) of one or more log files read in
 * order (the oldest rotation first): each record's seq must follow the one
 * before and its prev must be the SHA-256 of the line before, newline
 * included. The first break is named with how it came about:
 *   edited     a line's bytes changed (the next line's prev no longer
 *              matches it), or it is no record at all
 *   removed    seq jumps over numbers that appear nowhere
 *   reordered  a seq comes before its turn (the missing ones come later)
 *   truncated  the last line ends without its newline
 * Lines before the first record that has a seq (written before the chain
 * existed) are counted apart, not checked.
 */
#ifndef FG_AUDITLOG_VERIFY_H
#define FG_AUDITLOG_VERIFY_H

#include <stddef.h>
#include <stdint.h>

enum verify_break {
	VERIFY_INTACT = 0,
	VERIFY_EDITED,
	VERIFY_REMOVED,
	VERIFY_REORDERED,
	VERIFY_TRUNCATED,
};

struct verify_result {
	size_t records;   /* chained records read */
	size_t unchained; /* lines before the chain began */
	uint64_t first_seq, last_seq;
	enum verify_break how;
	size_t file;      /* where it broke: index into the paths */
	size_t line;      /* 1-based line number in that file */
	char why[256];    /* a sentence: what was expected, what was found */
};

/* 0 (the result says intact or where it broke), or -errno if a file cannot be read. */
int audit_verify(const char *const *paths, size_t npaths, struct verify_result *res,
		 size_t *bad_path);
const char *verify_break_name(enum verify_break how);

#endif
