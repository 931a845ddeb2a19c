/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The library's side of registration: a small thread that connects to the
 * collector, passes the dictionary's memfd, and reconnects whenever the
 * collector appears or restarts. It sleeps in poll(); fg_set never talks
 * to it.
 */
#ifndef FG_CLIENT_H
#define FG_CLIENT_H

#include <stdint.h>

struct client;

/* Starts registering @memfd (borrowed: it must outlive the client). */
int client_start(struct client **out, const char *socket_path, const char *app,
		 const char *const *rescue_argv, uint32_t flags, int memfd);
int client_registered(const struct client *c);
/* Ends the registration (with @orderly, tells the collector first) and frees @c. */
void client_stop(struct client *c, int orderly);
/* In a forked child, where the thread does not exist: release @c's memory and fds. */
void client_forget(struct client *c);

#endif
