// SPDX-License-Identifier: LGPL-2.1-or-later
/* faultguardctl's side of a query to the collector (PROTO_QUERY). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/proto.h"
#include "ctl/ask_collector.h"
#include "ctl/ctl.h"
#include "faultguard.h"

#define ANSWER_TIMEOUT_MS 10000

const char *ctl_socket_path(const char *flag)
{
	const char *env = getenv("FAULTGUARD_SOCKET");

	if (flag)
		return flag;
	return env && *env ? env : FG_DEFAULT_SOCKET;
}

int ctl_ask_collector(const char *socket_path, const char *what,
		      int (*fn)(const char *text, void *arg), void *arg)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static uint8_t buf[PROTO_MAX_MSG];
	int s, len, rc = 0;

	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return ctl_fail("the socket path %s is too long", socket_path);
	strcpy(addr.sun_path, socket_path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return ctl_fail("cannot create a socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = ctl_fail("cannot reach the collector at %s: %s (is faultguardd running?)",
			      socket_path, strerror(errno));
		goto out;
	}
	len = proto_encode_text(buf, sizeof(buf), PROTO_QUERY, what, strlen(what));
	if (len < 0 || send(s, buf, (size_t)len, MSG_NOSIGNAL) != len) {
		rc = ctl_fail("cannot send the query to the collector: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		struct proto_msg m;
		ssize_t n;

		if (poll(&p, 1, ANSWER_TIMEOUT_MS) <= 0) {
			rc = ctl_fail("the collector did not answer within 10 seconds");
			break;
		}
		n = recv(s, buf, sizeof(buf), 0);
		if (n <= 0) {
			rc = ctl_fail("the collector closed the connection before answering");
			break;
		}
		if (proto_decode(buf, (size_t)n, &m, NULL)) {
			rc = ctl_fail("the collector's answer is garbled");
			break;
		}
		if (m.type == PROTO_END) {
			proto_msg_free(&m);
			break;
		}
		if (m.type == PROTO_ACK) {
			rc = ctl_fail("the collector refused: %s", m.text ? m.text : "no reason");
			proto_msg_free(&m);
			break;
		}
		if (m.type == PROTO_TEXT && fn(m.text, arg)) {
			proto_msg_free(&m);
			rc = EXIT_FAILURE_EXPLAINED;
			break;
		}
		proto_msg_free(&m);
	}
out:
	close(s);
	return rc;
}

struct per_line {
	int (*fn)(const char *line, void *arg);
	void *arg;
};

static int split_lines(const char *text, void *arg)
{
	struct per_line *pl = arg;
	char line[PROTO_TEXT_MAX + 1];
	const char *p = text, *nl;
	int rc;

	while (*p) {
		size_t n;

		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n && n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			rc = pl->fn(line, pl->arg);
			if (rc)
				return rc;
		}
		p += n + (nl ? 1 : 0);
	}
	return 0;
}

int ctl_ask_collector_lines(const char *socket_path, const char *what,
			    int (*fn)(const char *line, void *arg), void *arg)
{
	struct per_line pl = { .fn = fn, .arg = arg };

	return ctl_ask_collector(socket_path, what, split_lines, &pl);
}
