/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SIGUSR2: the collector re-executes its binary (whatever file is at its
 * path now) in place — same pid, so the service manager's main pid, the
 * rescue commands it started and every fd stay — and hands the new image
 * its registrations and connections (SPEC §8.2):
 *
 *   check   the file at the path runs as `faultguardd ... --handover-check`
 *           (its flags and config read, its BPF programs loaded by the
 *           kernel, its version printed), in a child, while we serve on;
 *   drain   listening and reading stop, deaths queue in the kernel's ring;
 *           crashes under way write their snapshots (and records);
 *   exec    the state goes into a memfd (registrations with their memfd,
 *           pidfd and connection; the other connections with what is
 *           queued for them; running rescues with their pidfd, timerfd,
 *           pipe and output; queued rescues; the listening socket), its fds and the
 *           running binary (for the fallback) stay open across execve;
 *   new     the new image adopts the pinned BPF programs, takes the state,
 *           delivers the deaths queued meanwhile (rescued from the
 *           dictionaries handed over) and writes the `upgrade` record.
 *
 * A new binary that is missing, not executable, or fails its check leaves
 * this one serving with an `upgrade` record "status": "failed" and the
 * reason. One that fails after execve, before it takes over, runs the old
 * binary again (fexecve of the copy held open), which takes the state back
 * and says so in the same way.
 */
#ifndef FG_COLLECTOR_HANDOVER_H
#define FG_COLLECTOR_HANDOVER_H

#include <stdint.h>

struct collector;

/* At start: remembers the binary's path and argv, and holds the binary open. */
int handover_init(struct collector *c, int argc, char **argv);
void handover_free(struct collector *c);
/* SIGUSR2. */
void handover_request(struct collector *c);
/* Before each wait of the loop: starts the drain, execs once drained. */
void handover_poll(struct collector *c);
/* Draining: the BPF ring, hang-ups and client deadlines wait for the new image. */
int handover_draining(const struct collector *c);
int64_t handover_next_deadline(const struct collector *c);

/* The state fd a predecessor handed over ($FAULTGUARD_HANDOVER), or -1. Taken once. */
int handover_incoming(void);
/*
 * Takes the state over (in place of server_open and the start record),
 * after monitor_open. On a state it cannot take, runs the old binary with
 * it (does not return); when that is not possible returns -errno.
 */
int handover_restore(struct collector *c, int fd, const char **why);
/* Startup of the new image failed (@why): the old binary takes the state back. */
void handover_fallback(int fd, const char *why);
/* --handover-check: the new binary's answer; returns the exit status. */
int handover_check(struct collector *c);

#endif
