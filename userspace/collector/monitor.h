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

/*
 * On failure *why (may be NULL) gets a sentence for the operator.
 *
 * @pin_dir (NULL: nothing pinned) is a directory in bpffs (mounted at
 * /sys/fs/bpf when it is not) where the programs' links and the maps a
 * successor needs stay pinned, so the kernel keeps watching while no
 * collector runs. What a predecessor left there is adopted: its watched
 * tgids are watched by our programs before its programs are detached, and
 * the exit records its programs queued wait for monitor_drain_adopted().
 */
int monitor_open(struct monitor **out, monitor_event_fn fn, void *ctx, int verbose,
		 const char *pin_dir, const char **why);
/* Whether the kernel loads our programs (load only: nothing attached or pinned). */
int monitor_check(const char **why);
/*
 * Delivers (to the event callback) the records the predecessor's programs
 * queued while no collector read them, then lets that ring go. Once.
 */
int monitor_drain_adopted(struct monitor *m);
/* Tgids the predecessor watched that were taken over by monitor_open. */
unsigned int monitor_adopted(const struct monitor *m);
/*
 * @keep_watching: the pins stay (the programs go on watching for the next
 * collector); else they are removed and the programs detach. Accepts NULL.
 */
void monitor_close(struct monitor *m, int keep_watching);

/*
 * Who a watched tgid is, kept in a pinned map beside `watched` (BPF never
 * reads it): what a later collector needs to record a death it did not see
 * happen. The map outlives every collector until the host reboots.
 */
#define MONITOR_REGINFO_VERSION 1
struct monitor_reginfo {
	uint64_t start_ticks;   /* /proc/PID/stat starttime of the process */
	int64_t registered_ms;  /* CLOCK_REALTIME ms */
	uint32_t version;       /* MONITOR_REGINFO_VERSION */
	uint32_t uid, gid;
	uint32_t flags;         /* FG_RESCUE_* of the registration */
	char app[65];
	char comm[17];
	char pad[6];
};
int monitor_note(struct monitor *m, uint32_t tgid, const struct monitor_reginfo *ri);
/* 0 and *@ri, or -ENOENT. */
int monitor_reginfo(struct monitor *m, uint32_t tgid, struct monitor_reginfo *ri);
void monitor_reginfo_forget(struct monitor *m, uint32_t tgid);
/* How many tgids are noted (registered here, or adopted and alive). */
unsigned int monitor_noted(struct monitor *m);
/* Calls @fn for every noted tgid (a snapshot of the map: @fn may forget). */
void monitor_reginfo_each(struct monitor *m,
			  void (*fn)(uint32_t tgid, const struct monitor_reginfo *ri, void *arg),
			  void *arg);
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
