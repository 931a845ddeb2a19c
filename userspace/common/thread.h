/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Threads that take no signal. The library's registration thread must leave
 * the app's signals to the app's threads; the collector's workers must leave
 * them to the event loop's signalfd. A thread inherits the mask of the thread
 * that creates it, so it is started with every signal blocked.
 */
#ifndef FG_THREAD_H
#define FG_THREAD_H

#include <pthread.h>

/* pthread_create(@t, NULL, @fn, @arg) with all signals blocked in the new thread; -errno. */
int thread_start_unsignalled(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
