// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "collector/syslog.h"

#define RECONNECT_MS 1000
#define HEADER_MAX 512

struct syslog_sink {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int facility;
	int fd; /* -1 while not connected */
	int64_t next_try_ms;
	uint64_t dropped;
	int complained; /* said once that the receiver is unreachable */
	char host[256];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 5424 HOSTNAME: printable US-ASCII without spaces, or "-". */
static void read_host(char *buf, size_t len)
{
	char *p;

	if (gethostname(buf, len - 1) < 0 || !buf[0]) {
		strcpy(buf, "-");
		return;
	}
	buf[len - 1] = '\0';
	for (p = buf; *p; p++)
		if (*p <= ' ' || *p > '~')
			*p = '_';
}

static void complain(struct syslog_sink *s, const char *what, int err)
{
	if (s->complained)
		return;
	s->complained = 1;
	fprintf(stderr, "faultguardd: syslog: %s %s: %s; records go only to the audit log "
			"until it can be reached\n", what, s->path, strerror(err));
}

static void try_connect(struct syslog_sink *s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	s->next_try_ms = now_ms() + RECONNECT_MS;
	strcpy(addr.sun_path, s->path);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		complain(s, "cannot create a socket for", errno);
		return;
	}
	if (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		/* EPROTOTYPE: a stream socket; syslog daemons listen on datagrams. */
		complain(s, "cannot connect to", errno);
		close(s->fd);
		s->fd = -1;
		return;
	}
	s->complained = 0;
}

int syslog_sink_open(struct syslog_sink **out, const char *path, int facility)
{
	struct syslog_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->facility = facility;
	s->fd = -1;
	read_host(s->host, sizeof(s->host));
	try_connect(s);
	*out = s;
	return 0;
}

void syslog_sink_close(struct syslog_sink *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

uint64_t syslog_sink_dropped(const struct syslog_sink *s)
{
	return s ? s->dropped : 0;
}

static const char *field(json_object *rec, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* What an operator's filter should see: trouble is a warning, the rest information. */
static int severity(json_object *rec)
{
	const char *event = field(rec, "event"), *status = field(rec, "status");

	if (!event)
		return LOG_INFO;
	if (!strcmp(event, "crash"))
		return LOG_WARNING;
	if (!strcmp(event, "rescue"))
		return status && (!strcmp(status, "ok") || !strcmp(status, "none")) ? LOG_INFO
										     : LOG_WARNING;
	if (!strcmp(event, "reload"))
		return status && !strcmp(status, "ok") ? LOG_INFO : LOG_ERR;
	if (!strcmp(event, "reject"))
		return LOG_NOTICE;
	return LOG_INFO;
}

void syslog_sink_send(struct syslog_sink *s, json_object *rec, const char *json, size_t len,
		      uint64_t seq, const char *head)
{
	const char *ts = field(rec, "ts"), *event = field(rec, "event");
	char *msg;
	int hlen;
	ssize_t n;

	if (s->fd < 0 && now_ms() >= s->next_try_ms)
		try_connect(s);
	if (s->fd < 0) {
		s->dropped++;
		return;
	}
	msg = malloc(HEADER_MAX + len);
	if (!msg) {
		s->dropped++;
		return;
	}
	/*
	 * <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG;
	 * the structured data is the audit chain's head after this record (its
	 * seq and the SHA-256 of its line), so a log cut short is provable from here.
	 */
	hlen = snprintf(msg, HEADER_MAX,
			"<%d>1 %.40s %.255s faultguardd %d %.32s [chain@32473 seq=\"%llu\" "
			"sha256=\"%.64s\"] ",
			s->facility | severity(rec), ts ? ts : "-", s->host, (int)getpid(),
			event ? event : "-", (unsigned long long)seq, head);
	if (hlen < 0 || hlen >= HEADER_MAX) {
		free(msg);
		s->dropped++;
		return;
	}
	memcpy(msg + hlen, json, len);
	do
		n = send(s->fd, msg, (size_t)hlen + len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(msg);
	if (n >= 0)
		return;
	s->dropped++;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EMSGSIZE)
		return;
	/* The receiver went away (restarted, say): connect again later. */
	complain(s, "lost the connection to", errno);
	close(s->fd);
	s->fd = -1;
}
