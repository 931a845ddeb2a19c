// SPDX-License-Identifier: LGPL-2.1-or-later
/* The hostile-client suite's own helpers: see hostile.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/proto.h"
#include "framework/test.h"
#include "hostile.h"

const char *__asan_default_options(void);

/*
 * Under ASan (the sanitizer pass builds the tests too) the apps' deaths must
 * stay real signals, not sanitizer reports and exit(1): the apps are forks
 * of the test binary. Weak: a harness that sets its own options wins.
 */
__attribute__((weak, visibility("default"))) const char *__asan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_abort=0";
}

bool hostile_start(struct fx *c, const char *config, int rescue_timeout)
{
	memset(c, 0, sizeof(*c));
	return fx_can_run() && fx_init(c) && hostile_launch(c, config, rescue_timeout);
}

bool hostile_launch(struct fx *c, const char *config, int rescue_timeout)
{
	c->config = config ? config : "# defaults\n";
	c->rescue_timeout = rescue_timeout;
	/* Idle, the loop holds what it will hold from now on: the fd baseline. */
	return fx_start(c) && ASSERT_TRUE(fx_idle(c, HOSTILE_WAIT_MS), "the collector goes idle") &&
	       ASSERT_GE(c->fds, 3, "the collector's fd count");
}

void hostile_stop(struct fx *c)
{
	int status;

	if (c->pid <= 0)
		return;
	status = fx_terminate(c, HOSTILE_WAIT_MS);
	if (status >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		test_fail(__FILE__, __LINE__, "faultguardd ended with status 0x%x (see %s)", status,
			  c->log);
}

bool hostile_settle_fds(struct fx *c, const char *what)
{
	long long end = fx_now_ms() + HOSTILE_WAIT_MS;
	int n;

	do {
		n = fx_fd_count(c->pid, false);
		if (n == c->fds)
			return true;
		fx_nap(10);
	} while (fx_now_ms() < end);
	test_fail(__FILE__, __LINE__, "%s: the collector holds %d fds, its baseline is %d", what,
		  n, c->fds);
	fx_fd_count(c->pid, true);
	return false;
}

int hostile_rejects(struct fx *c, long pid, const char *needle, int n)
{
	long long end = fx_now_ms() + HOSTILE_WAIT_MS;
	int count;

	do {
		json_object *all = fx_records(c, "reject");
		size_t i;

		count = 0;
		for (i = 0; i < json_object_array_length(all); i++) {
			json_object *o = json_object_array_get_idx(all, i);
			const char *why = jstr(o, "reason");

			count += jint_or(o, "pid", -2) == pid && why && strstr(why, needle);
		}
		json_object_put(all);
		if (count >= n)
			return count;
		fx_nap(10);
	} while (fx_now_ms() < end);
	return count;
}

bool hostile_wait_reject(struct fx *c, long pid, const char *needle, const char *what)
{
	if (hostile_rejects(c, pid, needle, 1) >= 1)
		return true;
	test_fail(__FILE__, __LINE__, "%s: no reject record of pid %ld saying \"%s\"", what, pid,
		  needle);
	return false;
}

const char *hostile_rescue_bin(void)
{
	static char exe[PATH_MAX];

	fx_path(exe, sizeof(exe), "%s/tests/helpers/hostile_rescue", test_build_dir());
	return exe;
}

/* --- the raw client ----------------------------------------------------------------- */

int hostile_send(int s, const void *buf, size_t len, const int *fds, int nfds)
{
	size_t clen = nfds ? CMSG_SPACE((size_t)nfds * sizeof(int)) : 0;
	char *cbuf = clen ? calloc(1, clen) : NULL;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds) {
		struct cmsghdr *cm;

		if (!cbuf)
			return -ENOMEM;
		mh.msg_control = cbuf;
		mh.msg_controllen = clen;
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	n = sendmsg(s, &mh, MSG_NOSIGNAL);
	free(cbuf);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int hostile_recv_ack(int s, int *status, char *text, size_t cap)
{
	uint8_t buf[PROTO_MAX_MSG];
	struct pollfd p = { .fd = s, .events = POLLIN };
	struct proto_msg m;
	ssize_t n;

	if (poll(&p, 1, HOSTILE_WAIT_MS) == 0)
		return -ETIMEDOUT;
	n = recv(s, buf, sizeof(buf), 0);
	if (n < 0)
		return errno == ECONNRESET ? 0 : -errno;
	if (n == 0)
		return 0;
	if (proto_decode(buf, (size_t)n, &m, NULL) || m.type != PROTO_ACK)
		return -EBADMSG;
	if (status)
		*status = m.status;
	if (text && cap)
		snprintf(text, cap, "%s", m.text ? m.text : "");
	proto_msg_free(&m);
	return 1;
}

bool hostile_closed_by_peer(int s)
{
	long long end = fx_now_ms() + HOSTILE_WAIT_MS;
	uint8_t buf[PROTO_MAX_MSG];

	while (fx_now_ms() < end) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
	return false;
}

int hostile_encode_register(uint8_t *buf, const char *app, const char *const *argv)
{
	return proto_encode_register(buf, PROTO_MAX_MSG, app, argv, 0);
}

/* --- apps ---------------------------------------------------------------------------- */

/* The @i-th value of @seed into @val (its key into @key); its length. */
static size_t hostile_value(unsigned int seed, int i, char *key, size_t kcap, uint8_t *val,
			    size_t vcap)
{
	static const size_t sizes[HOSTILE_NVALUES] = { 12, 300, 20000, 0, 14 };
	size_t n = sizes[i] < vcap ? sizes[i] : vcap, j;
	uint32_t x = seed * 2654435761u + (uint32_t)i;

	snprintf(key, kcap, "legit.%d", i);
	for (j = 0; j < n; j++) {
		x = x * 1103515245u + 12345u;
		val[j] = (uint8_t)(x >> 16);
	}
	if (i == 4)
		memcpy(val, "h\xc3\xa9llo \xe2\x9c\x93 ok", n);
	return n;
}

int hostile_write_values(struct dict_writer *w, unsigned int seed)
{
	static uint8_t val[20000];
	char key[32];
	int i, err;

	for (i = 0; i < HOSTILE_NVALUES; i++) {
		size_t n = hostile_value(seed, i, key, sizeof(key), val, sizeof(val));

		err = dict_set(w, key, strlen(key), val, n);
		if (err)
			return err;
	}
	return 0;
}

bool hostile_snapshot_matches(const struct fg_snapshot *s, unsigned int seed, const char *what)
{
	static uint8_t want[20000];
	char key[32];
	int i;

	if (!ASSERT_EQ(fg_snapshot_count(s), HOSTILE_NVALUES, what))
		return false;
	for (i = 0; i < HOSTILE_NVALUES; i++) {
		size_t n = hostile_value(seed, i, key, sizeof(key), want, sizeof(want)), len = 0;
		const void *val = NULL;

		if (!ASSERT_OK(fg_snapshot_get(s, key, &val, &len), key) ||
		    !ASSERT_EQ(len, n, key) || !ASSERT_MEMEQ(val, want, n, key))
			return false;
	}
	return true;
}

int hostile_app_register(const struct fx *c, struct hostile_app *a, int memfd, int *sock,
			 int *status)
{
	static const char *report[3];
	static uint8_t msg[PROTO_MAX_MSG];
	const char *const *argv = a->rescue;
	int len, s, rc;

	if (!argv && !a->snapshot_only) {
		report[0] = hostile_rescue_bin();
		report[1] = "report";
		argv = report;
	}
	len = hostile_encode_register(msg, a->app ? a->app : "legit", a->snapshot_only ? NULL : argv);
	if (len < 0)
		return len;
	s = fx_connect(c->sock);
	if (s < 0)
		return s;
	rc = hostile_send(s, msg, (size_t)len, &memfd, 1);
	if (rc)
		return rc;
	rc = hostile_recv_ack(s, status, a->reason, sizeof(a->reason));
	if (rc != 1)
		return rc < 0 ? rc : -ECONNRESET;
	*sock = s;
	return 0;
}

bool hostile_app_start(const struct fx *c, struct hostile_app *a)
{
	int rep[2], res[2] = { 0, 0 };
	long long end;

	if (!ASSERT_OK(pipe2(rep, O_CLOEXEC), "pipe"))
		return false;
	fflush(NULL);
	a->pid = fork();
	if (a->pid == 0) {
		struct rlimit none = { 0, 0 };
		struct dict_writer *w = NULL;
		int fd, sock = -1;

		close(rep[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Its deaths are signals, not core files in the test's directory. */
		setrlimit(RLIMIT_CORE, &none);
		res[0] = a->uid ? fx_become(a->uid, a->gid, a->ngroups, a->groups) : 0;
		if (!res[0] && a->comm)
			prctl(PR_SET_NAME, a->comm);
		fd = res[0] ? -1 : dict_memfd_create(a->app ? a->app : "legit",
						      a->dict_bytes ? a->dict_bytes : 1 << 20);
		if (!res[0] && fd < 0)
			res[0] = fd;
		if (!res[0])
			res[0] = dict_writer_attach(fd, &w);
		if (!res[0])
			res[0] = a->fill ? a->fill(a, fd, w) : hostile_write_values(w, a->seed);
		if (!res[0])
			res[0] = hostile_app_register(c, a, fd, &sock, &res[1]);
		if (!res[0] && !res[1] && a->after)
			res[0] = a->after(a, fd, w);
		(void)!write(rep[1], res, sizeof(res));
		(void)!write(rep[1], a->reason, sizeof(a->reason));
		for (;;)
			pause();
	}
	close(rep[1]);
	if (!ASSERT_GE(a->pid, 1, "fork app")) {
		close(rep[0]);
		return false;
	}
	end = fx_now_ms() + HOSTILE_WAIT_MS;
	for (;;) {
		struct pollfd p = { .fd = rep[0], .events = POLLIN };

		if (poll(&p, 1, 100) > 0)
			break;
		if (fx_now_ms() > end) {
			close(rep[0]);
			test_fail(__FILE__, __LINE__, "the app never reported its registration");
			return false;
		}
	}
	if (read(rep[0], res, sizeof(res)) != sizeof(res) ||
	    read(rep[0], a->reason, sizeof(a->reason)) != sizeof(a->reason)) {
		close(rep[0]);
		test_fail(__FILE__, __LINE__, "the app died before it reported");
		return false;
	}
	close(rep[0]);
	a->reason[sizeof(a->reason) - 1] = '\0';
	if (!ASSERT_OK(res[0], "the app's own setup"))
		return false;
	a->status = res[1];
	return true;
}

void hostile_app_kill(struct hostile_app *a, int sig)
{
	if (a->pid <= 0)
		return;
	kill(a->pid, sig);
	waitpid(a->pid, NULL, 0);
	a->pid = -a->pid; /* keeps the number for the audit lookups */
}

pid_t hostile_app_pid(const struct hostile_app *a)
{
	return a->pid < 0 ? -a->pid : a->pid;
}

json_object *hostile_expect_rescued(struct fx *c, const struct hostile_app *a, const char *what)
{
	pid_t pid = hostile_app_pid(a);
	json_object *snap = fx_wait(c, "snapshot", pid, 0, HOSTILE_WAIT_MS), *resc = NULL;
	struct fg_snapshot *s = NULL;
	const char *path;
	bool ok = false;

	if (!ASSERT_NOT_NULL(snap, what))
		return NULL;
	path = jstr(snap, "path");
	if (!ASSERT_NOT_NULL(path, "the snapshot record's path") ||
	    !ASSERT_EQ(jint_or(snap, "keys", -1), HOSTILE_NVALUES, "snapshot keys") ||
	    !ASSERT_EQ(jint_or(snap, "discarded", -1), 0, "snapshot discarded"))
		goto out;
	s = fg_snapshot_open(path);
	if (!ASSERT_NOT_NULL(s, "open the snapshot") || !hostile_snapshot_matches(s, a->seed, what))
		goto out;
	resc = fx_wait(c, "rescue", pid, 0, HOSTILE_WAIT_MS);
	if (!ASSERT_NOT_NULL(resc, "the rescue record"))
		goto out;
	if (!a->snapshot_only && !a->rescue &&
	    !ASSERT_STREQ(jstr(resc, "status"), "ok", "the rescue's status"))
		goto out;
	ok = true;
out:
	fg_snapshot_close(s);
	json_object_put(snap);
	if (!ok) {
		json_object_put(resc);
		resc = NULL;
	}
	return resc;
}

bool hostile_legit(struct fx *c, const char *what)
{
	/* Per test: each test runs in a process of its own. */
	static int legit_runs;
	struct hostile_app a = { .seed = 1000u + (unsigned int)legit_runs };
	json_object *resc;
	const char *out;
	char app[32];
	bool ok = false;

	/* A name of its own each time: no per-app rescue rate limit applies. */
	snprintf(app, sizeof(app), "legit-%d", legit_runs++);
	a.app = app;

	if (!hostile_app_start(c, &a))
		return false;
	if (!ASSERT_EQ(a.status, 0, what)) {
		fprintf(stderr, "    the collector said: %s\n", a.reason);
		hostile_app_kill(&a, SIGKILL);
		return false;
	}
	hostile_app_kill(&a, SIGSEGV);
	resc = hostile_expect_rescued(c, &a, what);
	if (!resc)
		return false;
	out = jstr(resc, "output");
	/*
	 * The rescue read the snapshot it was given, and got nothing of the
	 * collector's: no fd beyond 0-2, stdin /dev/null, not its environment.
	 */
	ok = ASSERT_TRUE(out && strstr(out, "snapshot keys=5\n"), "the rescue saw the snapshot") &&
	     ASSERT_TRUE(strstr(out, "\nfds=0 1 2 \n") != NULL, "the rescue's fds") &&
	     ASSERT_TRUE(strstr(out, "\nstdin=/dev/null\n") != NULL, "the rescue's stdin") &&
	     ASSERT_TRUE(strstr(out, FX_CANARY_NAME) == NULL, "the rescue's environment");
	json_object_put(resc);
	return ok;
}

bool hostile_after(struct fx *c, const char *attack)
{
	if (!fx_alive(c)) {
		test_fail(__FILE__, __LINE__, "%s: the collector died", attack);
		return false;
	}
	return hostile_settle_fds(c, attack) && hostile_legit(c, attack) &&
	       hostile_settle_fds(c, attack) && ASSERT_TRUE(fx_alive(c), attack);
}
