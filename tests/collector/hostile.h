/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hostile-client suite's harness (tests/collector/test_hostile_*.c):
 * a real faultguardd on a scratch socket and state directory, a raw client
 * that speaks the wire protocol by hand (never the library), the audit log
 * as parsed JSON, and the check every attack ends with:
 *
 *	if (!hostile_after(&col, "what was done")) goto out;
 *
 * which asserts that the collector is alive, that its open fd count settles
 * back to its baseline (polled, generous deadline: no timing assertion), and
 * that a legitimate app registers, dies and is rescued with exact data.
 *
 * Everything is static inline: each test_hostile_*.c is one binary.
 */
#ifndef FG_TEST_HOSTILE_H
#define FG_TEST_HOSTILE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/proto.h"
#include "dict/dict.h"
#include "faultguard.h"
#include "framework/test.h"

const char *__asan_default_options(void);

/*
 * Under ASan (the sanitizer pass builds the tests too) the apps' deaths must
 * stay real signals, not sanitizer reports and exit(1). Weak: a harness
 * that sets its own options wins.
 */
__attribute__((weak, visibility("default"))) const char *__asan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_abort=0";
}

#define HOSTILE_WAIT_MS 30000 /* generous: a loaded CI machine is slow, never wrong */
#define HOSTILE_NOBODY 65534

struct hostile_col {
	pid_t pid;
	int baseline; /* open fds of an idle collector */
	int legit_runs;
	char sock[108];
	char state[PATH_MAX];
	char audit[PATH_MAX + 16];
	char conf[PATH_MAX];
	char log[PATH_MAX];
};

static inline int64_t hostile_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void hostile_nap(void)
{
	struct timespec ts = { .tv_nsec = 10 * 1000000L };

	nanosleep(&ts, NULL);
}

static inline const char *hostile_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", test_build_dir(), name);
	return buf;
}

/* Root is required: the collector loads BPF. Says so, or skips when allowed. */
static inline bool hostile_need_root(void)
{
	if (geteuid() == 0)
		return true;
	test_skip("the hostile-client suite runs a real faultguardd and needs root "
		  "(run it with sudo; FG_TEST_ALLOW_SKIP=1 turns this into a skip)");
	return false;
}

/* Every fd the collector holds, for a failure message. */
static inline void hostile_dump_fds(pid_t pid)
{
	char dir[64], path[384], target[256];
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	dp = opendir(dir);
	if (!dp)
		return;
	while ((d = readdir(dp))) {
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "    fd %s -> %s\n", d->d_name, target);
	}
	closedir(dp);
}

static inline int hostile_fd_count(pid_t pid)
{
	char dir[64];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	dp = opendir(dir);
	if (!dp)
		return -errno;
	while ((d = readdir(dp)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

static inline bool hostile_alive(struct hostile_col *c)
{
	int status;

	if (c->pid <= 0)
		return false;
	if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
		fprintf(stderr, "  faultguardd ended: %s %d (its stderr: %s)\n",
			WIFSIGNALED(status) ? "signal" : "exit status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), c->log);
		c->pid = -1;
		return false;
	}
	return true;
}

/* Polls until the collector holds exactly its baseline of fds again. */
static inline bool hostile_settle_fds(struct hostile_col *c, const char *what)
{
	int64_t end = hostile_now_ms() + HOSTILE_WAIT_MS;
	int n;

	do {
		n = hostile_fd_count(c->pid);
		if (n == c->baseline)
			return true;
		hostile_nap();
	} while (hostile_now_ms() < end);
	test_fail(__FILE__, __LINE__, "%s: the collector holds %d fds, its baseline is %d", what,
		  n, c->baseline);
	hostile_dump_fds(c->pid);
	return false;
}

static inline int hostile_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

/*
 * Starts faultguardd on a socket and state directory in the test's scratch
 * directory, with @config (may be NULL) as its config file and @timeout_s
 * as its rescue time limit (0: default). The collector's environment holds
 * FG_HOSTILE_CANARY, which no rescue command may see.
 */
static inline bool hostile_start(struct hostile_col *c, const char *config, unsigned int timeout_s)
{
	char exe[PATH_MAX], tmo[16];
	int64_t end;
	struct stat st;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	if (!hostile_need_root())
		return false;
	snprintf(c->sock, sizeof(c->sock), "%s/col.sock", test_tmpdir());
	snprintf(c->state, sizeof(c->state), "%s/state", test_tmpdir());
	snprintf(c->audit, sizeof(c->audit), "%s/audit.jsonl", c->state);
	snprintf(c->conf, sizeof(c->conf), "%s/faultguardd.conf", test_tmpdir());
	snprintf(c->log, sizeof(c->log), "%s/faultguardd.log", test_tmpdir());
	if (!ASSERT_OK(hostile_write_file(c->conf, config ? config : "# defaults\n"), "config"))
		return false;
	hostile_path(exe, sizeof(exe), "faultguardd");
	snprintf(tmo, sizeof(tmo), "%u", timeout_s ? timeout_s : 60);
	fflush(NULL);
	c->pid = fork();
	if (c->pid == 0) {
		int fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		/* The collector must not outlive a test that dies half way. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0)
			dup2(fd, 2);
		setenv("FG_HOSTILE_CANARY", "the collector's environment leaked", 1);
		execl(exe, exe, "--socket", c->sock, "--state-dir", c->state, "--config", c->conf,
		      "--rescue-timeout", tmo, "--verbose", (char *)NULL);
		_exit(127);
	}
	if (!ASSERT_GE(c->pid, 1, "fork faultguardd"))
		return false;
	end = hostile_now_ms() + HOSTILE_WAIT_MS;
	while (stat(c->sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		if (!hostile_alive(c) || hostile_now_ms() > end) {
			test_fail(__FILE__, __LINE__, "faultguardd did not become ready (see %s)",
				  c->log);
			return false;
		}
		hostile_nap();
	}
	/* Ready means idle: the loop holds what it will hold from now on. */
	c->baseline = hostile_fd_count(c->pid);
	return ASSERT_GE(c->baseline, 3, "the collector's fd count");
}

/* SIGTERM, and the collector must end cleanly (status 0): no crash on the way out. */
static inline void hostile_stop(struct hostile_col *c)
{
	int64_t end = hostile_now_ms() + HOSTILE_WAIT_MS;
	int status;

	if (c->pid <= 0)
		return;
	kill(c->pid, SIGTERM);
	while (waitpid(c->pid, &status, WNOHANG) == 0) {
		if (hostile_now_ms() > end) {
			test_fail(__FILE__, __LINE__, "faultguardd ignored SIGTERM");
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			break;
		}
		hostile_nap();
	}
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		test_fail(__FILE__, __LINE__, "faultguardd ended with status 0x%x (see %s)", status,
			  c->log);
	c->pid = -1;
}

/* SIGSTOP, and waits until the collector is really stopped (state T). */
static inline bool hostile_freeze(struct hostile_col *c)
{
	int64_t end = hostile_now_ms() + HOSTILE_WAIT_MS;
	char path[64], buf[512], *p;

	kill(c->pid, SIGSTOP);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)c->pid);
	while (hostile_now_ms() < end) {
		FILE *f = fopen(path, "re");
		bool stopped = false;

		if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
			stopped = p[2] == 'T';
		if (f)
			fclose(f);
		if (stopped)
			return true;
		hostile_nap();
	}
	return ASSERT_TRUE(false, "the collector stops on SIGSTOP");
}

/* --- the raw client ----------------------------------------------------------------- */

static inline int hostile_connect(const struct hostile_col *c)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	strcpy(addr.sun_path, c->sock);
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;

		close(s);
		return err;
	}
	return s;
}

/* One packet, with @nfds fds as SCM_RIGHTS. Returns 0 or -errno. */
static inline int hostile_send(int s, const void *buf, size_t len, const int *fds, int nfds)
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

/*
 * Waits for the collector's answer: 1 an ACK (status and sentence filled),
 * 0 the collector closed the connection, -ETIMEDOUT, or another -errno.
 */
static inline int hostile_recv_ack(int s, int *status, char *text, size_t cap)
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

/* True once the collector has closed @s (answers before the end are skipped). */
static inline bool hostile_closed_by_peer(int s)
{
	int64_t end = hostile_now_ms() + HOSTILE_WAIT_MS;
	uint8_t buf[PROTO_MAX_MSG];

	while (hostile_now_ms() < end) {
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

/* A REGISTER message for @app with @argv (NULL: snapshot only); its length, or -errno. */
static inline int hostile_encode_register(uint8_t *buf, const char *app, const char *const *argv)
{
	return proto_encode_register(buf, PROTO_MAX_MSG, app, argv, 0);
}

/* --- the audit log ------------------------------------------------------------------- */

static inline char *hostile_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (cap - n < 65536) {
			char *nb = realloc(buf, cap + 65536 + 1);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static inline const char *hostile_jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static inline long long hostile_jint(json_object *o, const char *key, long long dflt)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}

/*
 * The @nth (0-based) record of @event whose pid is @pid (-1: any pid), or
 * NULL; the caller puts it. Lines that do not parse are skipped here: the
 * string tests check every line separately.
 */
static inline json_object *hostile_audit_find(const struct hostile_col *c, const char *event,
					      long long pid, int nth)
{
	char *all = hostile_slurp(c->audit, NULL), *line, *save = NULL;
	json_object *found = NULL;

	if (!all)
		return NULL;
	for (line = strtok_r(all, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
		json_object *o = json_tokener_parse(line);
		const char *ev = hostile_jstr(o, "event");

		if (ev && !strcmp(ev, event) && (pid < 0 || hostile_jint(o, "pid", -2) == pid) &&
		    nth-- == 0)
			found = o;
		else
			json_object_put(o);
	}
	free(all);
	return found;
}

static inline json_object *hostile_audit_wait(const struct hostile_col *c, const char *event,
					      long long pid)
{
	int64_t end = hostile_now_ms() + HOSTILE_WAIT_MS;
	json_object *o;

	while (!(o = hostile_audit_find(c, event, pid, 0)) && hostile_now_ms() < end)
		hostile_nap();
	return o;
}

static inline int hostile_audit_count(const struct hostile_col *c, const char *event, long long pid)
{
	json_object *o;
	int n = 0;

	while ((o = hostile_audit_find(c, event, pid, n))) {
		json_object_put(o);
		n++;
	}
	return n;
}

/* Waits for a reject record of @pid whose reason holds @needle; true when found. */
static inline bool hostile_wait_reject(const struct hostile_col *c, long long pid,
				       const char *needle, const char *what)
{
	int64_t end = hostile_now_ms() + HOSTILE_WAIT_MS;

	do {
		json_object *o;
		int i;

		for (i = 0; (o = hostile_audit_find(c, "reject", pid, i)); i++) {
			const char *why = hostile_jstr(o, "reason");
			bool hit = why && strstr(why, needle);

			json_object_put(o);
			if (hit)
				return true;
		}
		hostile_nap();
	} while (hostile_now_ms() < end);
	test_fail(__FILE__, __LINE__, "%s: no reject record of pid %lld saying \"%s\"", what, pid,
		  needle);
	return false;
}

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
	void *arg;
	/* filled by hostile_app_start */
	pid_t pid;
	int ctl;                       /* the child's report pipe, then its order pipe */
	int order;
	int status;                    /* the collector's ACK */
	char reason[256];
};

#define HOSTILE_NVALUES 5

/* The values an app of @seed writes: small, binary, arena-sized, empty, UTF-8. */
static inline size_t hostile_value(unsigned int seed, int i, char *key, size_t kcap, uint8_t *val,
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

static inline int hostile_write_values(struct dict_writer *w, unsigned int seed)
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

/* 0 when @s holds exactly the values of @seed; else says what differs. */
static inline bool hostile_snapshot_matches(const struct fg_snapshot *s, unsigned int seed,
					    const char *what)
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

static inline int hostile_drop_privileges(const struct hostile_app *a)
{
	gid_t groups[4] = { a->gid };
	int n = a->ngroups ? a->ngroups : 1;

	if (a->ngroups)
		memcpy(groups, a->groups, sizeof(groups));
	if (setgroups((size_t)n, groups) < 0 || setresgid(a->gid, a->gid, a->gid) < 0 ||
	    setresuid(a->uid, a->uid, a->uid) < 0)
		return -errno;
	return 0;
}

/*
 * Builds, sends and acknowledges the registration: the ACK's status (0 =
 * registered) into *status; returns -errno of a local failure. Runs in the
 * app child.
 */
static inline int hostile_app_register(const struct hostile_col *c, struct hostile_app *a, int memfd,
				       int *sock, int *status)
{
	static const char *report[3];
	static char rescue_exe[PATH_MAX];
	static uint8_t msg[PROTO_MAX_MSG];
	const char *const *argv = a->rescue;
	int len, s, rc;

	if (!argv && !a->snapshot_only) {
		report[0] = hostile_path(rescue_exe, sizeof(rescue_exe), "tests/helpers/hostile_rescue");
		report[1] = "report";
		argv = report;
	}
	len = hostile_encode_register(msg, a->app ? a->app : "legit", a->snapshot_only ? NULL : argv);
	if (len < 0)
		return len;
	s = hostile_connect(c);
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

/*
 * Forks an app: it drops privileges as asked, creates and fills its
 * dictionary, registers over the raw socket and reports the ACK, then waits
 * (pause) for its death. Returns true once the child reported.
 */
static inline bool hostile_app_start(const struct hostile_col *c, struct hostile_app *a)
{
	int rep[2], res[2] = { 0, 0 };
	int64_t end;

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
		res[0] = a->uid ? hostile_drop_privileges(a) : 0;
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
	end = hostile_now_ms() + HOSTILE_WAIT_MS;
	for (;;) {
		struct pollfd p = { .fd = rep[0], .events = POLLIN };

		if (poll(&p, 1, 100) > 0)
			break;
		if (hostile_now_ms() > end) {
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

/* Kills the app with @sig and reaps it. */
static inline void hostile_app_kill(struct hostile_app *a, int sig)
{
	if (a->pid <= 0)
		return;
	kill(a->pid, sig);
	waitpid(a->pid, NULL, 0);
	a->pid = -a->pid; /* keeps the number for the audit lookups */
}

static inline pid_t hostile_app_pid(const struct hostile_app *a)
{
	return a->pid < 0 ? -a->pid : a->pid;
}

/*
 * After the app died: its crash, snapshot (exact data, no discards) and
 * rescue records. Returns the rescue record (caller puts it) or NULL.
 */
static inline json_object *hostile_expect_rescued(const struct hostile_col *c,
						  const struct hostile_app *a, const char *what)
{
	pid_t pid = hostile_app_pid(a);
	json_object *snap = hostile_audit_wait(c, "snapshot", pid), *resc = NULL;
	struct fg_snapshot *s = NULL;
	const char *path;
	bool ok = false;

	if (!ASSERT_NOT_NULL(snap, what))
		return NULL;
	path = hostile_jstr(snap, "path");
	if (!ASSERT_NOT_NULL(path, "the snapshot record's path") ||
	    !ASSERT_EQ(hostile_jint(snap, "keys", -1), HOSTILE_NVALUES, "snapshot keys") ||
	    !ASSERT_EQ(hostile_jint(snap, "discarded", -1), 0, "snapshot discarded"))
		goto out;
	s = fg_snapshot_open(path);
	if (!ASSERT_NOT_NULL(s, "open the snapshot") || !hostile_snapshot_matches(s, a->seed, what))
		goto out;
	resc = hostile_audit_wait(c, "rescue", pid);
	if (!ASSERT_NOT_NULL(resc, "the rescue record"))
		goto out;
	if (!a->snapshot_only && !a->rescue &&
	    !ASSERT_STREQ(hostile_jstr(resc, "status"), "ok", "the rescue's status"))
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

/* A legitimate app, registered, killed by SIGSEGV and rescued with exact data. */
static inline bool hostile_legit(struct hostile_col *c, const char *what)
{
	struct hostile_app a = { .seed = 1000u + (unsigned int)c->legit_runs };
	json_object *resc;
	const char *out;
	char app[32];
	bool ok = false;

	/* A name of its own each time: no per-app rescue rate limit applies. */
	snprintf(app, sizeof(app), "legit-%d", c->legit_runs++);
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
	out = hostile_jstr(resc, "output");
	/*
	 * The rescue read the snapshot it was given, and got nothing of the
	 * collector's: no fd beyond 0-2, stdin /dev/null, not its environment.
	 */
	ok = ASSERT_TRUE(out && strstr(out, "snapshot keys=5\n"), "the rescue saw the snapshot") &&
	     ASSERT_TRUE(strstr(out, "\nfds=0 1 2 \n") != NULL, "the rescue's fds") &&
	     ASSERT_TRUE(strstr(out, "\nstdin=/dev/null\n") != NULL, "the rescue's stdin") &&
	     ASSERT_TRUE(strstr(out, "FG_HOSTILE_CANARY") == NULL, "the rescue's environment");
	json_object_put(resc);
	return ok;
}

/* The check after every attack: alive, fds back to baseline, a legit app rescued. */
static inline bool hostile_after(struct hostile_col *c, const char *attack)
{
	if (!hostile_alive(c)) {
		test_fail(__FILE__, __LINE__, "%s: the collector died", attack);
		return false;
	}
	return hostile_settle_fds(c, attack) && hostile_legit(c, attack) &&
	       hostile_settle_fds(c, attack) && ASSERT_TRUE(hostile_alive(c), attack);
}

#endif
