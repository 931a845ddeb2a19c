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
#include "dict/dict.h"
#include "faultguard.h"
#include "lib/guard.h"
#include "snapshot/snapshot.h"

static const int guarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

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
	struct sigaction ign = { .sa_handler = SIG_IGN };
	size_t i;

	for (i = 0; i < GUARD_NSIGNALS; i++)
		sigaction(guarded_signals[i], &ign, &saved->old[i]);
}

void guard_restore_signals(const struct guard_signals *saved)
{
	size_t i;

	for (i = 0; i < GUARD_NSIGNALS; i++)
		sigaction(guarded_signals[i], &saved->old[i], NULL);
}

void guard_child_default_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	size_t i;

	for (i = 0; i < GUARD_NSIGNALS; i++)
		sigaction(guarded_signals[i], &dfl, NULL);
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

struct fg_snapshot *guard_read(int memfd, const char *app, pid_t pid, size_t *discarded)
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
	clock_gettime(CLOCK_REALTIME, &now);
	snapshot_set_meta(s, app, pid, getuid(), (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	return s;
}

FG_EXPORT int fg_guard(const struct fg_opts *opts, fg_launch_fn launch, fg_rescue_fn rescue,
		       void *arg)
{
	struct guard_signals saved;
	struct fg_snapshot *s;
	char fdstr[16];
	int memfd, wstatus, err;
	pid_t pid;

	if (!opts || !launch || opts->sz < sizeof(struct fg_opts) || !opts->app)
		return -EINVAL;
	memfd = dict_memfd_create(opts->app, opts->max_bytes);
	if (memfd < 0)
		return memfd;
	guard_ignore_signals(&saved);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		guard_restore_signals(&saved);
		close(memfd);
		return err;
	}
	if (pid == 0) {
		struct fg *fg;
		int rc;

		guard_child_default_signals();
		snprintf(fdstr, sizeof(fdstr), "%d", memfd);
		setenv("FAULTGUARD_FD", fdstr, 1);
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
	err = guard_wait(pid, &wstatus);
	guard_restore_signals(&saved);
	if (err) {
		close(memfd);
		return err;
	}
	if (guard_is_crash(wstatus, opts->flags) && rescue) {
		s = guard_read(memfd, opts->app, pid, NULL);
		if (s)
			rescue(s, wstatus, arg);
		fg_snapshot_close(s);
	}
	close(memfd);
	return wstatus;
}
