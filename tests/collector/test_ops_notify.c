// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The service manager's side (Type=notify): the test is the service
 * manager. It binds $NOTIFY_SOCKET itself, starts faultguardd with
 * $WATCHDOG_USEC, and checks every datagram: READY=1 (with the status)
 * only once the registration socket answers, STATUS= as registrations and
 * crashes change, WATCHDOG=1 within every watchdog period, RELOADING=1
 * with MONOTONIC_USEC= and then READY=1 around SIGHUP, STOPPING=1 at
 * SIGTERM.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "framework/test.h"
#include "ops.h"

#define WATCHDOG_USEC 2000000 /* pings every second; systemd would act after two */

struct manager {
	int fd;
	char path[108];
	long long last_ping_ms; /* 0: none yet */
	long long worst_gap_ms;
	int pings;
};

static bool manager_open(struct manager *m, const char *dir)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(m, 0, sizeof(*m));
	if (!fx_path(m->path, sizeof(m->path), "%s/notify.sock", dir))
		return false;
	strcpy(a.sun_path, m->path);
	m->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return ASSERT_GE(m->fd, 0, "socket") &&
	       ASSERT_OK(bind(m->fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0, "bind");
}

/*
 * The next message that is not WATCHDOG=1 (those are counted, with the
 * longest time between two), within @timeout_ms; false when none came.
 */
static bool next_message(struct manager *m, char *buf, size_t len, int timeout_ms)
{
	long long deadline = fx_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = m->fd, .events = POLLIN };
		long long left = deadline - fx_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		n = recv(m->fd, buf, len - 1, 0);
		if (n < 0)
			return false;
		buf[n] = '\0';
		if (strcmp(buf, "WATCHDOG=1"))
			return true;
		if (m->last_ping_ms && fx_now_ms() - m->last_ping_ms > m->worst_gap_ms)
			m->worst_gap_ms = fx_now_ms() - m->last_ping_ms;
		m->last_ping_ms = fx_now_ms();
		m->pings++;
	}
}

/* Waits for a message starting with @prefix, skipping status updates on the way. */
static bool wait_message(struct manager *m, const char *prefix, char *buf, size_t len)
{
	while (next_message(m, buf, len, OPS_WAIT_MS)) {
		if (!strncmp(buf, prefix, strlen(prefix)))
			return true;
		if (strncmp(buf, "STATUS=", 7)) {
			test_fail(__FILE__, __LINE__, "expected %s..., got \"%s\"", prefix, buf);
			return false;
		}
	}
	test_fail(__FILE__, __LINE__, "no %s... message", prefix);
	return false;
}

/*
 * The first message, taken by a thread while the main one starts the
 * collector (which must be forked from the main thread: its parent-death
 * signal follows the thread), and what the socket was like on its arrival.
 */
struct first {
	struct manager *m;
	const char *sock;
	char msg[1024];
	bool got, sock_exists, connects;
};

static void *take_first(void *arg)
{
	struct first *f = arg;
	struct stat sb;
	int fd;

	f->got = next_message(f->m, f->msg, sizeof(f->msg), FX_START_MS);
	if (!f->got)
		return NULL;
	f->sock_exists = stat(f->sock, &sb) == 0 && S_ISSOCK(sb.st_mode);
	fd = fx_connect(f->sock);
	f->connects = fd >= 0;
	if (fd >= 0)
		close(fd);
	return NULL;
}

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

TEST(readiness_status_watchdog_reload_and_stop)
{
	char env_sock[160], env_wd[64], msg[1024], want[256];
	const char *env[3] = { env_sock, env_wd, NULL };
	struct first first = { 0 };
	struct manager m = { .fd = -1 };
	long long before, after, mono;
	struct fx_app app;
	pthread_t thread;
	struct fx e;
	bool started;

	memset(&e, 0, sizeof(e));
	if (!fx_can_run() || !fx_init(&e) || !manager_open(&m, e.dir))
		goto out;
	snprintf(env_sock, sizeof(env_sock), "NOTIFY_SOCKET=%s", m.path);
	snprintf(env_wd, sizeof(env_wd), "WATCHDOG_USEC=%d", WATCHDOG_USEC);
	e.env = env;
	first.m = &m;
	first.sock = e.sock;
	if (!ASSERT_OK(pthread_create(&thread, NULL, take_first, &first), "the manager's thread"))
		goto out;
	started = fx_start(&e);
	pthread_join(thread, NULL);
	if (!ASSERT_TRUE(started, "the collector started") ||
	    !ASSERT_TRUE(first.got, "a message came"))
		goto out;
	ASSERT_STREQ(first.msg, "READY=1\nSTATUS=0 registrations; no crash yet",
		     "the first message: READY=1 and the status");
	/* At READY=1 the BPF programs are attached and the socket listens. */
	ASSERT_TRUE(first.sock_exists, "the socket exists at READY=1");
	ASSERT_TRUE(first.connects, "a client gets through at READY=1");

	/* A registration, then its crash: the status follows. */
	if (!ops_app_start(&e, &app, 0, "notified", "stdin", NULL) ||
	    !wait_message(&m, "STATUS=1 registration;", msg, sizeof(msg)))
		goto out;
	ASSERT_STREQ(msg, "STATUS=1 registration; no crash yet", "one registration");
	if (!fx_app_send(&app, "segv") || !fx_app_wait(&app, FX_WAIT_MS))
		goto out;
	if (!wait_message(&m, "STATUS=0 registrations; last crash:", msg, sizeof(msg)))
		goto out;
	snprintf(want, sizeof(want), "STATUS=0 registrations; last crash: notified (pid %d, segfault) at ",
		 (int)app.pid);
	if (!ASSERT_TRUE(!strncmp(msg, want, strlen(want)), "the last crash, by app, pid and cause"))
		fprintf(stderr, "  got \"%s\"\n", msg);

	/* The watchdog, while nothing else happens. */
	while (m.pings < 3 && next_message(&m, msg, sizeof(msg), 2 * WATCHDOG_USEC / 1000))
		;
	ASSERT_GE(m.pings, 3, "WATCHDOG=1 keeps coming");
	if (!ASSERT_TRUE(m.worst_gap_ms < WATCHDOG_USEC / 1000, "never a period without a ping"))
		fprintf(stderr, "  longest gap %lld ms\n", m.worst_gap_ms);

	/* SIGHUP: RELOADING=1 stamped with the monotonic clock of its start, then READY=1. */
	before = mono_us();
	if (!ASSERT_OK(fx_signal(&e, SIGHUP), "SIGHUP") ||
	    !wait_message(&m, "RELOADING=1\n", msg, sizeof(msg)))
		goto out;
	after = mono_us();
	if (ASSERT_TRUE(sscanf(msg, "RELOADING=1\nMONOTONIC_USEC=%lld", &mono) == 1,
			"MONOTONIC_USEC="))
		ASSERT_TRUE(mono >= before && mono <= after, "taken when the reload began");
	if (!wait_message(&m, "READY=1\n", msg, sizeof(msg)))
		goto out;
	ASSERT_TRUE(strstr(msg, "\nSTATUS=0 registrations; last crash: ") != NULL,
		    "READY=1 after the reload, with the status");

	/* SIGTERM: STOPPING=1 before it goes. */
	if (!ASSERT_OK(fx_signal(&e, SIGTERM), "SIGTERM") ||
	    !wait_message(&m, "STOPPING=1\n", msg, sizeof(msg)))
		goto out;
	ASSERT_EQ(fx_terminate(&e, OPS_WAIT_MS), 0, "exits 0");
out:
	if (m.fd >= 0)
		close(m.fd);
	ops_stop(&e);
}
