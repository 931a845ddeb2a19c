// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "collector/collector.h"
#include "collector/notify.h"

#define STATUS_MIN_MS 1000 /* the status is a summary: once a second is plenty */

struct notify {
	int fd;
	struct sockaddr_un addr;
	socklen_t addr_len;
	int64_t watchdog_ms;   /* half of $WATCHDOG_USEC; 0: no watchdog */
	int64_t next_ping_ms;
	int ready;             /* READY=1 was sent: status and pings may follow */
	uint32_t sent_regs;    /* what the last STATUS= said */
	uint64_t sent_crashes;
	int64_t status_ms;     /* when it was sent */
	uint64_t crashes;      /* crash records seen */
	char last_crash[256];
};

/* A number from the environment, or 0 when it is absent or not one. */
static uint64_t env_number(const char *name)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long n;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	return errno || *end ? 0 : n;
}

int notify_open(struct notify **out, const char **why)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct notify *n;
	uint64_t usec, pid;
	size_t len;

	*out = NULL;
	if (!path || !*path)
		return 0;
	len = strlen(path);
	*why = "the NOTIFY_SOCKET path is not a socket path";
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(n->addr.sun_path))
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	*why = "out of memory";
	if (!n)
		return -ENOMEM;
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@') /* the abstract namespace */
		n->addr.sun_path[0] = '\0';
	n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		*why = "cannot create the notification socket";
		free(n);
		return -errno;
	}
	/* A watchdog meant for another process (WATCHDOG_PID) is not ours to feed. */
	usec = env_number("WATCHDOG_USEC");
	pid = env_number("WATCHDOG_PID");
	if (usec && (!pid || pid == (uint64_t)getpid()))
		n->watchdog_ms = (int64_t)(usec / 2000) ? (int64_t)(usec / 2000) : 1;
	*out = n;
	return 0;
}

void notify_close(struct notify *n)
{
	if (!n)
		return;
	close(n->fd);
	free(n);
}

/* Best effort: a service manager that is gone or slow must not stop the collector. */
static void send_text(struct notify *n, const char *text)
{
	(void)!sendto(n->fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT,
		      (struct sockaddr *)&n->addr, n->addr_len);
}

static void format_status(const struct collector *c, char *buf, size_t len)
{
	const struct notify *n = c->notify;

	snprintf(buf, len, "STATUS=%u registration%s; %s%s", c->nregs, c->nregs == 1 ? "" : "s",
		 n->crashes ? "last crash: " : "no crash yet",
		 n->crashes ? n->last_crash : "");
}

/* @head ("READY=1\n", ...) followed by the status line. */
static void send_with_status(struct collector *c, const char *head)
{
	struct notify *n = c->notify;
	char buf[512];
	size_t len = strlen(head);

	snprintf(buf, sizeof(buf), "%s", head);
	format_status(c, buf + len, sizeof(buf) - len);
	send_text(n, buf);
	n->sent_regs = c->nregs;
	n->sent_crashes = n->crashes;
	n->status_ms = mono_ms();
}

void notify_ready(struct collector *c)
{
	struct notify *n = c->notify;

	if (!n)
		return;
	send_with_status(c, "READY=1\n");
	n->ready = 1;
	n->next_ping_ms = mono_ms() + n->watchdog_ms;
}

void notify_reloading(struct collector *c)
{
	struct timespec ts;
	char buf[96];

	if (!c->notify)
		return;
	/* systemd 253 and later match the reload to its request by this clock. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	send_text(c->notify, buf);
}

void notify_stopping(struct collector *c)
{
	if (c->notify)
		send_with_status(c, "STOPPING=1\n");
}

void notify_observe(struct collector *c, json_object *rec)
{
	struct notify *n = c->notify;
	json_object *v;
	const char *app = "?", *cause = "?", *ts = "?";
	long long pid = 0;

	if (!n || !json_object_object_get_ex(rec, "event", &v) ||
	    strcmp(json_object_get_string(v), "crash"))
		return;
	if (json_object_object_get_ex(rec, "app", &v) && json_object_get_string(v))
		app = json_object_get_string(v);
	if (json_object_object_get_ex(rec, "cause", &v) && json_object_get_string(v))
		cause = json_object_get_string(v);
	if (json_object_object_get_ex(rec, "ts", &v) && json_object_get_string(v))
		ts = json_object_get_string(v);
	if (json_object_object_get_ex(rec, "pid", &v))
		pid = json_object_get_int64(v);
	snprintf(n->last_crash, sizeof(n->last_crash), "%.64s (pid %lld, %.32s) at %.40s", app, pid,
		 cause, ts);
	n->crashes++;
}

static int status_changed(const struct collector *c)
{
	const struct notify *n = c->notify;

	return n->ready && (n->sent_regs != c->nregs || n->sent_crashes != n->crashes);
}

int64_t notify_next_deadline(const struct collector *c)
{
	const struct notify *n = c->notify;
	int64_t next = INT64_MAX;

	if (!n || !n->ready)
		return INT64_MAX;
	if (n->watchdog_ms)
		next = n->next_ping_ms;
	if (status_changed(c) && n->status_ms + STATUS_MIN_MS < next)
		next = n->status_ms + STATUS_MIN_MS;
	return next;
}

void notify_tick(struct collector *c)
{
	struct notify *n = c->notify;
	int64_t now;

	if (!n || !n->ready)
		return;
	now = mono_ms();
	if (n->watchdog_ms && now >= n->next_ping_ms) {
		send_text(n, "WATCHDOG=1");
		n->next_ping_ms = now + n->watchdog_ms;
	}
	if (status_changed(c) && now >= n->status_ms + STATUS_MIN_MS)
		send_with_status(c, "");
}
