// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "collector/collector.h"
#include "common/thread.h"
#include "collector/workers.h"

#define SYNC_THREADS 1
#define SNAP_THREADS 2
/*
 * The snapshot threads' nice value: on a busy host (2 cores) a 1 GiB
 * snapshot's copy, CRC, compression and digest would otherwise take CPU
 * from the event loop and from other apps' rescue commands, forked from
 * it at nice 0.
 */
#define SNAP_NICE 10

/* One user's queued work in a lane, urgent and not. */
struct uidq {
	uid_t uid;
	struct work *head[2], *tail[2];
	unsigned int running;
	struct uidq *next;
};

struct lane {
	pthread_t threads[SNAP_THREADS];
	unsigned int nthreads;
	struct uidq *uids; /* the order breaks ties: the one taken last goes to the end */
	int nice;          /* of its threads */
};

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	struct lane lanes[LANE_COUNT];
	unsigned int queued, running;
	struct work *done_head, *done_tail;
	struct watch done_w; /* an eventfd: works ran, their done() is due */
	int stop;
};

static struct uidq *uidq_get(struct lane *l, uid_t uid)
{
	struct uidq **pp, *q;

	for (pp = &l->uids; *pp; pp = &(*pp)->next)
		if ((*pp)->uid == uid)
			return *pp;
	q = calloc(1, sizeof(*q));
	if (q) {
		q->uid = uid;
		*pp = q;
	}
	return q;
}

static void uidq_unlink(struct lane *l, struct uidq *q)
{
	struct uidq **pp;

	for (pp = &l->uids; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			q->next = NULL;
			return;
		}
}

static void uidq_append(struct lane *l, struct uidq *q)
{
	struct uidq **pp;

	for (pp = &l->uids; *pp; pp = &(*pp)->next)
		;
	*pp = q;
}

/* The next work of @l: urgent first, from the user with the fewest running. */
static struct work *take(struct lane *l, struct uidq **from)
{
	struct uidq *q, *best = NULL;
	struct work *w;
	int u;

	for (u = 0; u < 2 && !best; u++)
		for (q = l->uids; q; q = q->next)
			if (q->head[u] && (!best || q->running < best->running))
				best = q;
	if (!best)
		return NULL;
	u = best->head[0] ? 0 : 1;
	w = best->head[u];
	best->head[u] = w->next;
	if (!best->head[u])
		best->tail[u] = NULL;
	best->running++;
	uidq_unlink(l, best);
	uidq_append(l, best);
	*from = best;
	return w;
}

struct thread_arg {
	struct workers *ws;
	struct lane *lane;
};

static void *worker_main(void *p)
{
	struct thread_arg *a = p;
	struct workers *ws = a->ws;
	struct lane *l = a->lane;
	uint64_t one = 1;

	free(a);
	/* Per thread on Linux; lowering one's own priority needs no privilege. */
	if (l->nice)
		(void)!setpriority(PRIO_PROCESS, (id_t)gettid(), l->nice);
	pthread_mutex_lock(&ws->lock);
	for (;;) {
		struct uidq *q = NULL;
		struct work *w = take(l, &q);

		if (!w) {
			if (ws->stop)
				break;
			pthread_cond_wait(&ws->wake, &ws->lock);
			continue;
		}
		ws->queued--;
		ws->running++;
		pthread_mutex_unlock(&ws->lock);
		w->run(w);
		pthread_mutex_lock(&ws->lock);
		q->running--;
		if (!q->running && !q->head[0] && !q->head[1]) {
			uidq_unlink(l, q);
			free(q);
		}
		ws->running--;
		w->next = NULL;
		if (ws->done_tail)
			ws->done_tail->next = w;
		else
			ws->done_head = w;
		ws->done_tail = w;
		(void)!write(ws->done_w.fd, &one, sizeof(one));
		pthread_cond_broadcast(&ws->idle);
	}
	pthread_mutex_unlock(&ws->lock);
	return NULL;
}

/* Calls done() of every work that ran, in the order they finished. */
static void deliver(struct workers *ws)
{
	struct work *w;

	for (;;) {
		pthread_mutex_lock(&ws->lock);
		w = ws->done_head;
		if (w) {
			ws->done_head = w->next;
			if (!ws->done_head)
				ws->done_tail = NULL;
		}
		pthread_mutex_unlock(&ws->lock);
		if (!w)
			return;
		w->done(w);
	}
}

static void on_done(struct watch *w, uint32_t events)
{
	struct workers *ws = w->data;
	uint64_t n;

	(void)events;
	(void)!read(w->fd, &n, sizeof(n));
	deliver(ws);
}

static int start_lane(struct workers *ws, struct lane *l, unsigned int n)
{
	int err = 0;

	/* Signals stay with the loop's thread. */
	for (l->nthreads = 0; l->nthreads < n; l->nthreads++) {
		struct thread_arg *a = malloc(sizeof(*a));

		if (!a) {
			err = ENOMEM;
			break;
		}
		a->ws = ws;
		a->lane = l;
		err = -thread_start_unsignalled(&l->threads[l->nthreads], worker_main, a);
		if (err) {
			free(a);
			break;
		}
	}
	return -err;
}

int workers_new(struct collector *c)
{
	struct workers *ws = calloc(1, sizeof(*ws));
	int err;

	if (!ws)
		return -ENOMEM;
	pthread_mutex_init(&ws->lock, NULL);
	pthread_cond_init(&ws->wake, NULL);
	pthread_cond_init(&ws->idle, NULL);
	c->workers = ws;
	ws->done_w = (struct watch){ .fn = on_done, .data = ws,
				     .fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	if (ws->done_w.fd < 0)
		return -errno;
	err = loop_add(c->loop, &ws->done_w, EPOLLIN);
	if (!err)
		err = start_lane(ws, &ws->lanes[LANE_SYNC], SYNC_THREADS);
	ws->lanes[LANE_SNAP].nice = SNAP_NICE;
	if (!err)
		err = start_lane(ws, &ws->lanes[LANE_SNAP], SNAP_THREADS);
	return err;
}

void workers_submit(struct collector *c, struct work *w)
{
	struct workers *ws = c->workers;
	struct lane *l = &ws->lanes[w->lane];
	struct uidq *q;
	int u = w->urgent ? 0 : 1;

	pthread_mutex_lock(&ws->lock);
	q = l->nthreads ? uidq_get(l, w->uid) : NULL;
	if (!q) {
		/* No thread to take it (or no memory to queue it): it runs here. */
		pthread_mutex_unlock(&ws->lock);
		w->run(w);
		w->done(w);
		return;
	}
	w->next = NULL;
	if (q->tail[u])
		q->tail[u]->next = w;
	else
		q->head[u] = w;
	q->tail[u] = w;
	ws->queued++;
	pthread_cond_broadcast(&ws->wake);
	pthread_mutex_unlock(&ws->lock);
}

void workers_drain(struct collector *c)
{
	struct workers *ws = c->workers;

	if (!ws)
		return;
	for (;;) {
		pthread_mutex_lock(&ws->lock);
		while ((ws->queued || ws->running) && !ws->done_head)
			pthread_cond_wait(&ws->idle, &ws->lock);
		if (!ws->queued && !ws->running && !ws->done_head) {
			pthread_mutex_unlock(&ws->lock);
			return;
		}
		pthread_mutex_unlock(&ws->lock);
		deliver(ws);
	}
}

void workers_free(struct collector *c)
{
	struct workers *ws = c->workers;
	int i;
	unsigned int t;

	if (!ws)
		return;
	pthread_mutex_lock(&ws->lock);
	ws->stop = 1;
	pthread_cond_broadcast(&ws->wake);
	pthread_mutex_unlock(&ws->lock);
	for (i = 0; i < LANE_COUNT; i++) {
		for (t = 0; t < ws->lanes[i].nthreads; t++)
			pthread_join(ws->lanes[i].threads[t], NULL);
		while (ws->lanes[i].uids) {
			struct uidq *q = ws->lanes[i].uids;

			ws->lanes[i].uids = q->next;
			free(q);
		}
	}
	if (ws->done_w.fd >= 0) {
		loop_del(c->loop, &ws->done_w);
		close(ws->done_w.fd);
	}
	pthread_cond_destroy(&ws->wake);
	pthread_cond_destroy(&ws->idle);
	pthread_mutex_destroy(&ws->lock);
	free(ws);
	c->workers = NULL;
}
