// SPDX-License-Identifier: LGPL-2.1-or-later
/* faultguardctl's side of a query to the collector (PROTO_QUERY). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
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

/* The longest answer line accepted (a registration's JSON with its rescue argv). */
#define LINE_MAX_BYTES (4u << 20)

/* Lines may span packets: the piece before a packet's last newline waits in @buf. */
struct per_line {
	int (*fn)(const char *line, void *arg);
	void *arg;
	char *buf;
	size_t len, cap;
	int overlong; /* the line being joined is over LINE_MAX_BYTES: skip to its end */
};

static void warn_overlong(void)
{
	fprintf(stderr, "faultguardctl: left out an answer line over %u MiB\n", LINE_MAX_BYTES >> 20);
}

static int line_append(struct per_line *pl, const char *p, size_t n)
{
	if (pl->overlong)
		return 0;
	if (pl->len + n + 1 > LINE_MAX_BYTES) {
		pl->overlong = 1;
		pl->len = 0;
		return 0;
	}
	if (pl->len + n + 1 > pl->cap) {
		size_t cap = (pl->len + n + 1) * 2;
		char *b = realloc(pl->buf, cap);

		if (!b)
			return -ENOMEM;
		pl->buf = b;
		pl->cap = cap;
	}
	memcpy(pl->buf + pl->len, p, n);
	pl->len += n;
	pl->buf[pl->len] = '\0';
	return 0;
}

static int split_lines(const char *text, void *arg)
{
	struct per_line *pl = arg;
	const char *p = text, *nl;
	int rc;

	while (*p) {
		nl = strchr(p, '\n');
		if (line_append(pl, p, nl ? (size_t)(nl - p) : strlen(p)))
			return ctl_fail("out of memory reading the collector's answer");
		if (!nl)
			break;
		if (pl->overlong)
			warn_overlong();
		else if (pl->len && (rc = pl->fn(pl->buf, pl->arg)))
			return rc;
		pl->len = 0;
		pl->overlong = 0;
		p = nl + 1;
	}
	return 0;
}

int ctl_ask_collector_lines(const char *socket_path, const char *what,
			    int (*fn)(const char *line, void *arg), void *arg)
{
	struct per_line pl = { .fn = fn, .arg = arg };
	int rc = ctl_ask_collector(socket_path, what, split_lines, &pl);

	/* The collector ends every line; a last one without its newline still counts. */
	if (!rc && pl.overlong)
		warn_overlong();
	else if (!rc && pl.len)
		rc = fn(pl.buf, arg);
	free(pl.buf);
	return rc;
}
