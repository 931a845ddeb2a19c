/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The collector's single event loop (epoll). Everything that can wake the
 * collector — the socket, client connections, the BPF ring buffer, rescue
 * processes (pidfds), their output pipes and timers, signals — is a watch.
 */
#ifndef FG_COLLECTOR_LOOP_H
#define FG_COLLECTOR_LOOP_H

#include <stdint.h>

struct loop;
struct watch;

typedef void (*watch_fn)(struct watch *w, uint32_t events);

struct watch {
	int fd;
	watch_fn fn;
	void *data;
	int dead; /* removed during this batch: skip any event still pending */
};

int loop_new(struct loop **out);
void loop_free(struct loop *l);
int loop_add(struct loop *l, struct watch *w, uint32_t events);
int loop_mod(struct loop *l, struct watch *w, uint32_t events);
/*
 * Stops watching @w. The memory holding @w may be freed only through
 * loop_defer_free() (events of this batch may still point at it).
 */
void loop_del(struct loop *l, struct watch *w);
/* Out of the epoll set and back, the watch left alive (a hand-over's pause). */
int loop_pause(struct loop *l, struct watch *w);
int loop_resume(struct loop *l, struct watch *w, uint32_t events);
void loop_defer_free(struct loop *l, void *p, void (*release)(void *));
/* @fn runs before every wait (after each batch of events): deadlines are set there. */
void loop_before_wait(struct loop *l, void (*fn)(void *arg), void *arg);
/* Runs until loop_stop(); returns 0, or -errno if epoll failed. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
