// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collector/unwinder.h"
#include "faultguard_event.h"
#include "unwind/stack_record.h"
#include "unwind/symbolizer.h"

#define SYMBOLIZER_FILES 64   /* files whose symbols and lines stay loaded ... */
#define SYMBOLIZER_IDLE_MS 2000 /* ... while crashes keep coming */
#define RESULT_MAX (256 * 1024)
#define UNWINDER_NICE 19

struct unwinder {
	pid_t pid;
	int fd;
	unsigned int owed; /* replies still to come for records that timed out */
};

/* The result as bytes: counts and numbers in host order, strings length-prefixed. */
struct wire {
	uint8_t *p;
	size_t len, cap;
	int bad;
};

static void put(struct wire *w, const void *v, size_t n)
{
	if (w->bad || w->len + n > w->cap) {
		w->bad = 1;
		return;
	}
	memcpy(w->p + w->len, v, n);
	w->len += n;
}

static void put_str(struct wire *w, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;

	put(w, &n, sizeof(n));
	if (s)
		put(w, s, n);
}

static void get(struct wire *w, void *v, size_t n)
{
	if (w->bad || w->len + n > w->cap) {
		w->bad = 1;
		memset(v, 0, n);
		return;
	}
	memcpy(v, w->p + w->len, n);
	w->len += n;
}

static char *get_str(struct wire *w)
{
	uint32_t n;
	char *s;

	get(w, &n, sizeof(n));
	if (w->bad || n == UINT32_MAX)
		return NULL;
	if (n > w->cap - w->len) {
		w->bad = 1;
		return NULL;
	}
	s = strndup((const char *)w->p + w->len, n);
	w->len += n;
	return s;
}

static void encode(struct wire *w, const struct unwind_result *r)
{
	uint32_t n = (uint32_t)r->nframes;
	size_t i;

	put(w, &n, sizeof(n));
	put(w, r->exe_build_id, sizeof(r->exe_build_id));
	put(w, r->signature, sizeof(r->signature));
	put(w, r->why, sizeof(r->why));
	for (i = 0; i < r->nframes; i++) {
		const struct unwind_frame *f = &r->frames[i];

		put(w, &f->addr, sizeof(f->addr));
		put_str(w, f->module);
		put(w, f->build_id, sizeof(f->build_id));
		put(w, &f->have_module_offset, sizeof(f->have_module_offset));
		put(w, &f->module_offset, sizeof(f->module_offset));
		put_str(w, f->function);
		put(w, &f->function_offset, sizeof(f->function_offset));
		put_str(w, f->file);
		put(w, &f->line, sizeof(f->line));
	}
}

/* Decodes into @r; its module paths are allocations of their own (unwinder_result_free). */
static int decode(struct wire *w, struct unwind_result *r)
{
	uint32_t n, i;

	memset(r, 0, sizeof(*r));
	get(w, &n, sizeof(n));
	if (w->bad || n > UNWIND_MAX_FRAMES)
		return -EINVAL;
	get(w, r->exe_build_id, sizeof(r->exe_build_id));
	get(w, r->signature, sizeof(r->signature));
	get(w, r->why, sizeof(r->why));
	r->exe_build_id[sizeof(r->exe_build_id) - 1] = '\0';
	r->signature[sizeof(r->signature) - 1] = '\0';
	r->why[sizeof(r->why) - 1] = '\0';
	r->frames = calloc(n ? n : 1, sizeof(*r->frames));
	if (!r->frames)
		return -ENOMEM;
	for (i = 0; i < n && !w->bad; i++) {
		struct unwind_frame *f = &r->frames[i];

		r->nframes = i + 1;
		get(w, &f->addr, sizeof(f->addr));
		f->module = get_str(w);
		get(w, f->build_id, sizeof(f->build_id));
		f->build_id[sizeof(f->build_id) - 1] = '\0';
		get(w, &f->have_module_offset, sizeof(f->have_module_offset));
		get(w, &f->module_offset, sizeof(f->module_offset));
		f->function = get_str(w);
		get(w, &f->function_offset, sizeof(f->function_offset));
		f->file = get_str(w);
		get(w, &f->line, sizeof(f->line));
	}
	return w->bad ? -EINVAL : 0;
}

static void __attribute__((noreturn)) helper(int fd)
{
	static uint8_t rec[sizeof(struct fg_stack_event) + 1], out[RESULT_MAX];
	struct symbolizer *sym = symbolizer_new(SYMBOLIZER_FILES);
	struct unwind_opts o = { .sz = sizeof(o), .symbolizer = sym };
	static struct stack_record sr;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct unwind_result r;
		struct wire w = { .p = out, .cap = sizeof(out) };
		ssize_t n;

		/* Files kept only while crashes come: none held open for long. */
		if (poll(&p, 1, symbolizer_expire(sym, SYMBOLIZER_IDLE_MS) ? 1000 : -1) == 0)
			continue;
		n = recv(fd, rec, sizeof(rec), 0);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			_exit(0);
		if (n < 0)
			continue;
		if (stack_record_parse(rec, (size_t)n, &sr) || unwind_run(&sr.in, &o, &r)) {
			uint32_t none = UINT32_MAX;

			(void)!send(fd, &none, sizeof(none), MSG_NOSIGNAL);
			continue;
		}
		encode(&w, &r);
		unwind_result_free(&r);
		if (w.bad) {
			/* Not an empty message: that would read as the socket's end. */
			uint32_t none = UINT32_MAX;

			(void)!send(fd, &none, sizeof(none), MSG_NOSIGNAL);
			continue;
		}
		(void)!send(fd, out, w.len, MSG_NOSIGNAL);
	}
}

int unwinder_start(struct unwinder **out)
{
	struct unwinder *u = calloc(1, sizeof(*u));
	int sv[2];

	if (!u)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(u);
		return -errno;
	}
	u->pid = fork();
	if (u->pid < 0) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		free(u);
		return err;
	}
	if (u->pid == 0) {
		/* Nothing of the collector's but the socket: no BPF, no log, no clients. */
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		syscall(SYS_close_range, 4, ~0U, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "faultguardd-bt");
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		/*
		 * Behind the loop and the rescue commands it starts: an unwind (a
		 * few ms of CPU, ~70 ms for a file's first time) must not slow a
		 * rescue's start.
		 */
		setpriority(PRIO_PROCESS, 0, UNWINDER_NICE);
		helper(3);
	}
	close(sv[1]);
	u->fd = sv[0];
	*out = u;
	return 0;
}

/* The helper's next reply into @buf: its length, -ETIMEDOUT or -EPIPE. */
static ssize_t next_reply(struct unwinder *u, uint8_t *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = { .fd = u->fd, .events = POLLIN };
	ssize_t n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ETIMEDOUT;
	n = recv(u->fd, buf, cap, 0);
	return n > 0 ? n : -EPIPE;
}

int unwinder_run(struct unwinder *u, const void *rec, size_t len, int timeout_ms,
		 struct unwind_result *res)
{
	static uint8_t in[RESULT_MAX];
	struct wire w = { .p = in };
	ssize_t n;
	int err;

	/*
	 * The helper answers every record, in order: the answers to records
	 * that timed out come first, and are not this record's.
	 */
	while (u->owed) {
		n = next_reply(u, in, sizeof(in), timeout_ms);
		if (n < 0)
			return (int)n;
		u->owed--;
	}
	if (send(u->fd, rec, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -EPIPE;
	n = next_reply(u, in, sizeof(in), timeout_ms);
	if (n == -ETIMEDOUT)
		u->owed++;
	if (n < 0)
		return (int)n;
	if (n == sizeof(uint32_t) && *(uint32_t *)in == UINT32_MAX)
		return -EINVAL;
	w.cap = (size_t)n;
	err = decode(&w, res);
	if (err) {
		unwinder_result_free(res);
		return err;
	}
	return 0;
}

void unwinder_result_free(struct unwind_result *r)
{
	size_t i;

	for (i = 0; r && r->frames && i < r->nframes; i++)
		free((char *)r->frames[i].module);
	unwind_result_free(r);
}

void unwinder_stop(struct unwinder *u)
{
	if (!u)
		return;
	close(u->fd);
	kill(u->pid, SIGKILL);
	waitpid(u->pid, NULL, 0);
	free(u);
}
