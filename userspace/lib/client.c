// SPDX-License-Identifier: LGPL-2.1-or-later
/* Registration with the collector, from a background thread (see client.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/proto.h"
#include "common/thread.h"
#include "lib/client.h"

#define RETRY_MS 1000 /* a collector that appears is found within this at worst */
#define REJECT_BACKOFF_MS 1000
#define REJECT_BACKOFF_MAX_MS 60000
#define REPLY_TIMEOUT_MS 5000

enum session_end { SESSION_STOP, SESSION_LOST, SESSION_REJECTED };

struct client {
	pthread_t thread;
	int stop_fd;
	int memfd;
	_Atomic int sock;
	_Atomic int registered;
	int orderly;
	int first_sock; /* connected and sent by client_start, for the thread to take */
	struct sockaddr_un addr;
	int msg_len;
	uint8_t msg[]; /* the REGISTER message, msg_len bytes */
};

/* @flags SOCK_NONBLOCK: never wait, not even for a full backlog. */
static int connect_collector(struct client *c, int flags)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | flags, 0);

	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&c->addr, sizeof(c->addr)) < 0) {
		int err = -errno;

		close(s);
		return err;
	}
	return s;
}

static int send_register(struct client *c, int s)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = c->msg, .iov_len = (size_t)c->msg_len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &c->memfd, sizeof(int));
	return sendmsg(s, &mh, MSG_NOSIGNAL) == c->msg_len ? 0 : -errno;
}

/* Waits for @s to be readable; 1 readable, 0 timeout, -1 stop requested. */
static int wait_readable(struct client *c, int s, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = c->stop_fd, .events = POLLIN },
		{ .fd = s, .events = POLLIN },
	};
	int n;

	do
		n = poll(p, s >= 0 ? 2 : 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n > 0 && p[0].revents)
		return -1;
	return n > 0;
}

static enum session_end session(struct client *c, int s, int sent)
{
	uint8_t buf[PROTO_MAX_MSG];
	struct proto_msg m;
	ssize_t n;
	int r;

	if (!sent && send_register(c, s))
		return SESSION_LOST;
	r = wait_readable(c, s, REPLY_TIMEOUT_MS);
	if (r < 0)
		return SESSION_STOP;
	if (r == 0)
		return SESSION_LOST;
	n = recv(s, buf, sizeof(buf), 0);
	if (n <= 0 || proto_decode(buf, (size_t)n, &m, NULL) || m.type != PROTO_ACK)
		return SESSION_LOST;
	r = m.status;
	proto_msg_free(&m);
	if (r != 0)
		return SESSION_REJECTED;
	atomic_store(&c->registered, 1);

	/* Registered: sleep until the collector goes away or we are told to stop. */
	for (;;) {
		r = wait_readable(c, s, -1);
		if (r < 0) {
			if (c->orderly) {
				int len = proto_encode_simple(buf, sizeof(buf), PROTO_CLOSE);

				if (len > 0)
					send(s, buf, (size_t)len, MSG_NOSIGNAL);
			}
			return SESSION_STOP;
		}
		n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return SESSION_LOST;
	}
}

/*
 * Sleeps until the socket may have appeared: inotify on its directory wakes
 * us as soon as the collector renames its socket into place, so a collector
 * that starts is found at once, while an app without one wakes only once
 * per RETRY_MS. Returns -1 when told to stop.
 */
static int wait_for_collector(struct client *c, int timeout_ms)
{
	char dir[sizeof(c->addr.sun_path)], *slash;
	int in, r;

	strcpy(dir, c->addr.sun_path);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in >= 0 && inotify_add_watch(in, slash ? dir : ".", IN_CREATE | IN_MOVED_TO) < 0) {
		close(in);
		in = -1;
	}
	/* The socket may have appeared between our connect() and the watch. */
	if (in >= 0 && access(c->addr.sun_path, F_OK) == 0 && timeout_ms > RETRY_MS / 10)
		timeout_ms = RETRY_MS / 10;
	r = wait_readable(c, in, timeout_ms);
	if (in >= 0)
		close(in);
	return r < 0 ? -1 : 0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	int backoff = RETRY_MS, rejected = 0;

	for (;;) {
		int sent = c->first_sock >= 0;
		int s = sent ? c->first_sock : connect_collector(c, 0);

		c->first_sock = -1;
		if (s >= 0) {
			enum session_end end;

			atomic_store(&c->sock, s);
			end = session(c, s, sent);
			atomic_store(&c->registered, 0);
			atomic_store(&c->sock, -1);
			close(s);
			if (end == SESSION_STOP)
				break;
			rejected = end == SESSION_REJECTED;
			if (rejected)
				backoff = backoff < REJECT_BACKOFF_MS ? REJECT_BACKOFF_MS
					  : backoff * 2 > REJECT_BACKOFF_MAX_MS ? REJECT_BACKOFF_MAX_MS
										: backoff * 2;
			else
				backoff = RETRY_MS;
		}
		/* After a refusal, only time may change the answer: no early wake-ups. */
		if ((rejected ? wait_readable(c, -1, backoff) : wait_for_collector(c, backoff)) < 0)
			break;
	}
	return NULL;
}

int client_start(struct client **out, const char *socket_path, const char *app,
		 const char *const *rescue_argv, uint32_t flags, int memfd)
{
	struct client *c;
	int err;

	uint8_t *msg;
	int len;

	if (strlen(socket_path) >= sizeof(c->addr.sun_path))
		return -ENAMETOOLONG;
	/* Encoded in a scratch buffer, kept at its size: no 64 KiB to clear per fg_open. */
	msg = malloc(PROTO_MAX_MSG);
	if (!msg)
		return -ENOMEM;
	len = proto_encode_register(msg, PROTO_MAX_MSG, app, rescue_argv, flags);
	if (len < 0) {
		free(msg);
		return len;
	}
	c = calloc(1, sizeof(*c) + (size_t)len);
	if (!c) {
		free(msg);
		return -ENOMEM;
	}
	memcpy(c->msg, msg, (size_t)len);
	free(msg);
	c->msg_len = len;
	c->memfd = memfd;
	c->sock = -1;
	c->first_sock = -1;
	c->addr.sun_family = AF_UNIX;
	strcpy(c->addr.sun_path, socket_path);
	/*
	 * The first attempt happens here, so the collector works on the
	 * registration while our thread is still being created.
	 */
	c->first_sock = connect_collector(c, SOCK_NONBLOCK);
	if (c->first_sock >= 0 && send_register(c, c->first_sock)) {
		close(c->first_sock);
		c->first_sock = -1;
	}
	atomic_store(&c->sock, c->first_sock);
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0) {
		err = -errno;
		goto err_free;
	}
	/* The app's signals are for the app's threads, not ours. */
	err = thread_start_unsignalled(&c->thread, client_main, c);
	if (err)
		goto err_close;
	*out = c;
	return 0;

err_close:
	close(c->stop_fd);
err_free:
	if (c->first_sock >= 0)
		close(c->first_sock);
	free(c);
	return err;
}

int client_registered(const struct client *c)
{
	return c ? atomic_load(&c->registered) : 0;
}

void client_stop(struct client *c, int orderly)
{
	uint64_t one = 1;

	if (!c)
		return;
	c->orderly = orderly;
	/* An eventfd write of 1 cannot fail. */
	(void)!write(c->stop_fd, &one, sizeof(one));
	pthread_join(c->thread, NULL);
	close(c->stop_fd);
	free(c);
}

void client_forget(struct client *c)
{
	int s;

	if (!c)
		return;
	s = atomic_load(&c->sock);
	/* The child must not keep the parent's registration alive. */
	if (s >= 0)
		close(s);
	close(c->stop_fd);
	free(c);
}
