// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hostile clients, part 3: connections. SOCK_SEQPACKET has no half
 * messages, so "half a message" is a client that connects and says nothing,
 * one that sends a short header, and one that asks a query and never reads
 * the answer. Then numbers: 1,000 connections from one uid (its limit), 300
 * idle connections while a legitimate app registers and is rescued, and the
 * per-uid registration limit. The collector must keep serving throughout,
 * drop what it owes nothing to, and return to its fd baseline while the
 * attacker still holds its end open.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/proto.h"
#include "framework/test.h"
#include "hostile.h"

static void raise_nofile(void)
{
	struct rlimit rl;

	/* Thousands of sockets: as many fds as the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

TEST(hostile_silent_and_short)
{
	struct fx col;
	struct proto_hdr h = { .magic = PROTO_MAGIC, .version = PROTO_VERSION };
	int silent = -1, shorty = -1;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	silent = fx_connect(col.sock);
	shorty = fx_connect(col.sock);
	if (!ASSERT_GE(silent, 0, "connect") || !ASSERT_GE(shorty, 0, "connect"))
		goto out;
	/* Half a header: a packet is all there is of it, and it is too short. */
	if (!ASSERT_OK(hostile_send(shorty, &h, 8, NULL, 0), "short header") ||
	    !ASSERT_TRUE(hostile_closed_by_peer(shorty), "a short header ends the connection") ||
	    !hostile_wait_reject(&col, getpid(), "shorter than its header", "short header"))
		goto out;
	/* The silent client stalls nobody: an app registers and is rescued meanwhile. */
	if (!hostile_legit(&col, "while a client says nothing"))
		goto out;
	/* ... and the collector ends the silent connection itself (deadline). */
	if (!ASSERT_TRUE(hostile_closed_by_peer(silent), "the silent connection is closed") ||
	    !hostile_wait_reject(&col, getpid(), "no registration within", "silent client"))
		goto out;
	hostile_after(&col, "silent client and short header");
out:
	if (silent >= 0)
		close(silent);
	if (shorty >= 0)
		close(shorty);
	hostile_stop(&col);
}

/* Fills the audit log with @n crash records of uid 0, before the collector starts. */
static bool seed_crashes(const struct fx *c, int n)
{
	FILE *f;
	int i;

	if (mkdir(c->state, 0755) < 0 && errno != EEXIST)
		return ASSERT_OK(-errno, "mkdir state");
	f = fopen(c->audit, "we");
	if (!ASSERT_NOT_NULL(f, "seed the audit log"))
		return false;
	for (i = 0; i < n; i++)
		fprintf(f, "{\"ts\":\"2026-01-01T00:00:00.000Z\",\"event\":\"crash\",\"id\":\"seed-%d\","
			   "\"app\":\"seeded-app-with-a-long-name-to-make-the-answer-big\",\"pid\":%d,"
			   "\"uid\":0,\"cause\":\"segfault\"}\n", i, 100000 + i);
	return ASSERT_OK(fclose(f), "seed the audit log");
}

TEST(hostile_query_never_read)
{
	struct fx col;
	uint8_t msg[PROTO_MAX_MSG];
	int s = -1, len;

	/*
	 * fx_init makes no state dir: lay it out first, with thousands of
	 * crashes, so that "list" answers far more than a socket buffer holds.
	 */
	memset(&col, 0, sizeof(col));
	if (!fx_can_run() || !fx_init(&col) || !seed_crashes(&col, 3000))
		return;
	if (!hostile_launch(&col, NULL, 0))
		goto out;
	len = proto_encode_text(msg, sizeof(msg), PROTO_QUERY, "list", 4);
	s = fx_connect(col.sock);
	if (!ASSERT_GE(len, 1, "encode") || !ASSERT_GE(s, 0, "connect") ||
	    !ASSERT_OK(hostile_send(s, msg, (size_t)len, NULL, 0), "ask and never read"))
		goto out;
	/* The stuck reader stalls nobody. */
	if (!hostile_legit(&col, "while a client never reads"))
		goto out;
	/*
	 * It holds its end open and never reads: the collector must give up on
	 * it and free what it queued, not keep it for as long as the client likes.
	 */
	if (!hostile_settle_fds(&col, "a client that never reads its answer") ||
	    !hostile_wait_reject(&col, getpid(), "did not read", "never-reading client"))
		goto out;
	hostile_after(&col, "a client that never reads");
out:
	if (s >= 0)
		close(s);
	hostile_stop(&col);
}

/*
 * Runs in a child as nobody: opens @n connections and reports how many
 * connected, then holds them until told (a byte on @go) and exits.
 */
static pid_t open_many(struct fx *c, int n, uid_t uid, int rep, int go)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int i, ok = 0, *s = calloc((size_t)n, sizeof(int));
		char b;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!s || (uid && fx_become(uid, uid, 0, NULL)))
			_exit(1);
		for (i = 0; i < n; i++) {
			s[i] = fx_connect(c->sock);
			ok += s[i] >= 0;
		}
		(void)!write(rep, &ok, sizeof(ok));
		(void)!read(go, &b, 1);
		_exit(0);
	}
	return pid;
}

static bool wait_report(int fd, int *v)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return ASSERT_EQ(poll(&p, 1, HOSTILE_WAIT_MS * 2), 1, "the connector reports") &&
	       ASSERT_EQ(read(fd, v, sizeof(*v)), sizeof(*v), "the connector's report");
}

TEST(hostile_thousand_connections_one_uid)
{
	struct fx col;
	int rep[2] = { -1, -1 }, go[2] = { -1, -1 }, n = 0, limit, expired;
	pid_t who = -1;

	raise_nofile();
	if (!hostile_start(&col, "max_connections_per_uid = 1000\n", 0))
		goto out;
	if (!ASSERT_OK(pipe2(rep, O_CLOEXEC), "pipe") || !ASSERT_OK(pipe2(go, O_CLOEXEC), "pipe"))
		goto out;
	who = open_many(&col, 1100, FX_NOBODY, rep[1], go[0]);
	if (!ASSERT_GE(who, 1, "fork") || !wait_report(rep[0], &n) ||
	    !ASSERT_EQ(n, 1100, "connects (the backlog takes them all)"))
		goto out;
	/* Other users are not starved: root's app registers and is rescued. */
	if (!hostile_legit(&col, "while one uid holds 1,000 connections"))
		goto out;
	/*
	 * Those over the limit are refused at once; the rest expire at the
	 * registration deadline. (Had connecting taken longer than the deadline,
	 * more would have been accepted: hence "at least".)
	 */
	expired = hostile_rejects(&col, who, "no registration within", 1000);
	limit = hostile_rejects(&col, who, "limit of connections", 1100 - expired);
	ASSERT_GE(expired, 1000, "connections that reached the deadline");
	ASSERT_GE(limit, 1, "connections refused at the limit");
	ASSERT_EQ(limit + expired, 1100, "every connection ended with a record");
	/* All of it is freed while the client still holds its ends open. */
	if (!hostile_settle_fds(&col, "1,100 connections held open"))
		goto out;
	/* The uid's count came back down: it may connect and register again. */
	(void)!write(go[1], "g", 1);
	waitpid(who, NULL, 0);
	who = -1;
	{
		struct hostile_app a = { .uid = FX_NOBODY, .gid = FX_NOBODY, .seed = 5 };
		json_object *resc;

		if (!hostile_app_start(&col, &a) || !ASSERT_EQ(a.status, 0, "nobody registers again"))
			goto out;
		hostile_app_kill(&a, SIGSEGV);
		resc = hostile_expect_rescued(&col, &a, "nobody's app");
		json_object_put(resc);
	}
	hostile_after(&col, "1,000 connections from one uid");
out:
	if (who > 0) {
		kill(who, SIGKILL);
		waitpid(who, NULL, 0);
	}
	if (rep[0] >= 0) {
		close(rep[0]);
		close(rep[1]);
	}
	if (go[0] >= 0) {
		close(go[0]);
		close(go[1]);
	}
	hostile_stop(&col);
}

TEST(hostile_idle_connections)
{
	struct fx col;
	int s[300], i;

	raise_nofile();
	for (i = 0; i < 300; i++)
		s[i] = -1;
	if (!hostile_start(&col, NULL, 0))
		goto out;
	/* Same uid as the app: the idle ones use its own connection budget. */
	for (i = 0; i < 300; i++)
		if (!ASSERT_GE(s[i] = fx_connect(col.sock), 0, "connect"))
			goto out;
	if (!hostile_legit(&col, "300 idle connections"))
		goto out;
	for (i = 0; i < 300; i++)
		if (!ASSERT_TRUE(hostile_closed_by_peer(s[i]), "an idle connection is closed"))
			goto out;
	ASSERT_GE(hostile_rejects(&col, getpid(), "no registration within", 300), 300,
		  "a record for each idle connection");
	hostile_after(&col, "300 idle connections");
out:
	for (i = 0; i < 300; i++)
		if (s[i] >= 0)
			close(s[i]);
	hostile_stop(&col);
}

TEST(hostile_registration_limit)
{
	struct fx col;
	struct hostile_app a[4];
	json_object *resc;
	int i, started = 0;

	if (!hostile_start(&col, "max_registrations_per_uid = 3\n", 0))
		goto out;
	for (i = 0; i < 4; i++) {
		a[i] = (struct hostile_app){ .uid = FX_NOBODY, .gid = FX_NOBODY,
					     .seed = 40u + (unsigned int)i };
		if (!hostile_app_start(&col, &a[i]))
			goto out;
		started++;
	}
	if (!ASSERT_EQ(a[0].status, 0, "1st") || !ASSERT_EQ(a[1].status, 0, "2nd") ||
	    !ASSERT_EQ(a[2].status, 0, "3rd") || !ASSERT_EQ(a[3].status, -EUSERS, "4th") ||
	    !hostile_wait_reject(&col, a[3].pid, "limit of registrations", "4th"))
		goto out;
	/* Root is another uid: not limited by nobody's count. */
	if (!hostile_legit(&col, "while nobody is at its limit"))
		goto out;
	/* One ends; its slot is free again. */
	hostile_app_kill(&a[0], SIGABRT);
	resc = hostile_expect_rescued(&col, &a[0], "nobody's first app");
	json_object_put(resc);
	hostile_app_kill(&a[3], SIGKILL);
	a[3] = (struct hostile_app){ .uid = FX_NOBODY, .gid = FX_NOBODY, .seed = 44 };
	if (!hostile_app_start(&col, &a[3]) || !ASSERT_EQ(a[3].status, 0, "after one ended"))
		goto out;
	for (i = 1; i < 4; i++)
		hostile_app_kill(&a[i], SIGKILL);
	hostile_after(&col, "registration limit");
out:
	for (i = 0; i < started; i++)
		if (a[i].pid > 0)
			hostile_app_kill(&a[i], SIGKILL);
	hostile_stop(&col);
}

/*
 * Long answers nobody reads: registrations whose rescue commands are all
 * control characters (each byte six in JSON: a status line of ~300 KB),
 * then clients that ask for the status and never read. The collector makes
 * an answer as it is read, so it holds a few packets per such client, not
 * the whole answer; root's own `faultguardctl status` meanwhile lists every
 * registration with its whole command.
 */
TEST(hostile_long_answers_never_read)
{
	enum { APPS = 24, ARGS = 200, ARG_LEN = 250, READERS = 8 };
	static char args[ARGS][ARG_LEN + 1];
	static const char *argv[ARGS + 1];
	static struct hostile_app apps[APPS];
	uint8_t msg[PROTO_MAX_MSG];
	json_object *arr = NULL;
	long long rss_before, rss_after;
	int s[READERS], i, n = 0, len;
	char *out = NULL;
	struct fx col;

	for (i = 0; i < READERS; i++)
		s[i] = -1;
	for (i = 0; i < ARGS; i++) {
		memset(args[i], '\x01', ARG_LEN);
		argv[i] = args[i];
	}
	argv[0] = "/bin/true";
	if (!hostile_start(&col, NULL, 0))
		return;
	for (n = 0; n < APPS; n++) {
		apps[n] = (struct hostile_app){ .app = "longcmd", .rescue = argv, .seed = (unsigned)n };
		if (!hostile_app_start(&col, &apps[n]) || !ASSERT_EQ(apps[n].status, 0, "registered"))
			goto out;
	}
	rss_before = fx_proc_status(col.pid, 0, "VmRSS");
	len = proto_encode_text(msg, sizeof(msg), PROTO_QUERY, "status", 6);
	for (i = 0; i < READERS; i++) {
		s[i] = fx_connect(col.sock);
		if (!ASSERT_GE(s[i], 0, "connect") ||
		    !ASSERT_OK(hostile_send(s[i], msg, (size_t)len, NULL, 0), "ask, never read"))
			goto out;
	}
	/* Everything the collector would queue for them is queued once root's answer came. */
	if (!ASSERT_EQ(fx_ctl(&col, &out, "status", "--json", "--socket", col.sock, NULL), 0, "faultguardctl status")) {
		fprintf(stderr, "  faultguardctl: %s", col.ctl_err);
		goto out;
	}
	rss_after = fx_proc_status(col.pid, 0, "VmRSS");
	arr = json_tokener_parse(out ? out : "");
	if (ASSERT_TRUE(arr && json_object_is_type(arr, json_type_array), "status is JSON") &&
	    ASSERT_EQ(json_object_array_length(arr), APPS, "every registration listed")) {
		json_object *got = NULL;

		json_object_object_get_ex(json_object_array_get_idx(arr, 0), "rescue_argv", &got);
		ASSERT_TRUE(got && json_object_array_length(got) == ARGS, "with its whole command");
	}
	fprintf(stderr, "  collector RSS %lld KiB -> %lld KiB\n", rss_before, rss_after);
	/*
	 * Whole answers would be READERS x ~7 MB; a few packets each are well
	 * under 16 MiB. Not under AddressSanitizer: its quarantine keeps freed
	 * memory, so the collector's RSS grows with every line made (the plain
	 * pass of make check measures it).
	 */
#if defined(__SANITIZE_ADDRESS__)
	fprintf(stderr, "  RSS not judged under AddressSanitizer\n");
#else
	ASSERT_TRUE(rss_before > 0 && rss_after - rss_before < 16 * 1024,
		    "unread answers do not pile up in the collector");
#endif
	for (i = 0; i < READERS; i++) {
		close(s[i]);
		s[i] = -1;
	}
	for (i = 0; i < n; i++)
		hostile_app_kill(&apps[i], SIGKILL);
	n = 0;
	hostile_after(&col, "long answers nobody reads");
out:
	json_object_put(arr);
	free(out);
	for (i = 0; i < READERS; i++)
		if (s[i] >= 0)
			close(s[i]);
	for (i = 0; i < n; i++)
		hostile_app_kill(&apps[i], SIGKILL);
	hostile_stop(&col);
}
