// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The public dictionary API: struct fg ties a dictionary writer to its
 * memfd and to whoever holds it for a rescue (the collector, through the
 * registration thread, or a guardian that passed $FAULTGUARD_FD).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/export.h"
#include "common/proto.h"
#include "dict/dict.h"
#include "faultguard.h"
#include "lib/client.h"
#include "lib/opts.h"

struct fg {
	struct dict_writer *w;
	struct client *client; /* NULL in guardian mode and in a forked child */
	int memfd;
	int guarded;  /* a guardian holds the dictionary */
	int detached; /* a forked child's private copy */
	struct fg *next;
};

/* Open handles, so a forked child can detach each of them. */
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fg *handles;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
/*
 * Closed handles are kept (small, without their dictionary) so that a call
 * on one returns -EBADF instead of touching freed memory; the oldest go once
 * there are more than CLOSED_KEEP.
 */
#define CLOSED_KEEP 1024
static struct fg *closed_ring[CLOSED_KEEP];
static unsigned int closed_next;
static int guard_fd_claimed;

static void atfork_prepare(void)
{
	pthread_mutex_lock(&handles_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&handles_lock);
}

static void atfork_child(void)
{
	struct fg *fg;

	for (fg = handles; fg; fg = fg->next) {
		if (fg->detached)
			continue;
		dict_writer_detach(fg->w, fg->memfd);
		client_forget(fg->client);
		fg->client = NULL;
		close(fg->memfd);
		fg->memfd = -1;
		fg->detached = 1;
	}
	pthread_mutex_unlock(&handles_lock);
}

static void register_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static void handles_add(struct fg *fg)
{
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&handles_lock);
	fg->next = handles;
	handles = fg;
	pthread_mutex_unlock(&handles_lock);
}

static void handles_remove(struct fg *fg)
{
	struct fg **pp;

	pthread_mutex_lock(&handles_lock);
	for (pp = &handles; *pp; pp = &(*pp)->next)
		if (*pp == fg) {
			*pp = fg->next;
			break;
		}
	pthread_mutex_unlock(&handles_lock);
}

/* The dictionary a guardian passed in $FAULTGUARD_FD, or -ENOENT. */
static int take_guard_fd(void)
{
	const char *env = getenv("FAULTGUARD_FD");
	char *end;
	long fd;
	int err;

	if (!env || !*env)
		return -ENOENT;
	errno = 0;
	fd = strtol(env, &end, 10);
	if (errno || *end || fd < 0 || fd > 1 << 20)
		return -EBADF;
	if (__atomic_exchange_n(&guard_fd_claimed, 1, __ATOMIC_SEQ_CST))
		return -EBUSY;
	if (dict_check_fd((int)fd, DICT_MAX_BYTES, NULL) < 0) {
		err = -EBADF;
		goto err_unclaim;
	}
	/* A new program image starts from an empty dictionary. */
	err = dict_fd_reset((int)fd);
	if (err)
		goto err_unclaim;
	/* Programs this one runs are not guarded by our guardian. */
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	unsetenv("FAULTGUARD_FD");
	return (int)fd;

err_unclaim:
	__atomic_store_n(&guard_fd_claimed, 0, __ATOMIC_SEQ_CST);
	return err;
}

static const char *socket_path_for(const struct fg_opts *opts)
{
	const char *env = getenv("FAULTGUARD_SOCKET");

	if (opts->socket_path && *opts->socket_path)
		return opts->socket_path;
	return env && *env ? env : FG_DEFAULT_SOCKET;
}

FG_EXPORT struct fg *fg_open(const struct fg_opts *opts)
{
	struct fg *fg;
	int err;

	if (!opts_valid(opts)) {
		errno = EINVAL;
		return NULL;
	}
	fg = calloc(1, sizeof(*fg));
	if (!fg) {
		errno = ENOMEM;
		return NULL;
	}
	fg->memfd = take_guard_fd();
	if (fg->memfd >= 0) {
		fg->guarded = 1;
	} else if (fg->memfd == -ENOENT) {
		fg->memfd = dict_memfd_create(opts->app, opts->max_bytes);
	}
	if (fg->memfd < 0) {
		err = fg->memfd;
		goto err_free;
	}
	/*
	 * Registration first: the collector checks and records it while we map
	 * the dictionary and start our thread (the dictionary is complete: it
	 * was formatted at creation).
	 */
	if (!fg->guarded) {
		err = client_start(&fg->client, socket_path_for(opts), opts->app,
				   opts->rescue_argv, opts->flags, fg->memfd);
		if (err)
			goto err_close;
	}
	err = dict_writer_attach(fg->memfd, &fg->w);
	if (err)
		goto err_client;
	handles_add(fg);
	return fg;

err_client:
	/* Orderly: the collector forgets it without a rescue. */
	client_stop(fg->client, 1);
err_close:
	close(fg->memfd);
	if (fg->guarded)
		__atomic_store_n(&guard_fd_claimed, 0, __ATOMIC_SEQ_CST);
err_free:
	free(fg);
	errno = -err;
	return NULL;
}

static inline size_t key_len(const char *key)
{
	/* 256 means "too long": dict_* reject it. */
	return key ? dict_key_len(key) : 0;
}

FG_EXPORT int fg_set(struct fg *fg, const char *key, const void *val, size_t len)
{
	if (!fg)
		return -EINVAL;
	return dict_set_cstr(fg->w, key, val, len);
}

FG_EXPORT int fg_set_str(struct fg *fg, const char *key, const char *s)
{
	if (!s)
		return -EINVAL;
	return fg_set(fg, key, s, strlen(s));
}

FG_EXPORT int fg_get(struct fg *fg, const char *key, void *buf, size_t buf_len, size_t *len)
{
	if (!fg)
		return -EINVAL;
	return dict_get(fg->w, key, key_len(key), buf, buf_len, len);
}

FG_EXPORT int fg_del(struct fg *fg, const char *key)
{
	if (!fg)
		return -EINVAL;
	return dict_del(fg->w, key, key_len(key));
}

FG_EXPORT int fg_begin(struct fg *fg)
{
	return fg ? dict_begin(fg->w) : -EINVAL;
}

FG_EXPORT int fg_commit(struct fg *fg)
{
	return fg ? dict_commit(fg->w) : -EINVAL;
}

FG_EXPORT int fg_rollback(struct fg *fg)
{
	return fg ? dict_rollback(fg->w) : -EINVAL;
}

FG_EXPORT int fg_registered(const struct fg *fg)
{
	if (!fg || fg->detached)
		return 0;
	return fg->guarded ? 1 : client_registered(fg->client);
}

FG_EXPORT int fg_close(struct fg *fg)
{
	if (!fg)
		return 0;
	if (!fg->w)
		return -EBADF;
	handles_remove(fg);
	if (!fg->detached) {
		/* Mark it closed first: a death from here on is no crash to rescue. */
		dict_writer_close(fg->w, fg->memfd);
		client_stop(fg->client, 1);
		close(fg->memfd);
	}
	if (fg->guarded)
		__atomic_store_n(&guard_fd_claimed, 0, __ATOMIC_SEQ_CST);
	dict_writer_free(fg->w);
	fg->w = NULL;
	fg->detached = 1;
	fg->memfd = -1;
	pthread_mutex_lock(&handles_lock);
	free(closed_ring[closed_next]);
	closed_ring[closed_next] = fg;
	closed_next = (closed_next + 1) % CLOSED_KEEP;
	pthread_mutex_unlock(&handles_lock);
	return 0;
}
