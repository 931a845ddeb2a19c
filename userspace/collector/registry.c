// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Live registrations, found by tgid in O(1), and what each uid holds
 * (registrations, connections) for the per-uid limits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/collector.h"
#include "collector/late.h"
#include "collector/container.h"
#include "common/timefmt.h"

#define REG_BUCKETS 16384u
#define UID_BUCKETS 1024u

struct uid_count {
	uid_t uid;
	unsigned int regs;
	unsigned int conns;
	uint64_t bytes; /* sizes of the registered dictionaries */
	struct uid_count *next;
};

int registry_init(struct collector *c)
{
	c->reg_buckets = REG_BUCKETS;
	c->regs = calloc(REG_BUCKETS, sizeof(*c->regs));
	c->uid_counts = calloc(UID_BUCKETS, sizeof(struct uid_count));
	if (!c->regs || !c->uid_counts)
		return -ENOMEM;
	return 0;
}

static struct uid_count *uid_slot(struct collector *c, uid_t uid, int create)
{
	struct uid_count *head = &c->uid_counts[uid % UID_BUCKETS], *u;

	/* The bucket's head is a sentinel; entries hang off it. */
	for (u = head->next; u; u = u->next)
		if (u->uid == uid)
			return u;
	if (!create)
		return NULL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	u->next = head->next;
	head->next = u;
	return u;
}

unsigned int registry_uid_regs(struct collector *c, uid_t uid)
{
	struct uid_count *u = uid_slot(c, uid, 0);

	return u ? u->regs : 0;
}

int uid_conns_add(struct collector *c, uid_t uid, int delta)
{
	struct uid_count *u = uid_slot(c, uid, 1);

	if (!u)
		return -ENOMEM;
	if (delta > 0 && u->conns >= c->cfg.max_conns_per_uid)
		return -EUSERS;
	u->conns += (unsigned int)delta;
	return 0;
}

static void free_argv(char **argv)
{
	size_t i;

	if (!argv)
		return;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

void registry_free(struct collector *c)
{
	uint32_t i;

	for (i = 0; c->regs && i < c->reg_buckets; i++)
		while (c->regs[i])
			registry_remove(c, c->regs[i]);
	for (i = 0; c->uid_counts && i < UID_BUCKETS; i++) {
		struct uid_count *u = c->uid_counts[i].next;

		while (u) {
			struct uid_count *n = u->next;

			free(u);
			u = n;
		}
	}
	free(c->regs);
	free(c->uid_counts);
	c->regs = NULL;
	c->uid_counts = NULL;
}

struct reg *registry_next(struct collector *c, pid_t pid, const struct reg *prev)
{
	struct reg *r = prev ? prev->hash_next : c->regs[(uint32_t)pid % c->reg_buckets];

	for (; r; r = r->hash_next)
		if (r->id.pid == pid)
			return r;
	return NULL;
}

struct reg *registry_find(struct collector *c, pid_t pid)
{
	return registry_next(c, pid, NULL);
}

int registry_contains(struct collector *c, pid_t pid, const struct reg *r)
{
	const struct reg *x;

	for (x = registry_find(c, pid); x; x = registry_next(c, pid, x))
		if (x == r)
			return 1;
	return 0;
}

static int same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
	       sa.st_dev == sb.st_dev;
}

static void hungup_unlink(struct collector *c, struct reg *r);

/* The registration of @memfd's dictionary by @id's process, if there is one. */
static struct reg *find_dict(struct collector *c, const struct identity *id, int memfd)
{
	struct reg *r;

	for (r = registry_find(c, id->pid); r; r = registry_next(c, id->pid, r))
		if (r->id.start_ticks == id->start_ticks && same_file(r->memfd, memfd))
			return r;
	return NULL;
}

/* The client came back after its connection dropped: same process, same dictionary. */
static void take_over(struct collector *c, struct reg *r, int pidfd, int memfd, char **argv,
		      struct container *ct, struct conn *conn)
{
	if (r->hangup_deadline) {
		hungup_unlink(c, r);
		r->hangup_deadline = 0;
	}
	r->conn = conn;
	close(pidfd);
	close(memfd);
	free_argv(argv);
	container_free(ct);
}

int registry_add(struct collector *c, const struct identity *id, int pidfd, int memfd,
		 uint64_t size, const char *app, char **argv, struct container *ct, uint32_t flags,
		 struct conn *conn, struct reg **out, const char **why)
{
	struct uid_count *u;
	struct reg *r;
	uint32_t b;
	int err;

	r = find_dict(c, id, memfd);
	if (r) {
		if (r->conn) {
			*why = "this dictionary is already registered";
			return -EEXIST;
		}
		take_over(c, r, pidfd, memfd, argv, ct, conn);
		*out = r;
		return 1;
	}
	u = uid_slot(c, id->uid, 1);
	if (!u) {
		*why = "out of memory";
		return -ENOMEM;
	}
	if (u->regs >= c->cfg.max_regs_per_uid) {
		*why = "this user has reached its limit of registrations";
		return -EUSERS;
	}
	if (u->bytes > c->cfg.max_bytes_per_uid || size > c->cfg.max_bytes_per_uid - u->bytes) {
		*why = "this user's registered dictionaries would exceed max_dict_bytes_per_uid";
		return -EDQUOT;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		*why = "out of memory";
		return -ENOMEM;
	}
	r->id = *id;
	err = monitor_watch(c->mon, (uint32_t)id->pid);
	if (err) {
		free(r);
		*why = "the BPF watch list is full";
		return err;
	}
	r->pidfd = pidfd;
	r->memfd = memfd;
	r->dict_size = size;
	strcpy(r->app, app);
	r->argv = argv;
	r->ct = ct;
	r->flags = flags;
	r->conn = conn;
	r->registered_ms = time_now_ms();
	b = (uint32_t)id->pid % c->reg_buckets;
	r->hash_next = c->regs[b];
	c->regs[b] = r;
	u->regs++;
	u->bytes += size;
	c->nregs++;
	late_note(c, r);
	*out = r;
	return 0;
}

static void hungup_unlink(struct collector *c, struct reg *r)
{
	struct reg **pp;

	for (pp = &c->hungup; *pp; pp = &(*pp)->hup_next)
		if (*pp == r) {
			*pp = r->hup_next;
			return;
		}
}

void registry_remove(struct collector *c, struct reg *r)
{
	struct reg **pp = &c->regs[(uint32_t)r->id.pid % c->reg_buckets];
	struct uid_count *u;

	for (; *pp; pp = &(*pp)->hash_next)
		if (*pp == r) {
			*pp = r->hash_next;
			break;
		}
	if (r->hangup_deadline)
		hungup_unlink(c, r);
	u = uid_slot(c, r->id.uid, 0);
	if (u && u->regs)
		u->regs--;
	if (u)
		u->bytes -= u->bytes < r->dict_size ? u->bytes : r->dict_size;
	c->nregs--;
	/* The BPF map holds the tgid once, for all of its registrations. */
	if (!registry_find(c, r->id.pid))
		monitor_unwatch(c->mon, (uint32_t)r->id.pid);
	if (r->conn)
		server_conn_forget_reg(r->conn);
	if (r->pidfd >= 0)
		close(r->pidfd);
	if (r->memfd >= 0)
		close(r->memfd);
	free_argv(r->argv);
	container_free(r->ct);
	free(r);
}
