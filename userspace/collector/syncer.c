// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The fsync thread (see syncer.h). It touches nothing of the collector's
 * but its own queue: fds in, fsync and close, done. Signals stay with the
 * event loop's thread (the thread starts with all of them blocked).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "collector/syncer.h"

#define QUEUE_MAX 256 /* jobs waiting: 2 fds each */

struct job {
	int fd, dirfd;
};

struct syncer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job q[QUEUE_MAX];
	unsigned int head, count;
	int stop;
};

static void sync_one(struct job j)
{
	fsync(j.fd);
	close(j.fd);
	/* After the file: the directory entry must not name data that is not there. */
	fsync(j.dirfd);
	close(j.dirfd);
}

static void *syncer_main(void *arg)
{
	struct syncer *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct job j;

		while (!s->count && !s->stop)
			pthread_cond_wait(&s->wake, &s->lock);
		if (!s->count)
			break; /* stopping, and nothing left */
		j = s->q[s->head];
		s->head = (s->head + 1) % QUEUE_MAX;
		s->count--;
		pthread_mutex_unlock(&s->lock);
		sync_one(j);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int syncer_new(struct syncer **out)
{
	struct syncer *s = calloc(1, sizeof(*s));
	sigset_t all, old;
	int err;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->thread, NULL, syncer_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return -err;
	}
	*out = s;
	return 0;
}

void syncer_add(struct syncer *s, int fd, int dirfd)
{
	struct job j = { .fd = fd, .dirfd = dirfd };

	if (s) {
		pthread_mutex_lock(&s->lock);
		if (s->count < QUEUE_MAX && !s->stop) {
			s->q[(s->head + s->count) % QUEUE_MAX] = j;
			s->count++;
			pthread_cond_signal(&s->wake);
			pthread_mutex_unlock(&s->lock);
			return;
		}
		pthread_mutex_unlock(&s->lock);
	}
	sync_one(j);
}

void syncer_free(struct syncer *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
