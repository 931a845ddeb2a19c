/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every way a test app ends, by name: the mode argument of app_crash and
 * of the fg_guard tests' launch function.
 *
 *   segv         NULL dereference            abort        abort()
 *   thread-segv  NULL deref in a new thread  wait         pause() until killed
 *   exit3        exit(3)                     exit0        exit(0)
 *   return3      return 3 (fg_guard: launch's value)       return0   return 0
 *   close-segv   fg_close, then a NULL deref close-exit3  fg_close, then exit(3)
 */
#ifndef FG_TEST_APP_DEATH_H
#define FG_TEST_APP_DEATH_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultguard.h"

/* Read at run time, so the compiler cannot turn the dereference into a trap. */
static volatile uintptr_t app_null;

/* A real NULL dereference, which UBSan must let happen rather than report. */
__attribute__((no_sanitize("undefined"))) static inline void app_segv(void)
{
	*(volatile int *)app_null = 1;
}

static inline void *app_segv_thread(void *arg)
{
	(void)arg;
	app_segv();
	return NULL;
}

/* Ends as @mode says; returns only for the return modes (or -1 for an unknown mode). */
static inline int app_die(struct fg *fg, const char *mode)
{
	pthread_t t;

	if (!strcmp(mode, "segv")) {
		app_segv();
	} else if (!strcmp(mode, "abort")) {
		abort();
	} else if (!strcmp(mode, "thread-segv")) {
		if (pthread_create(&t, NULL, app_segv_thread, NULL) == 0)
			pthread_join(t, NULL);
	} else if (!strcmp(mode, "wait")) {
		for (;;)
			pause();
	} else if (!strcmp(mode, "exit3")) {
		exit(3);
	} else if (!strcmp(mode, "exit0")) {
		exit(0);
	} else if (!strcmp(mode, "return3")) {
		return 3;
	} else if (!strcmp(mode, "return0")) {
		return 0;
	} else if (!strcmp(mode, "close-segv")) {
		fg_close(fg);
		app_segv();
	} else if (!strcmp(mode, "close-exit3")) {
		fg_close(fg);
		exit(3);
	}
	return -1;
}

#endif
