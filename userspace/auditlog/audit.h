/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit log: JSON Lines, one object per record, each appended with a
 * single write() so a line is never split, and flushed per record. Every
 * record gets `ts` (RFC 3339 UTC, ms) and `event`; strings from apps are
 * made valid UTF-8 and escaped by the JSON writer. Every record also gets
 * `seq` and `prev`, the audit chain (chain.h), as its line is made.
 */
#ifndef FG_AUDITLOG_AUDIT_H
#define FG_AUDITLOG_AUDIT_H

#include <json-c/json.h>
#include <stdint.h>

struct audit;

/* @path "-" writes to stdout. */
int audit_open(struct audit **out, const char *path);
void audit_close(struct audit *a); /* accepts NULL */

/*
 * Opens @path again (or a new path): after logrotate moved the file away,
 * or a reload named another. On failure the old file stays in use.
 */
int audit_reopen(struct audit *a, const char *path);

/*
 * Called with every record as it is emitted (also when writing the log
 * failed), with its JSON text (@len bytes, no newline): metrics and syslog
 * see what the log says. NULL @fn removes the observer.
 */
typedef void (*audit_observer_fn)(json_object *rec, const char *line, size_t len, void *arg);
void audit_set_observer(struct audit *a, audit_observer_fn fn, void *arg);

/*
 * When the log cannot be written (a full or read-only disk, an I/O error),
 * a record goes to stderr (and to the observer, e.g. syslog, as always) and
 * is kept, in order, for the log: audit_retry writes what is kept, and
 * every later record waits behind it. audit_close says how many are lost.
 */
int audit_retry(struct audit *a);          /* 0 once nothing is kept, else -errno */
uint64_t audit_pending(const struct audit *a); /* records kept for the log */
uint64_t audit_write_errors(const struct audit *a); /* writes the log refused */

/*
 * The chain head (SPEC §8.4): the seq of the last record emitted and the
 * SHA-256 (hex) of its line. An observer called from audit_emit sees the
 * head of the record it is given (syslog copies carry it).
 */
void audit_head(const struct audit *a, uint64_t *seq, char hash[65]);

/* A new record with ts and event set; add fields, then audit_emit(). */
json_object *audit_record(const char *event);
/* Writes @rec as one line and releases it. */
int audit_emit(struct audit *a, json_object *rec);

/* JSON helpers for untrusted strings: valid UTF-8, bounded; NULL gives JSON null. */
json_object *audit_str(const char *s);
json_object *audit_strn(const char *s, size_t len);
json_object *audit_argv(char *const *argv); /* array, or null for NULL */

#endif
