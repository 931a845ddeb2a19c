/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit records to syslog: each record as one RFC 5424 message on a local
 * datagram socket (/dev/log, where journald and rsyslog listen), with the
 * event name as MSGID and the record's JSON as MSG, so a fleet's log
 * pipeline gets the same facts as the audit log. Sending never blocks the
 * collector: when the receiver is slow or gone the message is dropped and
 * counted, and the socket is reconnected at most once a second.
 */
#ifndef FG_COLLECTOR_SYSLOG_H
#define FG_COLLECTOR_SYSLOG_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct syslog_sink;

/* Never fails for an absent receiver (it may come later); -ENOMEM only. */
int syslog_sink_open(struct syslog_sink **out, const char *path, int facility);
void syslog_sink_close(struct syslog_sink *s); /* accepts NULL */

/*
 * Sends audit record @rec, already serialised as @json (@len bytes, no
 * newline), with the audit chain's head after it (@seq, @head: hex SHA-256
 * of its line) as RFC 5424 structured data [chain@32473 seq="" sha256=""].
 */
void syslog_sink_send(struct syslog_sink *s, json_object *rec, const char *json, size_t len,
		      uint64_t seq, const char *head);

/* Messages that could not be delivered. */
uint64_t syslog_sink_dropped(const struct syslog_sink *s);

#endif
