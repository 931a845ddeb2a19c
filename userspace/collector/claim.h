/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Claims of snapshots (claim.c). */
#ifndef FG_COLLECTOR_CLAIM_H
#define FG_COLLECTOR_CLAIM_H

#include <stddef.h>

struct collector;
struct identity;

/*
 * Claims the newest unclaimed snapshot of @app that @who may take: its fd
 * (its id in @id) and a `claim` record, or -errno with *@why (-ENOENT:
 * there is none).
 */
int claim_find(struct collector *c, const struct identity *who, const char *app, char *id,
	       size_t id_len, const char **why);
/* Beside snapshot @id in @dirfd: the scope of an app that ran in a container (its cgroup). */
int claim_write_scope(int dirfd, const char *id, const char *cgroup);

#endif
