// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hostile clients, part 2: what a client passes as its dictionary. Every
 * kind of fd that is not a sealed memfd of an acceptable size is refused
 * with a reject record and closed; extra fds are closed; 200 fds in one
 * message truncate the control data (MSG_CTRUNC) and are refused. A sealed
 * dictionary cannot change size after registration; a growable one is
 * refused. After each: alive, fd baseline, a legitimate app rescued.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/proto.h"
#include "framework/test.h"
#include "hostile.h"

/* Registers with @fds on a fresh connection; the ACK status, or -ETIMEDOUT etc. */
static int register_with(struct fx *c, const int *fds, int nfds, char *why, size_t cap)
{
	uint8_t msg[PROTO_MAX_MSG];
	int len = hostile_encode_register(msg, "fdtest", NULL), s, st = 99, rc;

	if (len < 0)
		return len;
	s = fx_connect(c->sock);
	if (s < 0)
		return s;
	rc = hostile_send(s, msg, (size_t)len, fds, nfds);
	if (!rc)
		rc = hostile_recv_ack(s, &st, why, cap);
	if (rc == 1)
		rc = hostile_closed_by_peer(s) || st == 0 ? st : -EPROTO;
	else if (rc == 0)
		rc = -ECONNRESET;
	close(s);
	return rc;
}

struct kind {
	const char *what;
	int fd;
	int status;         /* the ACK's */
	const char *reason; /* in the reject record */
};

static int sized_memfd(unsigned int flags, off_t size, int seals)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC | flags);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) < 0 || (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
		close(fd);
		return -errno;
	}
	return fd;
}

TEST(hostile_wrong_fd_kinds)
{
	struct fx col;
	struct kind kinds[10];
	int pipefd[2] = { -1, -1 }, sp[2] = { -1, -1 }, n = 0, i;
	char path[PATH_MAX + 16];

	/* The configured maximum is 1 MiB: a 1 TiB sparse memfd is beyond it. */
	if (!hostile_start(&col, "max_dict_bytes = 1M\n", 0))
		goto out;
	snprintf(path, sizeof(path), "%s/regular", test_tmpdir());
	if (!ASSERT_OK(pipe2(pipefd, O_CLOEXEC), "pipe") ||
	    !ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), "socketpair"))
		goto out;
	kinds[n++] = (struct kind){ "a pipe", pipefd[0], -EBADF, "not a memfd" };
	kinds[n++] = (struct kind){ "/dev/null", open("/dev/null", O_RDWR | O_CLOEXEC), -EBADF,
				    "not a memfd" };
	kinds[n++] = (struct kind){ "a regular file",
				    open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), -EBADF,
				    "not a memfd" };
	kinds[n++] = (struct kind){ "a directory", open(test_tmpdir(), O_RDONLY | O_DIRECTORY |
								   O_CLOEXEC), -EBADF, "not a memfd" };
	kinds[n++] = (struct kind){ "a socket", sp[0], -EBADF, "not a memfd" };
	kinds[n++] = (struct kind){ "an unsealed memfd", sized_memfd(MFD_ALLOW_SEALING, 1 << 20, 0),
				    -EPERM, "not sealed" };
	/* Without MFD_ALLOW_SEALING a memfd is born with F_SEAL_SEAL and nothing else. */
	kinds[n++] = (struct kind){ "a memfd that cannot be sealed", sized_memfd(0, 1 << 20, 0),
				    -EPERM, "not sealed" };
	kinds[n++] = (struct kind){ "a memfd sealed against growth only",
				    sized_memfd(MFD_ALLOW_SEALING, 1 << 20, F_SEAL_GROW), -EPERM,
				    "not sealed" };
	kinds[n++] = (struct kind){ "a 1 TiB sparse sealed memfd",
				    sized_memfd(MFD_ALLOW_SEALING, 1ll << 40,
						F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
				    -EFBIG, "larger than the configured maximum" };
	kinds[n++] = (struct kind){ "a 4 KiB sealed memfd",
				    sized_memfd(MFD_ALLOW_SEALING, 4096,
						F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
				    -EINVAL, "too small" };
	if (n > 2 && !ASSERT_OK(ftruncate(kinds[2].fd, 1 << 20), "size the regular file"))
		goto out;
	for (i = 0; i < n; i++) {
		char why[256] = "";
		int st;

		if (!ASSERT_GE(kinds[i].fd, 0, kinds[i].what))
			goto out;
		st = register_with(&col, &kinds[i].fd, 1, why, sizeof(why));
		if (!ASSERT_EQ(st, kinds[i].status, kinds[i].what) ||
		    !ASSERT_TRUE(strstr(why, kinds[i].reason) != NULL, kinds[i].what)) {
			fprintf(stderr, "    %s: the collector said \"%s\"\n", kinds[i].what, why);
			goto out;
		}
		/* The collector's copy of the fd is gone with the connection. */
		if (!hostile_settle_fds(&col, kinds[i].what))
			goto out;
	}
	ASSERT_EQ(fx_count(&col, "reject", getpid()), n, "one reject record each");
	ASSERT_EQ(fx_count(&col, "register", -1), 0, "none registered");
	hostile_after(&col, "wrong fd kinds");
out:
	for (i = 0; i < n; i++)
		if (kinds[i].fd >= 0 && kinds[i].fd != pipefd[0] && kinds[i].fd != sp[0])
			close(kinds[i].fd);
	if (pipefd[0] >= 0) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
	if (sp[0] >= 0) {
		close(sp[0]);
		close(sp[1]);
	}
	hostile_stop(&col);
}

TEST(hostile_fd_counts)
{
	struct rlimit rl = { 4096, 4096 };
	struct fx col;
	int fds[200], good, i, st;
	char why[256] = "";

	for (i = 0; i < 200; i++)
		fds[i] = -1;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (!hostile_start(&col, NULL, 0))
		goto out;
	good = dict_memfd_create("fdcount", 1 << 20);
	if (!ASSERT_GE(good, 0, "memfd"))
		goto out;
	for (i = 0; i < 200; i++) {
		fds[i] = i % 2 ? dup(good) : open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (!ASSERT_GE(fds[i], 0, "an fd to send"))
			goto out;
	}
	/* No fd at all. */
	st = register_with(&col, NULL, 0, why, sizeof(why));
	if (!ASSERT_EQ(st, -EINVAL, "no fd") || !ASSERT_TRUE(strstr(why, "no dictionary"), why))
		goto out;
	/* A good dictionary and one more. */
	st = register_with(&col, fds + 1, 2, why, sizeof(why));
	if (!ASSERT_EQ(st, -EINVAL, "two fds") || !ASSERT_TRUE(strstr(why, "exactly one"), why) ||
	    !hostile_settle_fds(&col, "two fds"))
		goto out;
	/* Sixteen: as many as the collector takes in; all closed. */
	st = register_with(&col, fds, 16, why, sizeof(why));
	if (!ASSERT_EQ(st, -EINVAL, "16 fds") || !hostile_settle_fds(&col, "16 fds"))
		goto out;
	/* 200: the control data is cut short (MSG_CTRUNC); the kernel drops the rest. */
	st = register_with(&col, fds, 200, why, sizeof(why));
	if (!ASSERT_EQ(st, -EINVAL, "200 fds") ||
	    !ASSERT_TRUE(strstr(why, "more file descriptors than allowed"), why) ||
	    !hostile_settle_fds(&col, "200 fds"))
		goto out;
	/* Fds riding on messages that take none: a query, a close, garbage. */
	{
		uint8_t msg[PROTO_MAX_MSG];
		int len = proto_encode_text(msg, sizeof(msg), PROTO_QUERY, "status", 6), s;

		s = fx_connect(col.sock);
		if (!ASSERT_GE(s, 0, "connect") ||
		    !ASSERT_OK(hostile_send(s, msg, (size_t)len, fds, 16), "query with fds") ||
		    !ASSERT_TRUE(hostile_closed_by_peer(s), "the query is answered"))
			goto out;
		close(s);
		len = proto_encode_simple(msg, sizeof(msg), PROTO_CLOSE);
		s = fx_connect(col.sock);
		if (!ASSERT_GE(s, 0, "connect") ||
		    !ASSERT_OK(hostile_send(s, msg, (size_t)len, fds, 16), "close with fds") ||
		    !ASSERT_TRUE(hostile_closed_by_peer(s), "the close ends it"))
			goto out;
		close(s);
		s = fx_connect(col.sock);
		if (!ASSERT_GE(s, 0, "connect") ||
		    !ASSERT_OK(hostile_send(s, "junk", 4, fds, 16), "junk with fds") ||
		    !ASSERT_TRUE(hostile_closed_by_peer(s), "junk ends it"))
			goto out;
		close(s);
	}
	ASSERT_EQ(fx_count(&col, "register", -1), 0, "none registered");
	hostile_after(&col, "fd counts");
out:
	for (i = 0; i < 200; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	hostile_stop(&col);
}

/*
 * An app whose dictionary is sealed against shrinking only: it could grow
 * it (ftruncate) after the size check. The collector must refuse it: the
 * size it checked at registration would mean nothing.
 */
TEST(hostile_growable_memfd_refused)
{
	struct fx col;
	int fd = -1, st;
	char why[256] = "";

	if (!hostile_start(&col, "max_dict_bytes = 1M\n", 0))
		goto out;
	fd = sized_memfd(MFD_ALLOW_SEALING, 1 << 20, F_SEAL_SHRINK);
	if (!ASSERT_GE(fd, 0, "memfd"))
		goto out;
	st = register_with(&col, &fd, 1, why, sizeof(why));
	if (st == 0) {
		/* What the registration would let it do: grow past the maximum. */
		ASSERT_OK(ftruncate(fd, 1ll << 40), "grow a registered dictionary to 1 TiB");
		test_fail(__FILE__, __LINE__, "a growable memfd was registered");
		goto out;
	}
	if (!ASSERT_EQ(st, -EPERM, "growable memfd") ||
	    !ASSERT_TRUE(strstr(why, "F_SEAL_GROW") != NULL, why))
		goto out;
	hostile_after(&col, "a growable memfd");
out:
	if (fd >= 0)
		close(fd);
	hostile_stop(&col);
}

/*
 * A registered app tries to change its dictionary's size after the check:
 * the seals forbid it (the kernel says EPERM), and its rescue is exact.
 */
TEST(hostile_ftruncate_after_registration)
{
	struct fx col;
	struct hostile_app a = { .app = "truncator", .seed = 99, .snapshot_only = 1 };
	int sv[2] = { -1, -1 };
	json_object *resc;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	if (!ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair"))
		goto out;
	fflush(NULL);
	a.pid = fork();
	if (a.pid == 0) {
		struct dict_writer *w;
		struct rlimit none = { 0, 0 };
		int fd, s = -1, st = 99, res[4] = { -1, 99, 0, 0 };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setrlimit(RLIMIT_CORE, &none);
		fd = dict_memfd_create("truncator", 1 << 20);
		res[0] = fd < 0 || dict_writer_attach(fd, &w) || hostile_write_values(w, 99);
		if (!res[0])
			res[0] = hostile_app_register(&col, &a, fd, &s, &st);
		res[1] = st;
		/* Shrink, grow: both must fail with EPERM. */
		res[2] = ftruncate(fd, 4096) < 0 ? -errno : 0;
		res[3] = ftruncate(fd, 1ll << 40) < 0 ? -errno : 0;
		(void)!write(sv[1], res, sizeof(res));
		for (;;)
			pause();
	}
	close(sv[1]);
	sv[1] = -1;
	{
		struct pollfd p = { .fd = sv[0], .events = POLLIN };
		int res[4] = { -1, -1, -1, -1 };

		if (!ASSERT_EQ(poll(&p, 1, HOSTILE_WAIT_MS), 1, "report") ||
		    !ASSERT_EQ(read(sv[0], res, sizeof(res)), sizeof(res), "report") ||
		    !ASSERT_OK(res[0], "setup") || !ASSERT_EQ(res[1], 0, "registered") ||
		    !ASSERT_EQ(res[2], -EPERM, "shrink") || !ASSERT_EQ(res[3], -EPERM, "grow")) {
			hostile_app_kill(&a, SIGKILL);
			goto out;
		}
	}
	hostile_app_kill(&a, SIGBUS);
	resc = hostile_expect_rescued(&col, &a, "after ftruncate attempts");
	ASSERT_NOT_NULL(resc, "rescued");
	json_object_put(resc);
	hostile_after(&col, "ftruncate after registration");
out:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	hostile_stop(&col);
}
