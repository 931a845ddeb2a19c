// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "collector/loop.h"

#define BATCH 64

struct deferred {
	void *p;
	void (*release)(void *);
	struct deferred *next;
};

struct loop {
	int epfd;
	int stop;
	struct deferred *deferred;
	void (*before_wait)(void *arg);
	void *before_wait_arg;
};

int loop_new(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = -errno;

		free(l);
		return err;
	}
	*out = l;
	return 0;
}

static void run_deferred(struct loop *l)
{
	while (l->deferred) {
		struct deferred *d = l->deferred;

		l->deferred = d->next;
		d->release(d->p);
		free(d);
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	run_deferred(l);
	close(l->epfd);
	free(l);
}

int loop_add(struct loop *l, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->dead = 0;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

int loop_mod(struct loop *l, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

void loop_del(struct loop *l, struct watch *w)
{
	if (w->dead)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = 1;
}

void loop_defer_free(struct loop *l, void *p, void (*release)(void *))
{
	struct deferred *d = malloc(sizeof(*d));

	if (!d) {
		/* Out of memory: leaking is safer than a use after free. */
		return;
	}
	d->p = p;
	d->release = release;
	d->next = l->deferred;
	l->deferred = d;
}

void loop_before_wait(struct loop *l, void (*fn)(void *arg), void *arg)
{
	l->before_wait = fn;
	l->before_wait_arg = arg;
}

int loop_run(struct loop *l)
{
	struct epoll_event ev[BATCH];
	int n, i;

	while (!l->stop) {
		if (l->before_wait)
			l->before_wait(l->before_wait_arg);
		n = epoll_wait(l->epfd, ev, BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n && !l->stop; i++) {
			struct watch *w = ev[i].data.ptr;

			if (!w->dead)
				w->fn(w, ev[i].events);
		}
		run_deferred(l);
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = 1;
}

int loop_pause(struct loop *l, struct watch *w)
{
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL) < 0 ? -errno : 0;
}

int loop_resume(struct loop *l, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}
