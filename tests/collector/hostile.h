/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the hostile-client suite (tests/collector/test_hostile_*.c) adds to
 * the harness (collector_fixture.h): a raw client that speaks the wire
 * protocol by hand (never the library), apps that register through it, and
 * the check every attack ends with:
 *
 *	if (!hostile_after(&col, "what was done")) goto out;
 *
 * which asserts that the collector is alive, that its open fd count settles
 * back to its baseline (polled, generous deadline: no timing assertion), and
 * that a legitimate app registers, dies and is rescued with exact data.
 */
#ifndef FG_TEST_HOSTILE_H
#define FG_TEST_HOSTILE_H

#include <stdint.h>

#include "collector_fixture.h"
#include "dict/dict.h"
#include "faultguard.h"

#define HOSTILE_WAIT_MS 30000 /* generous: a loaded CI machine is slow, never wrong */

/*
 * fx_can_run, fx_init, then hostile_launch: a collector with @config (NULL:
 * an empty file) and @rescue_timeout (s; 0: the default).
 */
bool hostile_start(struct fx *c, const char *config, int rescue_timeout);
/* Starts the collector of an initialized fixture, as hostile_start. */
bool hostile_launch(struct fx *c, const char *config, int rescue_timeout);
/* SIGTERM, and the collector must end cleanly (status 0): no crash on the way out. */
void hostile_stop(struct fx *c);
/* Polls until the collector holds exactly its baseline of fds again. */
bool hostile_settle_fds(struct fx *c, const char *what);
/* Waits until @pid has @n reject records whose reason holds @needle: how many it has. */
int hostile_rejects(struct fx *c, long pid, const char *needle, int n);
/* Waits for a reject record of @pid whose reason holds @needle; true when found. */
bool hostile_wait_reject(struct fx *c, long pid, const char *needle, const char *what);
/* tests/helpers/hostile_rescue, the rescue command that reports what it got. */
const char *hostile_rescue_bin(void);

/* --- the raw client ----------------------------------------------------------------- */

/* One packet, with @nfds fds as SCM_RIGHTS. Returns 0 or -errno. */
int hostile_send(int s, const void *buf, size_t len, const int *fds, int nfds);
/*
 * Waits for the collector's answer: 1 an ACK (status and sentence filled),
 * 0 the collector closed the connection, -ETIMEDOUT, or another -errno.
 */
int hostile_recv_ack(int s, int *status, char *text, size_t cap);
/* True once the collector has closed @s (answers before the end are skipped). */
bool hostile_closed_by_peer(int s);
/* A REGISTER message for @app with @argv (NULL: snapshot only); its length, or -errno. */
int hostile_encode_register(uint8_t *buf, const char *app, const char *const *argv);

/* --- apps: a child that registers by hand and dies on command ----------------------- */

struct hostile_app {
	const char *app;               /* default "legit" */
	const char *const *rescue;     /* default: hostile_rescue report; use snapshot_only */
	int snapshot_only;             /* register without a rescue command */
	uid_t uid;                     /* 0: stay root; else drop to uid/gid/groups */
	gid_t gid;
	int ngroups;
	gid_t groups[4];
	unsigned int seed;             /* picks the values */
	size_t dict_bytes;             /* default 1 MiB */
	const char *comm;              /* prctl(PR_SET_NAME) before connecting */
	/* in the child: instead of hostile_write_values; after the ACK. 0 or -errno */
	int (*fill)(struct hostile_app *a, int memfd, struct dict_writer *w);
	int (*after)(struct hostile_app *a, int memfd, struct dict_writer *w);
	/* filled by hostile_app_start */
	pid_t pid;
	int status;                    /* the collector's ACK */
	char reason[256];
};

#define HOSTILE_NVALUES 5

/* The values an app of @seed writes: small, binary, arena-sized, empty, UTF-8. */
int hostile_write_values(struct dict_writer *w, unsigned int seed);
/* Whether @s holds exactly the values of @seed; else says what differs. */
bool hostile_snapshot_matches(const struct fg_snapshot *s, unsigned int seed, const char *what);
/*
 * Builds, sends and acknowledges the registration: the ACK's status (0 =
 * registered) into *status; returns -errno of a local failure. Runs in the
 * app child.
 */
int hostile_app_register(const struct fx *c, struct hostile_app *a, int memfd, int *sock,
			 int *status);
/*
 * Forks an app: it drops privileges as asked, creates and fills its
 * dictionary, registers over the raw socket and reports the ACK, then waits
 * (pause) for its death. Returns true once the child reported.
 */
bool hostile_app_start(const struct fx *c, struct hostile_app *a);
/* Kills the app with @sig and reaps it. */
void hostile_app_kill(struct hostile_app *a, int sig);
pid_t hostile_app_pid(const struct hostile_app *a);
/*
 * After the app died: its crash, snapshot (exact data, no discards) and
 * rescue records. Returns the rescue record (caller puts it) or NULL.
 */
json_object *hostile_expect_rescued(struct fx *c, const struct hostile_app *a, const char *what);
/* A legitimate app, registered, killed by SIGSEGV and rescued with exact data. */
bool hostile_legit(struct fx *c, const char *what);
/* The check after every attack: alive, fds back to baseline, a legit app rescued. */
bool hostile_after(struct fx *c, const char *attack);

#endif
