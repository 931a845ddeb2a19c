/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Metrics in the Prometheus text format (version 0.0.4). The counters are
 * kept by watching the audit records as they are written, so the numbers
 * and the audit log can never disagree; gauges are read from the collector
 * when the text is made. Served to `faultguardctl metrics` (the "metrics"
 * query) and, when metrics_textfile is set, written atomically for
 * node_exporter's textfile collector.
 */
#ifndef FG_COLLECTOR_METRICS_H
#define FG_COLLECTOR_METRICS_H

#include <json-c/json.h>

struct collector;
struct metrics;

int metrics_new(struct metrics **out);
void metrics_free(struct metrics *m); /* accepts NULL */

/* Counts what audit record @rec says happened. */
void metrics_observe(struct metrics *m, json_object *rec);

/*
 * The exposition text, malloc'd; NULL when out of memory. @asking: the
 * connections that asked for it (1 over the socket, 0 for the textfile),
 * left out of faultguard_connections.
 */
char *metrics_render(struct collector *c, unsigned int asking);

/* Writes the text to @path through a temporary file and a rename. */
int metrics_write_textfile(struct collector *c, const char *path);

#endif
