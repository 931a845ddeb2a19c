// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fg_claim_previous (SPEC §8.5): the newest unclaimed snapshot of this app
 * under our uid. The collector, asked over its socket, hands it over as a
 * file descriptor (so it works from a container, where its state
 * directory is not); with no collector listening, the standalone state
 * directory is read (common/claim_dir.c, the same rules).
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/claim_dir.h"
#include "common/export.h"
#include "common/proto.h"
#include "faultguard.h"
#include "lib/claim.h"
#include "snapshot/snapshot.h"

#define ANSWER_WAIT_MS 10000

static const char *socket_path_of(const struct fg_opts *opts)
{
	const char *env = getenv("FAULTGUARD_SOCKET");

	if (opts->socket_path && *opts->socket_path)
		return opts->socket_path;
	return env && *env ? env : FG_DEFAULT_SOCKET;
}

/*
 * Asks the collector: the snapshot's fd (its id in @id), -errno from its
 * answer, or 1 when no collector listens there.
 */
static int ask(const char *path, const char *app, char *id, size_t id_len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	uint8_t buf[PROTO_MAX_MSG];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pollfd p;
	struct proto_msg m;
	struct cmsghdr *cm;
	const char *why;
	int s, len, fd = -1, err;
	ssize_t n;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = errno;
		close(s);
		return err == ENOENT || err == ECONNREFUSED ? 1 : -err;
	}
	len = proto_encode_text(buf, sizeof(buf), PROTO_CLAIM, app, strlen(app));
	if (len < 0 || send(s, buf, (size_t)len, MSG_NOSIGNAL) != len) {
		err = len < 0 ? len : -errno;
		close(s);
		return err;
	}
	p = (struct pollfd){ .fd = s, .events = POLLIN };
	do
		err = poll(&p, 1, ANSWER_WAIT_MS);
	while (err < 0 && errno == EINTR);
	if (err <= 0) {
		close(s);
		return err == 0 ? -ETIMEDOUT : -errno;
	}
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	err = n < 0 ? -errno : 0;
	close(s);
	for (cm = CMSG_FIRSTHDR(&mh); n > 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int k, cnt;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (k = 0; k < cnt; k++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	if (!err && n == 0)
		err = -EPROTO;
	if (!err && proto_decode(buf, (size_t)n, &m, &why))
		err = -EPROTO;
	else if (!err && m.type != PROTO_ACK) {
		proto_msg_free(&m);
		err = -EPROTO;
	}
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	err = m.status;
	if (!err && fd < 0)
		err = -EPROTO;
	if (!err)
		snprintf(id, id_len, "%s", m.text ? m.text : "");
	proto_msg_free(&m);
	if (err && fd >= 0)
		close(fd);
	return err ? (err < 0 ? err : -EPROTO) : fd;
}

/* SPEC §6: /var/lib/faultguard for root, ${XDG_STATE_HOME:-~/.local/state}/faultguard else. */
static int default_state_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct passwd pw, *pwp = NULL;
	char pwbuf[4096];
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, len, "/var/lib/faultguard");
	else if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/faultguard", xdg);
	else {
		if (!home || home[0] != '/') {
			if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &pwp) || !pwp ||
			    !pw.pw_dir || pw.pw_dir[0] != '/')
				return -ENOENT;
			home = pw.pw_dir;
		}
		n = snprintf(buf, len, "%s/.local/state/faultguard", home);
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int standalone(const char *state_dir, const char *app, char *id, size_t id_len)
{
	char dir[4096];
	int dirfd, fd, err;

	if (!state_dir) {
		err = default_state_dir(dir, sizeof(dir));
		if (err)
			return err;
		state_dir = dir;
	}
	dirfd = claim_open_app_dir(-1, state_dir, getuid(), app);
	if (dirfd < 0)
		return -ENOENT;
	fd = claim_take(dirfd, getuid(), 0, NULL, 0, id, id_len);
	close(dirfd);
	return fd;
}

struct fg_snapshot *claim_previous(const struct fg_opts *opts, const char *state_dir, char *id,
				   int *from_collector)
{
	struct fg_snapshot *s;
	char sid[256];
	int fd;

	if (from_collector)
		*from_collector = 0;
	if (!opts || opts->sz < sizeof(size_t) + sizeof(char *) || !opts->app ||
	    !proto_app_name_ok(opts->app)) {
		errno = EINVAL;
		return NULL;
	}
	fd = ask(socket_path_of(opts), opts->app, sid, sizeof(sid));
	if (fd != 1 && from_collector)
		*from_collector = 1;
	if (fd == 1)
		fd = standalone(state_dir, opts->app, sid, sizeof(sid));
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	s = snapshot_read_fd(fd);
	if (s && id)
		snprintf(id, 256, "%s", sid);
	return s;
}

FG_EXPORT struct fg_snapshot *fg_claim_previous(const struct fg_opts *opts)
{
	return claim_previous(opts, NULL, NULL, NULL);
}
