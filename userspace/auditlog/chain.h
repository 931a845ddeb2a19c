/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit chain (SPEC §8.4): every record carries `seq` (1, 2, ... for
 * the life of the log) and `prev`, the SHA-256 of the previous record's
 * exact line, newline included (64 zeros before the first record ever).
 * Hashing the bytes as written means a verifier needs nothing but the
 * files. The head (the last seq and the hash of its line) is what the next
 * record links to; it survives a restart in the log's last line and, for a
 * log that was rotated away while no collector ran, in a small file beside
 * it (PATH.chain, written when the log is closed or reopened).
 */
#ifndef FG_AUDITLOG_CHAIN_H
#define FG_AUDITLOG_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "digest/sha256.h"

struct audit_chain {
	uint64_t seq;              /* of the last record; 0 before the first */
	char head[SHA256_HEX_LEN]; /* the hash of its line: the next record's prev */
};

/* Before the first record ever: seq 0, 64 zeros. */
void audit_chain_genesis(struct audit_chain *ch);

/*
 * The head from the last complete line of the log open at @fd (read with
 * pread, the offset is untouched). -ENOENT when the file has no line that
 * carries a seq (empty, or written before the chain existed); *ch is then
 * left alone.
 */
int audit_chain_from_log(struct audit_chain *ch, int fd);

/* The head saved in PATH.chain by audit_chain_save; -ENOENT when there is none. */
int audit_chain_load(struct audit_chain *ch, const char *log_path);
int audit_chain_save(const struct audit_chain *ch, const char *log_path);

/* Moves the head past @line (@len bytes, its newline included), numbered @seq. */
void audit_chain_advance(struct audit_chain *ch, uint64_t seq, const char *line, size_t len);

#endif
