// SPDX-License-Identifier: LGPL-2.1-or-later
/* The operational features' lifecycle and the hooks the collector calls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/autosave.h"
#include "collector/collector.h"
#include "collector/metrics.h"
#include "collector/notify.h"
#include "collector/ops.h"
#include "collector/ratelimit.h"
#include "collector/retention.h"
#include "collector/syslog.h"

#define PRUNE_MS (60 * 1000)

/* Every audit record, as it is written. */
static void on_record(json_object *rec, const char *line, size_t len, void *arg)
{
	struct collector *c = arg;

	uint64_t seq;
	char head[65];

	metrics_observe(c->ops->metrics, rec);
	notify_observe(c, rec);
	if (c->ops->syslog) {
		audit_head(c->audit, &seq, head);
		syslog_sink_send(c->ops->syslog, rec, line, len, seq, head);
	}
}

int ops_open_syslog(struct collector *c)
{
	syslog_sink_close(c->ops->syslog);
	c->ops->syslog = NULL;
	if (!c->cfg.syslog)
		return 0;
	return syslog_sink_open(&c->ops->syslog, c->cfg.syslog_socket, c->cfg.syslog_facility);
}

int ops_init(struct collector *c, const struct config_flags *flags, const char **why)
{
	struct ops *o = calloc(1, sizeof(*o));
	int err;

	*why = "out of memory";
	if (!o)
		return -ENOMEM;
	c->ops = o;
	o->flags = *flags;
	if ((err = ratelimit_new(&o->ratelimit)) || (err = retention_new(&o->retention)) ||
	    (err = autosave_new(&o->autosave)) || (err = metrics_new(&o->metrics)) ||
	    (err = ops_open_syslog(c)))
		return err;
	audit_set_observer(c->audit, on_record, c);
	return 0;
}

static void write_textfile(struct collector *c)
{
	int err;

	if (!c->cfg.metrics_textfile[0])
		return;
	err = metrics_write_textfile(c, c->cfg.metrics_textfile);
	/* Said once per kind of failure, not every interval. */
	if (err && err != c->ops->textfile_err)
		fprintf(stderr, "faultguardd: cannot write the metrics textfile %s: %s\n",
			c->cfg.metrics_textfile, strerror(-err));
	c->ops->textfile_err = err;
}

void ops_tick(struct collector *c)
{
	struct ops *o = c->ops;
	int64_t now = mono_ms();

	retention_tick(c);
	autosave_tick(c);
	if (now >= o->next_prune_ms) {
		ratelimit_prune(o->ratelimit, (int64_t)c->cfg.rate_limit_interval_s * 1000, now);
		o->next_prune_ms = now + PRUNE_MS;
	}
	if (now >= o->next_metrics_ms) {
		write_textfile(c);
		o->next_metrics_ms = now + (int64_t)c->cfg.metrics_interval_s * 1000;
	}
}

static int64_t earliest(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t ops_next_deadline(const struct collector *c)
{
	const struct ops *o = c->ops;
	int64_t next = earliest(retention_next(c), autosave_next(c));

	/* Pruning an empty table would wake an idle collector every minute for nothing. */
	if (!ratelimit_empty(o->ratelimit))
		next = earliest(next, o->next_prune_ms);
	if (c->cfg.metrics_textfile[0])
		next = earliest(next, o->next_metrics_ms);
	return next;
}

void ops_free(struct collector *c)
{
	struct ops *o = c->ops;

	if (!o)
		return;
	if (c->audit)
		audit_set_observer(c->audit, NULL, NULL);
	if (o->metrics)
		write_textfile(c);
	ratelimit_free(o->ratelimit);
	retention_free(o->retention);
	autosave_free(o->autosave);
	metrics_free(o->metrics);
	syslog_sink_close(o->syslog);
	free(o);
	c->ops = NULL;
}

int ops_rescue_allowed(struct collector *c, uid_t uid, const char *app)
{
	if (!c->ops)
		return 1;
	return ratelimit_allow(c->ops->ratelimit, uid, app, c->cfg.rate_limit_burst,
			       (int64_t)c->cfg.rate_limit_interval_s * 1000, mono_ms());
}

void ops_registration_ended(struct collector *c, const struct reg *r)
{
	if (c->ops)
		autosave_forget(c, r->id.pid, r->registered_ms, r->id.uid, r->app);
}

void ops_snapshot_stored(struct collector *c, pid_t pid, int64_t registered_ms, uid_t uid,
			 const char *app)
{
	if (!c->ops)
		return;
	autosave_forget(c, pid, registered_ms, uid, app);
	retention_soon(c);
}

void ops_held_changed(struct collector *c)
{
	if (c->ops)
		retention_soon(c);
}
