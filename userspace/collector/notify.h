/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The service manager's notification protocol (sd_notify(3), spoken
 * directly: one datagram per message to $NOTIFY_SOCKET, no libsystemd).
 * READY=1 once the BPF programs are attached and the socket listens,
 * STATUS= (registrations, the last crash) as they change, at most once a
 * second, WATCHDOG=1 at half of $WATCHDOG_USEC, RELOADING=1 with
 * MONOTONIC_USEC= and READY=1 around a reload, STOPPING=1 at shutdown.
 * Without $NOTIFY_SOCKET every call does nothing.
 */
#ifndef FG_COLLECTOR_NOTIFY_H
#define FG_COLLECTOR_NOTIFY_H

#include <json-c/json.h>
#include <stdint.h>

struct collector;
struct notify;

/* Reads $NOTIFY_SOCKET and $WATCHDOG_USEC; *out stays NULL without them. 0 or -errno. */
int notify_open(struct notify **out, const char **why);
void notify_close(struct notify *n);

void notify_ready(struct collector *c);
void notify_reloading(struct collector *c);
void notify_stopping(struct collector *c);
/* Every audit record as it is written: a crash becomes the status's "last crash". */
void notify_observe(struct collector *c, json_object *rec);
/* From the collector's timer: the watchdog ping and a changed status, when due. */
void notify_tick(struct collector *c);
/* When notify_tick next has something to do (mono ms), INT64_MAX for never. */
int64_t notify_next_deadline(const struct collector *c);

#endif
