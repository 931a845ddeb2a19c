/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Durability off the event loop. A snapshot is complete and in place (a
 * renamed temporary file) before its rescue starts; making it survive a
 * power cut takes an fsync of the file and of its directory, each a disk
 * flush of milliseconds. A small thread does those, so the loop goes on
 * starting rescues and taking the next crash's snapshot meanwhile.
 */
#ifndef FG_COLLECTOR_SYNCER_H
#define FG_COLLECTOR_SYNCER_H

struct syncer;

int syncer_new(struct syncer **out);
/*
 * Takes @fd and @dirfd: fsyncs @fd, then @dirfd, then closes both. When
 * the queue is full (a long storm on a slow disk), does it right here, so
 * pending work and open fds stay bounded.
 */
void syncer_add(struct syncer *s, int fd, int dirfd);
/* Finishes every queued fsync, then stops the thread. Accepts NULL. */
void syncer_free(struct syncer *s);

#endif
