// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Queries, answered with PROTO_TEXT packets and a PROTO_END. Root sees
 * everything, anyone else only their own:
 *   "status"   live registrations, then the snapshots held in memory
 *   "list"     crashes recorded in the audit log
 *   "show ID"  every audit record of one crash
 *   "metrics"  the Prometheus text (aggregates only: no app names, no uids)
 *
 * An answer is made as the client reads it: a few packets at a time, more
 * when the socket has taken them. So a long answer (thousands of
 * registrations, long rescue commands) holds a few hundred KiB of the
 * collector's memory per connection, not the whole answer, and does not
 * stall the event loop while it is built.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog/auditlog.h"
#include "collector/collector.h"
#include "collector/held.h"
#include "collector/metrics.h"
#include "collector/query.h"
#include "common/proto.h"
#include "common/timefmt.h"
#include "dict/dict.h"

/*
 * JSON answers travel as lines (one JSON object each) in a stream of
 * PROTO_TEXT packets, as many per packet as fit: a long list then takes a
 * few dozen packets, not one per crash. A line that fits a packet is never
 * cut; a longer one (a registration with a long rescue command) spans
 * packets, and the client joins the pieces up to its newline.
 */
struct lines {
	struct conn *cn;
	size_t len;
	char buf[PROTO_TEXT_MAX];
};

/* Fill an answer up to this many queued packets; more once they are sent. */
#define QUEUE_LOW_WATER 8

enum answer_kind { ANSWER_STATUS, ANSWER_LIST, ANSWER_SHOW, ANSWER_METRICS };

struct answer {
	enum answer_kind kind;
	uint32_t bucket, pos;          /* status: the next registration */
	struct crash_summary *crashes; /* list */
	size_t ncrashes;
	json_object *recs;             /* show */
	char *text;                    /* metrics */
	size_t next;                   /* list, show: the next item; metrics: the next byte;
					  status: the next held copy */
	int filling;
	struct lines out;
};

static void lines_flush(struct lines *l)
{
	static uint8_t pkt[PROTO_MAX_MSG];
	int len;

	if (!l->len)
		return;
	len = proto_encode_text(pkt, sizeof(pkt), PROTO_TEXT, l->buf, l->len);
	if (len > 0)
		server_send(l->cn, pkt, (size_t)len);
	l->len = 0;
}

static void lines_put(struct lines *l, const char *p, size_t n)
{
	while (n) {
		size_t k = sizeof(l->buf) - l->len < n ? sizeof(l->buf) - l->len : n;

		memcpy(l->buf + l->len, p, k);
		l->len += k;
		p += k;
		n -= k;
		if (l->len == sizeof(l->buf))
			lines_flush(l);
	}
}

static void lines_add(struct lines *l, const char *line)
{
	size_t n = strlen(line);

	if (n + 1 <= sizeof(l->buf) && l->len + n + 1 > sizeof(l->buf))
		lines_flush(l);
	lines_put(l, line, n);
	lines_put(l, "\n", 1);
}

static void status_one(struct lines *out, const struct reg *r)
{
	json_object *o = json_object_new_object();
	char when[TIME_RFC3339_LEN];
	uint64_t keys = 0, bytes = 0;

	dict_peek_stats(r->memfd, &keys, &bytes);
	time_rfc3339_ms(r->registered_ms, when);
	json_object_object_add(o, "state", json_object_new_string("registered"));
	json_object_object_add(o, "app", audit_str(r->app));
	json_object_object_add(o, "pid", json_object_new_int(r->id.pid));
	json_object_object_add(o, "uid", json_object_new_int64(r->id.uid));
	json_object_object_add(o, "comm", audit_str(r->id.comm));
	json_object_object_add(o, "keys", json_object_new_int64((int64_t)keys));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(o, "capacity", json_object_new_int64((int64_t)r->dict_size));
	json_object_object_add(o, "registered", json_object_new_string(when));
	json_object_object_add(o, "rescue_argv", audit_argv(r->argv));
	lines_add(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* A snapshot held in memory because the disk refused it. */
static void held_one(struct lines *out, const struct held *h)
{
	json_object *o = json_object_new_object();
	char since[TIME_RFC3339_LEN];

	time_rfc3339_ms(h->since_ms, since);
	json_object_object_add(o, "state", json_object_new_string("held"));
	json_object_object_add(o, "id", json_object_new_string(h->id));
	json_object_object_add(o, "app", audit_str(h->app));
	json_object_object_add(o, "pid", json_object_new_int(h->pid));
	json_object_object_add(o, "uid", json_object_new_int64(h->uid));
	json_object_object_add(o, "keys", json_object_new_int64((int64_t)h->count));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)h->value_bytes));
	json_object_object_add(o, "memory", json_object_new_int64((int64_t)h->bytes));
	json_object_object_add(o, "since", json_object_new_string(since));
	json_object_object_add(o, "error", audit_str(h->last_error));
	lines_add(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* The next held copy @a's asker may see (after the registrations), or NULL. */
static const struct held *held_next(struct collector *c, struct answer *a, uid_t uid)
{
	const struct held *h = held_first(c);
	size_t i;

	/* A position, as for registrations: copies come and go between fills. */
	for (i = 0; h && i < a->next; i++)
		h = h->next;
	for (; h; h = h->next) {
		a->next++;
		if (uid == 0 || uid == h->uid)
			return h;
	}
	return NULL;
}

/* The next registration @a's asker may see, or NULL when there is none left. */
static const struct reg *status_next(struct collector *c, struct answer *a, uid_t uid)
{
	for (; a->bucket < c->reg_buckets; a->bucket++, a->pos = 0) {
		const struct reg *r = c->regs[a->bucket];
		uint32_t i;

		/*
		 * A position, not a pointer: registrations may end between two
		 * fills (one that starts or ends meanwhile may be missed or
		 * shown twice, as in any listing of a moving set).
		 */
		for (i = 0; r && i < a->pos; i++)
			r = r->hash_next;
		for (; r; r = r->hash_next) {
			a->pos++;
			if (uid == 0 || uid == r->id.uid)
				return r;
		}
	}
	return NULL;
}

static long visible_uid(const struct conn *cn)
{
	const struct identity *who = server_peer(cn);

	return who->uid == 0 ? AUDITLOG_ANY_UID : (long)who->uid;
}

/* The metrics text in packets cut at line ends, each within PROTO_TEXT_MAX. */
static int metrics_chunk(struct answer *a)
{
	const char *p = a->text ? a->text + a->next : "", *end;

	if (!*p)
		return 0;
	end = p + strlen(p);
	if ((size_t)(end - p) > PROTO_TEXT_MAX) {
		end = p + PROTO_TEXT_MAX;
		while (end > p && end[-1] != '\n')
			end--;
		if (end == p)
			end = p + PROTO_TEXT_MAX;
	}
	lines_flush(&a->out);
	lines_put(&a->out, p, (size_t)(end - p));
	lines_flush(&a->out);
	a->next += (size_t)(end - p);
	return 1;
}

/* Adds the answer's next line (or metrics chunk); 0 when there is nothing left. */
static int answer_step(struct collector *c, struct answer *a)
{
	const struct held *h;
	const struct reg *r;
	json_object *o;

	switch (a->kind) {
	case ANSWER_STATUS:
		r = status_next(c, a, server_peer(a->out.cn)->uid);
		if (r) {
			status_one(&a->out, r);
			return 1;
		}
		h = held_next(c, a, server_peer(a->out.cn)->uid);
		if (!h)
			return 0;
		held_one(&a->out, h);
		return 1;
	case ANSWER_LIST:
		if (a->next >= a->ncrashes)
			return 0;
		o = crash_summary_json(&a->crashes[a->next++]);
		lines_add(&a->out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return 1;
	case ANSWER_SHOW:
		if (!a->recs || a->next >= json_object_array_length(a->recs))
			return 0;
		lines_add(&a->out, json_object_to_json_string_ext(
					   json_object_array_get_idx(a->recs, a->next++),
					   JSON_C_TO_STRING_PLAIN));
		return 1;
	case ANSWER_METRICS:
		return metrics_chunk(a);
	}
	return 0;
}

void query_free(struct answer *a)
{
	if (!a)
		return;
	free(a->crashes);
	json_object_put(a->recs);
	free(a->text);
	free(a);
}

static void send_simple(struct conn *cn, int type)
{
	uint8_t buf[64];
	int len = proto_encode_simple(buf, sizeof(buf), type);

	if (len > 0)
		server_send(cn, buf, (size_t)len);
}

void query_continue(struct collector *c, struct conn *cn)
{
	struct answer *a = server_answer(cn);

	if (!a || a->filling)
		return;
	a->filling = 1;
	while (!server_gone(cn) && server_queued(cn) < QUEUE_LOW_WATER) {
		if (answer_step(c, a))
			continue;
		/* Done: the rest of the lines, the end mark, and the connection ends when sent. */
		lines_flush(&a->out);
		send_simple(cn, PROTO_END);
		server_set_answer(cn, NULL);
		query_free(a);
		server_finish(cn);
		return;
	}
	a->filling = 0;
}

void query_answer(struct collector *c, struct conn *cn, const char *what)
{
	struct answer *a = calloc(1, sizeof(*a));

	if (!a) {
		server_drop(c, cn);
		return;
	}
	a->out.cn = cn;
	if (what && !strcmp(what, "status")) {
		a->kind = ANSWER_STATUS;
	} else if (what && !strcmp(what, "list")) {
		struct crash_filter f = { .uid = visible_uid(cn) };

		a->kind = ANSWER_LIST;
		if (auditlog_crashes(c->cfg.audit_log, &f, &a->crashes, &a->ncrashes))
			a->ncrashes = 0;
	} else if (what && !strncmp(what, "show ", 5)) {
		a->kind = ANSWER_SHOW;
		if (auditlog_crash_records(c->cfg.audit_log, what + 5, visible_uid(cn), &a->recs))
			a->recs = NULL;
	} else if (what && !strcmp(what, "metrics")) {
		a->kind = ANSWER_METRICS;
		a->text = metrics_render(c, 1);
	} else {
		uint8_t buf[PROTO_MAX_MSG];
		int len = proto_encode_ack(buf, sizeof(buf), -EINVAL, "unknown query");

		query_free(a);
		if (len > 0)
			server_send(cn, buf, (size_t)len);
		server_finish(cn);
		return;
	}
	server_set_answer(cn, a);
	query_continue(c, cn);
}
