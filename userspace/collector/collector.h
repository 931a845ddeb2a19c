/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The collector's shared state and the seams between its parts:
 *   server.c    the socket: connections, identity, messages, queries
 *   registry.c  live registrations, by tgid, with per-uid limits
 *   ending.c    how a registration ends: exit/exec events, hang-ups, crashes
 *   store.c     the state directory and snapshot files
 *   rescue.c    running rescue commands as the app's user
 *   monitor.c   the BPF programs;  audit.c  the audit log;  loop.c  epoll
 *   ops.c       operations: rate limits, retention, autosave, metrics, syslog, reload
 *   notify.c    readiness, status and watchdog for the service manager
 */
#ifndef FG_COLLECTOR_H
#define FG_COLLECTOR_H

#include <stdint.h>
#include <sys/types.h>

#include "auditlog/audit.h"
#include "collector/config.h"
#include "collector/loop.h"
#include "collector/monitor.h"

struct fg_snapshot;

#define FG_MAX_GROUPS 256
#define HANGUP_GRACE_MS 1000 /* wait this long for an exit or exec event after a hang-up */

struct answer;
struct conn;
struct notify;
struct ops;
struct rescue_queue;
struct crash;
struct held_list;
struct workers;
struct backtraces;
struct handover;
struct container;

struct identity {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[FG_MAX_GROUPS];
	char comm[17];
	uint64_t start_ticks; /* /proc/PID/stat starttime, clock ticks since boot */
	pid_t ns_pid;         /* the pid in its own PID namespace (0: unknown) */
	/*
	 * 1 only once proven to share the collector's mount namespace and root:
	 * whatever leaves it 0 (an identity made elsewhere) counts as a container.
	 */
	int on_host;
	char cgroup[512];     /* from /proc/PID/cgroup ("" unknown) */
};

struct reg {
	struct identity id;
	int pidfd;
	int memfd;
	uint64_t dict_size;
	char app[65];
	char **argv; /* NULL: snapshot only */
	struct container *ct; /* an app in a container with a rescue: its namespaces (container.c) */
	uint32_t flags;
	int64_t registered_ms;
	struct conn *conn;        /* NULL once the client hung up */
	int64_t hangup_deadline;  /* CLOCK_MONOTONIC ms; 0 while connected */
	struct reg *hash_next;
	struct reg *hup_next;     /* on the hung-up list */
};

struct collector {
	struct config cfg;
	struct loop *loop;
	struct monitor *mon;
	struct audit *audit;
	int64_t audit_retry_ms; /* the next try of records the log refused (mono ms), 0: none */
	int state_dirfd;
	struct workers *workers; /* threads for work off the loop (workers.c) */
	struct crash *crashes;   /* crashes whose records are not all written (crash.c) */
	struct held_list *held;  /* snapshots held in memory, not yet on disk (held.c) */
	/* registry */
	struct reg **regs;
	uint32_t reg_buckets;
	uint32_t nregs;
	struct reg *hungup;
	struct uid_count *uid_counts;
	/* server */
	struct watch listen_w;
	struct conn *conns;
	/* connections with a deadline, one list per kind, oldest first (server.c) */
	struct conn *pending[2], *pending_tail[2];
	uint32_t nconns;
	/* timers and signals */
	struct watch tick_w;
	int64_t tick_armed; /* tick_w is set for (mono ms); INT64_MAX: disarmed, 0: fired */
	struct watch signal_w;
	struct watch monitor_w;
	struct rescue_queue *rescues;
	struct backtraces *bt; /* crash records waiting for their backtrace (backtrace.c) */
	struct ops *ops;
	struct notify *notify; /* the service manager's, NULL without $NOTIFY_SOCKET */
	int stopping; /* shutting down: waiting for running rescues */
	struct handover *handover; /* SIGUSR2: re-executing the binary (handover.c) */
};

/* registry.c */
int registry_init(struct collector *c);
void registry_free(struct collector *c);
/*
 * A process may register several dictionaries: registry_find() gives the
 * first registration of @pid, registry_next() the one after @prev.
 */
struct reg *registry_find(struct collector *c, pid_t pid);
struct reg *registry_next(struct collector *c, pid_t pid, const struct reg *prev);
/* Whether @r (maybe freed already: never dereferenced) is still a registration of @pid. */
int registry_contains(struct collector *c, pid_t pid, const struct reg *r);
/*
 * Takes ownership of @memfd, @pidfd and @argv on success and points *out at
 * the registration. A client that re-registers a dictionary whose previous
 * connection dropped takes that registration over (its fds and argv are
 * then released here) instead of creating a second one, and returns 1.
 */
int registry_add(struct collector *c, const struct identity *id, int pidfd, int memfd,
		 uint64_t size, const char *app, char **argv, struct container *ct, uint32_t flags,
		 struct conn *conn, struct reg **out, const char **why);
/* Removes @r from every index and frees it (fds closed, BPF unwatched). */
void registry_remove(struct collector *c, struct reg *r);
/* Counts of live registrations and connections per uid, for the limits. */
unsigned int registry_uid_regs(struct collector *c, uid_t uid);
int uid_conns_add(struct collector *c, uid_t uid, int delta);

/* ending.c */
void ending_on_event(const struct fg_event *e, void *ctx);
void ending_on_close(struct collector *c, struct reg *r);
void ending_on_hangup(struct collector *c, struct reg *r);
/* Records that @r's client hung up while its process lived (it came back since). */
void ending_note_hangup(struct collector *c, const struct reg *r);
void ending_tick(struct collector *c);
/* The earliest hang-up grace that runs out (mono ms), INT64_MAX for none. */
int64_t ending_next_deadline(const struct collector *c);

/* server.c */
int server_open(struct collector *c, const char **why);
/* 1 when a collector already answers on @path (checked before anything is set up). */
int server_in_use(const char *path);
void server_close(struct collector *c);
void server_tick(struct collector *c);
/* The earliest client deadline (mono ms), INT64_MAX for none. */
int64_t server_next_deadline(const struct collector *c);
/* Reads what the client of @r already sent (a CLOSE racing with its death). */
void server_drain(struct collector *c, struct conn *conn);
void server_conn_forget_reg(struct conn *conn);
void server_drop(struct collector *c, struct conn *conn);
/* For query answers: queue a packet, end after the queue drains, who asks. */
void server_send(struct conn *conn, const void *buf, size_t len);
void server_finish(struct conn *conn);
/* The query answer @conn is making (query.c owns it; freed with the connection). */
void server_set_answer(struct conn *conn, struct answer *a);
struct answer *server_answer(const struct conn *conn);
unsigned int server_queued(const struct conn *conn); /* packets not yet sent */
int server_gone(const struct conn *conn);           /* dropped: send nothing more */
const struct identity *server_peer(const struct conn *conn);
/* The hand-over (handover.c): stop and start reading everything; what is handed over. */
void server_pause(struct collector *c, int pause);
struct conn *server_conn_next(const struct collector *c, const struct conn *prev);
int server_conn_fd(const struct conn *conn);
struct reg *server_conn_reg(const struct conn *conn);
int server_conn_busy(const struct conn *conn);
void server_conn_queued(const struct conn *conn,
			void (*fn)(void *arg, const void *p, size_t len), void *arg);
int server_adopt_listen(struct collector *c, int fd);
/* A connection handed over, of registration @r (NULL: none yet); NULL if it is refused. */
struct conn *server_adopt(struct collector *c, int fd, struct reg *r);

/* store.c */
int store_open(struct collector *c, const char **why);
/*
 * Opens STATE_DIR/@top/<uid>/<app>/ for that user (created as needed, the
 * <uid> and <app> levels owned by the user, mode 0700, never through a
 * symlink). Returns an O_CLOEXEC directory fd or -errno.
 */
int store_open_dir(struct collector *c, const char *top, uid_t uid, gid_t gid, const char *app);
int store_open_app_dir(struct collector *c, const char *top, const struct reg *r);
/* A snapshot's file name in its directory, and its whole path. */
void store_snapshot_name(const char *id, char *name, size_t len);
void store_snapshot_path(const struct collector *c, uid_t uid, const char *app, const char *id,
			 char *path, size_t len);
/*
 * Writes @len bytes as @dirfd/@name, owned by @uid/@gid, mode 0600,
 * complete and renamed into place but not yet durable: the file is left
 * open in *@fd for the fsyncs (LANE_SYNC).
 */
int store_write_bytes(int dirfd, const char *name, const void *buf, size_t len, uid_t uid,
		      gid_t gid, int *fd);

/* rescue.c */
int rescue_init(struct collector *c);
void rescue_free(struct collector *c);
struct rescue_request {
	char id[64];
	char app[65];
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[FG_MAX_GROUPS];
	char **argv; /* owned by the request */
	struct container *ct; /* owned: run inside these namespaces; NULL: on the host */
	int on_host;          /* proven on the host (identity.on_host); else ct or no rescue */
	int no_snapshot; /* the dictionary could not be read: nothing to rescue with */
	char snapshot[4096]; /* the file, when the snapshot is on disk */
	int snap_fd;         /* else the sealed memfd holding it (owned; -1: none) */
	const char *stored;  /* "disk" or "memory" */
	int autosave;        /* the snapshot is the process's autosave: FAULTGUARD_AUTOSAVE=1 */
	struct crash *cr;    /* a reference: its rescue record follows its snapshot record */
	const char *cause;
	int signal;
	int exit_code; /* -1 when killed */
	int64_t death_mono_ns;
};
/* Runs (or queues) the rescue; takes ownership of @req. */
void rescue_start(struct collector *c, struct rescue_request *req);
unsigned int rescue_running(const struct collector *c);
unsigned int rescue_queued(const struct collector *c);
/*
 * The hand-over: running rescues (their pid, pidfd, time limit's timerfd,
 * output pipe and what they wrote so far) and queued ones, as JSON; @keep
 * is told every fd that must stay open across execve. Their crash's
 * records are all out by then (handover.c waits for that).
 */
json_object *rescue_handover_save(struct collector *c, int (*keep)(void *arg, int fd), void *arg);
void rescue_handover_restore(struct collector *c, json_object *o);
/* 1 when a running or queued rescue will read the snapshot at @path (retention spares it). */
int rescue_holds(const struct collector *c, const char *path);

/* procinfo.c */
int procinfo_read(pid_t pid, struct identity *id);
int64_t mono_ms(void);
int64_t mono_ns(void);

#endif
