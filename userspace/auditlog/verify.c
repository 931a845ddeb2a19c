// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog/verify.h"
#include "digest/sha256.h"

/* What the check needs of one line; the lines themselves are not kept. */
struct entry {
	uint64_t seq;   /* 0: no record with a seq (not JSON, or no seq field) */
	char prev[SHA256_HEX_LEN];
	char hash[SHA256_HEX_LEN]; /* of the line's bytes, newline included */
	int newline;
	size_t file, line;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static int parse_line(struct entry *e, const char *line, size_t len)
{
	json_object *rec = json_tokener_parse(line), *v;
	int err;

	e->seq = 0;
	e->prev[0] = '\0';
	if (rec && json_object_is_type(rec, json_type_object) &&
	    json_object_object_get_ex(rec, "seq", &v) && json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) > 0) {
		e->seq = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(rec, "prev", &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(e->prev, sizeof(e->prev), "%s", json_object_get_string(v));
	}
	json_object_put(rec);
	err = sha256_hex(line, len, e->hash);
	return err;
}

static int read_file(const char *path, size_t file, struct entries *es)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0, no = 0;
	ssize_t n;
	int err = 0;

	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		struct entry *e;

		if (es->n == es->cap) {
			size_t c = es->cap ? es->cap * 2 : 1024;
			struct entry *nv = realloc(es->v, c * sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				break;
			}
			es->v = nv;
			es->cap = c;
		}
		e = &es->v[es->n++];
		e->file = file;
		e->line = ++no;
		e->newline = line[n - 1] == '\n';
		err = parse_line(e, line, (size_t)n);
		if (err)
			break;
	}
	if (!err && ferror(f))
		err = -EIO;
	free(line);
	fclose(f);
	return err;
}

/* Whether @seq is the seq of an entry after @from. */
static int appears_after(const struct entries *es, size_t from, uint64_t seq)
{
	size_t i;

	for (i = from + 1; i < es->n; i++)
		if (es->v[i].seq == seq)
			return 1;
	return 0;
}

static void broke(struct verify_result *r, const struct entry *e, enum verify_break how,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void broke(struct verify_result *r, const struct entry *e, enum verify_break how,
		  const char *fmt, ...)
{
	va_list ap;

	r->how = how;
	r->file = e->file;
	r->line = e->line;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

static const char zeros[SHA256_HEX_LEN] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* Checks entry @i against the one before (@p, NULL for the first of the chain). */
static int check(const struct entries *es, size_t i, const struct entry *p,
		 struct verify_result *r)
{
	const struct entry *e = &es->v[i], *nx = i + 1 < es->n ? &es->v[i + 1] : NULL;
	uint64_t want = p ? p->seq + 1 : 0;

	if (!e->newline && !nx) {
		broke(r, e, VERIFY_TRUNCATED, "the last line ends without its newline: the log was "
					      "cut inside a record");
		return 1;
	}
	if (!e->seq) {
		broke(r, e, VERIFY_EDITED, "not a record with a seq (expected seq %" PRIu64 ")",
		      want ? want : 1);
		return 1;
	}
	if (!p) {
		/* The first record of the first file: only the very first one can be checked. */
		if (e->seq == 1 && strcmp(e->prev, zeros)) {
			broke(r, e, VERIFY_EDITED, "seq 1 must have a prev of 64 zeros");
			return 1;
		}
		return 0;
	}
	if (e->seq != want) {
		/* Its own seq changed while its neighbours still count on: edited. */
		if (nx && nx->seq == want + 1) {
			broke(r, e, VERIFY_EDITED, "seq %" PRIu64 " where %" PRIu64
				  " was expected, and the next line has %" PRIu64,
			      e->seq, want, want + 1);
			return 1;
		}
		if (e->seq > want && !appears_after(es, i, want)) {
			uint64_t gone = e->seq - want;

			if (gone == 1)
				broke(r, e, VERIFY_REMOVED,
				      "1 record removed before this line (seq %" PRIu64 " is missing)",
				      want);
			else
				broke(r, e, VERIFY_REMOVED,
				      "%" PRIu64 " records removed before this line (seq %" PRIu64
				      "-%" PRIu64 " are missing)",
				      gone, want, e->seq - 1);
			return 1;
		}
		broke(r, e, VERIFY_REORDERED, "seq %" PRIu64 " where %" PRIu64 " was expected%s",
		      e->seq, want, e->seq > want ? " (it comes later)" : "");
		return 1;
	}
	if (strcmp(e->prev, p->hash)) {
		/*
		 * The prev does not match the line before: that line changed —
		 * unless this line changed too (the next line's prev fails on it
		 * as well), in which case it is this one's prev that was edited.
		 */
		if (nx && nx->seq == e->seq + 1 && strcmp(nx->prev, e->hash)) {
			broke(r, e, VERIFY_EDITED, "its bytes changed (neither its prev nor its own "
						   "hash match its neighbours)");
		} else {
			broke(r, p, VERIFY_EDITED, "its bytes changed (the prev of the next line, seq "
						   "%" PRIu64 ", is not its hash)",
			      e->seq);
		}
		return 1;
	}
	return 0;
}

int audit_verify(const char *const *paths, size_t npaths, struct verify_result *res,
		 size_t *bad_path)
{
	struct entries es = { 0 };
	const struct entry *p = NULL;
	size_t i, f;
	int err = 0;

	memset(res, 0, sizeof(*res));
	for (f = 0; f < npaths && !err; f++) {
		err = read_file(paths[f], f, &es);
		if (err && bad_path)
			*bad_path = f;
	}
	if (err) {
		free(es.v);
		return err;
	}
	/* Lines before the first record with a seq: from before the chain. */
	for (i = 0; i < es.n && !es.v[i].seq && (es.v[i].newline || i + 1 < es.n); i++)
		res->unchained++;
	for (; i < es.n; i++) {
		if (check(&es, i, p, res))
			break;
		if (!p)
			res->first_seq = es.v[i].seq;
		res->last_seq = es.v[i].seq;
		res->records++;
		p = &es.v[i];
	}
	free(es.v);
	return 0;
}

const char *verify_break_name(enum verify_break how)
{
	switch (how) {
	case VERIFY_INTACT: return "intact";
	case VERIFY_EDITED: return "edited";
	case VERIFY_REMOVED: return "removed";
	case VERIFY_REORDERED: return "reordered";
	case VERIFY_TRUNCATED: return "truncated";
	}
	return "?";
}
