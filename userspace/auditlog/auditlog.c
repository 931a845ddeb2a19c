// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog/auditlog.h"
#include "common/timefmt.h"

typedef int (*record_fn)(json_object *rec, void *arg);

/* Calls @fn for each line that parses as a JSON object; skips the rest. */
static int scan(const char *path, record_fn fn, void *arg)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int err = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		json_object *rec = json_tokener_parse(line);

		if (rec && json_object_is_type(rec, json_type_object))
			err = fn(rec, arg);
		json_object_put(rec);
		if (err)
			break;
	}
	free(line);
	fclose(f);
	return err;
}

static const char *get_str(json_object *rec, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long get_long(json_object *rec, const char *key, long dflt)
{
	json_object *v;

	if (!json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_int))
		return dflt;
	return (long)json_object_get_int64(v);
}

struct crashes {
	const struct crash_filter *f;
	struct crash_summary *v;
	size_t n, cap;
};

static struct crash_summary *find(struct crashes *cs, const char *id)
{
	size_t i;

	/* Newest first: a rescue record follows its crash closely. */
	for (i = cs->n; i-- > 0;)
		if (!strcmp(cs->v[i].id, id))
			return &cs->v[i];
	return NULL;
}

/* "function (module base name)" of the first frame of @rec's backtrace that has a name. */
static void innermost_named(json_object *rec, char *out, size_t len)
{
	json_object *bt;
	size_t i, n;

	out[0] = '\0';
	if (!json_object_object_get_ex(rec, "backtrace", &bt) ||
	    !json_object_is_type(bt, json_type_array))
		return;
	n = json_object_array_length(bt);
	for (i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(bt, i);
		const char *fn = get_str(f, "function"), *mod = get_str(f, "module");

		if (!fn)
			continue;
		if (mod && strrchr(mod, '/'))
			mod = strrchr(mod, '/') + 1;
		snprintf(out, len, "%s (%s)", fn, mod ? mod : "?");
		return;
	}
}

static int on_record(json_object *rec, void *arg)
{
	struct crashes *cs = arg;
	const char *event = get_str(rec, "event"), *id = get_str(rec, "id");
	struct crash_summary *s;

	if (!event || !id)
		return 0;
	if (!strcmp(event, "crash")) {
		const char *ts = get_str(rec, "ts"), *app = get_str(rec, "app");
		const char *cause = get_str(rec, "cause");
		long uid = get_long(rec, "uid", -1);
		int64_t ms = 0;

		if (ts)
			time_parse(ts, &ms);
		if (cs->f->uid != AUDITLOG_ANY_UID && uid != cs->f->uid)
			return 0;
		if (cs->f->app && (!app || strcmp(app, cs->f->app)))
			return 0;
		if (cs->f->since_ms && ms < cs->f->since_ms)
			return 0;
		if (cs->n == cs->cap) {
			size_t cap = cs->cap ? cs->cap * 2 : 64;
			struct crash_summary *n = realloc(cs->v, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			cs->v = n;
			cs->cap = cap;
		}
		s = &cs->v[cs->n++];
		memset(s, 0, sizeof(*s));
		snprintf(s->id, sizeof(s->id), "%s", id);
		snprintf(s->time, sizeof(s->time), "%s", ts ? ts : "");
		s->time_ms = ms;
		snprintf(s->app, sizeof(s->app), "%s", app ? app : "");
		s->pid = get_long(rec, "pid", -1);
		s->uid = uid;
		snprintf(s->cause, sizeof(s->cause), "%s", cause ? cause : "");
		strcpy(s->rescue, "pending");
		snprintf(s->signature, sizeof(s->signature), "%s",
			 get_str(rec, "signature") ? get_str(rec, "signature") : "");
		innermost_named(rec, s->frame, sizeof(s->frame));
	} else if (!strcmp(event, "rescue")) {
		const char *status = get_str(rec, "status");

		s = find(cs, id);
		if (s && status)
			snprintf(s->rescue, sizeof(s->rescue), "%s", status);
	}
	return 0;
}

int auditlog_crashes(const char *path, const struct crash_filter *f, struct crash_summary **out,
		     size_t *n)
{
	struct crashes cs = { .f = f };
	int err = scan(path, on_record, &cs);

	if (err) {
		free(cs.v);
		return err;
	}
	*out = cs.v;
	*n = cs.n;
	return 0;
}

json_object *crash_summary_json(const struct crash_summary *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(s->id));
	json_object_object_add(o, "time", json_object_new_string(s->time));
	json_object_object_add(o, "app", json_object_new_string(s->app));
	json_object_object_add(o, "pid", json_object_new_int64(s->pid));
	json_object_object_add(o, "uid", json_object_new_int64(s->uid));
	json_object_object_add(o, "cause", json_object_new_string(s->cause));
	json_object_object_add(o, "rescue", json_object_new_string(s->rescue));
	json_object_object_add(o, "signature",
			       s->signature[0] ? json_object_new_string(s->signature) : NULL);
	json_object_object_add(o, "frame", s->frame[0] ? json_object_new_string(s->frame) : NULL);
	return o;
}

struct records {
	const char *id;
	long uid;
	int allowed; /* the crash record's uid matched */
	json_object *arr;
};

static int collect(json_object *rec, void *arg)
{
	struct records *r = arg;
	const char *id = get_str(rec, "id"), *event = get_str(rec, "event");

	if (!id || strcmp(id, r->id))
		return 0;
	if (event && !strcmp(event, "crash") &&
	    (r->uid == AUDITLOG_ANY_UID || get_long(rec, "uid", -1) == r->uid))
		r->allowed = 1;
	json_object_array_add(r->arr, json_object_get(rec));
	return 0;
}

int auditlog_crash_records(const char *path, const char *id, long uid, json_object **out)
{
	struct records r = { .id = id, .uid = uid, .arr = json_object_new_array() };
	int err = scan(path, collect, &r);

	if (!err && (!r.allowed || json_object_array_length(r.arr) == 0))
		err = -ENOENT;
	if (err) {
		json_object_put(r.arr);
		return err;
	}
	*out = r.arr;
	return 0;
}
