// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Standalone guardian mode: the guardian creates the dictionary, its child
 * inherits it through $FAULTGUARD_FD, and the guardian reads it once the
 * child has died abnormally. No collector, no root, no BPF.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/export.h"
#include "common/proto.h"
#include "dict/dict.h"
#include "faultguard.h"
#include "lib/guard.h"
#include "lib/opts.h"
#include "snapshot/snapshot.h"

static const int guarded_signals[GUARD_NSIGNALS] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

FG_EXPORT int fg_memfd_create(const char *app, size_t max_bytes)
{
	return dict_memfd_create(app, max_bytes);
}

FG_EXPORT struct fg_snapshot *fg_snapshot_read_fd(int fd, size_t *discarded)
{
	struct dict_read_stats st;
	struct fg_snapshot *s;

	if (dict_check_fd(fd, DICT_MAX_BYTES, NULL) < 0) {
		errno = EBADF;
		return NULL;
	}
	s = dict_read_fd(fd, DICT_MAX_BYTES, &st);
	if (s && discarded)
		*discarded = st.discarded;
	return s;
}

void guard_ignore_signals(struct guard_signals *saved)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL };
	size_t i;

	for (i = 0; i < GUARD_NSIGNALS; i++)
		sigaction(guarded_signals[i], &ign, &saved->old[i]);
	sigaction(SIGCHLD, NULL, &saved->chld);
	if (saved->chld.sa_handler == SIG_IGN || (saved->chld.sa_flags & SA_NOCLDWAIT))
		sigaction(SIGCHLD, &dfl, NULL);
}

void guard_restore_signals(const struct guard_signals *saved)
{
	size_t i;

	for (i = 0; i < GUARD_NSIGNALS; i++)
		sigaction(guarded_signals[i], &saved->old[i], NULL);
	sigaction(SIGCHLD, &saved->chld, NULL);
}

void guard_child_default_signals(const struct guard_signals *saved)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < GUARD_NSIGNALS; i++) {
		sigaction(guarded_signals[i], &dfl, NULL);
		sigaddset(&set, guarded_signals[i]);
	}
	/* A caller that blocked them would otherwise keep the app deaf to Ctrl-C. */
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	sigaction(SIGCHLD, &saved->chld, NULL);
}

int guard_wait(pid_t pid, int *wstatus)
{
	while (waitpid(pid, wstatus, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int guard_is_crash(int wstatus, unsigned int flags)
{
	if (WIFSIGNALED(wstatus))
		return 1;
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0)
		return !(flags & FG_RESCUE_SIGNAL_ONLY);
	return 0;
}

struct fg_snapshot *guard_read(int memfd, const char *app, pid_t pid, long long time_ms,
			       size_t *discarded)
{
	struct fg_snapshot *s;
	struct timespec now;

	if (dict_fd_closed(memfd)) {
		errno = ENODATA;
		return NULL;
	}
	s = fg_snapshot_read_fd(memfd, discarded);
	if (!s)
		return NULL;
	if (!time_ms) {
		clock_gettime(CLOCK_REALTIME, &now);
		time_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	}
	snapshot_set_meta(s, app, pid, getuid(), time_ms);
	return s;
}

/* Runs in the forked child: never returns. */
static void __attribute__((noreturn))
guard_child(const struct fg_opts *opts, const struct guard_signals *saved, int memfd,
	    fg_launch_fn launch, void *arg)
{
	char fdstr[16];
	struct fg *fg;
	int rc;

	guard_child_default_signals(saved);
	snprintf(fdstr, sizeof(fdstr), "%d", memfd);
	setenv("FAULTGUARD_FD", fdstr, 1);
	/*
	 * Only fails when out of memory or fds (the options were checked
	 * before the fork); the guardian then rescues an empty dictionary
	 * with wait status 127, which is what happened.
	 */
	fg = fg_open(opts);
	if (!fg)
		_exit(127);
	rc = launch(fg, arg);
	/* The app ended in order: its data is not to be rescued. */
	if (rc == 0)
		fg_close(fg);
	fflush(NULL);
	_exit(rc & 0xff);
}

FG_EXPORT int fg_guard(const struct fg_opts *opts, fg_launch_fn launch, fg_rescue_fn rescue,
		       void *arg)
{
	struct guard_signals saved;
	struct fg_opts child_opts;
	struct fg_snapshot *s;
	int memfd, wstatus, err;
	pid_t pid;

	if (!opts || !launch || opts->sz < offsetof(struct fg_opts, flags) + sizeof(opts->flags))
		return -EINVAL;
	/* This guardian is the rescuer: the child needs no command and no collector socket. */
	child_opts = (struct fg_opts){
		.sz = sizeof(child_opts),
		.app = opts->app,
		.max_bytes = opts->max_bytes,
		.flags = opts->flags,
	};
	/* Checked here, not in the child, so that bad options never fork. */
	if (!opts_valid(&child_opts))
		return -EINVAL;
	memfd = dict_memfd_create(opts->app, opts->max_bytes);
	if (memfd < 0)
		return memfd;
	/* Before the fork: a Ctrl-C at any instant from here on reaches the child alone. */
	guard_ignore_signals(&saved);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto err_restore;
	}
	if (pid == 0)
		guard_child(&child_opts, &saved, memfd, launch, arg);
	err = guard_wait(pid, &wstatus);
	guard_restore_signals(&saved);
	if (err)
		goto err_close;
	if (guard_is_crash(wstatus, opts->flags) && rescue) {
		/* NULL when the app called fg_close (or, rarely, when out of memory). */
		s = guard_read(memfd, opts->app, pid, 0, NULL);
		if (s)
			rescue(s, wstatus, arg);
		fg_snapshot_close(s);
	}
	close(memfd);
	return wstatus;

err_restore:
	guard_restore_signals(&saved);
err_close:
	close(memfd);
	return err;
}
