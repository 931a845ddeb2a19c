// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hostile clients, part 1: what a client may put in a message. Garbage of
 * every size, valid headers that lie, registrations that lie, two
 * registrations on one connection, and every way of registering a process
 * other than oneself (identity comes from the kernel at connect time). After
 * each attack the collector is alive, back to its fd baseline, and rescues
 * a legitimate app with exact data (hostile_after).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/proto.h"
#include "framework/test.h"
#include "hostile.h"

TEST(hostile_baseline)
{
	struct fx col;

	/* The harness itself: a clean collector rescues an app, twice. */
	if (hostile_start(&col, NULL, 0))
		if (hostile_after(&col, "first app"))
			hostile_after(&col, "second app");
	hostile_stop(&col);
}

static void fill_random(uint8_t *buf, size_t len, uint32_t *x)
{
	size_t i;

	for (i = 0; i < len; i++) {
		*x = *x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(*x >> 16);
	}
}

/* Sends one packet on a fresh connection; true when the collector then closes it. */
static bool send_and_expect_close(struct fx *c, const void *buf, size_t len,
				  const char *what)
{
	int s = fx_connect(c->sock), err;
	bool ok;

	if (!ASSERT_GE(s, 0, "connect"))
		return false;
	err = hostile_send(s, buf, len, NULL, 0);
	ok = ASSERT_OK(err, what) && ASSERT_TRUE(hostile_closed_by_peer(s), what);
	close(s);
	return ok;
}

TEST(hostile_garbage_every_size)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 4096, 65535, 65536, 65537, 65538, 200000 };
	static uint8_t buf[200000];
	struct fx col;
	uint32_t x = 0x5eed;
	size_t i;
	int rejects;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char what[64];

		fill_random(buf, sizes[i], &x);
		snprintf(what, sizeof(what), "%zu random bytes", sizes[i]);
		if (!send_and_expect_close(&col, buf, sizes[i], what))
			goto out;
		/* The same size behind a valid magic and version whose length lies. */
		if (sizes[i] >= sizeof(struct proto_hdr)) {
			struct proto_hdr h = {
				.magic = htole32(PROTO_MAGIC),
				.version = htole16(PROTO_VERSION),
				.type = htole16(PROTO_REGISTER),
				.len = htole32(0xffffffffu - (uint32_t)i),
			};

			memcpy(buf, &h, sizeof(h));
			snprintf(what, sizeof(what), "%zu bytes, valid magic, lying length", sizes[i]);
			if (!send_and_expect_close(&col, buf, sizes[i], what))
				goto out;
		}
	}
	/*
	 * Every packet with bytes got a reject record (the empty one reads as a
	 * hang-up, which it is indistinguishable from on SOCK_SEQPACKET).
	 */
	rejects = fx_count(&col, "reject", getpid());
	ASSERT_EQ(rejects, 10 + 8, "reject records");
	if (!hostile_wait_reject(&col, getpid(), "larger than 64 KiB", "200000 bytes") ||
	    !hostile_wait_reject(&col, getpid(), "shorter than its header", "15 bytes") ||
	    !hostile_wait_reject(&col, getpid(), "length does not match", "lying length"))
		goto out;
	hostile_after(&col, "garbage of every size");
out:
	hostile_stop(&col);
}

/* A message: header of @type with @len as its claim, then @payload. */
static size_t craft(uint8_t *buf, uint16_t type, uint16_t version, int64_t len,
		    const void *payload, size_t plen)
{
	struct proto_hdr h = {
		.magic = htole32(PROTO_MAGIC),
		.version = htole16(version),
		.type = htole16(type),
		.len = htole32(len < 0 ? (uint32_t)plen : (uint32_t)len),
	};

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, plen);
	return sizeof(h) + plen;
}

struct lie {
	const char *what;
	uint16_t type, version;
	int64_t len; /* -1: the truth */
	const char *payload;
	size_t plen;
	const char *reason; /* in the reject record */
};

/* u32 little-endian fields, spelled out byte by byte. */
#define U32(v) (char)((v) & 0xff), (char)(((v) >> 8) & 0xff), (char)(((v) >> 16) & 0xff), \
		(char)(((unsigned)(v) >> 24) & 0xff)

TEST(hostile_lying_messages)
{
	static const char reg_ok[] = { U32(0), U32(3), 'a', 'p', 'p', U32(0) };
	static const char app_huge[] = { U32(0), U32(0xffffffffu), 'a', 'p', 'p' };
	static const char app_long[] = { U32(0), U32(9), 'a', 'p', 'p' };
	static const char app_slash[] = { U32(0), U32(9), '.', '.', '/', '.', '.', '/', 'e', 't', 'c',
					  U32(0) };
	static const char app_dotdot[] = { U32(0), U32(2), '.', '.', U32(0) };
	static const char app_nl[] = { U32(0), U32(4), 'a', '\n', '"', 'b', U32(0) };
	static const char app_nul[] = { U32(0), U32(3), 'a', 0, 'b', U32(0) };
	static const char argc_huge[] = { U32(0), U32(3), 'a', 'p', 'p', U32(0xffffffffu) };
	static const char argc_257[] = { U32(0), U32(3), 'a', 'p', 'p', U32(257) };
	static const char argc_lies[] = { U32(0), U32(3), 'a', 'p', 'p', U32(3), U32(1), 'x' };
	static const char arg_huge[] = { U32(0), U32(3), 'a', 'p', 'p', U32(1), U32(0xffffffffu), 'x' };
	static const char arg_nul[] = { U32(0), U32(3), 'a', 'p', 'p', U32(1), U32(3), 'x', 0, 'y' };
	static const char arg0_empty[] = { U32(0), U32(3), 'a', 'p', 'p', U32(1), U32(0) };
	static const char trailing[] = { U32(0), U32(3), 'a', 'p', 'p', U32(0), U32(4242) };
	static const char text_lies[] = { U32(100), 's', 't' };
	static const char ack[] = { U32(0), U32(2), 'o', 'k' };
	const struct lie lies[] = {
		{ "unknown version", PROTO_REGISTER, 2, -1, reg_ok, sizeof(reg_ok), "version" },
		{ "length too long", PROTO_REGISTER, 1, sizeof(reg_ok) + 1, reg_ok, sizeof(reg_ok),
		  "length does not match" },
		{ "length too short", PROTO_REGISTER, 1, sizeof(reg_ok) - 1, reg_ok, sizeof(reg_ok),
		  "length does not match" },
		{ "length 4 GiB", PROTO_REGISTER, 1, 0xffffffffu, reg_ok, sizeof(reg_ok),
		  "length does not match" },
		{ "app length 4 GiB", PROTO_REGISTER, 1, -1, app_huge, sizeof(app_huge), "app name" },
		{ "app length past the end", PROTO_REGISTER, 1, -1, app_long, sizeof(app_long),
		  "app name" },
		{ "app ../../etc", PROTO_REGISTER, 1, -1, app_slash, sizeof(app_slash), "app name" },
		{ "app ..", PROTO_REGISTER, 1, -1, app_dotdot, sizeof(app_dotdot), "app name" },
		{ "app with a newline and a quote", PROTO_REGISTER, 1, -1, app_nl, sizeof(app_nl),
		  "app name" },
		{ "app with a NUL", PROTO_REGISTER, 1, -1, app_nul, sizeof(app_nul), "app name" },
		{ "argc 4 G", PROTO_REGISTER, 1, -1, argc_huge, sizeof(argc_huge), "too many arguments" },
		{ "argc 257", PROTO_REGISTER, 1, -1, argc_257, sizeof(argc_257), "too many arguments" },
		{ "argc lies", PROTO_REGISTER, 1, -1, argc_lies, sizeof(argc_lies), "argument" },
		{ "argument length 4 GiB", PROTO_REGISTER, 1, -1, arg_huge, sizeof(arg_huge), "argument" },
		{ "argument with a NUL", PROTO_REGISTER, 1, -1, arg_nul, sizeof(arg_nul), "argument" },
		{ "empty program name", PROTO_REGISTER, 1, -1, arg0_empty, sizeof(arg0_empty),
		  "argument" },
		{ "a pid after the registration", PROTO_REGISTER, 1, -1, trailing, sizeof(trailing),
		  "trailing bytes" },
		{ "truncated registration", PROTO_REGISTER, 1, -1, reg_ok, 6, "app name" },
		{ "query text lies", PROTO_QUERY, 1, -1, text_lies, sizeof(text_lies), "text" },
		{ "type 0", 0, 1, -1, "", 0, "type" },
		{ "type 99", 99, 1, -1, "", 0, "type" },
		{ "ACK from a client", PROTO_ACK, 1, -1, ack, sizeof(ack), "not one a client may send" },
		{ "END from a client", PROTO_END, 1, -1, "", 0, "not one a client may send" },
	};
	uint8_t buf[256];
	struct fx col;
	size_t i;
	int memfd = -1;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	memfd = dict_memfd_create("lies", 1 << 20);
	if (!ASSERT_GE(memfd, 0, "memfd"))
		goto out;
	for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		const struct lie *l = &lies[i];
		size_t len = craft(buf, l->type, l->version, l->len, l->payload, l->plen);
		int s = fx_connect(col.sock), st = 0, rc;
		char why[256] = "";

		if (!ASSERT_GE(s, 0, "connect"))
			goto out;
		/* A dictionary rides along: a lie must not register it. */
		if (!ASSERT_OK(hostile_send(s, buf, len, &memfd, 1), l->what)) {
			close(s);
			goto out;
		}
		rc = hostile_recv_ack(s, &st, why, sizeof(why));
		if (!ASSERT_EQ(rc, 1, l->what) || !ASSERT_EQ(st, -EBADMSG, l->what) ||
		    !ASSERT_TRUE(strstr(why, l->reason) != NULL, l->what) ||
		    !ASSERT_TRUE(hostile_closed_by_peer(s), l->what)) {
			fprintf(stderr, "    %s: the collector said \"%s\"\n", l->what, why);
			close(s);
			goto out;
		}
		close(s);
	}
	ASSERT_EQ(fx_count(&col, "reject", getpid()), (int)i, "one reject per lie");
	ASSERT_EQ(fx_count(&col, "register", -1), 0, "no lie registered");
	close(memfd);
	memfd = -1;
	hostile_after(&col, "lying messages");
out:
	if (memfd >= 0)
		close(memfd);
	hostile_stop(&col);
}

TEST(hostile_random_mutations)
{
	static const char *const argv[] = { "/bin/true", "a", "b", NULL };
	uint8_t good[PROTO_MAX_MSG], buf[PROTO_MAX_MSG];
	struct fx col;
	uint32_t x = 0xfa17;
	int len, i, memfd = -1, registered = 0;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	len = hostile_encode_register(good, "mutant", argv);
	memfd = dict_memfd_create("mutant", 1 << 20);
	if (!ASSERT_GE(len, 1, "encode") || !ASSERT_GE(memfd, 0, "memfd"))
		goto out;
	/* Bit flips, truncations and extensions of a valid registration. */
	for (i = 0; i < 400; i++) {
		size_t n = (size_t)len, k;
		int s = fx_connect(col.sock), rc, st = 1;

		if (!ASSERT_GE(s, 0, "connect"))
			goto out;
		memcpy(buf, good, n);
		for (k = 0; k < 1 + (size_t)(i % 4); k++) {
			x = x * 1103515245u + 12345u;
			buf[(x >> 8) % n] ^= (uint8_t)(1u << ((x >> 4) % 8));
		}
		x = x * 1103515245u + 12345u;
		if (i % 5 == 1)
			n = (x >> 8) % n;
		else if (i % 5 == 2)
			n += (x >> 8) % 64;
		rc = hostile_send(s, buf, n, &memfd, i % 2);
		if (!ASSERT_OK(rc, "send a mutant")) {
			close(s);
			goto out;
		}
		rc = hostile_recv_ack(s, &st, NULL, 0);
		/* A mutant the decoder accepts registers this process once, no more. */
		if (rc == 1 && st == 0) {
			registered++;
			close(s);
			continue;
		}
		if (!ASSERT_TRUE(hostile_closed_by_peer(s), "a refused mutant's connection ends")) {
			close(s);
			goto out;
		}
		close(s);
	}
	/* Whatever registered was accepted knowingly: one record per ACK 0. */
	ASSERT_EQ(fx_count(&col, "register", getpid()), registered, "registrations");
	close(memfd);
	memfd = -1;
	hostile_after(&col, "random mutations");
out:
	if (memfd >= 0)
		close(memfd);
	hostile_stop(&col);
}

TEST(hostile_two_registrations_one_connection)
{
	struct fx col;
	struct hostile_app a = { .app = "twice", .seed = 7, .snapshot_only = 1 };
	json_object *resc;
	int sv[2] = { -1, -1 };

	if (!hostile_start(&col, NULL, 0))
		goto out;
	/*
	 * The app registers (hostile_app_start), then its connection is used for
	 * a second REGISTER with another dictionary. The app child does that
	 * itself: it gets a socketpair end to take the order through.
	 */
	if (!ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair"))
		goto out;
	fflush(NULL);
	a.pid = fork();
	if (a.pid == 0) {
		struct dict_writer *w;
		uint8_t msg[PROTO_MAX_MSG];
		int fd1, fd2, s = -1, st = 99, st2 = 99, rc;
		struct rlimit none = { 0, 0 };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setrlimit(RLIMIT_CORE, &none);
		close(sv[0]);
		fd1 = dict_memfd_create("twice", 1 << 20);
		fd2 = dict_memfd_create("twice", 1 << 20);
		rc = fd1 < 0 || fd2 < 0 || dict_writer_attach(fd1, &w) || hostile_write_values(w, 7);
		if (!rc)
			rc = hostile_app_register(&col, &a, fd1, &s, &st);
		if (!rc) {
			/* The second dictionary holds other values: they must never be rescued. */
			int len = hostile_encode_register(msg, "twice-again", NULL);

			rc = dict_writer_attach(fd2, &w) || hostile_write_values(w, 8) ||
			     hostile_send(s, msg, (size_t)len, &fd2, 1) ||
			     hostile_recv_ack(s, &st2, a.reason, sizeof(a.reason)) != 1;
		}
		{
			int res[3] = { rc, st, st2 };

			(void)!write(sv[1], res, sizeof(res));
		}
		close(fd2);
		for (;;)
			pause();
	}
	close(sv[1]);
	sv[1] = -1;
	{
		int res[3] = { -1, -1, -1 };
		struct pollfd p = { .fd = sv[0], .events = POLLIN };

		if (!ASSERT_EQ(poll(&p, 1, HOSTILE_WAIT_MS), 1, "the app reports") ||
		    !ASSERT_EQ(read(sv[0], res, sizeof(res)), sizeof(res), "the app's report") ||
		    !ASSERT_OK(res[0], "the app's own steps") || !ASSERT_EQ(res[1], 0, "first REGISTER") ||
		    !ASSERT_EQ(res[2], -EALREADY, "second REGISTER")) {
			hostile_app_kill(&a, SIGKILL);
			goto out;
		}
	}
	if (!hostile_wait_reject(&col, a.pid, "already registered", "second registration"))
		goto out;
	/* The first registration stands; the app's death rescues its first dictionary. */
	hostile_app_kill(&a, SIGSEGV);
	resc = hostile_expect_rescued(&col, &a, "the first dictionary");
	ASSERT_STREQ(jstr(resc, "status"), "none", "snapshot only: no command");
	json_object_put(resc);
	ASSERT_EQ(fx_count(&col, "register", hostile_app_pid(&a)), 1, "one registration");
	hostile_after(&col, "two registrations on one connection");
out:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	hostile_stop(&col);
}

/* A child that sleeps until killed: someone else's process to claim. */
static pid_t sleeper(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

/* Forges SCM_CREDENTIALS naming @pid (root may) beside the dictionary. */
static int send_forged_creds(int s, const void *buf, size_t len, int memfd, pid_t pid)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct ucred cred = { .pid = pid, .uid = FX_NOBODY, .gid = FX_NOBODY };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;

	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(cred));
	memcpy(CMSG_DATA(cm), &cred, sizeof(cred));
	cm = CMSG_NXTHDR(&mh, cm);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &memfd, sizeof(int));
	return sendmsg(s, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

TEST(hostile_register_another_process)
{
	uint8_t msg[PROTO_MAX_MSG];
	struct fx col;
	pid_t victim = -1, maker = -1;
	int memfd = -1, s = -1, st = 99, len, pp[2] = { -1, -1 }, rp[2] = { -1, -1 };
	json_object *reg;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	victim = sleeper();
	memfd = dict_memfd_create("claim", 1 << 20);
	len = hostile_encode_register(msg, "claim", NULL);
	if (!ASSERT_GE(victim, 1, "victim") || !ASSERT_GE(memfd, 0, "memfd") ||
	    !ASSERT_GE(len, 1, "encode"))
		goto out;

	/* 1. The message has no pid to lie with: appended bytes are refused (test above). */

	/* 2. Forged SCM_CREDENTIALS (root can send any pid): the kernel's word wins. */
	s = fx_connect(col.sock);
	if (!ASSERT_GE(s, 0, "connect") ||
	    !ASSERT_OK(send_forged_creds(s, msg, (size_t)len, memfd, victim), "forged creds") ||
	    !ASSERT_EQ(hostile_recv_ack(s, &st, NULL, 0), 1, "ack") || !ASSERT_EQ(st, 0, "registered"))
		goto out;
	reg = fx_wait(&col, "register", getpid(), 0, HOSTILE_WAIT_MS);
	ASSERT_NOT_NULL(reg, "the registration is ours");
	ASSERT_EQ(jint_or(reg, "uid", -1), 0, "our uid, not the forged one");
	json_object_put(reg);
	ASSERT_EQ(fx_count(&col, "register", victim), 0, "nothing registered the victim");
	close(s); /* our own registration ends as a hang-up */
	s = -1;

	/*
	 * 3. A connection handed to another process after its maker died: the
	 * identity is the maker's, who is gone, so the registration is refused.
	 * pp: the test's "go" to the taker; rp: the taker's pid and result.
	 */
	if (!ASSERT_OK(pipe2(pp, O_CLOEXEC), "pipe") || !ASSERT_OK(pipe2(rp, O_CLOEXEC), "pipe"))
		goto out;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	fflush(NULL);
	maker = fork();
	if (maker == 0) {
		int cs = fx_connect(col.sock);

		if (cs < 0)
			_exit(1);
		if (fork() == 0) {
			int res[2] = { getpid(), 99 }, tst = 99;
			char go;

			/* The taker: speaks on the maker's socket once the maker is reaped. */
			close(pp[1]);
			if (read(pp[0], &go, 1) != 1)
				_exit(1);
			res[1] = hostile_send(cs, msg, (size_t)len, &memfd, 1);
			if (!res[1])
				res[1] = hostile_recv_ack(cs, &tst, NULL, 0) == 1 ? tst : -EPROTO;
			(void)!write(rp[1], res, sizeof(res));
			_exit(0);
		}
		_exit(0);
	}
	{
		int status = -1, res[2] = { -1, 99 };
		struct pollfd p = { .fd = rp[0], .events = POLLIN };

		waitpid(maker, &status, 0);
		if (!ASSERT_EQ(status, 0, "the maker connected and handed on"))
			goto out;
		close(pp[0]);
		pp[0] = -1;
		if (!ASSERT_EQ(write(pp[1], "g", 1), 1, "go"))
			goto out;
		if (!ASSERT_EQ(poll(&p, 1, HOSTILE_WAIT_MS), 1, "the taker reports") ||
		    !ASSERT_EQ(read(rp[0], res, sizeof(res)), sizeof(res), "the taker's report"))
			goto out;
		waitpid(res[0], NULL, 0);
		if (!ASSERT_EQ(res[1], -ESRCH, "a dead maker's socket registers nobody"))
			goto out;
	}
	if (!hostile_wait_reject(&col, maker, "registering process is gone", "socket handed on"))
		goto out;
	ASSERT_EQ(fx_count(&col, "register", -1), 1, "only our own registration");

	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	victim = -1;
	close(memfd);
	memfd = -1;
	hostile_after(&col, "registering another process");
out:
	if (s >= 0)
		close(s);
	if (pp[0] >= 0)
		close(pp[0]);
	if (pp[1] >= 0)
		close(pp[1]);
	if (rp[0] >= 0)
		close(rp[0]);
	if (rp[1] >= 0)
		close(rp[1]);
	if (memfd >= 0)
		close(memfd);
	if (victim > 0) {
		kill(victim, SIGKILL);
		waitpid(victim, NULL, 0);
	}
	hostile_stop(&col);
}

/* --- pid reuse ------------------------------------------------------------------------ */

/* Sets the pid the next fork gets (init pid namespace, root), or -errno. */
static int next_pid_is(pid_t pid)
{
	char buf[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC), n, err = 0;

	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d", (int)pid - 1);
	if (write(fd, buf, (size_t)n) != n)
		err = -errno;
	close(fd);
	return err;
}

/*
 * Forks the successor at pid @want: it fills a dictionary with the values
 * of @seed, sends its REGISTER (reporting "sent" on @rep), then reports the
 * ACK's status and waits to be killed. Returns its pid, or -1 after many
 * tries (someone else on the system took the pid first each time).
 */
static pid_t successor_at(struct fx *c, pid_t want, unsigned int seed, int rep)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		pid_t pid;

		if (next_pid_is(want))
			return -1;
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			struct hostile_app b = { .app = "after", .seed = seed, .snapshot_only = 1 };
			struct dict_writer *w;
			uint8_t msg[PROTO_MAX_MSG];
			int fd, s, len, st = 99;

			if (getpid() != want)
				_exit(0);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			fd = dict_memfd_create("after", 1 << 20);
			len = hostile_encode_register(msg, b.app, NULL);
			s = fx_connect(c->sock);
			if (fd < 0 || dict_writer_attach(fd, &w) || hostile_write_values(w, seed) ||
			    s < 0 || hostile_send(s, msg, (size_t)len, &fd, 1))
				_exit(1);
			(void)!write(rep, "s", 1);
			if (hostile_recv_ack(s, &st, NULL, 0) != 1)
				st = -EPROTO;
			(void)!write(rep, &st, sizeof(st));
			for (;;)
				pause();
		}
		if (pid == want)
			return pid;
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	return -1;
}

/* The snapshot record of @pid numbered @nth must be @app's, holding @seed's values exactly. */
static bool snapshot_is(struct fx *c, pid_t pid, int nth, const char *app,
			unsigned int seed)
{
	json_object *snap = fx_wait(c, "snapshot", pid, nth, HOSTILE_WAIT_MS);
	struct fg_snapshot *s = NULL;
	bool ok = false;

	if (!ASSERT_NOT_NULL(snap, app) || !ASSERT_STREQ(jstr(snap, "app"), app, "whose"))
		goto out;
	s = fg_snapshot_open(jstr(snap, "path"));
	ok = ASSERT_NOT_NULL(s, "open the snapshot") && hostile_snapshot_matches(s, seed, app);
out:
	fg_snapshot_close(s);
	json_object_put(snap);
	return ok;
}

/*
 * A registered app dies and its pid goes to a new process before the
 * collector looks (it is stopped meanwhile). The new process registers
 * itself; then it dies too. Each death must rescue its own process's data:
 * the old exit record must not end the new registration (keyed by pid and
 * start time, exit records consumed before new connections), and the new
 * process's death must not be taken for the old one.
 */
TEST(hostile_pid_reuse)
{
	struct fx col;
	struct hostile_app a = { .app = "before", .seed = 11, .snapshot_only = 1 };
	int rep[2] = { -1, -1 }, st = 99;
	pid_t b = -1;
	char sent;
	bool stopped = false;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	if (access("/proc/sys/kernel/ns_last_pid", W_OK)) {
		test_skip("/proc/sys/kernel/ns_last_pid is not writable here: cannot force pid reuse");
		goto out;
	}
	if (!ASSERT_OK(pipe2(rep, O_CLOEXEC), "pipe"))
		goto out;
	if (!hostile_app_start(&col, &a) || !ASSERT_EQ(a.status, 0, "the first process registers"))
		goto out;
	/* The collector sleeps through the death and the rebirth. */
	stopped = true;
	if (!fx_freeze(&col))
		goto out;
	hostile_app_kill(&a, SIGSEGV);
	b = successor_at(&col, hostile_app_pid(&a), 12, rep[1]);
	if (!ASSERT_EQ(b, hostile_app_pid(&a), "a new process got the old pid"))
		goto out;
	{
		struct pollfd p = { .fd = rep[0], .events = POLLIN };

		if (!ASSERT_EQ(poll(&p, 1, HOSTILE_WAIT_MS), 1, "the successor sent its REGISTER") ||
		    !ASSERT_EQ(read(rep[0], &sent, 1), 1, "sent"))
			goto out;
	}
	fx_signal(&col, SIGCONT);
	stopped = false;
	{
		struct pollfd p = { .fd = rep[0], .events = POLLIN };

		if (!ASSERT_EQ(poll(&p, 1, HOSTILE_WAIT_MS), 1, "the successor's ACK") ||
		    !ASSERT_EQ(read(rep[0], &st, sizeof(st)), sizeof(st), "ACK"))
			goto out;
	}
	/* The first death is the first process's, with its data. */
	if (!snapshot_is(&col, b, 0, "before", 11))
		goto out;
	/* The successor was registered as itself, not refused as "already registered". */
	if (!ASSERT_EQ(st, 0, "the successor registers"))
		goto out;
	kill(b, SIGSEGV);
	waitpid(b, NULL, 0);
	b = -1;
	if (!snapshot_is(&col, hostile_app_pid(&a), 1, "after", 12))
		goto out;
	ASSERT_EQ(fx_count(&col, "crash", hostile_app_pid(&a)), 2, "two deaths, two crashes");
	hostile_after(&col, "pid reuse");
out:
	if (stopped)
		fx_signal(&col, SIGCONT);
	if (b > 0) {
		kill(b, SIGKILL);
		waitpid(b, NULL, 0);
	}
	if (rep[0] >= 0) {
		close(rep[0]);
		close(rep[1]);
	}
	hostile_stop(&col);
}

/*
 * The connecting process dies before the collector even accepts, and a new
 * process takes its pid; the connection, handed on, then asks to register.
 * SO_PEERCRED still names the old pid: a collector that looked the pid up
 * again would register the newcomer. It must refuse.
 */
TEST(hostile_pid_reuse_before_accept)
{
	uint8_t msg[PROTO_MAX_MSG];
	struct fx col;
	int pp[2] = { -1, -1 }, rp[2] = { -1, -1 }, memfd = -1, len, status = -1;
	pid_t maker = -1, squatter = -1;
	bool stopped = false;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	if (access("/proc/sys/kernel/ns_last_pid", W_OK)) {
		test_skip("/proc/sys/kernel/ns_last_pid is not writable here: cannot force pid reuse");
		goto out;
	}
	memfd = dict_memfd_create("squat", 1 << 20);
	len = hostile_encode_register(msg, "squat", NULL);
	if (!ASSERT_GE(memfd, 0, "memfd") || !ASSERT_OK(pipe2(pp, O_CLOEXEC), "pipe") ||
	    !ASSERT_OK(pipe2(rp, O_CLOEXEC), "pipe"))
		goto out;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	stopped = true;
	if (!fx_freeze(&col))
		goto out;
	fflush(NULL);
	maker = fork();
	if (maker == 0) {
		int cs = fx_connect(col.sock);

		if (cs < 0)
			_exit(1);
		if (fork() == 0) {
			int res[2] = { getpid(), 99 }, tst = 99;
			char go;

			close(pp[1]);
			if (read(pp[0], &go, 1) != 1)
				_exit(1);
			res[1] = hostile_send(cs, msg, (size_t)len, &memfd, 1);
			if (!res[1]) {
				int rc = hostile_recv_ack(cs, &tst, NULL, 0);

				/* Closed without an answer is a refusal too. */
				res[1] = rc == 1 ? tst : rc == 0 ? -ECONNRESET : rc;
			}
			(void)!write(rp[1], res, sizeof(res));
			_exit(0);
		}
		_exit(0);
	}
	waitpid(maker, &status, 0);
	if (!ASSERT_EQ(status, 0, "the maker connected"))
		goto out;
	/* A process of no interest takes the maker's pid. */
	{
		int tries;

		for (tries = 0; tries < 100 && squatter != maker; tries++) {
			if (!ASSERT_OK(next_pid_is(maker), "ns_last_pid"))
				goto out;
			if (squatter > 0) {
				kill(squatter, SIGKILL);
				waitpid(squatter, NULL, 0);
			}
			squatter = sleeper();
		}
		if (!ASSERT_EQ(squatter, maker, "the maker's pid reused"))
			goto out;
	}
	fx_signal(&col, SIGCONT);
	stopped = false;
	close(pp[0]);
	pp[0] = -1;
	{
		struct pollfd p = { .fd = rp[0], .events = POLLIN };
		int res[2] = { -1, 99 };

		if (!ASSERT_EQ(write(pp[1], "g", 1), 1, "go") ||
		    !ASSERT_EQ(poll(&p, 1, HOSTILE_WAIT_MS), 1, "the taker reports") ||
		    !ASSERT_EQ(read(rp[0], res, sizeof(res)), sizeof(res), "the taker's report"))
			goto out;
		waitpid(res[0], NULL, 0);
		ASSERT_TRUE(res[1] != 0, "the registration is refused");
	}
	ASSERT_EQ(fx_count(&col, "register", maker), 0, "the squatter is not registered");
	kill(squatter, SIGKILL);
	waitpid(squatter, NULL, 0);
	squatter = -1;
	close(memfd);
	memfd = -1;
	hostile_after(&col, "pid reuse before accept");
out:
	if (stopped)
		fx_signal(&col, SIGCONT);
	if (squatter > 0) {
		kill(squatter, SIGKILL);
		waitpid(squatter, NULL, 0);
	}
	if (memfd >= 0)
		close(memfd);
	if (pp[0] >= 0)
		close(pp[0]);
	if (pp[1] >= 0)
		close(pp[1]);
	if (rp[0] >= 0)
		close(rp[0]);
	if (rp[1] >= 0)
		close(rp[1]);
	hostile_stop(&col);
}
