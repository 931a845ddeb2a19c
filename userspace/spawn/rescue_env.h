/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rescue command's environment (SPEC §4), in one place: the collector
 * adds it to a clean environment, `faultguardctl run` to the caller's.
 */
#ifndef FG_RESCUE_ENV_H
#define FG_RESCUE_ENV_H

#include <stddef.h>
#include <sys/types.h>

#define RESCUE_ENV_COUNT 9

struct rescue_env {
	const char *snapshot; /* absolute path (of the file, or /proc/PID/fd/N of a memfd) */
	const char *stored;   /* "disk" or "memory" */
	const char *id;
	const char *app;
	const char *cause;
	pid_t pid;
	uid_t uid;
	int signal;    /* 0 when it exited */
	int exit_code; /* -1 when killed: the variable is then empty */
};

/*
 * Writes the FAULTGUARD_* "NAME=value" strings into @store and points
 * env[0..RESCUE_ENV_COUNT-1] at them, env[RESCUE_ENV_COUNT] = NULL.
 * -E2BIG when @store is too small.
 */
int rescue_env_format(const struct rescue_env *r, char *env[RESCUE_ENV_COUNT + 1], char *store,
		      size_t cap);

#endif
