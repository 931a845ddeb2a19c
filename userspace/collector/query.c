// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Queries, answered with PROTO_TEXT packets and a PROTO_END. Root sees
 * everything, anyone else only their own:
 *   "status"   live registrations
 *   "list"     crashes recorded in the audit log
 *   "show ID"  every audit record of one crash
 *   "metrics"  the Prometheus text (aggregates only: no app names, no uids)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog/auditlog.h"
#include "collector/collector.h"
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

static void answer_status(struct collector *c, struct lines *out)
{
	const struct identity *who = server_peer(out->cn);
	uint32_t b;

	for (b = 0; b < c->reg_buckets; b++) {
		const struct reg *r;

		for (r = c->regs[b]; r; r = r->hash_next)
			if (who->uid == 0 || who->uid == r->id.uid)
				status_one(out, r);
	}
}

static long visible_uid(const struct conn *cn)
{
	const struct identity *who = server_peer(cn);

	return who->uid == 0 ? AUDITLOG_ANY_UID : (long)who->uid;
}

static void answer_list(struct collector *c, struct lines *out)
{
	struct crash_filter f = { .uid = visible_uid(out->cn) };
	struct crash_summary *v = NULL;
	size_t i, n = 0;

	if (auditlog_crashes(c->cfg.audit_log, &f, &v, &n))
		return;
	for (i = 0; i < n; i++) {
		json_object *o = crash_summary_json(&v[i]);

		lines_add(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	free(v);
}

static void answer_show(struct collector *c, struct lines *out, const char *id)
{
	json_object *recs;
	size_t i;

	if (auditlog_crash_records(c->cfg.audit_log, id, visible_uid(out->cn), &recs))
		return;
	for (i = 0; i < json_object_array_length(recs); i++)
		lines_add(out, json_object_to_json_string_ext(json_object_array_get_idx(recs, i),
							      JSON_C_TO_STRING_PLAIN));
	json_object_put(recs);
}

/* The text in packets cut at line ends, each within PROTO_TEXT_MAX. */
static void answer_metrics(struct collector *c, struct conn *cn)
{
	uint8_t buf[PROTO_MAX_MSG];
	char *text = metrics_render(c, 1), *p, *end;
	int len;

	for (p = text; p && *p; p = end) {
		end = p + strlen(p);
		if ((size_t)(end - p) > PROTO_TEXT_MAX) {
			end = p + PROTO_TEXT_MAX;
			while (end > p && end[-1] != '\n')
				end--;
			if (end == p)
				end = p + PROTO_TEXT_MAX;
		}
		len = proto_encode_text(buf, sizeof(buf), PROTO_TEXT, p, (size_t)(end - p));
		if (len > 0)
			server_send(cn, buf, (size_t)len);
	}
	free(text);
}

void query_answer(struct collector *c, struct conn *cn, const char *what)
{
	static struct lines out;
	int known = 1;

	out.cn = cn;
	out.len = 0;
	if (what && !strcmp(what, "status"))
		answer_status(c, &out);
	else if (what && !strcmp(what, "list"))
		answer_list(c, &out);
	else if (what && !strncmp(what, "show ", 5))
		answer_show(c, &out, what + 5);
	else if (what && !strcmp(what, "metrics"))
		answer_metrics(c, cn);
	else
		known = 0;
	lines_flush(&out);
	if (known) {
		uint8_t buf[64];
		int len = proto_encode_simple(buf, sizeof(buf), PROTO_END);

		if (len > 0)
			server_send(cn, buf, (size_t)len);
	} else {
		uint8_t buf[PROTO_MAX_MSG];
		int len = proto_encode_ack(buf, sizeof(buf), -EINVAL, "unknown query");

		if (len > 0)
			server_send(cn, buf, (size_t)len);
	}
	server_finish(cn);
}
