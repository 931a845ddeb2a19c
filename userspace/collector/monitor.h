/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The BPF side of the collector: loads and attaches the programs, keeps the
 * `watched` map in step with the registrations, and turns ring-buffer
 * records into calls of the event callback. Only this file talks to BPF.
 */
#ifndef FG_COLLECTOR_MONITOR_H
#define FG_COLLECTOR_MONITOR_H

#include <stdint.h>

#include <linux/types.h>

#include "faultguard_event.h"

struct monitor;

typedef void (*monitor_event_fn)(const struct fg_event *e, void *ctx);

/* On failure *why (may be NULL) gets a sentence for the operator. */
int monitor_open(struct monitor **out, monitor_event_fn fn, void *ctx, int verbose,
		 const char **why);
void monitor_close(struct monitor *m); /* accepts NULL */
/* An fd that is readable when records wait (for epoll). */
int monitor_fd(const struct monitor *m);
/* Delivers every waiting record; returns their number or -errno. */
int monitor_consume(struct monitor *m);
int monitor_watch(struct monitor *m, uint32_t tgid);
int monitor_unwatch(struct monitor *m, uint32_t tgid);
/*
 * Where a watched thread took its fatal signal (registers, stack, code
 * mappings): delivered before the exit record of its process; @e is valid
 * during the call only. Without a handler the records are dropped.
 */
typedef void (*monitor_stack_fn)(const struct fg_stack_event *e, void *ctx);
void monitor_on_stack(struct monitor *m, monitor_stack_fn fn, void *ctx);
/* Stack records the kernel could not queue (their crashes get no backtrace). */
uint64_t monitor_lost_stacks(const struct monitor *m);
/* Records the kernel could not queue because the ring buffer was full. */
uint64_t monitor_lost(const struct monitor *m);

#endif
