// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The collector's socket. Every client is untrusted: identity comes from
 * the kernel (SO_PEERCRED, SO_PEERGROUPS and SO_PEERPIDFD at connect time),
 * never from a message; sockets are non-blocking; a connection that has not
 * registered within CONN_DEADLINE_MS is closed; every received fd is
 * checked and extra ones closed. A client can make the collector say no,
 * never wait or die.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "collector/collector.h"
#include "collector/claim.h"
#include "collector/container.h"
#include "collector/query.h"
#include "common/proto.h"
#include "dict/dict.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#define CONN_DEADLINE_MS 5000
#define ANSWER_DEADLINE_MS 10000 /* to read a whole query answer */
#define MAX_FDS_PER_MSG 16
#define MAX_OUT_PACKETS 4096

struct packet {
	struct packet *next;
	size_t len;
	uint8_t data[];
};

struct conn {
	struct watch w;
	struct collector *c;
	struct identity id;
	int pidfd;
	struct reg *reg;
	int64_t deadline; /* mono ms: to register, or to read the answer; 0 once registered */
	int closing;      /* close once the output queue is empty */
	int polling_out;  /* EPOLLOUT is asked for (a send would have blocked) */
	struct packet *out, *out_tail;
	unsigned int nout;
	struct answer *answer; /* a query answer still being made (query.c) */
	struct conn *next, *prev;
	/* On c->pending[kind] while it has a deadline: the tick looks at these only. */
	struct conn *pend_next, *pend_prev;
	int on_pending; /* 0, or 1 + the kind of deadline */
};

static void pending_unlink(struct conn *cn)
{
	struct collector *c = cn->c;
	int k = cn->on_pending - 1;

	if (!cn->on_pending)
		return;
	if (cn->pend_prev)
		cn->pend_prev->pend_next = cn->pend_next;
	else
		c->pending[k] = cn->pend_next;
	if (cn->pend_next)
		cn->pend_next->pend_prev = cn->pend_prev;
	else
		c->pending_tail[k] = cn->pend_prev;
	cn->pend_next = cn->pend_prev = NULL;
	cn->on_pending = 0;
}

enum deadline_kind { TO_REGISTER, TO_READ_ANSWER, NO_DEADLINE };

static const int64_t deadline_ms[] = {
	[TO_REGISTER] = CONN_DEADLINE_MS, [TO_READ_ANSWER] = ANSWER_DEADLINE_MS,
};

/*
 * Gives @cn a deadline of @kind from now (to register, or to read its
 * answer), or lifts it (NO_DEADLINE). Registered connections are off the
 * pending lists, so the tick's work follows the clients in flight, not all
 * of them; each kind has its own list, in deadline order (the same delay
 * from a clock that only moves forward), so its head is the next one due.
 */
static void set_deadline(struct conn *cn, enum deadline_kind kind)
{
	struct collector *c = cn->c;

	pending_unlink(cn);
	if (kind == NO_DEADLINE) {
		cn->deadline = 0;
		return;
	}
	cn->deadline = mono_ms() + deadline_ms[kind];
	cn->pend_next = NULL;
	cn->pend_prev = c->pending_tail[kind];
	if (cn->pend_prev)
		cn->pend_prev->pend_next = cn;
	else
		c->pending[kind] = cn;
	c->pending_tail[kind] = cn;
	cn->on_pending = 1 + kind;
}

static void conn_free(void *p)
{
	struct conn *cn = p;

	query_free(cn->answer);
	while (cn->out) {
		struct packet *pk = cn->out;

		cn->out = pk->next;
		free(pk);
	}
	free(cn);
}

void server_drop(struct collector *c, struct conn *cn)
{
	if (cn->w.dead)
		return;
	loop_del(c->loop, &cn->w);
	if (cn->reg) {
		cn->reg->conn = NULL;
		cn->reg = NULL;
	}
	close(cn->w.fd);
	if (cn->pidfd >= 0)
		close(cn->pidfd);
	pending_unlink(cn);
	if (cn->prev)
		cn->prev->next = cn->next;
	else
		c->conns = cn->next;
	if (cn->next)
		cn->next->prev = cn->prev;
	c->nconns--;
	uid_conns_add(c, cn->id.uid, -1);
	loop_defer_free(c->loop, cn, conn_free);
}

void server_conn_forget_reg(struct conn *cn)
{
	cn->reg = NULL;
	/* The registration is over: the client's socket goes too. */
	server_drop(cn->c, cn);
}

static void flush_out(struct conn *cn)
{
	while (cn->out) {
		struct packet *pk = cn->out;
		ssize_t n = send(cn->w.fd, pk->data, pk->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!cn->polling_out)
				loop_mod(cn->c->loop, &cn->w, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
			cn->polling_out = 1;
			return;
		}
		/* Sent, or the peer is gone: either way this packet is done. */
		cn->out = pk->next;
		if (!cn->out)
			cn->out_tail = NULL;
		cn->nout--;
		free(pk);
		if (n < 0) {
			server_drop(cn->c, cn);
			return;
		}
	}
	/* Only when it changes: a registration's ACK costs no epoll_ctl. */
	if (cn->polling_out)
		loop_mod(cn->c->loop, &cn->w, EPOLLIN | EPOLLRDHUP);
	cn->polling_out = 0;
	if (cn->answer)
		query_continue(cn->c, cn); /* all sent: make more of the answer */
	else if (cn->closing)
		server_drop(cn->c, cn);
}

void server_set_answer(struct conn *cn, struct answer *a)
{
	cn->answer = a;
}

struct answer *server_answer(const struct conn *cn)
{
	return cn->answer;
}

unsigned int server_queued(const struct conn *cn)
{
	return cn->nout;
}

int server_gone(const struct conn *cn)
{
	return cn->w.dead;
}

/* Queues one packet for @cn; a peer that does not read loses its connection. */
void server_send(struct conn *cn, const void *buf, size_t len)
{
	struct packet *pk;

	if (cn->w.dead)
		return;
	if (cn->nout >= MAX_OUT_PACKETS) {
		server_drop(cn->c, cn);
		return;
	}
	pk = malloc(sizeof(*pk) + len);
	if (!pk) {
		server_drop(cn->c, cn);
		return;
	}
	pk->next = NULL;
	pk->len = len;
	memcpy(pk->data, buf, len);
	if (cn->out_tail)
		cn->out_tail->next = pk;
	else
		cn->out = pk;
	cn->out_tail = pk;
	cn->nout++;
	if (cn->nout == 1)
		flush_out(cn);
}

void server_finish(struct conn *cn)
{
	cn->closing = 1;
	if (!cn->out)
		server_drop(cn->c, cn);
}

const struct identity *server_peer(const struct conn *cn)
{
	return &cn->id;
}

static void send_ack(struct conn *cn, int status, const char *text)
{
	uint8_t buf[PROTO_MAX_MSG];
	int len = proto_encode_ack(buf, sizeof(buf), status, text);

	if (len > 0)
		server_send(cn, buf, (size_t)len);
}

static void audit_reject(struct collector *c, const struct identity *id, const char *why)
{
	json_object *rec = audit_record("reject");

	json_object_object_add(rec, "pid", json_object_new_int(id->pid));
	json_object_object_add(rec, "uid", json_object_new_int64(id->uid));
	json_object_object_add(rec, "reason", audit_str(why));
	audit_emit(c->audit, rec);
	if (c->cfg.verbose)
		fprintf(stderr, "faultguardd: rejected pid %d uid %u: %s\n", id->pid, id->uid, why);
}

/* Says no, records why, and ends the connection. */
static void reject(struct conn *cn, int err, const char *why)
{
	audit_reject(cn->c, &cn->id, why);
	send_ack(cn, err, why);
	server_finish(cn);
}

static void audit_register(struct collector *c, const struct reg *r)
{
	json_object *rec = audit_record("register");

	json_object_object_add(rec, "app", audit_str(r->app));
	json_object_object_add(rec, "pid", json_object_new_int(r->id.pid));
	json_object_object_add(rec, "uid", json_object_new_int64(r->id.uid));
	json_object_object_add(rec, "gid", json_object_new_int64(r->id.gid));
	json_object_object_add(rec, "comm", audit_str(r->id.comm));
	json_object_object_add(rec, "ns_pid",
			       r->id.ns_pid > 0 ? json_object_new_int(r->id.ns_pid) : NULL);
	json_object_object_add(rec, "cgroup", r->id.cgroup[0] ? audit_str(r->id.cgroup) : NULL);
	json_object_object_add(rec, "rescue_argv", audit_argv(r->argv));
	audit_emit(c->audit, rec);
}

static int peer_alive(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	/* A pidfd turns readable when its process has exited. */
	return poll(&p, 1, 0) == 0;
}

static void handle_register(struct conn *cn, struct proto_msg *m, int *fds, int nfds)
{
	struct collector *c = cn->c;
	struct container *ct = NULL;
	const char *why = NULL;
	struct reg *r;
	int64_t size;
	int err;

	if (cn->reg) {
		reject(cn, -EALREADY, "this connection already registered a dictionary");
		return;
	}
	if (nfds != 1) {
		reject(cn, -EINVAL, nfds ? "a registration must carry exactly one file descriptor"
					 : "the registration carries no dictionary file descriptor");
		return;
	}
	size = dict_check_fd(fds[0], c->cfg.max_dict_bytes, &why);
	if (size < 0) {
		reject(cn, (int)size, why);
		return;
	}
	/*
	 * /proc is looked up by pid: only a peer still alive after the lookups
	 * proves they were about it, not about a process that took its pid since.
	 * The record is written after the ACK, off the app's wait.
	 */
	if (cn->pidfd < 0 || procinfo_read(cn->id.pid, &cn->id)) {
		reject(cn, -ESRCH, "the registering process is gone");
		return;
	}
	err = container_probe(cn->pidfd, &cn->id, !!m->argv, &ct, &why);
	if (err) {
		reject(cn, err, why);
		return;
	}
	if (!peer_alive(cn->pidfd)) {
		container_free(ct);
		reject(cn, -ESRCH, "the registering process is gone");
		return;
	}
	err = registry_add(c, &cn->id, cn->pidfd, fds[0], (uint64_t)size, m->app, m->argv, ct,
			   m->flags, cn, &cn->reg, &why);
	if (err < 0) {
		container_free(ct);
		reject(cn, err, why);
		return;
	}
	/* The registration owns them now. */
	cn->pidfd = -1;
	fds[0] = -1;
	m->argv = NULL;
	m->argc = 0;
	set_deadline(cn, NO_DEADLINE);
	r = cn->reg; /* before the ACK: a failed send drops the connection, not the registration */
	send_ack(cn, 0, "registered");
	/* Back after a hang-up: protected all along, but the hang-up is on record. */
	if (err == 1)
		ending_note_hangup(c, r);
	audit_register(c, r);
}

/* The ACK of a claim, with the snapshot's fd: sent now (nothing else is queued on a claim). */
static void send_ack_fd(struct conn *cn, const char *text, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	uint8_t buf[PROTO_MAX_MSG];
	int len = proto_encode_ack(buf, sizeof(buf), 0, text);
	struct iovec iov = { .iov_base = buf, .iov_len = len > 0 ? (size_t)len : 0 };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (len <= 0 || cn->out) {
		server_drop(cn->c, cn);
		return;
	}
	do
		n = sendmsg(cn->w.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		server_drop(cn->c, cn);
}

static void handle_claim(struct conn *cn, const char *app)
{
	struct container *ct = NULL;
	const char *why = NULL;
	char id[256];
	int fd;

	if (cn->reg) {
		reject(cn, -EALREADY, "a registration's connection cannot claim");
		return;
	}
	/* Where the claimer is (its cgroup, a container or not), proven about it by its pidfd. */
	fd = cn->pidfd < 0 ? -ESRCH : container_probe(cn->pidfd, &cn->id, 0, &ct, &why);
	if (!fd && !peer_alive(cn->pidfd))
		fd = -ESRCH;
	if (fd) {
		reject(cn, fd, fd == -ESRCH ? "the claiming process is gone" : why);
		return;
	}
	fd = claim_find(cn->c, &cn->id, app, id, sizeof(id), &why);
	if (fd < 0) {
		send_ack(cn, fd, why);
		server_finish(cn);
		return;
	}
	send_ack_fd(cn, id, fd);
	close(fd);
	if (!cn->w.dead)
		server_finish(cn);
}

static void handle_message(struct conn *cn, const uint8_t *buf, size_t len, int *fds, int nfds)
{
	struct proto_msg m;
	const char *why;

	if (proto_decode(buf, len, &m, &why)) {
		reject(cn, -EBADMSG, why);
		return;
	}
	switch (m.type) {
	case PROTO_REGISTER:
		handle_register(cn, &m, fds, nfds);
		break;
	case PROTO_CLOSE:
		if (cn->reg)
			ending_on_close(cn->c, cn->reg);
		else
			server_finish(cn);
		break;
	case PROTO_CLAIM:
		handle_claim(cn, m.text);
		break;
	case PROTO_QUERY:
		/* A client that never reads would hold its queued answer forever. */
		set_deadline(cn, TO_READ_ANSWER);
		query_answer(cn->c, cn, m.text);
		break;
	default:
		reject(cn, -EBADMSG, "the message type is not one a client may send");
	}
	proto_msg_free(&m);
}

/* Reads every message waiting on @cn; returns -1 once the peer has hung up. */
static int read_messages(struct conn *cn)
{
	union {
		char buf[CMSG_SPACE(MAX_FDS_PER_MSG * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	static uint8_t buf[PROTO_MAX_MSG + 1];
	int fds[MAX_FDS_PER_MSG], nfds, i;

	while (!cn->w.dead && !cn->closing) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.buf,
			.msg_controllen = sizeof(ctl.buf),
		};
		struct cmsghdr *cm;
		ssize_t n = recvmsg(cn->w.fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		nfds = 0;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			int k, cnt;

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			cnt = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (k = 0; k < cnt; k++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
				if (nfds < MAX_FDS_PER_MSG)
					fds[nfds++] = fd;
				else
					close(fd);
			}
		}
		if (n == 0 && nfds == 0)
			return -1;
		if (mh.msg_flags & MSG_CTRUNC)
			reject(cn, -EINVAL, "the message carried more file descriptors than allowed");
		else if (mh.msg_flags & MSG_TRUNC)
			reject(cn, -EMSGSIZE, "the message is larger than 64 KiB");
		else
			handle_message(cn, buf, (size_t)n, fds, nfds);
		for (i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	return 0;
}

void server_drain(struct collector *c, struct conn *cn)
{
	(void)c;
	if (cn && !cn->w.dead)
		read_messages(cn);
}

static void on_conn(struct watch *w, uint32_t events)
{
	struct conn *cn = w->data;
	struct collector *c = cn->c;

	if (events & EPOLLOUT)
		flush_out(cn);
	if (cn->w.dead)
		return;
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)) && read_messages(cn) < 0) {
		struct reg *r = cn->reg;

		if (r) {
			cn->reg = NULL;
			r->conn = NULL;
			server_drop(c, cn);
			ending_on_hangup(c, r);
		} else {
			server_drop(c, cn);
		}
	}
}

static int peer_identity(int fd, struct identity *id, int *pidfd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[FG_MAX_GROUPS];
	int n;

	memset(id, 0, sizeof(*id));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	id->pid = cred.pid;
	id->uid = cred.uid;
	id->gid = cred.gid;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		n = (int)(len / sizeof(gid_t));
		id->ngroups = n > FG_MAX_GROUPS ? FG_MAX_GROUPS : n;
		memcpy(id->groups, groups, (size_t)id->ngroups * sizeof(gid_t));
	}
	/*
	 * SO_PEERPIDFD names the very process that connected, immune to pid
	 * reuse. Opening by pid instead is only for kernels without it (< 6.5):
	 * where it exists and fails, the peer is gone and its pid may be another's.
	 */
	len = sizeof(*pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, pidfd, &len) < 0) {
		if (errno != ENOPROTOOPT)
			return -errno;
		*pidfd = (int)syscall(SYS_pidfd_open, id->pid, 0);
		if (*pidfd < 0)
			return -errno;
	}
	/* Both kinds are close-on-exec already (pidfd_open's, SO_PEERPIDFD's). */
	return 0;
}

static void accept_one(struct collector *c, int fd)
{
	struct conn *cn = calloc(1, sizeof(*cn));
	int err;

	if (!cn) {
		close(fd);
		return;
	}
	cn->c = c;
	cn->pidfd = -1;
	cn->w.fd = fd;
	cn->w.fn = on_conn;
	cn->w.data = cn;
	if (peer_identity(fd, &cn->id, &cn->pidfd)) {
		close(fd);
		free(cn);
		return;
	}
	err = uid_conns_add(c, cn->id.uid, 1);
	if (err) {
		audit_reject(c, &cn->id, "this user has reached its limit of connections");
		close(cn->pidfd);
		close(fd);
		free(cn);
		return;
	}
	if (loop_add(c->loop, &cn->w, EPOLLIN | EPOLLRDHUP)) {
		uid_conns_add(c, cn->id.uid, -1);
		close(cn->pidfd);
		close(fd);
		free(cn);
		return;
	}
	set_deadline(cn, TO_REGISTER);
	cn->next = c->conns;
	if (c->conns)
		c->conns->prev = cn;
	c->conns = cn;
	c->nconns++;
}

static void on_listen(struct watch *w, uint32_t events)
{
	struct collector *c = w->data;
	int fd;

	(void)events;
	/* An exit event queued before this connect must be seen first (pid reuse). */
	monitor_consume(c->mon);
	for (;;) {
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				fprintf(stderr, "faultguardd: out of file descriptors, "
						"connections wait in the backlog\n");
			return;
		}
		accept_one(c, fd);
	}
}

void server_tick(struct collector *c)
{
	static const char *const why[] = {
		[TO_REGISTER] = "the client sent no registration within 5 seconds",
		[TO_READ_ANSWER] = "the client did not read its answer within 10 seconds",
	};
	int64_t now = mono_ms();
	int k;

	for (k = TO_REGISTER; k <= TO_READ_ANSWER; k++)
		while (c->pending[k] && now >= c->pending[k]->deadline) {
			struct conn *cn = c->pending[k];

			/* A refused client that does not read its refusal: an answer unread. */
			audit_reject(c, &cn->id, why[cn->closing ? TO_READ_ANSWER : k]);
			server_drop(c, cn); /* off the list */
		}
}

int64_t server_next_deadline(const struct collector *c)
{
	int64_t next = INT64_MAX;
	int k;

	for (k = TO_REGISTER; k <= TO_READ_ANSWER; k++)
		if (c->pending[k] && c->pending[k]->deadline < next)
			next = c->pending[k]->deadline;
	return next;
}

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Whether a collector already answers at @path (a stale socket file refuses). */
int server_in_use(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int s, live;

	strcpy(addr.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return 0;
	live = connect(s, (struct sockaddr *)&addr, sizeof(addr)) == 0 || errno == EAGAIN;
	close(s);
	return live;
}

int server_open(struct collector *c, const char **why)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char tmp[sizeof(addr.sun_path)];
	struct stat st;
	int fd;

	if (strlen(c->cfg.socket_path) + 16 >= sizeof(addr.sun_path)) {
		*why = "the socket path is too long";
		return -ENAMETOOLONG;
	}
	if (server_in_use(c->cfg.socket_path)) {
		*why = "another faultguardd is already listening on the socket";
		return -EADDRINUSE;
	}
	if (make_parent_dir(c->cfg.socket_path)) {
		*why = "cannot create the socket's directory";
		return -errno;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = "cannot create the socket";
		return -errno;
	}
	/* Bind under a temporary name, set its mode, listen, then rename into place:
	 * the socket appears ready and with its final permissions, or not at all. */
	snprintf(tmp, sizeof(tmp), "%s.%d", c->cfg.socket_path, (int)getpid());
	unlink(tmp);
	strcpy(addr.sun_path, tmp);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		*why = "cannot bind the socket";
		goto err_close;
	}
	if (chmod(tmp, c->cfg.socket_mode) < 0 ||
	    (c->cfg.socket_group != (gid_t)-1 && chown(tmp, (uid_t)-1, c->cfg.socket_group) < 0)) {
		*why = "cannot set the socket's mode or group";
		goto err_unlink;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		*why = "cannot listen on the socket";
		goto err_unlink;
	}
	if (lstat(c->cfg.socket_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		*why = "the socket path exists and is not a socket";
		goto err_unlink;
	}
	if (rename(tmp, c->cfg.socket_path) < 0) {
		*why = "cannot move the socket into place";
		goto err_unlink;
	}
	c->listen_w.fd = fd;
	c->listen_w.fn = on_listen;
	c->listen_w.data = c;
	if (loop_add(c->loop, &c->listen_w, EPOLLIN)) {
		*why = "cannot watch the socket";
		unlink(c->cfg.socket_path);
		goto err_close;
	}
	return 0;

err_unlink:
	unlink(tmp);
err_close:
	{
		int err = -errno;

		close(fd);
		return err ? err : -EIO;
	}
}

void server_close(struct collector *c)
{
	while (c->conns)
		server_drop(c, c->conns);
	if (c->listen_w.fd > 0) {
		loop_del(c->loop, &c->listen_w);
		close(c->listen_w.fd);
		unlink(c->cfg.socket_path);
		c->listen_w.fd = -1;
	}
}

/* --- the hand-over (handover.c) ------------------------------------------------ */

void server_pause(struct collector *c, int pause)
{
	struct conn *cn;

	if (c->listen_w.fd >= 0) {
		if (pause)
			loop_pause(c->loop, &c->listen_w);
		else
			loop_resume(c->loop, &c->listen_w, EPOLLIN);
	}
	for (cn = c->conns; cn; cn = cn->next) {
		if (pause)
			loop_pause(c->loop, &cn->w);
		else
			loop_resume(c->loop, &cn->w,
				    EPOLLIN | EPOLLRDHUP | (cn->out ? EPOLLOUT : 0));
	}
}

struct conn *server_conn_next(const struct collector *c, const struct conn *prev)
{
	return prev ? prev->next : c->conns;
}

int server_conn_fd(const struct conn *cn)
{
	return cn->w.fd;
}

struct reg *server_conn_reg(const struct conn *cn)
{
	return cn->reg;
}

/* A query answer half made, or a connection on its way out: not handed over (it ends). */
int server_conn_busy(const struct conn *cn)
{
	return cn->answer || cn->closing || cn->w.dead;
}

/* The packets queued for @cn, in order: @fn(@arg, bytes, len) each. */
void server_conn_queued(const struct conn *cn, void (*fn)(void *arg, const void *p, size_t len),
			void *arg)
{
	const struct packet *pk;

	for (pk = cn->out; pk; pk = pk->next)
		fn(arg, pk->data, pk->len);
}

int server_adopt_listen(struct collector *c, int fd)
{
	c->listen_w.fd = fd;
	c->listen_w.fn = on_listen;
	c->listen_w.data = c;
	return loop_add(c->loop, &c->listen_w, EPOLLIN);
}

struct conn *server_adopt(struct collector *c, int fd, struct reg *r)
{
	struct conn *before = c->conns, *cn;

	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	accept_one(c, fd);
	cn = c->conns;
	if (cn == before || cn->w.fd != fd)
		return NULL;
	if (r) {
		cn->reg = r;
		r->conn = cn;
		if (cn->pidfd >= 0)
			close(cn->pidfd);
		cn->pidfd = -1;
		set_deadline(cn, NO_DEADLINE);
	}
	return cn;
}
