/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Apps in containers (SPEC §8.5). At registration the collector learns
 * the app's pid in its own PID namespace and its cgroup, and, for an app
 * whose mount namespace or root is not the collector's, keeps what its
 * rescue needs later, when the process is gone: the fds of its mount, uts,
 * ipc, net and pid namespaces and of its root directory. Nothing of the
 * container's file system is ever looked up from the host: the rescue
 * enters the namespaces, changes its root, drops to the app's user, and
 * only then resolves a path.
 */
#ifndef FG_COLLECTOR_CONTAINER_H
#define FG_COLLECTOR_CONTAINER_H

#include <sys/types.h>

#include "spawn/user_spawn.h"

struct identity;

struct container {
	struct user_spawn_ns ns; /* every fd owned; -1: the collector's own */
};

/*
 * Fills @id's ns_pid and cgroup, and *@out (NULL for an app that shares
 * the collector's mount namespace and root). @rescue: the app asks for a
 * rescue command, so the namespaces are kept. Returns 0, or -errno with
 * *@why (a sentence) when the registration must be refused. The caller
 * proves afterwards (the pidfd still alive) that /proc was about the peer.
 */
int container_probe(int pidfd, struct identity *id, int rescue, struct container **out,
		    const char **why);
void container_free(struct container *ct);

#endif
