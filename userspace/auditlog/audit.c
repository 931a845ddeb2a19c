// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auditlog/audit.h"
#include "auditlog/chain.h"
#include "common/text.h"
#include "common/timefmt.h"

#define AUDIT_STR_MAX 4096
/* Records the log could not take, kept for it in order: at most this many bytes. */
#define PENDING_MAX (64u << 20)

/* A line the log could not take yet. */
struct pending {
	struct pending *next;
	size_t len;
	char line[];
};

struct audit {
	int fd;
	int owned;
	char *path; /* NULL for stdout */
	audit_observer_fn observer;
	void *observer_arg;
	struct pending *head, *tail;
	size_t pending_bytes;
	uint64_t npending, write_errors, lost;
	int failing; /* the last write failed: said once until one succeeds */
	/* The audit chain (chain.h): the head the next line links to. */
	struct audit_chain chain;
	off_t end;  /* the file's size after our last line; another writer grows it */
};

/* The log's name in messages. */
static const char *log_name(const struct audit *a)
{
	return a->path ? a->path : "stdout";
}

/* The fd for @path ("-" is stdout, not ours to close); sets *owned. */
static int open_log(const char *path, int *owned)
{
	int fd;

	if (!strcmp(path, "-")) {
		*owned = 0;
		return STDOUT_FILENO;
	}
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -errno;
	*owned = 1;
	return fd;
}

/* The file's size, or -1 when it is no regular file (stdout). */
static off_t log_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
}

/*
 * Where the chain goes on after a restart: the log's last record, else the
 * head saved when the log was last closed or rotated, else the beginning.
 */
static void chain_resume(struct audit *a, const char *path)
{
	audit_chain_genesis(&a->chain);
	a->path = a->owned ? strdup(path) : NULL;
	if (audit_chain_from_log(&a->chain, a->fd) && a->path)
		audit_chain_load(&a->chain, a->path);
	a->end = log_size(a->fd);
}

/* Saved beside the log it leaves, for a collector that starts after a rotation. */
static void chain_save(const struct audit *a)
{
	if (a->path && a->chain.seq)
		audit_chain_save(&a->chain, a->path);
}

int audit_open(struct audit **out, const char *path)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->fd = open_log(path, &a->owned);
	if (a->fd < 0) {
		int err = a->fd;

		free(a);
		return err;
	}
	chain_resume(a, path);
	*out = a;
	return 0;
}

int audit_reopen(struct audit *a, const char *path)
{
	int owned = 0, fd = open_log(path, &owned);

	if (fd < 0)
		return fd;
	/*
	 * A rotation: the chain goes on from memory into the new file. The
	 * head is saved beside the old file too when the log moves elsewhere.
	 */
	if (a->path && (!owned || strcmp(a->path, path)))
		chain_save(a);
	if (a->owned)
		close(a->fd);
	a->fd = fd;
	a->owned = owned;
	free(a->path);
	a->path = owned ? strdup(path) : NULL;
	a->end = log_size(fd);
	chain_save(a);
	/* A new file may take what the old one could not. */
	audit_retry(a);
	return 0;
}

void audit_head(const struct audit *a, uint64_t *seq, char hash[65])
{
	*seq = a->chain.seq;
	memcpy(hash, a->chain.head, SHA256_HEX_LEN);
}

void audit_set_observer(struct audit *a, audit_observer_fn fn, void *arg)
{
	a->observer = fn;
	a->observer_arg = arg;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	audit_retry(a);
	if (a->npending + a->lost)
		fprintf(stderr, "faultguardd: %llu audit record%s could not be written to %s and "
				"%s lost (each was printed on stderr as it came)\n",
			(unsigned long long)(a->npending + a->lost),
			a->npending + a->lost == 1 ? "" : "s", log_name(a),
			a->npending + a->lost == 1 ? "is" : "are");
	while (a->head) {
		struct pending *p = a->head;

		a->head = p->next;
		free(p);
	}
	chain_save(a);
	if (a->owned)
		close(a->fd);
	free(a->path);
	free(a);
}

/*
 * One write of the whole line (O_APPEND keeps concurrent lines whole). A
 * short write (the disk filled up mid-line) is cut off again, so the log
 * never holds half a line: 0, or -errno with the log as it was.
 */
static int write_line(struct audit *a, const char *line, size_t len)
{
	struct stat st;
	ssize_t w;

	do
		w = write(a->fd, line, len);
	while (w < 0 && errno == EINTR);
	if (w >= 0 && (size_t)w == len)
		return 0;
	if (w > 0 && fstat(a->fd, &st) == 0 && st.st_size >= w)
		(void)!ftruncate(a->fd, st.st_size - w);
	a->write_errors++;
	return w < 0 ? -errno : -ENOSPC;
}

static void keep(struct audit *a, const char *line, size_t len)
{
	struct pending *p;

	if (a->pending_bytes + len > PENDING_MAX || !(p = malloc(sizeof(*p) + len))) {
		a->lost++;
		return;
	}
	p->next = NULL;
	p->len = len;
	memcpy(p->line, line, len);
	if (a->tail)
		a->tail->next = p;
	else
		a->head = p;
	a->tail = p;
	a->pending_bytes += len;
	a->npending++;
}

/* Writes the kept lines, in order; called with the file locked (when it is a file). */
static int write_kept(struct audit *a)
{
	int err = 0;

	while (a->head) {
		struct pending *p = a->head;

		err = write_line(a, p->line, p->len);
		if (err)
			break;
		a->head = p->next;
		if (!a->head)
			a->tail = NULL;
		a->pending_bytes -= p->len;
		a->npending--;
		free(p);
	}
	if (a->end >= 0)
		a->end = log_size(a->fd);
	if (!err && a->failing) {
		a->failing = 0;
		fprintf(stderr, "faultguardd: the audit log %s takes records again; every record "
				"kept meanwhile is written, in order\n",
			log_name(a));
	}
	return err;
}

int audit_retry(struct audit *a)
{
	int err, locked = a->path && flock(a->fd, LOCK_EX) == 0;

	err = write_kept(a);
	if (locked)
		flock(a->fd, LOCK_UN);
	return err;
}

uint64_t audit_pending(const struct audit *a)
{
	return a ? a->npending : 0;
}

uint64_t audit_write_errors(const struct audit *a)
{
	return a ? a->write_errors : 0;
}

json_object *audit_record(const char *event)
{
	json_object *rec = json_object_new_object();
	char ts[TIME_RFC3339_LEN];

	time_rfc3339_ms(time_now_ms(), ts);
	json_object_object_add(rec, "ts", json_object_new_string(ts));
	json_object_object_add(rec, "event", json_object_new_string(event));
	return rec;
}

/*
 * Another process appending to the same file (two `faultguardctl run`
 * guardians share their user's log) grew it past our last line: link to
 * its last line instead. Called with the file locked.
 */
static void chain_sync(struct audit *a)
{
	off_t size = log_size(a->fd);

	if (a->end >= 0 && size > a->end)
		audit_chain_from_log(&a->chain, a->fd);
}

int audit_emit(struct audit *a, json_object *rec)
{
	const char *s;
	size_t len;
	char *line;
	int err = 0, locked = a->path && flock(a->fd, LOCK_EX) == 0;
	uint64_t seq;

	if (locked)
		chain_sync(a);
	/* The chain fields go in as the line is made: it links to the line before it. */
	seq = a->chain.seq + 1;
	json_object_object_add(rec, "seq", json_object_new_int64((int64_t)seq));
	json_object_object_add(rec, "prev", json_object_new_string(a->chain.head));
	s = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(s);
	line = malloc(len + 1);
	if (!line) {
		if (locked)
			flock(a->fd, LOCK_UN);
		json_object_put(rec);
		return -ENOMEM;
	}
	memcpy(line, s, len);
	line[len] = '\n';
	/*
	 * Numbered now, written now or later: a line the log refuses is kept
	 * (with its seq and prev) and goes in, in order, when the log takes it;
	 * one lost (over PENDING_MAX) is the gap verify shows.
	 */
	audit_chain_advance(&a->chain, seq, line, len + 1);
	/* Behind records kept for a log that refused them, never before. */
	if (!a->head || !write_kept(a))
		err = write_line(a, line, len + 1);
	else
		err = -EAGAIN;
	if (err) {
		if (!a->failing && err != -EAGAIN)
			fprintf(stderr, "faultguardd: cannot write the audit log %s: %s; its records "
					"go to stderr and are kept until it takes them\n",
				log_name(a), strerror(-err));
		a->failing = 1;
		fprintf(stderr, "faultguardd: audit: %.*s\n", (int)len, line);
		keep(a, line, len + 1);
	}
	if (a->end >= 0)
		a->end = log_size(a->fd);
	if (locked)
		flock(a->fd, LOCK_UN);
	if (a->observer)
		a->observer(rec, line, len, a->observer_arg);
	free(line);
	json_object_put(rec);
	return err;
}

json_object *audit_strn(const char *s, size_t len)
{
	char *clean;
	json_object *o;

	if (!s)
		return NULL;
	clean = text_utf8_sanitize(s, len, AUDIT_STR_MAX);
	if (!clean)
		return NULL;
	o = json_object_new_string(clean);
	free(clean);
	return o;
}

json_object *audit_str(const char *s)
{
	return s ? audit_strn(s, strnlen(s, AUDIT_STR_MAX)) : NULL;
}

json_object *audit_argv(char *const *argv)
{
	json_object *arr;
	size_t i;

	if (!argv)
		return NULL;
	arr = json_object_new_array();
	for (i = 0; argv[i]; i++)
		json_object_array_add(arr, audit_str(argv[i]));
	return arr;
}
